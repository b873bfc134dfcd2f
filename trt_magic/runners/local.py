"""The local backend: ``trtexec`` on PATH (inside an NGC container, or a TensorRT install).

Same semantics as the Docker backend: argument list (no shell), live streaming, interrupt and
timeout stop the process group within 2 s and delete the partial engine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

from ..commandline.command import format_command
from ..errors import RunnerError
from ..results.run import Run
from .base import Job, abort, new_run, pump, settle_run, summarize
from .watchdog import Watchdog


def find_trtexec() -> str | None:
    """Path of ``trtexec`` on PATH (or in /usr/src/tensorrt/bin, where NGC images keep it)."""
    return shutil.which("trtexec") or shutil.which("trtexec", path="/usr/src/tensorrt/bin")


class LocalRunner:
    """Runs trtexec as a subprocess of the kernel."""

    name = "local"

    def __init__(self, executable: str | None = None):
        self.executable = executable or find_trtexec()
        if self.executable is None:
            raise RunnerError(
                "trtexec is not on PATH.",
                hint="use --backend docker (the TensorRT container), or add TensorRT's bin folder "
                "to PATH, or --backend replay for recorded runs",
            )

    @property
    def host(self) -> str:
        return socket.gethostname()

    def image_id(self, image: str | None = None, note=None) -> str:
        """What identifies this trtexec for the caches: its real path, size and mtime."""
        st = os.stat(self.executable)
        return f"local:{os.path.realpath(self.executable)}:{st.st_size}:{st.st_mtime_ns}"

    def run(self, job: Job) -> Run:
        run = new_run(job, "local")
        run.host = self.host
        argv = [self.executable, *job.plan.args]
        proc, dog = None, None
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=job.workdir,
                start_new_session=True,  # its own process group: we stop trtexec and its children
            )
            folder = job.stage.folder if job.stage is not None else None
            dog = Watchdog(f"pgid:{proc.pid}", "", folder)  # kills trtexec if this kernel dies
            stopped = pump(
                iter(lambda: proc.stdout.read1(1 << 16), b""), job, time.time(), lambda: _stop(proc)
            )
            if stopped is None:
                proc.wait()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                job.sink.note("interrupted: trtexec stopped, partial files deleted")
            abort(job, lambda: proc is not None and _stop(proc))
            if dog is not None:
                dog.release(clean=False)
            raise
        dog.release(clean=True)
        settle_run(run, job, None if stopped else proc.returncode, stopped)
        if stopped:
            run.notes.append(f"stopped ({stopped}); process killed, partial files deleted")
        if job.sink.live is not None:
            job.sink.live.finish(summarize(run, job.sink, format_command(argv)))
        return run


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it after 1 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=1.0)
    except ProcessLookupError:
        pass
