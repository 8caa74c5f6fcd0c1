"""Invalid input never changes the store and never hurts the daemon: manifests through
`knd apply` (exit 2, Knative's message), and malformed requests straight to the API."""
import glob
import json
import os
import socket

from conftest import FIXTURES, ksvc, route_host

INVALID = sorted(p for p in glob.glob(os.path.join(FIXTURES, "invalid", "*.yaml")))


def _snapshot(knd):
    out = {}
    for kind in ("ksvc", "revision", "route", "configuration"):
        rc, o, e = knd.cli("get", kind, "-o", "json")
        out[kind] = json.loads(o)
    return out


def _expected(path):
    with open(path[:-len(".yaml")] + ".err") as f:
        return [l for l in f.read().splitlines() if l.strip()]


def test_invalid_manifests_apply(knd):
    """Every tests/fixtures/invalid manifest, against one running daemon."""
    knd.apply(ksvc("keep", marker=knd.marker))
    knd.wait_ready("keep")
    before = _snapshot(knd)
    problems = []
    for path in INVALID:
        name = os.path.basename(path)
        rc, out, err = knd.cli("apply", "-f", path, check=False)
        text = out + err
        if rc != 2:
            problems.append("%s: rc %d, want 2: %s" % (name, rc, text.strip()))
        for line in _expected(path):
            # FILE:LINE:COL: path: message -> "path: message" (line:col mapping is the CLI's)
            tail = line.split(": ", 1)[1]
            if tail not in text:
                problems.append("%s: missing %r in: %s" % (name, tail, text.strip()))
        if _snapshot(knd) != before:
            problems.append("%s: the store changed" % name)
            before = _snapshot(knd)
    assert not problems, "\n".join(problems)
    assert knd.curl(route_host("keep")).status == 200
    assert knd.admin("GET", "/healthz").status == 200


