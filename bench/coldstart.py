#!/usr/bin/python3
"""Cold-start benchmark: how long a request waits when its revision has no instance.

Starts `knd serve` (release build) on free loopback ports with a temporary state dir and runs
ROUNDS rounds of:

  create Service `cold` (knd-testapp, annotation initial-scale "0": Ready with zero instances)
  -> wait until it is Ready and check that no instance process exists
  -> send GET / through the ingress and time request -> first response byte   (a)
  -> delete the Service and wait until its instance is gone

Scale to zero after idling would give the same situation; deleting and re-creating the Service
gives it every round without waiting for an idle window.

It then spawns knd-testapp directly ROUNDS times and times spawn -> `listening on` on its
stdout (b), and spawn -> first byte of a GET / sent as soon as the port accepts (b').
The platform's share is (c) = (a) - (b): what knd adds on top of the app's own start.

Prints a Markdown table and writes it to bench/results/coldstart-<date>.md.
Usage: bench/coldstart.py [--knd build/knd] [--app build/tests/apps/knd-testapp] [--rounds 50]
"""
import argparse
import datetime
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from knd_bench import api_call, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
DOMAIN = "127.0.0.1.sslip.io"
NAME, NS = "cold", "default"
HOST = "%s.%s.%s" % (NAME, NS, DOMAIN)




class Daemon:
    def __init__(self, knd):
        self.knd = knd
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
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("knd serve exited during start-up; see %s/daemon.log" % self.state)
            if os.path.exists(self.sock):
                try:
                    if self.api("GET", "/apis/serving.knative.dev/v1/namespaces/default/"
                                "services")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        sys.exit("knd serve not up after 20 s")

    def api(self, method, path, body=None):
        return api_call(self.sock, method, path, body)

    keep = False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self.keep:
            print("daemon log kept: %s/daemon.log" % self.state, file=sys.stderr)


def marked_pids(marker):
    entry = ("KND_BENCH_RUN=" + marker).encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if entry not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % d) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        out.append(int(d))
    return out


def first_byte(port, host, path="/"):
    """Seconds from connect to the first response byte, and the response's status code."""
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host))
              .encode())
    first = s.recv(1)
    t1 = time.perf_counter()
    rest = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    s.close()
    data = first + rest
    if not data.startswith(b"HTTP/1."):
        raise RuntimeError("bad response: %r" % data[:200])
    return t1 - t0, int(data.split()[1]), data


def service(app, marker, rnd):
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/initial-scale": "0",
                                             "autoscaling.knative.dev/min-scale": "0"}},
                "spec": {"containers": [{
                    "image": "knd.dev/bench/testapp:v1", "command": [app],
                    "env": [{"name": "KND_BENCH_RUN", "value": marker},
                            {"name": "TARGET", "value": "round-%d" % rnd}]}]}}}}


def wait(pred, what, timeout=30, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    sys.exit("timed out waiting for " + what)


def svc_ready(d):
    st, o = d.api("GET", "/apis/serving.knative.dev/v1/namespaces/%s/services/%s" % (NS, NAME))
    if st != 200:
        return False
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True" and \
                o["status"].get("observedGeneration") == o["metadata"].get("generation")
    return False


def measure_knd(knd, app, rounds):
    d = Daemon(knd)
    marker = uuid.uuid4().hex
    out = []
    prestarted = 0
    try:
        st, body = d.api("POST", "/api/v1/namespaces/knative-serving/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
            "data": {"allow-zero-initial-scale": "true"}})
        if st not in (200, 201):
            sys.exit("config-autoscaler: %s %s" % (st, body))
        for rnd in range(rounds):
            svc = service(app, marker, rnd)
            wait(lambda: d.api("POST", "/apis/serving.knative.dev/v1/namespaces/%s/services"
                               % NS, svc)[0] in (200, 201), "service created", 10, 0.1)
            wait(lambda: svc_ready(d), "service Ready")
            if marked_pids(marker):
                # Knative starts no pod for initial-scale 0; if knd ran one anyway (to prove
                # the revision can become ready), wait until it is gone so that the request
                # below still meets zero instances.
                prestarted += 1
                t_gone = time.monotonic() + 10
                while marked_pids(marker):
                    if time.monotonic() > t_gone:
                        d.keep = True
                        sys.exit("round %d: an instance keeps running with initial-scale 0 and "
                                 "no request: no cold start to measure" % rnd)
                    time.sleep(0.005)
            while True:
                took, status, data = first_byte(d.http_port, HOST)
                if status != 404:  # 404: the route table has not reached the ingress yet
                    break
                time.sleep(0.002)
            want = ("Hello round-%d!\n" % rnd).encode()
            if status != 200 or not data.endswith(want):
                sys.exit("round %d: unexpected response %r" % (rnd, data[:300]))
            out.append(took)
            st, _ = d.api("DELETE", "/apis/serving.knative.dev/v1/namespaces/%s/services/%s"
                          % (NS, NAME))
            if st not in (200, 202):
                sys.exit("delete: %s" % st)
            wait(lambda: not marked_pids(marker), "instance gone", 30, 0.02)
            wait(lambda: first_byte(d.http_port, HOST)[1] == 404, "route gone", 10, 0.02)
    finally:
        d.stop()
        with open(os.path.join(d.state, "daemon.log"), "rb") as f:
            starts = sum(1 for line in f if b" supervisor " in line and b" started: " in line)
        if not d.keep:
            shutil.rmtree(d.state, ignore_errors=True)
    return out, prestarted, starts


