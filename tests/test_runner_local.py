"""The local backend with a stub ``trtexec`` on PATH (the test image's script, run by a real sh)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from conftest import missing
from docker_image import FILES, TRTEXEC

from trt_magic import config
from trt_magic.runners import choose_backend, trtexec


@pytest.fixture
def stub(tmp_path, monkeypatch, data_dir):
    """``trtexec`` on PATH: the test image's fake, reading real logs from a local folder."""
    if shutil.which("sh") is None:
        missing("no POSIX sh on PATH for the stub trtexec")
    bindir, store = tmp_path / "bin", tmp_path / "data"
    bindir.mkdir()
    store.mkdir()
    for target, source in FILES.items():
        shutil.copyfile(data_dir / source, store / Path(target).name)
    script = bindir / "trtexec"
    script.write_text(TRTEXEC.replace("/data/", f"{store}/"))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config.use_settings(config.Settings(cache_dir=str(tmp_path / "cache"), workdir=str(work)))
    yield work
    config.use_settings(None)


def _onnx(folder: Path, name: str = "model.onnx") -> Path:
    path = folder / name
    path.write_bytes(os.urandom(3000))
    return path


def test_local_success(stub, data_dir):
    onnx = _onnx(stub)
    run = trtexec(
        "--onnx=model.onnx --saveEngine=o/e.plan --exportProfile=o/p.json",
        backend="local",
        display=False,
    )
    assert run.status == "passed" and run.backend == "local" and run.exit_code == 0
    assert (stub / "o/e.plan").read_bytes() == onnx.read_bytes()
    real = (data_dir / "trtexec/log-10.16.1-onnx-default-run.log").read_text()
    assert run.files["log"].read_text() == real
    assert run.files["timing_cache"].parent.name == "timing"
    assert run.docker_command is None


def test_local_failure_and_cache(stub):
    _onnx(stub, "fail.onnx")
    run = trtexec("--onnx=fail.onnx --saveEngine=f.plan", backend="local", display=False)
    assert run.status == "failed" and run.exit_code == 1 and not (stub / "f.plan").exists()
    _onnx(stub)
    assert not trtexec("--onnx=model.onnx", backend="local", display=False).cached
    assert trtexec("--onnx=model.onnx", backend="local", display=False).cached


def test_local_timeout_and_interrupt(stub):
    _onnx(stub, "slow.onnx")
    start = time.monotonic()
    run = trtexec("--onnx=slow.onnx --saveEngine=s.plan", backend="local", display=False, timeout=1)
    assert run.status == "timeout" and time.monotonic() - start < 1 + 2
    assert not list(stub.glob("*.plan")) and not list(stub.glob(".s.plan*"))
    fired = {}

    def interrupt():
        fired["at"] = time.monotonic()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Timer(1.0, interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        trtexec("--onnx=slow.onnx --saveEngine=s.plan", backend="local", display=False)
    assert time.monotonic() - fired["at"] < 2
    assert not list(stub.glob("*.plan")) and not list(stub.glob(".s.plan*"))


def test_local_injection_runs_nothing(stub):
    name = "$(touch injected);`touch injected`.onnx"
    _onnx(stub, name)
    run = trtexec(["--onnx=" + name], backend="local", display=False)
    assert run.status == "passed" and not (stub / "injected").exists()


def test_choose_backend_finds_local_trtexec(stub, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # nothing listens there
    backend, why = choose_backend()
    assert backend == "local" and "trtexec found" in why


def test_choose_backend_falls_back_to_replay_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    monkeypatch.setenv("PATH", str(tmp_path))
    backend, why = choose_backend()
    assert backend == "replay" and "recorded" in why and "no trtexec" in why


def test_failed_run_names_the_replacement_flag(stub):
    _onnx(stub, "fail.onnx")
    run = trtexec("--onnx=fail.onnx --workspace=1024 --buildOnly", backend="local", display=False)
    assert run.status == "failed"
    assert any("--memPoolSize=workspace:1024" in n for n in run.notes)
    assert any("--skipInference" in n for n in run.notes)


def test_failed_run_lists_only_files_that_exist(stub):
    _onnx(stub, "fail.onnx")
    run = trtexec(
        "--onnx=fail.onnx --saveEngine=f.plan --exportProfile=p.json",
        backend="local",
        display=False,
    )
    assert set(run.files) == {"onnx", "log"}  # the failed build wrote no engine, no profile


def test_choose_backend_honours_the_environment_variable(monkeypatch):
    monkeypatch.setenv("TRT_MAGIC_BACKEND", "replay")
    backend, why = choose_backend()
    assert backend == "replay" and "TRT_MAGIC_BACKEND" in why


LOCAL_CHILD = """
import sys
from trt_magic import config
from trt_magic.runners import trtexec
config.use_settings(config.Settings(cache_dir=sys.argv[1], workdir=sys.argv[2]))
trtexec("--onnx=slow.onnx --saveEngine=s.plan", backend="local", display=False,
        on_line=lambda line: print("LINE", flush=True))
"""


def _processes_naming(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_text(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_a_kernel_killed_with_9_takes_its_local_trtexec_along(stub, tmp_path):
    import subprocess
    import sys

    _onnx(stub, "slow.onnx")
    root = Path(__file__).parent.parent
    child = subprocess.Popen(
        [sys.executable, "-c", LOCAL_CHILD, str(tmp_path / "cache"), str(stub)],
        stdout=subprocess.PIPE, text=True, cwd=stub,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    try:
        assert child.stdout.readline().startswith("LINE")
        assert _processes_naming(str(tmp_path / "bin" / "trtexec")), "trtexec should be running"
        child.kill()
        child.wait()
        deadline = time.monotonic() + 10
        while _processes_naming(str(tmp_path / "bin" / "trtexec")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_naming(str(tmp_path / "bin" / "trtexec")) == [], "trtexec left running"
        assert not list(stub.glob(".trt_magic-part-*"))
    finally:
        child.kill()
        for pid in _processes_naming(str(tmp_path / "bin" / "trtexec")):
            os.kill(pid, signal.SIGKILL)
