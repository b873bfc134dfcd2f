"""Netron views: loopback binding, token and Host checks, reuse/reload, stop (one, all, at exit),
proxied URLs, external data, HTML."""

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
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from trt_magic import config
from trt_magic.errors import ConfigError, UsageError
from trt_magic.netron import server, urls
from trt_magic.netron import views as views


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """Fresh settings and a plain environment (no hub, no proxy signs); stop every view."""
    for var in ("JUPYTERHUB_SERVICE_PREFIX", "JPY_PARENT_PID", "TRT_MAGIC_NETRON_URL"):
        monkeypatch.delenv(var, raising=False)
    for var in urls._REMOTE_SIGNS:
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


def fetch(view, path: str = "", headers: dict | None = None) -> bytes:
    """GET ``path`` under the view's token (its page when empty)."""
    url = f"http://127.0.0.1:{view.port}/{token(view)}/{path}"
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read()


def status(port: int, path: str, headers: dict | None = None, method: str = "GET") -> int:
    """The HTTP status of a request (403 and 404 are answers, not errors, here)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers=headers or {}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def token(view) -> str:
    return views._views[str(view.path)].server.token


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
    assert view.url == f"http://127.0.0.1:{view.port}/{token(view)}/?v={view.version}"
    assert listening_addresses(view.port) == ["0100007F"]  # 127.0.0.1, nothing else
    assert b"<title>Netron</title>" in fetch(view)
    other = outward_address()
    if other is not None:
        with pytest.raises(OSError):
            socket.create_connection((other, view.port), timeout=2).close()


def test_every_view_has_its_own_unguessable_token(model, tmp_path):
    other = tmp_path / "other.onnx"
    other.write_bytes(b"x")
    a, b = views.netron_view(model), views.netron_view(other)
    assert token(a) != token(b) and len(token(a)) >= 32
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token(a))
    assert views.netron_view(model).url == a.url  # reused: the same URL and token


def test_without_the_token_everything_is_403(model):
    view = views.netron_view(model)
    good = token(view)
    wrong = good[:-1] + ("A" if good[-1] != "A" else "B")
    for path in (
        "/",
        "/index.html",
        "/data/model.onnx",
        "/index.js",
        f"/{wrong}/",
        f"/{wrong}/data/model.onnx",
        f"/{good}",  # the token alone is not a path under it
        f"/x/{good}/data/model.onnx",
        f"/{good[:8]}/data/model.onnx",
    ):
        assert status(view.port, path) == 403, path
    assert status(view.port, "/data/model.onnx", method="HEAD") == 403
    assert status(view.port, f"/{wrong}/loaded", method="POST") == 403
    assert status(view.port, f"/{good}/data/model.onnx") == 200
    assert fetch(view, "data/model.onnx") == b"first version"


def test_a_foreign_host_header_is_403(model):
    # DNS rebinding: a page of attacker.example that resolves to 127.0.0.1 sends its own Host
    view = views.netron_view(model)
    path = f"/{token(view)}/data/model.onnx"
    for host in ("attacker.example", f"attacker.example:{view.port}", f"localhost:{view.port}"):
        assert status(view.port, path, {"Host": host}) == 403, host
        assert status(view.port, f"/{token(view)}/", {"Host": host}) == 403, host
    assert status(view.port, path, {"Host": f"127.0.0.1:{view.port}"}) == 200
    # a claimed proxy context does not help a view that is not behind a proxy
    faked = {"Host": "attacker.example", "X-Forwarded-Context": f"/proxy/{view.port}"}
    assert status(view.port, path, faked) == 403


def test_page_names_the_file_not_its_folder(tmp_path):
    folder = tmp_path / "secret-project" / "models"
    folder.mkdir(parents=True)
    path = folder / "resnet 50.onnx"
    path.write_bytes(b"m")
    view = views.netron_view(path)
    page = fetch(view).decode()
    assert str(folder) not in page and "secret-project" not in page
    assert '<meta name="name" content="resnet 50.onnx">' in page
    assert '<meta name="file" content="data/resnet%2050.onnx">' in page
    assert fetch(view, "data/resnet%2050.onnx") == b"m"
    assert str(folder) not in view._repr_html_() and "secret-project" not in repr(view)


def test_answers_carry_a_strict_content_security_policy(model):
    view = views.netron_view(model)
    url = f"http://127.0.0.1:{view.port}/{token(view)}/"
    with urllib.request.urlopen(url, timeout=10) as answer:
        headers = answer.headers
        page = answer.read().decode()
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["script-src"] == "'self'" and "http" not in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "https://" not in re.sub(r"<!--.*?-->", "", page).split("<body")[1].split("href")[0]
    assert not re.search(r'href="https?://', page)  # Netron's links out are gone
    assert '<script type="module" src="trt-magic-netron.js"></script>' in page
    assert '<meta name="date"' not in page  # no build date: no "please update" dialog


def test_static_files_only_from_netron_and_only_plain_names(model):
    view = views.netron_view(model)
    base = f"/{token(view)}"
    assert b"window.exports" in fetch(view, "index.js")
    shim = fetch(view, "trt-magic-netron.js")
    assert b"host.view = async function" in shim and b"document.cookie" not in shim
    for path in ("/../server.py", "/server.py", "/__init__.py", "/%2e%2e/%2e%2e/etc/passwd"):
        assert status(view.port, base + path) == 404, path
    assert status(view.port, base + "/data/other.onnx") == 404


def test_a_second_user_without_the_token_cannot_get_the_model(model):
    """Another local user (nobody, when the tests run as root) or at least another process."""
    model.chmod(0o600)
    view = views.netron_view(model)
    code = textwrap.dedent(
        f"""
        import urllib.error, urllib.request
        codes = []
        for path in ("/", "/data/model.onnx", "/index.html", "/loaded", "/model.onnx"):
            try:
                urllib.request.urlopen("http://127.0.0.1:{view.port}" + path, timeout=10)
                codes.append(200)
            except urllib.error.HTTPError as error:
                codes.append(error.code)
        try:
            open({str(model)!r}, "rb").read()
            codes.append("read")
        except OSError:
            codes.append("denied")
        print(codes)
        """
    )
    as_root = os.geteuid() == 0 and Path("/usr/bin/python3").exists()
    other = {"user": 65534, "group": 65534, "extra_groups": []} if as_root else {}
    python = "/usr/bin/python3" if as_root else sys.executable  # the venv may be root's only
    child = subprocess.run(
        [python, "-I", "-c", code], capture_output=True, text=True, timeout=60, cwd="/", **other
    )
    assert child.returncode == 0, child.stderr
    expected = "denied" if as_root else "read"
    assert child.stdout.strip() == f"[403, 403, 403, 403, 403, {expected!r}]"


def test_the_page_reports_that_it_loaded(model):
    view = views.netron_view(model)
    assert view.loaded == 0
    assert status(view.port, f"/{token(view)}/loaded", method="POST") == 204
    assert view.loaded == 1
    assert status(view.port, f"/{token(view)}/elsewhere", method="POST") == 404


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
    assert token(reloaded) in reloaded.url and token(reloaded) in first.url
    assert fetch(first, "data/model.onnx") == b"second version, longer"


def test_two_files_are_served_by_two_servers(model, tmp_path):
    other = tmp_path / "sub" / "other.onnx"
    other.parent.mkdir()
    other.write_bytes(b"the other model")
    a, b = views.netron_view(model), views.netron_view(other)
    assert a.port != b.port
    assert fetch(a, "data/model.onnx") == b"first version"
    assert fetch(b, "data/other.onnx") == b"the other model"
    assert b'content="data/other.onnx"' in fetch(b)
    assert status(b.port, f"/{token(b)}/data/model.onnx") == 404  # each view, its own file
    assert status(a.port, f"/{token(b)}/data/other.onnx") == 403  # each server, its own token


def test_stop_one_then_all(model, tmp_path):
    other = tmp_path / "other.onnx"
    other.write_bytes(b"x")
    a, b = views.netron_view(model), views.netron_view(other)
    assert views.netron_stop(model) == [model.resolve()]
    assert port_closed(a.port) and not a.alive
    assert b.alive and fetch(b, "data/other.onnx") == b"x"
    assert views.netron_stop() == [other.resolve()]
    assert port_closed(b.port)
    assert views.netron_stop() == []
    restarted = views.netron_view(model)
    assert restarted.status == "started" and restarted.alive
    assert restarted.url != a.url  # a new server, a new token


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_servers_stop_when_the_interpreter_ends(model, how):
    code = textwrap.dedent(
        f"""
        import sys, trt_magic
        view = trt_magic.netron_view({str(model)!r})
        print(view.url, flush=True)
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
    url = child.stdout.readline().strip().split("?")[0]
    port = int(url.split(":")[2].split("/")[0])
    with urllib.request.urlopen(url + "data/model.onnx", timeout=10) as answer:
        assert answer.read() == b"first version"
    if how == "sigkill":  # no atexit: the server's threads end with the process
        child.send_signal(signal.SIGKILL)
    child.communicate("done\n", timeout=30)
    assert port_closed(port), f"port {port} still open after the kernel ended ({how})"


