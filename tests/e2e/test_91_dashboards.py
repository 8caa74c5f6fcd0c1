"""The shipped dashboards against real data: deploy/grafana/knd.json's queries, run by a real
Prometheus scraping a real knd (with the scrape config of deploy/prometheus/prometheus.yml, its
interval cut to 1 s), return the request rate, p95 latency, pod count and cold starts that the
traffic sent here produced."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import SRC, free_port, instance_ports, ksvc, platform_configmap, route_host

DASHBOARD = os.path.join(SRC, "deploy", "grafana", "knd.json")
PROM_CONFIG = os.path.join(SRC, "deploy", "prometheus", "prometheus.yml")
COLD_REV = "cold-00001"


def _dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def _substitute(expr, dash):
    """The expression as Grafana sends it with every variable at its "All" value."""
    for v in dash["templating"]["list"]:
        if v["type"] == "datasource":
            continue
        assert v.get("includeAll") and v.get("allValue"), v["name"]
        expr = expr.replace("${%s}" % v["name"], v["allValue"])
        expr = re.sub(r"\$%s\b" % re.escape(v["name"]), v["allValue"], expr)
    assert "$" not in expr, expr
    return expr


def _panel(dash, title):
    hits = [p for p in dash["panels"] if p["title"] == title]
    assert len(hits) == 1, "panel %r: %d found" % (title, len(hits))
    return hits[0]


def test_dashboard_json_is_importable():
    dash = _dashboard()
    assert dash["schemaVersion"] >= 36 and dash["uid"] and dash["title"]
    ds = [v for v in dash["templating"]["list"] if v["type"] == "datasource"]
    assert len(ds) == 1 and ds[0]["query"] == "prometheus"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), ids
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${%s}" % ds[0]["name"], p["title"]
        assert p["targets"], p["title"]
        for k in ("x", "y", "w", "h"):
            assert isinstance(p["gridPos"][k], int), p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for name in ("revision_request_count", "revision_request_latencies_bucket",
                 "autoscaler_actual_pods", "autoscaler_desired_pods", "autoscaler_panic_mode",
                 "knd_revision_cold_starts_total", "knd_revision_cold_start_wait_seconds_total",
                 "knd_revision_queued_requests", "knd_revision_rejected_requests_total",
                 'response_code_class="5xx"'):
        assert name in exprs, name


def _start_prometheus(knd, work):
    prom = shutil.which("prometheus")
    if prom is None:
        pytest.fail("prometheus is not installed (Debian package prometheus)")
    with open(PROM_CONFIG) as f:
        cfg = yaml.safe_load(f)
    cfg["global"].update({"scrape_interval": "1s", "evaluation_interval": "1s",
                          "scrape_timeout": "1s"})
    (job,) = cfg["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9080"]
    job["static_configs"][0]["targets"] = ["127.0.0.1:%d" % knd.admin_port]
    path = os.path.join(work, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    port = free_port()
    p = subprocess.Popen([prom, "--config.file=" + path,
                          "--storage.tsdb.path=" + os.path.join(work, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, port


def _query(port, q):
    """The instant vector as {revision_name: value}; None while Prometheus is not up."""
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        raise AssertionError("query rejected: %s\n%s" % (q, e.read()[:500]))
    except OSError:
        return None
    assert body["status"] == "success", (q, body)
    return {s["metric"].get("revision_name", ""): float(s["value"][1])
            for s in body["data"]["result"]}


def test_dashboard_queries_on_real_traffic(knd):
    dash = _dashboard()
    work = tempfile.mkdtemp(prefix="knd-e2e-dash-")
    prom, port = _start_prometheus(knd, work)
    try:
        knd.apply(platform_configmap("config-autoscaler", {"allow-zero-initial-scale": "true"}))
        knd.apply(ksvc("hello", marker=knd.marker))
        knd.apply(ksvc("cold", marker=knd.marker, env={"TARGET": "cold"},
                       template_annotations={"autoscaling.knative.dev/initial-scale": "0"}))
        knd.wait_ready("hello")
        knd.wait_ready("cold")
        knd.wait_serving(route_host("hello"))
        assert len(instance_ports(knd)) == 1, "only hello runs; cold has initial-scale 0"

        # Prometheus has seen the cold revision at zero cold starts before its first request,
        # so the request below is an increase rate() can see.
        cold_q = 'knd_revision_cold_starts_total{revision_name="%s"}' % COLD_REV
        knd.wait_for(lambda: _query(port, cold_q) == {COLD_REV: 0.0},
                     "Prometheus to scrape the cold revision at 0 cold starts", 15, 0.2)

        r = knd.curl(route_host("cold"))
        assert r.status == 200 and r.text == "Hello cold!\n", r
        # Traffic for a few scrapes, with a 5xx at each end (a series first seen at 1 needs a
        # later increase for rate() to be above 0).
        assert knd.curl(route_host("hello"), "/?status=503").status == 503
        end = time.time() + 3
        while time.time() < end:
            assert knd.curl(route_host("hello")).status == 200
            assert knd.curl(route_host("cold")).status == 200
            time.sleep(0.05)
        assert knd.curl(route_host("hello"), "/?status=503").status == 503

        want = {  # panel title -> the check on each revision's value, and revisions required
            "Request rate": (lambda v: v > 0, ("hello-00001", COLD_REV)),
            "Request latency p95": (lambda v: 0 < v < 5000, ("hello-00001", COLD_REV)),
            "Pod count": (lambda v: v >= 1, ("hello-00001", COLD_REV)),
            "Cold starts": (lambda v: v > 0, (COLD_REV,)),
        }
        got = {}
        for title, (ok, revs) in want.items():
            expr = _substitute(_panel(dash, title)["targets"][0]["expr"], dash)

            def done(expr=expr, ok=ok, revs=revs):
                res = _query(port, expr)
                return res if res and all(r in res and ok(res[r]) for r in revs) else None
            got[title] = knd.wait_for(done, "%s: %s" % (title, expr), 10, 0.25)
        # The cold revision's only cold start: its own first request.
        assert _query(port, cold_q) == {COLD_REV: 1.0}
        assert "hello-00001" not in got["Cold starts"] or got["Cold starts"]["hello-00001"] == 0

        # The second query of the cold-start panel: mean wait per cold start, in seconds.
        mean = _substitute(_panel(dash, "Cold starts")["targets"][1]["expr"], dash)
        res = knd.wait_for(lambda: _query(port, mean), "mean cold-start wait", 5, 0.25)
        assert 0 < res[COLD_REV] < 10, res
        desired = _substitute(_panel(dash, "Pod count")["targets"][1]["expr"], dash)
        assert _query(port, desired)["hello-00001"] >= 1
        fivexx = _substitute(_panel(dash, "5xx rate")["targets"][0]["expr"], dash)
        knd.wait_for(lambda: _query(port, fivexx).get("hello-00001", 0) > 0, fivexx, 5, 0.25)

        # Every other query of the dashboard is valid PromQL with series to show.
        for p in dash["panels"]:
            for t in p["targets"]:
                res = _query(port, _substitute(t["expr"], dash))
                assert res, "%s: %s returned nothing" % (p["title"], t["expr"])
    finally:
        prom.terminate()
        prom.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def test_shipped_prometheus_config_is_valid():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus)")
    p = subprocess.run([promtool, "check", "config", PROM_CONFIG], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
