"""The data plane between the ingress and the instances: the activator (hold during a cold
start, containerConcurrency, the 11 x CC bound, cancelled waiters), the request timeouts,
client-side protections, readiness gating, crash reporting and backoff, graceful drain.
Knative semantics: SPEC §c.2, §c.3, §d.3, §d.4, §d.5, §d.6."""
import socket
import threading
import time

from conftest import (allow_zero_initial_scale, app_get, burst, condition, create_at_zero,
                      instance_ports, ksvc, raw_connect, read_head, route_host, tag_host)

ZERO = {"autoscaling.knative.dev/initial-scale": "0", "autoscaling.knative.dev/min-scale": "0"}
ONE = {"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "1"}


def _deploy(knd, name="dp", **kw):
    knd.apply(ksvc(name, marker=knd.marker, **kw))
    knd.wait_ready(name)
    return knd.wait_serving(route_host(name))


def _timed_get(knd, host, path="/", timeout=30, headers=None):
    t0 = time.monotonic()
    r = knd.curl(host, path, timeout=timeout, headers=headers)
    return r, time.monotonic() - t0


# ------------------------------------------------------------------ activator


def test_initial_scale_zero_needs_the_cluster_flag(knd):
    """Knative's webhook rejects initial-scale 0 unless config-autoscaler allows it."""
    svc = ksvc("cold", marker=knd.marker, template_annotations=ZERO)
    rc, out, err = knd.cli("validate", "-f", knd.write(svc), check=False)
    assert rc == 2 and "not allowed by cluster" in out + err, (rc, out, err)
    rc, out, err = knd.apply(svc, check=False)
    assert rc == 2 and "not allowed by cluster" in out + err, (rc, out, err)
    allow_zero_initial_scale(knd)
    last = None

    def ok():
        nonlocal last
        last = knd.apply(svc, check=False)
        return last[0] == 0
    try:
        knd.wait_for(ok, "knd apply accepts initial-scale 0 once the cluster allows it", 5, 0.2)
    except AssertionError:
        raise AssertionError("apply still rejected: %r" % (last,))
    assert last[1].strip() == "service.serving.knative.dev/cold created"


def test_cold_start_from_zero_holds_the_request(knd):
    """initial-scale 0: the revision is Ready with no instance; the first request is held by the
    activator while an instance starts (STARTUP_DELAY_MS) and then served, not failed."""
    create_at_zero(knd, ksvc("cold", marker=knd.marker, template_annotations=ZERO,
                   env={"STARTUP_DELAY_MS": "700", "TARGET": "cold"}))
    knd.wait_ready("cold")
    time.sleep(0.5)
    assert knd.instance_pids() == [], "initial-scale 0 must start no instance before a request"
    r, took = _timed_get(knd, route_host("cold"))
    assert r.status == 200, r
    assert r.text == "Hello cold!\n"
    assert took >= 0.6, "served in %.2fs: the app needs 700 ms to listen" % took
    assert took < 10
    assert len(knd.instance_pids()) == 1
    # Knative starts no pod for initial-scale 0 before a request: one start in all.
    rc, out, err = knd.cli("logs", "ksvc", "cold")
    assert out.count("listening on") == 1, out
    # warm now: the next one does not wait for a start
    r, took = _timed_get(knd, route_host("cold"))
    assert r.status == 200 and took < 0.5, (r, took)


def test_cold_start_burst_all_served(knd):
    """Ten requests arriving at a revision with zero instances all wait and all succeed."""
    create_at_zero(knd, ksvc("cold", marker=knd.marker, template_annotations=ZERO,
                   env={"STARTUP_DELAY_MS": "300"}))
    knd.wait_ready("cold")
    res = burst(10, lambda i: knd.curl(route_host("cold"), "/?sleep=50", timeout=20))
    assert [getattr(r, "status", r) for r in res] == [200] * 10, res


def test_cc1_never_two_requests_at_one_instance(knd):
    """containerConcurrency 1 under a 50-client burst: no instance ever sees two requests."""
    _deploy(knd, extra_spec={"containerConcurrency": 1},
            template_annotations={"autoscaling.knative.dev/min-scale": "5"})
    ports = knd.wait_for(lambda: (lambda p: p if len(p) == 5 else None)(instance_ports(knd)),
                         "5 instances")
    res = burst(50, lambda i: knd.curl(route_host("dp"), "/?sleep=100", timeout=15))
    ok = [r for r in res if getattr(r, "status", None) == 200]
    for r in res:
        assert getattr(r, "status", None) in (200, 503), r
        if r.status == 503:
            assert "pending request queue full" in r.text, r
    assert len(ok) >= 11, res
    assert all(r.headers.get("x-inflight") == "1" for r in ok), \
        [r.headers.get("x-inflight") for r in ok]
    stats = [app_get(p, "/stats").json() for p in ports.values()]
    assert max(s["max_inflight"] for s in stats) == 1, stats
    assert sum(s["requests"] for s in stats) >= len(ok), stats


def test_cc1_queue_bound_is_11_x_cc(knd):
    """One instance, CC 1, target-burst-capacity 0 (so, as in Knative, the activator is out of
    the path once an instance is ready and the queue-proxy's breaker applies): 11 requests are
    admitted (1 running + 10 waiting); the 12th and later get 503 `pending request queue full`
    at once."""
    _deploy(knd, extra_spec={"containerConcurrency": 1},
            template_annotations=dict(ONE, **{"autoscaling.knative.dev/target-burst-capacity": "0"}))

    def one(i):
        t0 = time.monotonic()
        r = knd.curl(route_host("dp"), "/?sleep=400", timeout=15)
        return r, time.monotonic() - t0
    res = burst(20, one)
    for x in res:
        assert not isinstance(x, Exception), res
    ok = [(r, t) for r, t in res if r.status == 200]
    full = [(r, t) for r, t in res if r.status == 503]
    assert len(ok) == 11 and len(full) == 9, [(r.status, round(t, 2)) for r, t in res]
    for r, t in full:
        assert "pending request queue full" in r.text, r
        assert t < 1.0, "a rejected request must not wait (%.2fs)" % t
    port = list(instance_ports(knd).values())[0]
    assert app_get(port, "/stats").json()["max_inflight"] == 1


def test_queued_client_that_disconnects_is_not_sent(knd):
    _deploy(knd, extra_spec={"containerConcurrency": 1}, template_annotations=ONE)
    port = list(instance_ports(knd).values())[0]
    before = app_get(port, "/stats").json()["requests"]
    holder = {}
    t = threading.Thread(target=lambda: holder.setdefault(
        "r", knd.curl(route_host("dp"), "/?sleep=1500", timeout=20)))
    t.start()
    time.sleep(0.3)
    socks = []
    for i in range(5):
        s = raw_connect(knd)
        s.sendall(("GET /?gone=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, route_host("dp"))).encode())
        socks.append(s)
    time.sleep(0.4)
    for s in socks:  # they are queued behind the sleeping request; now they go away
        s.close()
    t.join(20)
    assert holder["r"].status == 200
    time.sleep(0.5)
    after = app_get(port, "/stats").json()["requests"]
    assert after - before == 1, "disconnected waiters reached the app (%d requests)" % (
        after - before)
    assert knd.curl(route_host("dp")).status == 200


# ------------------------------------------------------------------ timeouts


def test_timeout_seconds_gives_504(knd):
    _deploy(knd, extra_spec={"timeoutSeconds": 1})
    r, took = _timed_get(knd, route_host("dp"), "/?sleep=4000")
    assert r.status == 504, r
    assert "request timeout" in r.text, r
    assert 0.9 <= took < 3, took
    assert knd.curl(route_host("dp"), "/?sleep=200").status == 200


def test_response_start_timeout_gives_504(knd):
    _deploy(knd, extra_spec={"timeoutSeconds": 20, "responseStartTimeoutSeconds": 1})
    r, took = _timed_get(knd, route_host("dp"), "/?sleep=4000")
    assert r.status == 504, r
    assert 0.9 <= took < 3, took
    # Once the response started, the start timeout no longer applies: a slow body is fine.
    r, took = _timed_get(knd, route_host("dp"), "/?bytes=3&chunk_size=1&chunk_delay_ms=700")
    assert r.status == 200 and r.body == b"abc", r
    assert took >= 1.3


def _read_until_close(s, limit):
    data = b""
    s.settimeout(limit)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            if data.endswith(b"\r\n0\r\n\r\n"):
                break
    except socket.timeout:
        pass
    return data


def test_idle_timeout_truncates_a_stalled_stream(knd):
    _deploy(knd, extra_spec={"timeoutSeconds": 30, "idleTimeoutSeconds": 1})
    host = route_host("dp")
    # Writes every 300 ms keep the idle clock from firing.
    r = knd.curl(host, "/?bytes=5&chunk_size=1&chunk_delay_ms=300&chunked=1")
    assert r.status == 200 and r.body == b"abcde", r
    # A writer that stalls 3 s between bytes is cut after ~1 s of silence.
    s = raw_connect(knd)
    t0 = time.monotonic()
    s.sendall(("GET /?bytes=4&chunk_size=1&chunk_delay_ms=3000&chunked=1 HTTP/1.1\r\n"
               "Host: %s\r\nConnection: close\r\n\r\n" % host).encode())
    data = _read_until_close(s, 8)
    took = time.monotonic() - t0
    s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    body = data.split(b"\r\n\r\n", 1)[1]
    assert b"\r\na\r\n" in b"\r\n" + body, body  # the first byte made it through
    assert b"\r\nb\r\n" not in body, "the stream was not cut at the stall: %r" % body
    assert took < 2.8, "the idle timeout fired after %.2fs" % took


def test_slowloris_gets_408_while_others_are_served(knd):
    """A client trickling its request head gets 408 after ~10 s; others are served meanwhile."""
    _deploy(knd)
    host = route_host("dp")
    head = ("GET / HTTP/1.1\r\nHost: %s\r\nX-Slow: %s\r\n\r\n" % (host, "z" * 40)).encode()
    s = raw_connect(knd, timeout=20)
    t0 = time.monotonic()
    got = b""
    served = 0
    i = 0
    while time.monotonic() - t0 < 16 and not got:
        if i < len(head) - 4:
            try:
                s.sendall(head[i:i + 1])
            except OSError:
                pass
            i += 1
        s.settimeout(0.25)
        try:
            got = s.recv(4096)
            if not got:
                got = b"<closed>"
        except socket.timeout:
            pass
        if i % 2 == 0:  # meanwhile, ordinary clients get fast answers
            r, took = _timed_get(knd, host, timeout=5)
            assert r.status == 200 and took < 1, (r, took)
            served += 1
    took = time.monotonic() - t0
    s.close()
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert 8 <= took <= 13, "408 after %.2fs, want ~10 s" % took
    assert served >= 10
    assert knd.curl(host).status == 200


def test_64k_header_gets_431_and_daemon_keeps_serving(knd):
    _deploy(knd)
    host = route_host("dp")
    s = raw_connect(knd)
    s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n"
               % (host, "a" * 65536)).encode())
    status, _, _ = read_head(s)
    s.close()
    assert status == 431
    for _ in range(5):
        assert knd.curl(host).status == 200


# ------------------------------------------------------------------ probes


def _http_probe(period=0, **kw):
    p = {"httpGet": {"path": "/healthz"}, "periodSeconds": period}
    p.update(kw)
    return {"readinessProbe": p}


def test_readiness_probe_gates_a_cold_start(knd):
    """Scale from zero with an httpGet readiness probe: the app listens at once but /healthz
    says 503 for 1.5 s; the request waits for readiness instead of failing."""
    create_at_zero(knd, ksvc("dp", marker=knd.marker, template_annotations=ZERO,
                   env={"READY_DELAY_MS": "1500"}, extra_container=_http_probe()))
    knd.wait_ready("dp")
    r, took = _timed_get(knd, route_host("dp"), "/stats")
    assert r.status == 200, r
    assert r.json()["ready"] is True, r
    assert took >= 1.4, took


def test_readiness_failure_holds_requests_until_ready_again(knd):
    _deploy(knd, extra_container=_http_probe(period=1, failureThreshold=1, successThreshold=1),
            template_annotations=ONE)
    port = list(instance_ports(knd).values())[0]
    assert app_get(port, "/toggle-ready").json() == {"ready": False}
    time.sleep(2.5)  # the periodic probe notices
    holder = {}
    t = threading.Thread(target=lambda: holder.setdefault(
        "r", _timed_get(knd, route_host("dp"), timeout=20)))
    t.start()
    time.sleep(1.0)
    assert t.is_alive(), "request to a not-ready instance was answered: %r" % (holder,)
    assert app_get(port, "/toggle-ready").json() == {"ready": True}
    t.join(15)
    r, took = holder["r"]
    assert r.status == 200, r
    assert took >= 1.0


def test_crashing_app_reports_exit_code_and_stderr(knd):
    knd.apply(ksvc("dp", marker=knd.marker, env={"FAIL_START": "1"}))

    def failed():
        rev = knd.get("revisions", "dp-00001")
        c = condition(rev, "Ready") if rev else None
        return c if c and c.get("status") == "False" else None
    c = knd.wait_for(failed, "revision Ready=False", 20)
    assert c["reason"] == "ExitCode1", c
    assert "FAIL_START=1, refusing to start" in c.get("message", ""), c
    assert condition(knd.get("services", "dp"), "Ready")["status"] == "False"


def test_crash_restart_backoff(knd):
    """The second start of a crashing app comes >= 10 s after the first (CrashLoopBackOff)."""
    knd.apply(ksvc("dp", marker=knd.marker, env={"FAIL_START": "1"}))
    starts = []
    seen = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 22 and len(starts) < 2:
        rc, out, err = knd.cli("logs", "ksvc", "dp", check=False)
        n = out.count("refusing to start")
        if n > seen:
            starts.extend([time.monotonic()] * (n - seen))
            seen = n
        time.sleep(0.2)
    assert len(starts) >= 2, "only %d start(s) in 22 s" % len(starts)
    gap = starts[1] - starts[0]
    assert 9.5 <= gap <= 15, "second start %.2fs after the first" % gap


# ------------------------------------------------------------------ graceful drain


def test_delete_service_lets_inflight_request_finish(knd):
    _deploy(knd)
    holder = {}
    t = threading.Thread(target=lambda: holder.setdefault(
        "r", knd.curl(route_host("dp"), "/?sleep=2000", timeout=20)))
    t.start()
    time.sleep(0.5)
    knd.cli("delete", "ksvc", "dp")
    t.join(20)
    r = holder.get("r")
    assert r is not None and r.status == 200, r
    assert r.text == "Hello World!\n"
    knd.wait_for(lambda: knd.instance_pids() == [], "instances gone", 15)
    assert knd.curl(route_host("dp")).status == 404


def _load(knd, host, seconds, nthreads=4):
    """Requests in a loop on nthreads threads; returns (Counter of bodies/statuses, errors)."""
    from collections import Counter
    stop = time.monotonic() + seconds
    seen, errors = Counter(), []
    lock = threading.Lock()

    def run():
        while time.monotonic() < stop:
            try:
                r = knd.curl(host, timeout=10)
                key = r.text.strip() if r.status == 200 else "HTTP %d %s" % (r.status, r.text[:80])
            except Exception as e:  # noqa: BLE001
                key = None
                with lock:
                    errors.append(repr(e))
            if key:
                with lock:
                    seen[key] += 1
    ts = [threading.Thread(target=run) for _ in range(nthreads)]
    for t in ts:
        t.start()
    return ts, seen, errors


def test_blue_green_switch_under_load_has_no_errors(knd):
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-blue", env={"TARGET": "blue"}))
    knd.wait_ready("bg")
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-green", env={"TARGET": "green"},
                   traffic=[{"revisionName": "bg-blue", "percent": 100, "tag": "blue"},
                            {"revisionName": "bg-green", "percent": 0, "tag": "green"}]))
    knd.wait_ready("bg")
    knd.wait_serving(tag_host("green", "bg"))
    ts, seen, errors = _load(knd, route_host("bg"), 3.0)
    time.sleep(1.0)
    knd.apply(ksvc("bg", marker=knd.marker, template_name="bg-green", env={"TARGET": "green"},
                   traffic=[{"revisionName": "bg-blue", "percent": 0, "tag": "blue"},
                            {"revisionName": "bg-green", "percent": 100, "tag": "green"}]))
    for t in ts:
        t.join(20)
    bad = {k: v for k, v in seen.items() if k not in ("Hello blue!", "Hello green!")}
    assert not errors and not bad, (errors[:5], bad)
    assert seen["Hello blue!"] > 0 and seen["Hello green!"] > 0, seen
    assert knd.curl(route_host("bg")).text == "Hello green!\n"

