#!/usr/bin/env python3
"""Durability benchmarks of the standalone server against redis-server + redisai-module, the
same data and settings in the same run (issue 11's targets):

  snapshot  SAVE, and the load at start, of TENSOR_GIB GiB of 1 MiB tensors (random bytes, as
            float weights do not compress) and of MODELS models (the MLP of benches/batching.sh,
            half ONNX, half TORCH, ~5 MiB each); load = spawn until PING answers PONG, minus the
            same for an empty directory. Target: the server not slower than Redis.
  aof       AI.TENSORSET 4 KiB ops/s (loadgen, CLIENTS) with --appendonly yes and appendfsync
            everysec (target >= 1.0x Redis's) and always (reported).
  bgsave    p99 of AI.TENSORGET 4 KiB (loadgen, BGSAVE_CLIENTS) while BGSAVE of TENSOR_GIB GiB
            runs back to back, against the p99 without it, on each face. Redis forks; the server
            writes a copy of the keyspace's Arcs on a thread. Target: at most 2x.

Usage: .venv/bin/python benches/persistence.py   (after cargo build --release -p redisai-server
-p redisai-module -p redisai-bench, and the model generators; benches/faces.sh builds them)
Environment: TENSOR_GIB=1 MODELS=100 REPEAT=3 DURATION=5 CLIENTS=1,8 BGSAVE_CLIENTS=8
WORKLOADS=snapshot,aof,bgsave REDIS_SERVER=redis-server MODELS_DIR=target/bench-models
Prints markdown tables; exits non-zero when a run fails or a command errors.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
SERVER = RELEASE / "redisai-server"
MODULE = RELEASE / "libredisai_module.so"
LOADGEN = RELEASE / "loadgen"
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
MODELS_DIR = Path(os.environ.get("MODELS_DIR", ROOT / "target" / "bench-models"))
TENSOR_GIB = float(os.environ.get("TENSOR_GIB", "1"))
MODELS = int(os.environ.get("MODELS", "100"))
REPEAT = int(os.environ.get("REPEAT", "3"))
DURATION = os.environ.get("DURATION", "5")
CLIENTS = os.environ.get("CLIENTS", "1,8")
BGSAVE_CLIENTS = os.environ.get("BGSAVE_CLIENTS", "8")
WORKLOADS = os.environ.get("WORKLOADS", "snapshot,aof,bgsave").split(",")
FACES = ("server", "module")
MIB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Face:
    """One server process of a face, in its own directory."""

    def __init__(self, face, work, appendfsync=None):
        self.face, self.dir, self.appendfsync = face, Path(work) / face, appendfsync
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None

    def argv(self):
        # The same flags on both; Redis's must come before --loadmodule.
        flags = ["--port", str(self.port), "--dir", str(self.dir), "--save", ""]
        if self.appendfsync:
            flags += ["--appendonly", "yes", "--appendfsync", self.appendfsync]
        else:
            flags += ["--appendonly", "no"]
        if self.face == "server":
            return [str(SERVER), *flags]
        return [REDIS_SERVER, "--bind", "127.0.0.1", *flags, "--loadmodule", str(MODULE)]

    def start(self):
        """Spawns the process; returns seconds until PING answers PONG (Redis answers LOADING
        meanwhile; the server answers once loaded)."""
        self.port = free_port()
        log = open(self.dir / "log", "ab")
        began = time.perf_counter()
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"{self.face} exited at start; see {self.dir / 'log'}")
            try:
                if redis.Redis(port=self.port, socket_timeout=600).ping():
                    return time.perf_counter() - began
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.005)
            except redis.ResponseError as e:
                if "LOADING" not in str(e):
                    raise
                time.sleep(0.005)

    def client(self):
        return redis.Redis(port=self.port, socket_timeout=600)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.client().execute_command("SHUTDOWN", "NOSAVE")
            except redis.ConnectionError:
                pass
            self.proc.wait(60)
        self.proc = None


def fill_tensors(r, gib):
    count = int(gib * 1024)
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.execute_command("AI.TENSORSET", f"t{i}", "UINT8", MIB, "BLOB", os.urandom(MIB))
        if i % 16 == 15:
            pipe.execute()
    pipe.execute()
    return count


def fill_models(r, count):
    blobs = {"ONNX": (MODELS_DIR / "mlp.onnx").read_bytes(),
             "TORCH": (MODELS_DIR / "mlp.pt").read_bytes()}
    for i in range(count):
        backend = "ONNX" if i % 2 == 0 else "TORCH"
        r.execute_command("AI.MODELSTORE", f"m{i}", backend, "CPU", "BLOB", blobs[backend])
    return count


def timed(f):
    began = time.perf_counter()
    f()
    return time.perf_counter() - began


def snapshot_case(work, name, fill):
    """Per face: median SAVE seconds, median load seconds (empty start subtracted), file size."""
    out = {}
    for face in FACES:
        f = Face(face, work)
        empty = statistics.median(start_stop(f) for _ in range(REPEAT))
        f.start()
        keys = fill(f.client())
        saves = [timed(lambda: f.client().save()) for _ in range(REPEAT)]
        f.stop()
        size = (f.dir / "dump.rdb").stat().st_size
        loads = []
        for _ in range(REPEAT):
            loads.append(f.start() - empty)
            assert f.client().dbsize() == keys, f"{face}: {name}: keys missing after the load"
            f.stop()
        shutil.rmtree(f.dir)
        out[face] = {"save": statistics.median(saves), "load": statistics.median(loads),
                     "size": size, "keys": keys}
    return out


def start_stop(f):
    t = f.start()
    f.stop()
    return t


def loadgen(port, scenario, clients, size="4KiB", duration=DURATION):
    cmd = [str(LOADGEN), "--port", str(port), "--scenario", scenario, "--clients", clients,
           "--size", size, "--duration", duration, "--warmup", "1", "--json"]
    runs = [json.loads(line) for line in subprocess.run(
        cmd, check=True, capture_output=True, text=True).stdout.splitlines() if line.startswith("{")]
    for run in runs:
        if run["errors"]:
            sys.exit(f"loadgen {scenario}: {run['errors']} errors: {run['first_error']}")
    return runs


def aof_case(work, fsync):
    out = {}
    for face in FACES:
        f = Face(face, work, appendfsync=fsync)
        f.start()
        out[face] = loadgen(f.port, "tensorset", CLIENTS)
        f.stop()
        shutil.rmtree(f.dir)
    return out


def bgsave_case(work):
    out = {}
    for face in FACES:
        f = Face(face, work)
        f.start()
        fill_tensors(f.client(), TENSOR_GIB)
        quiet = loadgen(f.port, "tensorget", BGSAVE_CLIENTS)[0]
        stop = threading.Event()
        saves = [0]

        def save_loop():
            r = f.client()
            while not stop.is_set():
                r.bgsave()
                saves[0] += 1
                while r.info("persistence")["rdb_bgsave_in_progress"] and not stop.is_set():
                    time.sleep(0.01)

        t = threading.Thread(target=save_loop)
        t.start()
        busy = loadgen(f.port, "tensorget", BGSAVE_CLIENTS)[0]
        stop.set()
        t.join()
        while f.client().info("persistence")["rdb_bgsave_in_progress"]:
            time.sleep(0.05)
        f.stop()
        shutil.rmtree(f.dir)
        out[face] = {"quiet": quiet, "busy": busy, "saves": saves[0]}
    return out


def main():
    for path in (SERVER, MODULE, LOADGEN):
        if not path.exists():
            sys.exit(f"{path} not found: cargo build --release -p redisai-server -p redisai-module "
                     "-p redisai-bench")
    work = tempfile.mkdtemp(prefix="redisai-persistence.")
    try:
        print(f"# Durability: redisai-server against redis-server + redisai-module "
              f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, REPEAT={REPEAT}, "
              f"DURATION={DURATION}s)\n")
        if "snapshot" in WORKLOADS:
            if not (MODELS_DIR / "mlp.onnx").exists() or not (MODELS_DIR / "mlp.pt").exists():
                sys.exit(f"{MODELS_DIR}/mlp.onnx and mlp.pt not found: run benches/faces.sh "
                         "once (WORKLOADS=mlp), it generates them")
            print("## SAVE and load at start (medians; load = spawn to PONG minus an empty start)\n")
            print("| data | file MiB | SAVE s server | SAVE s Redis | server/Redis "
                  "| load s server | load s Redis | server/Redis |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            cases = [(f"{TENSOR_GIB:g} GiB of 1 MiB tensors", lambda r: fill_tensors(r, TENSOR_GIB)),
                     (f"{MODELS} models (MLP, ONNX + TORCH)", lambda r: fill_models(r, MODELS))]
            for name, fill in cases:
                c = snapshot_case(work, name, fill)
                s, m = c["server"], c["module"]
                print(f"| {name} | {s['size'] / MIB:.0f} / {m['size'] / MIB:.0f} "
                      f"| {s['save']:.3f} | {m['save']:.3f} | {s['save'] / m['save']:.2f} "
                      f"| {s['load']:.3f} | {m['load']:.3f} | {s['load'] / m['load']:.2f} |",
                      flush=True)
            print()
        if "aof" in WORKLOADS:
            print("## AI.TENSORSET 4 KiB with the append-only file (ops/s)\n")
            print("| appendfsync | clients | server | Redis | server/Redis | p99 µs server "
                  "| p99 µs Redis |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for fsync in ("everysec", "always"):
                c = aof_case(work, fsync)
                for s, m in zip(c["server"], c["module"]):
                    print(f"| {fsync} | {s['clients']} | {s['ops_per_sec']:.0f} "
                          f"| {m['ops_per_sec']:.0f} | {s['ops_per_sec'] / m['ops_per_sec']:.2f} "
                          f"| {s['p99_us']} | {m['p99_us']} |", flush=True)
            print()
        if "bgsave" in WORKLOADS:
            print(f"## AI.TENSORGET 4 KiB p99 while BGSAVE of {TENSOR_GIB:g} GiB runs back to back "
                  f"({BGSAVE_CLIENTS} clients)\n")
            print("| face | BGSAVEs | ops/s quiet | ops/s during | p99 µs quiet "
                  "| p99 µs during | during/quiet |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            c = bgsave_case(work)
            for face, label in (("server", "server (thread)"), ("module", "Redis (fork)")):
                q, b = c[face]["quiet"], c[face]["busy"]
                print(f"| {label} | {c[face]['saves']} | {q['ops_per_sec']:.0f} "
                      f"| {b['ops_per_sec']:.0f} | {q['p99_us']} | {b['p99_us']} "
                      f"| {b['p99_us'] / q['p99_us']:.2f} |", flush=True)
            print()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
