#!/usr/bin/env python3
"""The write gap of a leader's failover (figures in docs/BENCHMARKS.md, "Failover").

Starts a three-node cluster on loopback (build/release/api/seatd unless --seatd; fresh data
dirs under /tmp, no auth, replication factor 3), creates one event, and keeps writing to it:
--writers threads (8) each hold a seat and release it again, through whichever node is up,
as fast as answers come. Then, --rounds times (20): finds the leader of the event's shard
(GET /v1/cluster?event=), kills it with SIGKILL, and measures the write gap: from the kill
to the first hold answered 201 that was sent after it. The killed node is restarted from its
data dir and the next round waits until it is ready and the cluster has settled. Prints
every gap and their distribution (median, p90, max), and the count of answers other than
201 and 200 (503 while no leader is known, and 409 for a seat whose hold's release died with
a node, are expected; anything else fails the run).
Everything it starts it stops; all traffic stays on 127.0.0.1.

Usage: scripts/bench-failover.py [--seatd PATH] [--rounds N] [--writers N] [--json]
Python 3 standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EVENT = "failover"
VENUE = {
    "name": "Failover", "starts_at": "2027-01-01T00:00:00Z",
    "categories": [{"id": "A", "price_minor": 1000, "currency": "EUR"}],
    "sections": [{"id": "S", "rows": [{"id": "1", "seats": 200, "category": "A"}]}],
    "max_seats_per_customer": 4,
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, target, body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, target, body=None if body is None else json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Cluster:
    def __init__(self, seatd, work):
        self.seatd, self.work = seatd, work
        self.api = {f"n{i}": free_port() for i in (1, 2, 3)}
        self.peers = ",".join(f"n{i}=127.0.0.1:{free_port()}" for i in (1, 2, 3))
        self.procs = {}
        self.env = dict(os.environ, SEATD_CLUSTER_SECRET="failover-bench-" + os.urandom(8).hex())

    def start(self, name):
        log = open(os.path.join(self.work, f"{name}.log"), "a")
        self.procs[name] = subprocess.Popen(
            [self.seatd, "--listen", f"127.0.0.1:{self.api[name]}", "--data-dir",
             os.path.join(self.work, name), "--insecure-no-auth", "--log-level", "warn",
             "--node-id", name, "--peers", self.peers,
             "--leader-balance-s", "0"],  # leaders move only by the kills measured
            stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def up(self):
        return [n for n, p in self.procs.items() if p.poll() is None]

    def wait_ready(self, name, limit=30):
        until = time.monotonic() + limit
        while time.monotonic() < until:
            try:
                if request(self.api[name], "GET", "/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"bench-failover: {name} did not become ready")

    def leader(self):
        for name in self.up():
            try:
                status, body = request(self.api[name], "GET", f"/v1/cluster?event={EVENT}", timeout=2)
                leader = json.loads(body)["event"]["leader"] if status == 200 else None
                if leader and leader in self.up():
                    return leader
            except (OSError, ValueError, KeyError):
                pass
        return None

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


class Writers:
    """Threads that hold a seat and release it, through the nodes that are up, in turn."""

    def __init__(self, cluster, count):
        self.cluster, self.stopping = cluster, False
        self.lock = threading.Lock()
        self.successes = []  # (sent_at, answered_at) of every hold answered 201
        self.other = {}      # status -> count, besides 201 and 200
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(count)]

    def count(self, status):
        with self.lock:
            self.other[status] = self.other.get(status, 0) + 1

    def run(self, index):
        # A new seat and customer every time: a hold whose release died with a node stays
        # until its TTL and must not block this writer.
        seats = [f"S-1-{index * 25 + k + 1}" for k in range(25)]
        turn = index
        attempt = 0
        while not self.stopping:
            attempt += 1
            seat = seats[attempt % len(seats)]
            up = self.cluster.up()
            if not up:
                time.sleep(0.01)
                continue
            port = self.cluster.api[up[turn % len(up)]]
            turn += 1
            sent = time.monotonic()
            try:
                status, body = request(port, "POST", f"/v1/events/{EVENT}/holds",
                                       {"customer_id": f"w{index}-{attempt}", "seats": [seat],
                                        "ttl_s": 60},
                                       timeout=10)
                if status != 201:
                    self.count(status)
                    time.sleep(0.01)
                    continue
                with self.lock:
                    self.successes.append((sent, time.monotonic()))
                hold = json.loads(body)["hold_id"]
                status, _ = request(port, "DELETE", f"/v1/events/{EVENT}/holds/{hold}", timeout=10)
                if status != 200:
                    self.count(status)
            except OSError:
                self.count("connection error")
                time.sleep(0.01)

    def first_success_after(self, t):
        with self.lock:
            after = [answered for sent, answered in self.successes if sent >= t]
        return min(after) if after else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seatd", default=os.path.join(ROOT, "build/release/api/seatd"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.path.exists(args.seatd):
        raise SystemExit(f"bench-failover: no {args.seatd} (cmake --build --preset release)")

    work = tempfile.mkdtemp(prefix="seatd-bench-failover-")
    cluster = Cluster(args.seatd, work)
    writers = None
    try:
        for name in cluster.api:
            cluster.start(name)
        for name in cluster.api:
            cluster.wait_ready(name)
        until = time.monotonic() + 30
        while request(cluster.api["n1"], "PUT", f"/v1/events/{EVENT}", VENUE)[0] not in (200, 201):
            if time.monotonic() > until:
                raise SystemExit("bench-failover: the event could not be created")
            time.sleep(0.1)
        writers = Writers(cluster, args.writers)
        for t in writers.threads:
            t.start()
        time.sleep(1)
        gaps = []
        for round_ in range(args.rounds):
            leader = None
            until = time.monotonic() + 30
            while leader is None and time.monotonic() < until:
                leader = cluster.leader()
                time.sleep(0.05)
            if leader is None:
                raise SystemExit("bench-failover: no leader for the event's shard")
            cluster.procs[leader].kill()
            killed_at = time.monotonic()
            cluster.procs[leader].wait()
            answered = None
            while answered is None and time.monotonic() < killed_at + 30:
                time.sleep(0.01)
                answered = writers.first_success_after(killed_at)
            gap = None if answered is None else answered - killed_at
            gaps.append(gap)
            if not args.json:
                shown = "no write within 30 s" if gap is None else f"{gap:.3f} s"
                print(f"round {round_ + 1:>2}: killed {leader}, writes again after {shown}",
                      flush=True)
            cluster.start(leader)
            cluster.wait_ready(leader)
            time.sleep(1)  # the restarted node catches up before the next kill
        writers.stopping = True
        for t in writers.threads:
            t.join(timeout=15)
        measured = [g for g in gaps if g is not None]
        result = {
            "rounds": args.rounds, "writers": args.writers,
            "gaps_s": gaps,
            "median_s": statistics.median(measured) if measured else None,
            "p90_s": (sorted(measured)[max(0, int(0.9 * len(measured)) - 1)]
                      if measured else None),
            "max_s": max(measured) if measured else None,
            "no_write_within_30_s": len(gaps) - len(measured),
            "writes": len(writers.successes),
            "other_answers": {str(k): v for k, v in writers.other.items()},
        }
        if args.json:
            print(json.dumps(result))
        else:
            print(f"\n{len(measured)} failovers: median {result['median_s']:.3f} s, "
                  f"p90 {result['p90_s']:.3f} s, max {result['max_s']:.3f} s "
                  f"({result['writes']} holds answered 201; other answers: "
                  f"{result['other_answers'] or 'none'})")
        # 503: no leader yet; 409: a seat still held by a hold whose release died with a node.
        unexpected = {k: v for k, v in writers.other.items()
                      if k not in (503, 409, "connection error")}
        return 1 if unexpected or len(measured) < len(gaps) else 0
    finally:
        if writers:
            writers.stopping = True
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
