"""Observability: /metrics in Prometheus text format with Knative's legacy names (checked by
promtool and scraped by a real Prometheus), and the JSON request log of config-observability."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ksvc, route_host


def _metrics(knd):
    r = knd.admin("GET", "/metrics")
    assert r.status == 200
    return r.text


def _series(text, name):
    return [l for l in text.splitlines() if l.startswith(name + "{") or l.startswith(name + " ")]


def test_metrics_have_knative_names_and_pass_promtool(knd):
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    for _ in range(5):
        assert knd.curl(route_host("hello")).status == 200
    assert knd.curl(route_host("hello"), "/?status=503").status == 503
    text = _metrics(knd)
    labels = ('namespace_name="default",service_name="hello",configuration_name="hello",'
              'revision_name="hello-00001"')
    assert ('revision_request_count{%s,response_code="200",response_code_class="2xx"} 5' % labels
            in text.splitlines()), _series(text, "revision_request_count")
    assert ('revision_request_count{%s,response_code="503",response_code_class="5xx"} 1' % labels
            in text.splitlines())
    assert 'revision_request_latencies_count{%s} 6' % labels in text.splitlines()
    assert 'revision_request_latencies_bucket{%s,le="+Inf"} 6' % labels in text.splitlines()
    for name in ("activator_request_concurrency", "autoscaler_desired_pods",
                 "autoscaler_actual_pods", "autoscaler_panic_mode",
                 "knd_revision_cold_starts_total", "process_resident_memory_bytes"):
        assert _series(text, name), name
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus; make test installs it)")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    # The exposition parses and passes every lint, Knative's names included (docs/metrics.md:
    # the two counters Knative named without _total are declared untyped).
    assert p.returncode == 0 and (p.stdout + p.stderr).strip() == "", p.stdout + p.stderr


def test_request_log_json_lines(knd):
    log = os.path.join(tempfile.mkdtemp(prefix="knd-e2e-reqlog-"), "requests.log")
    knd.apply({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "config-observability", "namespace": "knative-serving"},
               "data": {"logging.enable-request-log": "true", "logging.request-log-path": log}})
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    assert knd.curl(route_host("hello"), "/some/path?x=1").status == 200

    def lines():
        if not os.path.exists(log):
            return None
        got = [json.loads(l) for l in open(log).read().splitlines() if l]
        return got or None
    entries = knd.wait_for(lines, "a request log line", 5)
    e = entries[-1]
    assert e["method"] == "GET" and e["path"] == "/some/path?x=1"
    assert e["host"] == route_host("hello") and e["status"] == 200
    assert e["revision"] == "hello-00001" and e["namespace"] == "default"
    assert e["instance"].startswith("hello-00001-")
    assert e["bytes_out"] == len("Hello World!\n") and e["bytes_in"] == 0
    for k in ("time", "latency_ms", "queue_wait_ms", "cold_start", "remote_addr"):
        assert k in e, k
    # Characters JSON must escape come out escaped: the line still parses, the value intact.
    odd = '/q"uote\\back'
    assert knd.curl(route_host("hello"), odd).status == 200
    entries = knd.wait_for(lambda: [x for x in (lines() or []) if x["path"] == odd] or None,
                           "the escaped request log line", 5)
    assert entries[0]["status"] == 200


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_real_prometheus_scrapes_knd(knd):
    prom = shutil.which("prometheus")
    if prom is None:
        pytest.fail("prometheus is not installed (Debian package prometheus)")
    knd.apply(ksvc("hello", marker=knd.marker))
    knd.wait_ready("hello")
    work = tempfile.mkdtemp(prefix="knd-e2e-prom-")
    port = _free_port()
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: knd\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % knd.admin_port)
    p = subprocess.Popen([prom, "--config.file=" + os.path.join(work, "prometheus.yml"),
                          "--storage.tsdb.path=" + os.path.join(work, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    res = json.load(r)["data"]["result"]
                    return res or None
            except OSError:
                return None
        deadline = time.time() + 20
        while time.time() < deadline:  # traffic while Prometheus scrapes
            knd.curl(route_host("hello"))
            if query('revision_request_count{revision_name="hello-00001"}'):
                break
            time.sleep(0.3)
        res = knd.wait_for(lambda: query('sum(revision_request_count{service_name="hello"})'),
                           "Prometheus to have scraped the request count", 20)
        assert float(res[0]["value"][1]) > 0
        pods = knd.wait_for(lambda: query('autoscaler_actual_pods{revision_name="hello-00001"}'),
                            "the pod count series", 10)
        assert float(pods[0]["value"][1]) == 1
        assert query('knd_revision_cold_starts_total{revision_name="hello-00001"}')
    finally:
        p.terminate()
        p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def test_tracing_spans_and_propagation(knd):
    """config-tracing (zipkin): the incoming W3C trace is continued, the instance receives this
    hop's context, and spans arrive at a Zipkin collector (a stub in the harness)."""
    import http.server
    import threading
    got = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.extend(json.loads(body))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *a):
            pass
    srv = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        knd.apply({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "config-tracing", "namespace": "knative-serving"},
                   "data": {"backend": "zipkin", "sample-rate": "1",
                            "zipkin-endpoint": "http://127.0.0.1:%d/api/v2/spans"
                                               % srv.server_address[1]}})
        knd.apply(ksvc("traced", marker=knd.marker))
        knd.wait_ready("traced")
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        parent = "00f067aa0ba902b7"
        r = knd.curl(route_host("traced"), "/headers",
                     headers={"traceparent": "00-%s-%s-01" % (trace, parent)})
        seen = r.json()["headers"]
        tp = seen["traceparent"].split("-")
        assert tp[1] == trace and tp[2] != parent and tp[3] == "01", seen["traceparent"]
        assert seen["x-b3-traceid"] == trace
        spans = knd.wait_for(lambda: [s for s in got if s.get("traceId") == trace] or None,
                             "spans at the collector", 10)
        knd.wait_for(lambda: len([s for s in got if s.get("traceId") == trace]) >= 2 or None,
                     "both spans", 5)
        spans = {s["name"]: s for s in got if s.get("traceId") == trace}
        ingress, call = spans["ingress"], spans["instance_request"]
        assert ingress["kind"] == "SERVER" and ingress["parentId"] == parent
        assert call["kind"] == "CLIENT" and call["parentId"] == ingress["id"]
        assert call["id"] == tp[2]  # the instance saw the CLIENT span as its parent
        assert ingress["duration"] >= call["duration"] > 0
        assert ingress["localEndpoint"]["serviceName"] == "knd"
        assert ingress["tags"]["knative.revision"] == "traced-00001"
        exported = [l for l in _metrics(knd).splitlines()
                    if l.startswith("knd_trace_spans_exported_total ")]
        assert exported and float(exported[0].split()[1]) >= 2, exported
    finally:
        srv.shutdown()


