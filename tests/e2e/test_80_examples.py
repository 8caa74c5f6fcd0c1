"""The manifests under examples/ do what examples/README.md says: they validate offline, and on a
live daemon hello/ greets, blue-green/ moves traffic and tags step by step, and resimate/ runs the
seed's four Flask services behind their routes, tags and DomainMappings.

The examples name their commands relative to the repository root (knd's working directory under
`make demo`). The e2e daemon runs in a temp directory and the suite's test app may live in another
build directory (build-asan), so each manifest is copied with two local rewrites before it is
applied: a `build/tests/apps/knd-testapp` command becomes $KND_TESTAPP, and a container whose
command is a relative script path (resimate's `examples/resimate/app.py`) gets `workingDir` set to
the repository root, so the example's command itself runs verbatim. Every container also gets the
test's KND_E2E_RUN marker so the after-test checks see its processes. Nothing else changes.
"""
import glob
import json
import os
import time
from collections import Counter

import pytest
import yaml

from conftest import DOMAIN, KND_TESTAPP, SRC, cli_offline, condition, route_host, tag_host

EXAMPLES = os.path.join(SRC, "examples")
MANIFESTS = sorted(glob.glob(os.path.join(EXAMPLES, "**", "*.yaml"), recursive=True))
TESTAPP_IN_EXAMPLES = "build/tests/apps/knd-testapp"
RESIMATE_NS = "resimate-apis"
RESIMATE = ["core-model-api", "campaigns-api", "users-api", "notification-service"]


# ------------------------------------------------------------------ helpers


def example_docs(knd, relpath):
    """The documents of examples/<relpath>, rewritten for this daemon (see the module comment)."""
    with open(os.path.join(EXAMPLES, relpath)) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for d in docs:
        if d.get("kind") != "Service":
            continue
        for c in d["spec"]["template"]["spec"]["containers"]:
            cmd = c.get("command") or []
            if cmd and cmd[0] == TESTAPP_IN_EXAMPLES:
                c["command"] = [KND_TESTAPP] + cmd[1:]
            elif any(not a.startswith("/") and os.path.exists(os.path.join(SRC, a))
                     for a in cmd[1:]):
                c["workingDir"] = SRC
            c.setdefault("env", []).append({"name": "KND_E2E_RUN", "value": knd.marker})
    return docs


def apply_example(knd, relpath):
    rc, out, err = knd.apply(example_docs(knd, relpath))
    return out


def texts(knd, host, n):
    return Counter(knd.curl(host).text for _ in range(n))


def wait_text(knd, host, want, path="/", timeout=20):
    def ok():
        try:
            r = knd.curl(host, path, timeout=5)
        except OSError:
            return None
        return r if r.status == 200 and r.text == want else None
    return knd.wait_for(ok, "%s%s -> %r" % (host, path, want), timeout, 0.1)


def json_body(r):
    assert r.headers.get("content-type", "").startswith("application/json"), r
    return json.loads(r.body)


# ------------------------------------------------------------------ offline


def test_examples_are_found():
    names = {os.path.relpath(p, EXAMPLES) for p in MANIFESTS}
    assert {"hello/service.yaml", "blue-green/01-blue.yaml", "blue-green/02-green.yaml",
            "blue-green/03-switch.yaml", "resimate/00-secrets.yaml",
            "resimate/90-domainmappings.yaml"} <= names, names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: os.path.relpath(p, EXAMPLES))
def test_example_validates(path):
    rc, out, err = cli_offline("validate", "-f", path)
    assert rc == 0, "rc %d\nstdout: %s\nstderr: %s" % (rc, out, err)
    assert err.strip() == ""
    with open(path) as f:
        ndocs = len([d for d in yaml.safe_load_all(f) if d])
    assert "%d objects valid" % ndocs in out, out


def test_example_directories_validate_as_a_whole():
    for d in ("hello", "blue-green", "resimate"):
        rc, out, err = cli_offline("validate", "-f", os.path.join(EXAMPLES, d))
        assert rc == 0, "%s: rc %d\n%s%s" % (d, rc, out, err)


# ------------------------------------------------------------------ hello/