# ---- URLs and proxies ---------------------------------------------------------------------------


def test_proxied_url_under_jupyterhub(model, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice")
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: True)
    view = views.netron_view(model)
    assert view.url == f"/user/alice/proxy/{view.port}/{token(view)}/?v={view.version}"
    assert view.note == ""
    assert f'src="/user/alice/proxy/{view.port}/{token(view)}/' in view._repr_html_()


def test_behind_jupyter_server_proxy_the_token_is_still_needed(model, monkeypatch):
    # jupyter-server-proxy forwards the browser's Host (the hub's name) and says where it
    # proxies from (handlers.py: X-Forwarded-Context = {base_url}proxy/{port})
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: True)
    view = views.netron_view(model)
    proxied = {"Host": "hub.example.org", "X-Forwarded-Context": f"/user/alice/proxy/{view.port}"}
    assert status(view.port, f"/{token(view)}/data/model.onnx", proxied) == 200
    assert status(view.port, "/data/model.onnx", proxied) == 403
    assert status(view.port, f"/{token(view)[:-2]}/", proxied) == 403
    other = {**proxied, "X-Forwarded-Context": f"/user/mallory/proxy/{view.port}"}
    assert status(view.port, f"/{token(view)}/", other) == 403
    assert status(view.port, f"/{token(view)}/", {"Host": "hub.example.org"}) == 403


