"""Compare runs: one table of the headline figures with a speed-up column, and a per-layer diff."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .run import Run

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: summary key -> column of Comparison.table, in order
TABLE_COLUMNS = {
    "throughput_qps": "throughput_qps",
    "latency_median_ms": "latency_p50_ms",
    "latency_p99_ms": "latency_p99_ms",
    "gpu_compute_median_ms": "gpu_compute_p50_ms",
    "engine_size_mib": "engine_size_mib",
    "build_time_s": "build_time_s",
    "precision": "precision",
    "device": "device",
    "tensorrt_version": "tensorrt_version",
    "status": "status",
}


def _as_run(item: Run | str | Path) -> Run:
    if isinstance(item, Run):
        return item
    if isinstance(item, str | Path):
        from .load import load_run

        return load_run(item)
    raise UsageError(
        f"compare() takes runs or result prefixes, not {type(item).__name__}",
        hint="pass Run objects (what %trtexec / trtexec() return) or paths given to load_run()",
    )


def _names(runs: list[Run], names) -> list[str]:
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != len(runs):
            raise UsageError(f"compare() got {len(runs)} runs but {len(names)} names",
                             hint="give one name per run, or none")  # fmt: skip
    else:
        names = [run.title() for run in runs]
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # two runs of one model: "model.onnx", "model.onnx (2)"
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


@dataclass
class LayerDiff:
    """Per-layer change between two runs of the same model (joined by layer name)."""

    a: str
    b: str
    table: pd.DataFrame

    @property
    def faster(self) -> pd.DataFrame:
        return self.table[self.table["change"] == "faster"]

    @property
    def slower(self) -> pd.DataFrame:
        return self.table[self.table["change"] == "slower"]

    @property
    def precision_changes(self) -> pd.DataFrame:
        return self.table[self.table["precision_changed"]]

    def _repr_html_(self) -> str:
        from ..display.compare_view import render_layer_diff

        return render_layer_diff(self)

    def to_html(self, path: str | Path) -> Path:
        from ..display.compare_view import render_layer_diff
        from ..display.page import write_page

        return write_page(path, render_layer_diff(self, top=None), title=f"{self.a} vs {self.b}")


def _with_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Key rows by (name, occurrence): repeated names pair up one to one, never as a product."""
    frame["_n"] = frame.groupby("name", sort=False).cumcount()
    return frame


def layer_diff(
    run_a: Run, run_b: Run, a: str = "a", b: str = "b", tolerance: float = 0.05
) -> LayerDiff:
    """Join two runs' layers by name; a layer whose time moved by more than ``tolerance``
    (relative) is ``faster`` or ``slower``; ``only in a``/``only in b`` when names differ."""
    import numpy as np

    cols = ["name", "type", "precision", "time_ms"]
    left = _with_key(run_a.layers[cols].copy())
    right = _with_key(run_b.layers[cols].copy())
    t = left.merge(right, on=["name", "_n"], how="outer", suffixes=("_a", "_b"), indicator=True)
    t["type"] = t["type_a"].fillna(t["type_b"])
    t["delta_ms"] = t["time_ms_b"] - t["time_ms_a"]
    t["ratio"] = t["time_ms_b"] / t["time_ms_a"].replace(0, np.nan)
    rel = t["delta_ms"] / t[["time_ms_a", "time_ms_b"]].max(axis=1).replace(0, np.nan)
    t["change"] = np.select(
        [
            t["_merge"] == "left_only",
            t["_merge"] == "right_only",
            rel < -tolerance,
            rel > tolerance,
        ],
        ["only in a", "only in b", "faster", "slower"],
        default="same",
    )
    both = t["precision_a"].notna() & t["precision_b"].notna()
    t["precision_changed"] = both & (t["precision_a"] != t["precision_b"])
    t = t.assign(_abs=t["delta_ms"].abs()).sort_values("_abs", ascending=False, na_position="last")
    order = ["name", "type", "precision_a", "precision_b", "time_ms_a", "time_ms_b", "delta_ms",
             "ratio", "change", "precision_changed"]  # fmt: skip
    return LayerDiff(a, b, t[order].reset_index(drop=True))


@dataclass
class Comparison:
    """Several runs side by side. ``table``: one row per run with ``speedup`` against the first."""

    runs: list[Run]
    names: list[str]
    _table: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        import pandas as pd

        if self._table is None:
            rows = []
            for run in self.runs:
                s = run.summary
                rows.append({col: s.get(key) for key, col in TABLE_COLUMNS.items()})
            frame = pd.DataFrame(rows, index=pd.Index(self.names, name="run"))
            frame.insert(1, "speedup", _speedup(frame))
            self._table = frame
        return self._table.copy()

    def _index(self, which: int | str) -> int:
        if isinstance(which, int):
            if not -len(self.runs) <= which < len(self.runs):
                raise UsageError(f"no run number {which}: there are {len(self.runs)}",
                                 hint=f"use 0..{len(self.runs) - 1} or a name: {self.names}")  # fmt: skip
            return which % len(self.runs)
        if which not in self.names:
            raise UsageError(f"no run named {which!r}", hint=f"names: {self.names}")
        return self.names.index(which)

    def layer_diff(self, a: int | str = 0, b: int | str = 1, tolerance: float = 0.05) -> LayerDiff:
        """Which layers got faster or slower from run ``a`` to run ``b``, which changed precision."""
        i, j = self._index(a), self._index(b)
        return layer_diff(self.runs[i], self.runs[j], self.names[i], self.names[j], tolerance)

    def _repr_html_(self) -> str:
        from ..display.compare_view import render_comparison

        return render_comparison(self)

    def to_html(self, path: str | Path) -> Path:
        from ..display.compare_view import render_comparison
        from ..display.page import write_page

        return write_page(path, render_comparison(self), title=" vs ".join(self.names))


def _speedup(frame: pd.DataFrame) -> pd.Series:
    """Throughput over the first run's; from median latency when throughput is missing."""
    import numpy as np

    thr = frame["throughput_qps"].astype("float64")
    lat = frame["latency_p50_ms"].astype("float64")
    by_thr = thr / thr.iloc[0] if thr.iloc[0] else thr * np.nan
    by_lat = lat.iloc[0] / lat if lat.iloc[0] == lat.iloc[0] else lat * np.nan
    return by_thr.where(by_thr.notna(), by_lat)


def compare(*runs: Run | str | Path, names=None) -> Comparison:
    """Compare runs (or result prefixes for ``load_run``): throughput, latency p50/p99, GPU
    compute, engine size and build time in one table, with the speed-up against the first."""
    if len(runs) == 1 and isinstance(runs[0], list | tuple):
        runs = tuple(runs[0])
    if len(runs) < 2:
        raise UsageError("compare() needs at least two runs",
                         hint="compare(run_fp32, run_fp16) or compare('out/a', 'out/b')")  # fmt: skip
    loaded = [_as_run(r) for r in runs]
    return Comparison(loaded, _names(loaded, names))
