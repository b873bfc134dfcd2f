"""Faults end cleanly (issue 14): Ctrl-C at any moment, a kernel killed with -9, a lost daemon,
a full disk, a half-finished first ``import docker``: no container, no partial file, short errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import missing, tmp_settings

from trt_magic import config
from trt_magic.errors import RunnerError
from trt_magic.runners import trtexec

pytestmark = pytest.mark.docker
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    yield from tmp_settings(tmp_path, monkeypatch)


def _label(pid: int | None = None) -> str:
    return f"trt_magic.owner={socket.gethostname()}:{pid or os.getpid()}"


def _containers(client, pid: int | None = None) -> list:
    return client.api.containers(all=True, filters={"label": _label(pid)})


def _wait_until(check, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".trt_magic-part-" in p.name or ".partial" in p.name]


def _onnx(folder: Path, name: str, size: int = 5000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(os.urandom(size))
    return folder / name


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.25, 0.5, 1.0])
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_at_any_moment_leaves_nothing(
    tmp_path, trtexec_image, docker_client, delay, presses
):
    _onnx(tmp_path, "slow.onnx")
    main = threading.main_thread().ident

    def press():
        for _ in range(presses):
            signal.pthread_kill(main, signal.SIGINT)
            time.sleep(0.03)

    timer = threading.Timer(delay, press)

    def call() -> str:
        try:
            timer.start()
            trtexec("--onnx=slow.onnx --saveEngine=s.plan", image=trtexec_image, gpus="none",
                    display=False, cache=False)  # fmt: skip
            time.sleep(5)  # the run returned before the interrupt: wait for it
            return "finished"
        except KeyboardInterrupt:
            return "interrupted"

    outcome = None
    while True:  # a second press may land anywhere: absorb it here too
        try:
            outcome = outcome or call()
            timer.join()
            time.sleep(0.2)
            break
        except KeyboardInterrupt:
            outcome = outcome or "interrupted"
    assert outcome == "interrupted"
    assert _wait_until(lambda: not _containers(docker_client), 5), "container left"
    assert not (tmp_path / "s.plan").exists()
    assert _partials(tmp_path) == []


CHILD = """
import sys
from trt_magic import config
from trt_magic.runners import trtexec
config.use_settings(config.Settings(cache_dir=sys.argv[1], workdir=sys.argv[2]))
trtexec("--onnx=slow.onnx --saveEngine=s.plan", image=sys.argv[3], gpus="none", display=False,
        on_line=lambda line: print("LINE", flush=True))
