"""Netron views: Netron's own server (the ``netron`` package) for a model file, shown inline.

Each view runs ``netron.serve(file, address=("127.0.0.1", 0))`` in a child Python process, not
in a thread of the kernel: netron keeps the served file in a class attribute that every server
of one process shares (netron/server.py, ``self.server.RequestHandlerClass.content = content``),
so two views in one kernel would both show the last file. The child blocks reading its stdin
and stops when that pipe closes: on :func:`netron_stop`, at interpreter exit (``atexit``), and
also when the kernel dies without running ``atexit`` (the OS closes the pipe).

Netron reads the file from disk on every request, so a changed file needs only a new page: the
view's URL carries the file's version (``?v=``) and the server is reused.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .config import get_settings
from .errors import ConfigError, RunnerError, UsageError, require

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0

#: the child process: serve one file on HOST, print the port, live until stdin closes
_CHILD_CODE = """\
import sys
import netron
host, port = netron.serve(sys.argv[1], address=(sys.argv[2], 0), browse=False)
print(port, flush=True)
try:
    sys.stdin.read()
except KeyboardInterrupt:
    pass
netron.stop()
"""

#: environment signs that the browser may not be on the kernel's machine (no proxy found)
_REMOTE_SIGNS = {
    "SSH_CONNECTION": "the kernel runs in an SSH session",
    "KUBERNETES_SERVICE_HOST": "the kernel runs in a Kubernetes pod",
    "BINDER_SERVICE_HOST": "the kernel runs on Binder",
}


@dataclass
class _Server:
    """One netron child process serving one file."""

    path: Path
    port: int
    process: subprocess.Popen
    stderr: IO[bytes]
    stamp: tuple[int, int]
    version: str

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Close the child's stdin (it stops itself), kill it if it does not."""
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout)
        self.stderr.close()


_servers: dict[str, _Server] = {}
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
        server = _servers.get(str(self.path))
        return server is not None and server.port == self.port and server.alive()

    def stop(self) -> None:
        """Stop the server of this view (other views keep theirs)."""
        netron_stop(self.path)

    def __repr__(self) -> str:
        return f"NetronView({str(self.path)!r}, url={self.url!r}, status={self.status!r})"

    def _repr_html_(self) -> str:
        return _view_html(self)


def netron_view(path: Any, height: int = 600) -> NetronView:
    """Show a model file in Netron inline, starting (or reusing) its server on 127.0.0.1.

    Args:
        path: the model file (``.onnx`` and whatever else Netron opens), or an object with
            a ``.path`` such as an ``ExportResult``.
        height: height of the view in pixels.

    Raises:
        UsageError: the file does not exist or ``height`` is not positive.
        MissingDependency: the ``netron`` package is not installed.
        RunnerError: the Netron server did not start.
    """
    file = _resolve_model(path)
    if not isinstance(height, int) or height <= 0:
        raise UsageError(f"height must be a positive number of pixels, not {height!r}.")
    netron = require("netron", "netron", "Netron views")
    with _lock:
        server, status = _serve(file)
    url, note = view_url(server.port, server.version)
    return NetronView(
        path=file,
        port=server.port,
        url=url,
        height=height,
        status=status,
        version=server.version,
        note=note,
        netron_version=getattr(netron, "__version__", ""),
    )


def netron_stop(path: Any = None) -> list[Path]:
    """Stop the Netron server of ``path``, or all of them; return the files no longer served."""
    with _lock:
        if path is None:
            keys = list(_servers)
        else:
            key = str(_resolve_path(path))
            keys = [key] if key in _servers else []
        stopped = [_servers.pop(key) for key in keys]
    for server in stopped:
        server.stop()
    return [server.path for server in stopped]


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


def _serve(file: Path) -> tuple[_Server, str]:
    """Return the live server of ``file`` (new, reused, or reused with a new version)."""
    server = _servers.get(str(file))
    if server is not None and server.alive():
        stamp = _stamp(file)
        if stamp == server.stamp:
            return server, "reused"
        server.stamp = stamp
        version = _digest(file)
        if version == server.version:
            return server, "reused"
        server.version = version
        return server, "reloaded"
    if server is not None:  # died (killed by hand?): start afresh
        _servers.pop(str(file)).stop()
    server = _start(file)
    _servers[str(file)] = server
    return server, "started"


def _start(file: Path) -> _Server:
    """Start a netron child process for ``file`` and wait for the port it bound."""
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(netron_stop)
        _atexit_registered = True
    stderr = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD_CODE, str(file), HOST],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=str(file.parent),
        start_new_session=True,  # a Ctrl-C in a terminal IPython does not end the views
    )
    port = _read_port(process)
    if port is None:
        process.kill()
        process.wait()
        stderr.seek(0)
        detail = stderr.read().decode("utf-8", "replace")
        stderr.close()
        raise RunnerError(
            f"Netron's server did not start for {file.name}.",
            hint=f"run `{sys.executable} -m netron {file}` in a terminal to see why",
            detail=detail,
        )
    return _Server(file, port, process, stderr, _stamp(file), _digest(file))


