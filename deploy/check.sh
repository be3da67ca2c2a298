#!/usr/bin/env bash
# Checks deploy/ without a Docker engine, a Kubernetes cluster or the network (CI runs it):
#   - every YAML file of deploy/ and api/ parses, without duplicate keys, tabs or trailing
#     whitespace; the dashboard is valid JSON;
#   - every metric the dashboard queries is registered in the sources (and histogram
#     suffixes only on histograms, grouping labels only ones the sources set), and every
#     registered metric (seatd's and seat-persister's) is described in docs/OPERATIONS.md;
#   - deploy/seatd.example.toml has exactly seatd's config keys, each set to the default in
#     api/seatd_main.cpp, and every flag has its key; the Kubernetes config file has only
#     known keys;
#   - the Dockerfile builds with install-deps.sh and the release preset, runs as a non-root
#     uid, and declares the volume, port, health check and stop signal; its runtime
#     packages exist in apt's lists (when apt has lists) and, when a built seatd exists
#     (build/*/api/seatd or $SEATD_BINARY), cover every library `ldd seatd` resolves;
#   - compose.yaml, prometheus.yml and the Kubernetes manifests agree on names, ports,
#     paths, volumes, labels, the Secret's keys, the probes and the flags they pass; probes,
#     the health check and the scrape use the --admin-listen port;
#   - the health check script answers 0 for a 200 and fails otherwise, against a stub
#     HTTP server on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m json.tool deploy/grafana/seatd-dashboard.json >/dev/null
bash -n deploy/healthcheck.sh

python3 - <<'PY'
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

try:
    import yaml
except ImportError:
    sys.exit("deploy/check.sh: PyYAML is missing: apt-get install python3-yaml")

findings = []
notes = []


def fail(message):
    findings.append(message)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- YAML and JSON -----------------------------------------------------------------------
class StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; Kubernetes and compose may not."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *anchor": keys written beside it replace the anchor's
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


docs = {}
yaml_files = sorted(glob.glob("deploy/**/*.yaml", recursive=True) +
                    glob.glob("deploy/**/*.yml", recursive=True) + glob.glob("api/*.yaml"))
for path in yaml_files:
    text = read(path)
    for number, line in enumerate(text.splitlines(), 1):
        if "\t" in line or line != line.rstrip():
            fail(f"{path}:{number}: tab or trailing whitespace")
    try:
        docs[path] = [d for d in yaml.load_all(text, Loader=StrictLoader) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path}: not YAML: {e}")
dashboard = json.loads(read("deploy/grafana/seatd-dashboard.json"))

# ---- seatd's flags, config keys and defaults, from api/seatd_main.cpp ----------------------
main = read("api/seatd_main.cpp")
takes = re.findall(r'take\("(\w+)",\s*"(--[\w-]+)",\s*s\.(\w+)\)', main)
keys = {k for k, _, _ in takes}
flags = set(re.findall(r'add_(?:option|flag)\(\s*"(--[\w-]+)"', main))
if not takes or not flags:
    fail("api/seatd_main.cpp: found no take() or no flags; has the code moved?")
for flag in sorted(flags - {f for _, f, _ in takes} - {"--config"}):
    fail(f"seatd_main.cpp: flag {flag} has no config key (take())")
settings = main.split("struct settings {", 1)[1].split("};", 1)[0]
defaults = {}
for kind, field, value in re.findall(r"^\s*([\w:<>, ]+?)\s+(\w+)(?:\s*=\s*([^;]+))?;", settings,
                                     re.M):
    if not value:  # no initializer: a string is empty, a map has no default
        defaults[field] = "" if "string" in kind else None
    elif value.startswith('"'):
        defaults[field] = value.strip('"')
    elif value in ("true", "false"):
        defaults[field] = value == "true"
    else:
        expression = value.replace("'", "")
        if not re.fullmatch(r"[0-9 <*]+", expression):
            fail(f"seatd_main.cpp: cannot read the default {field} = {value}")
            continue
        defaults[field] = eval(expression)  # digits, <<, * only (checked above)
key_default = {k: defaults.get(field) for k, _, field in takes}


