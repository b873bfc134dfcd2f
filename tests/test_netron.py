"""Netron views: loopback binding, reuse/reload, stop (one, all, at exit), proxied URLs, HTML."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from trt_magic import config
from trt_magic import netron as views
from trt_magic.errors import ConfigError, UsageError


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """Fresh settings and a plain environment (no hub, no proxy signs); stop every view."""
    for var in ("JUPYTERHUB_SERVICE_PREFIX", "JPY_PARENT_PID", "TRT_MAGIC_NETRON_URL"):
        monkeypatch.delenv(var, raising=False)
    for var in views._REMOTE_SIGNS:
        monkeypatch.delenv(var, raising=False)
    config.use_settings(None)
    yield
    views.netron_stop()
    config.use_settings(None)


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"first version")
    return path


def fetch(port: int, path: str = "/") -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return answer.read()


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def port_closed(port: int, wait_s: float = 10.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return True
        time.sleep(0.1)
    return False


def outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 9))
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux /proc/net/tcp")
def test_server_listens_on_loopback_only(model):
    view = views.netron_view(model)
    assert view.url == f"http://127.0.0.1:{view.port}/?v={view.version}"
    assert listening_addresses(view.port) == ["0100007F"]  # 127.0.0.1, nothing else
    assert b"<title>Netron</title>" in fetch(view.port)
    other = outward_address()
    if other is not None:
        with pytest.raises(OSError):
            socket.create_connection((other, view.port), timeout=2).close()


def test_reuse_and_reload(model, tmp_path):
    first = views.netron_view(model)
    assert first.status == "started"
    again = views.netron_view(str(model))
    assert (again.status, again.port, again.url) == ("reused", first.port, first.url)

    os.utime(model, ns=(time.time_ns() + 10**9,) * 2)  # touched, same bytes: same version
    touched = views.netron_view(model)
    assert (touched.status, touched.version) == ("reused", first.version)

    model.write_bytes(b"second version, longer")
    reloaded = views.netron_view(model)
    assert reloaded.status == "reloaded" and reloaded.port == first.port
    assert reloaded.version != first.version and reloaded.url != first.url
    assert fetch(first.port, "/data/model.onnx") == b"second version, longer"


def test_two_files_are_served_by_two_servers(model, tmp_path):
    # netron keeps the served file in a class attribute: one process per file avoids mixing
    other = tmp_path / "sub" / "other.onnx"
    other.parent.mkdir()
    other.write_bytes(b"the other model")
    a, b = views.netron_view(model), views.netron_view(other)
    assert a.port != b.port
    assert fetch(a.port, "/data/model.onnx") == b"first version"
    assert fetch(b.port, "/data/other.onnx") == b"the other model"
    assert b'content="/data/other.onnx"' in fetch(b.port)


def test_stop_one_then_all(model, tmp_path):
    other = tmp_path / "other.onnx"
    other.write_bytes(b"x")
    a, b = views.netron_view(model), views.netron_view(other)
    assert views.netron_stop(model) == [model.resolve()]
    assert port_closed(a.port) and not a.alive
    assert b.alive and fetch(b.port, "/data/other.onnx") == b"x"
    assert views.netron_stop() == [other.resolve()]
    assert port_closed(b.port)
    assert views.netron_stop() == []
    restarted = views.netron_view(model)
    assert restarted.status == "started" and restarted.alive


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_servers_stop_when_the_interpreter_ends(model, how):
    code = textwrap.dedent(
        f"""
        import sys, trt_magic
        view = trt_magic.netron_view({str(model)!r})
        print(view.port, flush=True)
        sys.stdin.readline()  # the test has checked the view: exit normally
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=model.parent,
    )
    port = int(child.stdout.readline())
    assert fetch(port, "/data/model.onnx") == b"first version"
    if how == "sigkill":  # no atexit: the netron child sees its stdin close and stops
        child.send_signal(signal.SIGKILL)
    child.communicate("done\n", timeout=30)
    assert port_closed(port), f"port {port} still open after the kernel ended ({how})"