def _read_port(process: subprocess.Popen) -> int | None:
    """The port the child prints once it serves, or None (it failed or took too long)."""
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    text = lines[0].decode().strip() if lines else ""
    return int(text) if text.isdigit() else None


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


def view_url(port: int, version: str = "") -> tuple[str, str]:
    """Return the URL the browser should load for a server on ``port``, and a note or "".

    Order: the ``netron_url`` setting (a template with ``{port}`` and ``{base_url}``); the
    JupyterHub/Binder proxy (``JUPYTERHUB_SERVICE_PREFIX``); jupyter-server-proxy on a plain
    Jupyter server; else ``http://127.0.0.1:{port}/``, with a note when the browser is likely
    elsewhere.
    """
    query = f"?v={version}" if version else ""
    template = get_settings().netron_url
    if template:
        try:
            hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
            base_url = _slash(hub) if hub else _jupyter_base_url() or "/"
            url = template.format(port=port, base_url=base_url)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"netron_url {template!r} is not a valid template ({exc}).",
                hint="use {port} and optionally {base_url}, e.g. "
                "%config TrtMagic.netron_url = '{base_url}proxy/{port}/'",
            ) from None
        return url + query, ""
    hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if hub:
        note = "" if _has_server_proxy() else _proxy_note(port, hub)
        return f"{_slash(hub)}proxy/{port}/{query}", note
    base_url = _jupyter_base_url()
    if base_url and _has_server_proxy():
        return f"{base_url}proxy/{port}/{query}", ""
    return f"http://{HOST}:{port}/{query}", _remote_note(port)


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _has_server_proxy() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyter_server_proxy") is not None


def _jupyter_base_url() -> str | None:
    """The base URL of the Jupyter server that started this kernel, or None (no server).

    A kernel gets ``JPY_PARENT_PID`` from its server, which writes ``jpserver-<pid>.json``
    (with ``base_url``) into the Jupyter runtime folder.
    """
    pid = os.environ.get("JPY_PARENT_PID")
    if not pid:
        return None
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        info = json.loads((Path(jupyter_runtime_dir()) / f"jpserver-{pid}.json").read_text())
        return _slash(str(info.get("base_url") or "/"))
    except (ImportError, OSError, ValueError):
        return None


def _proxy_note(port: int, prefix: str) -> str:
    return (
        f"This view goes through the JupyterHub proxy ({_slash(prefix)}proxy/{port}/), which "
        "needs jupyter-server-proxy in the single-user server's environment. If it stays "
        "blank: pip install jupyter-server-proxy there and restart the server, or set "
        "%config TrtMagic.netron_url = 'https://HOST/PATH/{port}/'."
    )


def _remote_note(port: int) -> str:
    reasons = [why for var, why in _REMOTE_SIGNS.items() if os.environ.get(var)]
    if Path("/.dockerenv").exists():
        reasons.append("the kernel runs in a container")
    if not reasons:
        return ""
    return (
        f"The browser must reach {HOST}:{port} on the kernel's machine, and {reasons[0]}. "
        "If the view is blank: pip install jupyter-server-proxy and restart Jupyter (views then "
        f"go through /proxy/{port}/), or forward the port (ssh -L {port}:{HOST}:{port} HOST), "
        "or set %config TrtMagic.netron_url = 'https://HOST/PATH/{port}/'."
    )


def _view_html(view: NetronView) -> str:
    """The IFrame, a link and a note; a script swaps the IFrame for a note when the server is
    not there (a saved notebook or an nbconvert HTML export)."""
    e = html.escape
    name, url, vid = (
        e(view.path.name),
        e(view.url, quote=True),
        f"trt-magic-netron-{uuid.uuid4().hex[:12]}",
    )
    note = f'<div style="color:#8a5300">{e(view.note)}</div>' if view.note else ""
    gone = (
        f"This Netron view of <code>{name}</code> was served live by the kernel; it is not "
        f"running now. Run the cell again, or open <code>{e(str(view.path))}</code> with "
        '<code>netron</code> or at <a href="https://netron.app" target="_blank">netron.app</a>.'
    )
    return f"""<div id="{vid}" class="trt-magic-netron">
<iframe src="{url}" width="100%" height="{int(view.height)}" style="border:1px solid #ccc"
 title="Netron: {name}"></iframe>
<div class="trt-magic-netron-gone" style="display:none;padding:8px;border:1px dashed #aaa">{gone}</div>
<div style="font-size:90%;color:#555">Netron {e(view.netron_version)} · <code>{name}</code>
 · <a href="{url}" target="_blank">open in a new tab</a> · served by this kernel on
 {HOST}:{view.port} ({e(view.status)})</div>{note}
<script>(function () {{
  var root = document.getElementById("{vid}");
  if (!root || !window.fetch) return;
  function gone() {{
    root.querySelector("iframe").style.display = "none";
    root.querySelector(".trt-magic-netron-gone").style.display = "block";
  }}
  // unreachable (saved copy, export): a network error; behind a proxy: an error status
  fetch("{url}", {{mode: "no-cors", cache: "no-store"}}).then(function (r) {{
    if (r.type !== "opaque" && !r.ok) gone();
  }}, gone);
}})();</script>
</div>"""
