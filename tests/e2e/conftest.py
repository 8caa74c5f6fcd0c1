"""End-to-end harness: starts the real `knd serve` per test and checks it afterwards.

Every test that takes the `knd` fixture gets its own daemon on free loopback ports with a fresh
state directory. After the test the daemon gets SIGTERM and must exit 0 within 10 s, leave no
instance process behind, and have written no ALERT line and no sanitizer report to its log
(unit's conftest habit). A failing test gets the tail of the daemon log in its report.

Binaries come from the environment (ctest sets them): KND_BIN, KND_TESTAPP, KND_SRC. Run by hand:
  KND_BIN=build/knd KND_TESTAPP=build/tests/apps/knd-testapp /usr/bin/python3 -m pytest -q tests/e2e
"""
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("KND_SRC") or os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(SRC, "tests", "fixtures")
DOMAIN = "127.0.0.1.sslip.io"

# Lines in the daemon log that fail the test whatever it asserted.
BAD_LOG = [
    re.compile(r" ALERT "),
    re.compile(r"ERROR: AddressSanitizer"),
    re.compile(r"ERROR: LeakSanitizer"),
    re.compile(r"LeakSanitizer"),
    re.compile(r"runtime error:"),
]


def _find_binary(env, pattern):
    v = os.environ.get(env)
    if v:
        return os.path.abspath(v)
    hits = sorted(glob.glob(os.path.join(SRC, pattern)), key=os.path.getmtime, reverse=True)
    return hits[0] if hits else None


KND_BIN = _find_binary("KND_BIN", "build*/knd")
KND_TESTAPP = _find_binary("KND_TESTAPP", "build*/tests/apps/knd-testapp")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def route_host(name, ns="default"):
    return "%s.%s.%s" % (name, ns, DOMAIN)


def tag_host(tag, name, ns="default"):
    return "%s-%s.%s.%s" % (tag, name, ns, DOMAIN)


def cli_offline(*args, timeout=30):
    """Runs a knd client verb that needs no daemon (validate). Returns (rc, out, err)."""
    assert KND_BIN, "KND_BIN is not set and no build*/knd was found"
    p = subprocess.run([KND_BIN] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# ------------------------------------------------------------------ manifests


def ksvc(name, ns="default", marker=None, env=None, image="knd.dev/e2e/testapp:v1",
         template_name=None, template_annotations=None, traffic=None, annotations=None,
         labels=None, args=None, working_dir=None, extra_container=None, extra_spec=None,
         command=None):
    """A Service running knd-testapp, as a dict (apply() accepts dicts and strings)."""
    container = {"image": image, "command": command or [KND_TESTAPP]}
    envl = [{"name": "KND_E2E_RUN", "value": marker}] if marker else []
    for k, v in (env or {}).items():
        envl.append(v if isinstance(v, dict) and "name" in v else {"name": k, "value": v})
    if envl:
        container["env"] = envl
    if args is not None:
        container["args"] = args
    if working_dir is not None:
        container["workingDir"] = working_dir
    container.update(extra_container or {})
    tmpl = {"spec": {"containers": [container]}}
    tmpl["spec"].update(extra_spec or {})
    if template_name or template_annotations:
        tmpl["metadata"] = {}
        if template_name:
            tmpl["metadata"]["name"] = template_name
        if template_annotations:
            tmpl["metadata"]["annotations"] = template_annotations
    meta = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    obj = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta,
           "spec": {"template": tmpl}}
    if traffic is not None:
        obj["spec"]["traffic"] = traffic
    return obj


def condition(obj, ctype):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


# ------------------------------------------------------------------ HTTP over the unix socket


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body, header_list=()):
        self.status = status
        self.headers = headers  # dict, lowercase names (last wins)
        self.body = body        # bytes
        self.header_list = list(header_list)  # every (name, value), in order

    def header_values(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def _read(conn):
    r = conn.getresponse()
    body = r.read()
    return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body, r.getheaders())


# ------------------------------------------------------------------ the daemon


