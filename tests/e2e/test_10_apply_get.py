"""apply/get/describe/wait/delete through the CLI, and the objects the server derives."""
import json
import subprocess
import time

import yaml

from conftest import DOMAIN, KND_BIN, ksvc, route_host

SVC = "service.serving.knative.dev/%s"


def test_apply_created_unchanged_configured(knd):
    m = ksvc("hello", marker=knd.marker, env={"TARGET": "one"})
    rc, out, err = knd.apply(m)
    assert out.strip() == SVC % "hello" + " created", (out, err)
    first = knd.get("services", "hello")

    rc, out, err = knd.apply(m)
    assert out.strip() == SVC % "hello" + " unchanged", (out, err)
    # Status writes by the controller move resourceVersion (as on Kubernetes); the spec did not
    # change, so neither did the generation, and no second revision exists.
    again = knd.get("services", "hello")
    assert again["metadata"]["generation"] == first["metadata"]["generation"] == 1
    assert [r["metadata"]["name"] for r in knd.list("revisions")] == ["hello-00001"]

    m2 = ksvc("hello", marker=knd.marker, env={"TARGET": "two"})
    rc, out, err = knd.apply(m2)
    assert out.strip() == SVC % "hello" + " configured", (out, err)
    second = knd.get("services", "hello")
    assert second["metadata"]["generation"] == 2
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]


def test_apply_multi_document_prints_one_line_each(knd):
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "default"}, "data": {"mode": "fast"}},
        ksvc("a", marker=knd.marker),
        ksvc("b", marker=knd.marker),
    ]
    rc, out, err = knd.apply(docs)
    assert out.splitlines() == ["configmap/settings created", SVC % "a" + " created",
                                SVC % "b" + " created"], (out, err)


