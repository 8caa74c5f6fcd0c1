"""More of Knative's autoscaling in knd (SPEC §a, §c, §e.6): the HPA class scaling on CPU, the
scale-down-delay window, the revision's replica counts and Active condition through a cold start
and a scale to zero, and `knd scale simulate`. Windows are shortened through config-autoscaler
(stable-window 6s) as in test_45_autoscale, so each test stays well under a minute."""
import json
import os
import threading
import time

import pytest

from conftest import SRC, cli_offline, condition, instance_ports, ksvc, platform_configmap, \
    route_host

FAST = {"stable-window": "6s", "scale-to-zero-grace-period": "6s"}


def _config_autoscaler(knd, extra=None):
    knd.apply(platform_configmap("config-autoscaler", dict(FAST, **(extra or {}))))


class _Load:
    """`workers` threads sending `path` in a loop until stop(); every status is kept."""

    def __init__(self, knd, host, path, workers):
        self.knd, self.host, self.path = knd, host, path
        self.results = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]
        for t in self.threads:
            t.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                self.results.append(self.knd.curl(self.host, self.path, timeout=30).status)
            except OSError as e:
                self.results.append(repr(e))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(40)
        return self.results


# ------------------------------------------------------------------ (a) HPA on CPU


def test_hpa_cpu_scales_up_under_cpu_load(knd):
    """class hpa, metric cpu, target 20 % of a core: one instance burning a whole core is
    5x the target, so Kubernetes' rule asks for ceil(5 x 1) capped by max(2 x 1, 4) and then by
    max-scale 3. Only the way up is tested: the way down waits for HPA's 300 s stabilisation."""
    knd.apply(ksvc("hot", marker=knd.marker, template_annotations={
        "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/metric": "cpu",
        "autoscaling.knative.dev/target": "20",
        "autoscaling.knative.dev/min-scale": "1",
        "autoscaling.knative.dev/max-scale": "3"}))
    knd.wait_ready("hot")
    knd.wait_for(lambda: len(instance_ports(knd)) == 1 or None, "the min-scale instance", 15)
    time.sleep(3)  # idle: CPU is far below target, and min-scale holds one instance
    assert len(instance_ports(knd)) == 1

    load = _Load(knd, route_host("hot"), "/?burn_ms=100", 4)
    most, scaled_at, t0 = 1, None, time.time()
    try:
        while time.time() - t0 < 15:
            n = len(instance_ports(knd))
            most = max(most, n)
            if n > 1 and scaled_at is None:
                scaled_at = time.time() - t0
            if most >= 3 and time.time() - t0 > 6:
                break  # at max-scale, and long enough to show it is not exceeded
            time.sleep(0.2)
    finally:
        results = load.stop()
    assert results and all(r == 200 for r in results), \
        "failed requests under CPU load: %r" % [r for r in results if r != 200][:10]
    assert most > 1, "HPA (cpu, target 20) should add instances for a core-bound instance"
    assert most <= 3, "max-scale 3 exceeded: %d instances" % most
    rev = knd.get("revisions", "hot-00001")
    assert 2 <= rev["status"]["desiredReplicas"] <= 3, rev["status"]
    assert condition(rev, "Active")["status"] == "True"
    # HPA never goes below max(min-scale, 1), and not down inside its stabilisation window.
    time.sleep(4)
    assert len(instance_ports(knd)) >= 2


# ------------------------------------------------------------------ (b) scale-down-delay


def _zero_time(knd, name, t_stop, timeout):
    """Seconds from t_stop until the revision reports no ready instance and actualReplicas 0."""
    rev = name + "-00001"

    def gone():
        r = knd.get("revisions", rev)
        return r if r["status"].get("actualReplicas") == 0 else None
    knd.wait_for(gone, "%s at zero" % rev, timeout, 0.1)
    return time.time() - t_stop


def test_scale_down_delay_holds_instances(knd):
    """Two Services get the same traffic and lose it at the same moment; the one with
    scale-down-delay 10s keeps its instance for the delay. Knative's window (SPEC a.4) keeps the
    higher count for `delay` after its last record, which was one 2 s decision before the first
    lower one: the instance goes delay - 2 s = 8 s after the one without the delay."""
    _config_autoscaler(knd)
    knd.apply(ksvc("prompt", marker=knd.marker))
    knd.apply(ksvc("lingering", marker=knd.marker, template_annotations={
        "autoscaling.knative.dev/scale-down-delay": "10s"}))
    knd.wait_ready("prompt")
    knd.wait_ready("lingering")
    loads = [_Load(knd, route_host(n), "/?sleep=50", 2) for n in ("prompt", "lingering")]
    time.sleep(4)
    results = [r for ld in loads for r in ld.stop()]
    t_stop = time.time()
    assert results and all(r == 200 for r in results), results[:10]

    done = {}

    def watch(name):
        try:
            done[name] = _zero_time(knd, name, t_stop, 40)
        except AssertionError as e:
            done[name] = e
    watchers = [threading.Thread(target=watch, args=(n,)) for n in ("prompt", "lingering")]
    for w in watchers:
        w.start()
    for w in watchers:
        w.join(45)
    assert not isinstance(done["prompt"], Exception), done["prompt"]
    assert not isinstance(done["lingering"], Exception), done["lingering"]
    # Without the delay: empty stable window (6 s) plus at most a tick or two.
    assert done["prompt"] < 12, "no delay: zero should follow the 6 s stable window, took %.1fs" \
        % done["prompt"]
    held = done["lingering"] - done["prompt"]
    assert held >= 8 - 0.5, "scale-down-delay 10s held the instance only %.1fs longer (%r)" % (
        held, done)
    assert held <= 10 + 2.5, "scale-down-delay 10s held the instance %.1fs longer (%r)" % (
        held, done)


