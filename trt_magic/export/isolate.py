"""Run an export where it can be stopped (``timeout``) and pinned to one NUMA node.

A thread cannot be stopped, so a hung ``torch.onnx.export`` in a thread would keep burning CPU
for the rest of the kernel's life. With a timeout, or on a multi-NUMA host, the export runs in a
forked child instead: it inherits the model without pickling (notebook classes live in
``__main__``), can be killed, and its CPU affinity can be set before any worker thread starts.
The child runs torch single-threaded: GNU OpenMP's thread pool does not survive ``fork`` (a
forked child that uses the parent's pool hangs; measured with torch 2.13 on this machine).
Without either, the export runs in the calling thread: no fork cost (the benchmark's 1.05x).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: root of the sysfs tree NUMA topology is read from (tests point it at a fake tree)
SYSFS_ROOT = "/sys"


@dataclass
class ErrorRecord:
    """An exception as plain data, so it can cross the process boundary and be diagnosed."""

    type: str  # qualified name, e.g. "torch.onnx.errors.UnsupportedOperatorError"
    message: str
    chain: list[tuple[str, str]] = field(default_factory=list)  # (type, message) of causes
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorRecord:
        chain = []
        cause = exc.__cause__ or exc.__context__
        while cause is not None and len(chain) < 8:
            chain.append((_qualname(cause), str(cause)))
            cause = cause.__cause__ or cause.__context__
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(_qualname(exc), str(exc), chain, tb)

    @property
    def text(self) -> str:
        """The message and every cause's, for pattern matching."""
        return "\n".join([f"{self.type}: {self.message}"] + [f"{t}: {m}" for t, m in self.chain])


class ChildFailed(Exception):
    """The forked export raised; ``record`` says what."""

    def __init__(self, record: ErrorRecord):
        # the child's own traceback as the message, so %tb shows where it really failed
        super().__init__(record.traceback or record.message)
        self.record = record


class ChildTimedOut(Exception):
    """The forked export ran past its timeout and was killed."""


def _qualname(exc: BaseException) -> str:
    t = type(exc)
    return f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__qualname__


def parse_cpulist(text: str) -> list[int]:
    """``"0-3,8-11"`` (the format of sysfs ``node*/cpulist``) -> ``[0, 1, 2, 3, 8, 9, 10, 11]``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def numa_nodes(sysfs_root: str | None = None) -> dict[int, list[int]]:
    """NUMA node -> its CPUs, from ``<sysfs>/devices/system/node/node<N>/cpulist``."""
    base = Path(sysfs_root or SYSFS_ROOT) / "devices/system/node"
    nodes = {}
    for d in sorted(base.glob("node[0-9]*")):
        try:
            cpus = parse_cpulist((d / "cpulist").read_text())
        except (OSError, ValueError):
            continue
        if cpus:
            nodes[int(d.name[4:])] = cpus
    return nodes


def pinning_plan(sysfs_root: str | None = None) -> tuple[int, list[int]] | None:
    """(node, cpus) to pin the export to when the host has more than one NUMA node, else None.

    The node is the first one holding CPUs this process may use.
    """
    nodes = numa_nodes(sysfs_root)
    if len(nodes) < 2:
        return None
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    for node, cpus in nodes.items():
        usable = [c for c in cpus if allowed is None or c in allowed]
        if usable:
            return node, usable
    return None


def run_isolated(
    fn: Callable[[], Any],
    *,
    timeout: float | None,
    cpus: list[int] | None = None,
    child_setup: Callable[[], None] | None = None,
) -> Any:
    """Return ``fn()``: in this thread, or in a forked child when ``timeout`` or ``cpus`` is set.

    Raises:
        ChildFailed: ``fn`` raised in the child (the record carries type, message, traceback).
        ChildTimedOut: the child ran past ``timeout`` seconds and was killed.
    """
    if timeout is None and not cpus:
        return fn()
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded, fork() may deadlock"
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its outcome is asserted through the parent
        os.close(read_fd)
        _child(fn, write_fd, cpus, child_setup)
    os.close(write_fd)
    try:
        payload = _read_all(read_fd, pid, timeout)
    finally:
        os.close(read_fd)
    status, value = pickle.loads(payload) if payload else ("error", _died(pid))
    if status == "error":
        raise ChildFailed(value)
    return value


def _child(fn, write_fd: int, cpus, child_setup) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        if cpus:
            os.sched_setaffinity(0, cpus)
        if child_setup is not None:
            child_setup()
        out = ("ok", fn())
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        out = ("error", ErrorRecord.from_exception(exc))
    try:
        data = pickle.dumps(out)
    except Exception as exc:  # noqa: BLE001
        data = pickle.dumps(("error", ErrorRecord.from_exception(exc)))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
    except OSError:
        code = 1
    os._exit(code)


def _read_all(fd: int, pid: int, timeout: float | None) -> bytes:
    deadline = None if timeout is None else time.monotonic() + timeout
    chunks = []
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise ChildTimedOut(f"the export ran past {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:  # timeout or KeyboardInterrupt: the child must not outlive us
        _kill(pid)
        raise
    os.waitpid(pid, 0)
    return b"".join(chunks)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _died(pid: int) -> ErrorRecord:
    return ErrorRecord("ChildDied", "the export process ended without a result (killed?)")
