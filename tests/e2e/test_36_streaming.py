"""Streaming through the proxy: big uploads and downloads never buffered whole (the daemon's
RSS stays flat), chunked request bodies, Expect: 100-continue, keep-alive reuse, websockets.

The big transfers move 256 MiB each way by default; KND_E2E_BIG=1 makes them 1 GiB."""
import base64
import hashlib
import http.client
import os
import socket
import struct
import threading
import time

import pytest

from conftest import ksvc, raw_connect, read_head, route_host

BIG = (1 << 30) if os.environ.get("KND_E2E_BIG") == "1" else (256 << 20)
RSS_GROWTH_MAX = 64 << 20
BLOCK = 1 << 20


@pytest.fixture
def small_quarantine(monkeypatch):
    """ASan keeps freed memory in a 256 MiB quarantine, which would show as RSS growth of a
    correct streaming proxy; shrink it for the daemon these tests start (no effect without
    ASan). Must be listed before `knd` so the daemon inherits it."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (opts + ":" if opts else "") + "quarantine_size_mb=8")


def _deploy(knd, name="st", **kw):
    knd.apply(ksvc(name, marker=knd.marker, **kw))
    knd.wait_ready(name)
    return knd.wait_serving(route_host(name))


def _rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


class RssSampler:
    """Samples a process's VmRSS every 50 ms on a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.base = _rss(pid)
        self.peak = self.base
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, _rss(self.pid))
                self.samples += 1
            except (OSError, AssertionError):
                return
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self._t.join(5)
        return self.peak - self.base


def _blocks(total):
    """Deterministic, position-dependent content: a random block stamped with its index."""
    seed = os.urandom(BLOCK)
    n = 0
    i = 0
    while n < total:
        b = struct.pack(">Q", i) + seed[8:]
        b = b[:total - n]
        yield b
        n += len(b)
        i += 1


