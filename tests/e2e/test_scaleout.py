"""Scale-out on Redis itself (issue 13): replicas and Redis Cluster, with the module in real
redis-server (and Valkey) processes on loopback. Replication: two replicas, full and partial
resync, read-only replicas running models, AOF on a replica, promotion. Cluster: three masters
with a replica each made by `redis-cli --cluster create`; key positions (CROSSSLOT, MOVED, hash
tags, ROUTING), clients that follow redirections, per-shard scans, resharding with
`redis-cli --cluster reshard` (MIGRATE of AI values) and failover after SIGKILL.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from conftest import FACES, _start, store_or_skip
from test_persistence import ONNX, TORCH, populate, snapshot

pytestmark = pytest.mark.faces(*[f for f in FACES if f != "redisai"])

AI_KEYS = ("a", "b", "s", "i8", "e", "c", "onnx", "batched", "pt", "script", "old")


def wait_until(what: str, cond, timeout: float = 30.0, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except (redis.ConnectionError, redis.ResponseError, AssertionError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log()}")
        time.sleep(0.05)


def link_up(replica) -> None:
    rr = replica.client()
    wait_until("the replica's link", lambda: rr.info("replication").get("master_link_status") == "up",
               log=replica.log)


def digests(r, keys) -> dict:
    return {k: r.execute_command("DEBUG", "DIGEST-VALUE", k) for k in keys}


def calls(r, key) -> int:
    info = r.execute_command("AI.INFO", key)
    return dict(zip(info[::2], info[1::2]))[b"calls"]


# ---- replication ----------------------------------------------------------------------------


def test_two_replicas_full_and_partial_resync(face):
    master = _start(face)
    replicas = []
    try:
        r = master.client()
        populate(r)
        for _ in range(2):
            replicas.append(_start(face, extra=["--replicaof", "127.0.0.1", str(master.port)]))
        for rep in replicas:
            link_up(rep)
        assert r.execute_command("WAIT", 2, 10000) == 2
        for rep in replicas:
            assert digests(rep.client(), AI_KEYS) == digests(r, AI_KEYS)
        assert r.info("stats")["sync_full"] == 2

        # A short disconnect: the replica continues from its offset (PSYNC), no second full sync.
        first = replicas[0].client()
        first.execute_command("CLIENT", "KILL", "TYPE", "master")
        r.execute_command("AI.TENSORSET", "during", "FLOAT", 1, 2, "VALUES", 5, 6)
        assert r.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "during", "during", "OUTPUTS", 1,
                                 "sq") == b"OK"
        link_up(replicas[0])
        assert r.execute_command("WAIT", 2, 10000) == 2
        stats = r.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (2, 1)
        keys = AI_KEYS + ("during", "sq")
        for rep in replicas:
            rr = rep.client()
            assert digests(rr, keys) == digests(r, keys)
            assert rr.execute_command("AI.TENSORGET", "sq", "VALUES") == [b"25", b"36"]
            # The run reached the replicas as its output, not as a second run.
            assert calls(rr, "onnx") == 0

        # Replicas answer reads and run models read-only; writes are refused.
        rr = first
        assert rr.execute_command("AI.MODELGET", "onnx", "META")[:4] == [b"backend", b"ONNX", b"device", b"CPU"]
        assert rr.execute_command(
            "AI.DAGEXECUTE_RO", "LOAD", 2, "a", "b", "|>", "AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "b",
            "OUTPUTS", 1, "t", "|>", "AI.TENSORGET", "t", "VALUES") == [b"OK", [b"8", b"15"]]
        assert rr.execute_command(
            "AI.DAGRUN_RO", "LOAD", 1, "a", "|>", "AI.SCRIPTRUN", "script", "bar", "INPUTS", "a", "a",
            "OUTPUTS", "t", "|>", "AI.TENSORGET", "t", "VALUES") == [b"OK", [b"4", b"6"]]
        assert calls(rr, "onnx") == 1
        with pytest.raises(redis.ResponseError, match="PERSIST cannot be specified in a read-only DAG"):
            rr.execute_command("AI.DAGEXECUTE_RO", "PERSIST", 1, "t", "|>", "AI.TENSORSET", "t", "FLOAT", 1)
        for write in (["AI.TENSORSET", "x", "FLOAT", 1],
                      ["AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "x"],
                      ["AI.SCRIPTEXECUTE", "script", "bar", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "x"],
                      ["AI.DAGEXECUTE", "LOAD", 1, "a", "|>", "AI.TENSORGET", "a", "VALUES"],
                      ["AI.MODELDEL", "onnx"]):
            with pytest.raises(redis.ReadOnlyError, match="You can't write against a read only replica"):
                rr.execute_command(*write)
        assert rr.exists("x") == 0
    finally:
        for rep in replicas:
            rep.stop()
        master.stop()


def test_a_replica_keeps_everything_in_its_aof_and_when_promoted(face):
    master = _start(face)
    replica = None
    try:
        r = master.client()
        populate(r)
        replica = _start(face, extra=["--replicaof", "127.0.0.1", str(master.port), "--appendonly", "yes"])
        link_up(replica)
        assert r.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "late") == b"OK"
        assert r.execute_command("WAIT", 1, 10000) == 1
        before = snapshot(r)
        late = r.execute_command("AI.TENSORGET", "late", "VALUES")
        # The replica wrote its first AOF after the sync (Redis refuses to exit before).
        rr = replica.client()
        wait_until("the replica's first AOF", lambda: rr.info("persistence")["aof_rewrite_in_progress"] == 0
                   and rr.info("persistence")["aof_rewrite_scheduled"] == 0
                   and rr.info("persistence")["aof_last_bgrewrite_status"] == "ok")
        # The master goes away; the replica restarts from its AOF alone.
        master.halt(signal.SIGKILL)
        assert replica.halt() == 0
        replica.start()
        rr = replica.client()
        assert snapshot(rr) == before
        assert rr.execute_command("AI.TENSORGET", "late", "VALUES") == late == [b"16", b"25"]
        # Promoted, it takes writes and runs everything.
        assert rr.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        assert rr.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c2") == b"OK"
        assert rr.execute_command("AI.TENSORGET", "c2", "VALUES") == [b"8", b"15"]
        rr.execute_command("AI.TENSORSET", "p", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
        assert rr.execute_command("AI.MODELEXECUTE", "pt", "INPUTS", 2, "p", "p", "OUTPUTS", 1, "q") == b"OK"
        assert rr.execute_command("AI.SCRIPTEXECUTE", "script", "bar", "INPUTS", 2, "p", "p", "OUTPUTS", 1,
                                  "q") == b"OK"
        assert calls(rr, "onnx") == 1
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


# ---- Redis Cluster --------------------------------------------------------------------------


class Cluster:
    """Three masters and a replica each, on loopback, made by `redis-cli --cluster create`."""

    def __init__(self, face: str):
        self.face = face
        self.nodes = []
        try:
            for _ in range(6):  # nodes started before one that fails are stopped below
                self.nodes.append(self._node())
            subprocess.run(
                [redis_cli(), "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in self.nodes],
                 "--cluster-replicas", "1", "--cluster-yes"],
                check=True, capture_output=True, timeout=60,
            )
            self.wait_ok()
        except Exception:
            self.stop()
            raise

    def _node(self):
        return _start(self.face, extra=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                        "--cluster-node-timeout", "2000"])

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def wait_ok(self, timeout: float = 60.0):
        def ok():
            return all(n.client().cluster("info")["cluster_state"] == "ok" for n in self.live())

        wait_until("cluster_state:ok on every node", ok, timeout)

    def client(self) -> RedisCluster:
        node = self.live()[0]
        return RedisCluster(host="127.0.0.1", port=node.port, socket_timeout=60)

    def owner(self, key: str):
        """The live master that owns `key`'s slot, as it says itself (CLUSTER NODES)."""
        slot = key_slot(key.encode())
        for n in self.live():
            nodes = n.client().execute_command("CLUSTER", "NODES").decode()
            for line in nodes.splitlines():
                parts = line.split()
                if "myself" in parts[2] and "master" in parts[2]:
                    for rng in parts[8:]:
                        if rng.startswith("["):
                            continue
                        lo, _, hi = rng.partition("-")
                        if int(lo) <= slot <= int(hi or lo):
                            return n
        raise AssertionError(f"no live master owns slot {slot}")

    def node_id(self, node) -> str:
        return node.client().execute_command("CLUSTER", "MYID").decode()

    def masters(self):
        return [n for n in self.live() if n.client().info("replication")["role"] == "master"]

    def stop(self):
        for n in self.nodes:
            n.stop()


