#!/usr/bin/python3
"""Footprint benchmark: idle connections, restart with many Services, request log cost.

1. Idle keep-alive connections. `knd serve` (its open-file limit raised to the hard limit before
   it starts, as it inherits it) with Service `hello` Ready. CONNS client connections are opened
   to the ingress in batches (non-blocking sockets and a selector, at most INFLIGHT connecting or
   waiting for their response at once); each sends one `GET /`, reads the whole response and
   stays open, idle. The daemon's VmRSS / VmHWM (/proc/PID/status) and open descriptors are read
   before, with every connection idle, and after they are closed. Target: +10,000 idle client
   connections <= 30 MB more. A sample of the connections is used again afterwards to show they
   were still open (the ingress closes keep-alive connections after 75 s idle).

2. Restart with SERVICES Services. Creates them (knd-testapp, default initial scale 1) through
   the unix-socket API, waits until every one is Ready with a ready instance, stops the daemon
   (SIGTERM), then RESTARTS times starts `knd serve` on the same state dir and times, from just
   before exec: (a) /healthz answering 200 on the admin port and the unix socket answering an
   API GET; (b) every Service Ready and every revision with a ready instance
   (GET /apis/knd.dev/v1/stats). Median of the restarts; SIGTERM -> exit is timed too.

3. Request log and metrics. The per-revision counters and latency histogram behind /metrics are
   always kept (no switch); the request log is config-observability
   `logging.enable-request-log`. Instructions per request under callgrind (as throughput.py
   counts them), request log off and on, in one daemon; then wrk -c16 against the native daemon,
   off / on alternated PAIRS times and a closing off run, "on" meaning the request log on and
   /metrics scraped every second. Goal under test: no measurable slowdown with metrics and the
   request log on.

Prints Markdown and writes it to bench/results/footprint-<date>.md; progress goes to stderr.
Usage: bench/footprint.py [--knd build/knd] [--app build/tests/apps/knd-testapp]
                          [--conns 10000] [--services 100] [--restarts 5] [--pairs 3]
                          [--duration 5] [--callgrind-requests 10000] [--only 1,2,3]
"""
import argparse
import datetime
import errno
import os
import platform
import re
import resource
import selectors
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

from knd_bench import api_call, free_port, proc_status_kib
import throughput as tp

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
HOST = tp.HOST
REQ = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST).encode()
SVCS = "/apis/serving.knative.dev/v1/namespaces/default/services"
CMS = "/api/v1/namespaces/knative-serving/configmaps"
TARGET_CONN_MB = 30.0
STARTED = time.monotonic()


def log(msg):
    print("[%5.0fs] %s" % (time.monotonic() - STARTED, msg), file=sys.stderr, flush=True)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def nofile_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return line.split()[3]
    return "?"


def response_end(buf):
    """Length of the complete response at the start of `buf`, or 0 while incomplete."""
    h = buf.find(b"\r\n\r\n")
    if h < 0:
        return 0
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf[:h])
    if m is None:
        sys.exit("response without Content-Length: %r" % buf[:300])
    end = h + 4 + int(m.group(1))
    return end if len(buf) >= end else 0


# ------------------------------------------------------------------ 1. idle connections

def open_idle(port, n, inflight, timeout=30):
    """Opens `n` connections to the ingress, one `GET /` each read to its end; returns the open
    sockets and a {error: count} of the ones that failed."""
    sel = selectors.DefaultSelector()
    addr = ("127.0.0.1", port)
    idle, errors, started, active = [], {}, 0, 0

    def fail(s, what):
        nonlocal active
        errors[what] = errors.get(what, 0) + 1
        sel.unregister(s)
        s.close()
        active -= 1

    while len(idle) + sum(errors.values()) < n:
        while started < n and active < inflight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            rc = s.connect_ex(addr)
            if rc not in (0, errno.EINPROGRESS):
                errors[errno.errorcode.get(rc, str(rc))] = \
                    errors.get(errno.errorcode.get(rc, str(rc)), 0) + 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, [b""])
            active += 1
        events = sel.select(timeout)
        if not events:
            sys.exit("no progress for %d s with %d connections open, %d in flight"
                     % (timeout, len(idle), active))
        for key, ev in events:
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s, "connect " + errno.errorcode.get(err, str(err)))
                    continue
                s.send(REQ)  # 60 bytes into an empty socket buffer: sent whole
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                d = s.recv(65536)
            except OSError as e:
                fail(s, "recv " + errno.errorcode.get(e.errno, str(e.errno)))
                continue
            if not d:
                fail(s, "closed before the response ended")
                continue
            st[0] += d
            end = response_end(st[0])
            if end:
                if not st[0].startswith(b"HTTP/1.1 200") or end != len(st[0]):
                    fail(s, "unexpected response %r" % st[0][:40])
                    continue
                sel.unregister(s)
                active -= 1
                idle.append(s)
    sel.close()
    return idle, errors