def check_toml_keys(path, table, exact):
    extra = set(table) - keys - {"tokens"}
    for key in sorted(extra):
        fail(f"{path}: {key} is not a seatd config key (seatd would ignore it silently)")
    if exact:
        for key in sorted(keys - set(table)):
            fail(f"{path}: the config key {key} is missing")
    for key, value in table.items():
        want = key_default.get(key)
        if key in key_default and want is not None and type(value) is not type(want):
            fail(f"{path}: {key} = {value!r} has the wrong type (seatd would ignore it)")
    for token, role in table.get("tokens", {}).items():
        if role not in ("admin", "gateway"):
            fail(f"{path}: token role {role!r} is neither admin nor gateway")


example = tomllib.loads(read("deploy/seatd.example.toml"))
check_toml_keys("deploy/seatd.example.toml", example, exact=True)
for key, value in example.items():
    if key in key_default and value != key_default[key]:
        fail(f"deploy/seatd.example.toml: {key} = {value!r}, the default is {key_default[key]!r}")
if "[tokens]" not in read("deploy/seatd.example.toml"):
    fail("deploy/seatd.example.toml: the [tokens] table is not described")


def check_flags(where, args):
    for arg in args:
        if arg.startswith("--") and arg.split("=", 1)[0] not in flags:
            fail(f"{where}: {arg} is not a seatd flag")


def flag_value(args, flag):
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
    return None


# ---- metrics -----------------------------------------------------------------------------
sources = [p for p in glob.glob("**/*.[ch]pp", recursive=True)
           if not p.startswith(("tests/", "build/"))]
registered = {}
for path in sources:
    for kind, name in re.findall(
            r'(counter_for|gauge_for|histogram_for|gauge_callback|counter_callback)\(\s*'
            r'"((?:seatd|seat_persister)_\w+)"', read(path)):
        registered[name] = {"counter_for": "counter", "counter_callback": "counter", "histogram_for": "histogram"}.get(
            kind, "gauge")
if len(registered) < 5:
    fail(f"found only {len(registered)} metrics in the sources; has the registry moved?")
