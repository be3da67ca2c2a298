#!/usr/bin/env python3
"""What a seat map costs the server (figures in docs/BENCHMARKS.md, "Seat map").

Starts seatd (build/release/api/seatd unless --seatd; fresh data dir under /tmp, no auth,
loopback, a free port), creates a 200,000-seat event (4 sections of 50 rows of 1,000
seats), then measures:
  1. one GET /v1/events/{id}/seats without parameters, as a client that does not page sends
     it, read whole: answer bytes, seats in it, time, and the server's peak RSS growth over
     the request (VmHWM after the request, the peak reset just before it through
     /proc/PID/clear_refs, minus VmRSS before it);
  2. the whole map, page by page (`limit=10000`, then `after=` each answer's `next` until it
     is null), if the server answers `next`: pages, bytes, every seat once, peak RSS growth;
  3. --stalled clients (150) that each send that GET and never read (receive buffer 4 KiB):
     the server's VmRSS growth once it stops growing (2 s without a change of 1 MB, at most
     180 s), its peak growth (VmHWM), how many answers it rendered meanwhile (/metrics), and
     the growth of the kernel's TCP buffers (/proc/net/sockstat, system-wide), where the
     part of each answer that the server has written but the client has not read waits.
Each figure is the server's, read from /proc; every run starts a fresh server.
Everything it starts it stops.

Usage: scripts/bench-seat-map.py [--seatd PATH] [--stalled N] [--runs N] [--json]
Python 3 standard library only (Linux: reads /proc).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EVENT = "map200k"
SECTIONS, ROWS, SEATS = 4, 50, 1000


def event_body():
    sections = [{"id": f"S{s}", "rows": [{"id": str(r), "seats": SEATS, "category": "STD"}
                                         for r in range(1, ROWS + 1)]}
                for s in range(1, SECTIONS + 1)]
    return json.dumps({"name": "seat map benchmark", "starts_at": "2027-01-01T00:00:00Z",
                       "categories": [{"id": "STD", "price_minor": 1000, "currency": "KRW"}],
                       "sections": sections})


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def tcp_memory_kb():
    """The kernel's TCP buffer memory, system-wide (/proc/net/sockstat, in pages)."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return 0


def seat_answers(server):
    """How many GET .../seats the server has answered 200, from its /metrics."""
    status, body = server.request("GET", "/metrics")
    found = re.search(rb'seatd_http_requests_total\{route="seats",status="200"\} (\d+)', body)
    return int(found.group(1)) if found else 0


def reset_peak(pid):
    # Linux 4.0+: writing 5 resets VmHWM to the current RSS.
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


