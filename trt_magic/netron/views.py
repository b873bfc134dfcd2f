"""Netron views: a model file shown inline by Netron's page, served privately by this kernel.

Each file gets its own :class:`~.server.ViewServer` (a thread, a port on 127.0.0.1, a token).
Viewing the same file again reuses it; a changed file keeps the server and gets a new page
version (``?v=``). The servers stop on :func:`netron_stop`, at interpreter exit, and with the
kernel's process in any case (daemon threads).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import get_settings
from ..errors import RunnerError, UsageError, require
from . import frame, urls
from .page import TESTED_NETRON
from .server import ViewServer


@dataclass
class _Entry:
    server: ViewServer
    stamp: tuple[int, int]
    version: str


_views: dict[str, _Entry] = {}
_lock = threading.Lock()
_atexit_registered = False


@dataclass
class NetronView:
    """A Netron view of one model file, served by this kernel; shown as an IFrame."""

    path: Path
    port: int
    url: str
    height: int = 600
    status: str = "started"  #: "started", "reused" or "reloaded"
    version: str = ""
    note: str = ""
    netron_version: str = ""

    @property
    def alive(self) -> bool:
        """Whether the server of this view is still running."""
        entry = _views.get(str(self.path))
        return entry is not None and entry.server.port == self.port and entry.server.alive()

    @property
    def loaded(self) -> int:
        """How many times a browser reported that this view's page loaded."""
        entry = _views.get(str(self.path))
        return entry.server.loaded if entry is not None and entry.server.port == self.port else 0

    def stop(self) -> None:
        """Stop the server of this view (other views keep theirs)."""
        netron_stop(self.path)

    def __repr__(self) -> str:
        return f"NetronView({self.path.name!r}, url={self.url!r}, status={self.status!r})"

    def _repr_html_(self) -> str:
        return frame.view_html(self)


def netron_view(path: Any, height: int = 600) -> NetronView:
    """Show a model file in Netron inline, starting (or reusing) its server on 127.0.0.1.

    Nothing leaves the machine: the page is Netron's own, without telemetry or consent dialog,
    under a Content-Security-Policy that allows only its own origin. The page and the model
    are served only under the view's unguessable URL.

    Args:
        path: the model file (``.onnx`` and whatever else Netron opens), or an object with
            a ``.path`` such as an ``ExportResult``.
        height: height of the view in pixels.

    Raises:
        UsageError: the file does not exist or ``height`` is not positive.
        MissingDependency: the ``netron`` package is not installed.
        RunnerError: the view's server could not start.
    """
    file = _resolve_model(path)
    if not isinstance(height, int) or isinstance(height, bool) or height <= 0:
        raise UsageError(f"height must be a positive number of pixels, not {height!r}.")
    netron = require("netron", "netron", "Netron views")
    with _lock:
        entry, status = _serve(file, netron)
        url, note = urls.view_url(entry.server.port, entry.version, entry.server.token)
        entry.server.accept(*urls.allowed_hosts(url, entry.server.port))
    return NetronView(
        path=file,
        port=entry.server.port,
        url=url,
        height=height,
        status=status,
        version=entry.version,
        note=note,
        netron_version=entry.server.netron_version,
    )


def netron_stop(path: Any = None) -> list[Path]:
    """Stop the Netron server of ``path``, or all of them; return the files no longer served."""
    with _lock:
        if path is None:
            keys = list(_views)
        else:
            key = str(_resolve_path(path))
            keys = [key] if key in _views else []
        stopped = [_views.pop(key) for key in keys]
    for entry in stopped:
        entry.server.stop()
    return [entry.server.model for entry in stopped]


def _resolve_path(path: Any) -> Path:
    path = getattr(path, "path", path)
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(
            f"netron_view needs a file path, not a {type(path).__name__}.",
            hint="pass the .onnx path, e.g. netron_view('model.onnx')",
        )
    return get_settings().resolve_path(path).resolve()


def _resolve_model(path: Any) -> Path:
    file = _resolve_path(path)
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise UsageError(
            f"{file} {what}.", hint="pass the model file, e.g. the path %%onnx_export wrote"
        )
    return file


def _serve(file: Path, netron) -> tuple[_Entry, str]:
    """The live entry of ``file`` (new, reused, or reused with a new version), and its status."""
    entry = _views.get(str(file))
    if entry is not None and entry.server.alive():
        stamp = _stamp(file)
        if stamp == entry.stamp:
            return entry, "reused"
        entry.stamp = stamp
        version = _digest(file)
        if version == entry.version:
            return entry, "reused"
        entry.version = version
        return entry, "reloaded"
    if entry is not None:  # its thread died: start afresh
        _views.pop(str(file)).server.stop()
    entry = _Entry(_start(file, netron), _stamp(file), _digest(file))
    _views[str(file)] = entry
    return entry, "started"


def _start(file: Path, netron) -> ViewServer:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(netron_stop)
        _atexit_registered = True
    static = Path(netron.__file__).parent
    version = getattr(netron, "__version__", "")
    try:
        server = ViewServer(file, static, version)
    except OSError as exc:
        raise RunnerError(
            f"The Netron view of {file.name} could not start: {exc.strerror or exc}.",
            hint="check that 127.0.0.1 is usable in this kernel (a loopback interface)",
            detail=str(exc),
        ) from exc
    try:
        server.page()  # Netron's page as this view serves it: fail here, not in the browser
    except (OSError, ValueError) as exc:
        server.stop()
        raise RunnerError(
            f"Netron {version or '(unknown version)'} has a page trt_magic cannot serve privately.",
            hint=f"pip install 'netron=={TESTED_NETRON}' (the version trt_magic was tested with)",
            detail=str(exc),
        ) from exc
    return server


def _stamp(file: Path) -> tuple[int, int]:
    stat = file.stat()
    return stat.st_mtime_ns, stat.st_size


def _digest(file: Path) -> str:
    """A short content hash: the view's version (a touched but unchanged file keeps it)."""
    sha = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]
