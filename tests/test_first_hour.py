"""A newcomer's first hour: the quickstart on a plain pip install with no Graphviz `dot` and no
Docker engine, then the executed copy opened later in a browser with no kernel.

The fresh virtualenv is honest and fast: a new venv (no packages of its own) gets trt_magic
installed from this checkout as a wheel (``pip install --no-deps``: the package data must be in
it, Viz.js included), and the third-party packages through a ``.pth`` line naming the main venv's
site-packages (the same versions ``pip install trt_magic[all]`` resolves here, not re-downloaded).
The kernel runs that venv's Python; PATH holds only that venv's ``bin``: no ``dot``, no ``docker``,
no ``trtexec``; DOCKER_HOST points at a socket that does not exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_quickstart.ipynb"
_IGNORED = shutil.ignore_patterns("__pycache__")


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new virtualenv with trt_magic installed from this checkout (see the module docstring)."""
    tmp = tmp_path_factory.mktemp("fresh")
    venv = tmp / "venv"
    (tmp / "src").mkdir()
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "zz_main_venv_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    src = tmp / "src"  # built from a copy: the checkout gets no build/ or egg-info
    for name in ("pyproject.toml", "README.md", "trt_magic"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, src / name, **({"ignore": _IGNORED} if name == "trt_magic" else {}))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", "--no-index", str(src)],
        capture_output=True, text=True, timeout=600, cwd=tmp,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    where = subprocess.run(
        [python, "-c", "import trt_magic; print(trt_magic.__file__)"],
        capture_output=True, text=True, env=_env(venv, tmp), cwd=tmp,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(venv)), (where.stdout, where.stderr)
    return venv


def _env(venv: Path, tmp: Path) -> dict[str, str]:
    """No dot, no docker, no trtexec on PATH; no Docker engine; nothing of this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRT_MAGIC_", "PYTHON"))}
    empty = tmp / "bin"
    empty.mkdir(exist_ok=True)
    env.update(
        PATH=f"{venv / 'bin'}:{empty}",
        DOCKER_HOST=f"unix://{tmp}/no-docker.sock",
        TRT_MAGIC_CACHE_DIR=str(tmp / "cache"),
        MPLBACKEND="agg",
        # the .pth reaches the packages' code, not their data files: nbconvert's templates and
        # the kernelspec that `pip install` would put in the venv's share/jupyter
        JUPYTER_PATH=str(Path(sysconfig.get_path("data")) / "share" / "jupyter"),
    )
    return env


@pytest.fixture(scope="module")
def executed(fresh_venv, tmp_path_factory) -> Path:
    """The quickstart run headless in the fresh venv, as scripts/quickstart.sh runs it."""
    tmp = tmp_path_factory.mktemp("quickstart")
    (tmp / "notebooks").mkdir()
    (tmp / "notebooks" / NOTEBOOK).write_bytes((ROOT / "notebooks" / NOTEBOOK).read_bytes())
    done = subprocess.run(
        [fresh_venv / "bin" / "python", ROOT / "scripts" / "execute_notebook.py",
         f"notebooks/{NOTEBOOK}", "--out", "notebooks/executed", "--timeout", "600", "--html"],
        capture_output=True, text=True, timeout=1500, cwd=tmp, env=_env(fresh_venv, tmp),
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-5000:])
    assert "WARNING" not in done.stderr, done.stderr[-3000:]  # e.g. ipykernel's TCP warning
    return tmp / "notebooks" / "executed" / NOTEBOOK


@pytest.mark.slow
def test_quickstart_runs_on_a_plain_pip_install_without_dot_or_docker(executed):
    import nbformat
    from nbformat.sign import NotebookNotary

    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, errors[0]
    text = {tag: _tagged_text(nb, tag) for tag in ("check-backend", "check-graph")}
    assert "replay" in text["check-backend"] and "no Docker engine" in text["check-backend"]
    assert "no trtexec on PATH" in text["check-backend"]
    assert "data-dot=" in text["check-graph"] and "<svg" not in text["check-graph"]  # no dot
    assert NotebookNotary().check_signature(nb), "the executed copy is not trusted"


def _tagged_text(nb, tag: str) -> str:
    cell = next(c for c in nb.cells if tag in c.get("metadata", {}).get("tags", []))
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        for mime in ("text/html", "text/plain"):
            value = out.get("data", {}).get(mime)
            if value:
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.browser
def test_executed_quickstart_renders_with_no_kernel(executed, browser, tmp_path):
    """The HTML copy of the executed notebook (nbconvert, widgets by the vendored html-manager),
    opened offline with no kernel: the engine graph, the report and the editor render."""
    html = executed.with_suffix(".html")  # written by execute_notebook.py --html
    assert html.exists()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline, no kernel
    page = context.new_page()
    try:
        page.goto(html.as_uri())
        page.wait_for_selector(".tmg[data-laid-out]", timeout=60_000)  # Viz.js drew it
        assert page.locator(".tmg g.layer").count() > 10
        report = page.locator("text=slowest layers").first
        assert report.is_visible()
        editor = page.locator(".trt-profile-editor").first
        editor.wait_for(timeout=60_000)  # drawn from the saved widget state
        assert "--optShapes=IMAGES:8x3x224x224" in editor.inner_text()
        assert editor.locator("input").count() > 5
    finally:
        context.close()


@pytest.mark.parametrize(
    "folder, file, licence_text",
    [
        ("vizjs", "viz-global.js", "Permission is hereby granted"),  # MIT
        ("widgets_embed", "embed.js", "Redistribution and use"),  # BSD-3-Clause
    ],
)
def test_vendored_javascript_is_the_npm_file_with_its_licence(folder, file, licence_text):
    import hashlib
    from importlib import resources

    where = resources.files("trt_magic").joinpath("data", folder)
    digest = hashlib.sha256(where.joinpath(file).read_bytes()).hexdigest()
    assert digest in where.joinpath("SOURCES.md").read_text()
    licence = where.joinpath("LICENSE").read_text()
    assert licence_text in licence
