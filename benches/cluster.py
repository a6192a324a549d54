#!/usr/bin/env python3
"""Scale-out benchmark (issue 13): tiny ONNX AI.MODELEXECUTE (tests/fixtures/onnx/mul.onnx, two
FLOAT [1,2] inputs) on a 3-master Redis Cluster on loopback, against the same workload on one
redis-server with the module, in the same run.

A cluster-aware client sends each request to the master that owns its key's slot, so the load
is what such a client makes once it knows the slot map: each master gets its own hash tag (a
model and per-connection tensors under `{tag}`), and one loadgen per master drives it
directly, all three at once. The single instance gets one loadgen with the same total number of
clients, over the same keys. Reported: ops/s (the sum over masters), the worst p99, the ratio
cluster / single, and the CPU each side used (servers, loadgens), because on a 2-core machine
three servers and three load generators share the same two cores.

Usage: .venv/bin/python benches/cluster.py   (after cargo build --release -p redisai-module
-p redisai-bench)
Environment: CLIENTS=3,24 (total; split evenly over the masters) DURATION=5 WARMUP=1 REPEAT=3
REDIS_SERVER=redis-server
Prints a markdown table; exits non-zero when a run fails or a command errors.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from redis.crc import key_slot

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
MODULE = RELEASE / "libredisai_module.so"
LOADGEN = RELEASE / "loadgen"
MODEL = ROOT / "tests" / "fixtures" / "onnx" / "mul.onnx"
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
CLIENTS = [int(c) for c in os.environ.get("CLIENTS", "3,24").split(",")]
DURATION = os.environ.get("DURATION", "5")
WARMUP = os.environ.get("WARMUP", "1")
REPEAT = int(os.environ.get("REPEAT", "3"))
MASTERS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """redis-server with the module on a loopback port, in a directory of its own."""

    def __init__(self, cluster: bool):
        self.dir = tempfile.mkdtemp(prefix="cluster-bench-")
        self.port = free_port()
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--logfile", "server.log"]
        if cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        argv += ["--loadmodule", str(MODULE)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.client = redis.Redis(port=self.port, socket_timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server on {self.port} did not start")
                time.sleep(0.05)

    def cpu_ticks(self) -> int:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def owned_slots(node: Node) -> list:
    for line in node.client.execute_command("CLUSTER", "NODES").decode().splitlines():
        parts = line.split()
        if "myself" in parts[2]:
            ranges = []
            for rng in parts[8:]:
                lo, _, hi = rng.partition("-")
                ranges.append((int(lo), int(hi or lo)))
            return ranges
    return []


def tag_of(node: Node) -> str:
    ranges = owned_slots(node)
    for i in range(100000):
        slot = key_slot(f"{{b{i}}}".encode())
        if any(lo <= slot <= hi for lo, hi in ranges):
            return f"b{i}"
    raise RuntimeError("no tag for this node")


def loadgen_args(node: Node, tag: str, clients: int) -> list:
    return [str(LOADGEN), "--port", str(node.port), "--clients", str(clients), "--size", "8",
            "--duration", DURATION, "--warmup", WARMUP, "--json",
            "--setup", f"AI.MODELSTORE {{{tag}}}m ONNX CPU BLOB {{file:{MODEL}}}",
            "--setup-each", f"AI.TENSORSET {{{tag}}}in:{{conn}} FLOAT 1 2 BLOB {{blob}}",
            "--raw", f"AI.MODELEXECUTE {{{tag}}}m INPUTS 2 {{{tag}}}in:{{conn}} {{{tag}}}in:{{conn}} "
                     f"OUTPUTS 1 {{{tag}}}out:{{conn}}"]


def run(targets: list) -> dict:
    """One loadgen per (node, tag, clients), all at once: total ops/s, worst p99, CPU used."""
    clk = os.sysconf("SC_CLK_TCK")
    servers = list({id(n): n for n, _, _ in targets}.values())
    before = [n.cpu_ticks() for n in servers]
    t0 = time.monotonic()
    procs = [subprocess.Popen(loadgen_args(n, tag, c), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for n, tag, c in targets]
    outs = [p.communicate() for p in procs]
    wall = time.monotonic() - t0
    cpu = sum(n.cpu_ticks() for n in servers) - sum(before)
    rows = []
    for p, (out, err) in zip(procs, outs):
        if p.returncode != 0:
            sys.exit(f"loadgen failed: {err}")
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "ops": sum(r["ops_per_sec"] for r in rows),
        "p99": max(r["p99_us"] for r in rows),
        "server_cores": cpu / clk / wall,
    }


def main():
    for path in (MODULE, LOADGEN):
        if not path.exists():
            sys.exit(f"{path} not found: cargo build --release -p redisai-module -p redisai-bench")
    nodes = [Node(cluster=True) for _ in range(MASTERS)]
    single = Node(cluster=False)
    try:
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True)
        deadline = time.monotonic() + 60
        while any(n.client.cluster("info")["cluster_state"] != "ok" for n in nodes):
            if time.monotonic() > deadline:
                sys.exit("the cluster did not come up")
            time.sleep(0.1)
        tags = [tag_of(n) for n in nodes]
        print(f"cores: {os.cpu_count()}; {MASTERS} masters (ports {[n.port for n in nodes]}), "
              f"one instance (port {single.port}); DURATION={DURATION}s REPEAT={REPEAT}\n")
        print("| clients | rep | cluster ops/s | cluster p99 (µs) | cluster server CPU (cores) "
              "| single ops/s | single p99 (µs) | single server CPU (cores) | cluster / single |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for clients in CLIENTS:
            per = max(1, clients // MASTERS)
            for rep in range(1, REPEAT + 1):
                c = run([(n, tag, per) for n, tag in zip(nodes, tags)])
                # The same keys (one tag per shard's share of the clients) on one instance.
                s = run([(single, tag, per) for tag in tags])
                print(f"| {per * MASTERS} | {rep} | {c['ops']:.0f} | {c['p99']:.0f} | {c['server_cores']:.2f} "
                      f"| {s['ops']:.0f} | {s['p99']:.0f} | {s['server_cores']:.2f} | {c['ops'] / s['ops']:.2f} |",
                      flush=True)
    finally:
        for n in nodes + [single]:
            n.stop()


if __name__ == "__main__":
    main()