def reuse_sample(socks, k):
    """A second `GET /` on `k` of the idle connections spread over the list: how many answered
    200 (a connection the server had closed reads EOF or resets)."""
    ok = 0
    step = max(1, len(socks) // k)
    for s in socks[::step][:k]:
        s.setblocking(True)
        s.settimeout(5)
        try:
            s.sendall(REQ)
            buf = b""
            while not response_end(buf):
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            ok += buf.startswith(b"HTTP/1.1 200") and response_end(buf) > 0
        except OSError:
            pass
    return ok


def bench_conns(knd, app, n, inflight):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 256:
        sys.exit("open-file hard limit %d is below %d connections + 256" % (hard, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the daemon inherits it
    d = Serve(knd)
    d.up()
    r = {"n": n, "inflight": inflight, "limit_self": hard, "limit_daemon": nofile_limit(d.proc.pid)}
    socks = []
    try:
        tp.apply_ready(d, "hello", app)
        time.sleep(1)
        pid = d.proc.pid
        r["idle"], r["idle_fds"] = proc_status_kib(pid), fd_count(pid)
        # The same batch size once, closed again: the upstream connections to the instance and
        # the allocator's high-water mark of INFLIGHT requests at once are then already paid.
        warm, errs = open_idle(d.http_port, inflight, inflight)
        for s in warm:
            s.close()
        time.sleep(1)
        r["warm"], r["warm_fds"] = proc_status_kib(pid), fd_count(pid)
        log("opening %d idle connections, %d at a time" % (n, inflight))
        t0 = time.monotonic()
        socks, errs = open_idle(d.http_port, n, inflight)
        r["open_s"] = time.monotonic() - t0
        r["errors"] = errs
        time.sleep(2)
        r["held"], r["held_fds"] = proc_status_kib(pid), fd_count(pid)
        r["held_after_s"] = time.monotonic() - t0
        r["sample"] = min(200, len(socks))
        r["sample_ok"] = reuse_sample(socks, r["sample"])
        st, stats = api_call(d.sock, "GET", "/apis/knd.dev/v1/stats")
        r["instances"] = sum(x["ready"] for x in stats["revisions"]) if st == 200 else -1
        for s in socks:
            s.close()
        socks = []
        time.sleep(2)
        r["closed"], r["closed_fds"] = proc_status_kib(pid), fd_count(pid)
        log("idle connections: VmRSS %d -> %d KiB" % (r["idle"]["VmRSS"], r["held"]["VmRSS"]))
    except BaseException:
        d.keep = True
        raise
    finally:
        for s in socks:
            s.close()
        d.stop(check=not d.keep)
    return r


def report_conns(r):
    n = r["n"]
    mb = (r["held"]["VmRSS"] - r["idle"]["VmRSS"]) / 1024.0
    per_conn = (r["held"]["VmRSS"] - r["warm"]["VmRSS"]) * 1024.0 / max(1, n)
    lines = [
        "## 1. %d idle keep-alive client connections" % n, "",
        "Service `hello` Ready (one knd-testapp instance). Each connection sends one `GET /` "
        "through the ingress, reads the whole 200 response and stays open; at most %d connect "
        "or wait for their response at once. Open-file limit: the script raised its soft limit "
        "to the hard limit (%d) before starting the daemon; the daemon's /proc limit reads %s "
        "(knd itself does not change RLIMIT_NOFILE)." % (
            r["inflight"], r["limit_self"], r["limit_daemon"]), "",
        "| daemon state | VmRSS (KiB) | VmHWM (KiB) | RssAnon (KiB) | open fds |",
        "|---|---:|---:|---:|---:|"]
    for key, label in (("idle", "idle, `hello` Ready, no request yet"),
                       ("warm", "after %d connections served once and closed" % r["inflight"]),
                       ("held", "**%d connections open and idle**" % n),
                       ("closed", "after closing them")):
        s = r[key]
        lines.append("| %s | %d | %d | %d | %d |" % (label, s["VmRSS"], s["VmHWM"],
                                                     s.get("RssAnon", 0), r[key + "_fds"]))
    lines += [
        "", "| figure | value |", "|---|---:|",
        "| connections open and idle (failed) | %d (%d%s) |" % (
            n - sum(r["errors"].values()), sum(r["errors"].values()),
            ": " + ", ".join("%s %d" % kv for kv in r["errors"].items()) if r["errors"] else ""),
        "| time to open them and serve one request each | %.1f s |" % r["open_s"],
        "| **VmRSS with them idle minus idle VmRSS before** | **%.1f MB** (target <= %.0f MB: "
        "%s) |" % (mb, TARGET_CONN_MB, "met" if mb <= TARGET_CONN_MB else "MISSED"),
        "| per connection, against the warmed-up state | %.0f bytes |" % per_conn,
        "| a second `GET /` on %d of them, spread over the list, %.0f s after the first opened |"
        " %d answered 200 |" % (r["sample"], r["held_after_s"], r["sample_ok"]),
        "| ready instances at the end | %d |" % r["instances"], "",
        "MB = 1024 KiB. VmRSS is read 2 s after the last connection became idle."]
    return lines


# ------------------------------------------------------------------ 2. restart

def service(i, app, marker):
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "svc-%03d" % i, "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{
                "image": "knd.dev/bench/testapp:v1", "command": [app],
                "env": [{"name": "KND_BENCH_RUN", "value": marker}]}]}}}}


