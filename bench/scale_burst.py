#!/usr/bin/python3
"""Scale-up burst benchmark: how fast knd goes from one instance to N under a concurrency burst,
what the daemon costs at N instances, whether any request fails on the way, and how long the
way back to zero takes.

Builds the release binaries (cmake -DCMAKE_BUILD_TYPE=Release, targets knd and knd-testapp),
starts `knd serve` on free loopback ports with a temporary state dir (its open-file soft limit
raised to the hard limit: every instance costs the daemon a few descriptors), then:

  config-autoscaler: stable-window 6s, max-scale-up-rate 1000, scale-to-zero-grace-period 6s
  Service `burst`: knd-testapp, containerConcurrency 1, max-scale N (the burst asks for
      N / 0.7 instances at the default 70 % target; the cap makes N the end point)
  -> wait until it is Ready with its one initial instance
  -> send N concurrent GET /?sleep=HOLD through the ingress, all at once
  -> poll GET /apis/knd.dev/v1/stats over <state-dir>/knd.sock every 100 ms (revisions[].ready)
     and the daemon's VmRSS from /proc
  -> after the last response, wait until the revision is back at zero instances

Reported: first request -> N ready instances; daemon RSS at the peak (largest sampled VmRSS and
the kernel's VmHWM); responses (every one should be a 200); last response -> zero instances.
Prints a Markdown table and writes it to bench/results/scale_burst-<N>-<date>.md.

Usage: bench/scale_burst.py [--instances 200] [--hold-ms 10000] [--build-dir build] [--no-build]
"""
import argparse
import asyncio
import datetime
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from knd_bench import api_call, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
DOMAIN = "127.0.0.1.sslip.io"
NAME, NS = "burst", "default"
REV = NAME + "-00001"
HOST = "%s.%s.%s" % (NAME, NS, DOMAIN)
STATS = "/apis/knd.dev/v1/stats"



def raise_nofile():
    """Soft open-file limit up to the hard one (run in the daemon's preexec, and here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))



class Daemon:
    def __init__(self, knd):
        self.state = tempfile.mkdtemp(prefix="knd-burst-")
        self.sock = os.path.join(self.state, "knd.sock")
        self.http_port, self.admin_port = free_port(), free_port()
        self.log_path = os.path.join(self.state, "daemon.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [knd, "serve", "--state-dir", self.state,
             "--http-addr", "127.0.0.1:%d" % self.http_port,
             "--admin-addr", "127.0.0.1:%d" % self.admin_port,
             "--api-addr", "127.0.0.1:%d" % free_port()],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, preexec_fn=raise_nofile)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("knd serve exited during start-up; see %s" % self.log_path)
            if os.path.exists(self.sock):
                try:
                    if self.api("GET", STATS)[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        sys.exit("knd serve not up after 20 s")

    def api(self, method, path, body=None, timeout=30):
        return api_call(self.sock, method, path, body, timeout)

    def rev_stats(self):
        st, body = self.api("GET", STATS)
        if st != 200:
            return None
        for r in body["revisions"]:
            if r["revision"] == REV and r["namespace"] == NS:
                return r
        return None

    def rss_kb(self, field="VmRSS"):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def open_fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return 0

    def stop(self, keep):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        if keep:
            print("daemon log kept: %s" % self.log_path, file=sys.stderr)
        else:
            shutil.rmtree(self.state, ignore_errors=True)
        return rc


def service(app, marker, n):
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/max-scale": str(n)}},
                "spec": {"containerConcurrency": 1, "containers": [{
                    "image": "knd.dev/bench/testapp:v1", "command": [app],
                    "env": [{"name": "KND_BENCH_RUN", "value": marker}]}]}}}}


CONFIG = {"stable-window": "6s", "max-scale-up-rate": "1000",
          "scale-to-zero-grace-period": "6s"}


class Sampler(threading.Thread):
    """Every 100 ms: the revision's ready/desired/panic from the stats endpoint, daemon RSS."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d = d
        self.samples = []  # (t, ready, desired, panic, rss_kb, fds)
        self.stopping = threading.Event()
        self.errors = 0

    def run(self):
        while not self.stopping.is_set():
            t = time.monotonic()
            try:
                r = self.d.rev_stats()
            except OSError:
                r, self.errors = None, self.errors + 1
            if r is not None:
                self.samples.append((t, r["ready"], r["desired"], r["panic"], self.d.rss_kb(),
                                     self.d.open_fds()))
            self.stopping.wait(max(0.0, 0.1 - (time.monotonic() - t)))

    def first(self, pred):
        for s in self.samples:
            if pred(s):
                return s
        return None