def test_hub_without_server_proxy_says_how_to_fix(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: False)
    url, note = urls.view_url(4321, token="t0k")
    assert url == "/user/bob/proxy/4321/t0k/"
    assert "pip install jupyter-server-proxy" in note and "netron_url" in note


def test_server_proxy_on_a_plain_jupyter_server(monkeypatch, tmp_path):
    monkeypatch.setenv("JPY_PARENT_PID", "4242")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "jpserver-4242.json").write_text(json.dumps({"base_url": "/lab-base/"}))
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: True)
    assert urls.view_url(5000, "abc", "tk") == ("/lab-base/proxy/5000/tk/?v=abc", "")
    assert urls.allowed_hosts("/lab-base/proxy/5000/tk/?v=abc", 5000) == (
        frozenset({"127.0.0.1:5000"}),
        "/lab-base/proxy/5000",
    )
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: False)
    assert urls.view_url(5000)[0] == "http://127.0.0.1:5000/"


def test_url_template_setting_wins(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    settings = config.Settings(netron_url="https://gpu-box.example/tunnel/{port}/")
    config.use_settings(settings)
    assert urls.view_url(7000, "v1", "tk") == (
        "https://gpu-box.example/tunnel/7000/tk/?v=v1",
        "",
    )
    settings.netron_url = "{base_url}proxy/{port}/"
    assert urls.view_url(7000, token="tk")[0] == "/user/alice/proxy/7000/tk/"
    settings.netron_url = "https://tunnel.example/{token}/p{port}"
    assert urls.view_url(7000, token="tk")[0] == "https://tunnel.example/tk/p7000"
    with pytest.raises(ConfigError, match="netron_url"):  # refused when set (config.py)
        settings.netron_url = "https://x/{prot}/"


def test_a_tunnel_host_from_the_template_is_accepted(model, monkeypatch):
    monkeypatch.setenv("TRT_MAGIC_NETRON_URL", "https://gpu-box.example/tunnel/{port}/")
    view = views.netron_view(model)
    path = f"/{token(view)}/data/model.onnx"
    assert view.url.startswith(f"https://gpu-box.example/tunnel/{view.port}/{token(view)}/")
    assert status(view.port, path, {"Host": "gpu-box.example"}) == 200
    assert status(view.port, path, {"Host": f"127.0.0.1:{view.port}"}) == 200
    assert status(view.port, path, {"Host": "attacker.example"}) == 403


def test_env_template(monkeypatch):
    monkeypatch.setenv("TRT_MAGIC_NETRON_URL", "https://h.example/p/{port}/")
    assert urls.view_url(1)[0] == "https://h.example/p/1/"


def test_remote_signs_give_a_note(monkeypatch):
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: False)
    monkeypatch.setattr(urls.Path, "exists", lambda self: False)  # not in a container
    assert urls.view_url(6006) == ("http://127.0.0.1:6006/", "")
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    url, note = urls.view_url(6006)
    assert url == "http://127.0.0.1:6006/"
    assert "SSH session" in note and "ssh -L 6006:127.0.0.1:6006" in note


# ---- the notebook's HTML ------------------------------------------------------------------------


