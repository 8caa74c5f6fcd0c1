#!/usr/bin/python3
"""Throughput benchmark: knd's ingress against nginx and HAProxy, in front of the same instance.

Starts `knd serve` (release build) on free loopback ports with a temporary state dir, applies
Service `hello` (knd-testapp) and waits until it is Ready. The instance knd started is the one
backend of the whole run: its port is read from the daemon log line
`supervisor INFO instance=<id> pid=<pid> port=<port> started: ...` and checked against the
`PORT` and `K_REVISION` variables in /proc/<pid>/environ. nginx (bench/nginx.conf.in) and
HAProxy (bench/haproxy.cfg.in) are started in front of that same port, so that the four targets

  direct   wrk -> instance
  nginx    wrk -> nginx (1 worker, upstream keepalive 1024)    -> instance
  haproxy  wrk -> haproxy (nbthread 1, http-reuse always)      -> instance
  knd      wrk -> knd ingress (Host: hello.default.<domain>)   -> instance

differ only in the proxy. For every body (`/`: 11 bytes; `/?bytes=65536`: 64 KiB) and every
concurrency it runs `wrk -t2 -cN -dDs --latency` against each target, REPS times with the
targets interleaved, and reports the median of requests/s and of each latency percentile.

Then, without load: system calls per request of each proxy (strace -c), binary size, the
daemon's VmRSS idle and with `hello` running and its idle CPU time, apply -> Ready of a
knd-testapp Service (median of ROUNDS), and instructions per request of knd's ingress under
callgrind.

Every run also records the CPU time (user + system) the proxying process and the instance spent
per request: unlike req/s and latency, it does not depend on how the scheduler shares the CPUs
among wrk, the proxy and the instance. With --pin, wrk runs on CPU 0 and everything else on
CPU 1, which takes most of the scheduler's noise out of the latencies as well.

Prints Markdown and writes it to bench/results/throughput-<date>.md (throughput-pinned-<date>.md
with --pin).
At concurrency 1 the targets are also measured interleaved request by request
(knd-bench-pingpong, bench/pingpong.c): wrk's c=1 runs of one target seconds apart differ too
much in p99 to compare proxies; the c=1 verdicts come from the interleaved client.

Usage: bench/throughput.py [--knd build/knd] [--app build/tests/apps/knd-testapp]
                           [--duration 5] [--reps 3] [--conc 1,16,64,256] [--no-callgrind]
                           [--pin] [--pingpong build/bench/knd-bench-pingpong]
                           [--slices build/bench/knd-bench-slices]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from knd_bench import api_call, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
DOMAIN = "127.0.0.1.sslip.io"
HOST = "hello.default." + DOMAIN
BODIES = [("11 B (`/`)", "/"), ("64 KiB (`/?bytes=65536`)", "/?bytes=65536")]
TARGETS = ["direct", "nginx", "haproxy", "knd"]
STARTED_RE = re.compile(rb"supervisor INFO instance=(\S+) pid=(\d+) port=(\d+) started: ")

# wrk prints its own summary with 50/75/90/99 only; this adds p99.9 and the error counters as
# one JSON line (latencies in microseconds).
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50": %d, "p99": %d, "p999": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect, e.read, e.write, e.status, e.timeout))
end
"""



