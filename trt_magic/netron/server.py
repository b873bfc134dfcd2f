"""The loopback server of one Netron view: a thread of the kernel, one port, one token.

Every answer but a 403 needs the view's token as the first path segment (``/<token>/...``) and
an accepted Host header (:func:`trt_magic.netron.urls.allowed_hosts`: a page from another name
that resolves to 127.0.0.1, DNS rebinding, gets 403). Under the token it serves Netron's page
(:mod:`.page`), Netron's packaged static files, the model under ``data/<file name>`` and the
external-data files the model names (:mod:`.external`), nothing else of the model's folder.
The page POSTs ``loaded`` when it runs; :attr:`ViewServer.loaded` counts those reports.
"""

from __future__ import annotations

import hmac
import http.server
import os
import re
import secrets
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import page as pages
from .external import external_locations, resolve_inside

HOST = "127.0.0.1"

#: Netron's static files we serve (by extension), as netron/server.py maps them
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_FORBIDDEN = (
    b"403 Forbidden: this Netron view needs its own URL (with its token), as the notebook shows it."
)


class ViewServer:
    """Serve one model file and Netron's page on ``127.0.0.1:<free port>`` in a daemon thread."""

    def __init__(self, model: Path, static: Path, netron_version: str):
        self.model = model
        self.static = static
        self.netron_version = netron_version
        self.token = secrets.token_urlsafe(24)  # 192 bits, URL-safe: one path segment
        self.hosts: frozenset[str] = frozenset()
        self.proxy_context: str | None = None
        self.loaded = 0
        self._page: bytes | None = None
        self._locations: tuple[tuple[int, int], frozenset[str]] | None = None
        self._httpd = _HTTPServer((HOST, 0), _Handler)
        self._httpd.view = self
        self.port: int = self._httpd.server_address[1]
        self.hosts = frozenset({f"{HOST}:{self.port}"})
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"trt_magic netron :{self.port}",
            daemon=True,  # ends with the kernel even without netron_stop
        )
        self._thread.start()

    def accept(self, hosts: frozenset[str], proxy_context: str | None) -> None:
        """Set the Host names (and the jupyter-server-proxy context path) to accept."""
        self.hosts = frozenset(h.lower() for h in hosts)
        self.proxy_context = proxy_context.rstrip("/") if proxy_context else None

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        self._thread.join(5)

    def page(self) -> bytes:
        if self._page is None:
            index = (self.static / "index.html").read_text(encoding="utf-8")
            self._page = pages.netron_page(index, self.model.name, self.netron_version)
        return self._page

    def data_file(self, name: str) -> Path | None:
        """The file behind ``data/<name>``: the model, or an external-data file it names."""
        if name == self.model.name:
            return self.model if self.model.is_file() else None
        try:
            stat = self.model.stat()
        except OSError:  # the model is gone: so is what it named
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._locations is None or self._locations[0] != stamp:
            self._locations = (stamp, external_locations(self.model))
        if name not in self._locations[1]:
            return None
        return resolve_inside(self.model.parent, name)

    def static_file(self, name: str) -> Path | None:
        if not _STATIC_NAME.match(name) or Path(name).suffix not in _TYPES:
            return None
        path = self.static / name
        return path if path.is_file() else None

    def host_ok(self, host: str | None, context: str | None) -> bool:
        if host is not None and host.lower() in self.hosts:
            return True
        # jupyter-server-proxy keeps the browser's Host and says where it proxies from
        return self.proxy_context is not None and (context or "").rstrip("/") == self.proxy_context

    def token_ok(self, segment: str) -> bool:
        return hmac.compare_digest(segment.encode(), self.token.encode())


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    view: ViewServer

    def __init__(self, *args, **kwargs):
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def close_connections(self) -> None:
        """End the kept-alive connections too: a stopped view serves nothing more."""
        with self.connections_lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a closed tab is no news
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "trt_magic-netron"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive: the page loads ~20 files

    timeout = 120  # an idle kept-alive connection ends (its thread too)

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        view = self.server.view
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 16))
        rest = self._authorized()
        if rest is None:
            return
        if rest != pages.LOADED:
            self._send(404, b"404 Not Found", "text/plain; charset=utf-8")
            return
        view.loaded += 1
        self._send(204, b"", None)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        pass  # a notebook has no place for access logs

    def _authorized(self) -> str | None:
        """The path after ``/<token>/`` if host and token are right; else answer 403 (None)."""
        view = self.server.view
        context = self.headers.get("X-Forwarded-Context") or self.headers.get("X-ProxyContextPath")
        segments = urlsplit(self.path).path.split("/", 2)  # ['', token, rest]
        if (
            not view.host_ok(self.headers.get("Host"), context)
            or len(segments) < 3
            or not view.token_ok(segments[1])
        ):
            self._send(403, _FORBIDDEN, "text/plain; charset=utf-8")
            return None
        return unquote(segments[2])

    def _answer(self, send_body: bool) -> None:
        view = self.server.view
        rest = self._authorized()
        if rest is None:
            return
        if rest in ("", "index.html"):
            self._send(200, view.page(), _TYPES[".html"], send_body=send_body)
            return
        if rest == pages.SHIM_NAME:
            self._send(200, pages.SHIM.encode(), _TYPES[".js"], send_body=send_body)
            return
        if rest.startswith("data/"):
            path, kind = view.data_file(rest[len("data/") :]), "application/octet-stream"
        else:
            path = view.static_file(rest)
            kind = _TYPES.get(Path(rest).suffix, "")
        if path is None:
            self._send(404, b"404 Not Found", "text/plain; charset=utf-8", send_body=send_body)
            return
        self._send_file(path, kind, send_body)

    def _headers(self, status: int, kind: str | None, length: int) -> None:
        self.send_response(status)
        if kind:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", pages.CSP)
        self.send_header("Referrer-Policy", "no-referrer")  # the token stays in this origin
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send(self, status: int, body: bytes, kind: str | None, send_body: bool = True) -> None:
        self._headers(status, kind, len(body))
        if send_body and body:
            self.wfile.write(body)

    def _send_file(self, path: Path, kind: str, send_body: bool) -> None:
        try:
            handle = open(path, "rb")
        except OSError:
            self._send(404, b"404 Not Found", "text/plain; charset=utf-8", send_body=send_body)
            return
        with handle:
            size = os.fstat(handle.fileno()).st_size
            self._headers(200, kind, size)
            if send_body:
                shutil.copyfileobj(handle, self.wfile, 1 << 20)
