"""Knative Serving conformance cases (knative/serving test/conformance/api/v1 and runtime) that
apply to local processes and are not already covered by test_10..test_70: generateName, label and
annotation propagation, template-metadata revisions, BYO revision names and Revision
immutability, standalone Configuration + Route, a tag on the latest revision across an update, a
50/50 split over 100 requests, status url/address, container statuses, the cluster-local
address, and the proxy's HTTP behaviour (headers, hop-by-hop, query strings, methods, status
codes, large and chunked responses). Timeouts, containerConcurrency and request-body streaming
are test_35/test_36's.
"""
from collections import Counter

import pytest

from conftest import DOMAIN, KND_TESTAPP, ksvc, route_host, tag_host

SVC_LABEL = "serving.knative.dev/service"
CFG_LABEL = "serving.knative.dev/configuration"
GEN_LABEL = "serving.knative.dev/configurationGeneration"


# ------------------------------------------------------------------ helpers


def deploy(knd, name="hello", **kw):
    knd.apply(ksvc(name, marker=knd.marker, **kw))
    svc = knd.wait_ready(name)
    knd.wait_serving(route_host(name))
    return svc


def latest_is(knd, name, rev, resource="services"):
    """Waits until the object's latest created and ready revision is `rev`, all observed."""
    def ok():
        o = knd.get(resource, name)
        st = o["status"]
        if st.get("latestCreatedRevisionName") == rev and \
                st.get("latestReadyRevisionName") == rev and \
                st.get("observedGeneration") == o["metadata"]["generation"]:
            return o
        return None
    return knd.wait_for(ok, "%s/%s latest = %s" % (resource, name, rev), 30)


def revision_names(knd):
    return sorted(r["metadata"]["name"] for r in knd.list("revisions"))


def served_by(knd, host):
    r = knd.curl(host, "/headers")
    assert r.status == 200, r
    return r.json()["revision"]