def test_invalid_update_keeps_old_object(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    before = _snapshot(knd)
    bad = ksvc("hello", marker=knd.marker)
    bad["spec"]["template"]["spec"]["containerConcurrency"] = 2000
    rc, out, err = knd.apply(bad, check=False)
    assert rc == 2
    assert "expected 0 <= 2000 <= 1000" in err + out
    assert "spec.template.spec.containerConcurrency" in err + out
    assert _snapshot(knd) == before
    assert knd.curl(route_host("hello")).status == 200


def test_valid_documents_before_an_invalid_one(knd):
    """A stream is validated whole before anything is sent: one bad document means nothing is
    applied (never a half-applied stream), and the error names the bad one."""
    before = _snapshot(knd)
    bad = ksvc("bad", marker=knd.marker)
    bad["spec"]["template"]["spec"]["timeoutSeconds"] = 601
    rc, out, err = knd.apply([ksvc("good", marker=knd.marker), bad], check=False)
    assert rc == 2
    assert "created" not in out
    assert "expected 0 <= 601 <= 600" in err
    assert knd.get("services", "good") is None
    assert knd.get("services", "bad") is None
    assert _snapshot(knd) == before


# ---------------------------------------------------------------------- the API directly

SVCS = "/apis/serving.knative.dev/v1/namespaces/default/services"


def _status(r, code, reason):
    assert r.status == code, r
    s = r.json()
    assert s["kind"] == "Status" and s["apiVersion"] == "v1", s
    assert s["status"] == "Failure" and s["code"] == code and s["reason"] == reason, s
    assert s["message"]
    return s


def test_api_malformed_json(knd):
    _status(knd.api("POST", SVCS, b'{"apiVersion": "serving.knative.dev/v1", "kind": '),
            400, "BadRequest")
    _status(knd.api("POST", SVCS, b"[1, 2, 3]"), 400, "BadRequest")


def test_api_unknown_path_and_method(knd):
    _status(knd.api("GET", "/apis/nope.example.com/v1/namespaces/default/things"), 404, "NotFound")
    _status(knd.api("GET", "/definitely/not/here"), 404, "NotFound")
    _status(knd.api("PATCH", SVCS), 405, "MethodNotAllowed")
    _status(knd.api("POST", SVCS + "/hello", ksvc("hello", marker=knd.marker)),
            405, "MethodNotAllowed")


def test_api_not_found_and_already_exists(knd):
    s = _status(knd.api("GET", SVCS + "/nope"), 404, "NotFound")
    assert s["details"]["name"] == "nope"
    assert 'services.serving.knative.dev "nope" not found' == s["message"]
    obj = ksvc("hello", marker=knd.marker)
    r = knd.api("POST", SVCS, obj)
    assert r.status == 201, r
    created = r.json()
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    _status(knd.api("POST", SVCS, obj), 409, "AlreadyExists")
    stale = dict(created)
    stale["metadata"] = dict(created["metadata"], resourceVersion="1")
    if created["metadata"]["resourceVersion"] != "1":
        _status(knd.api("PUT", SVCS + "/hello", stale), 409, "Conflict")
    _status(knd.api("DELETE", SVCS + "/nope"), 404, "NotFound")
    r = knd.api("DELETE", SVCS + "/hello")
    assert r.status == 200 and r.json()["status"] == "Success", r


def test_api_invalid_object_is_422_with_causes(knd):
    obj = ksvc("hello", marker=knd.marker)
    obj["spec"]["template"]["spec"]["containerConcurrency"] = 2000
    s = _status(knd.api("POST", SVCS, obj), 422, "Invalid")
    assert s["message"].startswith(
        'admission webhook "validation.webhook.serving.knative.dev" denied the request: '
        "validation failed: ")
    assert "expected 0 <= 2000 <= 1000: spec.template.spec.containerConcurrency" in s["message"]
    causes = s["details"]["causes"]
    assert {"field": "spec.template.spec.containerConcurrency",
            "message": "expected 0 <= 2000 <= 1000"} in \
        [{"field": c["field"], "message": c["message"]} for c in causes]
    assert knd.get("services", "hello") is None


def test_api_field_validation_default_strict_warn_ignore(knd):
    """The apiserver's fieldValidation on a body whose only problems are unknown fields."""
    obj = ksvc("fv", marker=knd.marker)
    obj["spec"]["template"]["spec"]["nosuchfield"] = 1
    obj["spec"]["template"]["spec"]["containers"][0]["alsonot"] = "x"
    unknown = ["spec.template.spec.containers[0].alsonot", "spec.template.spec.nosuchfield"]
    # No fieldValidation: Knative's webhook answers, 422.
    s = _status(knd.api("POST", SVCS, obj), 422, "Invalid")
    for f in unknown:
        assert f in s["message"], s
    # Strict: the apiserver's own decoding error, 400, every field named.
    s = _status(knd.api("POST", SVCS + "?fieldValidation=Strict", obj), 400, "BadRequest")
    assert s["message"].startswith('Service in version "v1" cannot be handled as a Service: '
                                   "strict decoding error: "), s
    for f in unknown:
        assert 'unknown field "%s"' % f in s["message"], s
    assert knd.get("services", "fv") is None
    # Warn: stored without them, and one Warning header (code 299) per dropped field.
    r = knd.api("POST", SVCS + "?fieldValidation=Warn", obj)
    assert r.status == 201, r
    assert sorted(r.header_values("Warning")) == sorted(
        '299 - "unknown field \\"%s\\""' % f for f in unknown), r.header_list
    spec = knd.get("services", "fv")["spec"]["template"]["spec"]
    assert "nosuchfield" not in spec and "alsonot" not in spec["containers"][0], spec
    # The same on a replace. The controller writes the Service's status meanwhile: on a 409
    # the read-modify-write starts again, as any client of optimistic concurrency does.
    for _ in range(20):
        cur = knd.get("services", "fv")
        cur["spec"]["template"]["spec"]["nosuchfield"] = 2
        r = knd.api("PUT", SVCS + "/fv?fieldValidation=Warn", cur)
        if r.status != 409:
            break
    assert r.status == 200, r
    assert r.header_values("Warning") == [
        '299 - "unknown field \\"spec.template.spec.nosuchfield\\""'], r.header_list
    # Ignore: dropped without a word; and a clean body never carries a warning.
    obj["metadata"]["name"] = "fv2"
    r = knd.api("POST", SVCS + "?fieldValidation=Ignore", obj)
    assert r.status == 201 and r.header_values("Warning") == [], r
    clean = ksvc("fv3", marker=knd.marker)
    r = knd.api("POST", SVCS + "?fieldValidation=Warn", clean)
    assert r.status == 201 and r.header_values("Warning") == [], r


def test_api_namespace_mismatch(knd):
    obj = ksvc("hello", ns="other", marker=knd.marker)
    s = _status(knd.api("POST", SVCS, obj), 400, "BadRequest")
    assert "does not match the namespace" in s["message"]


def test_api_oversized_body_is_413(knd):
    """Bodies over 3 MiB get 413 RequestEntityTooLarge, even if the server stops reading."""
    size = 4 << 20
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(knd.sock)
    head = ("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (SVCS, size)).encode()
    s.sendall(head)
    chunk = b" " * 65536
    try:
        for _ in range(size // len(chunk)):
            s.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        pass
    s.close()
    status_line = data.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), data[:200]
    body = json.loads(data.split(b"\r\n\r\n", 1)[1] or b"{}")
    assert body.get("reason") == "RequestEntityTooLarge" and body.get("code") == 413, body
    assert knd.admin("GET", "/healthz").status == 200
    assert knd.api("GET", SVCS).status == 200


def test_api_garbage_request_line(knd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(knd.sock)
    s.sendall(b"\x00\x01GARBAGE\r\n\r\n")
    data = s.recv(4096)
    s.close()
    assert data == b"" or data.startswith(b"HTTP/1.1 400"), data
    assert knd.api("GET", SVCS).status == 200


def test_chunked_trailers_after_an_early_answer_keep_the_daemon_up(knd):
    """A chunked body with trailers to an unknown host: the 404 goes out from the head, and the
    trailers that follow in the same packet must not reach a request that no longer exists."""
    import socket
    s = socket.create_connection(("127.0.0.1", knd.http_port), timeout=5)
    s.sendall(b"POST / HTTP/1.1\r\nHost: nope.example\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n0\r\nX-Trailer: a\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 404"), data
    # and the same against the control API socket
    import socket as so
    u = so.socket(so.AF_UNIX, so.SOCK_STREAM)
    u.connect(knd.sock_path if hasattr(knd, "sock_path") else knd.state_dir + "/knd.sock")
    u.sendall(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"2\r\n{}\r\n0\r\nX-Trailer: a\r\n\r\n")
    assert u.recv(4096).startswith(b"HTTP/1.1 404")
    u.close()
    r = knd.api("GET", "/healthz")
    assert r.status == 200
