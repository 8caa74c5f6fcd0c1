"""Correctness under load: with many clients at once, containerConcurrency holds at every
instance, every response goes back to the request that asked for it, and the counts agree
exactly - what the clients received, what the instances served and what /metrics reports -
whether the instances were there from the start or the load found the revision at zero.
(The performance issue: "containerConcurrency, queues and metrics remain exact".)"""
import http.client
import os
import re
import threading

from conftest import (app_get, create_at_zero, instance_ports, ksvc, raw_connect, read_head,
                      route_host)

CC = 2
INSTANCES = 2
CLIENTS = 16
PER_CLIENT = 45  # three kinds of request, 15 of each per client
PIPELINERS = 2  # and clients that send BATCH requests at once, BATCHES times
BATCH, BATCHES = 3, 10
PATTERN = bytes(range(ord("a"), ord("z") + 1))


def _pattern(n):
    return (PATTERN * (n // 26 + 1))[:n]


def _series(text, name, revision):
    """{labels: value} of one family's series for `revision`."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") and 'revision_name="%s"' % revision in line:
            labels, value = line[len(name):].rsplit(" ", 1)
            out[labels] = float(value)
    return out


def _one(series):
    assert len(series) == 1, series
    return list(series.values())[0]


def _count_200(text, revision):
    return sum(v for k, v in _series(text, "revision_request_count", revision).items()
               if 'response_code="200"' in k)


def _client(knd, host, k, failures, done):
    """PER_CLIENT requests on one keep-alive connection, each checked against what it asked."""
    conn = http.client.HTTPConnection("127.0.0.1", knd.http_port, timeout=60)
    try:
        for i in range(PER_CLIENT):
            rid = "c%d-r%d" % (k, i)
            kind = i % 3
            if kind == 0:  # a body the instance sends back as it reads it
                body = (rid + ":").encode() + os.urandom(64 + (k * 131 + i * 17) % 3000).hex()\
                    .encode()
                conn.request("POST", "/echo?sleep=2", body=body,
                             headers={"Host": host, "Content-Type": "application/x-load"})
            elif kind == 1:  # the instance reports the URL and headers it received
                conn.request("GET", "/headers?sleep=1&id=" + rid,
                             headers={"Host": host, "X-Load-Id": rid})
            else:  # a body of a length only this request asked for
                n = 1000 + k * 997 + i * 13
                conn.request("GET", "/?bytes=%d&id=%s" % (n, rid), headers={"Host": host})
            r = conn.getresponse()
            data = r.read()
            bad = None
            if r.status != 200:
                bad = "status %d: %r" % (r.status, data[:200])
            elif int(r.getheader("X-Inflight", "0")) > CC:
                bad = "X-Inflight %s > containerConcurrency %d" % (r.getheader("X-Inflight"), CC)
            elif kind == 0 and data != body:
                bad = "echo of %d bytes came back as %d bytes %r" % (len(body), len(data),
                                                                      data[:40])
            elif kind == 1 and not re.search(r'"x-load-id": ?"%s"' % rid, data.decode()):
                bad = "another request's headers: %r" % data[:300]
            elif kind == 2 and data != _pattern(n):
                bad = "wrong body for bytes=%d (%d bytes)" % (n, len(data))
            if bad:
                failures.append("%s: %s" % (rid, bad))
                return
            done[k] += 1
    except (OSError, http.client.HTTPException) as e:
        failures.append("client %d: %r" % (k, e))
    finally:
        conn.close()


def _pipeliner(knd, host, k, failures, done):
    """BATCHES times, BATCH requests in one write; the answers must come back in order."""
    s = raw_connect(knd, timeout=60)
    try:
        rest = b""
        for b in range(BATCHES):
            rids = ["p%d-b%d-%d" % (k, b, j) for j in range(BATCH)]
            s.sendall(b"".join(("GET /headers?sleep=1&id=%s HTTP/1.1\r\nHost: %s\r\n"
                                "X-Load-Id: %s\r\n\r\n" % (rid, host, rid)).encode()
                               for rid in rids))
            for rid in rids:
                status, headers, rest = read_head(s, rest)
                n = int(headers.get("content-length", "-1"))
                while len(rest) < n:
                    d = s.recv(65536)
                    if not d:
                        raise AssertionError("EOF in a body")
                    rest += d
                data, rest = rest[:n], rest[n:]
                if status != 200 or int(headers.get("x-inflight", "0")) > CC or \
                        not re.search(r'"x-load-id": ?"%s"' % rid, data.decode()):
                    failures.append("%s: %d %r %r" % (rid, status, headers, data[:300]))
                    return
                done[k] += 1
    except (OSError, AssertionError) as e:
        failures.append("pipeliner %d: %r" % (k, e))
    finally:
        s.close()


def _load(knd, revision, host):
    """Runs CLIENTS keep-alive clients and PIPELINERS pipelining ones at once against host,
    each response checked against its request; returns (requests sent, the queue lengths
    /metrics showed meanwhile)."""
    failures, done = [], [0] * (CLIENTS + PIPELINERS)
    threads = [threading.Thread(target=_client, args=(knd, host, k, failures, done))
               for k in range(CLIENTS)]
    threads += [threading.Thread(target=_pipeliner, args=(knd, host, k, failures, done))
                for k in range(CLIENTS, CLIENTS + PIPELINERS)]
    for t in threads:
        t.start()
    queued = []
    while any(t.is_alive() for t in threads):
        t = knd.admin("GET", "/metrics").text
        queued += _series(t, "knd_revision_queued_requests", revision).values()
        threads[0].join(0.02)
    for t in threads:
        t.join(300)
    assert not failures, failures[:5]
    sent = CLIENTS * PER_CLIENT + PIPELINERS * BATCH * BATCHES
    assert sum(done) == sent, done
    return sent, queued


def _check_counts(knd, revision, ports, sent, before_app=0, before_200=0, before_hist=0):
    """The instances served exactly `sent` requests, never more than CC at once, and /metrics
    counts exactly those; nothing is left in flight or queued."""
    def all_stats():  # an instance the autoscaler added at the end may still be starting
        try:
            return [app_get(p, "/stats").json() for p in ports.values()]
        except OSError:
            return None
    stats = knd.wait_for(all_stats, "/stats from every instance", 10, 0.1)
    assert all(s["max_inflight"] <= CC for s in stats), stats
    assert all(s["inflight"] == 0 for s in stats), stats
    assert sum(s["requests"] for s in stats) - before_app == sent, (stats, before_app)

    # A response's count is taken when it ends, which the client may see a moment earlier.
    def settled():
        t = knd.admin("GET", "/metrics").text
        return t if _count_200(t, revision) - before_200 >= sent else None
    text = knd.wait_for(settled, "revision_request_count to reach %d" % sent, 10, 0.1)
    assert _count_200(text, revision) - before_200 == sent, \
        _series(text, "revision_request_count", revision)
    codes = _series(text, "revision_request_count", revision)
    assert all('response_code="200"' in k for k in codes), codes
    assert sum(_series(text, "revision_request_latencies_count", revision).values()) \
        - before_hist == sent
    assert _one(_series(text, "knd_revision_inflight_requests", revision)) == 0
    assert _one(_series(text, "knd_revision_queued_requests", revision)) == 0
    assert _one(_series(text, "knd_revision_rejected_requests_total", revision)) == 0
    assert _one(_series(text, "activator_request_concurrency", revision)) == 0
    return stats, text


def test_load_keeps_concurrency_responses_and_metrics_exact(knd):
    """CLIENTS keep-alive clients and PIPELINERS pipelining ones at once, against INSTANCES
    instances of containerConcurrency CC: most requests wait in knd's queue at any moment.
    Every one is answered, with its own response; no instance ever runs more than CC; the
    instances' request counters, knd's revision_request_count and its latency histogram all
    count exactly the requests sent. Once the load stops, nothing is in flight or queued."""
    knd.apply(ksvc("load", marker=knd.marker, extra_spec={"containerConcurrency": CC},
                   template_annotations={
                       "autoscaling.knative.dev/min-scale": str(INSTANCES),
                       "autoscaling.knative.dev/max-scale": str(INSTANCES)}))
    knd.wait_ready("load")
    host = route_host("load")
    knd.wait_serving(host)
    ports = knd.wait_for(
        lambda: (lambda p: p if len(p) == INSTANCES else None)(instance_ports(knd)),
        "%d instances" % INSTANCES)
    before_app = sum(app_get(p, "/stats").json()["requests"] for p in ports.values())
    text = knd.admin("GET", "/metrics").text
    before_200 = _count_200(text, "load-00001")
    before_hist = sum(_series(text, "revision_request_latencies_count", "load-00001").values())

    sent, queued = _load(knd, "load-00001", host)
    assert max(queued, default=0) > 0, "no request ever waited: %r" % queued
    stats, _ = _check_counts(knd, "load-00001", ports, sent, before_app, before_200,
                             before_hist)
    assert all(s["requests"] > 0 for s in stats), "one instance got nothing: %r" % stats


def test_load_from_zero_is_held_and_counted_exactly(knd):
    """The same load finds the revision at zero instances (initial-scale 0, instances that take
    200 ms to listen): the activator holds every request while instances start, up to
    max-scale INSTANCES, and then the same exactness holds - every response is its request's,
    CC is never exceeded, and the instances and /metrics count exactly the requests sent."""
    create_at_zero(knd, ksvc("cold", marker=knd.marker, extra_spec={"containerConcurrency": CC},
                             env={"STARTUP_DELAY_MS": "200"}, template_annotations={
                                 "autoscaling.knative.dev/initial-scale": "0",
                                 "autoscaling.knative.dev/min-scale": "0",
                                 "autoscaling.knative.dev/max-scale": str(INSTANCES)}))
    knd.wait_ready("cold")
    assert instance_ports(knd) == {}, "an instance runs before any request"

    sent, queued = _load(knd, "cold-00001", route_host("cold"))
    assert max(queued, default=0) > 0, "no request ever waited: %r" % queued
    ports = instance_ports(knd)
    assert 1 <= len(ports) <= INSTANCES, ports
    _, text = _check_counts(knd, "cold-00001", ports, sent)
    cold = _one(_series(text, "knd_revision_cold_starts_total", "cold-00001"))
    assert 1 <= cold <= sent, cold
