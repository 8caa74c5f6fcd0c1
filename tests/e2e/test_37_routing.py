"""Host routing beyond the default domain: tag hosts, tag-header routing, config-domain,
config-network templates, cluster-local visibility, DomainMapping, and the Knative headers the
app receives (SPEC §e.3, §e.5; Knative conformance ingress and domain-mapping tests)."""
import re

from conftest import (DOMAIN, condition, ksvc, platform_configmap, route_host, tag_host)


def _blue_green(knd, name="rt"):
    knd.apply(ksvc(name, marker=knd.marker, template_name=name + "-blue", env={"TARGET": "blue"}))
    knd.wait_ready(name)
    knd.apply(ksvc(name, marker=knd.marker, template_name=name + "-green",
                   env={"TARGET": "green"},
                   traffic=[{"revisionName": name + "-blue", "percent": 100, "tag": "blue"},
                            {"revisionName": name + "-green", "percent": 0, "tag": "green"}]))
    svc = knd.wait_ready(name)
    knd.wait_serving(tag_host("green", name))
    return svc


def _who(knd, host, n=5, headers=None):
    return {knd.curl(host, headers=headers).text.strip() for _ in range(n)}


def test_tag_hosts_route_to_their_revision(knd):
    svc = _blue_green(knd)
    urls = {t["tag"]: t["url"] for t in svc["status"]["traffic"]}
    assert urls == {"blue": "http://blue-rt.default." + DOMAIN,
                    "green": "http://green-rt.default." + DOMAIN}
    assert _who(knd, route_host("rt")) == {"Hello blue!"}
    assert _who(knd, tag_host("blue", "rt")) == {"Hello blue!"}
    assert _who(knd, tag_host("green", "rt")) == {"Hello green!"}
    assert knd.curl("green-rt.default.svc.cluster.local").text == "Hello green!\n"


def test_tag_header_routing_behind_feature_flag(knd):
    _blue_green(knd)
    green = {"Knative-Serving-Tag": "green"}
    # disabled by default: the header is ignored
    assert _who(knd, route_host("rt"), headers=green) == {"Hello blue!"}
    knd.apply(platform_configmap("config-features", {"tag-header-based-routing": "Enabled"}))
    knd.wait_for(lambda: knd.curl(route_host("rt"), headers=green).text == "Hello green!\n",
                 "Knative-Serving-Tag: green honoured", 10)
    assert _who(knd, route_host("rt"), 10, headers=green) == {"Hello green!"}
    assert _who(knd, route_host("rt"), headers={"Knative-Serving-Tag": "blue"}) == {"Hello blue!"}
    # an unknown tag falls through to the default split
    assert _who(knd, route_host("rt"), headers={"Knative-Serving-Tag": "nope"}) == {"Hello blue!"}
    assert _who(knd, route_host("rt")) == {"Hello blue!"}
    assert knd.curl(route_host("rt"), "/headers", headers=green).json()["revision"] == "rt-green"


def test_config_domain_custom_domain(knd):
    knd.apply(platform_configmap("config-domain", {"example.com": ""}))
    knd.apply(ksvc("hello", marker=knd.marker, env={"TARGET": "custom"}))
    svc = knd.wait_ready("hello")
    assert svc["status"]["url"] == "http://hello.default.example.com"
    assert knd.wait_serving("hello.default.example.com").text == "Hello custom!\n"
    assert knd.get("routes", "hello")["status"]["url"] == "http://hello.default.example.com"
    assert knd.curl(route_host("hello")).status == 404
    assert knd.curl("hello.default.svc.cluster.local").status == 200


def test_config_domain_label_selector_most_specific_wins(knd):
    knd.apply(platform_configmap("config-domain", {
        "example.com": "",
        "prod.example.org": "selector:\n  app: prod\n",
    }))
    knd.apply([ksvc("a", marker=knd.marker, labels={"app": "prod"}),
               ksvc("b", marker=knd.marker)])
    assert knd.wait_ready("a")["status"]["url"] == "http://a.default.prod.example.org"
    assert knd.wait_ready("b")["status"]["url"] == "http://b.default.example.com"
    assert knd.wait_serving("a.default.prod.example.org").status == 200
    assert knd.wait_serving("b.default.example.com").status == 200


