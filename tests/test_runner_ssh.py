"""Docker hosts over ``ssh://`` against a real sshd on loopback (scripts/remote_up.sh).

The box is this machine's own Docker engine reached as user ``tester`` through sshd on
127.0.0.1:2222, named by a ``~/.ssh/config`` alias (``trt-magic-gpu-box``) or by URL
(``ssh://tester@127.0.0.1:2222``); files travel by copy, as for any remote engine. The failure
cases are real: an alias with no known host key, one with a wrong key, a user whose key is not
authorised, a user outside the docker group, and a second sshd that forwards nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import missing, tmp_settings

from trt_magic.errors import RunnerError
from trt_magic.runners import ssh as ssh_module
from trt_magic.runners import trtexec

pytestmark = [pytest.mark.docker, pytest.mark.ssh]
ALIAS = "ssh://trt-magic-gpu-box"
BY_URL = "ssh://tester@127.0.0.1:2222"


@pytest.fixture(scope="module")
def box():
    try:
        ok = subprocess.run(["ssh", "-o", "BatchMode=yes", "trt-magic-gpu-box", "true"],
                            capture_output=True, timeout=30).returncode == 0  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        missing("no test sshd (bash scripts/remote_up.sh starts it as root)")
    return ALIAS


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    yield from tmp_settings(tmp_path, monkeypatch, gpus="none")


@pytest.fixture(autouse=True)
def _no_container_left(no_container_left):
    yield


def _onnx(folder: Path, name: str = "model.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(5000))
    return path


@pytest.mark.parametrize("host", [ALIAS, BY_URL])
def test_build_over_ssh_copies_files_both_ways(
    box, host, tmp_path, trtexec_image, docker_client, data_dir
):
    onnx = _onnx(tmp_path / "model")
    run = trtexec("--onnx=model/model.onnx --saveEngine=out/m.plan --exportProfile=out/p.json",
                  image=trtexec_image, docker_host=host, display=False, cache=False)  # fmt: skip
    assert run.status == "passed" and run.host == host
    assert (
        tmp_path / "out/m.plan"
    ).read_bytes() == onnx.read_bytes()  # copied in, built, copied out
    real = data_dir / "trex/A100-fp32/resnet.onnx.engine.profile.json"
    assert run.files["profile"].read_bytes() == real.read_bytes()
    assert "TensorRT version" in run.files["log"].read_text()
    # the forward runs through a private folder: nobody else on this machine reaches the box's Docker
    forward = ssh_module._forwards[host]
    assert forward.alive() and (forward.folder.stat().st_mode & 0o077) == 0


def test_copy_mode_mounts_nothing_of_this_machine(box, tmp_path, trtexec_image, docker_client):
    _onnx(tmp_path / "model", "model_slow.onnx")
    cancel = threading.Event()
    box_ = {}
    t = threading.Thread(target=lambda: box_.update(run=trtexec(
        "--onnx=model/model_slow.onnx --saveEngine=out/s.plan", image=trtexec_image,
        docker_host=ALIAS, display=False, cancel=cancel, cache=False)))  # fmt: skip
    t.start()
    mine = f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"
    deadline = time.monotonic() + 60
    running = []
    while not running:
        assert time.monotonic() < deadline, "the build never started"
        running = docker_client.containers.list(filters={"label": mine, "status": "running"})
        time.sleep(0.1)
    mounts = running[0].attrs["Mounts"]
    cancel.set()
    t.join(60)
    assert mounts == []  # inputs went in through the archive API; no host folder is mounted
    run = box_["run"]
    assert run.status == "interrupted" and "engine" not in run.files
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.endswith(".log")]


def test_timeout_over_ssh(box, tmp_path, trtexec_image):
    _onnx(tmp_path / "model", "model_slow.onnx")
    started = time.monotonic()
    run = trtexec("--onnx=model/model_slow.onnx --saveEngine=out/s.plan", image=trtexec_image,
                  docker_host=ALIAS, display=False, timeout=3, cache=False)  # fmt: skip
    assert run.status == "timeout" and time.monotonic() - started < 40
    assert "engine" not in run.files and not (tmp_path / "out/s.plan").exists()


CHILD = """
import sys
from trt_magic import config
from trt_magic.runners import trtexec
config.use_settings(config.Settings(cache_dir=sys.argv[1], workdir=sys.argv[2], gpus="none"))
trtexec("--onnx=model/model_slow.onnx --saveEngine=out/s.plan", image=sys.argv[3],
        docker_host=sys.argv[4], display=False, on_line=lambda line: print("LINE", flush=True))