# ------------------------------------------------------------------ (c) revision status


def _describe_replicas(knd, name):
    _, out, _ = knd.cli("describe", "ksvc", name)
    return [line.split(":", 1)[1].strip() for line in out.splitlines()
            if line.strip().startswith("Replicas:")]


def test_revision_replicas_and_active_through_cold_start(knd):
    """From zero (initial-scale 0): while the cold start is under way the revision wants an
    instance and is Active=Unknown/Queued (or True once it is ready); after the stable window
    with no traffic it is Active=False/NoTraffic with actualReplicas 0 (SPEC e.6, a.6)."""
    _config_autoscaler(knd, {"allow-zero-initial-scale": "true"})
    knd.apply(ksvc("sleepy", marker=knd.marker, env={"STARTUP_DELAY_MS": "2000"},
                   template_annotations={"autoscaling.knative.dev/initial-scale": "0"}))
    knd.wait_ready("sleepy")
    rev = knd.get("revisions", "sleepy-00001")
    assert rev["status"].get("actualReplicas") == 0 and not instance_ports(knd)
    assert condition(rev, "Active")["status"] == "False", condition(rev, "Active")
    assert _describe_replicas(knd, "sleepy") == ["0/0"]

    result = {}

    def cold():
        r = knd.curl(route_host("sleepy"), timeout=30)
        result["status"], result["at"] = r.status, time.time()
    t = threading.Thread(target=cold)
    t.start()
    seen = []  # (actual, desired, Active status, Active reason) while the request waits
    while t.is_alive():
        st = knd.get("revisions", "sleepy-00001")
        act = condition(st, "Active") or {}
        seen.append((st["status"].get("actualReplicas"), st["status"].get("desiredReplicas"),
                     act.get("status"), act.get("reason", "")))
        time.sleep(0.1)
    t.join()
    assert result["status"] == 200
    waiting = [s for s in seen if s[1] is not None and s[1] >= 1]
    assert waiting, "desiredReplicas never reached 1 during the cold start: %r" % seen
    for actual, desired, status, reason in waiting:
        assert (status, reason) in (("Unknown", "Queued"), ("True", "")), seen
        if actual == 0:
            assert status == "Unknown", seen
    assert any(s[0] == 0 and s[1] >= 1 for s in seen), \
        "no status showed the wanted-but-not-ready instance (2 s startup): %r" % seen

    rev = knd.get("revisions", "sleepy-00001")
    assert rev["status"]["actualReplicas"] == 1 and rev["status"]["desiredReplicas"] == 1
    assert condition(rev, "Active")["status"] == "True"
    assert _describe_replicas(knd, "sleepy") == ["1/1"]

    # No traffic: the 6 s stable window empties, then the revision goes to zero.
    rev = knd.wait_for(lambda: (lambda r: r if r["status"].get("actualReplicas") == 0 else None)(
        knd.get("revisions", "sleepy-00001")), "actualReplicas 0", 30)
    act = condition(rev, "Active")
    assert (act["status"], act["reason"]) == ("False", "NoTraffic"), act
    assert rev["status"]["desiredReplicas"] == 0
    assert condition(rev, "Ready")["status"] == "True"
    knd.wait_for(lambda: not instance_ports(knd), "the instance to exit", 15)
    assert _describe_replicas(knd, "sleepy") == ["0/0"]


# ------------------------------------------------------------------ the activator's queue


def test_activator_queues_a_burst_beyond_the_pod_breaker(knd):
    """containerConcurrency 1, one instance (max-scale 1), 25 requests at once: with CC 1 and the
    default target-burst-capacity the activator stays in the path (EBC = 1 - 211 - panic < 0),
    and its throttler queues every request until a slot frees; none is refused."""
    knd.apply(ksvc("narrow", marker=knd.marker, extra_spec={"containerConcurrency": 1},
                   template_annotations={"autoscaling.knative.dev/max-scale": "1"}))
    knd.wait_ready("narrow")
    threads, results = [], []

    def one():
        try:
            results.append(knd.curl(route_host("narrow"), "/?sleep=200", timeout=60).status)
        except OSError as e:
            results.append(repr(e))
    threads = [threading.Thread(target=one) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count(200) == 25, sorted(results, key=str)


# ------------------------------------------------------------------ (d) knd scale simulate


def test_scale_simulate_json_offline():
    ex = os.path.join(SRC, "examples", "autoscaling")
    rc, out, err = cli_offline("scale", "simulate", "-f", os.path.join(ex, "service.yaml"),
                               "--trace", os.path.join(ex, "trace.csv"), "-o", "json")
    assert rc == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list) and rows
    keys = {"t", "observed_stable", "observed_panic", "desired", "ready", "panic",
            "excess_burst_capacity"}
    for row in rows:
        assert set(row) == keys, row
    ts = [row["t"] for row in rows]
    assert ts[0] == 0 and all(a < b for a, b in zip(ts, ts[1:])), ts[:20]
    # The example's story (docs/autoscaling.md): panic under the burst, zero at the end.
    assert any(row["panic"] for row in rows)
    assert max(row["desired"] for row in rows) >= 2
    assert rows[-1]["desired"] == 0 and not rows[-1]["panic"]
