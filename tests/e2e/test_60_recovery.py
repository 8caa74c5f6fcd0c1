"""Crash recovery: kill -9 the daemon while a service runs, restart it on the same state dir.
Objects come back from the store, the orphaned instance is killed and replaced, traffic flows."""
import os
import time

from conftest import ksvc, route_host


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill9_and_restart(knd):
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "durable"},
                   template_annotations={"autoscaling.knative.dev/min-scale": "1"}))
    svc = knd.wait_ready("hello")
    assert knd.wait_serving(route_host("hello")).text == "Hello durable!\n"
    old = knd.instance_pids()
    assert len(old) == 1, old
    rev = knd.get("revisions", "hello-00001")

    knd.kill9()
    # The instance outlives its supervisor for now.
    assert all(_alive(p) for p in old)

    knd.restart()
    again = knd.wait_ready("hello")
    assert again["metadata"]["uid"] == svc["metadata"]["uid"]
    assert again["metadata"]["generation"] == svc["metadata"]["generation"]
    assert again["status"]["latestReadyRevisionName"] == "hello-00001"
    rev2 = knd.get("revisions", "hello-00001")
    assert rev2["metadata"]["uid"] == rev["metadata"]["uid"]
    assert knd.wait_serving(route_host("hello")).text == "Hello durable!\n"

    # The orphan from the dead daemon is gone; exactly one new instance serves.
    knd.wait_for(lambda: not any(_alive(p) for p in old), "old instance %s killed" % old, 10)
    new = knd.instance_pids()
    assert len(new) == 1 and not set(new) & set(old), (old, new)
    env = knd.curl(route_host("hello"), "/env").json()
    assert env["K_REVISION"] == "hello-00001"


def test_restart_after_clean_stop(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    assert knd.stop() == 0
    assert knd.instance_pids() == []
    knd.restart()
    knd.wait_ready("hello")
    assert knd.wait_serving(route_host("hello")).text == "Hello World!\n"
    rc, out, err = knd.apply(ksvc("hello", marker=knd.marker))
    assert out.strip() == "service.serving.knative.dev/hello unchanged"


def test_state_dir_layout(knd):
    st = os.stat(knd.sock)
    assert st.st_mode & 0o777 == 0o600
    assert time.time() - st.st_mtime < 600
