"""Netron views in a real browser (Debian chromium via Playwright): nothing leaves loopback,
before or after clicking everything that looks like a button; no consent or cookie dialog; the
graph is there at first paint; the notebook's "may be blank" note only when the page is silent.

Every request the browser makes is recorded (requests to anywhere but 127.0.0.1 are also
aborted, so a failing run stays hermetic); requests refused by the page's
Content-Security-Policy are recorded from the console, so the test also fails if Netron only
*tried* to call out.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from trt_magic.netron import frame, urls
from trt_magic.netron import views as views

pytestmark = pytest.mark.browser

LOOPBACK = re.compile(r"^(?:https?://127\.0\.0\.1:\d+/|file:|data:|blob:|about:)")
#: what looks like a button in Netron's page (its menu entries are <button>s too)
CLICKABLE = (
    "button, [role=button], a[href], input[type=button], .toolbar-button, .menu-button, "
    ".sidebar-item-value-expander"  # the '+' and '?' (operator documentation) of a property
)


@pytest.fixture(autouse=True)
def stop_views():
    yield
    views.netron_stop()


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    """A conv net with real weights (TorchScript exporter), in a folder of its own."""
    import torch

    class TinyNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.act = torch.nn.ReLU()
            self.pool = torch.nn.MaxPool2d(2)

        def forward(self, x):
            return self.pool(self.act(self.stem(x)))

    path = tmp_path_factory.mktemp("private-lab") / "tiny_convnet.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and says so
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(TinyNet().eval(), (torch.randn(1, 3, 16, 16),), str(path), dynamo=False)
    return path


class Recorder:
    """Every request of a browser context, and every request its pages' CSP refused.

    :meth:`outward` counts attempts too: a request the policy stopped still means the page
    tried to call out, which the privacy test does not accept either.
    """

    def __init__(self, context):
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.blocked: list[str] = []  # refused by the page's CSP before leaving (chromium still
        # reports them as requests, then failed with "csp")
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("requestfailed", self._failed)
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())

    def _failed(self, request) -> None:
        failure = request.failure or ""
        if failure == "csp" or "BLOCKED_BY_CSP" in failure:
            self.blocked.append(request.url)

    def watch(self, page) -> None:
        def console(message) -> None:
            if "Content Security Policy" in message.text or "Refused to" in message.text:
                self.refused.append(message.text)

        page.on("console", console)
        page.on("filechooser", lambda chooser: None)  # "Open..." opens one: leave it

    def outward(self) -> list[str]:
        return [url for url in self.requests if not LOOPBACK.match(url)] + self.refused


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    yield context
    context.close()


def graph_shown(page_or_frame, timeout: int = 30_000) -> None:
    page_or_frame.locator("#canvas").get_by_text("MaxPool", exact=True).first.wait_for(
        timeout=timeout
    )


def assert_no_dialog(page) -> None:
    text = page.locator("body").inner_text().lower()
    for word in ("cookie", "consent", "accept", "update to the newest"):
        assert word not in text, f"{word!r} on the page: {text[:300]}"
    assert not page.locator("#message-button").is_visible()
    assert page.context.cookies() == []  # the consent question was not answered either


def click_everything(page) -> list[str]:
    """Click every visible button-like element, then every entry of Netron's menu."""
    clicked, home = [], page.url
    inside = page.locator(f"#sidebar :is({CLICKABLE}):not(#sidebar-closebutton)")
    for target in ("Conv", "MaxPool"):  # a node: its sidebar brings more buttons and links
        page.locator("#canvas").get_by_text(target, exact=True).first.click()
        clicked += _click_all(page, inside)  # '?' opens the operator's documentation...
        clicked += _click_all(page, inside)  # ...with its links
        page.keyboard.press("Escape")
    clicked += _click_all(page, page.locator(CLICKABLE))
    entries = page.locator("#menu button.menu-command")
    index = 0
    while True:
        open_menu(page)
        if index >= entries.count():
            break
        entry = entries.nth(index)
        index += 1
        if entry.is_visible() and entry.is_enabled():
            clicked.append(entry.inner_text().strip() or f"menu {index}")
            entry.click(timeout=2_000)
            page.wait_for_timeout(100)
        assert page.url == home, f"menu entry {clicked[-1]!r} left the view: {page.url}"
        page.keyboard.press("Escape")
    return clicked


