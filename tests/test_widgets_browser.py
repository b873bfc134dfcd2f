"""The profile editor in a real browser: JupyterLab on 127.0.0.1, Debian chromium via Playwright.

Runs the notebook cell ``%load_ext trt_magic`` + ``%trt_profile model.onnx``, changes a max shape
in the rendered form, checks the command preview follows, and saves the screenshot the README
uses (docs/img/profile_editor.png, refreshed with TRT_MAGIC_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

CELL = "%load_ext trt_magic\n%trt_profile model.onnx"


def make_model(folder: Path) -> Path:
    """A small CNN with a dynamic batch, exported the classic way (TorchScript exporter)."""
    import torch

    class Small(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.head = torch.nn.Linear(8, 10)

        def forward(self, images):
            return self.head(self.conv(images).relu().mean(dim=(2, 3)))

    path = folder / "model.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and wanted here
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(torch, Small(), path)
    return path


def _export(torch, model, path: Path) -> None:
    torch.onnx.export(
        model.eval(),
        (torch.randn(1, 3, 32, 32),),
        str(path),
        dynamo=False,
        input_names=["images"],
        output_names=["logits"],
        dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
    )


def write_notebook(path: Path, source: str = CELL) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "profile-editor",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium_path):
    """JupyterLab on loopback with a token, in a folder holding model.onnx and a notebook.

    One server for the module (start-up is most of the time); always stopped at the end.
    """
    tmp_path = tmp_path_factory.mktemp("lab")
    root = tmp_path / "work"
    root.mkdir()
    write_notebook(root / "profile.ipynb")
    home = tmp_path / "jupyter"
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
        TRT_MAGIC_CACHE_DIR=str(tmp_path / "cache"),
    )
    # no "Jupyter news?" toast over the page
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyter.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        make_model(root)  # while the server starts
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", process, log)
        yield {"base": base, "token": token, "root": root, "log": log}
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def open_and_run(page, lab, notebook: str):
    """Open ``notebook``, run its first cell once the kernel is idle, return the editor."""
    from playwright.sync_api import expect

    # ?reset: a fresh workspace, not the one the previous test left (its notebook tab)
    page.goto(f"{lab['base']}/lab/tree/{notebook}?reset&token={lab['token']}")
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
    page.locator(".jp-NotebookPanel:visible .jp-Cell .cm-content").first.click()
    page.keyboard.press("Shift+Enter")
    editor = page.locator(".jp-NotebookPanel:visible .trt-profile-editor")
    try:
        editor.wait_for(timeout=60_000)
    except Exception:  # say what the cell showed instead
        page.screenshot(path=str(lab["root"].parent / "failed.png"))
        output = page.locator(".jp-Cell").first.inner_text()
        log = lab["log"].read_text()[-2000:]
        pytest.fail(f"no editor rendered; the cell shows:\n{output}\n--- server log:\n{log}")
    return editor


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        yield page
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_profile_editor_in_jupyterlab(lab, page, screenshot_dir):
    from playwright.sync_api import expect

    editor = open_and_run(page, lab, "profile.ipynb")
    magic = page.locator(".trt-preview-magic")
    expect(magic).to_contain_text("--maxShapes=images:8x3x32x32")
    expect(magic).to_contain_text("%trtexec --onnx=model.onnx --saveEngine=model_FP32_NONE.plan")
    expect(page.locator(".trt-preview-docker")).to_contain_text("docker run --rm")

    batch_max = page.locator(".trt-dim-max input:not([disabled])").first
    batch_max.fill("32")
    batch_max.press("Enter")
    expect(magic).to_contain_text("--maxShapes=images:32x3x32x32", timeout=15_000)
    expect(magic).not_to_contain_text("images:8x3x32x32")

    # an invalid value shows on the field and leaves the command as it was
    batch_min = page.locator(".trt-dim-min input:not([disabled])").first
    batch_min.fill("0")
    batch_min.press("Enter")
    expect(page.locator(".trt-preview-problems")).to_contain_text("min must be >= 1")
    expect(magic).to_contain_text("--minShapes=images:1x3x32x32")
    batch_min.fill("1")
    batch_min.press("Enter")
    expect(page.locator(".trt-preview-problems")).to_have_count(0)

    # what the browser changed is the editor's state on disk
    state = json.loads((lab["root"] / "model.onnx.profile.json").read_text())
    assert state["spec"]["profile"]["ranges"]["images"]["max"] == [32, 3, 32, 32]

    shot = screenshot_dir / "profile_editor.png"
    editor.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.docker
@pytest.mark.slow
def test_build_streams_into_the_page(lab, page, trtexec_image):
    """Build in the kernel's background thread: the log and result reach the browser."""
    from playwright.sync_api import expect

    source = (
        "%load_ext trt_magic\n%config TrtMagic.gpus = 'none'\n"
        f"%trt_profile model.onnx --fresh --image {trtexec_image}"
    )
    write_notebook(lab["root"] / "build.ipynb", source)
    open_and_run(page, lab, "build.ipynb")
    page.locator(".jp-NotebookPanel:visible button.trt-build").click()
    expect(page.locator(".jp-NotebookPanel:visible .trt-build-log textarea")).to_have_value(
        re.compile("&&&& PASSED"), timeout=60_000
    )
    expect(page.get_by_text("FP32: passed")).to_be_visible()
    assert (lab["root"] / "model_FP32_NONE.plan").is_file()
    assert (lab["root"] / "model_FP32_NONE.plan.graph.json").is_file()