def test_hello(knd):
    out = apply_example(knd, "hello/service.yaml")
    assert out.strip() == "service.serving.knative.dev/hello created"
    knd.cli("wait", "ksvc", "hello", "--for=condition=Ready", "--timeout", "30s")
    svc = knd.wait_ready("hello")
    assert svc["status"]["url"] == "http://hello.default." + DOMAIN
    r = knd.wait_serving(route_host("hello"))
    assert r.text == "Hello knd!\n"
    assert r.headers["x-app-revision"] == "hello-00001"


# ------------------------------------------------------------------ blue-green/


def test_blue_green_steps(knd):
    blue, green = "Hello blue!\n", "Hello green!\n"
    apply_example(knd, "blue-green/01-blue.yaml")
    svc = knd.wait_ready("hello")
    assert svc["status"]["latestReadyRevisionName"] == "hello-blue"
    wait_text(knd, route_host("hello"), blue)
    wait_text(knd, tag_host("blue", "hello"), blue)

    # Step 2: green deployed next to blue, all traffic stays on blue.
    out = apply_example(knd, "blue-green/02-green.yaml")
    assert out.strip() == "service.serving.knative.dev/hello configured"
    svc = knd.wait_ready("hello")
    st = svc["status"]
    assert st["latestCreatedRevisionName"] == "hello-green"
    assert st["latestReadyRevisionName"] == "hello-green"
    base = "http://%%s-hello.default.%s" % DOMAIN
    assert [(t["revisionName"], t["percent"], t.get("tag"), t.get("url"))
            for t in st["traffic"]] == [
        ("hello-blue", 100, "blue", base % "blue"),
        ("hello-green", 0, "green", base % "green"),
        ("hello-green", 0, "latest", base % "latest"),
    ]
    wait_text(knd, tag_host("green", "hello"), green)
    wait_text(knd, tag_host("latest", "hello"), green)
    assert texts(knd, route_host("hello"), 20) == Counter({blue: 20})
    assert texts(knd, tag_host("blue", "hello"), 5) == Counter({blue: 5})
    assert texts(knd, tag_host("green", "hello"), 5) == Counter({green: 5})

    # Step 3: the switch. Same template and name: no new revision.
    out = apply_example(knd, "blue-green/03-switch.yaml")
    assert out.strip() == "service.serving.knative.dev/hello configured"
    wait_text(knd, route_host("hello"), green)
    svc = knd.wait_ready("hello")
    assert [(t["revisionName"], t["percent"], t.get("tag")) for t in svc["status"]["traffic"]] \
        == [("hello-green", 100, "green"), ("hello-blue", 0, "blue")]
    assert sorted(r["metadata"]["name"] for r in knd.list("revisions")) == \
        ["hello-blue", "hello-green"]
    assert texts(knd, route_host("hello"), 20) == Counter({green: 20})
    assert texts(knd, tag_host("blue", "hello"), 5) == Counter({blue: 5})
    # 03 has no `latest` tag any more: its host is gone.
    knd.wait_for(lambda: knd.curl(tag_host("latest", "hello")).status == 404, "latest tag gone")

    # Rollback, as the README says: apply 02 again.
    apply_example(knd, "blue-green/02-green.yaml")
    wait_text(knd, route_host("hello"), blue)
    assert texts(knd, route_host("hello"), 10) == Counter({blue: 10})
    assert len(knd.list("revisions")) == 2


# ------------------------------------------------------------------ resimate/


def _resimate_dir(knd):
    """The resimate manifests, rewritten, in a directory of their own (apply -f DIR, as the
    README does: file names order the secrets first)."""
    d = os.path.join(knd.work_dir, "resimate")
    os.mkdir(d)
    for p in sorted(glob.glob(os.path.join(EXAMPLES, "resimate", "*.yaml"))):
        docs = example_docs(knd, os.path.relpath(p, EXAMPLES))
        with open(os.path.join(d, os.path.basename(p)), "w") as f:
            f.write("".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in docs))
    return d


