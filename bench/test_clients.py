"""Self-test of the benchmark clients (bench/pingpong.c, bench/slices.c).

The performance verdicts rest on what these two clients measure, so what they measure is checked
here against two real knd-testapp processes whose answers take a known time (`sleep=MS`): the
latencies they print, the throughput the slices imply, the requests the app really served, and
their refusals (a status other than 200, a closed port, bad arguments).
Run: /usr/bin/python3 -m pytest bench/test_clients.py
     (KND_TESTAPP, KND_BENCH_PINGPONG, KND_BENCH_SLICES = paths to the binaries)
"""
import json
import os
import signal
import socket
import subprocess
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
TESTAPP = os.environ.get("KND_TESTAPP", os.path.join(BUILD, "tests", "apps", "knd-testapp"))
PINGPONG = os.environ.get("KND_BENCH_PINGPONG", os.path.join(BUILD, "bench", "knd-bench-pingpong"))
SLICES = os.environ.get("KND_BENCH_SLICES", os.path.join(BUILD, "bench", "knd-bench-slices"))
HOST = "hello.default.127.0.0.1.sslip.io"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    def __init__(self):
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port), K_REVISION="hello-00001")
        self.proc = subprocess.Popen([TESTAPP], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline() == "listening on 127.0.0.1:%d\n" % self.port

    def requests(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % self.port, timeout=10) as r:
            return json.load(r)["requests"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == 0, err
        assert "Sanitizer" not in err and "runtime error" not in err, err


@pytest.fixture
def apps():
    a = []
    try:
        a.append(App())
        a.append(App())
        yield a
    finally:
        for x in a:
            x.stop()


def run(argv, timeout=120):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def parse(stdout):
    """{port: {field: int}} from the clients' "port N requests R p50 X ..." lines."""
    out = {}
    for line in stdout.splitlines():
        v = line.split()
        out[int(v[1])] = {v[i]: int(v[i + 1]) for i in range(2, len(v), 2)}
    return out


def check_percentiles(o):
    assert o["p50"] <= o["p90"] <= o["p99"] <= o["p999"]
    assert o["p50"] <= o["mean"] * 2


def measure(apps, argv):
    """Runs a client against every app: [(its line for that app, requests the app served)]."""
    before = [a.requests() for a in apps]
    r = run(argv + [str(a.port) for a in apps])
    assert r.returncode == 0, r.stderr
    out = parse(r.stdout)
    assert set(out) == {a.port for a in apps}
    for o in out.values():
        check_percentiles(o)
    return [(out[a.port], a.requests() - b) for a, b in zip(apps, before)]


def test_pingpong_measures_each_target(apps):
    for o, served in measure(apps, [PINGPONG, HOST, "/?sleep=5", "40"]):
        assert o["requests"] == 40
        assert o["p50"] >= 5_000_000  # every answer waited 5 ms in the app
        assert served == 540  # 500 warm-up rounds and 40 counted


def test_slices_latency_and_throughput(apps):
    conns, warm, ms, rounds = 4, 20, 100, 5
    argv = [SLICES, HOST, "/?sleep=10", str(conns), str(warm), str(ms), str(rounds)]
    for o, served in measure(apps, argv):
        assert o["busy"] == rounds * ms * 1_000_000
        assert o["p50"] >= 10_000_000 and o["p50"] < 100_000_000
        # 4 requests in flight, each >= 10 ms: at most 400 req/s, 200 in the 500 counted ms (a
        # loaded machine answers later, hence the margin below)
        assert 60 <= o["requests"] <= 200
        # every counted request was served, and so were those of the warm-up round and of the
        # uncounted first 20 ms of each slice
        assert served > o["requests"] + (rounds + 1) * conns


def test_slices_counts_only_the_window(apps):
    """A slice's first WARM_MS carry load but no counted request: with WARM_MS longer than the
    counted window, the counted share of what the app served is small."""
    r = run([SLICES, HOST, "/?sleep=10", "2", "200", "50", "2", str(apps[0].port)])
    assert r.returncode == 0, r.stderr
    o = parse(r.stdout)[apps[0].port]
    assert 8 <= o["requests"] <= 22  # 2 conns x (50 ms / 10 ms) x 2 rounds, at most
    assert apps[0].requests() >= 5 * o["requests"]


@pytest.mark.parametrize("client", ["pingpong", "slices"])
def test_non_200_is_an_error(apps, client):
    args = ["1"] if client == "pingpong" else ["2", "0", "20", "1"]
    binary = PINGPONG if client == "pingpong" else SLICES
    r = run([binary, HOST, "/?status=503"] + args + [str(apps[0].port)])
    assert r.returncode == 1
    assert r.stdout == ""
    assert ("answered 503" in r.stderr) if client == "pingpong" \
        else ("status is not 200" in r.stderr), r.stderr


@pytest.mark.parametrize("binary", [PINGPONG, SLICES])
def test_closed_port_and_usage(binary):
    r = run([binary])
    assert r.returncode == 2 and "usage:" in r.stderr
    args = ["1"] if binary == PINGPONG else ["2", "0", "20", "1"]
    r = run([binary, HOST, "/"] + args + [str(free_port())])
    assert r.returncode == 1
    assert "connect to port" in r.stderr and "refused" in r.stderr


def test_slices_a_stalled_target_is_an_error(apps):
    """A target that stops answering ends the run with a message (after the 10 s watchdog), not
    a hang: the app holds the request 15 s."""
    r = run([SLICES, HOST, "/?sleep=15000", "1", "0", "20", "1", str(apps[0].port)], timeout=30)
    assert r.returncode == 1
    assert "1 requests unanswered 10000 ms after the slice's end" in r.stderr, r.stderr