def test_big_upload_streams_through_with_flat_rss(small_quarantine, knd):
    _deploy(knd)
    host = route_host("st")
    s = raw_connect(knd, timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sampler = RssSampler(knd.proc.pid)
    sent = hashlib.sha256()
    err = []

    def send():
        try:
            s.sendall(("POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n" % (host, BIG)).encode())
            for b in _blocks(BIG):
                sent.update(b)
                s.sendall(b)
        except Exception as e:  # noqa: BLE001
            err.append(e)
    t = threading.Thread(target=send, daemon=True)
    t0 = time.monotonic()
    t.start()
    status, headers, rest = read_head(s)
    got = hashlib.sha256(rest)
    n = len(rest)
    while n < BIG:
        d = s.recv(1 << 20)
        if not d:
            break
        got.update(d)
        n += len(d)
    t.join(60)
    took = time.monotonic() - t0
    growth = sampler.stop()
    s.close()
    assert not err, err
    assert status == 200 and headers.get("content-length") == str(BIG), (status, headers)
    assert n == BIG, "echoed %d of %d bytes" % (n, BIG)
    assert got.hexdigest() == sent.hexdigest()
    assert sampler.samples >= 3, "transfer too fast to sample (%.2fs)" % took
    assert growth < RSS_GROWTH_MAX, "daemon RSS grew by %d MiB during a %d MiB upload" % (
        growth >> 20, BIG >> 20)


def _pattern_sha(total):
    period = bytes(ord("a") + i % 26 for i in range(26)) * (BLOCK // 26)
    h = hashlib.sha256()
    n = 0
    while n < total:
        b = period[:total - n]
        h.update(b)
        n += len(b)
    return h.hexdigest()


def test_big_download_streams_through_with_flat_rss(small_quarantine, knd):
    _deploy(knd)
    conn = http.client.HTTPConnection("127.0.0.1", knd.http_port, timeout=60)
    sampler = RssSampler(knd.proc.pid)
    conn.request("GET", "/?bytes=%d" % BIG, headers={"Host": route_host("st")})
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Length") == str(BIG)
    h = hashlib.sha256()
    n = 0
    while True:
        d = r.read(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    growth = sampler.stop()
    conn.close()
    assert n == BIG
    assert h.hexdigest() == _pattern_sha(BIG)
    assert growth < RSS_GROWTH_MAX, "daemon RSS grew by %d MiB during a %d MiB download" % (
        growth >> 20, BIG >> 20)


def test_slow_reader_download_is_backpressured(small_quarantine, knd):
    """A client that reads slowly: knd must not slurp the app's 64 MiB into memory."""
    _deploy(knd)
    size = 64 << 20
    s = raw_connect(knd, timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    sampler = RssSampler(knd.proc.pid)
    s.sendall(("GET /?bytes=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (size, route_host("st"))).encode())
    status, _, rest = read_head(s)
    assert status == 200
    time.sleep(2.0)  # not reading: the app keeps writing only as far as buffers allow
    growth_while_stalled = sampler.peak - sampler.base
    n = len(rest)
    while n < size:
        d = s.recv(1 << 20)
        if not d:
            break
        n += len(d)
    sampler.stop()
    s.close()
    assert n == size
    assert growth_while_stalled < 16 << 20, "daemon buffered %d MiB for a stalled reader" % (
        growth_while_stalled >> 20)


def test_chunked_request_body(knd):
    _deploy(knd)
    parts = [b"x" * 1, os.urandom(1000), b"", os.urandom(70000), b"end"]
    conn = http.client.HTTPConnection("127.0.0.1", knd.http_port, timeout=30)
    conn.request("POST", "/echo", body=(p for p in parts if p), encode_chunked=True,
                 headers={"Host": route_host("st"), "Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert body == b"".join(parts)
    # The app saw a chunked request too (the proxy did not buffer it into a Content-Length).
    conn = http.client.HTTPConnection("127.0.0.1", knd.http_port, timeout=30)
    conn.request("POST", "/headers", body=iter([b"abc"]), encode_chunked=True,
                 headers={"Host": route_host("st"), "Transfer-Encoding": "chunked"})
    h = __import__("json").loads(conn.getresponse().read())["headers"]
    conn.close()
    assert h.get("transfer-encoding") == "chunked" and "content-length" not in h, h


def test_expect_100_continue(knd):
    _deploy(knd)
    body = b"hello, continue"
    s = raw_connect(knd)
    s.sendall(("POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
               "Expect: 100-continue\r\n\r\n" % (route_host("st"), len(body))).encode())
    s.settimeout(3)
    status, _, rest = read_head(s)
    assert status == 100, "want an interim 100 before the body is sent"
    s.sendall(body)
    status, headers, rest = read_head(s, rest)
    while len(rest) < len(body):
        d = s.recv(4096)
        if not d:
            break
        rest += d
    s.close()
    assert status == 200
    assert rest == body


def test_keep_alive_reuses_one_connection(knd):
    _deploy(knd)
    conn = http.client.HTTPConnection("127.0.0.1", knd.http_port, timeout=10)
    conn.connect()
    sock = conn.sock
    local = sock.getsockname()
    for i in range(300):
        conn.request("GET", "/?i=%d" % i, headers={"Host": route_host("st")})
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"Hello World!\n", i
        assert not r.will_close, "knd asked to close after request %d" % i
    assert conn.sock is sock and sock.getsockname() == local
    conn.close()


def _ws_frame(opcode, payload, mask=True):
    head = bytes([0x80 | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _ws_read(s, buf):
    def need(k):
        nonlocal buf
        while len(buf) < k:
            d = s.recv(65536)
            if not d:
                raise AssertionError("websocket closed mid-frame")
            buf += d
    need(2)
    b0, b1 = buf[0], buf[1]
    n, off = b1 & 0x7F, 2
    if n == 126:
        need(4)
        n, off = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        need(10)
        n, off = struct.unpack(">Q", buf[2:10])[0], 10
    assert not b1 & 0x80, "server frames must not be masked"
    need(off + n)
    return (b0 & 0x80, b0 & 0x0F, buf[off:off + n]), buf[off + n:]


def test_websocket_echo_through_knd(knd):
    _deploy(knd)
    key = base64.b64encode(os.urandom(16)).decode()
    s = raw_connect(knd)
    s.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (route_host("st"), key)).encode())
    status, headers, buf = read_head(s)
    assert status == 101, (status, headers)
    assert headers.get("upgrade", "").lower() == "websocket"
    want = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    assert headers.get("sec-websocket-accept") == want
    s.sendall(_ws_frame(1, b"hello knd"))
    (fin, op, payload), buf = _ws_read(s, buf)
    assert (fin, op, payload) == (0x80, 1, b"hello knd")
    big = os.urandom(200000)
    s.sendall(_ws_frame(2, big))
    (fin, op, payload), buf = _ws_read(s, buf)
    assert (op, payload == big) == (2, True)
    s.sendall(_ws_frame(8, struct.pack(">H", 1000)))
    (fin, op, payload), buf = _ws_read(s, buf)
    assert op == 8
    s.close()
    # a plain request still works afterwards
    assert knd.curl(route_host("st")).status == 200
