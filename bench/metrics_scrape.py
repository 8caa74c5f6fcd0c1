#!/usr/bin/python3
"""Scrape benchmark: how long GET /metrics takes with 1,000 revisions.

Builds the release binaries (cmake -S . -B BUILD -DCMAKE_BUILD_TYPE=Release; cmake --build BUILD
--target knd knd-testapp), starts `knd serve` on free loopback ports with a temporary state dir,
sets `config-autoscaler` `allow-zero-initial-scale: "true"` and creates SERVICES Services
(knd-testapp, template annotation `autoscaling.knative.dev/initial-scale: "0"`), so that every
revision is routed and listed on /metrics while no instance process starts. It waits until
/metrics lists every revision and checks that no instance runs, then times GET /metrics
(request -> last body byte, over one keep-alive connection, as Prometheus scrapes) ROUNDS times
after two warm-up scrapes, and reports the median, min and max, the body size and line count.

Target: median <= 10 ms for 1,000 revisions.

With the same daemon idle afterwards, it also measures the control plane's cost at this size:
the daemon's CPU over 10 s, and GET /healthz on the admin address every 10 ms for 10 s, whose
worst latencies are the loop's stalls (a reconcile pass runs on the same loop; on an idle daemon
only the once-a-minute resync, which a 10 s window may or may not catch).
Prints Markdown and writes it to bench/results/metrics-scrape-<date>.md.
Usage: bench/metrics_scrape.py [--build build] [--no-build] [--services 1000] [--rounds 20]
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from knd_bench import UnixHTTPConnection, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
TARGET_MS = 10.0




class Daemon:
    """One `knd serve` with a temporary state dir; the control API over its unix socket."""

    def __init__(self, knd):
        self.state = tempfile.mkdtemp(prefix="knd-bench-")
        self.sock = os.path.join(self.state, "knd.sock")
        self.http_port, self.admin_port = free_port(), free_port()
        self.log = open(os.path.join(self.state, "daemon.log"), "wb")
        self.proc = subprocess.Popen(
            [knd, "serve", "--state-dir", self.state,
             "--http-addr", "127.0.0.1:%d" % self.http_port,
             "--admin-addr", "127.0.0.1:%d" % self.admin_port,
             "--api-addr", "127.0.0.1:%d" % free_port()],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.conn = None
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("knd serve exited during start-up; see %s/daemon.log" % self.state)
            try:
                if os.path.exists(self.sock) and self.admin_get("/healthz")[0] == 200:
                    return
            except OSError:
                self.conn = None
            time.sleep(0.05)
        sys.exit("knd serve not up after 20 s")

    def api(self, method, path, body=None):
        c = UnixHTTPConnection(self.sock, timeout=60)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            return r.status, data
        finally:
            c.close()

    def admin_get(self, path):
        """GET on the admin address over a kept-alive connection: (status, body, seconds).
        A connection the server closed while idle is opened again, as Prometheus does."""
        try:
            return self.admin_get_once(path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()
            self.conn = None
            return self.admin_get_once(path)

    def admin_get_once(self, path):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        self.conn.request("GET", path, headers={"Accept": "text/plain"})
        r = self.conn.getresponse()
        body = r.read()
        took = time.perf_counter() - t0
        if r.will_close:
            self.conn.close()
            self.conn = None
        return r.status, body, took

    def stop(self, keep=False):
        if self.conn:
            self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if keep:
            print("daemon state kept: %s" % self.state, file=sys.stderr)
        else:
            shutil.rmtree(self.state, ignore_errors=True)


def marked_pids(marker):
    entry = ("KND_BENCH_RUN=" + marker).encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if entry in f.read().split(b"\0"):
                    out.append(int(d))
        except OSError:
            continue
    return out


def service(i, app, marker):
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "svc-%04d" % i, "namespace": "default"},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/initial-scale": "0"}},
                "spec": {"containers": [{
                    "image": "knd.dev/bench/testapp:v1", "command": [app],
                    "env": [{"name": "KND_BENCH_RUN", "value": marker}]}]}}}}


def create_services(d, app, marker, n, clients=64):
    """POSTs the Services from `clients` connections at once. The daemon runs one reconcile
    pass per loop iteration whatever the number of writes in it, and a pass visits every
    object; one client after the other would cost n passes of growing size."""
    failed = []

    def worker(k):
        for i in range(k, n, clients):
            st, body = d.api("POST",
                             "/apis/serving.knative.dev/v1/namespaces/default/services",
                             service(i, app, marker))
            if st not in (200, 201):
                failed.append((i, st, body[:300]))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failed


def revisions_listed(body):
    """Distinct revision_name values of autoscaler_actual_pods in a /metrics body."""
    names = set()
    for line in body.decode().splitlines():
        if line.startswith("autoscaler_actual_pods{"):
            k = line.find('revision_name="')
            names.add(line[k + 15:line.index('"', k + 15)])
    return names


def build(build_dir):
    subprocess.run(["cmake", "-S", SRC, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "knd", "knd-testapp"],
                   check=True)


def git_rev():
    try:
        return subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return "?"


def idle_costs(d, seconds=10.0):
    """The idle daemon's CPU share, then /healthz latencies sampled every 10 ms (ms, sorted)."""
    def cpu_s():
        with open("/proc/%d/stat" % d.proc.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    c0, t0 = cpu_s(), time.monotonic()
    time.sleep(seconds)
    cpu = (cpu_s() - c0) / (time.monotonic() - t0)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        st, _, took = d.admin_get("/healthz")
        if st != 200:
            sys.exit("GET /healthz: %d" % st)
        lat.append(took * 1000.0)
        time.sleep(0.01)
    return {"cpu": cpu, "lat": sorted(lat)}


def reconcile_counters(d):
    """(passes, seconds) from knd_reconcile_passes_total and knd_reconcile_seconds_total."""
    vals = {}
    for line in d.admin_get("/metrics")[1].decode().splitlines():
        if line.startswith("knd_reconcile_"):
            k, v = line.split()
            vals[k] = float(v)
    return vals["knd_reconcile_passes_total"], vals["knd_reconcile_seconds_total"]


def settle(d, quiet_s=6.0, timeout_s=60.0):
    """Waits until no reconcile pass ran for quiet_s (longer than the 5 s safety tick): the
    passes the creation asked for are spread out so that the loop keeps serving."""
    end = time.monotonic() + timeout_s
    last, since = reconcile_counters(d)[0], time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.5)
        now = reconcile_counters(d)[0]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    sys.exit("reconcile passes still running after %.0f s" % timeout_s)