def wait_port(port, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("%s exited during start-up (code %s)" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("%s not listening on %d after %d s" % (what, port, timeout))



class Daemon:
    """`knd serve` on free loopback ports and a temporary state dir, optionally under a wrapper
    command (valgrind)."""

    keep = False  # set on failure: the state dir and the daemon log stay for a look

    def __init__(self, knd, wrapper=(), start_timeout=20):
        self.knd = knd
        self.state = tempfile.mkdtemp(prefix="knd-bench-")
        self.sock = os.path.join(self.state, "knd.sock")
        self.logpath = os.path.join(self.state, "daemon.log")
        self.http_port, self.admin_port = free_port(), free_port()
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            list(wrapper) + [knd, "serve", "--state-dir", self.state,
                             "--http-addr", "127.0.0.1:%d" % self.http_port,
                             "--admin-addr", "127.0.0.1:%d" % self.admin_port,
                             "--api-addr", "none"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("knd serve exited during start-up; see %s" % self.logpath)
            if os.path.exists(self.sock):
                try:
                    if self.api("GET", "/apis/serving.knative.dev/v1/namespaces/default/"
                                "services")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        sys.exit("knd serve not up after %d s" % start_timeout)

    def api(self, method, path, body=None):
        return api_call(self.sock, method, path, body)

    def cli(self, *args, stdin=None):
        return subprocess.run([self.knd, "--state-dir", self.state] + list(args), input=stdin,
                              capture_output=True, timeout=60)

    def instance(self, revision, timeout=20):
        """(pid, port) of the instance of `revision`, from the daemon log, checked in /proc."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.logpath, "rb") as f:
                for m in STARTED_RE.finditer(f.read()):
                    if not m.group(1).decode().startswith(revision + "-"):
                        continue
                    pid, port = int(m.group(2)), int(m.group(3))
                    with open("/proc/%d/environ" % pid, "rb") as e:
                        env = dict(x.split(b"=", 1) for x in e.read().split(b"\0") if b"=" in x)
                    if env.get(b"PORT") != str(port).encode() or \
                            env.get(b"K_REVISION") != revision.encode():
                        sys.exit("pid %d: PORT/K_REVISION do not match the log line" % pid)
                    return pid, port
            time.sleep(0.05)
        sys.exit("no `started` line for %s in %s" % (revision, self.logpath))

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0])

    def cpu_ms(self, seconds):
        """CPU time (user + system) the daemon uses over `seconds` of wall time, in ms."""
        def ticks():
            with open("/proc/%d/stat" % self.proc.pid) as f:
                v = f.read().rsplit(")", 1)[1].split()
            return int(v[11]) + int(v[12])
        t0 = ticks()
        time.sleep(seconds)
        return (ticks() - t0) * 1000.0 / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self.keep:
            print("daemon log kept: %s" % self.logpath, file=sys.stderr)
        else:
            shutil.rmtree(self.state, ignore_errors=True)


def service_yaml(name, app, ignore_sigpipe):
    # knd-testapp does not ignore SIGPIPE, and uv_spawn gives instances default dispositions:
    # wrk closing its connections with 64 KiB responses in flight would kill the backend. The
    # throughput Service therefore starts it through `sh -c "trap '' PIPE; exec app"` (an ignored
    # signal stays ignored across exec; the pid stays the one knd logs).
    if ignore_sigpipe:
        cmd = '["/bin/sh", "-c", "trap \'\' PIPE; exec \\"$0\\"", "%s"]' % app
    else:
        cmd = '["%s"]' % app
    # Exactly one instance: every target proxies to the same backend, so knd's autoscaler must
    # not add instances under load (nor retire the one the others use).
    return ("apiVersion: serving.knative.dev/v1\nkind: Service\n"
            "metadata:\n  name: %s\n  namespace: default\n"
            "spec:\n  template:\n"
            "    metadata:\n      annotations:\n"
            "        autoscaling.knative.dev/min-scale: \"1\"\n"
            "        autoscaling.knative.dev/max-scale: \"1\"\n"
            "    spec:\n      containers:\n"
            "        - image: ghcr.io/knative/helloworld-go:latest\n"
            "          command: %s\n"
            "          env:\n            - name: TARGET\n              value: knd\n"
            % (name, cmd)).encode()


def apply_ready(d, name, app, ignore_sigpipe=True):
    r = d.cli("apply", "-f", "-", stdin=service_yaml(name, app, ignore_sigpipe))
    if r.returncode != 0:
        sys.exit("knd apply: %s" % r.stderr.decode())
    r = d.cli("wait", "ksvc", name, "--for=condition=Ready", "--timeout", "30s")
    if r.returncode != 0:
        sys.exit("knd wait: %s" % r.stderr.decode())


def svc_ready(d, name):
    st, o = d.api("GET", "/apis/serving.knative.dev/v1/namespaces/default/services/" + name)
    if st != 200:
        return False
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True" and \
                o["status"].get("observedGeneration") == o["metadata"].get("generation")
    return False


def delete_wait(d, name):
    r = d.cli("delete", "ksvc", name)
    if r.returncode != 0:
        sys.exit("knd delete: %s" % r.stderr.decode())
    r = d.cli("wait", "ksvc", name, "--for=delete", "--timeout", "30s")
    if r.returncode != 0:
        sys.exit("knd wait --for=delete: %s" % r.stderr.decode())


class Proxy:
    """nginx or HAProxy from its template in bench/, in the foreground, on a free port."""

    def __init__(self, kind, backend, wrapper=(), start_timeout=20):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix="knd-bench-%s-" % kind)
        self.port = free_port()
        tmpl = os.path.join(HERE, "nginx.conf.in" if kind == "nginx" else "haproxy.cfg.in")
        with open(tmpl) as f:
            text = f.read()
        text = text.replace("@PREFIX@", self.dir).replace("@LISTEN@", str(self.port)) \
            .replace("@BACKEND@", str(backend))
        if wrapper and kind == "nginx":  # under valgrind: one process, no master
            text = text.replace("master_process on;", "master_process off;")
        conf = os.path.join(self.dir, os.path.basename(tmpl)[:-3])
        with open(conf, "w") as f:
            f.write(text)
        self.out = open(os.path.join(self.dir, "out.log"), "wb")
        if kind == "nginx":
            argv = ["nginx", "-p", self.dir, "-c", conf]
        else:
            argv = ["haproxy", "-db", "-f", conf]
        self.proc = subprocess.Popen(list(wrapper) + argv, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, kind, start_timeout)

    def worker(self):
        """nginx's worker process (the one that proxies)."""
        r = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return int(r.stdout.split()[0])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM if self.kind == "nginx" else signal.SIGUSR1)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def cpu_ticks(pid):
    """utime + stime of `pid` in clock ticks (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])


def pin(pid, cpu):
    """Moves every thread of `pid` to CPU `cpu`."""
    subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], capture_output=True,
                   check=True)


# --pin: wrk runs on CPU 0, the proxies and the instance on CPU 1.
WRK_PREFIX = []


def wrk(port, path, conns, duration, lua, pids=()):
    """One wrk run; with `pids`, also the CPU time each of them used per request (us)."""
    # wrk needs at least one connection per thread: c=1 runs with -t1
    argv = WRK_PREFIX + ["wrk", "-t%d" % min(2, conns), "-c%d" % conns, "-d%ds" % duration,
                         "--latency", "-s", lua, "-H", "Host: " + HOST,
                         "http://127.0.0.1:%d%s" % (port, path)]
    t0 = [cpu_ticks(p) for p in pids]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    t1 = [cpu_ticks(p) for p in pids]
    for line in r.stdout.splitlines():
        if line.startswith("WRKJSON "):
            o = json.loads(line[8:])
            o["rps"] = o["requests"] / (o["duration_us"] / 1e6)
            tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
            o["cpu"] = [(b - a) * tick_us / max(o["requests"], 1) for a, b in zip(t0, t1)]
            o["errors"] = sum(o[k] for k in ("connect", "read", "write", "status", "timeout"))
            return o
    sys.exit("wrk printed no result: %s %s" % (r.stdout, r.stderr))


def callgrind(knd, app, nreq):
    """knd serve under callgrind: Ir of `nreq` sequential keep-alive requests through the
    ingress, minus the Ir of an idle window of the same length."""
    outdir = tempfile.mkdtemp(prefix="knd-bench-cg-")
    out = os.path.join(outdir, "callgrind.out")
    # The controller's passes run on changes and on a 5 s safety tick, whatever the load (not a
    # per-request cost; reported natively as idle CPU); toggling collection around it keeps the
    # dumps to request work.
    syms = subprocess.run(["nm", knd], capture_output=True, text=True).stdout
    toggle = re.search(r" knd_reconciler_on_kick$", syms, re.M) is not None
    d = Daemon(knd, ["valgrind", "--tool=callgrind", "--vgdb=yes",
                     "--callgrind-out-file=" + out + ".%p"] +
               (["--toggle-collect=knd_reconciler_on_kick", "--collect-atstart=yes"]
                if toggle else []), start_timeout=60)
    try:
        apply_ready(d, "hello", app)
        took = callgrind_drive(d.proc.pid, d.http_port, nreq)
    finally:
        d.stop()
    dumps = callgrind_dumps(outdir)
    if "requests" not in dumps or "idle" not in dumps:
        sys.exit("callgrind dumps missing in %s: %s" % (outdir, os.listdir(outdir)))
    ir_req, path = dumps["requests"]
    r = {"ir_req": ir_req, "ir_idle": dumps["idle"][0], "nreq": nreq, "took": took,
         "toggle": toggle, "passes": callgrind_calls(path, "knd_reconcile_pass"),
         "self": callgrind_top(path, False, 15),
         "incl": [x for x in callgrind_top(path, True, 400)
                  if re.search(r":(knd_|llhttp_execute)", x[2])][:14]}
    shutil.rmtree(outdir, ignore_errors=True)
    return r


def callgrind_drive(pid, port, nreq):
    """`nreq` sequential keep-alive `GET /` through `port`, with the callgrind counters of `pid`
    zeroed before and dumped after (dump "requests"), then an idle window of the same length
    (dump "idle"). Returns the seconds the requests took."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST).encode()

    def one():
        s.sendall(req)
        buf = b""
        while True:
            buf += s.recv(65536)
            h = buf.find(b"\r\n\r\n")
            if h < 0:
                continue
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf[:h])
            if m is None:
                sys.exit("callgrind: response without Content-Length: %r" % buf[:300])
            if len(buf) >= h + 4 + int(m.group(1)):
                if not buf.startswith(b"HTTP/1.1 200"):
                    sys.exit("callgrind: unexpected response %r" % buf[:300])
                return

    for _ in range(50):  # warm: upstream connection open, route cache filled
        one()

    def ctl(*args):
        subprocess.run(["callgrind_control"] + list(args) + [str(pid)], capture_output=True,
                       check=True, timeout=60)

    ctl("-z")
    t0 = time.monotonic()
    for _ in range(nreq):
        one()
    took = time.monotonic() - t0
    ctl("-d", "requests")
    time.sleep(took)
    ctl("-d", "idle")
    s.close()
    return took


def callgrind_dumps(outdir):
    """{trigger: (total Ir, path)} of the callgrind dumps in outdir."""
    dumps = {}
    for name in os.listdir(outdir):
        p = os.path.join(outdir, name)
        with open(p, errors="replace") as f:
            head = f.read(4096)
        trig = re.search(r"^desc: Trigger: dump (\S+)", head, re.M)
        tot = re.search(r"^summary: (\d+)", head, re.M)
        if trig and tot:
            dumps[trig.group(1)] = (int(tot.group(1)), p)
    return dumps


def callgrind_proxy(kind, knd, app, nreq):
    """The same count for nginx or HAProxy in front of a knd instance: Ir per request."""
    d = Daemon(knd)
    outdir = tempfile.mkdtemp(prefix="knd-bench-cg-%s-" % kind)
    try:
        apply_ready(d, "hello", app)
        _, backend = d.instance("hello-00001")
        px = Proxy(kind, backend, ["valgrind", "--tool=callgrind", "--vgdb=yes",
                                   "--callgrind-out-file=" + os.path.join(outdir, "cg.%p")],
                   start_timeout=60)
        try:
            took = callgrind_drive(px.proc.pid, px.port, nreq)
        finally:
            px.stop()
    finally:
        d.stop()
    dumps = callgrind_dumps(outdir)
    shutil.rmtree(outdir, ignore_errors=True)
    if "requests" not in dumps or "idle" not in dumps:
        sys.exit("callgrind dumps of %s missing" % kind)
    return {"ir_req": dumps["requests"][0], "ir_idle": dumps["idle"][0], "nreq": nreq,
            "took": took}


def callgrind_top(path, inclusive, n, frames=False):
    """(Ir, %, file:function) from callgrind_annotate, without the frames that enclose the
    whole dump (main, uv_run...: they were on the stack when the counters were zeroed) unless
    `frames`."""
    ann = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
                          "--threshold=100", path], capture_output=True, text=True).stdout
    top = []
    for line in ann.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+)", line)
        if m and "PROGRAM TOTALS" not in line and (frames or float(m.group(2)) < 99.0):
            top.append((int(m.group(1).replace(",", "")), float(m.group(2)), m.group(3)))
        if len(top) >= n:
            break
    return top