def open_menu(page) -> None:
    """Open Netron's menu (it slides in from the left: closed, it sits at x = -17em)."""
    for _ in range(2):
        box = page.locator("#menu").bounding_box()
        if box and box["x"] >= 0:
            return
        page.locator("#menu-button").click()
        page.wait_for_timeout(300)


def _click_all(page, locator) -> list[str]:
    from playwright.sync_api import Error

    home = page.url
    clicked = []
    for index in range(locator.count()):
        element = locator.nth(index)
        try:
            if not element.is_visible():
                continue
            label = element.get_attribute("title") or element.inner_text().strip() or "?"
            element.click(timeout=2_000)
            clicked.append(label)
        except Error:  # it went away when an earlier click changed the page
            continue
        assert page.url == home, f"clicking {label!r} left the view: {page.url}"
    return clicked


def test_nothing_leaves_loopback_before_or_after_any_click(context, tiny_onnx):
    recorder = Recorder(context)
    page = context.new_page()
    recorder.watch(page)
    view = views.netron_view(tiny_onnx)
    page.goto(view.url)
    graph_shown(page)
    page.wait_for_load_state("networkidle")
    assert recorder.requests and all(LOOPBACK.match(url) for url in recorder.requests)
    assert recorder.outward() == []
    assert_no_dialog(page)

    clicked = click_everything(page)
    page.wait_for_timeout(1_000)  # a beacon sent on the way out would be recorded by now
    assert len(clicked) >= 15, clicked
    assert "Report Issue" in clicked and any("Export" in label for label in clicked), clicked
    assert recorder.outward() == [], recorder.outward()
    assert LOOPBACK.match(page.url)


def test_the_page_refuses_other_origins_itself(context, tiny_onnx):
    # even if a later Netron called out in a new way, its Content-Security-Policy refuses it
    # Netron replaces window.eval (browser.js), which page.evaluate needs: keep the original
    context.add_init_script(
        "const e = window.eval; Object.defineProperty(window, 'eval', {get: () => e, set: () => {}})"
    )
    recorder = Recorder(context)
    page = context.new_page()
    recorder.watch(page)
    page.goto(views.netron_view(tiny_onnx).url)
    graph_shown(page)
    outcome = page.evaluate(
        """async () => {
            const tries = [
                () => fetch('https://ipinfo.io/json'),
                () => navigator.sendBeacon('https://analytics.google.com/g/collect', 'x'),
                () => new Promise((ok, no) => {
                    const img = new Image(); img.onload = ok; img.onerror = no;
                    img.src = 'https://www.google-analytics.com/collect?v=1';
                }),
            ];
            const results = [];
            for (const attempt of tries) {
                try { results.push(String(await attempt())); } catch (e) { results.push('refused'); }
            }
            return results;
        }"""
    )
    page.wait_for_timeout(500)  # sendBeacon queues (and says true): its refusal comes later
    assert outcome[0] == "refused" and outcome[2] == "refused"
    outward = [url for url in recorder.requests if not LOOPBACK.match(url)]
    assert outward == recorder.blocked  # each one stopped by the policy, none sent
    refused = " ".join(recorder.refused)  # the browser says the policy refused each of them
    for host in ("ipinfo.io", "analytics.google.com", "www.google-analytics.com"):
        assert host in refused, recorder.refused


