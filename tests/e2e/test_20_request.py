"""Requests through the ingress, and the runtime contract as the instance sees it (Knative's
conformance tests test/conformance/runtime: envvars, cmd_args, workingdir, header,
envpropagation; api/v1 service_test for routing)."""
import http.client
import json
import os
import re
import time

from conftest import DOMAIN, KND_TESTAPP, ksvc, route_host


def _deploy(knd, name="hello", **kw):
    knd.apply(ksvc(name, marker=knd.marker, **kw))
    knd.wait_ready(name)
    return knd.wait_serving(route_host(name))


def test_hello_through_ingress(knd):
    r = _deploy(knd, env={"TARGET": "e2e"})
    assert r.status == 200
    assert r.text == "Hello e2e!\n"
    # the port in Host is ignored; the cluster-local name routes too
    assert knd.curl(route_host("hello") + ":%d" % knd.http_port).text == "Hello e2e!\n"
    assert knd.curl("hello.default.svc.cluster.local").text == "Hello e2e!\n"
    assert knd.curl(route_host("hello").upper()).status == 200


def test_absolute_form_target_routes_by_its_authority(knd):
    """RFC 9112 3.2.2: the host of an absolute-form target wins over the Host header, and the
    app gets origin form with that host."""
    _deploy(knd)
    conn = http.client.HTTPConnection("127.0.0.1", knd.http_port, timeout=10)
    conn.request("GET", "http://%s/headers?x=1" % route_host("hello"),
                 headers={"Host": "nope.example"})  # sent as given: the target stays absolute
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 200, body
    info = json.loads(body)
    assert info["url"] == "/headers?x=1" and info["host"] == route_host("hello"), info


def test_unknown_host_is_404_naming_it(knd):
    r = knd.curl("nope.default." + DOMAIN)
    assert r.status == 404
    assert "nope.default." + DOMAIN in r.text
    assert r.headers.get("content-type", "").startswith("text/plain")


def test_knative_headers_seen_by_app(knd):
    _deploy(knd)
    r = knd.curl(route_host("hello"), "/headers?x=1", headers={"This-Was-User-Set": "a value"})
    assert r.status == 200
    info = r.json()
    h = info["headers"]
    assert info["path"] == "/headers" and info["url"] == "/headers?x=1"
    assert info["method"] == "GET"
    assert info["host"] == route_host("hello")
    assert info["revision"] == "hello-00001"
    # Knative's queue-proxy deletes its routing headers before the container (SPEC d.2)
    assert "knative-serving-revision" not in h and "knative-serving-namespace" not in h, h
    assert h["this-was-user-set"] == "a value"
    # MUST (runtime contract): Forwarded per RFC 7239
    assert "forwarded" in h, h
    for pair in re.split(r"[;,]", h["forwarded"]):
        if pair.strip():
            k, _, v = pair.strip().partition("=")
            assert re.match(r"^[0-9a-zA-Z!#$%&'*+.^_|~-]+$", k), h["forwarded"]
            assert re.match(r'^([0-9a-zA-Z!#$%&\'*+.^_|~-]+|"[^"]*")$', v), h["forwarded"]
    # SHOULD: X-Forwarded-For (IP list) and X-Forwarded-Proto
    assert all(re.match(r"^[0-9a-fA-F.:]+$", ip.strip())
               for ip in h["x-forwarded-for"].split(",")), h
    assert h["x-forwarded-proto"] in ("http", "https")


def test_runtime_contract_env(knd):
    """PORT, K_SERVICE, K_CONFIGURATION, K_REVISION and the container's env, valueFrom and
    envFrom (secretKeyRef, configMapKeyRef) as the process sees them."""
    knd.apply([
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "default"},
         "stringData": {"url": "postgres://db/x", "token": "s3cr3t"}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "default"},
         "data": {"mode": "fast", "LEVEL": "debug"}},
    ])
    _deploy(knd, env={
        "TARGET": "env",
        "DB_URL": {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "url"}}},
        "MODE": {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
    }, extra_container={"envFrom": [{"configMapRef": {"name": "settings"}},
                                    {"secretRef": {"name": "creds"}, "prefix": "S_"}]})
    env = knd.curl(route_host("hello"), "/env").json()
    assert env["K_SERVICE"] == "hello"
    assert env["K_CONFIGURATION"] == "hello"
    assert env["K_REVISION"] == "hello-00001"
    assert env["TARGET"] == "env"
    assert env["DB_URL"] == "postgres://db/x"
    assert env["MODE"] == "fast"
    assert env["LEVEL"] == "debug"
    assert env["S_token"] == "s3cr3t" and env["S_url"] == "postgres://db/x"
    port = int(env["PORT"])
    assert 0 < port < 65536
    # The instance listens on 127.0.0.1:$PORT (knd picks a free port per instance).
    pids = knd.instance_pids()
    assert len(pids) == 1
    listening = _listening_ports(pids[0])
    assert port in listening, (port, listening)


def _listening_ports(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", t)
        if m:
            inodes.add(m.group(1))
    ports = set()
    for line in open("/proc/%d/net/tcp" % pid).read().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and f[9] in inodes:
            ports.add(int(f[1].split(":")[1], 16))
    return ports


def test_cmd_args_and_working_dir(knd):
    """command + args become argv; workingDir the cwd (conformance cmd_args, workingdir)."""
    _deploy(knd, args=["--startup-delay-ms", "0"], working_dir="/tmp")
    pids = knd.instance_pids()
    assert len(pids) == 1
    argv = open("/proc/%d/cmdline" % pids[0], "rb").read().split(b"\0")[:-1]
    assert [a.decode() for a in argv] == [KND_TESTAPP, "--startup-delay-ms", "0"]
    assert os.readlink("/proc/%d/cwd" % pids[0]) == "/tmp"


def test_post_body_streams_to_app(knd):
    _deploy(knd)
    body = os.urandom(1 << 20)
    r = knd.curl(route_host("hello"), "/echo", method="POST", body=body,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200
    assert r.body == body


def test_many_sequential_requests_keep_working(knd):
    _deploy(knd)
    t0 = time.time()
    for i in range(200):
        r = knd.curl(route_host("hello"), "/")
        assert r.status == 200 and r.text == "Hello World!\n", (i, r)
    assert time.time() - t0 < 20


def test_two_services_two_namespaces(knd):
    knd.apply([ksvc("a", marker=knd.marker, env={"TARGET": "a"}),
               ksvc("a", ns="other", marker=knd.marker, env={"TARGET": "other-a"})])
    knd.wait_ready("a")
    knd.wait_ready("a", ns="other")
    assert knd.wait_serving(route_host("a")).text == "Hello a!\n"
    assert knd.wait_serving(route_host("a", "other")).text == "Hello other-a!\n"
    info = knd.curl(route_host("a", "other"), "/headers").json()
    assert info["revision"] == "a-00001"
    assert info["host"] == route_host("a", "other")