def redis_cli() -> str:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.fail("redis-cli not found (scripts/bootstrap installs redis-tools)")
    return cli


@pytest.fixture(scope="module")
def cluster():
    """A cluster per face, made at its first test and kept for the others of this file."""
    clusters = {}

    def get(face):
        if face not in clusters:
            clusters[face] = Cluster(face)
        return clusters[face]

    yield get
    for c in clusters.values():
        c.stop()


def tag_in_slots(below: int, prefix: str) -> str:
    """A hash tag whose slot is below `below` (the slots a reshard of `below` slots moves first)."""
    for i in range(100000):
        tag = f"{prefix}{i}"
        if key_slot(f"{{{tag}}}".encode()) < below:
            return tag
    raise AssertionError("no such tag")


def test_cluster_key_positions_redirections_and_routing(face, cluster):
    c = cluster(face)
    rc = c.client()
    model = (ONNX / "mul.onnx").read_bytes()
    # A model and its tensors under one hash tag live together; a cluster client finds them.
    store_or_skip(rc, "AI.MODELSTORE", "{m}model", "ONNX", "CPU", "TAG", "v1", "BLOB", model)
    rc.execute_command("AI.TENSORSET", "{m}a", "FLOAT", 1, 2, "VALUES", 2, 3)
    assert rc.execute_command("AI.MODELEXECUTE", "{m}model", "INPUTS", 2, "{m}a", "{m}a", "OUTPUTS", 1,
                              "{m}out") == b"OK"
    assert rc.execute_command("AI.TENSORGET", "{m}out", "VALUES") == [b"4", b"9"]
    rc.execute_command("AI.SCRIPTSTORE", "{m}script", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE",
                       (TORCH / "script.txt").read_text())
    assert rc.execute_command("AI.SCRIPTEXECUTE", "{m}script", "bar", "INPUTS", 2, "{m}a", "{m}out",
                              "OUTPUTS", 1, "{m}sum") == b"OK"
    assert rc.execute_command("AI.TENSORGET", "{m}sum", "VALUES") == [b"6", b"12"]

    owner = c.owner("{m}model")
    other = next(n for n in c.masters() if n.port != owner.port)
    direct = owner.client()
    # Keys of two slots in one command: refused by Redis before the module sees it.
    rc_other_tag = "{x}b"
    assert key_slot(rc_other_tag.encode()) != key_slot(b"{m}a")
    for cmd in (["AI.MODELEXECUTE", "{m}model", "INPUTS", 2, "{m}a", rc_other_tag, "OUTPUTS", 1, "{m}o"],
                ["AI.SCRIPTEXECUTE", "{m}script", "bar", "INPUTS", 2, "{m}a", "{m}a", "OUTPUTS", 1, rc_other_tag],
                ["AI.DAGEXECUTE", "LOAD", 2, "{m}a", rc_other_tag, "|>", "AI.TENSORGET", "{m}a", "VALUES"]):
        with pytest.raises(redis.ResponseError, match="CROSSSLOT Keys in request don't hash to the same slot"):
            direct.execute_command(*cmd)
    # A key of another node: MOVED to its owner, which cluster clients follow.
    with pytest.raises(redis.ResponseError, match=rf"MOVED {key_slot(b'{m}out')} 127.0.0.1:{owner.port}"):
        other.client().execute_command("AI.TENSORGET", "{m}out", "VALUES")
    followed = subprocess.run([redis_cli(), "-c", "-p", str(other.port), "AI.TENSORGET", "{m}out", "VALUES"],
                              check=True, capture_output=True, text=True, timeout=30)
    assert followed.stdout.split() == ["4", "9"]
    # ROUTING sends a DAG with no keys of its own to the node of its tag.
    dag = ["AI.DAGEXECUTE", "ROUTING", "{m}", "|>", "AI.TENSORSET", "x", "FLOAT", 1, 2, "VALUES", 1, 2,
           "|>", "AI.MODELEXECUTE", "{m}model", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "y",
           "|>", "AI.TENSORGET", "y", "VALUES"]
    assert rc.execute_command(*dag) == [b"OK", b"OK", [b"1", b"4"]]
    with pytest.raises(redis.ResponseError, match="MOVED"):
        other.client().execute_command(*dag)
    assert direct.execute_command(*dag)[2] == [b"1", b"4"]


