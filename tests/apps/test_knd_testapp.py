"""Self-test of knd-testapp, the instance every end-to-end test deploys.

The end-to-end tests trust this app's answers (/stats, X-Inflight, /echo, ...), so its contract
(tests/apps/README.md) is checked here against the real binary, without knd.
Run: /usr/bin/python3 -m pytest tests/apps/test_knd_testapp.py  (KND_TESTAPP=path/to/binary)
"""
import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("KND_TESTAPP", os.path.join(ROOT, "build", "tests", "apps", "knd-testapp"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    def __init__(self, env=None, args=()):
        self.port = free_port()
        full = dict(os.environ, PORT=str(self.port), K_REVISION="hello-00001")
        full.update(env or {})
        self.proc = subprocess.Popen([BINARY, *args], env=full, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def wait_listening(self):
        line = self.proc.stdout.readline()
        assert line == f"listening on 127.0.0.1:{self.port}\n"

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path, headers=None, method="GET", body=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r, r.read()
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err


@pytest.fixture
def app():
    a = App(env={"TARGET": "knd"})
    a.wait_listening()
    yield a
    rc, _, err = a.stop()
    assert rc == 0, err
    assert "SIGTERM received, draining" in err
    assert "Sanitizer" not in err and "runtime error" not in err, err


def test_hello_and_revision_header(app):
    r, body = app.get("/")
    assert r.status == 200 and body == b"Hello knd!\n"
    assert r.getheader("X-App-Revision") == "hello-00001"
    assert r.getheader("X-Inflight") == "1"


def test_default_target_is_world():
    a = App(env={"TARGET": ""})
    a.wait_listening()
    try:
        assert a.get("/any/path")[1] == b"Hello World!\n"
    finally:
        assert a.stop()[0] == 0


def test_env_and_headers(app):
    r, body = app.get("/env")
    env = json.loads(body)
    assert r.getheader("Content-Type") == "application/json"
    assert env["PORT"] == str(app.port) and env["TARGET"] == "knd"
    r, body = app.get("/headers?a=1", headers={"X-Foo": "bar", "Host": "hello.default.example"})
    h = json.loads(body)
    assert h["method"] == "GET" and h["url"] == "/headers?a=1" and h["path"] == "/headers"
    assert h["host"] == "hello.default.example" and h["headers"]["x-foo"] == "bar"


def _read_response(s, buf):
    """One Content-Length framed response from socket s; returns (head, body, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        assert d, "connection closed mid-head"
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
             if ln.lower().startswith(b"content-length:")][0])
    while len(rest) < n:
        rest += s.recv(65536)
    return head, rest[:n], rest[n:]


def test_headers_in_pieces_and_per_request(app):
    """Header names and values split across reads, mixed case, repeated and empty headers; the
    next request on the connection sees only its own headers."""
    first = (b"GET /headers?x=1 HTTP/1.1\r\nHost: a\r\nX-MiXed-Case: Value One\r\n"
             b"x-mixed-case: two\r\nX-Empty:\r\nX-Long: " + b"v" * 5000 + b"\r\n\r\n")
    second = b"GET /headers HTTP/1.1\r\nHost: b\r\nX-Only-Second: yes\r\n\r\n"
    with socket.create_connection(("127.0.0.1", app.port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(first), 7):  # pieces that cut names, values and CRLFs
            s.sendall(first[i:i + 7])
            time.sleep(0.0005)
        _, body, rest = _read_response(s, b"")
        h = json.loads(body)
        assert h["url"] == "/headers?x=1" and h["path"] == "/headers" and h["host"] == "a"
        assert h["headers"]["x-mixed-case"] == "Value One, two"
        assert h["headers"]["x-empty"] == "" and h["headers"]["x-long"] == "v" * 5000
        s.sendall(second)
        _, body, _ = _read_response(s, rest)
        h = json.loads(body)
        assert h["path"] == "/headers" and h["url"] == "/headers" and h["host"] == "b"
        assert sorted(h["headers"]) == ["host", "x-only-second"]


def test_query_status_chunked_bytes(app):
    r, body = app.get("/?status=418")
    assert r.status == 418 and body == b"Hello knd!\n"
    r, body = app.get("/?chunked=1")
    assert r.getheader("Transfer-Encoding") == "chunked" and body == b"Hello knd!\n"
    for q in ("bytes=300000", "bytes=300000&chunked=1", "bytes=300000&chunk_size=1000"):
        r, body = app.get("/?" + q)
        assert len(body) == 300000
        assert body == bytes(ord("a") + i % 26 for i in range(300000))
    r, body = app.get("/?bytes=0")
    assert r.getheader("Content-Length") == "0" and body == b""


def _slow_download(port, query, n):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
        s.connect(("127.0.0.1", port))
        s.settimeout(10)
        s.sendall(b"GET /?%s HTTP/1.1\r\nHost: x\r\n\r\n" % query.encode())
        time.sleep(0.3)  # let the app fill the socket and queue the rest
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, body = buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ") and b"Content-Length: %d" % n in head
        body = bytearray(body)
        while len(body) < n:
            chunk = s.recv(min(65536, n - len(body)))
            assert chunk, "body ended after %d of %d bytes" % (len(body), n)
            body += chunk
            if len(body) < (1 << 20):
                time.sleep(0.001)  # slow at first, while the app has most still to send
        pattern = bytes(ord("a") + i % 26 for i in range(26))
        assert body == (pattern * (n // 26 + 1))[:n]
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _, body, rest = _read_response(s, b"")
        assert body == b"Hello knd!\n" and rest == b""


def test_slow_reader_gets_every_byte_and_the_next_response(app):
    """A reader slower than the app: what a write does not get into the socket is queued, cut
    anywhere (in the held head-and-chunk or in the new chunk: 1000-byte chunks make both
    frequent), and the body still arrives whole and in order; the connection serves on."""
    _slow_download(app.port, "bytes=%d" % (8 << 20), 8 << 20)
    _slow_download(app.port, "bytes=%d&chunk_size=1000" % (6 << 20), 6 << 20)


def exchange(port, head, body_parts):
    """Sends a request from a thread while reading the response, as a proxy does: /echo
    streams, so a client that only reads after sending everything would stall on a big body."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)

    def send():
        s.sendall(head)
        for part in body_parts:
            s.sendall(part)
    t = threading.Thread(target=send)
    t.start()
    r = http.client.HTTPResponse(s)
    r.begin()
    body = r.read()
    t.join()
    s.close()
    return r, body


def test_echo_streams_large_bodies(app):
    payload = os.urandom(16 << 20)
    parts = [payload[i:i + 100000] for i in range(0, len(payload), 100000)]
    head = (f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-test\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    r, body = exchange(app.port, head, parts)
    assert r.status == 200 and body == payload
    assert r.getheader("Content-Type") == "application/x-test"
    assert r.getheader("Content-Length") == str(len(payload))

    chunked = [b"%x\r\n%s\r\n" % (len(p), p) for p in parts] + [b"0\r\n\r\n"]
    head = b"POST /echo?sleep=100 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    r, body = exchange(app.port, head, chunked)
    assert r.getheader("Transfer-Encoding") == "chunked" and body == payload


def test_sleep_is_concurrent_and_counted(app):
    results = []

    def one():
        r, _ = app.get("/?sleep=500")
        results.append(int(r.getheader("X-Inflight")))
    threads = [threading.Thread(target=one) for _ in range(5)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.2)
    stats = json.loads(app.get("/stats")[1])
    assert stats["inflight"] == 5
    for t in threads:
        t.join()
    assert time.monotonic() - start < 1.5  # timers, not blocking sleeps
    assert max(results) == 5
    stats = json.loads(app.get("/stats")[1])
    assert stats == {"inflight": 0, "max_inflight": 5, "requests": 5, "ready": True}


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_burn_spends_cpu_in_slices(app):
    cpu0 = proc_cpu_seconds(app.proc.pid)
    result = {}

    def burn():
        start = time.monotonic()
        r, body = app.get("/?burn_ms=600&sleep=100")
        result.update(status=r.status, body=body, took=time.monotonic() - start)
    t = threading.Thread(target=burn)
    t.start()
    time.sleep(0.15)
    # The burn yields between slices: probes and stats are answered meanwhile.
    start = time.monotonic()
    assert app.get("/healthz")[0].status == 200
    assert json.loads(app.get("/stats")[1])["inflight"] == 1
    assert time.monotonic() - start < 0.1
    t.join()
    assert result["status"] == 200 and result["body"] == b"Hello knd!\n"
    # 600 ms of CPU, then the 100 ms sleep; the client's clock starts a little after the
    # server's, so allow it a few milliseconds.
    assert result["took"] >= 0.68
    assert proc_cpu_seconds(app.proc.pid) - cpu0 >= 0.55
    r, _ = app.get("/?burn_ms=0")
    assert r.status == 200


def test_keepalive_pipelining_and_close(app):
    with socket.create_connection(("127.0.0.1", app.port)) as s:
        s.sendall(b"GET /?sleep=50 HTTP/1.1\r\nHost: a\r\n\r\nGET /headers HTTP/1.1\r\nHost: b\r\n\r\n"
                  b"GET / HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.index(b"Hello knd!") < data.index(b'"host": "b"')
    assert data.rstrip().endswith(b"Hello knd!") and b"Connection: close" in data


def test_bad_request_gets_400(app):
    with socket.create_connection(("127.0.0.1", app.port)) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")


def test_readiness_toggle_and_delay():
    a = App(env={"READY_DELAY_MS": "400"})
    a.wait_listening()
    try:
        assert a.get("/healthz")[0].status == 503
        time.sleep(0.5)
        assert a.get("/healthz")[0].status == 200
        assert json.loads(a.get("/toggle-ready")[1]) == {"ready": False}
        assert a.get("/healthz")[0].status == 503
        assert json.loads(a.get("/toggle-ready")[1]) == {"ready": True}
        assert a.get("/healthz")[0].status == 200
        assert json.loads(a.get("/stats")[1])["requests"] == 0  # control paths are not counted
    finally:
        assert a.stop()[0] == 0


def test_startup_delay_and_fail_start():
    a = App(args=("--startup-delay-ms", "300"))
    start = time.monotonic()
    a.wait_listening()
    assert time.monotonic() - start >= 0.3
    assert a.stop()[0] == 0
    a = App(env={"FAIL_START": "1"})
    a.proc.wait(5)
    rc, out, err = a.stop()
    assert rc == 1 and "FAIL_START" in err and out == ""


def test_crash_and_exit():
    a = App()
    a.wait_listening()
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        a.get("/crash")
    assert a.proc.wait(5) == 3
    a.stop()
    a = App()
    a.wait_listening()
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        a.get("/exit?code=7")
    assert a.proc.wait(5) == 7
    a.stop()


def test_sigterm_finishes_inflight_requests():
    a = App()
    a.wait_listening()
    result = {}

    def slow():
        r, body = a.get("/?sleep=700")
        result["status"], result["body"] = r.status, body
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    a.proc.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    with pytest.raises(ConnectionError):
        socket.create_connection(("127.0.0.1", a.port), timeout=1).close()
    t.join()
    assert result == {"status": 200, "body": b"Hello World!\n"}
    a.proc.wait(10)
    rc, _, err = a.stop()
    assert rc == 0 and "SIGTERM received, draining" in err


def ws_frame(opcode, payload, fin=True):
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_read(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            d = s.recv(n - len(buf))
            assert d, "connection closed"
            buf += d
        return buf
    b0, b1 = exact(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack(">H", exact(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", exact(8))[0]
    return b0, exact(n)


def test_websocket_echo(app):
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", app.port), timeout=5) as s:
        s.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert head.startswith(b"HTTP/1.1 101 ") and f"Sec-WebSocket-Accept: {want}".encode() in head
        s.sendall(ws_frame(1, b"hello") + ws_frame(2, bytes(70000)) + ws_frame(9, b"p"))
        assert ws_read(s) == (0x81, b"hello")
        assert ws_read(s) == (0x82, bytes(70000))
        assert ws_read(s) == (0x8a, b"p")
        assert json.loads(app.get("/stats")[1])["inflight"] == 1
        s.sendall(ws_frame(8, struct.pack(">H", 1000)))
        assert ws_read(s) == (0x88, struct.pack(">H", 1000))
    assert app.get("/ws")[0].status == 400  # no upgrade