labels = set(re.findall(r'(\w+)=\\"', read("api/router.cpp"))) | {"le", "instance", "job", "node"}
used = set()
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        expr = target["expr"]
        for name in re.findall(r"\bseatd_\w+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name in registered:
                used.add(name)
            elif base in registered and registered[base] == "histogram":
                used.add(base)
            else:
                fail(f"dashboard panel {panel['title']!r}: {name} is not a metric seatd registers")
        for group in re.findall(r"by \(([^)]*)\)", expr):
            for label in (l.strip() for l in group.split(",")):
                if label not in labels:
                    fail(f"dashboard panel {panel['title']!r}: label {label} is never set")
for name in sorted(set(registered) - used):
    notes.append(f"metric {name} is not on the dashboard")
operations = read("docs/OPERATIONS.md") if os.path.exists("docs/OPERATIONS.md") else ""
for name in sorted(registered):
    if f"`{name}`" not in operations:
        fail(f"docs/OPERATIONS.md does not describe the metric {name}")
for name in sorted(set(re.findall(r"`((?:seatd|seat_persister)_\w+)`", operations)) -
                  set(registered)):
    # Names that are not metrics: a JSON field and the persister's migrations table.
    if name not in ("seatd_event", "seat_persister_migrations"):
        fail(f"docs/OPERATIONS.md describes {name}, which seatd does not register")

# ---- the Dockerfile ------------------------------------------------------------------------
RUNTIME = ["librocksdb7.8", "libcaf-core0.17", "libspdlog1.10", "libfmt9", "libtomlplusplus3",
           "libstdc++6", "librdkafka1", "librdkafka++1", "libpqxx-6.4", "libpq5", "libjemalloc2"]
dockerfile = read("deploy/Dockerfile")
stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", dockerfile, re.M)
if [s[0] for s in stages] != ["debian:12", "debian:12-slim"] or stages[0][1] != "builder":
    fail(f"deploy/Dockerfile: stages {stages}, expected debian:12 AS builder, then debian:12-slim")
builder, runtime = dockerfile.split("\nFROM debian:12-slim", 1)
for needed in ("scripts/install-deps.sh", "cmake --preset release",
               "cmake --build --preset release --target seatd seat-persister",
               "build/release/api/seatd", "build/release/storage/persister/seat-persister"):
    if needed not in builder:
        fail(f"deploy/Dockerfile: the builder does not run {needed}")
installed = re.search(r"apt-get install[^\n]*\\\n((?:.*\\\n)*?.*?)&&", runtime)
packages = installed.group(1).replace("\\", " ").split() if installed else []
if sorted(packages) != sorted(RUNTIME):
    fail(f"deploy/Dockerfile: runtime packages {packages}, expected {RUNTIME}")
instructions = {}
for line in re.findall(r"^([A-Z]+)\s+(.*)$", runtime, re.M):
    instructions.setdefault(line[0], []).append(line[1])
user = instructions.get("USER", ["root"])[-1].split(":")[0]
if not user.isdigit() or user == "0":
    fail("deploy/Dockerfile: USER must be a numeric, non-root uid")
if instructions.get("VOLUME") != ["/var/lib/seatd"]:
    fail("deploy/Dockerfile: VOLUME must be /var/lib/seatd")
if instructions.get("EXPOSE") != ["8080 8081"]:
    fail("deploy/Dockerfile: EXPOSE must be 8080 8081 (the gateway, --admin-listen)")
if instructions.get("STOPSIGNAL") != ["SIGTERM"]:
    fail("deploy/Dockerfile: STOPSIGNAL must be SIGTERM")
if not re.search(r"^HEALTHCHECK .*\n?.*seatd-healthcheck\", \"/healthz\"", runtime, re.M):
    fail("deploy/Dockerfile: HEALTHCHECK must run seatd-healthcheck /healthz")
for source in re.findall(r"^COPY\s+(?!--from)(\S+)\s", runtime, re.M):
    if not os.path.exists(source):
        fail(f"deploy/Dockerfile: COPY {source}: no such file")
cmd = json.loads(instructions["CMD"][-1]) if "CMD" in instructions else []
check_flags("deploy/Dockerfile CMD", cmd)
if not (flag_value(cmd, "--data-dir") or "").startswith("/var/lib/seatd/"):
    fail("deploy/Dockerfile: CMD's --data-dir must be inside the volume /var/lib/seatd")
if (flag_value(cmd, "--listen") or "").rsplit(":", 1)[-1] != "8080":
    fail("deploy/Dockerfile: CMD's --listen must use port 8080 (EXPOSE)")
# Probes ask the admin listener, whose connection cap the gateway's clients cannot fill.
if (flag_value(cmd, "--admin-listen") or "").rsplit(":", 1)[-1] != "8081":
    fail("deploy/Dockerfile: CMD's --admin-listen must use port 8081 (EXPOSE, HEALTHCHECK)")
if "SEATD_HEALTH_PORT=8081" not in instructions.get("ENV", []):
    fail("deploy/Dockerfile: ENV SEATD_HEALTH_PORT=8081: the HEALTHCHECK asks the admin port")

if shutil.which("apt-cache"):
    policy = subprocess.run(["apt-cache", "policy"] + packages, capture_output=True, text=True)
    candidates = dict(re.findall(r"^(\S+):\n\s+Installed: .*\n\s+Candidate: (\S+)",
                                 policy.stdout, re.M))
    if all(candidates.get(p, "(none)") == "(none)" for p in packages):
        notes.append("apt has no package lists here: runtime package names not checked")
    else:
        for p in packages:
            if candidates.get(p, "(none)") == "(none)":
                fail(f"deploy/Dockerfile: apt knows no package {p}")
binary = os.environ.get("SEATD_BINARY") or next(
    (b for b in ("build/release/api/seatd", "build/debug/api/seatd") if os.path.exists(b)), None)
if binary and shutil.which("ldd") and shutil.which("dpkg") and shutil.which("apt-cache"):
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libraries = re.findall(r"=>\s+(/\S+)", ldd)
    # What the image installs (the Dockerfile's list, not RUNTIME) and their dependencies.
    covered = set(packages) | {"libc6", "libgcc-s1"}
    depends = subprocess.run(["apt-cache", "depends", "--no-recommends", "--no-suggests"] +
                             packages, capture_output=True, text=True).stdout
    covered |= set(re.findall(r"Depends: (\S+)", depends))
    for library in libraries:
        if re.search(r"/lib(asan|ubsan|tsan)\.", library):
            continue  # sanitizer builds only
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(library)], capture_output=True,
                               text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
        package = owner.stdout.split(":", 1)[0] if owner.returncode == 0 else None
        if package is None:
            fail(f"ldd {binary}: {library} belongs to no Debian package")
        elif package not in covered:
            fail(f"ldd {binary}: {library} is from {package}, which the runtime image lacks")
    notes.append(f"runtime libraries checked against ldd {binary} ({len(libraries)} libraries)")