def test_html_has_iframe_link_and_saved_copy_note(tmp_path):
    path = tmp_path / "a&b <v2>.onnx"
    path.write_bytes(b"m")
    view = views.netron_view(path, height=321)
    page = view._repr_html_()
    url = view.url.replace("&", "&amp;")
    assert f'<iframe src="{url}" width="100%" height="321"' in page
    assert (
        f'<a href="{url}" target="_blank" rel="noopener noreferrer">open in a new tab</a>' in page
    )
    assert "a&amp;b &lt;v2&gt;.onnx" in page and "<v2>" not in page
    assert "not running now" in page
    assert repr(view).startswith("NetronView(")
    ids = re.findall(r'<div id="(trt-magic-netron-\w+)"', page + view._repr_html_())
    assert len(set(ids)) == 2  # shown twice in one notebook: each script finds its own view


def test_the_may_be_blank_note_is_hidden_until_the_page_fails_to_report(model, monkeypatch):
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: False)
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    view = views.netron_view(model)
    page = view._repr_html_()
    assert "SSH session" in view.note
    hidden = re.search(
        r'<div class="trt-magic-netron-note" style="display:none[^"]*">(.*?)</div>', page
    )
    assert hidden and "SSH session" in hidden.group(1)
    assert "trtMagicNetron" in page and "event.source === frame.contentWindow" in page
    monkeypatch.delenv("SSH_CONNECTION")
    monkeypatch.setattr(urls.Path, "exists", lambda self: False)  # not in a container
    plain = views.netron_view(model)._repr_html_()  # no known cause: a generic note, hidden too
    assert re.search(
        r'class="trt-magic-netron-note" style="display:none[^"]*">The Netron page', plain
    )


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
    views._views[str(model.resolve())].server.stop()
    assert port_closed(first.port) and not first.alive
    second = views.netron_view(model)
    assert second.status == "started" and second.alive
    assert fetch(second, "data/model.onnx") == b"first version"


def test_netron_missing_names_the_extra(model, monkeypatch):
    from trt_magic.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "netron", None)  # import netron -> ImportError
    with pytest.raises(MissingDependency, match="netron") as info:
        views.netron_view(model)
    assert "trt_magic[netron]" in info.value.hint


def test_a_server_that_cannot_bind_is_reported(model, monkeypatch):
    from trt_magic.errors import RunnerError

    monkeypatch.setattr(server, "HOST", "192.0.2.1")  # TEST-NET-1: not an address of ours
    with pytest.raises(RunnerError, match="could not start") as info:
        views.netron_view(model)
    assert "loopback" in info.value.hint
    assert views._views == {}


def test_config_magic_sets_the_url_template(ipython_shell, model):
    ip = ipython_shell
    ip.run_line_magic("config", "TrtMagic.netron_url = 'https://lab.example/ports/{port}/'")
    view = ip.run_line_magic("netron", str(model))
    assert view.url == f"https://lab.example/ports/{view.port}/{token(view)}/?v={view.version}"
    assert view.note == ""


# ---- external data ------------------------------------------------------------------------------