async def one_attempt(port, path, timeout):
    """One GET through the ingress on its own connection: the status, or an error text."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                                timeout)
        writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                      % (path, HOST)).encode())
        data = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        if not data.startswith(b"HTTP/1."):
            return "bad response %r" % data[:80]
        return int(data.split()[1])
    except (OSError, asyncio.TimeoutError) as e:
        return repr(e)


async def one_request(port, path, timeout, retry_503):
    """(first attempt's outcome, final outcome, attempts, end time). With retry_503 a 503 is
    sent again after 100 ms, as a client with retries would, so the load stays on."""
    first = last = await one_attempt(port, path, timeout)
    attempts = 1
    while retry_503 and last == 503:
        await asyncio.sleep(0.1)
        last = await one_attempt(port, path, timeout)
        attempts += 1
    return first, last, attempts, time.monotonic()


async def fire(port, n, hold_ms, timeout, retry_503):
    path = "/?sleep=%d" % hold_ms
    return await asyncio.gather(*(one_request(port, path, timeout, retry_503)
                                  for _ in range(n)))


def wait(pred, what, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    sys.exit("timed out after %ss waiting for %s" % (timeout, what))


def build(build_dir):
    subprocess.run(["cmake", "-S", SRC, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j2", "--target", "knd", "knd-testapp"],
                   check=True, stdout=subprocess.DEVNULL)


def run(args, knd, app):
    n = args.instances
    d = Daemon(knd)
    marker = uuid.uuid4().hex
    res = {"n": n, "hold_ms": args.hold_ms}
    ok = False
    try:
        st, body = d.api("POST", "/api/v1/namespaces/knative-serving/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
            "data": CONFIG})
        if st not in (200, 201):
            sys.exit("config-autoscaler: %s %s" % (st, body))
        st, body = d.api("POST", "/apis/serving.knative.dev/v1/namespaces/%s/services" % NS,
                         service(app, marker, n))
        if st not in (200, 201):
            sys.exit("service: %s %s" % (st, body))
        wait(lambda: (d.rev_stats() or {}).get("ready") == 1, "the first instance", 30)
        res["rss_idle_kb"] = d.rss_kb()

        sampler = Sampler(d)
        sampler.start()
        t0 = time.monotonic()
        results = asyncio.run(fire(d.http_port, n, args.hold_ms, args.timeout,
                                   args.retry_503))
        t_last = max(r[3] for r in results)
        res["requests_s"] = t_last - t0
        for key, idx in (("statuses", 0), ("final_statuses", 1)):
            counts = {}
            for r in results:
                counts[r[idx]] = counts.get(r[idx], 0) + 1
            res[key] = counts
        res["ok"] = res["statuses"].get(200, 0)
        res["final_ok"] = res["final_statuses"].get(200, 0)
        res["attempts"] = sum(r[2] for r in results)
        # Back to zero: panic ends a stable window after the last over-threshold tick, then the
        # count halves per decision (max-scale-down-rate 2) down to the scale to zero.
        zero = None
        deadline = time.monotonic() + args.zero_timeout
        while time.monotonic() < deadline:
            last = sampler.samples[-1] if sampler.samples else None
            if last and last[0] > t_last and last[1] == 0 and last[2] == 0:
                zero = last[0]
                break
            time.sleep(0.1)
        sampler.stopping.set()
        sampler.join()
        s_n = sampler.first(lambda s: s[1] >= n)
        res["to_n_s"] = s_n[0] - t0 if s_n else None
        res["max_ready"] = max(s[1] for s in sampler.samples)
        res["max_desired"] = max(s[2] for s in sampler.samples)
        res["panic_seen"] = any(s[3] for s in sampler.samples)
        peak = max(sampler.samples, key=lambda s: s[4])
        res["rss_peak_kb"], res["rss_peak_ready"] = peak[4], peak[1]
        res["rss_at_n_kb"] = max((s[4] for s in sampler.samples if s[1] >= n), default=None)
        res["hwm_kb"] = d.rss_kb("VmHWM")
        res["fds_peak"] = max(s[5] for s in sampler.samples)
        res["to_zero_s"] = zero - t_last if zero else None
        r = d.rev_stats() or {}
        res["rejected_total"] = r.get("rejected_total")
        res["responses"] = r.get("responses")
        ok = True
    finally:
        res["daemon_rc"] = d.stop(keep=args.keep or not ok)
    return res


def fmt(v, unit="", scale=1.0):
    if v is None:
        return "not reached"
    if isinstance(v, float) or scale != 1.0:
        return "%.1f%s" % (v / scale, unit)
    return "%s%s" % (v, unit)


def report(res, cmd):
    n = res["n"]
    lines = [
        "# scale_burst: %d concurrent requests, containerConcurrency 1, max-scale %d" % (n, n),
        "",
        "%s, %s, %d cores; `%s`" % (datetime.date.today().isoformat(), platform.platform(),
                                    os.cpu_count(), cmd),
        "",
        "| measure | value |",
        "|---|---|",
        "| first request -> %d ready instances | %s |" % (n, fmt(res["to_n_s"], " s")),
        "| most ready / most desired seen | %d / %d |" % (res["max_ready"], res["max_desired"]),
        "| panic mode seen | %s |" % ("yes" if res["panic_seen"] else "no"),
        "| daemon RSS: idle (1 instance) | %s |" % fmt(res["rss_idle_kb"], " MB", 1024.0),
        "| daemon RSS: largest sample (at %d ready) | %s |" % (
            res["rss_peak_ready"], fmt(res["rss_peak_kb"], " MB", 1024.0)),
        "| daemon RSS: largest sample with %d ready | %s |" % (
            n, fmt(res["rss_at_n_kb"], " MB", 1024.0)),
        "| daemon VmHWM (peak RSS, kernel) | %s |" % fmt(res["hwm_kb"], " MB", 1024.0),
        "| daemon open fds, largest sample | %d |" % res["fds_peak"],
        "| requests answered 200 at the first attempt | %d of %d (%.1f %%) |" % (
            res["ok"], n, 100.0 * res["ok"] / n),
        "| other first-attempt outcomes | %s |" % (", ".join(
            "%s x%d" % (k, v) for k, v in res["statuses"].items() if k != 200) or "none"),
    ]
    if res["attempts"] > n:
        lines += [
            "| with 503s retried after 100 ms: answered 200 | %d of %d, %d attempts in all |" % (
                res["final_ok"], n, res["attempts"])]
    lines += [
        "| activator rejections (stats rejected_total) | %s |" % res["rejected_total"],
        "| first request -> last response (hold %d ms each) | %.1f s |" % (
            res["hold_ms"], res["requests_s"]),
        "| last response -> zero instances | %s |" % fmt(res["to_zero_s"], " s"),
        "| daemon exit code after SIGTERM | %s |" % res["daemon_rc"],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", "scale_burst-%d-%s.md" % (
        n, datetime.date.today().isoformat()))
    with open(out, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(out, SRC))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=200, help="N: concurrent requests and "
                    "the max-scale to reach (default 200)")
    ap.add_argument("--hold-ms", type=int, default=10000,
                    help="how long each request sleeps in its instance (default 10000)")
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build"))
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--knd", help="knd binary (default <build-dir>/knd)")
    ap.add_argument("--app", help="knd-testapp (default <build-dir>/tests/apps/knd-testapp)")
    ap.add_argument("--timeout", type=float, default=300, help="per-request timeout, seconds")
    ap.add_argument("--zero-timeout", type=float, default=180,
                    help="how long to wait for the scale back to zero, seconds")
    ap.add_argument("--retry-503", action="store_true",
                    help="send a request answered 503 again after 100 ms (keeps the load on "
                    "when the activator rejects part of the burst)")
    ap.add_argument("--keep", action="store_true", help="keep the daemon's state dir and log")
    args = ap.parse_args()
    if not args.no_build:
        build(args.build_dir)
    knd = os.path.abspath(args.knd or os.path.join(args.build_dir, "knd"))
    app = os.path.abspath(args.app or os.path.join(args.build_dir, "tests", "apps",
                                                    "knd-testapp"))
    raise_nofile()  # the client holds N connections too
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < 4 * args.instances + 1000:
        print("warning: open-file limit %d may be short for %d instances (about 4 per "
              "instance in the daemon)" % (soft, args.instances), file=sys.stderr)
    res = run(args, knd, app)
    report(res, " ".join(["bench/scale_burst.py"] + sys.argv[1:]))


if __name__ == "__main__":
    main()
