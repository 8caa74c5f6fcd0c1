"""Helpers every benchmark script shares: free loopback ports and HTTP over the daemon's unix
socket (the control API)."""
import http.client
import json
import socket


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over <state-dir>/knd.sock."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def api_call(sock_path, method, path, body=None, timeout=30):
    """One control-API call over the unix socket: (status, decoded JSON body or None)."""
    c = UnixHTTPConnection(sock_path, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)
    finally:
        c.close()


def proc_status_kib(pid):
    """The `kB` fields of /proc/<pid>/status (VmRSS, VmHWM, RssAnon, ...), in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.split()
            if len(v) == 2 and v[1] == "kB":
                out[k] = int(v[0])
    return out