def measure_app(app, rounds):
    listening, served = [], []
    for _ in range(rounds):
        port = free_port()
        env = dict(os.environ, PORT=str(port))
        t0 = time.perf_counter()
        p = subprocess.Popen([app], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
        line = p.stdout.readline()
        t1 = time.perf_counter()
        if not line.startswith(b"listening on"):
            sys.exit("knd-testapp printed %r" % line)
        p.kill()
        p.wait()
        p.stdout.close()
        listening.append(t1 - t0)

        # spawn -> first byte, polling connect like a proxy would
        port = free_port()
        env = dict(os.environ, PORT=str(port))
        t0 = time.perf_counter()
        p = subprocess.Popen([app], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                time.sleep(0.0002)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.recv(1)
        served.append(time.perf_counter() - t0)
        s.close()
        p.kill()
        p.wait()
    return listening, served


def pct(xs, q):
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(q / 100.0 * len(s)) - 1)]


def ms(x):
    return "%.2f" % (x * 1000.0)


def git_rev():
    try:
        return subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--knd", default=os.path.join(SRC, "build", "knd"))
    ap.add_argument("--app", default=os.path.join(SRC, "build", "tests", "apps", "knd-testapp"))
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    knd, app = os.path.abspath(a.knd), os.path.abspath(a.app)
    for b in (knd, app):
        if not os.access(b, os.X_OK):
            sys.exit("not found: %s (build with bench/run.sh)" % b)

    cold, prestarted, starts = measure_knd(knd, app, a.rounds)
    listening, served = measure_app(app, a.rounds)
    rows = [
        ("(a) request -> first byte through knd, cold", cold),
        ("(b) app spawn -> `listening on`", listening),
        ("(b') app spawn -> first byte of a direct GET", served),
    ]
    lines = ["# Cold start: knd %s, %s" % (git_rev(), datetime.datetime.now().strftime(
        "%Y-%m-%d %H:%M")), "",
        "%d rounds; %s, %d CPUs, Python %s. Times in milliseconds." % (
            a.rounds, platform.platform(), os.cpu_count(), platform.python_version()), "",
        "| measurement | median | p99 | min | max |", "|---|---:|---:|---:|---:|"]
    for label, xs in rows:
        lines.append("| %s | %s | %s | %s | %s |" % (label, ms(statistics.median(xs)),
                                                     ms(pct(xs, 99)), ms(min(xs)), ms(max(xs))))
    lines.append("| (c) platform share = (a) - (b) | %s | %s | | |" % (
        ms(statistics.median(cold) - statistics.median(listening)),
        ms(pct(cold, 99) - pct(listening, 99))))
    lines.append("| (c') platform share = (a) - (b') | %s | %s | | |" % (
        ms(statistics.median(cold) - statistics.median(served)),
        ms(pct(cold, 99) - pct(served, 99))))
    lines += ["", "p99 is nearest-rank (with 50 rounds: the largest sample). (c) subtracts the "
              "statistics, not per-round pairs (the two are measured separately).",
              "", "Command: `%s`" % " ".join([os.path.relpath(sys.argv[0], SRC)] + sys.argv[1:]
                                             if sys.argv[1:] else
                                             [os.path.relpath(sys.argv[0], SRC)])]
    lines += ["", "Instance starts in the daemon log: %d for %d rounds. %s" % (
        starts, a.rounds,
        "One per round: each measured request started the only instance." if starts == a.rounds
        else "More than one per round: knd also ran an instance when the revision was created "
        "(Knative starts none for initial-scale 0); it had stopped before the measured request "
        "(seen still running in %d rounds, then waited for)." % prestarted)]
    lines += ["", "Samples of (a), sorted (ms): " + ", ".join(ms(x) for x in sorted(cold))]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "coldstart-%s.md" % datetime.date.today().isoformat())
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(path, os.getcwd()))


if __name__ == "__main__":
    main()
