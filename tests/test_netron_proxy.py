"""A Netron view behind a real jupyter-server-proxy (as on JupyterHub and Binder): the view's
URL goes through the Jupyter server's /proxy/<port>/, the token travels in it, and the view's
server accepts the Jupyter server's Host only on requests that jupyter-server-proxy forwards.

A real ``jupyter server`` runs with the jupyter-server-proxy extension; this process plays its
kernel (``JPY_PARENT_PID`` and the runtime folder point at that server, as for a real kernel),
so the proxied URL is also found the way a notebook finds it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from conftest import missing

from trt_magic import config
from trt_magic.netron import urls
from trt_magic.netron import views as views


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """(base URL, token, pid, runtime folder) of a Jupyter server with jupyter-server-proxy."""
    try:
        import jupyter_server_proxy  # noqa: F401
    except ImportError:
        missing("jupyter-server-proxy is not installed (pip install jupyter-server-proxy)")
    folder = tmp_path_factory.mktemp("jupyter")
    runtime = folder / "runtime"
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root"]
        + [f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}"]
        + [f"--ServerApp.root_dir={folder}", "--ServerApp.port_retries=0"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail((folder / "server.log").read_text()[-3000:])
            time.sleep(0.2)
    yield base, token, server.pid, runtime
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture
def as_its_kernel(jupyter, monkeypatch):
    """This process as a kernel of that server: the proxied URL is found as in a notebook."""
    _, _, pid, runtime = jupyter
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.delenv("TRT_MAGIC_NETRON_URL", raising=False)
    monkeypatch.setenv("JPY_PARENT_PID", str(pid))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    config.use_settings(None)
    yield
    views.netron_stop()
    config.use_settings(None)


def get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_token_travels_through_jupyter_server_proxy(jupyter, as_its_kernel, tmp_path):
    base, token, _, _ = jupyter
    model = tmp_path / "model.onnx"
    model.write_bytes(b"model bytes")
    view = views.netron_view(model)
    secret = views._views[str(model.resolve())].server.token
    assert view.url == f"/proxy/{view.port}/{secret}/?v={view.version}"  # found, not configured
    assert view.note == ""

    assert get(base + view.url.replace("?", "data/model.onnx?"), token) == (200, b"model bytes")
    status, page = get(base + view.url, token)
    assert status == 200 and b"<title>Netron</title>" in page and str(tmp_path).encode() not in page
    # through the same proxy, without the view's token: refused by the view's server
    for path in ("/", "/data/model.onnx", f"/{secret[:-1]}/data/model.onnx"):
        assert get(f"{base}/proxy/{view.port}{path}", token)[0] == 403, path
    # the Jupyter server's name is accepted only through the proxy (DNS rebinding stays out)
    direct = urllib.request.Request(
        f"http://127.0.0.1:{view.port}/{secret}/data/model.onnx",
        headers={"Host": base.removeprefix("http://")},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(direct, timeout=10)
    assert refused.value.code == 403


@pytest.mark.browser
def test_the_view_shows_through_the_proxy_in_a_browser(jupyter, as_its_kernel, browser, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    base, token, _, _ = jupyter
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Sigmoid", ["y"], ["z"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])],
    )
    model = tmp_path / "proxied.onnx"
    onnx.save(helper.make_model(graph), str(model))
    view = views.netron_view(model)
    assert urls.allowed_hosts(view.url, view.port)[1] == f"/proxy/{view.port}"
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(f"{base}/api/status?token={token}")  # log in: the server sets its cookie
    page.goto(base + view.url)
    page.locator("#canvas").get_by_text("Sigmoid", exact=True).first.wait_for(timeout=30_000)
    _wait_for_title(page, "proxied.onnx")  # Netron sets it just after drawing (no eval on its page)
    assert page.title() == "proxied.onnx"
    assert all(url.startswith(base + "/") for url in requests), requests
    deadline = time.monotonic() + 10
    while view.loaded < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert view.loaded >= 1  # the page's report came back through the proxy too
    context.close()


def _wait_for_title(page, title: str, seconds: float = 10.0) -> None:
    import time as _time

    deadline = _time.monotonic() + seconds
    while page.title() != title and _time.monotonic() < deadline:
        page.wait_for_timeout(50)
