"""Ctrl-C (the notebook's stop button) during a real Docker sweep: ``sweep()`` returns only after
every worker stopped, its rows say ``cancelled``, and nothing is left behind (no container, no
partial engine) even when the process exits right after, and even with a second Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parent.parent


def _owned(client, pid: int) -> list:
    label = f"trt_magic.owner={socket.gethostname()}:{pid}"
    return client.containers.list(all=True, filters={"label": label}, ignore_removed=True)


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith((".log", ".json"))]


def test_two_ctrl_c_in_a_sweep_stop_everything_before_it_returns(
    docker_client, trtexec_image, tmp_path
):
    from accuracy_helpers import linear_model

    from trt_magic import config
    from trt_magic.sweeps import sweep

    config.use_settings(config.Settings(cache_dir=str(tmp_path / "cache"), backend="docker"))
    onnx = linear_model(tmp_path / "model-slow.onnx")  # the test image sleeps 60 s on it
    running = threading.Event()

    def interrupt_twice() -> None:
        deadline = time.monotonic() + 60
        while len([c for c in _owned(docker_client, os.getpid()) if c.status == "running"]) < 2:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        running.set()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # impatient: a second Ctrl-C while it stops

    threading.Thread(target=interrupt_twice, daemon=True).start()
    started = time.monotonic()
    try:
        result = sweep(onnx, precisions=["fp32", "fp16"], opt_levels=[0, 1], images=[trtexec_image],
                       gpus=[0, 1], container_gpus="none", cache=False, display=False,
                       outdir=tmp_path / "sweep")  # fmt: skip
    finally:
        config.use_settings(None)
    assert running.is_set(), "the builds never ran"
    assert time.monotonic() - started < 50  # stopped, not the 60 s of the builds
    assert [r.status for r in result.rows] == ["cancelled"] * 4
    assert _owned(docker_client, os.getpid()) == []  # every container gone when sweep() returned
    assert _leftovers(tmp_path / "sweep") == []  # no partial engine


def test_a_process_that_exits_right_after_ctrl_c_leaves_nothing(
    docker_client, trtexec_image, tmp_path
):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from accuracy_helpers import linear_model
        from trt_magic import config
        from trt_magic.sweeps import sweep
        config.use_settings(config.Settings(cache_dir={str(tmp_path / "cache")!r}, backend="docker"))
        onnx = linear_model({str(tmp_path / "model-slow.onnx")!r})
        print("sweeping", flush=True)
        result = sweep(onnx, precisions=["fp32", "fp16"], images=[{trtexec_image!r}], gpus=[0, 1],
                       container_gpus="none", cache=False, display=False, outdir={str(tmp_path / "sweep")!r})
        print("statuses", [r.status for r in result.rows], flush=True)
        print("errors", [r.error for r in result.rows], flush=True)
    """)  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 90
        while len([c for c in _owned(docker_client, child.pid) if c.status == "running"]) < 2:
            if child.poll() is not None:  # say what the sweep printed: its rows and their errors
                raise AssertionError(
                    f"the sweep ended before its builds ran: {child.stdout.read()}"
                )
            assert time.monotonic() < deadline, "the builds never ran"
            time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=60)  # the script ends as soon as sweep() returns
    finally:
        if child.poll() is None:
            child.kill()
    assert "statuses ['cancelled', 'cancelled']" in out, out
    assert _owned(docker_client, child.pid) == []
    assert _leftovers(tmp_path / "sweep") == []
