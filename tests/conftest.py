"""Shared fixtures. Tests that need Docker or a browser skip on a user's machine without them and
FAIL when the ``CI`` environment variable is set (CI installs both)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(what: str) -> None:
    """Skip (user machine) or fail (CI) a test whose external component is missing."""
    if IN_CI:
        pytest.fail(f"CI is set but {what}", pytrace=False)
    pytest.skip(what)


def tmp_settings(tmp_path: Path, monkeypatch, **extra):
    """Fresh settings for one test (``yield from`` it in a fixture): cache and work folders in
    ``tmp_path``, the cwd there too; ``extra`` settings on top. Reset afterwards."""
    from trt_magic import config

    monkeypatch.chdir(tmp_path)
    settings = config.Settings(cache_dir=str(tmp_path / "cache"), workdir=str(tmp_path), **extra)
    config.use_settings(settings)
    yield settings
    config.use_settings(None)


@pytest.fixture
def no_container_left(docker_client):
    """After the test, no container of this process is left (others' tests may be running)."""
    import socket

    yield
    mine = f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"
    left = docker_client.containers.list(all=True, filters={"label": mine}, ignore_removed=True)
    assert left == [], f"containers left behind: {[c.name for c in left]}"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def docker_client():
    """A client of the default Docker engine (skip/fail when there is none)."""
    try:
        import docker
    except ImportError:
        missing("the docker SDK is not installed (pip install 'trt_magic[docker]')")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # the engine is absent or refuses us
        missing(f"no Docker engine answers ({exc.__class__.__name__}: {exc}); start dockerd")
    yield client
    client.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium (never a browser downloaded by a tool)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing("Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing("playwright is not installed (pip install playwright)")
    return path


#: how every browser test starts Debian's chromium: no sandbox as root, and no background
#: connections (this machine's closed network refuses them, many at a time)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Debian chromium for the whole session, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


#: screenshots for the README are refreshed only on request: a test run writes nothing tracked
UPDATE_SCREENSHOTS = os.environ.get("TRT_MAGIC_UPDATE_SCREENSHOTS", "") == "1"


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """docs/img with TRT_MAGIC_UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if not UPDATE_SCREENSHOTS:
        return tmp_path
    img = Path(__file__).resolve().parents[1] / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    return img


@pytest.fixture
def ipython_shell():
    """A fresh in-process IPython shell with trt_magic loaded; unloaded afterwards."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "trt_magic")
    yield shell
    shell.run_line_magic("unload_ext", "trt_magic")
    # %config writes into shell.config, which outlives the extension: start the next test clean
    shell.config.pop("TrtMagic", None)


# --- runner fixtures (issue 4): the local test image, and a second ("remote") Docker daemon ---
SECOND_DOCKER = "tcp://127.0.0.1:23751"


@pytest.fixture(scope="session")
def trtexec_image(docker_client) -> str:
    """Tag of the test image (busybox + a fake trtexec replaying real logs; tests/docker_image.py)."""
    from docker_image import build_test_image, remove_test_image

    tag = build_test_image(docker_client)
    yield tag
    remove_test_image(docker_client, tag)  # this run's own image only (the tag carries RUN_ID)


@pytest.fixture(scope="session")
def trtexec_image_11(docker_client) -> str:
    """Tag of the TensorRT 11.x test image: TRT_VERSION=11.1.0, removed flags refused."""
    from docker_image import build_test_image, remove_test_image

    tag = build_test_image(docker_client, "11")
    yield tag
    remove_test_image(docker_client, tag)


@pytest.fixture(scope="session")
def trtexec_image_86(docker_client) -> str:
    """Tag of the test image stating TRT_VERSION=8.6.1 in its environment."""
    from docker_image import build_test_image, remove_test_image

    tag = build_test_image(docker_client, "8.6")
    yield tag
    remove_test_image(docker_client, tag)


@pytest.fixture(scope="session")
def second_docker():
    """(client, image tag) of the second daemon on tcp://127.0.0.1:23751 (scripts/docker_up.sh)."""
    try:
        import docker
    except ImportError:
        missing("the docker SDK is not installed (pip install 'trt_magic[docker]')")
    try:
        client = docker.DockerClient(base_url=SECOND_DOCKER, version="auto")
        client.ping()
    except Exception as exc:
        missing(
            f"no second Docker engine at {SECOND_DOCKER} ({exc.__class__.__name__}); run scripts/docker_up.sh"
        )
    from docker_image import build_test_image, remove_test_image

    tag = build_test_image(client)
    yield client, tag
    remove_test_image(client, tag)
    client.close()