def external_model(folder: Path, locations: dict[str, str]) -> Path:
    """An ONNX model whose initializers (name -> location) live in external files.

    One initializer per location, one more inside a Constant node and one in an If branch, so
    that every place a tensor can sit is covered; the files are written beside the model.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def external(name: str, location: str) -> TensorProto:
        tensor = numpy_helper.from_array(np.arange(4, dtype=np.float32), name)
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", "16")):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        return tensor

    names = list(locations)
    initializers = [external(name, locations[name]) for name in names[:-2]]
    constant = helper.make_node(
        "Constant", [], ["c"], value=external(names[-2], locations[names[-2]])
    )
    branch = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["y_then"])],
        "then",
        [],
        [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, [4])],
        initializer=[external(names[-1], locations[names[-1]])],
    )
    condition = numpy_helper.from_array(np.array(True), "cond")
    branchy = helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)
    graph = helper.make_graph(
        [constant, branchy],
        "external",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializer=[condition, *initializers],
    )
    path = folder / "model.onnx"
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_external_locations_are_found_wherever_a_tensor_sits(tmp_path):
    from trt_magic.netron.external import external_locations

    locations = {
        "w0": "model.onnx.data",
        "w1": "weights/part 2.bin",
        "k": "const.bin",
        "w": "if.bin",
    }
    path = external_model(tmp_path, locations)
    assert external_locations(path) == set(locations.values())
    (tmp_path / "plain.onnx").write_bytes(b"not a protobuf at all \xff\xff\xff")
    assert external_locations(tmp_path / "plain.onnx") == frozenset()
    (tmp_path / "empty.onnx").write_bytes(b"")
    assert external_locations(tmp_path / "empty.onnx") == frozenset()


def test_external_data_is_served_beside_the_model_and_nothing_else(tmp_path):
    folder = tmp_path / "models"
    (folder / "weights").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the model's folder")
    (folder / "notes.txt").write_text("in the folder but not named by the model")
    (folder / "link.bin").symlink_to(outside)
    locations = {
        "w0": "model.onnx.data",
        "w1": "weights/part 2.bin",
        "w2": "../secret.txt",
        "w3": str(outside),
        "w4": "link.bin",
        "w5": "weights/../model.onnx.data",
        "k": "const.bin",
        "w": "if.bin",
    }
    for name in ("model.onnx.data", "weights/part 2.bin", "const.bin", "if.bin"):
        (folder / name).write_bytes(name.encode() + bytes(16))
    view = views.netron_view(external_model(folder, locations))
    for name in ("model.onnx.data", "weights/part%202.bin", "const.bin", "if.bin"):
        assert fetch(view, f"data/{name}").startswith(name.replace("%20", " ").encode())
    base = f"/{token(view)}/data/"
    for refused in (
        "notes.txt",  # in the folder, not named
        "..%2Fsecret.txt",  # named, but out of the folder
        "%2E%2E/secret.txt",
        outside.as_posix().lstrip("/"),
        "link.bin",  # named, inside, but a link to outside
        "weights/..%2Fmodel.onnx.data",
        "weights",
    ):
        assert status(view.port, base + refused) == 404, refused
    assert status(view.port, "/data/model.onnx.data") == 403  # and all of it under the token


def test_resolve_inside_refuses_every_way_out(tmp_path):
    from trt_magic.netron.external import resolve_inside

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.bin").write_bytes(b"w")
    assert resolve_inside(tmp_path, "sub/w.bin") == (tmp_path / "sub" / "w.bin").resolve()
    assert resolve_inside(tmp_path, "./sub/w.bin") == (tmp_path / "sub" / "w.bin").resolve()
    for bad in (
        "",
        "/etc/passwd",
        "../x",
        "sub/../../x",
        "sub\\w.bin",
        "C:/w.bin",
        "a\x00b",
        "sub",
    ):
        assert resolve_inside(tmp_path, bad) is None, bad


def test_netron_still_asks_what_the_shim_switches_off():
    """Canary: the installed Netron's Host.view does what page.py replaces, and no more."""
    import netron

    from trt_magic.netron import page

    browser_js = (Path(netron.__file__).parent / "browser.js").read_text()
    body = browser_js.split("    async view(view) {", 1)[1].split("\n    async start() {", 1)[0]
    steps = re.findall(r"^        await (\w+)\(\);$", body, flags=re.M)
    assert steps == ["age", "consent", "telemetry", "capabilities"], (netron.__version__, steps)
    assert "https://ipinfo.io/json" in body and "this._view = view;" in body
    assert "window.exports.browser = browser" in browser_js
    index = (Path(netron.__file__).parent / "index.html").read_text()
    assert page._INDEX_SCRIPT in index and page._VERSION_META.search(index)


def test_a_netron_page_that_changed_is_refused_at_once(model, monkeypatch):
    from trt_magic.errors import RunnerError
    from trt_magic.netron import page

    monkeypatch.setattr(page, "_INDEX_SCRIPT", '<script src="no-such.js"></script>')
    with pytest.raises(RunnerError, match="cannot serve privately") as info:
        views.netron_view(model)
    assert f"netron=={page.TESTED_NETRON}" in info.value.hint
    assert views._views == {}


def test_a_stopped_view_ends_its_kept_alive_connections(model):
    import http.client

    view = views.netron_view(model)
    path = f"/{token(view)}/data/model.onnx"
    connection = http.client.HTTPConnection("127.0.0.1", view.port, timeout=10)
    connection.request("GET", path)
    assert connection.getresponse().read() == b"first version"  # HTTP/1.1: kept alive
    views.netron_stop(model)
    with pytest.raises((OSError, http.client.HTTPException)):
        connection.request("GET", path)
        connection.getresponse().read()
    connection.close()


def test_a_deleted_model_is_404_not_an_error(model, capfd):
    view = views.netron_view(model)
    model.unlink()
    for path in ("data/model.onnx", "data/model.onnx.data"):
        assert status(view.port, f"/{token(view)}/{path}") == 404
    assert "Traceback" not in capfd.readouterr().err
