"""Knative's KPA in knd (SPEC §a, §c): scale to zero after the stable window and grace period,
cold start from zero, scale up under a burst (panic), min-scale and max-scale bounds. Windows are
shortened through config-autoscaler (stable-window 6s) so the suite stays fast."""
import threading
import time

from conftest import condition, instance_ports, ksvc, route_host

FAST = {"stable-window": "6s", "scale-to-zero-grace-period": "6s"}


def _config_autoscaler(knd, extra=None):
    data = dict(FAST, **(extra or {}))
    knd.apply({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
               "data": data})


def _burst(knd, host, n, path="/?sleep=1500"):
    results = []

    def one():
        try:
            results.append(knd.curl(host, path, timeout=30).status)
        except OSError as e:
            results.append(repr(e))
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    return threads, results


def _metric(knd, name, rev):
    for line in knd.admin("GET", "/metrics").text.splitlines():
        if line.startswith(name + "{") and 'revision_name="%s"' % rev in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_scale_to_zero_then_cold_start(knd):
    _config_autoscaler(knd)
    knd.apply(ksvc("idle", marker=knd.marker))
    knd.wait_ready("idle")
    assert len(knd.wait_for(lambda: instance_ports(knd) or None, "the first instance")) == 1
    # No traffic: the stable window empties (6 s) and the grace period passes (6 s).
    knd.wait_for(lambda: not instance_ports(knd), "scale to zero", 40)
    rev = knd.wait_for(lambda: (lambda r: r if r["status"].get("actualReplicas") == 0 else None)(
        knd.get("revisions", "idle-00001")), "actualReplicas 0", 10)
    assert condition(rev, "Active")["status"] == "False"
    assert condition(rev, "Active")["reason"] == "NoTraffic"
    assert condition(rev, "Ready")["status"] == "True"  # inactive, still ready (Knative)
    assert condition(knd.get("services", "idle"), "Ready")["status"] == "True"
    t0 = time.time()
    r = knd.curl(route_host("idle"))
    assert r.status == 200 and r.text == "Hello World!\n"
    assert time.time() - t0 < 5
    assert len(instance_ports(knd)) == 1
    assert _metric(knd, "knd_revision_cold_starts_total", "idle-00001") >= 1


def test_burst_scales_up_in_panic_then_back(knd):
    _config_autoscaler(knd)
    knd.apply(ksvc("busy", marker=knd.marker, extra_spec={"containerConcurrency": 1}))
    knd.wait_ready("busy")
    threads, results = _burst(knd, route_host("busy"), 8)
    seen_panic, most = False, 0
    deadline = time.time() + 12
    while time.time() < deadline and (any(t.is_alive() for t in threads) or most < 2):
        most = max(most, len(instance_ports(knd)))
        seen_panic = seen_panic or _metric(knd, "autoscaler_panic_mode", "busy-00001") == 1
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert results == [200] * 8, results
    assert most >= 3, "the burst of 8 (containerConcurrency 1) should add instances, saw %d" % most
    assert seen_panic, "panic mode should show in autoscaler_panic_mode"
    rev = knd.get("revisions", "busy-00001")
    assert rev["status"]["desiredReplicas"] >= 1
    # Traffic gone: panic ends a stable window after the last over-threshold tick, then down.
    knd.wait_for(lambda: len(instance_ports(knd)) <= 1, "scale back down", 45)


def test_min_scale_keeps_instances(knd):
    _config_autoscaler(knd)
    knd.apply(ksvc("floor", marker=knd.marker,
                   template_annotations={"autoscaling.knative.dev/min-scale": "2"}))
    knd.wait_ready("floor")
    knd.wait_for(lambda: len(instance_ports(knd)) == 2 or None, "two instances", 15)
    time.sleep(14)  # past the stable window and the grace period
    assert len(instance_ports(knd)) == 2


def test_max_scale_caps_a_burst(knd):
    _config_autoscaler(knd)
    knd.apply(ksvc("cap", marker=knd.marker, extra_spec={"containerConcurrency": 1},
                   template_annotations={"autoscaling.knative.dev/max-scale": "2"}))
    knd.wait_ready("cap")
    threads, results = _burst(knd, route_host("cap"), 10, "/?sleep=800")
    most = 0
    while any(t.is_alive() for t in threads):
        most = max(most, len(instance_ports(knd)))
        time.sleep(0.1)
    for t in threads:
        t.join()
    assert results.count(200) == 10, results
    assert most <= 2, most
