"""Records -> pandas DataFrames: the per-layer join, the timings, the one-row summary.

Imported only when a run's tables are asked for (``Run.layers`` etc.), so pandas is imported at
the top here and nowhere that ``import trt_magic`` touches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .exports import LayerRecord, ProfileRecord, no_gc

LAYER_COLUMNS = [
    "name", "type", "layer_type", "precision", "tactic",
    "time_ms", "median_ms", "total_ms", "percent",
    "inputs", "output_shape", "out_dtype", "metadata",
]  # fmt: skip


def _layer_frame(layers: Sequence[LayerRecord]) -> pd.DataFrame:
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
    return pd.DataFrame(
        {"name": names, "type": types, "layer_type": kinds, "precision": precs, "tactic": tactics,
         "inputs": n_in, "output_shape": shapes, "out_dtype": dtypes, "metadata": metas}
    )  # fmt: skip


def _profile_frame(profile: Sequence[ProfileRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [p.name for p in profile],
            "time_ms": [p.average_ms for p in profile],
            "median_ms": [p.median_ms for p in profile],
            "total_ms": [p.time_ms for p in profile],
            "percent": [p.percent for p in profile],
        }
    ).astype(
        {"time_ms": "float64", "median_ms": "float64", "total_ms": "float64", "percent": "float64"}
    )


def _with_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Key each row by (name, occurrence): repeated names join one to one, never as a product."""
    frame["_n"] = frame.groupby("name", sort=False).cumcount()
    return frame


def layers_frame(layers: Sequence[LayerRecord], profile: Sequence[ProfileRecord]) -> pd.DataFrame:
    """Join layer info and profile by layer name (one vectorised merge, engine order kept).

    ``time_ms`` is the average per inference (``averageMs``), ``total_ms`` the sum over all
    profiled iterations (``timeMs``), ``percent`` trtexec's share of the total.
    """
    with no_gc():
        left = _with_key(_layer_frame(layers)) if layers else None
        right = _with_key(_profile_frame(profile)) if profile else None
    if left is None and right is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in LAYER_COLUMNS})
    if left is None:
        frame = right
    elif right is None:
        frame = left
    else:
        left["_pos"] = range(len(left))
        right["_ppos"] = range(len(left), len(left) + len(right))
        frame = left.merge(right, on=["name", "_n"], how="outer", sort=False)
        # an outer merge sorts its keys: put the engine's order back, profile-only rows last
        order = frame["_pos"].fillna(frame["_ppos"])
        frame = frame.iloc[order.argsort(kind="stable")].drop(columns=["_pos", "_ppos"])
    frame = frame.drop(columns="_n")
    for col in LAYER_COLUMNS:
        if col not in frame:
            frame[col] = pd.Series(
                [None] * len(frame),
                dtype="float64" if col.endswith(("_ms", "percent")) else "object",
            )
    return frame[LAYER_COLUMNS].reset_index(drop=True)


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