def test_domain_and_tag_templates(knd):
    knd.apply(platform_configmap("config-network", {
        "domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}",
        "tag-template": "{{.Name}}-{{.Tag}}",
    }))
    knd.apply(ksvc("tpl", marker=knd.marker, template_name="tpl-blue", env={"TARGET": "blue"},
                   traffic=[{"revisionName": "tpl-blue", "percent": 100, "tag": "blue"}]))
    svc = knd.wait_ready("tpl")
    assert svc["status"]["url"] == "http://tpl-default." + DOMAIN
    assert svc["status"]["traffic"][0]["url"] == "http://tpl-blue-default." + DOMAIN
    assert knd.wait_serving("tpl-default." + DOMAIN).text == "Hello blue!\n"
    assert knd.wait_serving("tpl-blue-default." + DOMAIN).text == "Hello blue!\n"
    assert knd.curl(route_host("tpl")).status == 404
    assert knd.curl(tag_host("blue", "tpl")).status == 404


def test_cluster_local_visibility(knd):
    knd.apply(ksvc("private", marker=knd.marker,
                   labels={"networking.knative.dev/visibility": "cluster-local"}))
    svc = knd.wait_ready("private")
    assert svc["status"]["url"] == "http://private.default.svc.cluster.local"
    assert knd.wait_serving("private.default.svc.cluster.local").status == 200
    r = knd.curl(route_host("private"))
    assert r.status == 404 and route_host("private") in r.text, r


def _dm(name, ns, svc):
    return {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                             "name": svc}}}


def test_domain_mapping_routes_and_claims(knd):
    knd.apply([ksvc("hello", marker=knd.marker, env={"TARGET": "mine"}),
               ksvc("hello", ns="other", marker=knd.marker, env={"TARGET": "theirs"})])
    knd.wait_ready("hello")
    knd.wait_ready("hello", "other")
    knd.apply(_dm("app.example.org", "default", "hello"))
    dm = knd.wait_ready("app.example.org", resource="domainmappings", timeout=15)
    assert dm["status"]["url"] == "http://app.example.org"
    assert condition(dm, "DomainClaimed")["status"] == "True"
    assert knd.wait_serving("app.example.org").text == "Hello mine!\n"
    h = knd.curl("app.example.org", "/headers").json()
    assert h["host"] == "app.example.org"
    assert h["revision"] == "hello-00001"

    # The same host claimed from another namespace: not Ready, the first keeps it.
    knd.apply(_dm("app.example.org", "other", "hello"))

    def not_ready():
        o = knd.get("domainmappings", "app.example.org", "other")
        c = condition(o, "Ready") if o else None
        return o if c and c.get("status") == "False" else None
    other = knd.wait_for(not_ready, "second DomainMapping Ready=False", 15)
    c = condition(other, "DomainClaimed")
    assert c["status"] == "False" and c["reason"] == "DomainAlreadyClaimed", c
    # Knative's MarkDomainClaimNotOwned: "The domain name is already in use by another ..."
    assert "already in use" in (condition(other, "Ready").get("message") or ""), other
    assert condition(knd.get("domainmappings", "app.example.org"), "Ready")["status"] == "True"
    assert {knd.curl("app.example.org").text for _ in range(5)} == {"Hello mine!\n"}


def test_knative_headers_at_the_app(knd):
    knd.apply(ksvc("hdr", marker=knd.marker))
    knd.wait_ready("hdr")
    knd.wait_serving(route_host("hdr"))
    info = knd.curl(route_host("hdr"), "/headers",
                    headers={"X-Forwarded-For": "10.1.2.3"}).json()
    h = info["headers"]
    assert info["host"] == route_host("hdr")
    assert info["revision"] == "hdr-00001"
    # Knative's routing headers are removed before the container (queue-proxy, SPEC d.2)
    assert "knative-serving-revision" not in h and "knative-serving-namespace" not in h, h
    # the proxy appends the peer to an existing X-Forwarded-For
    assert [x.strip() for x in h["x-forwarded-for"].split(",")] == ["10.1.2.3", "127.0.0.1"], h
    assert h["x-forwarded-proto"] == "http"
    fwd = h["forwarded"].lower()
    assert re.search(r"for=\"?127\.0\.0\.1", fwd) and "proto=http" in fwd, h["forwarded"]
    # a client cannot pick the revision by sending Knative's internal headers, and they are
    # not passed on either
    info = knd.curl(route_host("hdr"), "/headers", headers={
        "Knative-Serving-Revision": "evil", "Knative-Serving-Namespace": "evil"}).json()
    assert info["revision"] == "hdr-00001"
    assert "knative-serving-revision" not in info["headers"], info["headers"]
    assert "knative-serving-namespace" not in info["headers"], info["headers"]