def test_debug_endpoints(knd):
    knd.apply(ksvc("dbg", marker=knd.marker, extra_spec={"containerConcurrency": 3}))
    knd.wait_ready("dbg")
    routes = json.loads(knd.admin("GET", "/debug/routes").text)
    main = [h for h in routes["hosts"] if h["host"] == route_host("dbg")]
    assert main and main[0]["targets"] == [{"revision": "dbg-00001", "percent": 100, "tag": None}]
    assert any(h["host"] == "dbg.default.svc.cluster.local" for h in routes["hosts"])
    revs = json.loads(knd.admin("GET", "/debug/revisions").text)["revisions"]
    [rev] = [r for r in revs if r["revision"] == "dbg-00001"]
    assert rev["container_concurrency"] == 3 and rev["ready"] == 1 and rev["autoscaled"]
    [inst] = rev["instances"]
    assert inst["state"] == "ready" and inst["in_lb_set"] and inst["pid"] > 0
    assert knd.curl(route_host("dbg")).status == 200


def _reconcile_passes(knd):
    (line,) = _series(_metrics(knd), "knd_reconcile_passes_total")
    return int(line.split()[1])


def test_quiet_daemon_skips_the_safety_pass(knd):
    """Nothing changes: the 5 s safety pass finds the store and the runtime as the last pass
    left them and does not run (at 1,000 Services a pass holds the loop ~130 ms). A change
    still runs a pass at once, and the time passes take is exported."""
    knd.apply(ksvc("quiet", marker=knd.marker,
                   template_annotations={"autoscaling.knative.dev/min-scale": "1"}))
    knd.wait_ready("quiet")
    deadline = time.monotonic() + 20
    while True:  # settled: no pass between two reads 6 s apart (more than one safety tick)
        before = _reconcile_passes(knd)
        time.sleep(6)
        after = _reconcile_passes(knd)
        if after == before:
            break
        assert time.monotonic() < deadline, "passes keep running on an idle daemon"
    time.sleep(5)
    assert _reconcile_passes(knd) == before
    seconds = [l for l in _series(_metrics(knd), "knd_reconcile_seconds_total")]
    assert len(seconds) == 1 and float(seconds[0].split()[1]) > 0
    knd.apply(ksvc("quiet", marker=knd.marker, env={"CHANGED": "1"},
                   template_annotations={"autoscaling.knative.dev/min-scale": "1"}))
    assert _reconcile_passes(knd) > before