def marked_pids(marker):
    entry = ("KND_BENCH_RUN=" + marker).encode()
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    if entry in f.read().split(b"\0"):
                        out.append(int(p))
            except OSError:
                pass
    return out


def readiness(sock, n):
    """(Services Ready at their generation, revisions with a ready instance)."""
    st, lst = api_call(sock, "GET", SVCS)
    ready = 0
    for o in (lst or {}).get("items", []) if st == 200 else []:
        s = o.get("status") or {}
        if s.get("observedGeneration") == o["metadata"].get("generation") and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in s.get("conditions") or []):
            ready += 1
    st, stats = api_call(sock, "GET", "/apis/knd.dev/v1/stats")
    inst = sum(1 for r in stats["revisions"] if r["ready"] > 0) if st == 200 else 0
    return ready, inst


def healthz(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            buf = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
        return buf.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def sock_answers(path):
    try:
        return api_call(path, "GET", SVCS, timeout=2)[0] == 200
    except OSError:
        return False


class Serve:
    """`knd serve` on fresh loopback ports (the kubectl API address too, so that a daemon
    already on the default :6443 does not matter), optionally under a wrapper command
    (valgrind). `state` None: a temporary state dir, removed at stop unless `keep`."""

    def __init__(self, knd, state=None, wrapper=()):
        self.knd, self.tmp = knd, state is None
        self.state = state or tempfile.mkdtemp(prefix="knd-bench-")
        self.sock = os.path.join(self.state, "knd.sock")
        self.http_port, self.admin_port = free_port(), free_port()
        self.keep = False
        self.log = open(os.path.join(self.state, "daemon.log"), "ab")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            list(wrapper) + [knd, "serve", "--state-dir", self.state,
                             "--http-addr", "127.0.0.1:%d" % self.http_port,
                             "--admin-addr", "127.0.0.1:%d" % self.admin_port,
                             "--api-addr", "127.0.0.1:%d" % free_port()],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)

    def api(self, method, path, body=None):
        return api_call(self.sock, method, path, body)

    def cli(self, *args, stdin=None):
        return subprocess.run([self.knd, "--state-dir", self.state] + list(args), input=stdin,
                              capture_output=True, timeout=60)

    def up(self, timeout=30):
        """Seconds from exec to /healthz 200, and to the unix socket answering an API GET."""
        t_h = t_s = None
        while t_h is None or t_s is None:
            if self.proc.poll() is not None:
                self.keep = True
                sys.exit("knd serve exited during start-up; see %s/daemon.log" % self.state)
            if time.monotonic() - self.t0 > timeout:
                self.keep = True
                sys.exit("knd serve not up after %d s" % timeout)
            if t_h is None and healthz(self.admin_port):
                t_h = time.monotonic() - self.t0
            if t_s is None and os.path.exists(self.sock) and sock_answers(self.sock):
                t_s = time.monotonic() - self.t0
            if t_h is None or t_s is None:
                time.sleep(0.002)
        return t_h, t_s

    def all_ready(self, n, timeout=120):
        """Seconds from exec until every Service is Ready, and until every revision has a ready
        instance (the later of the two is the figure)."""
        t_svc = t_inst = None
        while t_svc is None or t_inst is None:
            if time.monotonic() - self.t0 > timeout:
                sys.exit("not all %d Services Ready after %d s: %s" % (
                    n, timeout, readiness(self.sock, n)))
            ready, inst = readiness(self.sock, n)
            now = time.monotonic() - self.t0
            if t_svc is None and ready >= n:
                t_svc = now
            if t_inst is None and inst >= n:
                t_inst = now
            time.sleep(0.02)
        return t_svc, t_inst

    def stop(self, check=True):
        """SIGTERM -> exit, in seconds."""
        t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.keep = True
        took = time.monotonic() - t
        self.log.close()
        if self.keep:
            print("daemon state kept: %s" % self.state, file=sys.stderr)
        elif self.tmp:
            shutil.rmtree(self.state, ignore_errors=True)
        if check and self.proc.returncode != 0:
            sys.exit("knd serve exited %d; see %s/daemon.log" % (self.proc.returncode, self.state))
        return took