def test_resimate(knd):
    rc, out, err = knd.cli("apply", "-f", _resimate_dir(knd))
    assert out.splitlines() == [
        "secret/database-credentials created",
        "secret/redis-credentials created",
        "service.serving.knative.dev/core-model-api created",
        "service.serving.knative.dev/campaigns-api created",
        "service.serving.knative.dev/users-api created",
        "service.serving.knative.dev/notification-service created",
        "domainmapping.serving.knative.dev/api.resimate.io created",
        "domainmapping.serving.knative.dev/campaigns.api.resimate.io created",
    ], (out, err)
    t0 = time.time()
    svcs = {}
    for name in RESIMATE:
        svcs[name] = knd.wait_ready(name, RESIMATE_NS, timeout=max(1, 30 - (time.time() - t0)))

    revs = {"core-model-api": "core-model-api-00001", "campaigns-api": "campaigns-api-blue",
            "users-api": "users-api-stable", "notification-service": "notification-service-v3"}
    for name in RESIMATE:
        host = route_host(name, RESIMATE_NS)
        assert svcs[name]["status"]["url"] == "http://" + host
        assert svcs[name]["status"]["latestReadyRevisionName"] == revs[name]
        r = knd.wait_serving(host, "/health/ready")
        assert json_body(r) == {"status": "ready"}
        r = knd.curl(host, "/health/live")
        assert r.status == 200 and json_body(r) == {"status": "alive"}
        idx = json_body(knd.curl(host, "/"))
        assert idx["service"] == name and idx["revision"] == revs[name], idx
        assert idx["configuration"] == name
        # only core-model-api reads the secrets (secretKeyRef)
        assert idx["database"] is (name == "core-model-api"), idx
        assert idx["redis"] is (name == "core-model-api"), idx

    core = route_host("core-model-api", RESIMATE_NS)
    models = json_body(knd.curl(core, "/models"))["models"]
    assert [m["id"] for m in models] == ["m1", "m2"]
    r = knd.curl(core, "/predict", "POST", {"Content-Type": "application/json"},
                 json.dumps({"model": "m1", "features": [0.2, 0.4]}))
    assert r.status == 200 and json_body(r) == {"model": "m1", "score": 0.3}

    camp = route_host("campaigns-api", RESIMATE_NS)
    r = knd.curl(camp, "/campaigns", "POST", {"Content-Type": "application/json"},
                 json.dumps({"name": "spring"}))
    assert r.status == 201, r
    c = json_body(r)
    assert c["name"] == "spring" and c["status"] == "draft"

    users = route_host("users-api", RESIMATE_NS)
    assert json_body(knd.curl(users, "/users/u1")) == {"id": "u1", "name": "Ada"}
    assert knd.curl(users, "/users/nobody").status == 404
    assert knd.curl(users, "/models").status == 404  # each service only has its own endpoints

    notes = route_host("notification-service", RESIMATE_NS)
    r = knd.curl(notes, "/notify", "POST", {"Content-Type": "application/json"},
                 json.dumps({"to": "ops", "message": "deployed"}))
    assert r.status == 202 and json_body(r)["queued"] is True

    # The tags of the seed's revision names.
    for tag, name in (("blue", "campaigns-api"), ("latest", "campaigns-api"),
                      ("stable", "users-api"), ("v3", "notification-service")):
        r = knd.wait_serving(tag_host(tag, name, RESIMATE_NS), "/health/ready")
        assert json_body(knd.curl(tag_host(tag, name, RESIMATE_NS), "/"))["service"] == name

    # DomainMappings: the custom hosts route to their Services.
    for dm, name in (("api.resimate.io", "core-model-api"),
                     ("campaigns.api.resimate.io", "campaigns-api")):
        obj = knd.wait_ready(dm, RESIMATE_NS, resource="domainmappings", timeout=15)
        assert obj["status"]["url"] == "http://" + dm
        r = knd.wait_serving(dm, "/health/ready")
        assert json_body(r) == {"status": "ready"}
        assert json_body(knd.curl(dm, "/"))["service"] == name
    assert [m["id"] for m in json_body(knd.curl("api.resimate.io", "/models"))["models"]] == \
        ["m1", "m2"]
    assert "campaigns" in json_body(knd.curl("campaigns.api.resimate.io", "/campaigns"))

    # Scale bounds from the template annotations: min-scale 3 (HPA) and 1 (users-api).
    def replicas(rev):
        return (knd.get("revisions", rev, RESIMATE_NS)["status"] or {}).get("actualReplicas")
    knd.wait_for(lambda: replicas("notification-service-v3") == 3,
                 "notification-service-v3 at min-scale 3", 20)
    assert replicas("users-api-stable") >= 1
    ready = condition(knd.get("revisions", "notification-service-v3", RESIMATE_NS), "Ready")
    assert ready["status"] == "True"
