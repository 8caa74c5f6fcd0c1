"""Kubernetes probes as Knative runs them, on local processes: liveness restarts, startup gating,
exec readiness, and the progress deadline for revisions that never become ready."""
import os
import tempfile

from conftest import app_get, condition, instance_ports, ksvc, route_host


def _ready_condition(knd, rev):
    o = knd.get("revisions", rev)
    return condition(o, "Ready") if o else None


def test_liveness_failure_restarts_the_instance(knd):
    svc = ksvc("live", marker=knd.marker, extra_container={"livenessProbe": {
        "httpGet": {"path": "/healthz"}, "periodSeconds": 1, "failureThreshold": 1}})
    knd.apply(svc)
    knd.wait_ready("live")
    ports = knd.wait_for(lambda: instance_ports(knd) or None, "one instance")
    [(pid, port)] = ports.items()
    assert app_get(port, "/toggle-ready").status == 200  # /healthz now answers 503
    # The kubelet's rule: liveness failing failureThreshold times kills the container; the
    # revision restarts it (after the crash backoff's first step, 10 s).
    new = knd.wait_for(lambda: (lambda p: p if p and pid not in p else None)(instance_ports(knd)),
                       "a new instance after the liveness failure", 25)
    assert len(new) == 1
    assert knd.curl(route_host("live")).status == 200
    rc, out, err = knd.cli("logs", "ksvc", "live")
    assert out.count("listening on") == 2, out


def test_startup_probe_gates_readiness(knd):
    flag = os.path.join(tempfile.mkdtemp(prefix="knd-e2e-startup-"), "started")
    svc = ksvc("boot", marker=knd.marker, extra_container={"startupProbe": {
        "exec": {"command": ["test", "-f", flag]}, "periodSeconds": 1, "failureThreshold": 30}})
    knd.apply(svc)
    knd.wait_for(lambda: instance_ports(knd) or None, "the instance to run")
    c = _ready_condition(knd, "boot-00001")
    assert c is None or c["status"] != "True", c  # listening, but the startup probe holds it
    open(flag, "w").close()
    knd.wait_ready("boot", timeout=15)
    assert knd.curl(route_host("boot")).text == "Hello World!\n"


def test_exec_readiness_probe(knd):
    flag = os.path.join(tempfile.mkdtemp(prefix="knd-e2e-exec-"), "ready")
    svc = ksvc("execp", marker=knd.marker, extra_container={"readinessProbe": {
        "exec": {"command": ["test", "-f", flag]}, "periodSeconds": 1}})
    knd.apply(svc)
    knd.wait_for(lambda: instance_ports(knd) or None, "the instance to run")
    c = _ready_condition(knd, "execp-00001")
    assert c is None or c["status"] != "True", c
    open(flag, "w").close()
    knd.wait_ready("execp", timeout=15)


def test_progress_deadline_fails_a_revision_that_never_gets_ready(knd):
    svc = ksvc("never", marker=knd.marker, env={"READY_DELAY_MS": "600000"},
               template_annotations={"serving.knative.dev/progress-deadline": "3s"},
               extra_container={"readinessProbe": {"httpGet": {"path": "/healthz"}}})
    knd.apply(svc)

    def failed():
        c = _ready_condition(knd, "never-00001")
        return c if c and c["status"] == "False" else None
    c = knd.wait_for(failed, "ProgressDeadlineExceeded", 15)
    assert c["reason"] == "ProgressDeadlineExceeded"
    assert c["message"].startswith("Initial scale was never achieved"), c
    assert "listening on" in c["message"]  # the app's last output, to debug it
    knd.wait_for(lambda: not instance_ports(knd), "its instances to stop", 10)


def _enable_init_containers(knd):
    knd.apply({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "config-features", "namespace": "knative-serving"},
               "data": {"kubernetes.podspec-init-containers": "Enabled"}})


def test_init_containers_run_to_completion_first(knd):
    _enable_init_containers(knd)
    out = os.path.join(tempfile.mkdtemp(prefix="knd-e2e-init-"), "order")
    svc = ksvc("warm", marker=knd.marker, extra_spec={"initContainers": [
        {"name": "one", "image": "busybox", "command": ["sh", "-c", "echo one >> " + out]},
        {"name": "two", "image": "busybox", "command": ["sh", "-c", "sleep 0.2; echo two >> " + out]},
    ]})
    knd.apply(svc)
    knd.wait_ready("warm")
    with open(out) as f:
        assert f.read() == "one\ntwo\n"  # in order, each to completion, once per instance
    assert knd.curl(route_host("warm")).status == 200


def test_failing_init_container_fails_the_revision(knd):
    _enable_init_containers(knd)
    svc = ksvc("cold", marker=knd.marker, extra_spec={"initContainers": [
        {"name": "migrate", "image": "busybox",
         "command": ["sh", "-c", "echo 'schema v3 missing' >&2; exit 3"]}]})
    knd.apply(svc)

    def failed():
        c = _ready_condition(knd, "cold-00001")
        return c if c and c["status"] == "False" else None
    c = knd.wait_for(failed, "the revision to fail", 15)
    assert c["reason"] == "ExitCode3", c
    assert 'Init container "migrate" failed with: schema v3 missing' in c["message"], c
    assert not instance_ports(knd)  # the main container never started