def pattern(n):
    """knd-testapp's bytes=N body: byte i is 'a' + i % 26."""
    alphabet = bytes(range(ord("a"), ord("a") + 26))
    return (alphabet * (n // 26 + 1))[:n]


# ------------------------------------------------------------------ api/v1: objects


def test_service_generate_name(knd):
    """generatename_test: a Service created with metadata.generateName gets a name with that
    prefix, and serves. (An optional API in Knative's conformance.)"""
    obj = ksvc("x", marker=knd.marker)
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "gen-"
    r = knd.api("POST", knd.path("services"), obj)
    if r.status == 422 and "metadata.name" in r.text:
        pytest.skip("knd does not implement metadata.generateName on create (%s)"
                    % r.json().get("message"))
    assert r.status == 201, r
    name = r.json()["metadata"]["name"]
    assert name.startswith("gen-") and len(name) > len("gen-"), name
    knd.wait_ready(name)
    assert knd.wait_serving(route_host(name)).text == "Hello World!\n"


def test_label_and_annotation_propagation(knd):
    """service_test TestLabelPropagation / TestAnnotationPropagation: the Service's labels and
    annotations go to its Configuration and Route (and are removed there when removed from the
    Service), not to Revisions; metadata-only updates make no revision and no new generation."""
    svc = deploy(knd, labels={"juicy": "jamba"}, annotations={"note": "first"})
    uid = svc["metadata"]["uid"]
    for res in ("configurations", "routes"):
        o = knd.get(res, "hello")
        assert o["metadata"]["labels"]["juicy"] == "jamba", (res, o["metadata"])
        assert o["metadata"]["labels"][SVC_LABEL] == "hello"
        assert o["metadata"]["annotations"]["note"] == "first", (res, o["metadata"])
        [ref] = o["metadata"]["ownerReferences"]
        assert ref["apiVersion"] == "serving.knative.dev/v1" and ref["kind"] == "Service"
        assert ref["name"] == "hello" and ref["uid"] == uid
        assert ref["controller"] is True and ref["blockOwnerDeletion"] is True
    rev = knd.get("revisions", "hello-00001")
    assert "juicy" not in rev["metadata"]["labels"]
    assert "note" not in (rev["metadata"].get("annotations") or {})
    assert rev["metadata"]["labels"][SVC_LABEL] == "hello"
    assert rev["metadata"]["labels"][CFG_LABEL] == "hello"
    assert rev["metadata"]["labels"][GEN_LABEL] == "1"

    # Annotation changed, label removed: metadata only.
    knd.apply(ksvc("hello", marker=knd.marker, annotations={"note": "second"}))

    def propagated():
        objs = [knd.get(res, "hello") for res in ("configurations", "routes")]
        ok = all("juicy" not in o["metadata"]["labels"] and
                 (o["metadata"].get("annotations") or {}).get("note") == "second" for o in objs)
        return objs if ok else None
    knd.wait_for(propagated, "metadata propagated to Configuration and Route", 10)
    svc = knd.wait_ready("hello")
    assert svc["metadata"]["generation"] == 1
    assert knd.get("configurations", "hello")["metadata"]["generation"] == 1
    assert revision_names(knd) == ["hello-00001"]
    assert served_by(knd, route_host("hello")) == "hello-00001"


def test_template_metadata_changes_create_revisions(knd):
    """service_test TestServiceCreateAndUpdate: template labels, then template annotations, each
    make a new revision carrying them; traffic follows; the generation label counts."""
    deploy(knd)
    knd.apply(ksvc("hello", marker=knd.marker, image="knd.dev/e2e/testapp:v2"))
    latest_is(knd, "hello", "hello-00002")
    tmpl_labels = {"label-x": "abc", "label-y": "def"}
    obj = ksvc("hello", marker=knd.marker, image="knd.dev/e2e/testapp:v2")
    obj["spec"]["template"]["metadata"] = {"labels": tmpl_labels}
    knd.apply(obj)
    latest_is(knd, "hello", "hello-00003")
    obj["spec"]["template"]["metadata"]["annotations"] = {"annotation-a": "123",
                                                          "annotation-b": "456"}
    knd.apply(obj)
    svc = latest_is(knd, "hello", "hello-00004")
    assert svc["metadata"]["generation"] == 4
    assert revision_names(knd) == ["hello-00001", "hello-00002", "hello-00003", "hello-00004"]
    r3, r4 = knd.get("revisions", "hello-00003"), knd.get("revisions", "hello-00004")
    for k, v in tmpl_labels.items():
        assert r3["metadata"]["labels"][k] == v and r4["metadata"]["labels"][k] == v
    assert r3["metadata"]["labels"][GEN_LABEL] == "3"
    assert r4["metadata"]["labels"][GEN_LABEL] == "4"
    ann = r4["metadata"].get("annotations") or {}
    assert ann.get("annotation-a") == "123" and ann.get("annotation-b") == "456", ann
    assert "annotation-a" not in (r3["metadata"].get("annotations") or {})
    knd.wait_for(lambda: served_by(knd, route_host("hello")) == "hello-00004",
                 "traffic on hello-00004")
    assert [(t["revisionName"], t["percent"]) for t in svc["status"]["traffic"]] == \
        [("hello-00004", 100)]


def test_configuration_and_route_without_service(knd):
    """route_test TestRouteCreation and configuration_test TestUpdateConfigurationMetadata:
    a standalone Configuration and a Route naming it; Configuration metadata updates make no
    revision and do not reach the Revision; a template update makes one and the Route follows."""
    def cfg(target):
        return {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
                "metadata": {"name": "cfg", "namespace": "default"},
                "spec": {"template": {"spec": {"containers": [{
                    "image": "knd.dev/e2e/testapp:v1", "command": [KND_TESTAPP],
                    "env": [{"name": "KND_E2E_RUN", "value": knd.marker},
                            {"name": "TARGET", "value": target}]}]}}}}
    route = {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
             "metadata": {"name": "rt", "namespace": "default"},
             "spec": {"traffic": [{"configurationName": "cfg", "percent": 100}]}}
    rc, out, err = knd.apply([cfg("one"), route])
    assert out.splitlines() == ["configuration.serving.knative.dev/cfg created",
                                "route.serving.knative.dev/rt created"], out
    rt = knd.wait_ready("rt", resource="routes")
    assert rt["status"]["url"] == "http://rt.default." + DOMAIN
    assert rt["status"]["address"]["url"] == "http://rt.default.svc.cluster.local"
    assert [(t["revisionName"], t["percent"], t.get("latestRevision"))
            for t in rt["status"]["traffic"]] == [("cfg-00001", 100, True)]
    assert knd.wait_serving(route_host("rt")).text == "Hello one!\n"
    env = knd.curl(route_host("rt"), "/env").json()
    assert env["K_CONFIGURATION"] == "cfg" and env["K_REVISION"] == "cfg-00001"
    assert env.get("K_SERVICE", "") == ""  # runtime contract: empty when not Service-owned

    c = knd.wait_ready("cfg", resource="configurations")
    c["metadata"]["labels"] = dict(c["metadata"].get("labels") or {}, **{"label-x": "abc"})
    c["metadata"]["annotations"] = {"annotation-a": "123"}
    r = knd.api("PUT", knd.path("configurations", "cfg"), c)
    assert r.status == 200, r
    c = knd.get("configurations", "cfg")
    assert c["metadata"]["labels"]["label-x"] == "abc"
    assert c["metadata"]["generation"] == 1
    assert c["status"]["latestCreatedRevisionName"] == "cfg-00001"
    rev = knd.get("revisions", "cfg-00001")
    assert "label-x" not in rev["metadata"]["labels"]
    assert "annotation-a" not in (rev["metadata"].get("annotations") or {})
    assert revision_names(knd) == ["cfg-00001"]

    knd.apply(cfg("two"))
    latest_is(knd, "cfg", "cfg-00002", "configurations")
    knd.wait_for(lambda: knd.curl(route_host("rt")).text == "Hello two!\n", "route follows cfg")
    rt = knd.wait_ready("rt", resource="routes")
    assert [t["revisionName"] for t in rt["status"]["traffic"]] == ["cfg-00002"]


def test_byo_revision_name_rules_and_revision_immutability(knd):
    """service_test TestServiceBYOName and the webhook's update rules: a template change needs a
    new BYO name, which must carry the Service's prefix; a Revision's spec is immutable while its
    metadata may change."""
    deploy(knd, template_name="hello-a", env={"TARGET": "a"})
    rc, out, err = knd.apply(ksvc("hello", marker=knd.marker, template_name="hello-a",
                                  env={"TARGET": "b"}), check=False)
    assert rc == 2, (rc, out, err)
    assert "spec.template.metadata.name: Saw the following changes without a name change" \
        in err, err
    rc, out, err = knd.apply(ksvc("hello", marker=knd.marker, template_name="other-b",
                                  env={"TARGET": "b"}), check=False)
    assert rc == 2, (rc, out, err)
    assert 'spec.template.metadata.name: invalid value: "other-b" must have prefix "hello-"' \
        in err, err
    svc = knd.get("services", "hello")
    assert svc["metadata"]["generation"] == 1
    assert revision_names(knd) == ["hello-a"]

    rev = knd.get("revisions", "hello-a")
    rev["spec"]["containers"][0]["image"] = "knd.dev/e2e/other:v9"
    r = knd.api("PUT", knd.path("revisions", "hello-a"), rev)
    assert r.status == 422, r
    assert "Immutable fields changed (-old +new)" in r.json()["message"], r
    rev = knd.get("revisions", "hello-a")
    assert rev["spec"]["containers"][0]["image"] == "knd.dev/e2e/testapp:v1"
    rev["metadata"]["labels"]["extra"] = "yes"
    r = knd.api("PUT", knd.path("revisions", "hello-a"), rev)
    assert r.status == 200, r
    assert knd.get("revisions", "hello-a")["metadata"]["labels"]["extra"] == "yes"

    knd.apply(ksvc("hello", marker=knd.marker, template_name="hello-b", env={"TARGET": "b"}))
    latest_is(knd, "hello", "hello-b")
    knd.wait_for(lambda: knd.curl(route_host("hello")).text == "Hello b!\n", "hello-b served")
    assert revision_names(knd) == ["hello-a", "hello-b"]


def test_latest_tag_follows_new_revision_while_traffic_stays(knd):
    """service_test TestServiceWithTrafficSplit steps 1-2: traffic pinned to the first revision
    with tag `current`, tag `latest` on latestRevision; after an image change the new revision
    is reachable only at the latest tag host."""
    deploy(knd, env={"TARGET": "one"})
    traffic = [{"revisionName": "hello-00001", "percent": 100, "tag": "current"},
               {"latestRevision": True, "percent": 0, "tag": "latest"}]
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "one"}, traffic=traffic))
    svc = knd.wait_ready("hello")
    assert [(t["revisionName"], t["percent"], t["tag"], t["url"])
            for t in svc["status"]["traffic"]] == [
        ("hello-00001", 100, "current", "http://current-hello.default." + DOMAIN),
        ("hello-00001", 0, "latest", "http://latest-hello.default." + DOMAIN)]
    assert revision_names(knd) == ["hello-00001"]  # a traffic-only change

    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "two"},
                   image="knd.dev/e2e/testapp:v2", traffic=traffic))
    svc = latest_is(knd, "hello", "hello-00002")
    svc = knd.wait_ready("hello")
    assert [(t["revisionName"], t["percent"], t["tag"]) for t in svc["status"]["traffic"]] == [
        ("hello-00001", 100, "current"), ("hello-00002", 0, "latest")]
    knd.wait_for(lambda: knd.curl(tag_host("latest", "hello")).text == "Hello two!\n",
                 "latest tag host on hello-00002")
    assert Counter(knd.curl(route_host("hello")).text for _ in range(10)) == \
        Counter({"Hello one!\n": 10})
    assert knd.curl(tag_host("current", "hello")).text == "Hello one!\n"
    route = knd.get("routes", "hello")
    assert [(t["revisionName"], t["percent"], t["tag"]) for t in route["status"]["traffic"]] == [
        ("hello-00001", 100, "current"), ("hello-00002", 0, "latest")]