def test_the_graph_is_visible_at_first_paint(context, tiny_onnx, tmp_path):
    page = context.new_page()
    view = views.netron_view(tiny_onnx)
    page.goto(view.url)
    graph_shown(page, timeout=15_000)  # no click of any kind
    assert_no_dialog(page)
    _wait_for_title(
        page, "tiny_convnet.onnx"
    )  # Netron sets it just after drawing (no eval on its page)
    assert page.title() == "tiny_convnet.onnx"
    assert str(tiny_onnx.parent) not in page.content()
    shot = tmp_path / "netron_first_paint.png"
    page.screenshot(path=str(shot), animations="disabled")
    assert shot.stat().st_size > 5_000


def test_in_a_notebook_the_note_stays_hidden_when_the_page_reports(
    context, tiny_onnx, tmp_path, monkeypatch
):
    monkeypatch.setattr(frame, "NOTE_DELAY_MS", 1_500)
    monkeypatch.setattr(urls, "_remote_note", lambda port: "REMOTE NOTE")  # as in a container
    view = views.netron_view(tiny_onnx, height=400)
    assert view.note == "REMOTE NOTE"
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{view._repr_html_()}</body></html>")
    page = context.new_page()
    page.goto(notebook.as_uri())
    graph_shown(page.frame_locator("iframe"))
    page.wait_for_timeout(2_500)  # past the delay
    assert page.locator(".trt-magic-netron-note").is_hidden()
    assert view.loaded >= 1  # the page told the kernel too


def test_in_a_notebook_the_note_shows_when_the_page_stays_silent(context, monkeypatch):
    # a proxy that answers (200) but not with the view: the page never reports back
    monkeypatch.setattr(frame, "NOTE_DELAY_MS", 4_000)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    monkeypatch.setattr(urls, "_has_server_proxy", lambda: False)
    url, note = urls.view_url(4321, "v1", "t0ken")
    view = views.NetronView(path=Path("/m/model.onnx"), port=4321, url=url, note=note)
    hub = "http://127.0.0.1:9"  # the hub's origin, played by Playwright routes
    page = context.new_page()
    page.route(
        f"{hub}/user/alice/lab",
        lambda r: r.fulfill(body=view._repr_html_(), content_type="text/html"),
    )
    page.route(f"{hub}/user/alice/proxy/4321/**", lambda r: r.fulfill(status=200, body="<p>?"))
    page.goto(f"{hub}/user/alice/lab")
    shown = page.locator(".trt-magic-netron-note")
    assert shown.is_hidden()  # not at once
    shown.wait_for(state="visible", timeout=15_000)
    assert "jupyter-server-proxy" in shown.inner_text()
    assert page.locator("iframe").is_visible()  # the view stays: it may still come


def test_external_weights_load_beside_the_model(context, tiny_onnx, tmp_path):
    import onnx

    (tmp_path / "weights").mkdir()
    path = tmp_path / "tiny_external.onnx"
    onnx.save_model(
        onnx.load(str(tiny_onnx)),
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights/tiny_external.bin",
        size_threshold=0,
    )
    recorder = Recorder(context)
    page = context.new_page()
    recorder.watch(page)
    answers = []
    page.on("response", lambda response: answers.append((response.status, response.url)))
    page.goto(views.netron_view(path).url)
    graph_shown(page)
    page.locator("#canvas").get_by_text("Conv", exact=True).first.click()
    expanders = page.locator("#sidebar .sidebar-item-value-expander", has_text="+")
    for _ in range(12):  # expand every property: the weights' values come from the external file
        if expanders.count() == 0:
            break
        expanders.first.click()  # it turns into '-': the next '+' is first now
    sidebar = page.locator("#sidebar")
    sidebar.get_by_text("weights/tiny_external.bin").first.wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    weights = [status for status, url in answers if "/data/weights/tiny_external.bin" in url]
    assert weights and set(weights) == {200}, answers
    assert re.search(r"-?0\.\d{4,}", sidebar.inner_text())  # values shown, not an error
    assert recorder.outward() == []


def _wait_for_title(page, title: str, seconds: float = 10.0) -> None:
    import time as _time

    deadline = _time.monotonic() + seconds
    while page.title() != title and _time.monotonic() < deadline:
        page.wait_for_timeout(50)