else:
    notes.append("no built seatd (build/*/api/seatd, $SEATD_BINARY): ldd check skipped")

# ---- compose and Prometheus ----------------------------------------------------------------
compose = docs["deploy/compose.yaml"][0]
services = compose.get("services", {})
if "prometheus" not in services:
    fail("deploy/compose.yaml: no prometheus service")
# The cluster: seatd-1, seatd-2, seatd-3, each a member of the same --peers list at its
# service name, with its own named volume.
nodes = {n: s for n, s in services.items() if re.fullmatch(r"seatd-\d+", n)}
if len(nodes) != 3:
    fail(f"deploy/compose.yaml: {len(nodes)} seatd-N services, expected 3 (a 3-node cluster)")
if not any(n.get("build") for n in nodes.values()):
    fail("deploy/compose.yaml: one seatd node must build the image")
for n in nodes.values():
    build = n.get("build")
    if build and (build.get("dockerfile") != "deploy/Dockerfile" or
                  os.path.normpath(os.path.join("deploy", build.get("context", ""))) != "."):
        fail("deploy/compose.yaml: seatd must build deploy/Dockerfile with the repository as context")
example_env = dict(l.split("=", 1) for l in read("deploy/.env.example").splitlines()
                   if l and not l.startswith("#"))
if set(example_env) != {"SEATD_ADMIN_TOKEN", "SEATD_GATEWAY_TOKEN", "SEATD_CLUSTER_SECRET"}:
    fail(f"deploy/.env.example: variables {sorted(example_env)}, expected the two token "
         "variables and SEATD_CLUSTER_SECRET")
declared = set(compose.get("volumes", {}))
peer_lists = set()
member_ids = {}
data_volumes = set()
admin_ports = set()
for name, seatd in sorted(nodes.items()):
    if seatd.get("env_file") != ".env" or not os.path.exists("deploy/.env.example"):
        fail(f"deploy/compose.yaml: {name}'s tokens and secret come from env_file .env "
             "(deploy/.env.example)")
    command = seatd.get("command", [])
    check_flags(f"deploy/compose.yaml {name} command", command)
    compose_port = (flag_value(command, "--listen") or "").rsplit(":", 1)[-1]
    if not any(str(p).endswith(":" + compose_port) for p in seatd.get("ports", [])):
        fail(f"deploy/compose.yaml: no published port maps to {name}'s --listen port {compose_port}")
    admin_port = (flag_value(command, "--admin-listen") or "").rsplit(":", 1)[-1]
    if not admin_port:
        fail(f"deploy/compose.yaml: {name} needs --admin-listen (probes and the scrape use it)")
    admin_ports.add(admin_port)
    if not (flag_value(command, "--data-dir") or "").startswith("/var/lib/seatd/"):
        fail(f"deploy/compose.yaml: {name}'s --data-dir must be inside the volume at /var/lib/seatd")
    if seatd.get("stop_signal") != "SIGTERM":
        fail(f"deploy/compose.yaml: {name}'s stop_signal must be SIGTERM")
    volumes = [v.split(":")[0] for v in seatd.get("volumes", [])
               if v.split(":")[0] in declared and v.split(":")[1] == "/var/lib/seatd"]
    if len(volumes) != 1:
        fail(f"deploy/compose.yaml: {name}'s data must be a named volume at /var/lib/seatd")
    data_volumes.update(volumes)
    peer_lists.add(flag_value(command, "--peers") or "")
    member_ids[name] = flag_value(command, "--node-id")
if len(data_volumes) != len(nodes):
    fail("deploy/compose.yaml: every seatd node needs a volume of its own")
if len(peer_lists) != 1:
    fail("deploy/compose.yaml: every seatd node must be given the same --peers")
else:
    members = dict(m.split("=", 1) for m in next(iter(peer_lists)).split(",") if "=" in m)
    for name, node_id in member_ids.items():
        if members.get(node_id, "").rsplit(":", 1)[0] != name:
            fail(f"deploy/compose.yaml: --peers must list {name}'s --node-id {node_id} at {name}")
    if len(members) != len(nodes):
        fail("deploy/compose.yaml: --peers must list exactly the seatd nodes")