def test_cluster_scans_list_the_local_shard(face, cluster):
    c = cluster(face)
    rc = c.client()
    model = (ONNX / "mul.onnx").read_bytes()
    tags = {}
    for n in c.masters():
        # a tag this master owns
        tag = next(t for t in (f"scan{i}" for i in range(10000)) if c.owner(f"{{{t}}}").port == n.port)
        tags[n.port] = tag
        store_or_skip(rc, "AI.MODELSTORE", f"{{{tag}}}m", "ONNX", "CPU", "TAG", tag, "BLOB", model)
        rc.execute_command("AI.SCRIPTSTORE", f"{{{tag}}}s", "CPU", "TAG", tag, "ENTRY_POINTS", 1, "bar",
                           "SOURCE", (TORCH / "script.txt").read_text())
    for n in c.masters():
        r = n.client()
        tag = tags[n.port]
        models = [pair for pair in r.execute_command("AI._MODELSCAN") if pair[0].startswith(b"{scan")]
        scripts = [pair for pair in r.execute_command("AI._SCRIPTSCAN") if pair[0].startswith(b"{scan")]
        assert models == [[f"{{{tag}}}m".encode(), tag.encode()]]
        assert scripts == [[f"{{{tag}}}s".encode(), tag.encode()]]


def test_cluster_resharding_moves_ai_values(face, cluster):
    c = cluster(face)
    rc = c.client()
    tag = tag_in_slots(64, "move")
    keys = {k: f"{{{tag}}}{k}" for k in ("model", "pt", "script", "t", "s")}
    store_or_skip(rc, "AI.MODELSTORE", keys["model"], "ONNX", "CPU", "TAG", "moved", "BLOB",
                  (ONNX / "mul.onnx").read_bytes())
    store_or_skip(rc, "AI.MODELSTORE", keys["pt"], "TORCH", "CPU", "BLOB", (TORCH / "pt-minimal.pt").read_bytes())
    rc.execute_command("AI.SCRIPTSTORE", keys["script"], "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE",
                       (TORCH / "script.txt").read_text())
    rc.execute_command("AI.TENSORSET", keys["t"], "FLOAT", 1, 2, "VALUES", 2, 3)
    rc.execute_command("AI.TENSORSET", keys["s"], "STRING", 2, "VALUES", "x", "yz")
    assert rc.execute_command("AI.MODELEXECUTE", keys["model"], "INPUTS", 2, keys["t"], keys["t"], "OUTPUTS",
                              1, keys["t"] + "2") == b"OK"
    source = c.owner(keys["model"])
    target = next(n for n in c.masters() if n.port != source.port)
    before = {k: source.client().execute_command("DEBUG", "DIGEST-VALUE", v) for k, v in keys.items()}
    # Slots 0..63 of their owner move, with their keys (MIGRATE: DUMP + RESTORE of AI values).
    moved = subprocess.run(
        [redis_cli(), "--cluster", "reshard", f"127.0.0.1:{source.port}", "--cluster-from", c.node_id(source),
         "--cluster-to", c.node_id(target), "--cluster-slots", "64", "--cluster-yes"],
        capture_output=True, text=True, timeout=120,
    )
    assert moved.returncode == 0, moved.stdout[-2000:] + moved.stderr[-2000:]
    c.wait_ok()
    assert c.owner(keys["model"]).port == target.port
    t = target.client()
    assert {k: t.execute_command("DEBUG", "DIGEST-VALUE", v) for k, v in keys.items()} == before
    assert source.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", key_slot(keys["model"].encode())) == 0
    # On the new node: they run, with fresh counters, and its scan lists them.
    assert calls(t, keys["model"]) == 0
    assert t.execute_command("AI.MODELEXECUTE", keys["model"], "INPUTS", 2, keys["t"], keys["t"], "OUTPUTS", 1,
                             keys["t"] + "3") == b"OK"
    assert t.execute_command("AI.TENSORGET", keys["t"] + "3", "VALUES") == [b"4", b"9"]
    assert calls(t, keys["model"]) == 1
    assert t.execute_command("AI.SCRIPTEXECUTE", keys["script"], "bar", "INPUTS", 2, keys["t"], keys["t"],
                             "OUTPUTS", 1, keys["t"] + "4") == b"OK"
    assert [keys["model"].encode(), b"moved"] in t.execute_command("AI._MODELSCAN")
    assert [keys["model"].encode(), b"moved"] not in source.client().execute_command("AI._MODELSCAN")
    # A cluster client that knew the old layout follows the MOVED.
    assert rc.execute_command("AI.TENSORGET", keys["s"], "VALUES") == [b"x", b"yz"]


