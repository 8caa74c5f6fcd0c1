#!/usr/bin/env python3
"""fuzz/make_ingress_seeds.py DIR - writes fuzz_ingress's seed inputs into DIR.

Each seed is a flags byte and data (see fuzz/fuzz_ingress.c): requests a client sends through
the ingress, and responses the raw instance gives to one of four fixed requests. They cover the
paths worth mutating: pipelining, bodies (length and chunked), Expect, upgrades, tags, hop-by-hop
and forwarding headers, interim and bodiless responses, and framing conflicts.
"""
import os
import sys

HALF_CLOSE, RAW_CLOSES, TAGS = 0x08, 0x10, 0x20
ECHO, CC1, SPLIT = "echo.default.example.com", "cc1.default.example.com", \
    "split.default.example.com"


def req(line, host, *headers, body=b""):
    head = "%s\r\nHost: %s\r\n%s\r\n" % (line, host, "".join(h + "\r\n" for h in headers))
    return head.encode() + body


CLIENT = [
    (0, req("GET / HTTP/1.1", ECHO)),
    (0x40, req("GET /a?b=c HTTP/1.1", ECHO) * 2 + req("GET / HTTP/1.1", CC1) * 2),
    (0, req("POST /p HTTP/1.1", ECHO, "Transfer-Encoding: chunked",
            body=b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: v\r\n\r\n")),
    (0xc0, req("PUT /p HTTP/1.1", CC1, "Content-Length: 11", body=b"hello world")),
    (0x40, req("POST / HTTP/1.1", ECHO, "Expect: 100-continue", "Content-Length: 4",
               body=b"data")),
    (TAGS, req("GET / HTTP/1.1", SPLIT, "Knative-Serving-Tag: b")),
    (TAGS, req("GET / HTTP/1.1", SPLIT, "Knative-Serving-Tag: nope")),
    (0, req("GET / HTTP/1.1", "a-split.default.example.com:8080")),
    (0, req("GET http://ECHO.default.example.com/x HTTP/1.1", "other.example")),
    (0, req("GET / HTTP/1.0", ECHO, "Connection: keep-alive") + req("GET / HTTP/1.0", ECHO)),
    (0, req("GET / HTTP/1.1", "nowhere.example.com")),
    (HALF_CLOSE, req("GET /ws HTTP/1.1", ECHO, "Connection: Upgrade", "Upgrade: websocket",
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")),
    (0, req("GET / HTTP/1.1", ECHO, "X-Forwarded-For: 10.0.0.1, 10.0.0.2",
            "X-Forwarded-Proto: https", "Forwarded: for=\"[2001:db8::1]\";proto=https",
            "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")),
    (0, req("GET / HTTP/1.1", ECHO, "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-"
            "05e3ac9a4f6e3b90")),
    (0, req("GET / HTTP/1.1", CC1, "X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124",
            "X-B3-SpanId: a2fb4a1d1a96d312", "X-B3-Sampled: 1", "X-B3-Flags: 1")),
    (0, req("GET /\"\\\x01\xff HTTP/1.1", ECHO, "User-Agent: \"quoted\" \\ \x7f",
            "Referer: http://x/\u00e9")),
    (0, req("GET / HTTP/1.1", ECHO, "Connection: close, X-Drop", "X-Drop: 1", "TE: trailers",
            "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive")),
    (0, req("POST / HTTP/1.1", ECHO, "Content-Length: 3", "Transfer-Encoding: chunked",
            body=b"0\r\n\r\n")),
    (0, req("GET / HTTP/1.1", ECHO, "Content-Length: 1", "Content-Length: 2", body=b"ab")),
    (HALF_CLOSE, req("POST / HTTP/1.1", CC1, "Content-Length: 100", body=b"short")),
    (0, b"OPTIONS * HTTP/1.1\r\nHost: " + ECHO.encode() + b"\r\n\r\n"),
    (0, b"CONNECT echo.default.example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost: " + ECHO.encode() + b"\r\nX: " + b"v" * 9000 + b"\r\n\r\n"),
    (0, b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
]

# (which fixed request: 0 GET, 1 HEAD, 2 POST with body, 3 upgrade; extra flags; response)
RAW = [
    (0, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"),
    (0, 0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: T\r\n\r\n"
           b"3\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
    (1, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
    (0, 0, b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"),
    (0, 0, b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    (0, 0, b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
    (2, 0, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    (3, 0, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket"
           b"\r\n\r\npong"),
    (0, RAW_CLOSES, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close"),
    (0, 0, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
    (0, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"),
    (0, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"2\r\nok\r\n0\r\n\r\n"),
    (0, RAW_CLOSES, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
    (0, 0, b"HTTP/1.1 502 Bad\r\nKeep-Alive: timeout=1\r\nProxy-Authenticate: x\r\n"
           b"Content-Length: 0\r\n\r\n"),
    (0, 0, b"garbage\r\n\r\n"),
    (0, RAW_CLOSES, b""),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for flags, data in CLIENT:
        n += 1
        with open(os.path.join(out, "client-%02d" % n), "wb") as f:
            f.write(bytes([flags]) + data)
    for which, flags, data in RAW:
        n += 1
        with open(os.path.join(out, "raw-%02d" % n), "wb") as f:
            f.write(bytes([1 | which << 1 | flags]) + data)
    print("%d seeds in %s" % (n, out))


if __name__ == "__main__":
    main()