compose_admin_port = next(iter(admin_ports)) if len(admin_ports) == 1 else ""
for service_name, service in services.items():
    for volume in service.get("volumes", []):
        source = volume.split(":", 1)[0]
        if source.startswith((".", "/")):
            if not os.path.exists(os.path.join("deploy", source)):
                fail(f"deploy/compose.yaml: {service_name} mounts {source}, which does not exist")
        elif source not in declared:
            fail(f"deploy/compose.yaml: {service_name} uses the undeclared volume {source}")
    if service_name not in nodes and ":" not in str(service.get("image", "")):
        fail(f"deploy/compose.yaml: {service_name}'s image must have a version tag")
prometheus = docs["deploy/prometheus.yml"][0]
# Alerting rules: loaded by Prometheus, mounted by compose, and about metrics that exist.
if "/etc/prometheus/alerts.yml" not in prometheus.get("rule_files", []):
    fail("deploy/prometheus.yml: rule_files must load /etc/prometheus/alerts.yml")
if not any(v.startswith("./alerts.yml:/etc/prometheus/alerts.yml")
           for v in services.get("prometheus", {}).get("volumes", [])):
    fail("deploy/compose.yaml: prometheus must mount ./alerts.yml at /etc/prometheus/alerts.yml")
for group in docs["deploy/alerts.yml"][0].get("groups", []):
    for rule in group.get("rules", []):
        for name in re.findall(r"\b(?:seatd|seat_persister)_\w+", rule.get("expr", "")):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in registered and registered.get(base) != "histogram":
                fail(f"deploy/alerts.yml: alert {rule.get('alert')}: {name} is not a metric")
jobs = {j["job_name"]: j for j in prometheus.get("scrape_configs", [])}
job = jobs.get("seatd", {})
targets = sorted(t for c in job.get("static_configs", []) for t in c.get("targets", []))
wanted = sorted(f"{name}:{compose_admin_port}" for name in nodes)
if job.get("metrics_path", "/metrics") != "/metrics" or targets != wanted:
    fail(f"deploy/prometheus.yml: the seatd job must scrape {wanted} (each node's --admin-listen "
         "port)")
prom_service = services.get("prometheus", {})
if not any(v.startswith("./prometheus.yml:") for v in prom_service.get("volumes", [])):
    fail("deploy/compose.yaml: prometheus must mount ./prometheus.yml")

# ---- Kubernetes ----------------------------------------------------------------------------
k8s = {}
for path in glob.glob("deploy/k8s/*.yaml"):
    for doc in docs.get(path, []):
        k8s.setdefault((doc.get("kind"), doc.get("metadata", {}).get("name")), (path, doc))
kustomization = docs["deploy/k8s/kustomization.yaml"][0]
for resource in kustomization.get("resources", []):
    if not os.path.exists(os.path.join("deploy/k8s", resource)):
        fail(f"deploy/k8s/kustomization.yaml: {resource} does not exist")
if "secret.example.yaml" in kustomization.get("resources", []):
    fail("deploy/k8s/kustomization.yaml must not apply the example Secret")
sets = [d for (kind, _), (_, d) in k8s.items() if kind == "StatefulSet"]
if len(sets) != 1:
    fail(f"deploy/k8s: {len(sets)} StatefulSets, expected 1")