class Server:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="seatd-bench-map-")
        self.log = open(os.path.join(self.dir, "seatd.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "data"),
             "--insecure-no-auth", "--log-level", "info"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # never leave a server behind
            raise

    def wait_ready(self):
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.port is None:
            self.log.seek(0)
            found = re.search(r"listen=127\.0\.0\.1:(\d+)", self.log.read())
            if found:
                self.port = int(found.group(1))
            elif self.proc.poll() is not None:
                raise RuntimeError("seatd exited: " + self.tail())
            else:
                time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("seatd did not say where it listens")
        while time.time() < deadline:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("seatd did not become ready")

    def tail(self):
        self.log.seek(0)
        return self.log.read()[-2000:]

    def request(self, method, target, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            c.request(method, target, body=body,
                      headers={"Content-Type": "application/json"} if body else {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def rss_kb(self):
        return status_kb(self.proc.pid, "VmRSS")

    def hwm_kb(self):
        return status_kb(self.proc.pid, "VmHWM")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def settle(server):
    """Waits until the server's RSS stops moving (background work after creation)."""
    last = server.rss_kb()
    for _ in range(40):
        time.sleep(0.25)
        now = server.rss_kb()
        if abs(now - last) < 256:
            return now
        last = now
    return last


def one_get(server):
    settle(server)
    before = server.rss_kb()
    reset_peak(server.proc.pid)
    started = time.time()
    status, body = server.request("GET", f"/v1/events/{EVENT}/seats")
    elapsed = time.time() - started
    if status != 200:
        raise RuntimeError(f"GET seats answered {status}: {body[:200]!r}")
    answer = json.loads(body)
    return {"bytes": len(body), "seats": len(answer["seats"]),
            "next": answer.get("next", "absent"), "seconds": round(elapsed, 3),
            "peak_growth_kb": server.hwm_kb() - before}


def paged(server):
    settle(server)
    before = server.rss_kb()
    reset_peak(server.proc.pid)
    started = time.time()
    pages, total, seen, after, largest = 0, 0, set(), None, 0
    while True:
        target = f"/v1/events/{EVENT}/seats?limit=10000" + (f"&after={after}" if after else "")
        status, body = server.request("GET", target)
        if status != 200:
            raise RuntimeError(f"GET {target} answered {status}: {body[:200]!r}")
        answer = json.loads(body)
        pages += 1
        total += len(body)
        largest = max(largest, len(body))
        for seat in answer["seats"]:
            if seat["id"] in seen:
                raise RuntimeError(f"seat {seat['id']} came twice")
            seen.add(seat["id"])
        after = answer["next"]
        if after is None:
            break
    if len(seen) != SECTIONS * ROWS * SEATS:
        raise RuntimeError(f"the pages held {len(seen)} seats")
    return {"pages": pages, "bytes": total, "largest_page_bytes": largest,
            "seconds": round(time.time() - started, 3),
            "peak_growth_kb": server.hwm_kb() - before}


def stalled(server, clients):
    settle(server)
    before, tcp_before, answered_before = server.rss_kb(), tcp_memory_kb(), seat_answers(server)
    reset_peak(server.proc.pid)
    request = (f"GET /v1/events/{EVENT}/seats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").encode()
    sockets = []
    try:
        for _ in range(clients):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", server.port))
            s.sendall(request)
            sockets.append(s)
        # Until the server's memory stops growing (it renders the answers one by one): 2 s
        # without a change of 1 MB, or 180 s.
        started = time.time()
        last, steady, deadline = server.rss_kb(), 0, started + 180
        while steady < 4 and time.time() < deadline:
            time.sleep(0.5)
            now = server.rss_kb()
            steady = steady + 1 if abs(now - last) < 1024 else 0
            last = now
        held = server.rss_kb() - before
        peak = server.hwm_kb() - before
        settled = round(time.time() - started, 1)
        tcp = tcp_memory_kb() - tcp_before
        answered = seat_answers(server) - answered_before
    finally:
        for s in sockets:
            s.close()
    return {"clients": clients, "rss_growth_kb": held, "peak_growth_kb": peak,
            "seconds_to_settle": settled, "answered": answered, "kernel_tcp_growth_kb": tcp}


def run_once(binary, stalled_clients):
    server = Server(binary)
    try:
        status, body = server.request("PUT", f"/v1/events/{EVENT}", event_body())
        if status != 201:
            raise RuntimeError(f"PUT answered {status}: {body[:200]!r}")
        result = {"rss_after_create_kb": settle(server), "single_get": one_get(server)}
        if result["single_get"]["next"] != "absent":
            result["paged"] = paged(server)
        if stalled_clients > 0:
            result["stalled"] = stalled(server, stalled_clients)
        return result
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seatd", default=os.path.join(ROOT, "build/release/api/seatd"))
    p.add_argument("--stalled", type=int, default=150, help="clients that never read (0: skip)")
    p.add_argument("--runs", type=int, default=1, help="fresh servers, one after another")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args()
    if not os.path.exists(a.seatd):
        sys.exit(f"bench-seat-map: no {a.seatd} (cmake --build --preset release --target seatd)")
    runs = [run_once(a.seatd, a.stalled) for _ in range(a.runs)]
    if a.json:
        print(json.dumps(runs, indent=2))
        return
    mb = lambda kb: f"{kb / 1024:.1f} MB"
    for i, r in enumerate(runs, 1):
        g = r["single_get"]
        print(f"run {i}: {SECTIONS * ROWS * SEATS} seats, RSS after creation "
              f"{mb(r['rss_after_create_kb'])}")
        print(f"  one GET without parameters: {g['bytes']:,} bytes, {g['seats']:,} seats, "
              f"next {g['next']}, {g['seconds']} s, peak RSS growth {mb(g['peak_growth_kb'])}")
        if "paged" in r:
            q = r["paged"]
            print(f"  whole map by pages of 10,000: {q['pages']} pages, {q['bytes']:,} bytes "
                  f"(largest {q['largest_page_bytes']:,}), {q['seconds']} s, peak RSS growth "
                  f"{mb(q['peak_growth_kb'])}")
        if "stalled" in r:
            s = r["stalled"]
            print(f"  {s['clients']} clients that never read: RSS growth "
                  f"{mb(s['rss_growth_kb'])}, peak growth {mb(s['peak_growth_kb'])} "
                  f"(steady after {s['seconds_to_settle']} s, {s['answered']} answers "
                  f"rendered); kernel TCP buffers (system-wide) {mb(s['kernel_tcp_growth_kb'])} "
                  "more")


if __name__ == "__main__":
    main()
