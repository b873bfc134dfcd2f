"""The one small interface every backend implements, and what they share.

A backend's whole contract is ``run(job) -> Run``: :class:`Job` says what to run (flags already
mapped by ``trtexec/command.py``), :class:`LogSink` takes the output as it comes (full log to disk,
live view, ``on_line``), and :func:`settle_outputs` gives engines their final names or removes
partial ones. Backends: docker.py, local.py, replay.py.
"""

from __future__ import annotations

import codecs
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..commandline.command import PathPlan
from ..display.live import LiveLog, line_level
from ..results.run import Run
from .files import disk_error, new_file

if TYPE_CHECKING:  # pragma: no cover
    from .staging import Stage


@dataclass
class Job:
    """One trtexec invocation, ready for a backend."""

    args: list[str]  # the user's flags (host paths)
    plan: PathPlan  # the same mapped for the backend
    sink: LogSink
    image: str | None = None
    gpus: str = "all"
    timeout: float | None = None
    cancel: threading.Event | None = None
    transfer: str | None = None  # docker: "bind" | "copy" | None (auto)
    docker_host: str | None = None
    workdir: Path = field(default_factory=Path.cwd)
    notes: list[str] = field(default_factory=list)
    stage: Stage | None = None  # the per-run folder and the files exposed (runners/staging.py)

    def deadline(self, started: float) -> float | None:
        return None if self.timeout is None else started + self.timeout


class Runner(Protocol):
    """A backend: runs a :class:`Job` and returns its :class:`Run`."""

    name: str

    def run(self, job: Job) -> Run: ...


class LogSink:
    """Takes trtexec's output as it arrives: full log to a file, capped live view, ``on_line``."""

    def __init__(
        self,
        log_path: Path | None,
        live: LiveLog | None = None,
        on_line: Callable[[str], None] | None = None,
        tail_lines: int = 30,
    ):
        self.log_path = log_path
        self.live = live
        self.on_line = on_line
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.error_lines: list[str] = []
        self.lines = 0
        self.device = ""  # the GPU trtexec selected ("Selected Device: NVIDIA H100 PCIe")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._file = None  # opened on the first output, as a new file (no symlink followed)
        self.write_error: OSError | None = None  # the log could not be written (a full disk)
        self._tmp: Path | None = None

    def feed(self, chunk: bytes | str) -> None:
        """Add raw output (any chunking); complete lines are dispatched."""
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        if not text:
            return
        if self._file is None and self.log_path is not None and self.write_error is None:
            try:  # a new file beside the log, renamed over it at close()
                fd, self._tmp = new_file(self.log_path.parent, self.log_path.name)
                self._file = open(fd, "w", encoding="utf-8")  # noqa: SIM115 - see close()
            except OSError as exc:
                self.write_error = exc
        if self._file is not None:
            try:
                self._file.write(text)
                self._file.flush()  # on disk as it comes: what a full disk cut is still there
            except OSError as exc:  # a full disk: the run goes on, the caller reports it
                self.write_error = exc
                self._close_file()
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._line(line.rstrip("\r"))

    def note(self, text: str) -> None:
        """A trt_magic message: shown live, not written into trtexec's log."""
        if self.live is not None:
            self.live.note(text)

    def _line(self, line: str) -> None:
        self.lines += 1
        self.tail.append(line)
        if not self.device and "] Selected Device: " in line:  # every 8.x-10.x fixture log has it
            self.device = line.split("] Selected Device: ", 1)[1].strip()
        if line_level(line) == "error" and len(self.error_lines) < 200:
            self.error_lines.append(line)
        if self.live is not None:
            self.live.add(line)
        if self.on_line is not None:
            self.on_line(line)

    def close(self) -> None:
        rest = self._decoder.decode(b"", final=True)
        if rest:
            self.feed(rest)
        if self._partial:
            line, self._partial = self._partial, ""
            self._line(line.rstrip("\r"))
        self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
                if self.write_error is None:
                    os.replace(self._tmp, self.log_path)
            except OSError as exc:
                self.write_error = self.write_error or exc
            self._file = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def shielded(step: Callable[[], None]) -> bool:
    """Run a clean-up ``step`` to its end even through Ctrl-C (pressed twice: the step restarts;
    steps are idempotent); return True when an interrupt arrived meanwhile."""
    interrupted = False
    for _ in range(10):
        try:
            step()
            return interrupted
        except KeyboardInterrupt:
            interrupted = True
    return interrupted