def _proc_environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return None


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def pids_with_env(entry):
    """Live (non-zombie) processes whose environment holds `entry` (b'KEY=VALUE')."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        env = _proc_environ(pid)
        if env and entry in env and _proc_state(pid) not in (None, "Z"):
            out.append(pid)
    return sorted(out)


def proc_env(pid):
    env = _proc_environ(pid) or []
    return dict(e.decode("utf-8", "replace").split("=", 1) for e in env if b"=" in e)


class Knd:
    """One running `knd serve` with its state dir, ports and helpers."""

    def __init__(self, request):
        assert KND_BIN and os.access(KND_BIN, os.X_OK), "knd binary not found (KND_BIN)"
        assert KND_TESTAPP and os.access(KND_TESTAPP, os.X_OK), "knd-testapp not found"
        # Short path: the socket path must fit sun_path (108 bytes).
        self.state_dir = tempfile.mkdtemp(prefix="knd-e2e-")
        self.work_dir = tempfile.mkdtemp(prefix="knd-e2e-work-")
        self.log_path = os.path.join(self.work_dir, "daemon.log")
        self.sock = os.path.join(self.state_dir, "knd.sock")
        self.http_port = free_port()
        self.admin_port = free_port()
        self.api_port = free_port()
        self.marker = uuid.uuid4().hex  # env KND_E2E_RUN of every instance this test starts
        self.proc = None
        self.logs = []   # log files of every daemon started (restart appends)
        self.nfile = 0
        self.bad_log_allowed = []
        self.started_once = False

    # -------------------------------------------------------------- lifecycle

    def start(self, timeout=20):
        """Starts `knd serve` and waits until it is healthy.

        A port free_port() found free can be taken before the daemon binds it (by an instance
        of an earlier test still draining, or as the local port of an outgoing connection).
        The daemon then exits at once with "address already in use", and it is started again:
        on new ports if no daemon has run in this state dir yet (nothing refers to the old
        ones: a new state dir too), otherwise on the same ports a moment later."""
        for attempt in range(5):
            try:
                self._start_once(timeout)
                self.started_once = True
                return
            except AssertionError:
                this_run = self.log_text().rsplit("==== knd serve started", 1)[-1]
                if attempt == 4 or self.proc.poll() is None or \
                        "address already in use" not in this_run:
                    raise
            if not self.started_once:  # a fresh state dir too: the kubeconfig names the port
                shutil.rmtree(self.state_dir, ignore_errors=True)
                self.state_dir = tempfile.mkdtemp(prefix="knd-e2e-")
                self.sock = os.path.join(self.state_dir, "knd.sock")
                self.http_port, self.admin_port = free_port(), free_port()
                self.api_port = free_port()
            else:
                time.sleep(0.5)

    def _start_once(self, timeout):
        log = open(self.log_path, "ab")
        log.write(("==== knd serve started %s\n" % time.strftime("%H:%M:%S")).encode())
        log.flush()
        cmd = [KND_BIN, "serve", "--state-dir", self.state_dir,
               "--http-addr", "127.0.0.1:%d" % self.http_port,
               "--admin-addr", "127.0.0.1:%d" % self.admin_port,
               "--api-addr", "127.0.0.1:%d" % self.api_port]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     cwd=self.work_dir)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("knd serve exited with %s during start-up\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.sock):
                try:
                    r = self.admin("GET", "/healthz")
                    if r.status == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("knd serve not healthy after %ss\n%s" % (timeout, self.log_tail()))

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        """Starts a new daemon on the same state dir and ports (after kill9 or stop)."""
        assert self.proc.poll() is not None, "restart() needs a stopped daemon"
        self.start()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        lines = self.log_text().splitlines()
        return "---- daemon log (%s), last %d lines ----\n%s" % (
            self.log_path, min(n, len(lines)), "\n".join(lines[-n:]))

    def instance_pids(self):
        """Live processes started for this test (they carry our KND_E2E_RUN marker)."""
        return pids_with_env(("KND_E2E_RUN=" + self.marker).encode())

    # -------------------------------------------------------------- clients

    def cli(self, *args, check=True, input=None, timeout=30):
        cmd = [KND_BIN] + [str(a) for a in args] + ["--state-dir", self.state_dir]
        p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout,
                           cwd=self.work_dir)
        if check:
            assert p.returncode == 0, "%s -> rc %d\nstdout: %s\nstderr: %s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr)
        return p.returncode, p.stdout, p.stderr

    def write(self, text, suffix=".yaml"):
        if not isinstance(text, str):
            text = to_yaml(text)
        self.nfile += 1
        path = os.path.join(self.work_dir, "m%02d%s" % (self.nfile, suffix))
        with open(path, "w") as f:
            f.write(text)
        return path

    def apply(self, text, check=True):
        """`knd apply -f` on a temp file holding text (a string, a dict or a list of dicts)."""
        return self.cli("apply", "-f", self.write(text), check=check)

    def api(self, method, path, body=None, headers=None, timeout=30):
        conn = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            h = {"Accept": "application/json"}
            if body is not None:
                h["Content-Type"] = "application/json"
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            return _read(conn)
        finally:
            conn.close()

    def admin(self, method, path, timeout=5):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request(method, path)
            return _read(conn)
        finally:
            conn.close()

    def curl(self, host, path="/", method="GET", headers=None, body=None, timeout=30):
        """A request through the ingress with this Host header."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            h = {"Host": host}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            return _read(conn)
        finally:
            conn.close()

    # -------------------------------------------------------------- objects

    def path(self, resource, name=None, ns="default"):
        group = "serving.knative.dev/v1beta1" if resource == "domainmappings" \
            else "serving.knative.dev/v1"
        if resource in ("configmaps", "secrets"):
            p = "/api/v1/namespaces/%s/%s" % (ns, resource)
        else:
            p = "/apis/%s/namespaces/%s/%s" % (group, ns, resource)
        return p + ("/" + name if name else "")

    def get(self, resource, name, ns="default"):
        """The object as JSON, or None when it does not exist (404)."""
        r = self.api("GET", self.path(resource, name, ns))
        if r.status == 404:
            return None
        assert r.status == 200, r
        return r.json()

    def list(self, resource, ns="default", selector=None):
        p = self.path(resource, ns=ns)
        if selector:
            p += "?labelSelector=" + selector
        r = self.api("GET", p)
        assert r.status == 200, r
        return r.json()["items"]

    def wait_for(self, pred, what, timeout=30, interval=0.1):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = pred()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))

    def wait_ready(self, name, ns="default", resource="services", timeout=30):
        """Waits until the object's Ready condition is True and returns the object."""
        def ready():
            o = self.get(resource, name, ns)
            c = condition(o, "Ready") if o else None
            if c and c.get("status") == "True" and \
                    o["status"].get("observedGeneration") == o["metadata"].get("generation"):
                return o
            return None
        try:
            return self.wait_for(ready, "%s/%s Ready" % (resource, name), timeout)
        except AssertionError as e:
            raise AssertionError("%s\nlast object: %s" % (
                e, json.dumps(self.get(resource, name, ns), indent=1)[:4000]))

    def wait_serving(self, host, path="/", want=200, timeout=20):
        """Waits until the ingress answers `want` for host (routing tables are pushed async)."""
        def ok():
            try:
                r = self.curl(host, path, timeout=5)
                return r if r.status == want else None
            except OSError:
                return None
        return self.wait_for(ok, "%s%s -> %d" % (host, path, want), timeout, 0.1)


