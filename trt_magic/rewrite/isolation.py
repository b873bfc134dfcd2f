"""Run an ONNX rewrite (clean-up, cast, quantization) in a worker process that can be abandoned when it hangs or crashes.

Why a process and not a thread: a thread stuck in C++ (onnxsim, onnxruntime) can be neither
stopped nor killed, keeps its CPU and memory until the kernel restarts, and a segfault there
takes the notebook kernel down with it. A process can be killed on timeout and dies alone.
Its cost (interpreter start, importing onnx and the method's library) is paid once: the worker is
kept warm and reused, and only a hang or a crash makes the next call start a fresh one. ``spawn``
semantics (a fresh ``python -m``), never ``fork``: the parent may hold torch/onnxruntime threads.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

#: seconds a worker may take to start, load the model and import the method, beyond the timeout
STARTUP_GRACE = 60.0
#: glibc malloc settings for the worker: blocks up to 256 MiB come from its heap, and up to
#: 256 MiB of freed heap is kept for the next request. glibc's defaults give a freed model's
#: buffers back to the kernel after every request and fault them in again on the next: a cast of
#: a 25M-parameter model took ~45k page faults and ~0.12 s of system CPU more than the
#: ModelOpt call itself (the idle worker now holds its peak, ~50 MB more here). Bigger blocks
#: still go back. Settings the user gives in GLIBC_TUNABLES come after, so they win.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456"


def worker_env() -> dict[str, str]:
    """The worker's environment: the parent's, its import path, and ``MALLOC_TUNABLES``."""
    env = dict(os.environ)
    # the child imports registered methods by name, from wherever the parent could
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["GLIBC_TUNABLES"] = ":".join(t for t in (MALLOC_TUNABLES, env.get("GLIBC_TUNABLES")) if t)
    return env


@dataclass
class Outcome:
    """What one request came to: ``status`` ok, external, error, crashed or timeout."""

    status: str
    answer: dict
    log_tail: str = ""


class Worker:
    """One ``python -m trt_magic.rewrite.worker`` child with a JSON-lines pipe and a log file."""

    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="trt_magic_rewrite_", suffix=".log")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trt_magic.rewrite.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=worker_env(),
            text=True,
        )
        # one reader thread per worker: works on every OS, and a line never waits in a buffer
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, name="trt_magic-rewrite-reader", daemon=True).start()

    def alive(self) -> bool:
        return self.process.poll() is None

    def request(self, payload: dict, timeout: float | None) -> Outcome:
        """Send one request and wait for its answer, at most ``timeout`` seconds."""
        offset = os.path.getsize(self.log.name)
        try:
            self.process.stdin.write(json.dumps(payload) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return Outcome("crashed", {}, self._tail(offset))
        try:
            # the timeout is the method's: loading and importing get a minute more, then it runs
            line = self._read_answer(None if timeout is None else timeout + STARTUP_GRACE)
            if line and json.loads(line)["status"] == "running":
                line = self._read_answer(timeout)
        except BaseException:  # Ctrl-C in the notebook: a late answer must not reach the next call
            self.kill()
            raise
        if line is None:
            self.kill()
            return Outcome("timeout", {}, self._tail(offset))
        if not line:
            self.process.wait()
            tail = self._tail(offset)
            return Outcome("crashed", {"returncode": self.process.returncode}, tail)
        answer = json.loads(line)
        ok = answer["status"] == "ok"
        return Outcome(answer["status"], answer, "" if ok else self._tail(offset))

    def _read_answer(self, timeout: float | None) -> str | None:
        """The next line ('' when the child died), or None when ``timeout`` passed first."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def _pump(self) -> None:
        """Move the child's protocol lines into the queue ('' at end of file); own thread."""
        stdout = self.process.stdout
        try:
            for line in stdout:
                self._lines.put(line)
        except (OSError, ValueError):  # the pipe went away with the child
            pass
        finally:
            self._lines.put("")
            stdout.close()

    def _tail(self, offset: int, limit: int = 4000) -> str:
        try:
            with open(self.log.name, errors="replace") as f:
                f.seek(offset)
                return f.read()[-limit:]
        except OSError:
            return ""

    def kill(self) -> None:
        """Stop the child now (a hang); the reader thread then sees EOF and closes stdout."""
        if self.alive():
            self.process.kill()
        self.process.wait()
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def close(self) -> None:
        """Ask the child to finish (EOF on stdin), killing it if it does not."""
        try:
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()
        self.log.close()


_lock = threading.Lock()
_worker: Worker | None = None


def run_in_worker(payload: dict, timeout: float | None) -> Outcome:
    """Run one request in the shared warm worker; a hang or crash retires that worker."""
    global _worker
    with _lock:
        if _worker is None or not _worker.alive():
            if _worker is not None:
                _worker.close()
            _worker = Worker()
        outcome = _worker.request(payload, timeout)
        if outcome.status in ("timeout", "crashed"):
            _worker.close()
            _worker = None
        return outcome


@atexit.register
def shutdown() -> None:
    """Stop the worker (also at interpreter exit)."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.close()
            _worker = None