def change_costs(d, changes=5):
    """Mean duration (ms) of the passes `changes` writes run: each creates a ConfigMap, which
    kicks a full pass over every object (what any change costs at this size)."""
    p0, s0 = reconcile_counters(d)
    for i in range(changes):
        st, body = d.api("POST", "/api/v1/namespaces/default/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "bench-change-%d" % i, "namespace": "default"},
            "data": {"k": "v"}})
        if st not in (200, 201):
            sys.exit("configmap: %s %s" % (st, body[:300]))
        time.sleep(0.5)
    p1, s1 = reconcile_counters(d)
    if p1 <= p0:
        sys.exit("no reconcile pass ran for %d writes" % changes)
    return {"passes": int(p1 - p0), "ms": (s1 - s0) * 1000.0 / (p1 - p0)}


def scale_up_costs(d, app, marker, instances=40):
    """Deploys one more Service with min-scale `instances` among the others and samples
    GET /healthz every 10 ms while its instances start and become ready: every ready instance
    asks for a reconcile pass, so this shows what the passes take from the loop at this size.
    Returns the seconds until actualReplicas reached `instances`, and the latencies (ms, sorted)."""
    svc = service(9999, app, marker)
    svc["metadata"]["name"] = "scale-up"
    svc["spec"]["template"]["metadata"]["annotations"] = {
        "autoscaling.knative.dev/min-scale": str(instances)}
    lat, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            st, _, took = d.admin_get("/healthz")
            lat.append(took * 1000.0)
            time.sleep(0.01)

    th = threading.Thread(target=sample)
    th.start()
    t0 = time.monotonic()
    try:
        st, body = d.api("POST", "/apis/serving.knative.dev/v1/namespaces/default/services", svc)
        if st not in (200, 201):
            sys.exit("scale-up service: %s %s" % (st, body[:300]))
        while True:
            st, body = d.api("GET", "/apis/serving.knative.dev/v1/namespaces/default/revisions/"
                                    "scale-up-00001")
            o = json.loads(body) if st == 200 else {}
            if (o.get("status") or {}).get("actualReplicas") == instances:
                break
            if time.monotonic() - t0 > 60:
                sys.exit("scale-up: %d instances not ready after 60 s" % instances)
            time.sleep(0.05)
        took = time.monotonic() - t0
        time.sleep(0.5)
    finally:
        stop.set()
        th.join()
    return {"instances": instances, "s": took, "lat": sorted(lat)}


