"""Compare runs: one table of the headline figures with a speed-up column, and a per-layer diff."""

from __future__ import annotations

import warnings
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
    "source": "source",  # "measured" or "recorded (<id>)": a recording is never the user's run
    "latency_includes": "latency_includes",
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
        if isinstance(names, str) or not isinstance(names, list | tuple):
            raise UsageError(f"names must be a list of strings, not {type(names).__name__}.",
                             hint="compare(a, b, names=['fp32', 'fp16'])")  # fmt: skip
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
    """Per-layer change between two engines: layers paired by name or by signature.

    ``match`` says how the layers were paired ("name" or "signature") and ``match_note`` why;
    ``name`` is the layer's name in ``a`` (in ``b`` for layers only there), ``name_b`` its
    partner's name in ``b``.
    """

    a: str
    b: str
    table: pd.DataFrame
    match: str = "name"
    match_note: str = ""

    @property
    def faster(self) -> pd.DataFrame:
        return self.table[self.table["change"] == "faster"]

    @property
    def slower(self) -> pd.DataFrame:
        return self.table[self.table["change"] == "slower"]

    @property
    def precision_changes(self) -> pd.DataFrame:
        return self.table[self.table["precision_changed"]]

    @property
    def moved(self) -> pd.DataFrame:
        """Paired layers whose time, tactic, precision or fusion changed."""
        t = self.table
        paired = t["change"].isin(["faster", "slower", "same"])
        changed = t["change"].isin(["faster", "slower"]) | t["precision_changed"]
        return t[paired & (changed | t["tactic_changed"] | t["fusion_changed"])]

    @property
    def unmatched(self) -> pd.DataFrame:
        return self.table[self.table["change"].isin(["only in a", "only in b"])]

    def _repr_html_(self) -> str:
        from ..display.compare_view import render_layer_diff

        return render_layer_diff(self)

    def to_html(self, path: str | Path) -> Path:
        from ..display.compare_view import render_layer_diff
        from ..display.page import write_page

        return write_page(path, render_layer_diff(self, top=None), title=f"{self.a} vs {self.b}")


def _entries(run: Run, frame: pd.DataFrame) -> list:
    """The frame's layers as ``--exportLayerInfo`` entries (names for rows without details)."""
    raw = list(run.profile_layer_info_raw(frame.attrs.get("shape_profile")))
    names = frame["name"].tolist()
    if (
        len(raw) > len(names)
        or [e if isinstance(e, str) else e.get("Name") for e in raw] != names[: len(raw)]
    ):
        raw = []  # the frame is not the layer info in order (e.g. a profile's slice)
    return raw + names[len(raw) :]


def _fused(name) -> float:
    return float(str(name).count(" + ") + 1) if isinstance(name, str) else float("nan")