def test_proxied_url_under_jupyterhub(model, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice")
    monkeypatch.setattr(views, "_has_server_proxy", lambda: True)
    view = views.netron_view(model)
    assert view.url == f"/user/alice/proxy/{view.port}/?v={view.version}"
    assert view.note == ""
    assert f'src="/user/alice/proxy/{view.port}/' in view._repr_html_()


def test_hub_without_server_proxy_says_how_to_fix(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")
    monkeypatch.setattr(views, "_has_server_proxy", lambda: False)
    url, note = views.view_url(4321)
    assert url == "/user/bob/proxy/4321/"
    assert "pip install jupyter-server-proxy" in note and "netron_url" in note


def test_server_proxy_on_a_plain_jupyter_server(monkeypatch, tmp_path):
    monkeypatch.setenv("JPY_PARENT_PID", "4242")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "jpserver-4242.json").write_text(json.dumps({"base_url": "/lab-base/"}))
    monkeypatch.setattr(views, "_has_server_proxy", lambda: True)
    assert views.view_url(5000, "abc") == ("/lab-base/proxy/5000/?v=abc", "")
    monkeypatch.setattr(views, "_has_server_proxy", lambda: False)
    assert views.view_url(5000)[0] == "http://127.0.0.1:5000/"


def test_url_template_setting_wins(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    settings = config.Settings(netron_url="https://gpu-box.example/tunnel/{port}/")
    config.use_settings(settings)
    assert views.view_url(7000, "v1") == ("https://gpu-box.example/tunnel/7000/?v=v1", "")
    settings.netron_url = "{base_url}proxy/{port}/"
    assert views.view_url(7000)[0] == "/user/alice/proxy/7000/"
    with pytest.raises(ConfigError, match="netron_url"):  # refused when set (config.py)
        settings.netron_url = "https://x/{prot}/"


def test_env_template(monkeypatch):
    monkeypatch.setenv("TRT_MAGIC_NETRON_URL", "https://h.example/p/{port}/")
    assert views.view_url(1)[0] == "https://h.example/p/1/"


def test_remote_signs_give_a_note(monkeypatch):
    monkeypatch.setattr(views, "_has_server_proxy", lambda: False)
    monkeypatch.setattr(views.Path, "exists", lambda self: False)  # not in a container
    assert views.view_url(6006) == ("http://127.0.0.1:6006/", "")
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    url, note = views.view_url(6006)
    assert url == "http://127.0.0.1:6006/"
    assert "SSH session" in note and "ssh -L 6006:127.0.0.1:6006" in note


def test_html_has_iframe_link_and_saved_copy_note(tmp_path):
    path = tmp_path / "a&b <v2>.onnx"
    path.write_bytes(b"m")
    view = views.netron_view(path, height=321)
    page = view._repr_html_()
    assert f'<iframe src="{view.url}" width="100%" height="321"' in page
    assert f'<a href="{view.url}" target="_blank">open in a new tab</a>' in page
    assert "a&amp;b &lt;v2&gt;.onnx" in page and "<v2>" not in page
    assert "not running now" in page and "netron.app" in page
    assert repr(view).startswith("NetronView(")
    ids = re.findall(r'<div id="(trt-magic-netron-\w+)"', page + view._repr_html_())
    assert len(set(ids)) == 2  # shown twice in one notebook: each script finds its own view


def test_bad_input_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        views.netron_view(tmp_path / "missing.onnx")
    with pytest.raises(UsageError, match="is a folder"):
        views.netron_view(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"m")
    with pytest.raises(UsageError, match="height"):
        views.netron_view(tmp_path / "m.onnx", height=0)
    with pytest.raises(UsageError, match="file path"):
        views.netron_view(42)


def test_object_with_a_path_attribute(model):
    class ExportLike:
        path = model

    assert views.netron_view(ExportLike()).path == model.resolve()


def test_magic(ipython_shell, model):
    ip = ipython_shell
    view = ip.run_line_magic("netron", f"{model} --height 250")
    assert isinstance(view, views.NetronView) and view.height == 250
    ip.user_ns["exported"] = str(model)
    assert ip.run_line_magic("netron", "exported").port == view.port
    assert ip.run_line_magic("netron", "exported --stop") == [model.resolve()]
    assert port_closed(view.port)


def test_a_dead_server_is_replaced(model):
    first = views.netron_view(model)
    views._servers[str(model.resolve())].process.kill()
    assert port_closed(first.port)
    second = views.netron_view(model)
    assert second.status == "started" and second.alive
    assert fetch(second.port, "/data/model.onnx") == b"first version"


def test_netron_missing_names_the_extra(model, monkeypatch):
    from trt_magic.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "netron", None)  # import netron -> ImportError
    with pytest.raises(MissingDependency, match="netron") as info:
        views.netron_view(model)
    assert "trt_magic[netron]" in info.value.hint


def test_server_that_fails_to_start_is_reported(model, monkeypatch):
    from trt_magic.errors import RunnerError

    monkeypatch.setattr(views, "_CHILD_CODE", "import sys; sys.exit('no port for you')")
    with pytest.raises(RunnerError, match="did not start") as info:
        views.netron_view(model)
    assert "no port for you" in info.value.detail
    assert views._servers == {}


def test_config_magic_sets_the_url_template(ipython_shell, model):
    ip = ipython_shell
    ip.run_line_magic("config", "TrtMagic.netron_url = 'https://lab.example/ports/{port}/'")
    view = ip.run_line_magic("netron", str(model))
    assert view.url == f"https://lab.example/ports/{view.port}/?v={view.version}"
    assert view.note == ""