else:
    sts = sets[0]["spec"]
    pod = sts["template"]["spec"]
    pod_labels = sts["template"]["metadata"].get("labels", {})
    replicas = sts.get("replicas")
    if replicas != 3:
        fail("deploy/k8s: replicas must be 3 (the members of the ConfigMap's peers)")
    if sts.get("podManagementPolicy") != "Parallel":
        fail("deploy/k8s: podManagementPolicy must be Parallel (a pod is ready only with a "
             "majority up)")
    budgets = [d for (kind, _), (_, d) in k8s.items() if kind == "PodDisruptionBudget"]
    if len(budgets) != 1 or budgets[0]["spec"].get("maxUnavailable") != 1 or not set(
            budgets[0]["spec"]["selector"]["matchLabels"].items()) <= set(pod_labels.items()):
        fail("deploy/k8s: one PodDisruptionBudget with maxUnavailable 1 must select the pods")
    if not set(sts["selector"]["matchLabels"].items()) <= set(pod_labels.items()):
        fail("deploy/k8s: the StatefulSet's selector does not match its pod labels")
    headless = k8s.get(("Service", sts.get("serviceName")))
    if not headless or headless[1]["spec"].get("clusterIP") != "None":
        fail("deploy/k8s: serviceName must name a headless Service")
    for (kind, name), (_, doc) in k8s.items():
        if kind == "Service" and not set(doc["spec"]["selector"].items()) <= set(pod_labels.items()):
            fail(f"deploy/k8s: Service {name} selects no seatd pod")
    if pod.get("terminationGracePeriodSeconds", 30) < 30:
        fail("deploy/k8s: terminationGracePeriodSeconds must leave time to drain and checkpoint")
    security = pod.get("securityContext", {})
    if security.get("runAsNonRoot") is not True or str(security.get("runAsUser")) != user:
        fail(f"deploy/k8s: the pod must run as non-root uid {user} (the image's USER)")
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    probes = {k: container.get(k, {}).get("httpGet", {}) for k in
              ("startupProbe", "livenessProbe", "readinessProbe")}
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        if probes[probe].get("path") != path or probes[probe].get("port") != "admin":
            fail(f"deploy/k8s: {probe} must GET {path} on the container port named admin")
    annotations = sts["template"]["metadata"].get("annotations", {})
    if str(annotations.get("prometheus.io/port")) != str(ports.get("admin")):
        fail("deploy/k8s: prometheus.io/port must be the admin port")
    secrets = {d["metadata"]["name"]: d for (kind, _), (_, d) in
               [(k, v) for k, v in k8s.items()] if kind == "Secret"}
    env = {e["name"]: e for e in container.get("env", [])}
    for variable in ("SEATD_ADMIN_TOKEN", "SEATD_GATEWAY_TOKEN", "SEATD_CLUSTER_SECRET"):
        ref = env.get(variable, {}).get("valueFrom", {}).get("secretKeyRef", {})
        secret = secrets.get(ref.get("name"))
        if not secret or ref.get("key") not in secret.get("stringData", {}):
            fail(f"deploy/k8s: {variable} must come from a key of the Secret (secret.example.yaml)")
    args = container.get("args", [])
    check_flags("deploy/k8s container args", args)
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    claims = {c["metadata"]["name"] for c in sts.get("volumeClaimTemplates", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for name in mounts:
        if name not in claims and name not in volumes:
            fail(f"deploy/k8s: volumeMount {name} has no volume or claim")
    config_path = flag_value(args, "--config")
    config_table = None
    for name, volume in volumes.items():
        cm = volume.get("configMap", {}).get("name")
        if cm:
            found = k8s.get(("ConfigMap", cm))
            if not found:
                fail(f"deploy/k8s: ConfigMap {cm} is not defined")
                continue
            for key, text in found[1].get("data", {}).items():
                if config_path == os.path.join(mounts.get(name, "?"), key):
                    config_table = tomllib.loads(text)
    if config_table is None:
        fail("deploy/k8s: --config must name a file of the mounted ConfigMap")
    else:
        check_toml_keys("deploy/k8s/configmap.yaml seatd.toml", config_table, exact=False)
        listen_port = int(str(config_table.get("listen", "")).rsplit(":", 1)[-1] or 0)
        if listen_port != ports.get("http"):
            fail("deploy/k8s: the config's listen port is not the container port named http")
        admin_port = int(str(config_table.get("admin_listen", "")).rsplit(":", 1)[-1] or 0)
        if admin_port != ports.get("admin"):
            fail("deploy/k8s: the config's admin_listen port is not the container port named admin")
        data_mount = next((mounts[c] for c in claims if c in mounts), None)
        if not data_mount or not str(config_table.get("data_dir", "")).startswith(data_mount + "/"):
            fail("deploy/k8s: data_dir must be inside the PersistentVolumeClaim's mount")
        if "tokens" in config_table or "cluster_secret" in config_table:
            fail("deploy/k8s: tokens and the cluster secret belong in the Secret, not the "
                 "ConfigMap")
        # The members: every pod of the StatefulSet by name, at its headless DNS name and the
        # container port named peer, where each listens.
        peer_port = ports.get("peer")
        peer_listen = str(config_table.get("peer_listen", ""))
        if not peer_port or peer_listen.rsplit(":", 1)[-1] != str(peer_port):
            fail("deploy/k8s: the config's peer_listen port is not the container port named peer")
        service = sts.get("serviceName")
        set_name = sets[0]["metadata"]["name"]
        wanted_peers = ",".join(f"{set_name}-{i}={set_name}-{i}.{service}:{peer_port}"
                                for i in range(replicas or 0))
        if config_table.get("peers") != wanted_peers:
            fail(f"deploy/k8s: the config's peers must be {wanted_peers}")
        if flag_value(args, "--node-id") != "$(POD_NAME)":
            fail("deploy/k8s: --node-id must be the pod's name ($(POD_NAME))")
        if headless and not any(p.get("targetPort") == "peer"
                                for p in headless[1]["spec"].get("ports", [])):
            fail("deploy/k8s: the headless Service must carry the peer port")

# The seatsim sweep Job: an Indexed Job of the same image, as its user, whose seatsim exists
# in the image and whose sweep flags seatsim knows.
sweeps = [d for (kind, _), (_, d) in k8s.items() if kind == "Job"]
for job in sweeps:
    spec = job["spec"]
    if spec.get("completionMode") != "Indexed" or spec.get("template", {}).get("spec", {}).get(
            "restartPolicy") != "Never":
        fail("deploy/k8s: the seatsim Job must be Indexed with restartPolicy Never")
    jpod = spec["template"]["spec"]
    if str(jpod.get("securityContext", {}).get("runAsUser")) != user:
        fail(f"deploy/k8s: the seatsim Job must run as the image's user {user}")
    if "/usr/local/bin/seatsim" not in dockerfile:
        fail("deploy/Dockerfile: the image lacks /usr/local/bin/seatsim, which the Job runs")
    script = " ".join(jpod["containers"][0].get("args", []))
    if "JOB_COMPLETION_INDEX" not in script:
        fail("deploy/k8s: each index of the seatsim Job must sweep its own seeds")
    seatsim = next((b for b in ("build/release/sim/seatsim", "build/debug/sim/seatsim")
                    if os.path.exists(b)), None)
    if seatsim:
        known = subprocess.run([seatsim, "sweep", "--help"], capture_output=True, text=True).stdout
        for flag in re.findall(r"(--[a-z-]+)", script):
            if flag not in known:
                fail(f"deploy/k8s: seatsim sweep has no {flag}")
    else:
        notes.append("no built seatsim: the sweep Job's flags not checked")

for note in notes:
    print("deploy/check.sh: note: " + note)
for finding in findings:
    print("deploy/check.sh: " + finding, file=sys.stderr)
if findings:
    sys.exit(f"deploy/check.sh: FAILED, {len(findings)} finding(s)")
print(f"deploy/check.sh: ok ({len(yaml_files)} YAML files, {len(registered)} metrics, "
      f"{len(used)} on the dashboard, {len(keys)} config keys, {len(flags)} flags)")
PY

# The health check script against a stub HTTP server on loopback: 200 passes, 404 and a
# closed port fail.
stub_dir=$(mktemp -d)
trap 'kill "${stub_pid:-0}" 2>/dev/null || true; rm -rf "$stub_dir"' EXIT
touch "$stub_dir/healthz"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$stub_dir" >/dev/null 2>&1 &
stub_pid=$!
for _ in $(seq 50); do
  SEATD_HEALTH_PORT=$port deploy/healthcheck.sh /healthz 2>/dev/null && break
  sleep 0.1
done
SEATD_HEALTH_PORT=$port deploy/healthcheck.sh /healthz ||
  { echo "deploy/check.sh: healthcheck.sh fails on a 200" >&2; exit 1; }
if SEATD_HEALTH_PORT=$port deploy/healthcheck.sh /readyz 2>/dev/null; then
  echo "deploy/check.sh: healthcheck.sh passes on a 404" >&2
  exit 1
fi
kill "$stub_pid"
wait "$stub_pid" 2>/dev/null || true
if SEATD_HEALTH_PORT=$port deploy/healthcheck.sh /healthz 2>/dev/null; then
  echo "deploy/check.sh: healthcheck.sh passes with nothing listening" >&2
  exit 1
fi
echo "deploy/check.sh: healthcheck.sh ok (200 passes; 404 and a closed port fail)"
