"""Updating a Service: every template change is a new Revision (-00002, ...), old ones stay,
latestCreated/latestReady move, traffic follows the latest (Knative api/v1 service_test)."""
from conftest import ksvc, route_host


def _latest(knd, name, rev):
    def ok():
        s = knd.get("services", name)
        st = s["status"]
        if st.get("latestReadyRevisionName") == rev and st.get("latestCreatedRevisionName") == rev \
                and st.get("observedGeneration") == s["metadata"]["generation"] \
                and [t["revisionName"] for t in st.get("traffic", [])] == [rev]:
            return s
        return None
    return knd.wait_for(ok, "%s latest = %s" % (name, rev), 30)


def test_update_env_creates_new_revision(knd):
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "v1"}))
    knd.wait_ready("hello")
    assert knd.wait_serving(route_host("hello")).text == "Hello v1!\n"

    rc, out, err = knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "v2"}))
    assert out.strip() == "service.serving.knative.dev/hello configured"
    svc = _latest(knd, "hello", "hello-00002")
    assert svc["status"]["traffic"][0]["percent"] == 100
    knd.wait_for(lambda: knd.curl(route_host("hello")).text == "Hello v2!\n", "v2 served")

    revs = sorted(r["metadata"]["name"] for r in knd.list("revisions"))
    assert revs == ["hello-00001", "hello-00002"]
    r1 = knd.get("revisions", "hello-00001")
    assert r1["spec"]["containers"][0]["env"][1] == {"name": "TARGET", "value": "v1"}
    assert r1["metadata"]["labels"]["serving.knative.dev/configurationGeneration"] == "1"
    r2 = knd.get("revisions", "hello-00002")
    assert r2["metadata"]["labels"]["serving.knative.dev/configurationGeneration"] == "2"
    cfg = knd.get("configurations", "hello")
    assert cfg["status"]["latestCreatedRevisionName"] == "hello-00002"
    assert cfg["status"]["latestReadyRevisionName"] == "hello-00002"


def test_update_image_creates_new_revision(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    knd.apply(ksvc("hello", marker=knd.marker, image="knd.dev/e2e/testapp:v2"))
    _latest(knd, "hello", "hello-00002")
    assert knd.get("revisions", "hello-00002")["spec"]["containers"][0]["image"] == \
        "knd.dev/e2e/testapp:v2"
    h = knd.wait_for(lambda: (lambda j: j if j["revision"] ==
                              "hello-00002" else None)(
        knd.curl(route_host("hello"), "/headers").json()), "traffic on hello-00002")
    assert h["revision"] == "hello-00002"


def test_failing_revision_keeps_serving_the_old_one(knd):
    """A new revision that never becomes ready: latestCreated moves, latestReady stays, traffic
    stays on the ready revision, and the Service reports Ready=False (errorcondition_test)."""
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "good"}))
    knd.wait_ready("hello")
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "bad", "FAIL_START": "1"}))

    def failed():
        s = knd.get("services", "hello")
        st = s["status"]
        c = [c for c in st.get("conditions", []) if c["type"] == "ConfigurationsReady"]
        if st.get("latestCreatedRevisionName") == "hello-00002" and c and \
                c[0]["status"] == "False":
            return s
        return None
    svc = knd.wait_for(failed, "hello-00002 failed", 60)
    assert svc["status"]["latestReadyRevisionName"] == "hello-00001"
    ready = [c for c in svc["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "False"
    assert "hello-00002" in ready.get("message", "")
    assert [t["revisionName"] for t in svc["status"]["traffic"]] == ["hello-00001"]
    assert knd.curl(route_host("hello")).text == "Hello good!\n"
    rev = knd.get("revisions", "hello-00002")
    rc = [c for c in rev["status"]["conditions"] if c["type"] == "Ready"][0]
    assert rc["status"] == "False"