def wait_gone(marker, timeout=20):
    deadline = time.monotonic() + timeout
    while marked_pids(marker):
        if time.monotonic() > deadline:
            sys.exit("instances still running %d s after the daemon exited: %s"
                     % (timeout, marked_pids(marker)))
        time.sleep(0.05)


def bench_restart(knd, app, n, restarts):
    state = tempfile.mkdtemp(prefix="knd-bench-restart-")
    marker = uuid.uuid4().hex
    r = {"n": n, "runs": []}
    d = Serve(knd, state)
    ok = False
    try:
        d.up()
        log("creating %d Services" % n)
        t0 = time.monotonic()
        for i in range(n):
            st, o = api_call(d.sock, "POST", SVCS, service(i, app, marker))
            if st not in (200, 201):
                sys.exit("create svc-%03d: %s %s" % (i, st, o))
        d.t0 = t0
        r["create_ready"] = d.all_ready(n)
        r["rss_ready"] = proc_status_kib(d.proc.pid)
        r["instances_first"] = len(marked_pids(marker))
        r["stops"] = [d.stop()]
        wait_gone(marker)
        for k in range(restarts):
            d = Serve(knd, state)
            t_h, t_s = d.up()
            at_up = readiness(d.sock, n)
            procs_up = len(marked_pids(marker))
            t_svc, t_inst = d.all_ready(n)
            run = {"healthz": t_h, "sock": t_s, "svc": t_svc, "inst": t_inst,
                   "ready_at_up": at_up, "procs_up": procs_up,
                   "procs_ready": len(marked_pids(marker)),
                   "rss": proc_status_kib(d.proc.pid)["VmRSS"]}
            r["stops"].append(d.stop())
            wait_gone(marker)
            r["runs"].append(run)
            log("restart %d: healthz %.0f ms, socket %.0f ms, Services Ready %.0f ms, "
                "instances ready %.0f ms" % (k + 1, t_h * 1e3, t_s * 1e3, t_svc * 1e3,
                                              t_inst * 1e3))
        ok = True
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        for p in marked_pids(marker):
            os.kill(p, signal.SIGKILL)
        if ok:
            shutil.rmtree(state, ignore_errors=True)
        else:
            print("state dir kept: %s" % state, file=sys.stderr)
    return r


def report_restart(r):
    n, runs = r["n"], r["runs"]

    def med(key):
        return statistics.median(x[key] for x in runs) * 1e3

    def rng(key):
        return "%.0f-%.0f" % (min(x[key] for x in runs) * 1e3, max(x[key] for x in runs) * 1e3)

    up = [max(x["healthz"], x["sock"]) for x in runs]
    lines = [
        "## 2. `knd serve` restart with %d Services" % n, "",
        "%d Services (knd-testapp, default initial scale 1, one instance each), created through "
        "the unix-socket API: create -> all Ready with a ready instance %.1f s; daemon VmRSS "
        "then %d KiB. Stopped with SIGTERM (instances stopped with it), then %d starts of "
        "`knd serve` on the same state dir; times from just before exec, polling every 2 ms "
        "for (a) and 20 ms for (b)." % (n, r["create_ready"][1], r["rss_ready"]["VmRSS"],
                                         len(runs), ), "",
        "| figure | median | min-max |", "|---|---:|---:|",
        "| exec -> /healthz 200 on the admin port | %.0f ms | %s |" % (med("healthz"),
                                                                    rng("healthz")),
        "| exec -> unix socket answers `GET .../services` | %.0f ms | %s |" % (med("sock"),
                                                                            rng("sock")),
        "| **(a) exec -> both** | **%.0f ms** | %.0f-%.0f |" % (
            statistics.median(up) * 1e3, min(up) * 1e3, max(up) * 1e3),
        "| exec -> all %d Services Ready (API) | %.0f ms | %s |" % (n, med("svc"), rng("svc")),
        "| **(b) exec -> all %d revisions with a ready instance** | **%.0f ms** | %s |" % (
            n, med("inst"), rng("inst")),
        "| SIGTERM -> exit, %d instances running | %.0f ms | %.0f-%.0f |" % (
            n, statistics.median(r["stops"]) * 1e3, min(r["stops"]) * 1e3,
            max(r["stops"]) * 1e3),
        "| daemon VmRSS, all ready after a restart | %d KiB | |" % statistics.median(
            x["rss"] for x in runs), "",
        "What the restart does, per run (at the moment (a) was reached, then at (b)):", "",
        "| run | Services Ready at (a) | revisions with a ready instance at (a) | instance "
        "processes at (a) | instance processes at (b) |", "|---:|---:|---:|---:|---:|"]
    for i, x in enumerate(runs):
        lines.append("| %d | %d | %d | %d | %d |" % (i + 1, x["ready_at_up"][0],
                                                     x["ready_at_up"][1], x["procs_up"],
                                                     x["procs_ready"]))
    if all(x["ready_at_up"][1] >= n for x in runs):
        lines += ["", "Every revision already had a ready instance when (a) was reached: the "
                  "daemon binds its listeners, then runs its first reconcile pass before its "
                  "loop answers anything, and that pass starts the instances the stored "
                  "revisions want (initial scale 1: one each). (b) is therefore (a) plus the "
                  "first 20 ms poll."]
    return lines