def test_cluster_failover_keeps_acknowledged_writes(face, cluster):
    """Last of the cluster tests: it kills a master."""
    c = cluster(face)
    rc = c.client()
    tag = "failover"
    store_or_skip(rc, "AI.MODELSTORE", f"{{{tag}}}m", "ONNX", "CPU", "BLOB", (ONNX / "mul.onnx").read_bytes())
    rc.execute_command("AI.TENSORSET", f"{{{tag}}}a", "FLOAT", 1, 2, "VALUES", 3, 4)
    assert rc.execute_command("AI.MODELEXECUTE", f"{{{tag}}}m", "INPUTS", 2, f"{{{tag}}}a", f"{{{tag}}}a",
                              "OUTPUTS", 1, f"{{{tag}}}sq") == b"OK"
    owner = c.owner(f"{{{tag}}}m")
    # Acknowledged by its replica before the kill.
    assert owner.client().execute_command("WAIT", 1, 10000) == 1
    owner.halt(signal.SIGKILL)
    wait_until("a replica to take over", lambda: c.owner(f"{{{tag}}}m").port != owner.port, timeout=60)
    c.wait_ok()
    new = c.owner(f"{{{tag}}}m").client()
    assert new.info("replication")["role"] == "master"
    assert new.execute_command("AI.TENSORGET", f"{{{tag}}}sq", "VALUES") == [b"9", b"16"]
    assert new.execute_command("AI.MODELEXECUTE", f"{{{tag}}}m", "INPUTS", 2, f"{{{tag}}}sq", f"{{{tag}}}a",
                               "OUTPUTS", 1, f"{{{tag}}}x") == b"OK"
    assert new.execute_command("AI.TENSORGET", f"{{{tag}}}x", "VALUES") == [b"27", b"64"]
    fresh = c.client()
    assert fresh.execute_command("AI.TENSORGET", f"{{{tag}}}x", "VALUES") == [b"27", b"64"]