def test_split_50_50_over_100_requests(knd):
    """A pinned revision and the latest revision at 50/50: over 100 requests each side gets
    between 30 and 70 (binomial(100, .5) leaves that range with p < 1e-4), and the revision
    header the app sees matches the revision that answered."""
    deploy(knd, env={"TARGET": "one"})
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "two"}, traffic=[
        {"revisionName": "hello-00001", "percent": 50},
        {"latestRevision": True, "percent": 50}]))
    latest_is(knd, "hello", "hello-00002")
    svc = knd.wait_ready("hello")
    assert sorted((t["revisionName"], t["percent"]) for t in svc["status"]["traffic"]) == \
        [("hello-00001", 50), ("hello-00002", 50)]
    knd.wait_for(lambda: served_by(knd, route_host("hello")) == "hello-00002", "split active")
    seen = Counter()
    for _ in range(100):
        r = knd.curl(route_host("hello"), "/headers")
        assert r.status == 200
        rev = r.json()["revision"]
        assert r.headers["x-app-revision"] == rev
        seen[rev] += 1
    assert set(seen) == {"hello-00001", "hello-00002"}, seen
    assert 30 <= seen["hello-00001"] <= 70, seen


def test_status_url_address_and_container_status(knd):
    """Service and Route status carry url and address; the cluster-local address routes; the
    Revision reports its container and the Configuration its latest revisions."""
    svc = deploy(knd)
    st = svc["status"]
    assert st["url"] == "http://hello.default." + DOMAIN
    assert st["address"]["url"] == "http://hello.default.svc.cluster.local"
    route = knd.get("routes", "hello")
    assert route["status"]["url"] == st["url"]
    assert route["status"]["address"] == st["address"]
    assert [(t["revisionName"], t["percent"]) for t in route["status"]["traffic"]] == \
        [("hello-00001", 100)]
    local = st["address"]["url"][len("http://"):]
    r = knd.curl(local, "/headers")
    assert r.status == 200
    assert r.json()["revision"] == "hello-00001"
    assert knd.curl(local + ":80").status == 200

    rev = knd.get("revisions", "hello-00001")
    cs = rev["status"]["containerStatuses"]
    assert [c["name"] for c in cs] == [rev["spec"]["containers"][0]["name"]]
    assert cs[0]["imageDigest"].startswith("knd.dev/e2e/testapp"), cs
    ready = [c for c in rev["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"
    assert rev["status"]["observedGeneration"] == rev["metadata"]["generation"]


# ------------------------------------------------------------------ runtime: the data plane


def test_request_headers_pass_and_hop_by_hop_removed(knd):
    """header_test (user headers reach the app) and RFC 9110 §7.6.1, as Knative's Go proxies do
    (httputil.ReverseProxy): Connection, the headers it names, Keep-Alive, Proxy-Connection,
    Proxy-Authorization and Upgrade are not forwarded. The app sees HTTP/1.1 (protocol_test)."""
    deploy(knd)
    r = knd.curl(route_host("hello"), "/headers", headers={
        "This-Was-User-Set": "a value",
        "X-Request-Id": "abc-123",
        "Authorization": "Bearer t0ken",
        "Cookie": "a=1; b=2",
        "Connection": "keep-alive, X-Hop-Only",
        "X-Hop-Only": "must not be forwarded",
        "Keep-Alive": "timeout=5",
        "Proxy-Connection": "keep-alive",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "Upgrade": "h2c",
    })
    assert r.status == 200
    info = r.json()
    h = info["headers"]
    assert info["proto"] == "HTTP/1.1"
    assert h["this-was-user-set"] == "a value"
    assert h["x-request-id"] == "abc-123"
    assert h["authorization"] == "Bearer t0ken"
    assert h["cookie"] == "a=1; b=2"
    leaked = sorted(k for k in ("keep-alive", "proxy-connection", "proxy-authorization",
                                "upgrade", "x-hop-only") if k in h)
    assert leaked == [], "hop-by-hop headers forwarded to the app: %s" % leaked
    assert h.get("connection", "keep-alive").lower() in ("keep-alive", "close")


def test_query_string_preserved(knd):
    deploy(knd)
    for url in ("/headers?a=1&b=x%20y&a=2", "/headers?q=%2F%3F%26%3D&empty=&flag",
                "/headers?unicode=%E2%9C%93&plus=a+b", "/headers?"):
        r = knd.curl(route_host("hello"), url)
        assert r.status == 200
        got = r.json()
        assert got["path"] == "/headers"
        assert got["url"] in (url, url.rstrip("?")), (url, got["url"])


def test_methods_with_bodies(knd):
    deploy(knd)
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        body = ("%s body \x00\xff" % method).encode("latin-1") * 100
        try:
            r = knd.curl(route_host("hello"), "/echo", method=method, body=body,
                         headers={"Content-Type": "application/x-%s" % method.lower()},
                         timeout=5)
        except OSError as e:
            raise AssertionError("%s /echo with a %d-byte body: no complete response (%r)"
                                 % (method, len(body), e))
        assert r.status == 200, (method, r)
        assert r.body == body, method
        assert r.headers["content-type"] == "application/x-%s" % method.lower()
        info = knd.curl(route_host("hello"), "/headers", method=method, body=b"x").json()
        assert info["method"] == method
    r = knd.curl(route_host("hello"), "/?bytes=1234", method="HEAD")
    assert r.status == 200 and r.body == b""
    assert r.headers.get("content-length") == "1234", r.headers


def test_status_codes_propagated(knd):
    deploy(knd)
    for code in (201, 202, 301, 400, 403, 404, 418, 429, 500, 502, 503, 504, 599):
        r = knd.curl(route_host("hello"), "/?status=%d" % code)
        assert r.status == code, (code, r)
        assert r.text == "Hello World!\n", (code, r)
        assert r.headers["x-app-revision"] == "hello-00001"


def test_response_headers_preserved(knd):
    deploy(knd)
    r = knd.curl(route_host("hello"), "/echo", method="POST", body=b"{}",
                 headers={"Content-Type": "application/vnd.knd+json; charset=utf-8"})
    assert r.status == 200
    assert r.headers["content-type"] == "application/vnd.knd+json; charset=utf-8"
    assert r.headers["x-app-revision"] == "hello-00001"
    assert r.headers["x-inflight"] == "1"
    assert r.headers["content-length"] == "2"
    r = knd.curl(route_host("hello"), "/")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


def test_large_and_chunked_responses(knd):
    deploy(knd)
    n = 5000000
    want = pattern(n)
    r = knd.curl(route_host("hello"), "/?bytes=%d" % n)
    assert r.status == 200
    assert r.headers.get("content-length") == str(n), r.headers
    assert len(r.body) == n and r.body == want

    r = knd.curl(route_host("hello"), "/?bytes=%d&chunked=1&chunk_size=7919" % n)
    assert r.status == 200
    assert "content-length" not in r.headers or r.headers["content-length"] == str(n)
    assert len(r.body) == n and r.body == want

    # a slow writer's chunks arrive intact too
    r = knd.curl(route_host("hello"), "/?bytes=300&chunked=1&chunk_size=100&chunk_delay_ms=50")
    assert r.status == 200 and r.body == pattern(300)