def callgrind_calls(path, prefix):
    """How many calls to functions named `prefix`* the dump records."""
    names, total, cur = {}, 0, None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3)
                cur = m.group(2) if m.group(1) == "cfn" else None
                continue
            m = re.match(r"^calls=(\d+)", line)
            if m and cur is not None and names.get(cur, "").startswith(prefix):
                total += int(m.group(1))
    return total


def syscall_report(sc):
    names = sorted({k for v in sc.values() for k in v},
                   key=lambda k: -max(v.get(k, 0) for v in sc.values()))
    lines = ["", "## System calls per request (strace -c)", "",
             "%d sequential keep-alive `GET /` (11 B) on one connection, `strace -c -f -p` on "
             "the proxying process (nginx's worker, haproxy, knd serve); calls per request, "
             "those under 0.05 left out." % SYSCALL_REQS, "",
             "| syscall | nginx | haproxy | knd |", "|---|---:|---:|---:|"]
    for k in names:
        lines.append("| %s | %s |" % (k, " | ".join(
            "%.2f" % sc[t][k] if k in sc[t] else "" for t in ("nginx", "haproxy", "knd"))))
    lines.append("| **total** | %s |" % " | ".join(
        "**%.2f**" % sum(sc[t].values()) for t in ("nginx", "haproxy", "knd")))
    return lines