def run(knd, app, n, rounds):
    d = Daemon(knd)
    marker = uuid.uuid4().hex
    keep = False
    try:
        st, body = d.api("POST", "/api/v1/namespaces/knative-serving/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
            "data": {"allow-zero-initial-scale": "true"}})
        if st not in (200, 201):
            sys.exit("config-autoscaler: %s %s" % (st, body[:300]))
        t0 = time.monotonic()
        failed = create_services(d, app, marker, n)
        if failed:
            keep = True
            sys.exit("creating services: %s" % failed[:3])
        created_s = time.monotonic() - t0
        deadline = time.monotonic() + 120
        while True:
            listed = revisions_listed(d.admin_get("/metrics")[1])
            if len(listed) >= n:
                break
            if time.monotonic() > deadline:
                keep = True
                sys.exit("only %d of %d revisions on /metrics after 120 s" % (len(listed), n))
            time.sleep(0.2)
        listed_s = time.monotonic() - t0
        if marked_pids(marker):
            keep = True
            sys.exit("instances are running (%d); initial-scale 0 should start none"
                     % len(marked_pids(marker)))
        for _ in range(2):
            d.admin_get("/metrics")
        times, size, lines = [], 0, 0
        for _ in range(rounds):
            st, body, took = d.admin_get("/metrics")
            if st != 200:
                sys.exit("GET /metrics: %d" % st)
            times.append(took)
            size, lines = len(body), body.count(b"\n")
        settle(d)
        idle = idle_costs(d)
        change = change_costs(d)
        scale_up = scale_up_costs(d, app, marker)
        rss = 0
        with open("/proc/%d/status" % d.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        return {"times": times, "size": size, "lines": lines, "listed": len(listed),
                "created_s": created_s, "listed_s": listed_s, "rss_kib": rss, "idle": idle,
                "change": change, "scale_up": scale_up,
                "instances": len(marked_pids(marker))}
    finally:
        d.stop(keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"),
                    help="release build directory (default build/)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries as they are")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    bdir = os.path.abspath(a.build)
    if not a.no_build:
        build(bdir)
    knd, app = os.path.join(bdir, "knd"), os.path.join(bdir, "tests", "apps", "knd-testapp")
    for b in (knd, app):
        if not os.access(b, os.X_OK):
            sys.exit("not found: %s" % b)

    r = run(knd, app, a.services, a.rounds)
    med = statistics.median(r["times"]) * 1000.0
    cmd = " ".join([os.path.relpath(sys.argv[0], SRC)] + sys.argv[1:])
    out = [
        "# /metrics scrape: knd %s, %s" % (git_rev(), datetime.datetime.now().strftime(
            "%Y-%m-%d %H:%M")), "",
        "%d Services, %d revisions listed on /metrics, no instance running (initial-scale 0); "
        "%s, %d CPUs, Python %s." % (a.services, r["listed"], platform.platform(),
                                     os.cpu_count(), platform.python_version()), "",
        "| measurement | value |", "|---|---:|",
        "| GET /metrics, median of %d (ms) | %.2f |" % (a.rounds, med),
        "| min / max (ms) | %.2f / %.2f |" % (min(r["times"]) * 1000.0,
                                              max(r["times"]) * 1000.0),
        "| body size (bytes) | %d |" % r["size"],
        "| body lines | %d |" % r["lines"],
        "| target: median <= %.0f ms | %s |" % (TARGET_MS, "met" if med <= TARGET_MS
                                                 else "MISSED"),
        "| daemon VmRSS after the scrapes (KiB) | %d |" % r["rss_kib"],
        "| creating the Services through the API (s) | %.1f |" % r["created_s"],
        "| ... until /metrics listed every revision (s) | %.1f |" % r["listed_s"],
        "| idle daemon CPU over 10 s | %.1f %% |" % (r["idle"]["cpu"] * 100.0),
        "| GET /healthz every 10 ms for 10 s: p50 / p99 / max (ms) | %.2f / %.2f / %.1f |" % (
            r["idle"]["lat"][len(r["idle"]["lat"]) // 2],
            r["idle"]["lat"][int(len(r["idle"]["lat"]) * 0.99)], r["idle"]["lat"][-1]),
        "| its 5 worst (ms): the loop's stalls (an idle daemon runs only a resync pass a "
        "minute) | %s |" % ", ".join(
            "%.0f" % x for x in r["idle"]["lat"][-5:]),
        "| one change (a ConfigMap created), the pass it runs: mean of %d (ms) | %.1f |" % (
            r["change"]["passes"], r["change"]["ms"]),
        "| one more Service with min-scale %d: until actualReplicas = %d (s) | %.2f |" % (
            r["scale_up"]["instances"], r["scale_up"]["instances"], r["scale_up"]["s"]),
        "| ... GET /healthz every 10 ms meanwhile: p50 / p99 / max (ms) | %.2f / %.1f / %.1f |" % (
            r["scale_up"]["lat"][len(r["scale_up"]["lat"]) // 2],
            r["scale_up"]["lat"][int(len(r["scale_up"]["lat"]) * 0.99)],
            r["scale_up"]["lat"][-1]),
        "",
        "Timed: request sent -> last body byte read, over one kept-alive TCP connection to the "
        "admin address (as Prometheus scrapes), after two warm-up scrapes. The revisions have "
        "served no request, so `revision_request_count` has no series for them; each request "
        "code a revision has seen adds one line.",
        "", "Command: `%s`" % cmd,
        "", "Samples (ms): " + ", ".join("%.2f" % (t * 1000.0) for t in r["times"])]
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "metrics-scrape-%s.md" % datetime.date.today().isoformat())
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(path, os.getcwd()))


if __name__ == "__main__":
    main()