"""


def test_a_kernel_killed_with_9_leaves_no_container_and_the_next_run_clears_its_files(
    tmp_path, trtexec_image, docker_client
):
    _onnx(tmp_path, "slow.onnx")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "cache"), str(tmp_path), trtexec_image],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    try:
        assert child.stdout.readline().startswith("LINE")  # trtexec runs in its container
        assert len(_containers(docker_client, child.pid)) == 1
        assert _partials(tmp_path), "the build should be writing into its folder"
        child.kill()
        child.wait()
        killed = time.monotonic()
        assert _wait_until(lambda: not _containers(docker_client, child.pid), 10), "container left"
        assert time.monotonic() - killed < 10
    finally:
        child.kill()
        for c in _containers(docker_client, child.pid):
            docker_client.api.remove_container(c["Id"], force=True)
    # whatever the supervisor did not get to, the next run (any kernel) clears
    dead = tmp_path / f".trt_magic-part-{socket.gethostname()}~{child.pid}-abc-run"
    dead.mkdir(exist_ok=True)
    (dead / "half.plan").write_bytes(b"half")
    _onnx(tmp_path, "model.onnx")
    run = trtexec("--onnx=model.onnx --saveEngine=m.plan", image=trtexec_image, gpus="none",
                  display=False)  # fmt: skip
    assert run.status == "passed" and not dead.exists()
    assert _partials(tmp_path) == []


IMPORT_CHILD = """
import os, signal, sys, threading, time
from trt_magic.runners.sdk import sdk
threading.Timer(float(sys.argv[1]), lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    sdk()
    time.sleep(1)
    print("NOT-INTERRUPTED")
except KeyboardInterrupt:
    interrupted_in_import = "docker" not in sys.modules or not hasattr(sys.modules["docker"], "from_env")
    docker = sdk()
    docker.from_env().ping()
    print("INTERRUPTED", "in-import" if interrupted_in_import else "after")
"""


def test_ctrl_c_during_the_first_import_of_docker_does_not_break_docker():
    seen = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.02, 0.05, 0.1, 0.15, 0.2, 0.3):
        out = subprocess.run([sys.executable, "-c", IMPORT_CHILD, str(delay)], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        seen.append(out.stdout.strip())
    assert any("in-import" in s for s in seen), seen  # at least one landed inside the import


class _Proxy:
    """A unix-socket proxy to the real Docker socket that can be cut (a daemon lost mid-run)."""

    def __init__(self, path: Path):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(16)
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect("/var/run/docker.sock")
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        try:  # wakes the blocked accept() (close alone does not on Linux)
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.path.unlink(missing_ok=True)
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass


def test_a_daemon_lost_mid_run_is_a_short_error(tmp_path, trtexec_image, docker_client):
    _onnx(tmp_path, "slow.onnx")
    proxy = _Proxy(tmp_path / "docker.sock")
    try:
        with pytest.raises(RunnerError, match="lost the Docker engine") as err:
            trtexec("--onnx=slow.onnx --saveEngine=s.plan", image=trtexec_image, gpus="none",
                    display=False, cache=False, docker_host=f"unix://{tmp_path}/docker.sock",
                    on_line=lambda line: proxy.cut())  # fmt: skip
        assert "dockerd" in err.value.hint
        assert not (tmp_path / "s.plan").exists() and _partials(tmp_path) == []
    finally:
        proxy.cut()
        for c in _containers(docker_client):
            docker_client.api.remove_container(c["Id"], force=True)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs (a full disk)."""
    if os.geteuid() != 0:
        missing("mounting a tmpfs needs root")
    where = tmp_path / "small"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], check=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_output_disk_is_a_short_error_and_leaves_nothing(
    tmp_path, trtexec_image, small_tmpfs
):
    _onnx(tmp_path, "model.onnx", size=3 << 20)  # the fake engine is a copy: it cannot fit
    with pytest.raises(RunnerError, match="no space left") as err:
        trtexec(f"--onnx=model.onnx --saveEngine={small_tmpfs}/e.plan", image=trtexec_image,
                gpus="none", display=False)  # fmt: skip
    assert "free some space" in err.value.hint and str(small_tmpfs) in str(err.value)
    assert list(small_tmpfs.iterdir()) == []


def test_a_log_that_fills_the_disk_is_a_short_error(tmp_path, trtexec_image, small_tmpfs):
    _onnx(tmp_path, "huge.onnx")
    with pytest.raises(RunnerError, match="no space left") as err:
        trtexec(f"--onnx=huge.onnx --saveEngine={small_tmpfs}/e.plan", image=trtexec_image,
                gpus="none", display=False)  # fmt: skip
    assert "free some space" in err.value.hint
    assert list(small_tmpfs.iterdir()) == []


def test_a_full_cache_disk_keeps_the_successful_build(tmp_path, trtexec_image, small_tmpfs):
    config.use_settings(config.Settings(cache_dir=str(small_tmpfs), workdir=str(tmp_path)))
    onnx = _onnx(tmp_path, "model.onnx", size=2 << 20)
    run = trtexec("--onnx=model.onnx --saveEngine=e.plan", image=trtexec_image, gpus="none",
                  display=False)  # fmt: skip
    assert run.status == "passed" and run.files["engine"].read_bytes() == onnx.read_bytes()
    assert any("not cached" in n for n in run.notes), run.notes
    assert not [p for p in small_tmpfs.rglob("*") if ".trt_magic-part-" in p.name]


def test_bad_image_names_are_short_errors(tmp_path):
    from trt_magic.errors import TrtMagicError

    _onnx(tmp_path, "model.onnx")
    for image in ("UPPER/case:1", "a b", "x:" + "t" * 200):
        with pytest.raises(TrtMagicError, match="image"):
            trtexec("--onnx=model.onnx", image=image, gpus="none", display=False)