# ------------------------------------------------------------------ 3. request log

def set_reqlog(d, on, path):
    """config-observability with the request log on or off, created the first time."""
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config-observability", "namespace": "knative-serving"},
            "data": {"logging.enable-request-log": "true" if on else "false",
                     "logging.request-log-path": path}}
    st, o = api_call(d.sock, "GET", CMS + "/config-observability")
    if st == 404:
        st, o = api_call(d.sock, "POST", CMS, body)
    else:
        o["data"] = body["data"]
        st, o = api_call(d.sock, "PUT", CMS + "/config-observability", o)
    if st not in (200, 201):
        sys.exit("config-observability: %s %s" % (st, o))


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def one_request(s):
    s.sendall(REQ)
    buf = b""
    while not response_end(buf):
        d = s.recv(65536)
        if not d:
            sys.exit("connection closed after %r" % buf[:300])
        buf += d
    if not buf.startswith(b"HTTP/1.1 200"):
        sys.exit("unexpected response %r" % buf[:300])


def confirm_reqlog(d, on, path, flush_s=0.5, timeout=30):
    """Waits until the daemon logs requests (on) or stops logging them (off)."""
    deadline = time.monotonic() + timeout
    s = socket.create_connection(("127.0.0.1", d.http_port), timeout=30)
    try:
        while time.monotonic() < deadline:
            time.sleep(flush_s)  # the ingress flushes its log buffer every 200 ms
            before = size(path)
            for _ in range(3):
                one_request(s)
            time.sleep(flush_s)
            if (size(path) > before) == on:
                return
    finally:
        s.close()
    sys.exit("request log did not turn %s within %d s" % ("on" if on else "off", timeout))