def callgrind_report(cg, btype):
    n = cg["nreq"]
    per = (cg["ir_req"] - cg["ir_idle"]) / n
    lines = ["", "## Instructions per request (callgrind)", "",
             "`valgrind --tool=callgrind%s` on `knd serve` (%s build, no debug info), %d "
             "sequential `GET /` (11-byte body) on one keep-alive connection through the ingress "
             "to the Ready instance, after 50 warm-up requests; counters zeroed with "
             "`callgrind_control -z` before and dumped after (%.1f s under valgrind), then an "
             "idle window of the same length dumped for the background. Only the daemon is "
             "traced, not the instance." % (
                 " --toggle-collect=knd_reconciler_on_kick --collect-atstart=yes" if cg["toggle"]
                 else "", btype, n,
                 cg["took"]), "",
             "| | Ir |", "|---|---:|",
             "| %d requests | %d |" % (n, cg["ir_req"]),
             "| idle window of the same length | %d |" % cg["ir_idle"],
             "| **per request**, (requests - idle) / %d | **%.0f** |" % (n, per), ""]
    others = [k for k in ("nginx", "haproxy") if k in cg]
    if others:
        lines += ["The same measurement on nginx (`master_process off`, otherwise "
                  "bench/nginx.conf.in) and HAProxy (bench/haproxy.cfg.in), each under "
                  "`valgrind --tool=callgrind` in front of the same kind of knd instance:", "",
                  "| proxy | Ir per request | knd / proxy |", "|---|---:|---:|",
                  "| knd | %.0f | |" % per]
        for k in others:
            o = cg[k]
            op = (o["ir_req"] - o["ir_idle"]) / o["nreq"]
            lines.append("| %s | %.0f | **%.2f** |" % (k, op, per / op))
        lines.append("")
    if cg["toggle"]:
        lines.append("The controller's pass (`knd_reconciler_on_kick`, run on changes and a 5 s "
                     "safety tick) is not collected: it is not a per-request cost, shown natively "
                     "as the idle CPU time under Footprint.")
    else:
        lines.append("knd_reconciler_on_kick not found: the controller's passes (%d calls to "
                     "knd_reconcile_pass seen) are included." % cg["passes"])
    lines += ["", "Top functions by self Ir during the requests:", "",
              "| Ir/request | % | function |", "|---:|---:|---|"]
    for ir, pc, fn in cg["self"]:
        lines.append("| %.0f | %.1f | `%s` |" % (ir / n, pc, fn))
    lines += ["", "knd's request path, inclusive Ir per request (nested: `llhttp_execute` "
              "includes the callbacks into the server, the proxy and the upstream client):", "",
              "| Ir/request | function |", "|---:|---|"]
    for ir, pc, fn in cg["incl"]:
        lines.append("| %.0f | `%s` |" % (ir / n, fn.split(":", 1)[1]))
    return lines


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = open("/proc/loadavg").read().split()[:3]
    return "nproc %d; CPU %s; kernel %s; load average before the run %s" % (
        os.cpu_count(), cpu, platform.release(), " ".join(load))


def version(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0]


def git_rev():
    try:
        return subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return "?"


def build_type(knd):
    cache = os.path.join(os.path.dirname(knd), "CMakeCache.txt")
    try:
        with open(cache) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", f.read(), re.M)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


def us(x):
    return "%.0f" % x if x < 10000 else "%.1f ms" % (x / 1000.0)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def quartiles(xs):
    """(lower quartile, median, upper quartile) of `xs`."""
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[1], q[2]


def cell(xs, more_is_better):
    """Median ratio, its quartiles, and in how many of the pairs knd was ahead."""
    lo, m, hi = quartiles(xs)
    ahead = sum(1 for x in xs if (x >= 1.0 if more_is_better else x <= 1.0))
    return "%.2f (%.2f-%.2f) %d/%d" % (m, lo, hi, ahead, len(xs))


def paired(res, path, c, t, u, field, cpu=False):
    """The ratios t/u of `field` rep by rep: both ran in the same rep, minutes apart at most,
    so what the machine was doing then weighs on both."""
    def val(o):
        return o["cpu"][0] if cpu else o[field]
    return [val(x) / max(val(y), 1e-9) for x, y in zip(res[(path, c, t)], res[(path, c, u)])]


