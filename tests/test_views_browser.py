"""The views in a real browser (Debian chromium via Playwright): Netron shows an exported model,
the engine graph's SVG, search and pages work; screenshots for the README go to docs/img/
with TRT_MAGIC_UPDATE_SCREENSHOTS=1 (else to a temporary folder)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import trt_magic.display.engine_graph as eg
from trt_magic import netron as views
from trt_magic.netron import urls

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    # hermetic: only the local servers and files (tests/test_netron_browser.py proves that
    # the Netron page asks nothing else; here a stray request would only be refused)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    yield context.new_page()
    context.close()


@pytest.fixture(autouse=True)
def stop_views():
    yield
    views.netron_stop()


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> tuple[Path, list[str]]:
    """A tiny conv net exported with the TorchScript exporter; returns (path, node names)."""
    import onnx
    import torch

    class TinyNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.act = torch.nn.ReLU()
            self.pool = torch.nn.MaxPool2d(2)
            self.head = torch.nn.Conv2d(8, 4, 1)

        def forward(self, x):
            return self.head(self.pool(self.act(self.stem(x))))

    path = tmp_path_factory.mktemp("netron") / "tiny_convnet.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and says so
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            TinyNet().eval(),
            (torch.randn(1, 3, 32, 32),),
            str(path),
            dynamo=False,
            input_names=["image"],
            output_names=["logits"],
        )
    names = [node.name for node in onnx.load(str(path)).graph.node]
    assert names == ["/stem/Conv", "/act/Relu", "/pool/MaxPool", "/head/Conv"]
    return path, names


def test_netron_shows_the_exported_model(page, tiny_onnx, screenshot_dir):
    from playwright.sync_api import expect

    path, names = tiny_onnx
    view = views.netron_view(path)
    page.goto(view.url)
    canvas = page.locator("#canvas")
    canvas.get_by_text("MaxPool", exact=True).first.wait_for(timeout=30_000)
    for op in ("Conv", "Relu", "MaxPool"):
        assert canvas.get_by_text(op, exact=True).count() >= 1
    page.keyboard.press("Control+U")  # Netron's "Show Names"
    canvas.get_by_text(names[0], exact=True).first.wait_for(timeout=10_000)
    shown = canvas.text_content()
    assert all(name in shown for name in names), shown
    page.keyboard.press("Control+U")  # back to op types; open the first Conv's properties
    canvas.get_by_text("Conv", exact=True).first.click()
    sidebar = page.locator("#sidebar")
    sidebar.get_by_text(names[0], exact=True).wait_for(timeout=10_000)
    assert sidebar.locator("#sidebar-title").text_content() == "Node Properties"
    expect(page.locator("#sidebar-closebutton")).to_be_in_viewport(ratio=1)  # slid in
    page.screenshot(path=str(screenshot_dir / "netron.png"), animations="disabled")


def test_netron_view_html_in_a_page_and_as_a_saved_copy(page, tiny_onnx, tmp_path):
    path, names = tiny_onnx
    view = views.netron_view(path, height=500)
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{view._repr_html_()}</body></html>")
    page.goto(notebook.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("#canvas").get_by_text("MaxPool", exact=True).first.wait_for(timeout=30_000)
    assert page.locator(".trt-magic-netron-gone").is_hidden()

    views.netron_stop()  # what a saved notebook or an nbconvert export sees later
    page.goto(notebook.as_uri())
    gone = page.locator(".trt-magic-netron-gone")
    gone.wait_for(state="visible", timeout=10_000)
    assert "not running now" in gone.inner_text()
    assert page.locator("iframe").is_hidden()
    assert page.get_by_role("link", name="open in a new tab").is_visible()


def test_engine_graph_page(page, tmp_path, screenshot_dir):
    view = eg.engine_graph(
        DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json",
        DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.profile.json",
    )
    page.goto(view.to_html(tmp_path / "graph.html").as_uri())
    svg = page.locator("svg").first
    svg.wait_for()
    text = svg.text_content()
    shown = [layer.name for layer in view.layers if eg._short(layer.name) in text]
    assert len(shown) == len(view.layers)
    assert page.locator("g.layer").count() == len(view.layers)

    page.fill("input[type=search]", "CaskConvolution")
    convs = sum(layer.kind == "CaskConvolution" for layer in view.layers)
    assert page.locator("g.layer.hit").count() == convs > 0
    assert page.locator(".found").inner_text() == f"{convs} layer(s) match"
    page.fill("input[type=search]", "")
    page.locator("input[type=search]").blur()
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".pages > div").first.evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / "engine_graph.png"), animations="disabled")


def test_engine_graph_laid_out_in_the_browser_looks_like_dot(page, tmp_path):
    """Without Graphviz the page draws the same DOT with Viz.js: same layers, same texts."""
    args = (
        DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json",
        DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.profile.json",
    )
    by_dot = eg.engine_graph(*args, layout="dot")
    page.goto(by_dot.to_html(tmp_path / "dot.html").as_uri())
    dot_texts = page.locator("g.layer").all_text_contents()
    dot_fills = page.locator("g.layer polygon, g.layer path").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    in_browser = eg.engine_graph(*args, layout="browser")
    page.goto(in_browser.to_html(tmp_path / "browser.html").as_uri())
    page.wait_for_selector(".tmg[data-laid-out]")
    assert page.locator("g.layer").all_text_contents() == dot_texts
    fills = page.locator("g.layer polygon, g.layer path").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    assert fills == dot_fills and len(dot_texts) == len(in_browser.layers)
    page.fill("input[type=search]", "CaskConvolution")  # search works on the drawn graph
    convs = sum(layer.kind == "CaskConvolution" for layer in in_browser.layers)
    assert page.locator("g.layer.hit").count() == convs > 0


def test_engine_graph_pages_switch(page, tmp_path):
    view = eg.engine_graph(DATA / "trex/notebook-yolo-orin/layer_info.json", page_size=30)
    assert view.page_count == 3
    page.goto(view.to_html(tmp_path / "pages.html").as_uri())
    pages = page.locator(".pages > div")
    assert [pages.nth(k).is_visible() for k in range(3)] == [True, False, False]
    page.get_by_role("button", name="page 3: layers 61–86").click()
    assert [pages.nth(k).is_visible() for k in range(3)] == [False, False, True]
    assert pages.nth(2).locator("g.layer").count() == 26
    page.fill("input[type=search]", view.layers[35].name[:40])
    assert pages.nth(1).is_visible()  # the search jumped to the page of the match


def test_views_in_an_nbconvert_html_export(page, tiny_onnx, tmp_path):
    import nbformat
    from nbconvert import HTMLExporter

    netron = views.netron_view(tiny_onnx[0])
    graph = eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json")
    cells = []
    for code, shown in (("%netron tiny_convnet.onnx", netron), ("engine_graph(run)", graph)):
        cell = nbformat.v4.new_code_cell(code)
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", {"text/html": shown._repr_html_(), "text/plain": repr(shown)}
            )
        ]
        cells.append(cell)
    html, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=cells))
    views.netron_stop()  # the export is read later, with no kernel
    exported = tmp_path / "exported.html"
    exported.write_text(html, encoding="utf-8")

    page.goto(exported.as_uri(), wait_until="domcontentloaded")
    gone = page.locator(".trt-magic-netron-gone")
    gone.wait_for(state="visible", timeout=15_000)
    assert "tiny_convnet.onnx" in gone.inner_text()
    layers = page.locator("g.layer")
    assert layers.count() == len(graph.layers) == 9
    assert "node_max_pool2d" in page.locator(".tmg svg").text_content()
    page.fill(".tmg input[type=search]", "kgen")
    assert page.locator("g.layer.hit").count() == 4


@pytest.mark.parametrize("proxy_status, blank", [(502, True), (200, False)])
def test_netron_view_behind_a_proxy_notices_a_gone_server(page, monkeypatch, proxy_status, blank):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: True)
    url, note = urls.view_url(4321, "v1", "t0ken")
    view = views.NetronView(path=Path("/m/model.onnx"), port=4321, url=url, note=note)
    hub = "http://127.0.0.1:9"  # the hub's origin, played by Playwright routes
    page.route(
        f"{hub}/user/alice/lab",
        lambda r: r.fulfill(body=view._repr_html_(), content_type="text/html"),
    )
    page.route(
        f"{hub}/user/alice/proxy/4321/**", lambda r: r.fulfill(status=proxy_status, body="x")
    )
    page.goto(f"{hub}/user/alice/lab")
    if blank:
        page.locator(".trt-magic-netron-gone").wait_for(state="visible", timeout=10_000)
        assert page.locator("iframe").is_hidden()
    else:
        page.wait_for_load_state("networkidle")
        assert page.locator("iframe").is_visible()
        assert page.locator(".trt-magic-netron-gone").is_hidden()