def test_service_objects_and_status(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    svc = knd.wait_ready("hello")
    md, st = svc["metadata"], svc["status"]
    assert svc["apiVersion"] == "serving.knative.dev/v1" and svc["kind"] == "Service"
    assert md["name"] == "hello" and md["namespace"] == "default"
    for k in ("uid", "resourceVersion", "creationTimestamp"):
        assert md.get(k), k
    assert md["generation"] == 1
    assert st["observedGeneration"] == 1
    assert st["url"] == "http://hello.default." + DOMAIN
    assert st["latestCreatedRevisionName"] == "hello-00001"
    assert st["latestReadyRevisionName"] == "hello-00001"
    assert [(t["revisionName"], t["percent"], t.get("latestRevision")) for t in st["traffic"]] \
        == [("hello-00001", 100, True)]
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds == {"Ready": "True", "ConfigurationsReady": "True", "RoutesReady": "True"}
    # Knative's defaulting is visible on the stored object.
    assert svc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    tspec = svc["spec"]["template"]["spec"]
    assert tspec["timeoutSeconds"] == 300 and tspec["containerConcurrency"] == 0

    # The Service owns a Configuration and a Route of the same name.
    for res in ("configurations", "routes"):
        o = knd.get(res, "hello")
        assert o, res
        assert o["metadata"]["labels"]["serving.knative.dev/service"] == "hello"
        owners = o["metadata"]["ownerReferences"]
        assert [(r["kind"], r["name"], r["uid"]) for r in owners] == \
            [("Service", "hello", md["uid"])]
    route = knd.get("routes", "hello")
    assert route["status"]["url"] == "http://hello.default." + DOMAIN
    rev = knd.get("revisions", "hello-00001")
    labels = rev["metadata"]["labels"]
    assert labels["serving.knative.dev/configuration"] == "hello"
    assert labels["serving.knative.dev/service"] == "hello"
    assert labels["serving.knative.dev/configurationGeneration"] == "1"
    assert rev["metadata"]["ownerReferences"][0]["kind"] == "Configuration"
    assert rev["spec"]["containers"][0]["image"] == "knd.dev/e2e/testapp:v1"
    assert rev["status"]["actualReplicas"] >= 1
    c = [c for c in rev["status"]["conditions"] if c["type"] == "Ready"][0]
    assert c["status"] == "True"
    # list with a label selector
    names = [r["metadata"]["name"] for r in
             knd.list("revisions", selector="serving.knative.dev/service=hello")]
    assert names == ["hello-00001"]
    assert knd.list("revisions", selector="serving.knative.dev/service=nope") == []


def test_get_table_json_yaml(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    rc, out, err = knd.cli("get", "ksvc")
    rows = [l.split() for l in out.strip().splitlines()]
    assert rows[0] == ["NAME", "URL", "LATEST", "READY", "REASON"], out
    assert rows[1] == ["hello", "http://hello.default." + DOMAIN, "hello-00001", "True"], out
    assert len(rows) == 2

    rc, out, err = knd.cli("get", "ksvc", "hello", "-o", "json")
    obj = json.loads(out)
    assert obj["metadata"]["name"] == "hello" and obj["kind"] == "Service"
    assert obj == knd.get("services", "hello")

    rc, out, err = knd.cli("get", "ksvc", "hello", "-o", "yaml")
    assert yaml.safe_load(out) == obj

    rc, out, err = knd.cli("get", "ksvc", "-o", "json")
    lst = json.loads(out)
    assert lst["kind"] == "List"  # what kubectl prints for `get -o json` of a list
    assert [i["metadata"]["name"] for i in lst["items"]] == ["hello"]

    for verb in ("revision", "revisions", "rev"):
        rc, out, err = knd.cli("get", verb)
        assert "hello-00001" in out, (verb, out)
    rc, out, err = knd.cli("get", "route", "hello")
    assert "http://hello.default." + DOMAIN in out
    rc, out, err = knd.cli("get", "configuration", "hello")
    assert "hello-00001" in out

    rc, out, err = knd.cli("get", "ksvc", "-n", "other")
    assert "hello" not in out


def test_get_missing_is_an_error(knd):
    rc, out, err = knd.cli("get", "ksvc", "nope", check=False)
    assert rc == 1, (rc, out, err)
    assert "not found" in err and "nope" in err


def test_describe(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    rc, out, err = knd.cli("describe", "ksvc", "hello")
    assert "http://hello.default." + DOMAIN in out
    assert "hello-00001" in out
    assert "100%" in out
    assert "Ready" in out


def test_wait(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    rc, out, err = knd.cli("wait", "ksvc", "hello", "--for=condition=Ready", "--timeout", "30s")
    assert rc == 0
    assert condition_true(knd.get("services", "hello"))
    # a service that never becomes ready: the wait times out with exit 1
    knd.apply(ksvc("broken", marker=knd.marker, env={"FAIL_START": "1"}))
    rc, out, err = knd.cli("wait", "ksvc", "broken", "--for=condition=Ready", "--timeout", "2s",
                           check=False)
    assert rc == 1, (rc, out, err)


def knd_wait_in_background(knd, *args):
    """`knd wait ...` started now, to be answered by a change made after it."""
    cmd = [KND_BIN] + list(args) + ["--state-dir", knd.state_dir]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=knd.work_dir)


def test_wait_is_answered_by_a_change_after_it_started(knd):
    # Waiting for a Service that does not exist yet: the watch reports it when it appears and
    # each later status change, until Ready.
    w = knd_wait_in_background(knd, "wait", "ksvc", "later", "--for=condition=Ready",
                               "--timeout", "30s")
    time.sleep(0.3)
    assert w.poll() is None, w.communicate()
    knd.apply(ksvc("later", marker=knd.marker))
    out, err = w.communicate(timeout=30)
    assert w.returncode == 0, (out, err)
    assert out.strip() == SVC % "later" + " condition met"
    assert condition_true(knd.get("services", "later"))

    # --for=delete on an object that exists: answered by the DELETED event.
    w = knd_wait_in_background(knd, "wait", "ksvc", "later", "--for=delete", "--timeout", "30s")
    time.sleep(0.3)
    assert w.poll() is None, w.communicate()
    knd.cli("delete", "ksvc", "later")
    out, err = w.communicate(timeout=30)
    assert w.returncode == 0, (out, err)
    assert out.strip() == SVC % "later" + " condition met"
    assert knd.get("services", "later") is None


def test_wait_after_apply_waits_for_the_new_generation(knd):
    knd.apply(ksvc("gen", marker=knd.marker, env={"TARGET": "one"}))
    knd.cli("wait", "ksvc", "gen", "--for=condition=Ready", "--timeout", "30s")
    # Ready=True of generation 1 is still on the object when the second apply returns: it does
    # not count for generation 2.
    knd.apply(ksvc("gen", marker=knd.marker, env={"TARGET": "two"}))
    rc, out, err = knd.cli("wait", "ksvc", "gen", "--for=condition=Ready", "--timeout", "30s")
    o = knd.get("services", "gen")
    assert o["metadata"]["generation"] == 2
    assert o["status"]["observedGeneration"] == 2
    assert o["status"]["latestReadyRevisionName"] == "gen-00002"
    assert condition_true(o)


def condition_true(obj):
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in obj["status"]["conditions"])


def test_delete(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    rc, out, err = knd.cli("delete", "ksvc", "hello")
    assert "hello" in out and "deleted" in out, out
    assert knd.get("services", "hello") is None
    assert knd.get("configurations", "hello") is None
    assert knd.get("routes", "hello") is None
    assert knd.get("revisions", "hello-00001") is None
    rc, out, err = knd.cli("delete", "ksvc", "hello", check=False)
    assert rc == 1 and "not found" in err


def test_delete_by_file(knd):
    path = knd.write([ksvc("a", marker=knd.marker), ksvc("b", marker=knd.marker)])
    knd.cli("apply", "-f", path)
    rc, out, err = knd.cli("delete", "-f", path)
    assert len(out.strip().splitlines()) == 2, out
    assert knd.list("services") == []


def test_apply_from_stdin(knd):
    import conftest
    text = conftest.to_yaml(ksvc("piped", marker=knd.marker))
    rc, out, err = knd.cli("apply", "-f", "-", input=text)
    assert out.strip() == SVC % "piped" + " created"


def test_metadata_only_change_makes_no_revision(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    rc, out, err = knd.apply(ksvc("hello", marker=knd.marker, labels={"team": "web"}))
    assert out.strip() == SVC % "hello" + " configured"
    svc = knd.wait_ready("hello")
    assert svc["metadata"]["labels"]["team"] == "web"
    assert [r["metadata"]["name"] for r in knd.list("revisions")] == ["hello-00001"]
    assert route_host("hello")