def abort(job: Job, *steps: Callable[[], None]) -> None:
    """Clean up after an exception (Ctrl-C included): ``steps``, then the log and the folder."""
    for step in (*steps, job.sink.close, *([job.stage.close] if job.stage else [])):
        try:
            shielded(step)
        except Exception:  # clean-up is best effort; the original error is what the user sees
            pass


def settle_run(run: Run, job: Job, exit_code: int | None, stopped: str | None) -> None:
    """Close the log, move what a passed run wrote to its destinations, and list in ``run.files``
    only the inputs and the files this run produced."""
    job.sink.close()
    run.exit_code = exit_code
    run.status = status_for(exit_code, stopped)
    run.duration_s = time.time() - run.started
    inputs = {r.kind: r.host for r in job.plan.refs if r.kind and r.direction == "input"}
    if job.stage is None:
        run.files = {k: p for k, p in run.files.items() if Path(p).exists()}
        return
    if run.status == "failed" and _full(job.stage.folder):
        run.notes.append(f"the disk of {job.stage.folder.parent} is full: trtexec could not write")
    try:
        if job.sink.write_error is not None:
            raise job.sink.write_error
        produced = job.stage.settle(run.status == "passed")
    except OSError as exc:
        job.stage.close()
        raise disk_error(exc, exc.filename or job.stage.folder.parent) from None
    run.files = {**inputs, **produced}


def _full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < (64 << 10)


def settle_outputs(plan: PathPlan, ok: bool) -> None:
    """Give engines written under a temporary name their final name (ok), or remove them."""
    for ref in plan.refs:
        tmp = ref.temp_host
        if tmp is None or not tmp.exists():
            continue
        if ok:
            os.replace(tmp, ref.host)
        else:
            tmp.unlink(missing_ok=True)


def status_for(exit_code: int | None, stopped: str | None) -> str:
    """Run.status from the exit code, or why the run was stopped ("interrupted" / "timeout")."""
    if stopped:
        return stopped
    return "passed" if exit_code == 0 else "failed"


def summarize(run: Run, sink: LogSink, reproduce: str | None) -> str:
    """The closing line(s) of the live view: PASSED / FAILED with [E] lines and how to reproduce."""
    took = f"{run.duration_s:.1f} s" if run.duration_s is not None else ""
    if run.status == "passed":
        return f"trtexec PASSED in {took} (full log: {run.files.get('log', '-')})"
    lines = [f"trtexec {run.status.upper()} after {took} (exit code {run.exit_code})"]
    lines += [f"  {e}" for e in sink.error_lines[:20]]
    if run.status == "failed":
        lines += ["  last lines:"] + [f"    {t}" for t in list(sink.tail)[-10:]]
    lines += [f"  {n}" for n in run.notes]
    if reproduce:
        lines.append(f"  reproduce by hand: {reproduce}")
    lines.append(f"  full log: {run.files.get('log', '-')}")
    return "\n".join(lines)


def new_run(job: Job, backend: str) -> Run:
    """A Run with the fields every backend fills the same way."""
    return Run(
        command=list(job.args),
        status="running",
        files=job.plan.files(),
        backend=backend,
        gpus=job.gpus,
        started=time.time(),
        notes=list(job.notes),
    )


def pump(chunks: Iterable[bytes], job: Job, started: float, stop: Callable[[], None]) -> str | None:
    """Feed ``chunks`` (read on a thread) to the job's sink until they end; on the job's cancel
    event or timeout call ``stop`` and say which ("interrupted" / "timeout"), else None."""
    box: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for chunk in chunks:
                box.put(chunk)
        except Exception:  # the source was closed under us (interrupt/timeout)
            pass
        box.put(None)

    threading.Thread(target=read, daemon=True, name="trt_magic-log-reader").start()
    deadline = job.deadline(started)
    while True:
        try:
            chunk = box.get(timeout=0.1)
        except queue.Empty:
            chunk = b""
        if chunk is None:
            return None
        if chunk:
            job.sink.feed(chunk)
        if job.cancel is not None and job.cancel.is_set():
            stop()
            return "interrupted"
        if deadline is not None and time.time() > deadline:
            stop()
            return "timeout"
