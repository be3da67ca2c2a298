"""Reading seatd's /metrics (Prometheus text) as saved by the bench scripts."""


def scraped(path):
    """Each metric's value by name, summed over its labelled series."""
    values = {}
    for line in open(path):
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        name = name.split("{", 1)[0]
        values[name] = values.get(name, 0.0) + float(value)
    return values
