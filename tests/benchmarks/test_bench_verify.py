"""`/verify/<code>` throughput as a ratio to a bare Flask endpoint served the same way (`make bench`).

Both apps are served by the same server in the same run (werkzeug's threaded WSGI server on a loopback
port, HTTP/1.1 keep-alive, TCP_NODELAY as gunicorn sets it) and requested by the same client (one
http.client keep-alive connection, sequential), so the ratio compares what the page costs beyond any
Flask response: the app's request hooks, the code check, one database statement (the definer function,
after the pool's pre-ping), the status rules and the template. Aim: ≥ 60 %. Printed and kept in
extra_info; never asserted (timings are not tests).

Harness notes: without TCP_NODELAY werkzeug's two writes per response (headers, then body) meet Nagle's
algorithm and the client's delayed ACK, which capped even the bare endpoint at a few hundred requests a
second; a requests session costs about a millisecond per call of client-side Python. Both diluted the
ratio with time that is neither app's.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.verify.test_verify import _certified

REQUESTS = 2000


class _KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args, **kwargs):  # quiet
        pass


@contextmanager
def _served(wsgi_app):
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_KeepAlive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _client(url: str):
    """A GET of `url` on one keep-alive connection: returns the status."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)

    def get() -> int:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        response.read()
        return response.status

    return get


def _throughput(url: str) -> float:
    """Requests per second of one sequential keep-alive client (after a warm-up)."""
    get = _client(url)
    for _ in range(50):
        assert get() == 200
    started = time.perf_counter()
    for _ in range(REQUESTS):
        get()
    return REQUESTS / (time.perf_counter() - started)


def test_verify_throughput_against_bare_flask(benchmark, app, tenants):
    _p, _q, _c, code = _certified(app, tenants["bac-giang"])
    bare = Flask("bare")
    bare.add_url_rule("/", "bare", lambda: "ok")
    with _served(bare) as bare_base, _served(app) as app_base:
        bare_rps = _throughput(bare_base + "/")
        verify_rps = _throughput(f"{app_base}/verify/{code}")
        assert benchmark.pedantic(_client(f"{app_base}/verify/{code}"), rounds=200, iterations=1) == 200
    ratio = verify_rps / bare_rps
    info = {"bare_rps": round(bare_rps), "verify_rps": round(verify_rps), "verify_to_bare": f"{ratio:.0%}"}
    benchmark.extra_info.update(info)
    print(f"\n/verify/<code>: {info}")
