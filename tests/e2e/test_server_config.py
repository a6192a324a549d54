"""The standalone server's settings as Redis users expect them: a redis.conf-style file, flags
that override it, CONFIG GET / SET / REWRITE, the log (--loglevel, --logfile)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import redis

from conftest import ServerProc, server_binary

pytestmark = pytest.mark.faces("redisai")


def start_with_file(tmp_path: Path, text: str, *flags: str) -> ServerProc:
    conf = tmp_path / "redisai.conf"
    conf.write_text(text)
    s = ServerProc("redisai", extra=list(flags))
    argv_of = s._argv

    def with_file(port):
        argv = argv_of(port)
        return [argv[0], str(conf), *argv[1:]]

    s._argv = with_file
    s.start()
    return s


def test_a_config_file_is_read_and_flags_win(tmp_path):
    s = start_with_file(tmp_path, "# settings\nsave 60 5\nappendfsync always\nthreads-per-queue 2\n",
                        "--save", "30 7")
    try:
        r = s.client()
        assert r.config_get("save") == {"save": "30 7"}
        assert r.config_get("appendfsync") == {"appendfsync": "always"}
        assert r.info("ai")["ai_threads_per_queue"] == 2
    finally:
        s.stop()


def test_config_set_changes_what_runs_and_refuses_the_rest(tmp_path):
    s = start_with_file(tmp_path, "save \"\"\n")
    try:
        r = s.client()
        assert r.config_set("save", "100 1") is True
        assert r.config_get("save") == {"save": "100 1"}
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            r.config_set("port", "1")
        with pytest.raises(redis.ResponseError, match="Unknown option"):
            r.config_set("nope", "1")
        with pytest.raises(redis.ResponseError, match="argument must be always, everysec or no"):
            r.config_set("appendfsync", "sometimes")
        # appendonly at run time: the log starts from what is there, and is replayed later.
        r.execute_command("AI.TENSORSET", "t", "INT32", 1, "VALUES", 3)
        assert r.config_set("appendonly", "yes") is True
        r.execute_command("AI.TENSORSET", "u", "INT32", 1, "VALUES", 4)
        assert r.config_set("dbfilename", "other.rdb") is True
        assert r.execute_command("CONFIG", "REWRITE") == b"OK"
        text = (tmp_path / "redisai.conf").read_text()
        assert "save \"100 1\"" in text and "appendonly yes" in text and "dbfilename other.rdb" in text
        assert s.halt(9) == -9
        s.start()
        r = s.client()
        assert r.execute_command("AI.TENSORGET", "t", "VALUES") == [3]
        assert r.execute_command("AI.TENSORGET", "u", "VALUES") == [4]
        assert r.config_get("dbfilename") == {"dbfilename": "other.rdb"}
    finally:
        s.stop()


def test_config_rewrite_needs_a_file(srv):
    with pytest.raises(redis.ResponseError, match="running without a config file"):
        srv.client().execute_command("CONFIG", "REWRITE")


def test_bad_files_and_flags_stop_the_start_with_their_reason(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 7000\nnosuchsetting 1\n")
    p = subprocess.run([str(server_binary()), str(conf)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "line 2: 'nosuchsetting 1': bad directive" in p.stderr
    p = subprocess.run([str(server_binary()), "--appendonly", "maybe"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--appendonly must be yes or no" in p.stderr
    p = subprocess.run([str(server_binary()), "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "--appendfsync" in p.stdout and "CONFIG_FILE" in p.stdout


def test_the_log_goes_to_its_file_at_its_level(tmp_path):
    log = tmp_path / "server.log"
    s = ServerProc("redisai", extra=["--logfile", str(log), "--loglevel", "notice"])
    try:
        s.start()
        r = s.client()
        r.set("k", "v")
        assert r.save()
        text = log.read_text()
        assert "ready on" in text and "DB saved on disk" in text
    finally:
        s.stop()