def to_yaml(obj):
    if isinstance(obj, list):
        return "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in obj)
    return yaml.safe_dump(obj, sort_keys=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    k = getattr(item, "_knd", None)
    if k is not None and rep.failed and rep.when == "call":
        rep.sections.append(("knd daemon log", k.log_tail(80)))


@pytest.fixture
def knd(request):
    k = Knd(request)
    request.node._knd = k
    k.start()
    yield k

    # ------------------------------------------------------------ after-test checks
    problems = []
    before = set(k.instance_pids())
    rc = k.stop(10)
    if rc is None:
        problems.append("knd serve did not exit within 10 s of SIGTERM (killed)")
    elif rc != 0:
        problems.append("knd serve exited %d after SIGTERM, want 0" % rc)
    # Instances must be gone once the daemon has exited; allow the kernel a moment to reap.
    deadline = time.time() + 2
    left = k.instance_pids()
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = k.instance_pids()
    if left:
        problems.append("instance processes left after shutdown: %s (seen before stop: %s)"
                        % (left, sorted(before)))
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    text = k.log_text()
    for line in text.splitlines():
        for rx in BAD_LOG:
            if rx.search(line) and not any(a in line for a in k.bad_log_allowed):
                problems.append("daemon log: " + line.strip())
                break
    if problems:
        pytest.fail("after-test checks failed:\n  " + "\n  ".join(problems[:20]) + "\n"
                    + k.log_tail(80), pytrace=False)
    shutil.rmtree(k.state_dir, ignore_errors=True)
    shutil.rmtree(k.work_dir, ignore_errors=True)


# ------------------------------------------------------------------ data-plane helpers
# (used by test_35_dataplane, test_36_streaming, test_37_routing)


def instance_ports(k):
    """{pid: PORT} of this test's live instances (their env, as knd gave it)."""
    out = {}
    for pid in k.instance_pids():
        port = proc_env(pid).get("PORT")
        if port:
            out[pid] = int(port)
    return out


def app_get(port, path, timeout=5):
    """A request straight to an instance, bypassing knd (for /stats, /toggle-ready)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return _read(conn)
    finally:
        conn.close()


def platform_configmap(name, data):
    """A ConfigMap in knative-serving (config-autoscaler, config-features, config-domain...)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "knative-serving"}, "data": data}


def allow_zero_initial_scale(k):
    k.apply(platform_configmap("config-autoscaler", {"allow-zero-initial-scale": "true"}))


def create_at_zero(k, svc):
    """Allows initial-scale 0 in config-autoscaler, then creates svc (which uses it) through the
    API, so data-plane tests do not depend on the CLI's offline pre-validation (tested by
    test_initial_scale_zero_needs_the_cluster_flag). Platform ConfigMaps take effect
    asynchronously, as Knative's watchers do: retry for a few seconds."""
    allow_zero_initial_scale(k)
    last = None

    def ok():
        nonlocal last
        last = k.api("POST", k.path("services", ns=svc["metadata"]["namespace"]), svc)
        return last.status in (200, 201)
    try:
        k.wait_for(ok, "service with initial-scale 0 accepted", 5, 0.2)
    except AssertionError:
        raise AssertionError("create still rejected: %r" % (last,))
    return last


def raw_connect(k, timeout=10):
    s = socket.create_connection(("127.0.0.1", k.http_port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_head(sock, buf=b""):
    """Reads one response head from sock. Returns (status, headers dict lowercase, rest bytes)
    where rest is whatever arrived after the head; raises AssertionError on EOF first."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise AssertionError("connection closed before a full response head: %r" % buf[:300])
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def burst(n, fn, timeout=60):
    """Runs fn(i) for i in range(n) on n threads released together; returns the results in
    order (an exception raised by fn is returned as the value)."""
    import threading
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(10)
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported to the caller as a value
            results[i] = e
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results
