"""One benchmark figure: a measurement, its same-run baseline, and the target ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    measured: float | str
    baseline: float | None
    target: float | None  # the ratio must stay at or below this; None: reported only
    unit: str = "s"
    bench: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if isinstance(self.measured, str) or not self.baseline:
            return None
        return self.measured / self.baseline

    def row(self) -> str:
        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, str):
                return v
            return f"{v:.4g} {self.unit}".strip()

        ratio = self.ratio
        ok = (
            "-"
            if self.target is None or ratio is None
            else ("yes" if ratio <= self.target else "NO")
        )
        target = "-" if self.target is None else f"<= {self.target:g}x"
        ratio_s = "-" if ratio is None else f"{ratio:.3f}x"
        name = self.name + (f" ({self.note})" if self.note else "")
        return f"| {self.bench} | {name} | {fmt(self.measured)} | {fmt(self.baseline)} | {ratio_s} | {target} | {ok} |"


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
