"""Pulls from a real registry on loopback (scripts/remote_up.sh: distribution 2.8, TLS with our own
CA in /etc/docker/certs.d, htpasswd auth). Images are pushed there under an NGC-like name
(``registry.trt-magic.test:5443/nvidia/tensorrt:<unique>-py3``): the test image, and the test image plus a
layer of random bytes so that a pull has something to download and to stop in the middle of."""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import missing, tmp_settings

from trt_magic.errors import ImageError
from trt_magic.runners import trtexec
from trt_magic.runners.pull import PullProgress, manifest_layers, manifest_size, pull

pytestmark = [pytest.mark.docker, pytest.mark.registry]
STATE = Path(os.environ.get("TRT_MAGIC_REMOTE_STATE", "/var/lib/trt_magic-test/remote"))
REGISTRY = "registry.trt-magic.test:5443"
REPO = f"{REGISTRY}/nvidia/tensorrt"


@pytest.fixture(scope="module")
def registry():
    import requests

    ca = STATE / "registry/ca.crt"
    try:
        code = requests.get(f"https://{REGISTRY}/v2/", verify=str(ca), timeout=5).status_code
    except Exception:
        code = None
    if code != 401:
        missing("no test registry (bash scripts/remote_up.sh starts it as root)")
    return {"username": "trt", "password": (STATE / "registry/password").read_text().strip()}


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """An empty Docker client config (no login yet); ``login()`` writes what `docker login` does."""
    folder = tmp_path / "dockercfg"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))

    def login(auth):
        token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
        (folder / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"auth": token}}}))

    return login


@pytest.fixture
def pushed(docker_client, trtexec_image, registry):
    """push(extra_mib) -> name of a fresh image in the registry, absent from the daemon."""
    made = []

    def push(extra_mib: int = 0, tag: str | None = None) -> str:
        tag = tag or f"{uuid.uuid4().hex[:10]}-py3"
        base = docker_client.images.get(trtexec_image)
        if extra_mib:
            c = docker_client.containers.create(base.id, command=["true"])
            try:
                data = io.BytesIO()
                with tarfile.open(fileobj=data, mode="w") as tar:
                    info = tarfile.TarInfo("weights.bin")
                    info.size = extra_mib << 20
                    tar.addfile(info, io.BytesIO(os.urandom(info.size)))
                c.put_archive("/", data.getvalue())
                image = c.commit(repository=REPO, tag=tag)
            finally:
                c.remove(force=True)
        else:
            base.tag(REPO, tag)
            image = docker_client.images.get(f"{REPO}:{tag}")
        for event in docker_client.api.push(
            REPO, tag=tag, auth_config=registry, stream=True, decode=True
        ):
            assert "error" not in event, event
        docker_client.images.remove(f"{REPO}:{tag}")  # pulls must really download it
        made.append(f"{REPO}:{tag}")
        return f"{REPO}:{tag}", image.id

    yield push
    for name in made:
        try:
            docker_client.images.remove(name, force=True)
        except Exception:
            pass


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    yield from tmp_settings(tmp_path, monkeypatch, gpus="none", backend="docker")


def _fresh_client():
    import docker

    return docker.from_env(version="auto")  # reads DOCKER_CONFIG now, like a new kernel


def test_pull_is_refused_without_login_and_works_after_it(docker_config, pushed, registry):
    name, image_id = pushed()
    client = _fresh_client()
    with pytest.raises(ImageError) as info:
        pull(client, name, note=lambda s: None)
    assert "refused to give" in info.value.message and f"docker login {REGISTRY}" in info.value.hint
    # the daemon's own words (Docker 2x with the test registry): kept in the detail
    assert "no basic auth credentials" in info.value.detail
    docker_config(
        registry
    )  # what `docker login registry.trt-magic.test:5443` writes; the same client retries
    notes = []
    assert pull(client, name, note=notes.append) == image_id
    assert notes[0].startswith(f"image {name} is not on this Docker host: pulling it (")


def test_nvcr_login_steps_name_the_oauthtoken_user():
    from trt_magic.runners.pull import pull_error

    err = pull_error("nvcr.io/nvidia/tensorrt:25.01-py3", "unauthorized: authentication required")
    assert "docker login nvcr.io" in err.hint and "$oauthtoken" in err.hint


def test_pull_shows_layer_sizes_and_total_and_announces_the_size_first(
    docker_config, pushed, registry
):
    docker_config(registry)
    name, image_id = pushed(extra_mib=24)
    client = _fresh_client()
    announced = manifest_size(client, name)
    assert (
        announced is not None and 24 << 20 < announced < 30 << 20
    )  # the random layer and the base
    notes, events = [], []
    assert pull(client, name, note=notes.append, on_event=events.append) == image_id
    assert f"({announced / 1e6:.1f} MB compressed)" in notes[0]  # said before the first byte
    progress = PullProgress(name, manifest=manifest_layers(client, name))
    for e in events:
        progress.feed(e)
    assert (
        progress.total == announced and progress.done == announced
    )  # layer totals from the daemon
    assert len(progress.layers) == 2 and "(100 %)" in progress.line()
    assert "<progress value=" in progress.html()
    assert notes[-1] == progress.line()  # the final line printed outside a notebook


def test_a_stopped_pull_leaves_no_image(docker_config, pushed, registry, docker_client):
    import docker

    docker_config(registry)
    name, _ = pushed(extra_mib=160)
    cancel = threading.Event()
    seen = []

    def on_event(e):
        seen.append(e)
        if e.get("status") == "Downloading":
            cancel.set()  # the stop button, mid-download

    with pytest.raises(KeyboardInterrupt):
        pull(_fresh_client(), name, note=lambda s: None, cancel=cancel, on_event=on_event)
    assert any(e.get("status") == "Downloading" for e in seen)
    time.sleep(3)  # had the daemon gone on pulling, the image would be there by now
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(name)


def test_an_unreachable_registry_is_named(docker_config):
    with pytest.raises(ImageError) as info:
        pull(
            _fresh_client(),
            "registry.trt-magic.test:5999/nvidia/tensorrt:24.05-py3",
            note=lambda s: None,
        )
    assert "cannot reach the registry registry.trt-magic.test:5999" in info.value.message


def test_a_retagged_image_rebuilds_and_trtexec_pulls_it(
    docker_config, pushed, registry, tmp_path, docker_client
):
    docker_config(registry)
    tag = f"{uuid.uuid4().hex[:10]}-py3"
    name, first_id = pushed(tag=tag)
    (tmp_path / "model.onnx").write_bytes(os.urandom(3000))
    args = "--onnx=model.onnx --saveEngine=out/e.plan"
    import trt_magic.runners.docker as docker_runner

    docker_runner._clients.clear()  # the runner's client reads this test's Docker config
    one = trtexec(args, image=name, display=False)
    assert one.status == "passed" and one.image_id == first_id and not one.cached
    assert trtexec(args, image=name, display=False).cached  # same image: the cache answers
    name, second_id = pushed(extra_mib=1, tag=tag)  # new contents under the same tag
    assert second_id != first_id
    docker_runner._clients.clear()
    again = trtexec(args, image=name, display=False)
    assert again.status == "passed" and again.image_id == second_id and not again.cached