def callgrind_reqlog(knd, app, nreq, logdir):
    """Ir per request with the request log off and on (one daemon under callgrind), minus an
    idle window; per-function self Ir of both dumps."""
    outdir = tempfile.mkdtemp(prefix="knd-bench-cg-")
    out = os.path.join(outdir, "callgrind.out")
    path = os.path.join(logdir, "cg-requests.log")
    d = Serve(knd, wrapper=["valgrind", "--tool=callgrind", "--vgdb=yes",
                             "--callgrind-out-file=" + out + ".%p",
                             "--toggle-collect=knd_reconciler_on_kick", "--collect-atstart=yes"])
    d.up(120)
    ctl, pid = ["callgrind_control"], str(d.proc.pid)
    took = {}
    try:
        tp.apply_ready(d, "hello", app)
        s = socket.create_connection(("127.0.0.1", d.http_port), timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for mode in ("off", "on"):
            set_reqlog(d, mode == "on", path)
            confirm_reqlog(d, mode == "on", path, flush_s=1.0, timeout=60)
            for _ in range(50):
                one_request(s)
            subprocess.run(ctl + ["-z", pid], capture_output=True, check=True, timeout=60)
            t0 = time.monotonic()
            for _ in range(nreq):
                one_request(s)
            took[mode] = time.monotonic() - t0
            subprocess.run(ctl + ["-d", mode, pid], capture_output=True, check=True, timeout=60)
            log("callgrind: %d requests with the request log %s in %.1f s" % (
                nreq, mode, took[mode]))
            # the background over the same time, with the last log lines flushed inside it
            subprocess.run(ctl + ["-z", pid], capture_output=True, check=True, timeout=60)
            time.sleep(took[mode])
            subprocess.run(ctl + ["-d", "idle-" + mode, pid], capture_output=True, check=True,
                           timeout=60)
        s.close()
        lines = open(path, "rb").read().count(b"\n")
    except BaseException:
        d.keep = True
        raise
    finally:
        d.stop(check=not d.keep)
    dumps = tp.callgrind_dumps(outdir)
    for k in ("off", "on", "idle-off", "idle-on"):
        if k not in dumps:
            sys.exit("callgrind dump %s missing in %s: %s" % (k, outdir, os.listdir(outdir)))
    r = {"nreq": nreq, "took": took, "log_lines": lines}
    for mode in ("off", "on"):
        r[mode] = (dumps[mode][0] - dumps["idle-" + mode][0]) / nreq
        r["self-" + mode] = {fn: ir for ir, _, fn in tp.callgrind_top(dumps[mode][1], False, 400)}
        r["incl-" + mode] = {fn: ir for ir, _, fn in tp.callgrind_top(dumps[mode][1], True, 600)}
    shutil.rmtree(outdir, ignore_errors=True)
    return r


def scraper(port, stop, out):
    """GET /metrics every second until `stop` is set (as a Prometheus with a 1 s interval)."""
    while not stop.wait(1.0):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                buf = b""
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    buf += d
            out.append(buf.startswith(b"HTTP/1.1 200"))
        except OSError:
            out.append(False)


def wrk_reqlog(knd, app, pairs, duration, logdir):
    path = os.path.join(logdir, "wrk-requests.log")
    lua_fd, lua = tempfile.mkstemp(prefix="knd-bench-", suffix=".lua")
    with os.fdopen(lua_fd, "w") as f:
        f.write(tp.WRK_LUA)
    d = Serve(knd)
    d.up()
    runs = {"off": [], "on": []}
    scrapes = []
    try:
        tp.apply_ready(d, "hello", app)
        set_reqlog(d, False, path)
        confirm_reqlog(d, False, path)
        tp.wrk(d.http_port, "/", 16, 1, lua)  # warm: upstream connections open
        # off, on, off, on, ..., off: the closing "off" brackets every "on" run between two
        # "off" runs, so that a drift of the machine over the runs is not read as a slowdown
        for k, mode in enumerate(["off", "on"] * pairs + ["off"]):
            set_reqlog(d, mode == "on", path)
            confirm_reqlog(d, mode == "on", path)
            time.sleep(0.3)  # the confirmation's last lines flushed
            lines0 = open(path, "rb").read().count(b"\n") if os.path.exists(path) else 0
            stop = threading.Event()
            th = threading.Thread(target=scraper, args=(d.admin_port, stop, scrapes))
            if mode == "on":
                th.start()
            o = tp.wrk(d.http_port, "/", 16, duration, lua)
            if mode == "on":
                stop.set()
                th.join()
            time.sleep(0.5)  # the ingress flushes its log every 200 ms
            lines = open(path, "rb").read().count(b"\n") if os.path.exists(path) else 0
            o["logged"] = lines - lines0
            runs[mode].append(o)
            log("wrk c=16 run %d, request log %-3s: %8.0f req/s p50 %d us p99 %d us, "
                "%d lines logged, %d errors" % (k + 1, mode, o["rps"], o["p50"], o["p99"],
                                                o["logged"], o["errors"]))
            if mode == "on":
                os.truncate(path, 0)  # keeps /tmp small; the ingress appends (O_APPEND)
        rss = proc_status_kib(d.proc.pid)
    except BaseException:
        d.keep = True
        raise
    finally:
        d.stop(check=not d.keep)
        os.unlink(lua)
    return {"runs": runs, "scrapes": scrapes, "rss": rss}


REQLOG_FNS = ("knd_proxy_log", "knd__ingress_log", "knd_ingress_log_flush", "knd_proxy_json_str",
              "knd_proxy_json_num", "knd_time_rfc3339", "knd_rev_observe", "knd_proxy_free",
              "knd_proxy_start", "knd_ingress_on_request")


def report_reqlog(cg, wk, pairs, duration):
    lines = ["## 3. Request log and metrics on the request path", "",
             "The per-revision counters and the latency histogram behind `/metrics` "
             "(`knd_rev_observe`) are updated on every request whatever the configuration: "
             "knd has no switch for them, so \"metrics on\" can only add the scrapes. "
             "\"on\" below is config-observability `logging.enable-request-log: \"true\"` "
             "(a JSON line per request to `logging.request-log-path`, a file in /tmp), and "
             "for wrk also `GET /metrics` every second during the run; \"off\" is the request "
             "log `\"false\"` and no scrape.", ""]
    if cg:
        n = cg["nreq"]
        lines += [
            "### Instructions per request (callgrind)", "",
            "One `knd serve` (`%s` build) under `valgrind --tool=callgrind "
            "--toggle-collect=knd_reconciler_on_kick --collect-atstart=yes`; %d sequential "
            "keep-alive `GET /` through the ingress to `hello` per mode after 50 warm-up "
            "requests, counters zeroed before and dumped after, minus an idle window of the "
            "same length (which also takes the last log flush); %d lines were logged." % (
                tp.build_type(os.path.abspath(ARGS.knd)), n, cg["log_lines"]), "",
            "| request log | Ir / request | time under valgrind |", "|---|---:|---:|",
            "| off | %.0f | %.1f s |" % (cg["off"], cg["took"]["off"]),
            "| on | %.0f | %.1f s |" % (cg["on"], cg["took"]["on"]),
            "| **on - off** | **%+.0f (%+.1f%%)** | |" % (
                cg["on"] - cg["off"], (cg["on"] / cg["off"] - 1) * 100), "",
            "Self Ir per request, the functions whose count changed most (on - off):", "",
            "| function | off | on | on - off |", "|---|---:|---:|---:|"]
        fns = set(cg["self-off"]) | set(cg["self-on"])
        delta = sorted(fns, key=lambda f: -abs(cg["self-on"].get(f, 0) - cg["self-off"].get(f, 0)))
        for fn in delta[:12]:
            a, b = cg["self-off"].get(fn, 0) / n, cg["self-on"].get(fn, 0) / n
            lines.append("| `%s` | %.0f | %.0f | %+.0f |" % (fn, a, b, b - a))
        lines += ["", "Inclusive Ir per request of the log and metrics functions (absent: "
                  "inlined into their caller in this build, or not called):", "",
                  "| function | off | on |", "|---|---:|---:|"]
        for name in REQLOG_FNS:
            for key in (cg["incl-on"], cg["incl-off"]):
                hit = [fn for fn in key if fn.endswith(":" + name) or fn == name]
                if hit:
                    fn = hit[0]
                    lines.append("| `%s` | %.0f | %.0f |" % (
                        name, cg["incl-off"].get(fn, 0) / n, cg["incl-on"].get(fn, 0) / n))
                    break
    if wk:
        off, on = wk["runs"]["off"], wk["runs"]["on"]
        moff = statistics.median(o["rps"] for o in off)
        mon = statistics.median(o["rps"] for o in on)
        ratios = [b["rps"] / a["rps"] for a, b in zip(off, on)]
        brackets = [o["rps"] / ((off[k]["rps"] + off[k + 1]["rps"]) / 2)
                    for k, o in enumerate(on)]
        below = all(o["rps"] < min(off[k]["rps"], off[k + 1]["rps"]) for k, o in enumerate(on))
        lines += [
            "", "### Throughput, wrk -t2 -c16 -d%ds `GET /` (11 B)" % duration, "",
            "%d off/on pairs and a closing off run, against one native daemon; %d of %d scrapes "
            "answered 200 "
            "during the \"on\" runs; daemon VmRSS / VmHWM at the end %d / %d KiB." % (
                pairs, sum(wk["scrapes"]), len(wk["scrapes"]), wk["rss"]["VmRSS"],
                wk["rss"]["VmHWM"]), "",
            "| run | request log | req/s | p50 (us) | p99 (us) | requests (wrk) | lines logged | "
            "errors |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for k in range(len(off)):
            for mode, o in (("off", off[k]), ("on", on[k])) if k < len(on) else (("off", off[k]),):
                lines.append("| %d | %s | %.0f | %d | %d | %d | %d | %d |" % (
                    k + 1, mode, o["rps"], o["p50"], o["p99"], o["requests"], o["logged"],
                    o["errors"]))
        spread = [(max(o["rps"] for o in v) - min(o["rps"] for o in v)) /
                  statistics.median(o["rps"] for o in v) for v in (off, on)]
        lines += [
            "", "| figure | value |", "|---|---:|",
            "| median req/s, off | %.0f (spread %.0f%%) |" % (moff, spread[0] * 100),
            "| median req/s, on | %.0f (spread %.0f%%) |" % (mon, spread[1] * 100),
            "| **on / off, medians** | **%.3f** |" % (mon / moff),
            "| on / off per pair | %s |" % ", ".join("%.3f" % x for x in ratios),
            "| median p99 off / on | %d / %d us |" % (
                statistics.median(o["p99"] for o in off), statistics.median(o["p99"] for o in on)),
            "| on / mean of the two off runs around it | %s (median **%.3f**) |" % (
                ", ".join("%.3f" % x for x in brackets), statistics.median(brackets)),
            "| every on run slower than both off runs around it | %s |" % (
                "**yes: measurable slowdown**" if below else "no"), "",
            "The runs go off, on, off, on, ..., off (%d off runs, %d on runs), so that every "
            "\"on\" run sits between two \"off\" runs and a drift of the machine over the run "
            "(wrk, knd and the instance share %d CPUs) is not taken for a slowdown. The "
            "slowdown counts as measurable when every \"on\" run is slower than both \"off\" "
            "runs around it." % (len(off), len(on), os.cpu_count())]
    return lines


# ------------------------------------------------------------------ main

def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--knd", default=os.path.join(SRC, "build", "knd"))
    ap.add_argument("--app", default=os.path.join(SRC, "build", "tests", "apps", "knd-testapp"))
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--inflight", type=int, default=64,
                    help="connections connecting or awaiting their response at once")
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--callgrind-requests", type=int, default=10000)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--only", default="1,2,3", help="which parts to run")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ARGS = a = ap.parse_args()
    knd, app = os.path.abspath(a.knd), os.path.abspath(a.app)
    for b in (knd, app):
        if not os.access(b, os.X_OK):
            sys.exit("not found: %s (build with bench/run.sh)" % b)
    parts = {int(x) for x in a.only.split(",")}
    need = (("wrk",) if 3 in parts else ()) + \
        (("valgrind",) if 3 in parts and not a.no_callgrind else ())
    for tool in need:
        if shutil.which(tool) is None:
            sys.exit("%s not found: apt-get install -y wrk valgrind" % tool)
    minfo = tp.machine()
    out = ["# Footprint: knd %s, %s" % (tp.git_rev(), datetime.datetime.now().strftime(
        "%Y-%m-%d %H:%M")), "",
        "Machine: %s; knd `%s` build; Python %s." % (minfo, tp.build_type(knd),
                                                      platform.python_version()), ""]
    summary = ["| figure | measured | target |", "|---|---:|---|"]
    body = []
    if 1 in parts:
        r = bench_conns(knd, app, a.conns, a.inflight)
        mb = (r["held"]["VmRSS"] - r["idle"]["VmRSS"]) / 1024.0
        summary.append("| +%d idle keep-alive client connections, VmRSS | +%.1f MB | <= %.0f MB: "
                       "%s |" % (a.conns, mb, TARGET_CONN_MB,
                                 "met" if mb <= TARGET_CONN_MB else "**missed**"))
        body += [""] + report_conns(r)
    if 2 in parts:
        r = bench_restart(knd, app, a.services, a.restarts)
        up = statistics.median(max(x["healthz"], x["sock"]) for x in r["runs"])
        inst = statistics.median(x["inst"] for x in r["runs"])
        summary.append("| `knd serve` exec -> healthz + socket, %d Services (median of %d) | "
                       "%.0f ms | |" % (a.services, a.restarts, up * 1e3))
        summary.append("| `knd serve` exec -> all %d revisions ready again (median of %d) | "
                       "%.0f ms | |" % (a.services, a.restarts, inst * 1e3))
        body += [""] + report_restart(r)
    if 3 in parts:
        logdir = tempfile.mkdtemp(prefix="knd-bench-reqlog-")
        try:
            cg = None
            if not a.no_callgrind:
                log("callgrind, %d requests per mode" % a.callgrind_requests)
                cg = callgrind_reqlog(knd, app, a.callgrind_requests, logdir)
            log("wrk c=16, %d off/on pairs" % a.pairs)
            wk = wrk_reqlog(knd, app, a.pairs, a.duration, logdir)
        finally:
            shutil.rmtree(logdir, ignore_errors=True)
        if cg:
            summary.append("| Ir / request, request log on - off | %+.0f (%+.1f%%) | |" % (
                cg["on"] - cg["off"], (cg["on"] / cg["off"] - 1) * 100))
        moff = statistics.median(o["rps"] for o in wk["runs"]["off"])
        mon = statistics.median(o["rps"] for o in wk["runs"]["on"])
        off, on = wk["runs"]["off"], wk["runs"]["on"]
        below = all(o["rps"] < min(off[k]["rps"], off[k + 1]["rps"]) for k, o in enumerate(on))
        summary.append("| wrk c=16 req/s, log + scrapes on / off (medians of %d and %d runs) | "
                       "%.3f | no measurable slowdown: %s |" % (
                           len(on), len(off), mon / moff,
                           "**disproved** (every on run below both off runs around it)" if below
                           else "not disproved"))
        body += [""] + report_reqlog(cg, wk, a.pairs, a.duration)
    out += summary + body
    out += ["", "Command: `%s`" % " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), SRC)]
                                           + sys.argv[1:]),
            "", "Wall time of the run: %.0f s; load average after: %s." % (
                time.monotonic() - STARTED, " ".join(open("/proc/loadavg").read().split()[:3]))]
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "footprint-%s.md" % datetime.date.today().isoformat())
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(path, os.getcwd()))


ARGS = None

if __name__ == "__main__":
    main()
