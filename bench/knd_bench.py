"""Helpers every benchmark script shares: free loopback ports and HTTP over the daemon's unix
socket (the control API)."""
import http.client
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