def paired_report(res, conc, reps, il_verdicts=None, sl_worst=None):
    """The "where knd stands" table and the issue's targets, from ratios paired rep by rep."""
    lines = ["## Where knd stands", "",
             "Each ratio is taken within one rep (knd's run against nginx's or HAProxy's run of "
             "the same rep), then the median over the %d reps, with the quartiles in brackets and "
             "the number of reps in which knd was ahead (req/s ratio >= 1, p99 or CPU ratio "
             "<= 1). Pairing takes out the drift of a shared machine that the per-column medians "
             "above keep." % reps, "",
             "| body | c | req/s vs nginx | req/s vs haproxy | p99 vs nginx | "
             "CPU/req vs nginx | CPU/req vs haproxy |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    worst = {}
    for _, path in BODIES:
        for c in conc:
            rn = paired(res, path, c, "knd", "nginx", "rps")
            rh = paired(res, path, c, "knd", "haproxy", "rps")
            pn = paired(res, path, c, "knd", "nginx", "p99")
            lines.append("| %s | %d | %s | %s | %s | %s | %s |" % (
                path, c, cell(rn, True), cell(rh, True), cell(pn, False),
                cell(paired(res, path, c, "knd", "nginx", None, cpu=True), False),
                cell(paired(res, path, c, "knd", "haproxy", None, cpu=True), False)))
            if c == 1 and il_verdicts:
                continue  # judged from the interleaved client, below
            for key, xs in (("rps_nginx", rn), ("rps_haproxy", rh), ("p99_nginx", pn)):
                if key == "p99_nginx" and sl_worst and c > 1:
                    key = "p99_nginx_ref"  # judged from the time slices, below
                m = statistics.median(xs)
                if key not in worst or (m < worst[key][0] if key.startswith("rps")
                                        else m > worst[key][0]):
                    worst[key] = (m, path, c)
    lines.append("")
    added = {}
    if 1 in conc:
        for t in ("knd", "nginx", "haproxy"):
            added[t] = statistics.median(
                x["p50"] - y["p50"] for x, y in zip(res[("/", 1, t)], res[("/", 1, "direct")]))

    def verdict(ok):
        return "met" if ok else "**missed**"
    rows = "every row with c > 1 (wrk)" if il_verdicts else "every row"
    lines += ["### The throughput targets of the performance issue", "",
              "| target | measured (worst row, paired median) | |", "|---|---|---|"]
    if worst:
        lines += [
            "| req/s >= 1.0x nginx in %s | %.2f (%s, c=%d) | %s |" % (
                (rows,) + worst["rps_nginx"] + (verdict(worst["rps_nginx"][0] >= 1.0),)),
            "| req/s >= 1.0x HAProxy in %s | %.2f (%s, c=%d) | %s |" % (
                (rows,) + worst["rps_haproxy"] + (verdict(worst["rps_haproxy"][0] >= 1.0),))]
        if "p99_nginx" in worst:  # the rows no interleaved client judges
            p99_rows = "the c=1 rows (wrk)" if sl_worst else rows
            lines.append("| p99 <= nginx's in %s | %.2f (%s, c=%d) | %s |" % (
                (p99_rows,) + worst["p99_nginx"] + (verdict(worst["p99_nginx"][0] <= 1.0),)))
        if "p99_nginx_ref" in worst:
            lines.append("| p99 <= nginx's in every row with c > 1 (wrk), for reference | "
                         "%.2f (%s, c=%d) | judged below |" % worst["p99_nginx_ref"])
    if sl_worst:
        lines.append("| p99 <= nginx's in every row with c > 1, interleaved slices (below) | "
                     "%.2f (%s, c=%d) | %s |" % (sl_worst + (verdict(sl_worst[0] <= 1.0),)))
    for path, v in sorted((il_verdicts or {}).items()):
        lines += [
            "| c=1 `%s`, interleaved (below): req/s >= nginx and HAProxy | %.2f, %.2f | %s |" % (
                path, v["rps_nginx"], v["rps_haproxy"],
                verdict(min(v["rps_nginx"], v["rps_haproxy"]) >= 1.0)),
            "| c=1 `%s`, interleaved (below): p99 <= nginx's | %.2f | %s |" % (
                path, v["p99_nginx"], verdict(v["p99_nginx"] <= 1.0))]
    if added:
        lines.append("| added p50 at c=1 over direct <= 30 us | knd %.0f us (nginx %.0f, "
                     "HAProxy %.0f, same reps) | %s |" % (
                         added["knd"], added["nginx"], added["haproxy"],
                         verdict(added["knd"] <= 30)))
    if "/" in (il_verdicts or {}):
        a = il_verdicts["/"]["added_p50"]
        # Unpinned, the client and the instance often share a CPU when they talk directly,
        # while a proxy puts a third process between them: the difference is then mostly the
        # cost of waking a vCPU (bench/README.md), and every proxy pays it.
        lines.append("| added p50 at c=1 over direct, interleaved (below) | knd %.0f us (nginx "
                     "%.0f, HAProxy %.0f, same blocks) | %s |" % (
                         a["knd"], a["nginx"], a["haproxy"],
                         verdict(a["knd"] <= 30) if WRK_PREFIX
                         else "reference: unpinned, it measures where the scheduler puts the "
                         "processes (bench/README.md)"))
    return lines


def throughput(d, ipid, backend, conc, duration, reps, lua, log, pinned, pingpong, slices):
    ports = {"direct": backend, "knd": d.http_port}
    proxies = [Proxy("nginx", backend), Proxy("haproxy", backend)]
    for p in proxies:
        ports[p.kind] = p.port
    # The process that proxies (nginx's worker), then the instance: CPU time per request of each.
    pids = {"direct": (ipid,), "knd": (d.proc.pid, ipid),
            "nginx": (proxies[0].worker(), ipid), "haproxy": (proxies[1].proc.pid, ipid)}
    if pinned:
        for pid in (d.proc.pid, ipid, proxies[0].proc.pid, proxies[0].worker(),
                    proxies[1].proc.pid):
            pin(pid, 1)
    res = {}
    try:
        for t in TARGETS:  # one second each, so that every proxy has its connections open
            wrk(ports[t], "/", 16, 1, lua)
        for rep in range(reps):
            for _, path in BODIES:
                for c in conc:
                    # The order turns by one target each rep, so that no target always runs
                    # right after the same other one (or always first, on a cooler machine).
                    k = rep % len(TARGETS)
                    for t in TARGETS[k:] + TARGETS[:k]:
                        o = wrk(ports[t], path, c, duration, lua, pids[t])
                        res.setdefault((path, c, t), []).append(o)
                        if not alive(ipid):
                            d.keep = True
                            sys.exit("the instance (pid %d) died during %s c=%d %s" % (
                                ipid, path, c, t))
                        log("rep %d %-14s c=%-3d %-7s %9.0f req/s p50 %6d us p99 %6d us "
                            "p99.9 %6d us cpu/req %s us errors %d" % (
                                rep + 1, path, c, t, o["rps"], o["p50"], o["p99"], o["p999"],
                                "/".join("%.1f" % x for x in o["cpu"]), o["errors"]))
        il, sl = {}, {}
        if pingpong:
            for _, path in BODIES:
                il[path] = interleaved(pingpong, ports, path, log)
        if slices:
            for _, path in BODIES:
                for c in conc:
                    if c > 1:
                        sl[(path, c)] = sliced(slices, ports, path, c, log)
        sc = None
        if shutil.which("strace"):
            log("syscalls per request (strace -c)")
            pids = {"knd": d.proc.pid, "nginx": proxies[0].worker(),
                    "haproxy": proxies[1].proc.pid}
            sc = {t: syscalls(pids[t], ports[t]) for t in ("nginx", "haproxy", "knd")}
    finally:
        for p in proxies:
            p.stop()
    return res, sc, il, sl


# Concurrency 1 with the targets interleaved request by request (bench/pingpong.c): blocks of
# ROUNDS rounds, one request to each target per round; a block's percentiles of one target are
# compared with the other targets' percentiles of the same block.
INTERLEAVED_BLOCKS = 6
INTERLEAVED_ROUNDS = {"/": 20000, "/?bytes=65536": 10000}


def client_blocks(argv, ports, nblocks, what, log):
    """Runs a client that interleaves the targets (pingpong.c, slices.c) nblocks times:
    [{target: {"p50", "p90", "p99", "p999", "mean" (us), "rps"}}], one dict per block."""
    by_port = {v: k for k, v in ports.items()}
    blocks = []
    for b in range(nblocks):
        try:
            r = subprocess.run(argv + [str(ports[t]) for t in TARGETS], capture_output=True,
                               text=True, timeout=900)
        except subprocess.TimeoutExpired:
            sys.exit("%s: block %d did not finish in 900 s" % (what.strip(), b + 1))
        if r.returncode != 0:
            sys.exit("%s failed: %s" % (os.path.basename(argv[len(WRK_PREFIX)]), r.stderr))
        block = {}
        for line in r.stdout.splitlines():
            v = line.split()
            o = {v[i]: int(v[i + 1]) for i in range(2, len(v), 2)}
            r_us = {f: o[f] / 1000.0 for f in ("p50", "p90", "p99", "p999", "mean")}
            # slices.c reports the counted time of its slices; pingpong.c's one connection
            # does 1 / mean requests per second
            r_us["rps"] = o["requests"] / (o["busy"] / 1e9) if "busy" in o \
                else 1e6 / r_us["mean"]
            block[by_port[int(v[1])]] = r_us
        blocks.append(block)
        log("%s block %d: %s" % (what, b + 1, "  ".join(
            "%s p50 %.0f p99 %.0f us %.0f req/s" % (t, block[t]["p50"], block[t]["p99"],
                                                    block[t]["rps"]) for t in TARGETS)))
    return blocks


def interleaved(pingpong, ports, path, log):
    """Concurrency 1, request by request: the blocks of client_blocks()."""
    argv = WRK_PREFIX + [pingpong, HOST, path, str(INTERLEAVED_ROUNDS[path])]
    return client_blocks(argv, ports, INTERLEAVED_BLOCKS, "interleaved %-14s" % path, log)


# Concurrency > 1 with the targets interleaved in time slices (bench/slices.c): in each round
# every target, in a fresh random order, carries c requests in flight for SLICED_WARM_MS
# (not counted) and then SLICED_MS (counted); SLICED_ROUNDS rounds make a block.
SLICED_BLOCKS = 5
SLICED_WARM_MS, SLICED_MS, SLICED_ROUNDS = 30, 100, 30


def sliced(slices, ports, path, c, log):
    """Concurrency c in time slices: the blocks of client_blocks()."""
    argv = WRK_PREFIX + [slices, HOST, path, str(c), str(SLICED_WARM_MS), str(SLICED_MS),
                         str(SLICED_ROUNDS)]
    return client_blocks(argv, ports, SLICED_BLOCKS, "sliced %-14s c=%-3d" % (path, c), log)


def block_ratios(blocks, field, other):
    """knd's `field` over `other`'s, block by block: both measured in the same block."""
    return [b["knd"][field] / b[other][field] for b in blocks]


def interleaved_report(il):
    """The interleaved section, and the verdicts it gives for concurrency 1."""
    nblocks = len(next(iter(il.values())))
    lines = ["## Concurrency 1, targets interleaved request by request", "",
             "At concurrency 1 a request's latency is a chain of wake-ups, and its tail drifts "
             "from second to second on a shared machine: two wrk runs of the same proxy seconds "
             "apart can differ by half in p99, which is what the c=1 rows above show. "
             "`knd-bench-pingpong` (bench/pingpong.c) keeps one keep-alive connection to each "
             "target and sends one request to each in turn, in a fresh random order every "
             "round, so that every target samples the same moments of the machine%s. %d blocks "
             "of rounds (%s); the table gives the median over the blocks, in microseconds; "
             "req/s is 1 / mean latency, what one connection gets. The ratios are taken within "
             "each block, as above within each rep." % (
                 " (with `--pin` the client runs on CPU 0, as wrk does)" if WRK_PREFIX else "",
                 nblocks, ", ".join("%d for `%s`" % (n, p) for p, n in INTERLEAVED_ROUNDS.items())),
             ""]
    verdicts = {}
    for label, path in BODIES:
        if path not in il:
            continue
        blocks = il[path]
        lines += ["### Body %s" % label, "",
                  "| target | p50 | p90 | p99 | p99.9 | mean | req/s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for t in TARGETS:
            m = {f: statistics.median(b[t][f] for b in blocks)
                 for f in ("p50", "p90", "p99", "p999", "mean")}
            lines.append("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
                t, m["p50"], m["p90"], m["p99"], m["p999"], m["mean"], 1e6 / m["mean"]))
        lines += ["", "| knd vs | p99 ratio | req/s ratio |", "|---|---:|---:|"]
        for u in ("nginx", "haproxy"):
            lines.append("| %s | %s | %s |" % (u, cell(block_ratios(blocks, "p99", u), False),
                                             cell(block_ratios(blocks, "rps", u), True)))
        lines.append("")
        verdicts[path] = {"p99_nginx": statistics.median(block_ratios(blocks, "p99", "nginx")),
                          "rps_nginx": statistics.median(block_ratios(blocks, "rps", "nginx")),
                          "rps_haproxy": statistics.median(block_ratios(blocks, "rps",
                                                                        "haproxy")),
                          "added_p50": {t: statistics.median(b[t]["p50"] - b["direct"]["p50"]
                                                             for b in blocks)
                                        for t in ("knd", "nginx", "haproxy")}}
    return lines, verdicts


def sliced_report(sl):
    """The sliced section, and its verdict: the worst median p99 ratio knd/nginx."""
    lines = ["## Concurrency > 1, targets interleaved in time slices", "",
             "On a virtual machine a CPU stalls now and then for a few milliseconds, whichever "
             "process runs (measured once on the bench machine with `perf`, bench/README.md: on "
             "the CPU the proxy and the instance share, under wrk -c64, 15 gaps over 1 ms in "
             "5 s, 42 ms in all, ~1%% of the time). At "
             "c=64 one gap pushes a few hundred requests past the run's p99, so the number of "
             "gaps that fall into a 3 s wrk run decides its p99 more than the proxy does: the "
             "paired p99 ratios of the wrk runs above swing widely from rep to rep. "
             "`knd-bench-slices` (bench/slices.c) loads the targets the way wrk does (c "
             "keep-alive connections, a new request as soon as a response is complete) but in "
             "turns: each round, every target in a fresh random order carries c requests in "
             "flight for %d ms, of which the last %d ms count (the burst of the first requests "
             "does not), and the requests sent in those %d ms run to their end under the same "
             "load%s. %d rounds make a block, %d blocks a row; the tables give the median over "
             "the blocks (latencies in microseconds), and each ratio is taken within a block. "
             "Every target samples the same seconds of the machine, in %d short stretches of "
             "it per block." % (SLICED_WARM_MS + SLICED_MS, SLICED_MS, SLICED_MS,
                                " (with `--pin` the client runs on CPU 0, as wrk does)"
                                if WRK_PREFIX else "", SLICED_ROUNDS, SLICED_BLOCKS,
                                SLICED_ROUNDS), ""]
    ratio_rows, worst = [], None
    for label, path in BODIES:
        rows = sorted(c for p, c in sl if p == path)
        if not rows:
            continue
        lines += ["### Body %s" % label, "",
                  "| c | target | p50 | p90 | p99 | p99.9 | req/s |",
                  "|---:|---|---:|---:|---:|---:|---:|"]
        for c in rows:
            blocks = sl[(path, c)]
            for t in TARGETS:
                m = {f: statistics.median(b[t][f] for b in blocks)
                     for f in ("p50", "p90", "p99", "p999", "rps")}
                lines.append("| %d | %s | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
                    c, t, m["p50"], m["p90"], m["p99"], m["p999"], m["rps"]))
            ratio_rows.append("| %s | %d | %s | %s | %s | %s |" % (
                path, c, cell(block_ratios(blocks, "p99", "nginx"), False),
                cell(block_ratios(blocks, "p99", "haproxy"), False),
                cell(block_ratios(blocks, "rps", "nginx"), True),
                cell(block_ratios(blocks, "rps", "haproxy"), True)))
            m = statistics.median(block_ratios(blocks, "p99", "nginx"))
            if worst is None or m > worst[0]:
                worst = (m, path, c)
        lines.append("")
    lines += ["| body | c | p99 vs nginx | p99 vs haproxy | req/s vs nginx | req/s vs haproxy |",
              "|---|---:|---:|---:|---:|---:|"] + ratio_rows + [""]
    return lines, worst


