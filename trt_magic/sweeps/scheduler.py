"""Run a sweep's variants concurrently: one worker per (Docker host, GPU) slot.

Each slot runs one variant at a time (a build and, when asked, its accuracy run), so no GPU ever
has two of our builds at once; slots take the next variant as soon as they are free, so a slow
variant does not hold the others up. A failure is kept in its row; cancel stops the running
containers (the runner removes them) and marks what never started as cancelled.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import TrtMagicError
from .variants import Variant


@dataclass(frozen=True)
class Slot:
    """One place a build can run: a Docker host (None: the default) and a GPU."""

    host: str | None
    gpu: str

    @property
    def label(self) -> str:
        return f"{self.host or 'default'} / GPU {self.gpu}"


@dataclass
class Row:
    """One variant's state and results (what the live table shows)."""

    variant: Variant
    status: str = "pending"  # pending, running, passed, failed, cancelled
    slot: Slot | None = None
    started: float | None = None
    finished: float | None = None
    run: Any = None  # the build's Run
    accuracy: Any = None  # AccuracyReport
    error: str = ""
    route: list[str] = field(default_factory=list)  # raw log lines naming a build route
    cached: bool = False
    phase: int = 1
    placement: str | None = (
        None  # where a cluster ran it ("slurm job 7 COMPLETED on n1 gpu:a100:1")
    )


#: does one row's variant on one slot, filling ``row.run`` / ``row.accuracy`` / ``row.route``
Work = Callable[[Row, Slot, threading.Event], None]


class Scheduler:
    """Runs rows on slots with worker threads (see module docstring).

    Args:
        slots: where builds run; one worker thread each.
        work: runs one row's variant on one slot (the sweep's build + accuracy check).
        on_change: called with the row after every state change (from worker threads).
        cancel: set it to stop: running work sees it (the runner stops its container), and
            rows not started yet end as cancelled.
        lanes: worker threads per slot: 1 keeps a slot to one build at a time (Docker hosts);
            a cluster executor keeps many variants in its engine's queue at once.
    """

    def __init__(
        self,
        slots: list[Slot],
        work: Work,
        on_change: Callable[[Row], None],
        cancel: threading.Event | None = None,
        lanes: int = 1,
    ):
        self.slots = slots
        self.lanes = max(1, int(lanes))
        self.work = work
        self.on_change = on_change
        self.rows: list[Row] = []
        self.cancel = cancel or threading.Event()
        self._lock = threading.Lock()
        self._shared: deque[Row] = deque()
        self._pinned: dict[Slot, deque[Row]] = {s: deque() for s in slots}

    def add(
        self, variants: list[Variant], phase: int = 1, pins: dict[Variant, Slot] | None = None
    ) -> list[Row]:
        """Queue variants. One with ``slot`` set, or pinned by ``pins``, waits for that slot."""
        added = []
        with self._lock:
            for v in variants:
                row = Row(v, phase=phase)
                self.rows.append(row)
                added.append(row)
                slot = Slot(*v.slot) if v.slot is not None else (pins or {}).get(v)
                if slot is None:
                    self._shared.append(row)
                else:
                    self._pinned[slot].append(row)
        return added

    def run(self) -> None:
        """Run every queued row; return when all are done or cancelled."""
        with self._lock:  # no more workers than rows waiting for them
            queued = len(self._shared) + sum(len(q) for q in self._pinned.values())
        per_slot = max(1, min(self.lanes, queued))
        workers = [
            threading.Thread(target=self._worker, args=(s,), name=f"sweep {s.label}", daemon=True)
            for s in self.slots
            for _ in range(per_slot)
        ]
        for w in workers:
            w.start()
        for w in workers:
            while w.is_alive():
                w.join(0.2)
        self._cancel_pending()

    def _next(self, slot: Slot) -> Row | None:
        with self._lock:
            if self.cancel.is_set():
                return None
            own = self._pinned[slot]
            if own:
                return own.popleft()
            return self._shared.popleft() if self._shared else None

    def _worker(self, slot: Slot) -> None:
        while (row := self._next(slot)) is not None:
            row.slot, row.status, row.started = slot, "running", time.time()
            self.on_change(row)
            try:
                self.work(row, slot, self.cancel)
                row.status = _status(row)
                row.error = _run_error(row) if row.status == "failed" else ""
            except TrtMagicError as exc:
                row.status, row.error = "failed", _short(exc)
            except Exception as exc:  # one variant's bug must not stop the others
                row.status = "failed"
                row.error = f"{type(exc).__name__}: {exc} (a trt_magic bug; please report it)"
            if self.cancel.is_set() and row.status != "passed":
                row.status = "cancelled"
            row.finished = time.time()
            self.on_change(row)

    def _cancel_pending(self) -> None:
        with self._lock:
            pending = [*self._shared, *(r for q in self._pinned.values() for r in q)]
            self._shared.clear()
            for q in self._pinned.values():
                q.clear()
        for row in pending:
            row.status = "cancelled"
            self.on_change(row)


def _status(row: Row) -> str:
    run = row.run
    ok = getattr(run, "ok", None)
    if ok is None:
        ok = getattr(run, "exit_code", None) == 0
    if not ok:
        return "cancelled" if getattr(run, "status", "") == "interrupted" else "failed"
    if row.accuracy is not None and not row.accuracy.passed:
        return "failed"
    return "passed"


def _run_error(row: Row) -> str:
    if row.accuracy is not None and not row.accuracy.passed and getattr(row.run, "ok", True):
        worst = max(row.accuracy.outputs, key=lambda o: o.out_of_tolerance, default=None)
        if worst is None:
            return "accuracy check failed"
        return (
            f"accuracy: {worst.name} {100 * worst.out_of_tolerance:.2f}% out of tolerance "
            f"(max abs error {worst.max_abs_error:.3g})"
        )
    errors = getattr(row.run, "errors", None) or []
    status = getattr(row.run, "status", "failed")
    return errors[-1] if errors else f"trtexec {status} (exit code {row.run.exit_code})"


def _short(exc: TrtMagicError) -> str:
    return exc.message + (f" (hint: {exc.hint.splitlines()[0]})" if exc.hint else "")
