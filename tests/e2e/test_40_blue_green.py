"""Blue-green with BYO revision names, tags and tag hosts, then traffic splits
(Knative conformance api/v1 blue_green_test, route_test)."""
from collections import Counter

from conftest import DOMAIN, ksvc, route_host, tag_host


def _who(knd, host, n=1):
    return Counter(knd.curl(host).text.strip() for _ in range(n))


def _deploy_blue_green(knd, traffic):
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-blue", env={"TARGET": "blue"}))
    knd.wait_ready("bg")
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-green", env={"TARGET": "green"},
                   traffic=traffic))
    svc = knd.wait_ready("bg")
    assert svc["status"]["latestCreatedRevisionName"] == "bg-green"
    assert svc["status"]["latestReadyRevisionName"] == "bg-green"
    return svc


def test_blue_green_100_0_then_0_100(knd):
    svc = _deploy_blue_green(knd, [
        {"revisionName": "bg-blue", "percent": 100, "tag": "blue"},
        {"revisionName": "bg-green", "percent": 0, "tag": "green"},
    ])
    st = svc["status"]["traffic"]
    assert [(t["revisionName"], t["percent"], t["tag"], t["url"]) for t in st] == [
        ("bg-blue", 100, "blue", "http://blue-bg.default." + DOMAIN),
        ("bg-green", 0, "green", "http://green-bg.default." + DOMAIN),
    ]
    knd.wait_for(lambda: knd.curl(tag_host("green", "bg")).status == 200, "green tag host")
    assert _who(knd, route_host("bg"), 20) == Counter({"Hello blue!": 20})
    assert _who(knd, tag_host("blue", "bg"), 5) == Counter({"Hello blue!": 5})
    assert _who(knd, tag_host("green", "bg"), 5) == Counter({"Hello green!": 5})
    assert knd.curl(tag_host("green", "bg"), "/headers").json()["revision"] == "bg-green"

    # Flip: the template is unchanged (same BYO name), only traffic moves.
    rc, out, err = knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-green",
                                  env={"TARGET": "green"}, traffic=[
                                      {"revisionName": "bg-blue", "percent": 0, "tag": "blue"},
                                      {"revisionName": "bg-green", "percent": 100, "tag": "green"},
                                  ]))
    assert out.strip() == "service.serving.knative.dev/bg configured"
    knd.wait_for(lambda: knd.curl(route_host("bg")).text == "Hello green!\n", "flip to green")
    assert _who(knd, route_host("bg"), 20) == Counter({"Hello green!": 20})
    assert _who(knd, tag_host("blue", "bg"), 5) == Counter({"Hello blue!": 5})
    assert sorted(r["metadata"]["name"] for r in knd.list("revisions")) == ["bg-blue", "bg-green"]


def test_latest_tag_and_route_status(knd):
    _deploy_blue_green(knd, [
        {"revisionName": "bg-blue", "percent": 100},
        {"latestRevision": True, "percent": 0, "tag": "latest"},
    ])
    route = knd.get("routes", "bg")
    tr = route["status"]["traffic"]
    assert [(t["revisionName"], t["percent"], t.get("tag")) for t in tr] == [
        ("bg-blue", 100, None), ("bg-green", 0, "latest")]
    knd.wait_for(lambda: knd.curl(tag_host("latest", "bg")).text == "Hello green!\n",
                 "latest tag host")
    assert _who(knd, route_host("bg"), 10) == Counter({"Hello blue!": 10})


def test_traffic_split_50_50(knd):
    _deploy_blue_green(knd, [
        {"revisionName": "bg-blue", "percent": 50},
        {"revisionName": "bg-green", "percent": 50},
    ])
    seen = _who(knd, route_host("bg"), 60)
    assert set(seen) == {"Hello blue!", "Hello green!"}, seen
    # both sides get a fair share (binomial(60, .5): below 15 happens with p < 1e-4)
    assert min(seen.values()) >= 15, seen


def test_unknown_tag_host_is_404(knd):
    _deploy_blue_green(knd, [{"revisionName": "bg-blue", "percent": 100, "tag": "blue"},
                             {"revisionName": "bg-green", "percent": 0}])
    r = knd.curl(tag_host("nope", "bg"))
    assert r.status == 404
    assert tag_host("nope", "bg") in r.text


def test_superseded_revision_still_becomes_ready(knd):
    """Apply blue then green without waiting: blue is no longer the latest revision before it
    was ever ready, yet green's traffic names it. Knative starts every new revision at its
    initial scale, so blue must still become ready and the split must resolve."""
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-blue", env={"TARGET": "blue"}))
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-green", env={"TARGET": "green"},
                   traffic=[{"revisionName": "bg-blue", "percent": 100, "tag": "blue"},
                            {"revisionName": "bg-green", "percent": 0, "tag": "green"}]))
    knd.wait_ready("bg")
    knd.wait_for(lambda: knd.curl(tag_host("green", "bg")).status == 200, "green tag host")
    assert _who(knd, route_host("bg"), 10) == Counter({"Hello blue!": 10})
    assert _who(knd, tag_host("green", "bg"), 3) == Counter({"Hello green!": 3})