SYSCALL_REQS = 2000


def sequential(port, n):
    """`n` keep-alive `GET /` one after the other on one connection; seconds taken."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST).encode()
    want = b"Hello knd!\n"
    t0 = time.perf_counter()
    for _ in range(n):
        s.sendall(req)
        buf = b""
        while not buf.endswith(want):
            d = s.recv(65536)
            if not d:
                sys.exit("connection closed after %r" % buf[:300])
            buf += d
    took = time.perf_counter() - t0
    s.close()
    return took


def syscalls(pid, port):
    """System calls per request of the process `pid` serving SYSCALL_REQS sequential requests:
    {name: calls per request}, from `strace -c -f`."""
    sequential(port, 100)
    out = tempfile.mktemp(prefix="knd-bench-strace-")
    st = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", out, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    sequential(port, SYSCALL_REQS)
    st.send_signal(signal.SIGINT)
    st.wait(10)
    per = {}
    with open(out) as f:
        for line in f:
            v = line.split()
            if len(v) >= 5 and v[0][0].isdigit() and v[-1] != "total":
                per[v[-1]] = int(v[3]) / SYSCALL_REQS
    os.unlink(out)
    return {k: x for k, x in per.items() if x >= 0.05}


def ready_times(d, app, rounds):
    cli, api = [], []
    for i in range(rounds):
        t0 = time.perf_counter()
        apply_ready(d, "ready", app, ignore_sigpipe=False)
        cli.append(time.perf_counter() - t0)
        delete_wait(d, "ready")
        # the same through the API, polled every 2 ms: the daemon's own create -> Ready time
        svc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
               "metadata": {"name": "ready", "namespace": "default"},
               "spec": {"template": {"spec": {"containers": [{
                   "image": "ghcr.io/knative/helloworld-go:latest", "command": [app],
                   "env": [{"name": "TARGET", "value": "knd"}]}]}}}}
        t0 = time.perf_counter()
        st, o = d.api("POST", "/apis/serving.knative.dev/v1/namespaces/default/services", svc)
        if st not in (200, 201):
            sys.exit("create: %s %s" % (st, o))
        while not svc_ready(d, "ready"):
            if time.perf_counter() - t0 > 30:
                sys.exit("Service ready not Ready after 30 s")
            time.sleep(0.002)
        api.append(time.perf_counter() - t0)
        delete_wait(d, "ready")
    return cli, api


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--knd", default=os.path.join(SRC, "build", "knd"))
    ap.add_argument("--app", default=os.path.join(SRC, "build", "tests", "apps", "knd-testapp"))
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conc", default="1,16,64,256")
    ap.add_argument("--ready-rounds", type=int, default=10)
    ap.add_argument("--callgrind-requests", type=int, default=10000)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--pingpong", default=os.path.join(SRC, "build", "bench", "knd-bench-pingpong"),
                    help="the interleaved c=1 client (bench/pingpong.c); skipped if missing")
    ap.add_argument("--slices", default=os.path.join(SRC, "build", "bench", "knd-bench-slices"),
                    help="the client of the c > 1 time slices (bench/slices.c); skipped if "
                    "missing")
    ap.add_argument("--pin", action="store_true",
                    help="wrk on CPU 0; proxies and the instance on CPU 1 (less scheduler noise)")
    a = ap.parse_args()
    if a.pin:
        if os.cpu_count() < 2 or shutil.which("taskset") is None:
            sys.exit("--pin needs 2 CPUs and taskset")
        WRK_PREFIX[:] = ["taskset", "-c", "0"]
    knd, app = os.path.abspath(a.knd), os.path.abspath(a.app)
    for b in (knd, app):
        if not os.access(b, os.X_OK):
            sys.exit("not found: %s (build with bench/run.sh)" % b)
    for tool in ("wrk", "nginx", "haproxy") + (() if a.no_callgrind else ("valgrind",)):
        if shutil.which(tool) is None:
            sys.exit("%s not found: apt-get install -y wrk nginx haproxy valgrind" % tool)
    conc = [int(x) for x in a.conc.split(",")]
    started = time.monotonic()
    minfo = machine()

    def log(msg):
        print("[%5.0fs] %s" % (time.monotonic() - started, msg), file=sys.stderr, flush=True)

    lua_fd, lua = tempfile.mkstemp(prefix="knd-bench-", suffix=".lua")
    with os.fdopen(lua_fd, "w") as f:
        f.write(WRK_LUA)

    d = Daemon(knd)
    try:
        time.sleep(1)
        rss_idle = d.rss_kib()
        apply_ready(d, "hello", app)
        ipid, backend = d.instance("hello-00001")
        time.sleep(0.5)
        rss_hello = d.rss_kib()
        idle_cpu = d.cpu_ms(5)
        log("knd on :%d, instance pid %d on :%d (from the daemon log line)"
            % (d.http_port, ipid, backend))
        pingpong = os.path.abspath(a.pingpong) if os.access(a.pingpong, os.X_OK) else None
        if pingpong is None:
            log("%s not built: no interleaved c=1 section" % a.pingpong)
        slices = os.path.abspath(a.slices) if os.access(a.slices, os.X_OK) else None
        if slices is None:
            log("%s not built: no time-sliced c > 1 section" % a.slices)
        res, sc, il, sl = throughput(d, ipid, backend, conc, a.duration, a.reps, lua, log,
                                     a.pin, pingpong, slices)
        rss_after = d.rss_kib()
        log("apply -> Ready, %d rounds" % a.ready_rounds)
        ready_cli, ready_api = ready_times(d, app, a.ready_rounds)
    except BaseException:
        d.keep = True
        raise
    finally:
        d.stop()
        os.unlink(lua)
    cg = None
    if not a.no_callgrind:
        log("callgrind, %d requests" % a.callgrind_requests)
        cg = callgrind(knd, app, a.callgrind_requests)
        for kind in ("nginx", "haproxy"):
            log("callgrind, %s, %d requests" % (kind, a.callgrind_requests))
            cg[kind] = callgrind_proxy(kind, knd, app, a.callgrind_requests)
    log("done")

    med = {k: {f: statistics.median(o[f] for o in v) for f in ("rps", "p50", "p99", "p999")}
           for k, v in res.items()}
    for k, v in res.items():
        med[k]["cpu"] = [statistics.median(o["cpu"][i] for o in v)
                         for i in range(len(v[0]["cpu"]))]
    errs = {k: sum(o["errors"] for o in v) for k, v in res.items()}
    spread = {k: (max(o["rps"] for o in v) - min(o["rps"] for o in v)) / med[k]["rps"]
              for k, v in res.items()}
    lines = ["# Throughput: knd %s, %s" % (git_rev(), datetime.datetime.now().strftime(
        "%Y-%m-%d %H:%M")), "",
        "Machine: %s; after %s (other work on the machine shows here)." % (
            minfo, " ".join(open("/proc/loadavg").read().split()[:3])), "",
        "knd `%s` build; %s; %s; %s." % (build_type(knd), version(["nginx", "-v"]),
                                          version(["haproxy", "-v"]), version(["wrk", "-v"])),
        "",
        "One backend for every row: the knd-testapp instance knd started for Service `hello` "
        "(port read from the daemon log line `instance=... pid=... port=... started`, checked "
        "against `PORT`/`K_REVISION` in /proc/PID/environ); nginx and HAProxy proxy to that "
        "port. `wrk -t2 -cN -d%ds --latency` (`-t1` for c=1) with `Host: %s` on every "
        "target; %d runs per row with the targets interleaved, median of each column over the "
        "runs; spread is (max - min) / median of req/s over the runs. Latencies in "
        "microseconds unless marked ms. %s CPU/req is the CPU time (user + system, from "
        "/proc/PID/stat) the proxying process and the instance used per request during the "
        "run: the one column that does not depend on how the scheduler shares the CPUs."
        % (a.duration, HOST, a.reps,
           "wrk runs on CPU 0; the proxy and the instance share CPU 1 (`--pin`, taskset)."
           if a.pin else "wrk, the proxy and the instance share the machine's %d CPUs, "
           "unpinned." % os.cpu_count()),
        "",
        "nginx: `worker_processes 1`, upstream `keepalive 1024` (as many idle upstream "
        "connections as knd keeps), `proxy_http_version 1.1`, "
        "`access_log off` (bench/nginx.conf.in). HAProxy: `nbthread 1`, `http-reuse always`, "
        "`option http-keep-alive` (bench/haproxy.cfg.in). knd: defaults; the Service is pinned "
        "to one instance (min-scale = max-scale = 1). The instance runs "
        "as `sh -c \"trap '' PIPE; exec knd-testapp\"`: knd-testapp does not ignore SIGPIPE "
        "and would die when wrk closes connections with 64 KiB responses in flight.", ""]
    for label, path in BODIES:
        lines += ["## Body %s" % label, "",
                  "| c | target | req/s | spread | p50 | p99 | p99.9 | proxy CPU/req | "
                  "instance CPU/req | knd/nginx req/s | knd/haproxy req/s | errors |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in conc:
            k = med[(path, c, "knd")]
            for t in TARGETS:
                m = med[(path, c, t)]
                ratio = ("**%.2f**" % (k["rps"] / med[(path, c, "nginx")]["rps"]),
                         "**%.2f**" % (k["rps"] / med[(path, c, "haproxy")]["rps"])) \
                    if t == "knd" else ("", "")
                cpu = ["%.1f" % x for x in m["cpu"]]
                if t == "direct":
                    cpu = [""] + cpu
                lines.append("| %d | %s | %.0f | %.0f%% | %s | %s | %s | %s | %s | %s | %s | %d |"
                             % (c, t, m["rps"], spread[(path, c, t)] * 100, us(m["p50"]),
                                us(m["p99"]), us(m["p999"]), cpu[0], cpu[1], ratio[0],
                                ratio[1], errs[(path, c, t)]))
        lines.append("")
    il_lines, il_verdicts = interleaved_report(il) if il else ([], {})
    sl_lines, sl_worst = sliced_report(sl) if sl else ([], None)
    lines += paired_report(res, conc, a.reps, il_verdicts, sl_worst)
    lines += [""] + il_lines + sl_lines
    st = os.stat(knd)
    size = subprocess.run(["size", knd], capture_output=True, text=True).stdout.splitlines()
    lines += ["", "## Footprint", "",
              "| what | value |", "|---|---:|",
              "| `%s` file size | %d bytes (%.0f KiB) |" % (os.path.relpath(knd, SRC), st.st_size,
                                                         st.st_size / 1024.0)]
    if len(size) == 2:
        t, dd, b = size[1].split()[:3]
        lines.append("| text / data / bss | %s / %s / %s bytes |" % (t, dd, b))
    lines += ["| daemon VmRSS, idle, no services | %d KiB |" % rss_idle[0],
              "| daemon VmRSS, `hello` Ready, before load | %d KiB |" % rss_hello[0],
              "| daemon VmRSS / VmHWM after the throughput runs | %d / %d KiB |" % rss_after,
              "| daemon CPU time, `hello` Ready, no requests, over 5 s | %.0f ms |" % idle_cpu,
              "| apply -> Ready, `knd apply && knd wait` wall clock, median of %d | %.1f ms "
              "(min %.1f, max %.1f) |" % (a.ready_rounds, statistics.median(ready_cli) * 1e3,
                                          min(ready_cli) * 1e3, max(ready_cli) * 1e3),
              "| apply -> Ready, API create -> Ready seen (2 ms polling), median of %d | %.1f ms "
              "(min %.1f, max %.1f) |" % (a.ready_rounds, statistics.median(ready_api) * 1e3,
                                          min(ready_api) * 1e3, max(ready_api) * 1e3),
              "", "`knd wait` watches the Service (one GET, then a watch of that name) and both "
              "CLI calls start a process, so the first row is what a user sees; the second is the "
              "daemon's own create -> Ready time."]
    if sc:
        lines += syscall_report(sc)
    if cg:
        lines += callgrind_report(cg, build_type(knd))
    lines += ["", "Command: `%s`" % " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), SRC)]
                                             + sys.argv[1:]),
              "", "Wall time of the run: %.0f s." % (time.monotonic() - started)]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "throughput-%s%s.md" % ("pinned-" if a.pin else "",
                                                        datetime.date.today().isoformat()))
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % os.path.relpath(path, os.getcwd()))


if __name__ == "__main__":
    main()
