"""Deleting stops instances gracefully: SIGTERM first (the app logs it and drains), and the
routes disappear."""
import re
import time
import os
import subprocess

from conftest import KND_BIN, ksvc, route_host


def _find_in_files(root, needle):
    for d, _, files in os.walk(root):
        for f in files:
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    if needle in fh.read():
                        return os.path.join(d, f)
            except OSError:
                pass
    return None


def test_delete_stops_instances_with_sigterm(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    assert knd.wait_serving(route_host("hello")).status == 200
    pids = knd.instance_pids()
    assert len(pids) == 1

    follow = subprocess.Popen([KND_BIN, "logs", "ksvc", "hello", "-f", "--state-dir",
                               knd.state_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        knd.wait_for(lambda: _find_in_files(knd.state_dir, b"listening on") or True, "logs")
        rc, out, err = knd.cli("delete", "ksvc", "hello")
        knd.wait_for(lambda: knd.instance_pids() == [], "instances stopped", 10)
        try:
            fout, ferr = follow.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            follow.terminate()
            fout, ferr = follow.communicate()
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()
    sigterm = b"SIGTERM received, draining"
    where = "knd logs -f" if sigterm in fout else \
        _find_in_files(knd.state_dir, sigterm) or \
        (knd.log_path if sigterm.decode() in knd.log_text() else None)
    assert where, "the app never logged SIGTERM (logs -f said: %r)" % fout[-2000:]
    assert knd.curl(route_host("hello")).status == 404


def test_logs_prefix(knd):
    knd.apply(ksvc("hello", marker=knd.marker, env={"LOG_REQUESTS": "1"}))
    knd.wait_ready("hello")
    knd.wait_serving(route_host("hello"), "/logged")

    def logged():
        rc, out, err = knd.cli("logs", "ksvc", "hello")
        return out if "GET /logged 200" in out else None
    out = knd.wait_for(logged, "request line in knd logs", 10)
    line = [l for l in out.splitlines() if "GET /logged 200" in l][0]
    assert line.startswith("[hello-00001/"), line


def test_delete_configmap_and_secret(knd):
    knd.apply([{"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "b"}},
               {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "creds", "namespace": "default"},
                "stringData": {"k": "v"}}])
    cm = knd.get("configmaps", "settings")
    assert cm["data"] == {"a": "b"}
    sec = knd.get("secrets", "creds")
    assert sec["data"] == {"k": "dg=="}
    r = knd.api("DELETE", knd.path("configmaps", "settings"))
    assert r.status == 200
    assert knd.get("configmaps", "settings") is None


def test_logs_tail_since_timestamps_instance(knd):
    knd.apply(ksvc("chatty", marker=knd.marker, env={"LOG_REQUESTS": "1"}))
    knd.wait_ready("chatty")
    for i in range(5):
        knd.curl(route_host("chatty"), "/n%d" % i)

    def has_all():
        rc, out, err = knd.cli("logs", "ksvc", "chatty")
        return out if "/n4" in out else None
    full = knd.wait_for(has_all, "five request lines", 10)
    lines = full.splitlines()
    assert lines[0].startswith("[chatty-00001/chatty-00001-") and "listening on" in lines[0]
    rc, out, err = knd.cli("logs", "ksvc", "chatty", "--tail", "2")
    assert out.splitlines() == lines[-2:], out
    rc, out, err = knd.cli("logs", "ksvc", "chatty", "--timestamps", "--tail", "1")
    stamp = out.split("] ", 1)[1].split(" ", 1)[0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", stamp), out
    time.sleep(1.5)
    knd.curl(route_host("chatty"), "/late")
    time.sleep(0.5)
    rc, out, err = knd.cli("logs", "ksvc", "chatty", "--since", "1s")
    assert "/late" in out and "/n0" not in out and "listening on" not in out, out
    inst = lines[0].split("/", 1)[1].split("]", 1)[0]
    rc, out, err = knd.cli("logs", "ksvc", "chatty", "--instance", inst, "--tail", "1")
    assert out.count("\n") == 1 and inst in out
    rc, out, err = knd.cli("logs", "ksvc", "chatty", "--instance", "nope")
    assert out == ""
    rc, out, err = knd.cli("logs", "ksvc", "chatty", "--tail", "x", check=False)
    assert rc == 2
