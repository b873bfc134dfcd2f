"""Where the browser finds a Netron view: its URL (with the view's token), the Host names the
server accepts, and the note shown when the page does not report back that it loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from ..config import get_settings
from ..errors import ConfigError

HOST = "127.0.0.1"

#: environment signs that the browser may not be on the kernel's machine (no proxy found)
_REMOTE_SIGNS = {
    "SSH_CONNECTION": "the kernel runs in an SSH session",
    "KUBERNETES_SERVICE_HOST": "the kernel runs in a Kubernetes pod",
    "BINDER_SERVICE_HOST": "the kernel runs on Binder",
}


def view_url(port: int, version: str = "", token: str = "") -> tuple[str, str]:
    """Return the URL the browser should load for a server on ``port``, and a note or "".

    Order: the ``netron_url`` setting (a template with ``{port}``, optionally ``{base_url}``
    and ``{token}``); the JupyterHub/Binder proxy (``JUPYTERHUB_SERVICE_PREFIX``);
    jupyter-server-proxy on a plain Jupyter server; else ``http://127.0.0.1:{port}/``. The
    view's token is the first path segment after that base (it travels through every proxy).
    The note says what to do if the page does not load; it is shown only then.
    """
    query = f"?v={version}" if version else ""
    template = get_settings().netron_url
    if template:
        try:
            hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
            base_url = _slash(hub) if hub else _jupyter_base_url() or "/"
            url = template.format(port=port, base_url=base_url, token=token)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"netron_url {template!r} is not a valid template ({exc}).",
                hint="use {port} and optionally {base_url} and {token}, e.g. "
                "%config TrtMagic.netron_url = '{base_url}proxy/{port}/'",
            ) from None
        if "{token}" not in template:
            url = _with_token(url, token)
        return url + query, ""
    hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if hub:
        note = "" if _has_server_proxy() else _proxy_note(port, hub)
        return _with_token(f"{_slash(hub)}proxy/{port}/", token) + query, note
    base_url = _jupyter_base_url()
    if base_url and _has_server_proxy():
        return _with_token(f"{base_url}proxy/{port}/", token) + query, ""
    return _with_token(f"http://{HOST}:{port}/", token) + query, _remote_note(port)


def allowed_hosts(url: str, port: int) -> tuple[frozenset[str], str | None]:
    """The Host headers a view's server accepts, and the proxy context path it accepts instead.

    Always the loopback name the server was opened with (``127.0.0.1:port``); for an absolute
    URL also its own host (``netron_url`` pointing at a tunnel or ``localhost``). A relative URL
    goes through jupyter-server-proxy, which forwards the browser's Host (the Jupyter server's
    public name, unknown here) and states the path it proxies from in ``X-Forwarded-Context``:
    that path (e.g. ``/user/alice/proxy/4321``) is returned as the second value.
    """
    hosts = {f"{HOST}:{port}"}
    parts = urlsplit(url)
    if parts.netloc:
        hosts.add(parts.netloc.lower())
        if parts.port is None:  # a browser omits the default port of its scheme
            default = {"http": 80, "https": 443}.get(parts.scheme)
            hosts.add(f"{parts.hostname}:{default}" if default else parts.netloc.lower())
        return frozenset(hosts), None
    path = parts.path.rstrip("/")
    context = path.rsplit("/", 1)[0] if "/" in path else None  # drop the token segment
    return frozenset(hosts), context or None


def _with_token(base: str, token: str) -> str:
    return _slash(base) + f"{token}/" if token else base


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


def blank_note(port: int) -> str:
    """The note for a view that did not report back, when no specific cause is known."""
    return (
        f"The Netron page did not report that it loaded: the browser may not reach {HOST}:{port} "
        "on the kernel's machine. Open the link above in a new tab; if the kernel is remote, "
        "pip install jupyter-server-proxy and restart Jupyter, forward the port "
        f"(ssh -L {port}:{HOST}:{port} HOST), or set %config TrtMagic.netron_url."
    )