def layer_diff(
    run_a: Run,
    run_b: Run,
    a: str = "a",
    b: str = "b",
    tolerance: float = 0.05,
    match: str = "auto",
    exact: bool = True,
) -> LayerDiff:
    """Pair two runs' layers and say which moved: time (by more than ``tolerance``, relative),
    tactic, precision, fusion; layers with no partner stay listed as ``only in a``/``only in b``.

    ``match``: "name", "signature" (layer type and shapes, TREx's rule: works across two exports
    of one network, two precisions, two TensorRT versions or GPUs) or "auto" (names when they
    pair at least as many layers, else signatures; ``LayerDiff.match_note`` says which).
    ``exact=False`` builds signatures from the first input and output only (TREx's
    ``exact_matching=False``).
    """
    import numpy as np
    import pandas as pd

    from .layer_match import match_layers

    fa, fb = run_a.layers, run_b.layers
    matching = match_layers(_entries(run_a, fa), _entries(run_b, fb), match, exact)
    ia = np.array([-1 if i is None else i for i, _ in matching.pairs], dtype="int64")
    ib = np.array([-1 if j is None else j for _, j in matching.pairs], dtype="int64")
    cols = ["name", "type", "precision", "tactic", "time_ms"]

    def side(frame: pd.DataFrame, index: np.ndarray, suffix: str) -> pd.DataFrame:
        picked = frame[cols].reset_index(drop=True).reindex(np.where(index >= 0, index, -1))
        return picked.reset_index(drop=True).add_suffix(suffix)

    t = pd.concat([side(fa, ia, "_a"), side(fb, ib, "_b")], axis=1)
    t["order"] = np.arange(len(t))  # the pairing's order: engine order, as TREx lists it
    t["name"] = t["name_a"].where(ia >= 0, t["name_b"])
    t["type"] = t["type_a"].where(ia >= 0, t["type_b"])
    t["delta_ms"] = t["time_ms_b"] - t["time_ms_a"]
    t["ratio"] = t["time_ms_b"] / t["time_ms_a"].replace(0, np.nan)
    rel = t["delta_ms"] / t[["time_ms_a", "time_ms_b"]].max(axis=1).replace(0, np.nan)
    t["change"] = np.select(
        [ib < 0, ia < 0, rel < -tolerance, rel > tolerance],
        ["only in a", "only in b", "faster", "slower"],
        default="same",
    )
    both = (ia >= 0) & (ib >= 0)
    pa, pb = t["precision_a"], t["precision_b"]
    t["precision_changed"] = both & pa.notna() & pb.notna() & (pa != pb)
    ta, tb = t["tactic_a"], t["tactic_b"]
    t["tactic_changed"] = both & ta.notna() & tb.notna() & (ta != tb)
    t["fusion_changed"] = both & (t["name_a"].map(_fused) != t["name_b"].map(_fused))
    t = t.assign(_abs=t["delta_ms"].abs()).sort_values(
        "_abs", ascending=False, na_position="last", kind="stable"
    )
    order = ["name", "type", "precision_a", "precision_b", "time_ms_a", "time_ms_b", "delta_ms",
             "ratio", "change", "precision_changed", "name_a", "name_b", "tactic_a", "tactic_b",
             "tactic_changed", "fusion_changed", "order"]  # fmt: skip
    return LayerDiff(a, b, t[order].reset_index(drop=True), matching.method, matching.note)


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
            recorded = frame["source"].fillna("").str.startswith("recorded")
            # a speed-up between a recording and a measured run compares two different machines
            frame.loc[recorded != recorded.iloc[0], "speedup"] = float("nan")
            self._table = frame
        return self._table.copy()

    @property
    def measurement_notes(self) -> list[str]:
        """Warnings that the runs' latencies include different things (empty when alike)."""
        return measurement_notes(self.runs, self.names)

    def _index(self, which: int | str) -> int:
        if isinstance(which, int):
            if not -len(self.runs) <= which < len(self.runs):
                raise UsageError(f"no run number {which}: there are {len(self.runs)}",
                                 hint=f"use 0..{len(self.runs) - 1} or a name: {self.names}")  # fmt: skip
            return which % len(self.runs)
        if which not in self.names:
            raise UsageError(f"no run named {which!r}", hint=f"names: {self.names}")
        return self.names.index(which)

    def layer_diff(
        self,
        a: int | str = 0,
        b: int | str = 1,
        tolerance: float = 0.05,
        match: str = "auto",
        exact: bool = True,
    ) -> LayerDiff:
        """Which layers got faster or slower from run ``a`` to run ``b``, which changed precision,
        tactic or fusion. ``match``: "auto", "name" or "signature" (see ``layer_diff``)."""
        i, j = self._index(a), self._index(b)
        return layer_diff(
            self.runs[i], self.runs[j], self.names[i], self.names[j], tolerance, match, exact
        )

    def why_not_faster(self, quantized: int | str = -1, baseline: int | str = 0):
        """Why run ``quantized`` (INT8/FP8) is not faster than run ``baseline`` (FP16/FP32):
        share of time in low precision, unfused Q/DQ, reformats added, slower layers."""
        from .quantization import why_not_faster

        i, j = self._index(quantized), self._index(baseline)
        return why_not_faster(self.runs[i], self.runs[j], (self.names[i], self.names[j]))

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
    comparison = Comparison(loaded, _names(loaded, names))
    for note in comparison.measurement_notes:
        warnings.warn(note, MeasurementWarning, stacklevel=2)
    return comparison


class MeasurementWarning(UserWarning):
    """The compared runs timed different things (copies, CUDA graph, spin wait, profiler)."""


def measurement_notes(runs: list[Run], names: list[str]) -> list[str]:
    """One note when the runs' latencies include different things, with the flags that measure
    as a plain application does (copies in and out, no CUDA graph, blocking sync)."""
    from .latency_meaning import differences, flags_like_your_code, latency_meaning

    timed = [(r, n) for r, n in zip(runs, names, strict=True) if _timed(r)]
    meanings = [latency_meaning(r) for r, _ in timed]
    diff = differences(meanings)
    if not diff:
        return []
    what = ", ".join(d.replace("_", " ") for d in diff)
    each = "; ".join(f"{n}: {m.label()}" for (_, n), m in zip(timed, meanings, strict=True))
    versions = sorted({str(r.summary.get("tensorrt_version") or "?") for r, _ in timed})
    fixes = "; ".join(
        f"TensorRT {v}: {flags_like_your_code(None if v == '?' else v)}" for v in versions
    )
    return [f"the runs measured different things ({what}): {each}. To time them all the way "
            f"an application runs (copies in and out, no CUDA graph, blocking sync): {fixes}"]  # fmt: skip


def _timed(run: Run) -> bool:
    summary = run.summary
    return any(k.startswith(("latency_", "gpu_compute_")) for k in summary)