"""


@pytest.mark.parametrize("host", [ALIAS, BY_URL])
def test_a_kernel_killed_with_9_mid_build_over_ssh_leaves_no_container(
    box, host, tmp_path, trtexec_image, docker_client
):
    _onnx(tmp_path / "model", "model_slow.onnx")
    root = Path(__file__).parent.parent
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "cache"), str(tmp_path), trtexec_image, host],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    label = f"trt_magic.owner={socket.gethostname()}:{child.pid}"
    mine = lambda: docker_client.api.containers(all=True, filters={"label": label})  # noqa: E731
    try:
        assert child.stdout.readline().startswith("LINE")  # trtexec runs on the box
        assert len(mine()) == 1
        child.kill()
        child.wait()
        killed = time.monotonic()
        while mine() and time.monotonic() - killed < 10:
            time.sleep(0.2)
        assert mine() == [], "the container outlived its kernel by 10 s"
    finally:
        child.kill()
        for c in mine():
            docker_client.api.remove_container(c["Id"], force=True)
    assert not (tmp_path / "out" / "s.plan").exists()
    assert list((tmp_path / "out").iterdir()) == []  # the supervisor removed the run's folder


def test_cache_hit_over_ssh(box, tmp_path, trtexec_image):
    _onnx(tmp_path / "model")
    args = "--onnx=model/model.onnx --saveEngine=out/c.plan"
    first = trtexec(args, image=trtexec_image, docker_host=ALIAS, display=False)
    (tmp_path / "out/c.plan").unlink()
    again = trtexec(args, image=trtexec_image, docker_host=ALIAS, display=False)
    assert first.status == again.status == "passed" and not first.cached and again.cached
    assert (tmp_path / "out/c.plan").read_bytes() == (tmp_path / "model/model.onnx").read_bytes()


def test_a_box_that_forwards_nothing_still_works(box, tmp_path, trtexec_image):
    _onnx(tmp_path / "model")
    run = trtexec("--onnx=model/model.onnx --saveEngine=out/n.plan", image=trtexec_image,
                  docker_host="ssh://trt-magic-no-forwarding", display=False, cache=False)  # fmt: skip
    assert run.status == "passed" and (tmp_path / "out/n.plan").is_file()
    assert "ssh://trt-magic-no-forwarding" not in ssh_module._forwards  # fell back to dial-stdio


@pytest.mark.parametrize(
    "host, says, fix",
    [
        ("ssh://trt-magic-unknown-host", "not in your known_hosts", "accept its fingerprint"),
        ("ssh://trt-magic-changed-host", "host key of trt-magic-changed-host has changed", "ssh-keygen -R"),
        ("ssh://tester-refused@127.0.0.1:2222", "refused your SSH key for tester-refused", "ssh-copy-id -p 2222 tester-refused@127.0.0.1"),
        ("ssh://tester-nodocker@127.0.0.1:2222", "may not use its Docker engine", "usermod -aG docker"),
        ("ssh://tester@127.0.0.1:2", "no SSH server answers", "host and port"),
    ],
)  # fmt: skip
def test_ssh_failures_get_their_fix(box, host, says, fix, tmp_path, trtexec_image, capfd):
    _onnx(tmp_path / "model")
    with pytest.raises(RunnerError) as info:
        trtexec("--onnx=model/model.onnx --saveEngine=out/e.plan", image=trtexec_image,
                docker_host=host, display=False)  # fmt: skip
    assert says in info.value.message and fix in info.value.hint
    assert "Traceback" not in str(info.value)
    err = capfd.readouterr().err
    assert "Host key verification failed" not in err and "Permission denied" not in err  # captured
    assert not (tmp_path / "out").exists()  # refused before anything was created


def test_sweep_spreads_over_the_local_socket_and_an_ssh_host(box, tmp_path, trtexec_image):
    from trt_magic.sweeps import sweep

    onnx = _onnx(tmp_path / "model", "model_fixed2.onnx")
    result = sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[0, 1], images=[trtexec_image],
                   hosts=["unix:///var/run/docker.sock", BY_URL], gpus=["none"], cache=False,
                   display=False)  # fmt: skip
    assert list(result.table["status"]) == ["passed"] * 4
    slots = set(result.table["slot"])
    assert slots == {"unix:///var/run/docker.sock / GPU none", f"{BY_URL} / GPU none"}, slots


def test_explain_texts_of_real_openssh(tmp_path):
    """Without a server: the texts OpenSSH 9.2 printed for the cases above (captured from them)."""
    changed = "Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\nHost key verification failed.\n"
    err = ssh_module.explain("ssh://tester@127.0.0.1:2222", changed)
    assert "has changed" in err.message and "ssh-keygen -R '[127.0.0.1]:2222'" in err.hint
    unknown = "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.\n"
    err = ssh_module.explain("ssh://tester@127.0.0.1:2222", unknown)
    assert "known_hosts" in err.message and "ssh-keyscan -p 2222 127.0.0.1" in err.hint
    docker_denied = ("permission denied while trying to connect to the Docker daemon socket at "
                     "unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.50/version\": "
                     "dial unix /var/run/docker.sock: connect: permission denied")  # fmt: skip
    assert "docker group" in ssh_module.explain("ssh://u@h", docker_denied).hint
    with pytest.raises(RunnerError, match="not an ssh://"):
        ssh_module.ssh_target("tcp://x:2375")
