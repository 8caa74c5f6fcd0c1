"""kubectl against knd: the real client (kubectl 1.32 from the machine image) over HTTPS with
the kubeconfig knd writes at start-up (shared/kubernetes-api.md lists what it asks).

Every command runs with HOME in the test's work dir, so kubectl's discovery cache belongs to
this daemon alone.
"""
import base64
import json
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import time
import http.client

import pytest
import yaml

from conftest import ksvc, to_yaml

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def kubectl(k, *args, check=True, input=None, env=None, timeout=60):
    e = dict(os.environ, KUBECONFIG=os.path.join(k.state_dir, "kubeconfig"), HOME=k.work_dir)
    e.update(env or {})
    p = subprocess.run([KUBECTL] + [str(a) for a in args], capture_output=True, text=True,
                       input=input, env=e, timeout=timeout, cwd=k.work_dir)
    if check:
        assert p.returncode == 0, "kubectl %s -> rc %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, p.stdout, p.stderr)
    return p


def https(k, method, path, token=None, body=None, headers=None):
    """A raw HTTPS request to the API, trusting knd's CA."""
    ctx = ssl.create_default_context(cafile=os.path.join(k.state_dir, "pki", "ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", k.api_port, context=ctx, timeout=10)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data


def token(k):
    with open(os.path.join(k.state_dir, "token")) as f:
        return f.read().strip()


def svc_yaml(k, name="hello", target="v1"):
    return to_yaml(ksvc(name, marker=k.marker, env={"TARGET": target}))


# ------------------------------------------------------------------ credentials


def test_kubeconfig_and_credentials_are_private(knd):
    for rel in ("kubeconfig", "token", "pki/ca.key", "pki/server.key"):
        mode = stat.S_IMODE(os.stat(os.path.join(knd.state_dir, rel)).st_mode)
        assert mode == 0o600, (rel, oct(mode))
    cfg = yaml.safe_load(open(os.path.join(knd.state_dir, "kubeconfig")))
    assert cfg["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:%d" % knd.api_port
    p = kubectl(knd, "version", "-o", "json")
    server = json.loads(p.stdout)["serverVersion"]
    assert server["major"] == "1" and server["minor"] == "32", server


def test_credentials_survive_a_restart(knd):
    before = {rel: open(os.path.join(knd.state_dir, rel), "rb").read()
              for rel in ("token", "pki/ca.crt", "pki/server.crt")}
    knd.apply(svc_yaml(knd))
    assert knd.stop() == 0
    knd.restart()
    for rel, data in before.items():
        assert open(os.path.join(knd.state_dir, rel), "rb").read() == data, rel
    # The certificates are loaded when the first client connects: the same kubeconfig works.
    p = kubectl(knd, "get", "ksvc", "hello", "-o", "name")
    assert p.stdout.strip() == "service.serving.knative.dev/hello"


def test_unauthenticated_requests_are_refused(knd):
    for tok in (None, "wrong", token(knd) + "x"):
        status, ctype, body = https(knd, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services", tok)
        assert status == 401, (tok, status, body)
        st = json.loads(body)
        assert st["kind"] == "Status" and st["reason"] == "Unauthorized" and st["code"] == 401
    status, _, body = https(knd, "GET", "/apis/serving.knative.dev/v1/namespaces/default/services",
                            token(knd))
    assert status == 200, body
    # kubectl with a bad token says what a real cluster says.
    p = kubectl(knd, "--token", "nope", "get", "ksvc", check=False)
    assert p.returncode != 0
    assert "You must be logged in to the server" in p.stderr, p.stderr
    # The unix socket needs no token: the CLI keeps working.
    knd.cli("get", "ksvc")


def test_plain_http_on_the_api_port_is_not_served(knd):
    c = http.client.HTTPConnection("127.0.0.1", knd.api_port, timeout=5)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        c.request("GET", "/version")
        c.getresponse().read()
    # ... and the daemon carries on.
    status, _, _ = https(knd, "GET", "/version", token(knd))
    assert status == 200


# ------------------------------------------------------------------ apply, get, wait


def test_apply_created_unchanged_configured(knd):
    path = knd.write(svc_yaml(knd, target="one"))
    p = kubectl(knd, "apply", "-f", path)
    assert p.stdout.strip() == "service.serving.knative.dev/hello created", p.stdout
    rv = knd.get("services", "hello")["metadata"]["resourceVersion"]
    # As on Knative: defaulting fills in the container (name, readinessProbe), so kubectl's
    # three-way diff sees the whole containers array differ and sends a patch; the patch
    # changes nothing, so the object, its generation and its revisions stay as they were.
    p = kubectl(knd, "apply", "-f", path)
    assert p.stdout.strip() == "service.serving.knative.dev/hello configured", p.stdout
    svc = knd.get("services", "hello")
    assert svc["metadata"]["generation"] == 1
    assert [r["metadata"]["name"] for r in knd.list("revisions")] == ["hello-00001"]
    with open(path, "w") as f:
        f.write(svc_yaml(knd, target="two"))
    p = kubectl(knd, "apply", "-f", path)
    assert p.stdout.strip() == "service.serving.knative.dev/hello configured", p.stdout
    svc = knd.get("services", "hello")
    env = svc["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TARGET", "value": "two"} in env
    assert svc["metadata"]["generation"] == 2
    assert svc["metadata"]["resourceVersion"] != rv
    assert "kubectl.kubernetes.io/last-applied-configuration" in svc["metadata"]["annotations"]
    knd.wait_ready("hello")
    p = kubectl(knd, "wait", "--for=condition=Ready", "ksvc/hello", "--timeout=30s")
    assert "service.serving.knative.dev/hello condition met" in p.stdout
    # Nothing defaulted, nothing changed: unchanged, and no request is sent.
    cm = to_yaml({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                  "data": {"k": "v"}})
    path = knd.write(cm)
    assert kubectl(knd, "apply", "-f", path).stdout.strip() == "configmap/cm created"
    assert kubectl(knd, "apply", "-f", path).stdout.strip() == "configmap/cm unchanged"


def test_get_tables_yaml_and_wide(knd):
    knd.apply(svc_yaml(knd))
    knd.wait_ready("hello")
    p = kubectl(knd, "get", "ksvc")
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"]
    row = lines[1].split()
    assert row[:5] == ["hello", "http://hello.default.127.0.0.1.sslip.io", "hello-00001",
                       "hello-00001", "True"], lines
    p = kubectl(knd, "get", "ksvc", "-o", "wide")
    assert p.stdout.splitlines()[0].split()[:2] == ["NAME", "URL"]
    p = kubectl(knd, "get", "revisions")
    head = p.stdout.splitlines()[0]
    for col in ("CONFIG NAME", "GENERATION", "READY", "REASON", "ACTUAL REPLICAS",
                "DESIRED REPLICAS"):
        assert col in head, head
    assert p.stdout.splitlines()[1].split()[:4] == ["hello-00001", "hello", "1", "True"]
    p = kubectl(knd, "get", "ksvc", "hello", "-o", "yaml")
    obj = yaml.safe_load(p.stdout)
    assert obj["kind"] == "Service" and obj["apiVersion"] == "serving.knative.dev/v1"
    assert isinstance(obj["metadata"]["resourceVersion"], str)
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    p = kubectl(knd, "get", "rev,cfg,rt")
    assert "revision.serving.knative.dev/hello-00001" in p.stdout, p.stdout
    assert "configuration.serving.knative.dev/hello" in p.stdout
    assert "route.serving.knative.dev/hello" in p.stdout
    p = kubectl(knd, "get", "all")
    assert "service.serving.knative.dev/hello" in p.stdout, p.stdout
    p = kubectl(knd, "get", "ksvc", "-A")
    assert p.stdout.splitlines()[0].split()[0] == "NAMESPACE"
    p = kubectl(knd, "get", "ksvc", "-l", "nosuch=label")
    assert "No resources found in default namespace." in p.stderr
    p = kubectl(knd, "get", "ns")
    names = [l.split()[0] for l in p.stdout.splitlines()[1:]]
    assert "default" in names and "knative-serving" in names, p.stdout
    p = kubectl(knd, "get", "ksvc", "nosuch", check=False)
    assert p.returncode == 1
    assert 'services.serving.knative.dev "nosuch" not found' in p.stderr, p.stderr


def test_get_watch_streams_changes(knd):
    knd.apply(svc_yaml(knd))
    knd.wait_ready("hello")
    e = dict(os.environ, KUBECONFIG=os.path.join(knd.state_dir, "kubeconfig"), HOME=knd.work_dir)
    w = subprocess.Popen([KUBECTL, "get", "ksvc", "hello", "-w", "--output-watch-events"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    try:
        time.sleep(1.5)
        knd.apply(svc_yaml(knd, target="changed"))
        knd.wait_ready("hello")
        time.sleep(1.0)
        assert w.poll() is None, "kubectl get -w ended early: %s" % w.stderr.read()
    finally:
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=10)
    rows = [l.split() for l in out.splitlines() if "hello" in l]
    events = [r[0] for r in rows]
    assert "MODIFIED" in events, out + err
    # The last row shows the second revision ready.
    assert rows[-1][1:6] == ["hello", "http://hello.default.127.0.0.1.sslip.io", "hello-00002",
                             "hello-00002", "True"], out


def test_describe_shows_the_object(knd):
    knd.apply(svc_yaml(knd))
    knd.wait_ready("hello")
    p = kubectl(knd, "describe", "ksvc", "hello")
    assert "Name:" in p.stdout and "hello" in p.stdout
    assert re.search(r"Latest Ready Revision Name:\s+hello-00001", p.stdout), p.stdout
    assert "Events:" in p.stdout


# ------------------------------------------------------------------ edits and deletes


def test_edit_with_a_scripted_editor(knd):
    knd.apply(svc_yaml(knd, target="before"))
    p = kubectl(knd, "edit", "ksvc", "hello",
                env={"EDITOR": "sed -i s/value:\\ before/value:\\ after/"})
    assert "service.serving.knative.dev/hello edited" in p.stdout, p.stdout + p.stderr
    env = knd.get("services", "hello")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TARGET", "value": "after"} in env
    p = kubectl(knd, "edit", "ksvc", "hello", env={"EDITOR": "true"})
    assert "Edit cancelled, no changes made." in p.stdout + p.stderr


def test_annotate_label_and_json_patch(knd):
    knd.apply(svc_yaml(knd))
    kubectl(knd, "annotate", "ksvc", "hello", "team=blue")
    kubectl(knd, "label", "ksvc", "hello", "tier=web")
    meta = knd.get("services", "hello")["metadata"]
    assert meta["annotations"]["team"] == "blue" and meta["labels"]["tier"] == "web"
    p = kubectl(knd, "get", "ksvc", "-l", "tier=web", "-o", "name")
    assert p.stdout.strip() == "service.serving.knative.dev/hello"
    kubectl(knd, "patch", "ksvc", "hello", "--type=json",
            "-p", '[{"op":"remove","path":"/metadata/annotations/team"}]')
    assert "team" not in knd.get("services", "hello")["metadata"].get("annotations", {})
    p = kubectl(knd, "patch", "ksvc", "hello", "--type=json",
                "-p", '[{"op":"test","path":"/metadata/name","value":"other"}]', check=False)
    assert p.returncode != 0 and "does not match" in p.stderr, p.stderr


def test_replace_with_a_stale_resource_version_conflicts(knd):
    knd.apply(svc_yaml(knd))
    p = kubectl(knd, "get", "ksvc", "hello", "-o", "json")
    stale = json.loads(p.stdout)
    kubectl(knd, "annotate", "ksvc", "hello", "bump=1")
    stale["metadata"].setdefault("annotations", {})["x"] = "y"
    path = knd.write(json.dumps(stale), suffix=".json")
    p = kubectl(knd, "replace", "-f", path, check=False)
    assert p.returncode == 1
    assert "Error from server (Conflict)" in p.stderr and "the object has been modified" in p.stderr


def test_delete_file_and_wait(knd):
    path = knd.write(svc_yaml(knd))
    kubectl(knd, "apply", "-f", path)
    knd.wait_ready("hello")
    p = kubectl(knd, "delete", "-f", path)
    assert p.stdout.strip() == 'service.serving.knative.dev "hello" deleted', p.stdout
    assert knd.api("GET", knd.path("services", "hello")).status == 404
    p = kubectl(knd, "get", "rev", check=False)
    assert "No resources found" in p.stderr, p.stdout + p.stderr
    p = kubectl(knd, "delete", "ksvc", "nope", check=False)
    assert p.returncode == 1
    assert 'Error from server (NotFound): services.serving.knative.dev "nope" not found' in p.stderr


# ------------------------------------------------------------------ server-side apply


def test_server_side_apply_creates_updates_and_removes_fields(knd):
    svc = ksvc("ssa", marker=knd.marker, env={"A": "1", "B": "2"},
               annotations={"keep": "yes", "drop": "soon"})
    path = knd.write(to_yaml(svc))
    p = kubectl(knd, "apply", "--server-side", "-f", path)
    assert p.stdout.strip() == "service.serving.knative.dev/ssa serverside-applied", p.stdout
    obj = knd.get("services", "ssa")
    managers = [m["manager"] for m in obj["metadata"]["managedFields"]]
    assert "kubectl" in managers
    del svc["metadata"]["annotations"]["drop"]
    with open(path, "w") as f:
        f.write(to_yaml(svc))
    p = kubectl(knd, "apply", "--server-side", "-f", path)
    assert "serverside-applied" in p.stdout
    ann = knd.get("services", "ssa")["metadata"]["annotations"]
    assert ann.get("keep") == "yes" and "drop" not in ann, ann
    rv = knd.get("services", "ssa")["metadata"]["resourceVersion"]
    kubectl(knd, "apply", "--server-side", "-f", path)
    assert knd.get("services", "ssa")["metadata"]["resourceVersion"] == rv


# ------------------------------------------------------------------ core kinds


def test_create_secret_configmap_namespace(knd):
    p = kubectl(knd, "create", "secret", "generic", "s", "--from-literal=password=hunter2-e2e")
    assert p.stdout.strip() == "secret/s created", p.stdout
    p = kubectl(knd, "get", "secret", "s", "-o", "yaml")
    obj = yaml.safe_load(p.stdout)
    assert base64.b64decode(obj["data"]["password"]) == b"hunter2-e2e"
    assert obj["type"] == "Opaque"
    p = kubectl(knd, "create", "configmap", "c", "--from-literal=a=b")
    assert p.stdout.strip() == "configmap/c created"
    assert knd.get("configmaps", "c")["data"] == {"a": "b"}
    p = kubectl(knd, "create", "namespace", "demo")
    assert p.stdout.strip() == "namespace/demo created"
    p = kubectl(knd, "get", "secrets")
    head = p.stdout.splitlines()[0].split()
    assert head[:3] == ["NAME", "TYPE", "DATA"], p.stdout
    p = kubectl(knd, "describe", "secret", "s")
    assert "hunter2-e2e" not in p.stdout
    p = kubectl(knd, "create", "secret", "generic", "s", "--from-literal=x=y", check=False)
    assert p.returncode == 1 and 'secrets "s" already exists' in p.stderr, p.stderr
    # Multi-document apply of core kinds (strategic merge patch on the second round).
    docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "demo"},
             "data": {"k": "1"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": "demo"},
             "stringData": {"token": "hunter2-e2e"}}]
    path = knd.write(to_yaml(docs))
    p = kubectl(knd, "apply", "-f", path)
    assert "configmap/cfg created" in p.stdout and "secret/sec created" in p.stdout
    docs[0]["data"]["k"] = "2"
    with open(path, "w") as f:
        f.write(to_yaml(docs))
    p = kubectl(knd, "apply", "-f", path)
    assert "configmap/cfg configured" in p.stdout, p.stdout
    assert knd.get("configmaps", "cfg", ns="demo")["data"]["k"] == "2"
    assert "hunter2-e2e" not in knd.log_text()


# ------------------------------------------------------------------ errors


def test_validation_errors_name_the_field(knd):
    bad = ksvc("bad", marker=knd.marker)
    bad["spec"]["template"]["spec"]["containerConcurrency"] = -1
    path = knd.write(to_yaml(bad))
    p = kubectl(knd, "apply", "-f", path, check=False)
    assert p.returncode == 1
    # One cause: kubectl prints it on the same line.
    assert p.stderr.strip() == ('The Service "bad" is invalid: spec.template.spec.'
                                'containerConcurrency: expected 0 <= -1 <= 1000'), p.stderr
    # Several: one "* field: message" line each.
    bad["spec"]["template"]["spec"]["timeoutSeconds"] = 99999
    path = knd.write(to_yaml(bad))
    p = kubectl(knd, "apply", "-f", path, check=False)
    assert p.returncode == 1
    assert "* spec.template.spec.containerConcurrency: expected 0 <= -1 <= 1000" in p.stderr
    assert "* spec.template.spec.timeoutSeconds: expected 0 <= 99999 <= 600" in p.stderr
    assert knd.api("GET", knd.path("services", "bad")).status == 404
    unknown = ksvc("bad", marker=knd.marker)
    unknown["spec"]["template"]["spec"]["nosuchfield"] = 1
    path = knd.write(to_yaml(unknown))
    p = kubectl(knd, "apply", "-f", path, check=False)
    assert p.returncode == 1
    assert 'unknown field "spec.template.spec.nosuchfield"' in p.stderr, p.stderr
    # Discovery knows what knd does not serve.
    p = kubectl(knd, "get", "pods", check=False)
    assert 'the server doesn\'t have a resource type "pods"' in p.stderr, p.stderr


def test_validate_warn_keeps_the_object_and_prints_the_warning(knd):
    obj = ksvc("warned", marker=knd.marker)
    obj["spec"]["template"]["spec"]["nosuchfield"] = 1
    p = kubectl(knd, "apply", "--validate=warn", "-f", knd.write(to_yaml(obj)))
    assert 'Warning: unknown field "spec.template.spec.nosuchfield"' in p.stderr, p.stderr
    assert "service.serving.knative.dev/warned created" in p.stdout, p.stdout
    assert "nosuchfield" not in knd.get("services", "warned")["spec"]["template"]["spec"]
    obj["metadata"]["name"] = "ignored"
    p = kubectl(knd, "apply", "--validate=ignore", "-f", knd.write(to_yaml(obj)))
    assert "Warning" not in p.stderr, p.stderr
    assert "nosuchfield" not in knd.get("services", "ignored")["spec"]["template"]["spec"]


# ------------------------------------------------------------------ watch protocol


def watch_lines(k, path, n, timeout=10, headers=None):
    """Opens a watch over HTTPS and returns its first n event objects (then closes it)."""
    ctx = ssl.create_default_context(cafile=os.path.join(k.state_dir, "pki", "ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", k.api_port, context=ctx, timeout=timeout)
    h = {"Authorization": "Bearer " + token(k)}
    h.update(headers or {})
    c.request("GET", path, headers=h)
    r = c.getresponse()
    assert r.status == 200, r.read()
    out = []
    while len(out) < n:
        line = r.readline()  # de-chunked
        if not line:
            break
        if line.strip():
            out.append(json.loads(line))
    c.close()
    return out


CM = "/api/v1/namespaces/default/configmaps"


def put_cm(k, name, value):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"v": value}}
    r = k.api("GET", CM + "/" + name)
    if r.status == 404:
        r = k.api("POST", CM, body)
        assert r.status == 201, r
    else:
        r = k.api("PUT", CM + "/" + name, body)
        assert r.status == 200, r
    return r.json()["metadata"]["resourceVersion"]


def test_watch_from_zero_from_a_version_and_expired(knd):
    put_cm(knd, "a", "1")
    rv_b = put_cm(knd, "b", "1")
    put_cm(knd, "a", "2")
    ev = watch_lines(knd, CM + "?watch=true&resourceVersion=0", 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in ev] == [("ADDED", "a"),
                                                                         ("ADDED", "b")]
    ev = watch_lines(knd, CM + "?watch=1&resourceVersion=" + rv_b, 1)
    assert ev[0]["type"] == "MODIFIED" and ev[0]["object"]["data"] == {"v": "2"}
    ev = watch_lines(knd, CM + "?watch=true&fieldSelector=metadata.name%3Db&resourceVersion=0", 1,
                     headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    table = ev[0]["object"]
    assert table["kind"] == "Table" and table["rows"][0]["cells"][0] == "b"
    # Push the first changes out of the history the daemon keeps: a watch from there is 410.
    for i in range(520):
        put_cm(knd, "churn", str(i))
    ev = watch_lines(knd, CM + "?watch=true&resourceVersion=" + rv_b, 1)
    assert ev[0]["type"] == "ERROR" and ev[0]["object"]["code"] == 410, ev
    assert ev[0]["object"]["reason"] == "Expired"


def test_watch_delivers_live_changes_and_deletes(knd):
    import threading
    got = []
    t = threading.Thread(target=lambda: got.extend(
        watch_lines(knd, CM + "?watch=true&labelSelector=app%3Dw", 3)))
    t.start()
    time.sleep(0.5)
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "w", "labels": {"app": "w"}}, "data": {"v": "1"}}
    assert knd.api("POST", CM, body).status == 201
    put_cm(knd, "other", "x")  # filtered out by the label selector
    r = knd.api("PATCH", CM + "/w", {"data": {"v": "2"}},
                headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 200, r
    assert knd.api("DELETE", CM + "/w").status == 200
    t.join(10)
    assert [e["type"] for e in got] == ["ADDED", "MODIFIED", "DELETED"], got
    assert got[1]["object"]["data"] == {"v": "2"}


def test_watch_timeout_ends_the_stream(knd):
    t0 = time.time()
    ev = watch_lines(knd, CM + "?watch=true&resourceVersion=0&timeoutSeconds=1", 5)
    assert ev == [] and 0.9 < time.time() - t0 < 5


def test_kubectl_wait_sees_the_change_through_a_watch(knd):
    svc = ksvc("slow", marker=knd.marker, env={"READY_DELAY_MS": "1500"})
    path = knd.write(to_yaml(svc))
    kubectl(knd, "apply", "-f", path)
    assert knd.get("services", "slow").get("status", {}).get("latestReadyRevisionName") is None
    p = kubectl(knd, "wait", "--for=condition=Ready", "ksvc/slow", "--timeout=30s")
    assert "service.serving.knative.dev/slow condition met" in p.stdout
    done = {}
    import threading
    t = threading.Thread(target=lambda: done.setdefault(
        "p", kubectl(knd, "wait", "--for=delete", "ksvc/slow", "--timeout=30s")))
    t.start()
    time.sleep(1.0)
    kubectl(knd, "delete", "ksvc", "slow", "--wait=false")
    t.join(30)
    assert "deleted" in done["p"].stdout or "condition met" in done["p"].stdout, done


def test_deleting_a_namespace_deletes_its_objects(knd):
    kubectl(knd, "create", "namespace", "team")
    svc = ksvc("hello", ns="team", marker=knd.marker)
    kubectl(knd, "apply", "-f", knd.write(to_yaml(svc)))
    knd.wait_ready("hello", ns="team")
    p = kubectl(knd, "delete", "namespace", "team")
    assert p.stdout.strip() == 'namespace "team" deleted', p.stdout
    assert knd.api("GET", knd.path("services", "hello", ns="team")).status == 404
    knd.wait_for(lambda: not knd.list("revisions", ns="team"), "revisions of team gone", 10)
    knd.wait_for(lambda: not knd.instance_pids(), "instances of team stopped", 30)
    p = kubectl(knd, "delete", "namespace", "default", check=False)
    assert p.returncode == 1
    assert 'namespaces "default" is forbidden: this namespace may not be deleted' in p.stderr


def test_dry_runs_write_nothing(knd):
    path = knd.write(svc_yaml(knd, target="one"))
    p = kubectl(knd, "apply", "--dry-run=server", "-f", path)
    assert "service.serving.knative.dev/hello created (server dry run)" in p.stdout, p.stdout
    assert knd.api("GET", knd.path("services", "hello")).status == 404
    kubectl(knd, "apply", "-f", path)
    before = knd.get("services", "hello")
    changed = knd.write(svc_yaml(knd, target="two"))
    # kubectl diff asks the server what applying would give (a dry-run patch).
    p = kubectl(knd, "diff", "-f", changed, check=False)
    assert p.returncode == 1, p.stderr
    assert "-          value: one" in p.stdout and "+          value: two" in p.stdout, p.stdout
    assert "-  generation: 1" in p.stdout and "+  generation: 2" in p.stdout
    p = kubectl(knd, "apply", "--dry-run=server", "-f", changed)
    assert "configured (server dry run)" in p.stdout
    p = kubectl(knd, "delete", "--dry-run=server", "ksvc", "hello")
    assert "deleted (server dry run)" in p.stdout, p.stdout
    after = knd.get("services", "hello")
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == 1
    assert [r["metadata"]["name"] for r in knd.list("revisions")] == ["hello-00001"]
    # Invalid objects are still refused in a dry run.
    bad = ksvc("bad", marker=knd.marker)
    bad["spec"]["template"]["spec"]["containerConcurrency"] = -1
    p = kubectl(knd, "apply", "--dry-run=server", "-f", knd.write(to_yaml(bad)), check=False)
    assert p.returncode == 1 and "containerConcurrency" in p.stderr
    r = knd.api("DELETE", knd.path("services", "hello") + "?dryRun=Bogus")
    assert r.status == 400 and 'Unsupported value: "Bogus"' in r.json()["message"]
    assert knd.api("GET", knd.path("services", "hello")).status == 200
