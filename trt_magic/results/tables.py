"""Records -> pandas DataFrames: the per-layer join, the timings, the one-row summary.

Imported only when a run's tables are asked for (``Run.layers`` etc.), so pandas is imported at
the top here and nowhere that ``import trt_magic`` touches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .exports import LayerRecord, ProfileRecord, layer_columns, no_gc

LAYER_COLUMNS = [
    "name", "type", "layer_type", "precision", "tactic",
    "time_ms", "median_ms", "total_ms", "percent",
    "inputs", "output_shape", "out_dtype", "metadata",
]  # fmt: skip


def _layer_columns(layers: Sequence[LayerRecord]) -> dict[str, list]:
    """One pass over the records into column lists (no per-row DataFrame work)."""
    names, types, kinds, precs, tactics, n_in, shapes, dtypes, metas = ([] for _ in range(9))
    for rec in layers:
        raw = rec.raw
        names.append(rec.name)
        types.append(rec.type)
        kinds.append(raw.get("LayerType"))
        precs.append(rec.precision)
        tactics.append(rec.tactic)
        n_in.append(len(rec.inputs))
        out = rec.outputs[0] if rec.outputs else None
        shapes.append("x".join(map(str, out.dims)) if out is not None else None)
        dtypes.append(out.dtype if out is not None else None)
        metas.append(rec.metadata if raw.get("Metadata") else None)
    return {"name": names, "type": types, "layer_type": kinds, "precision": precs, "tactic": tactics,
            "inputs": n_in, "output_shape": shapes, "out_dtype": dtypes, "metadata": metas}  # fmt: skip


def _profile_columns(profile: Sequence[ProfileRecord]) -> dict[str, np.ndarray]:
    return {
        "time_ms": _floats([p.average_ms for p in profile]),
        "median_ms": _floats([p.median_ms for p in profile]),  # None (TensorRT <= 8.2): NaN
        "total_ms": _floats([p.time_ms for p in profile]),
        "percent": _floats([p.percent for p in profile]),
    }


def _floats(values: list) -> np.ndarray:
    """A float64 column; None becomes NaN."""
    return np.array(values, dtype="float64")


def align(left: list[str], right: list[str]) -> tuple[np.ndarray, list[int]] | None:
    """Match rows by (name, occurrence): for each left row the right row (-1: none), plus the
    right rows nobody matched. None when both lists are the same (the usual case: trtexec
    writes the profile in engine order). Linear: one dict, no join product for repeated names."""
    if left == right:
        return None
    seen: dict[str, int] = {}
    where: dict[tuple[str, int], int] = {}
    for j, name in enumerate(right):
        k = seen.get(name, 0)
        seen[name] = k + 1
        where[(name, k)] = j
    seen = {}
    index = np.empty(len(left), dtype="int64")
    for i, name in enumerate(left):
        k = seen.get(name, 0)
        seen[name] = k + 1
        index[i] = where.pop((name, k), -1)
    return index, sorted(where.values())


def _join(layers, profile) -> pd.DataFrame:
    if layers and not isinstance(layers[0], LayerRecord):  # raw entries: the fast path
        cols: dict[str, Any] = layer_columns(list(layers))
    else:
        cols = _layer_columns(layers)
    n = len(cols["name"])
    prof = _profile_columns(profile)
    names = [p.name for p in profile]
    matched = align(cols["name"], names)  # no layer info: every profile row is "extra"
    if matched is None:
        cols.update(prof)
    else:
        index, extra = matched
        hit = index >= 0
        safe = np.where(hit, index, 0)
        for key, values in prof.items():
            taken = values[safe] if len(values) else np.zeros(n)
            cols[key] = np.concatenate([np.where(hit, taken, np.nan), values[extra]])
        for key in list(cols):  # profile-only layers go last, with no layer details
            if key not in prof:
                filler = [names[j] for j in extra] if key == "name" else [None] * len(extra)
                cols[key] = list(cols[key]) + filler
    return pd.DataFrame({c: cols[c] for c in LAYER_COLUMNS})


def layers_frame(
    layers: Sequence[LayerRecord] | Sequence[dict | str], profile: Sequence[ProfileRecord]
) -> pd.DataFrame:
    """Join layer info and profile by layer name, engine order kept, in linear time.

    ``time_ms`` is the average per inference (``averageMs``), ``total_ms`` the sum over all
    profiled iterations (``timeMs``), ``percent`` trtexec's share of the total.
    """
    with no_gc():  # many small objects, no cycles: see exports.no_gc
        return _join(layers, profile)


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def timings_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``--exportTimes`` records as a frame: one row per inference, snake_case columns in ms."""
    frame = pd.DataFrame.from_records(records)
    frame.columns = [_CAMEL.sub("_", c).lower() for c in frame.columns]
    frame.index.name = "inference"
    return frame


def trace_frame(averages: Sequence[tuple[float, float, float]]) -> pd.DataFrame:
    """The log's ``Average on N runs`` lines (a coarse series when no --exportTimes exists)."""
    frame = pd.DataFrame(
        list(averages), columns=["gpu_latency_ms", "host_latency_ms", "enqueue_ms"]
    )
    frame.index.name = "window"
    return frame


def time_by(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Total per-inference time and layer count grouped by ``column`` (type or precision)."""
    timed = frame.assign(**{column: frame[column].fillna("(none)")})
    out = timed.groupby(column, sort=False).agg(time_ms=("time_ms", "sum"), layers=("name", "size"))
    total = out["time_ms"].sum()
    out["percent"] = out["time_ms"] / total * 100 if total else 0.0
    return out.sort_values("time_ms", ascending=False)
