"""The precision an engine really runs in: ``Run.precision_mix``.

One row per layer precision (the ``Format/Datatype`` of each layer's first input in
``--exportLayerInfo``, as ``Run.layers`` reads it) with the number of layers, their time and
share of the time. A request for a low precision (``--fp16``, a cast model, ``--int8``...) that
runs mostly in FP32 gets a loud warning; at 0 % an error-level note, the case of
roboflow/rf-detr#1453, where an "FP16" engine on TensorRT 11 ran 0.00 % of its layers in half.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pandas as pd

from ..commandline.precision import LOW_PRECISIONS, requested_precision

if TYPE_CHECKING:  # pragma: no cover
    from .run import Run

#: under this share of time in the requested precision, a loud warning
WARN_SHARE = 0.5
#: row label of layers whose precision the layer info does not state (names-only exports)
UNKNOWN = "unknown"


class PrecisionWarning(UserWarning):
    """The engine does not run in the precision that was asked for."""


def request_of(run: Run) -> str:
    """What the run asked for: its rewrite, else its flags, else TREx's build metadata."""
    rewrite = getattr(run, "rewrite", None)
    if rewrite is not None:
        return "best" if "best" in rewrite.target.name else rewrite.precision
    asked = requested_precision(run.command)
    if asked != "fp32":
        return asked
    # TREx build metadata: "Precision": "FP32+FP16" / "FP32+FP16+INT8" (tests/data/trex/A100-*)
    stated = str(run.build_metadata.get("build_options", {}).get("Precision", "")).upper()
    parts = set(stated.split("+"))
    if "INT8" in parts:
        return "best" if "FP16" in parts else "int8"
    if "FP8" in parts:
        return "fp8"
    if "FP16" in parts:
        return "fp16"
    return "bf16" if "BF16" in parts else "fp32"


def precision_mix(run: Run) -> pd.DataFrame:
    """Layers, time (ms per inference) and share of time per precision, largest share first.

    ``frame.attrs`` holds ``requested`` (see :func:`request_of`), ``low_share`` (share of time in
    the requested low precisions, None for FP32 requests or without a profile) and ``verdict``
    (None, a warning, or an error-level note, which also go to ``run.notes`` and
    ``warnings.warn``).
    """
    layers = run.layers
    precision = layers["precision"].fillna(UNKNOWN) if len(layers) else layers["precision"]
    frame = (
        layers.assign(precision=precision)
        .groupby("precision")
        .agg(layers=("name", "size"), time_ms=("time_ms", "sum"))
    )
    total = float(frame["time_ms"].sum())
    frame["share"] = frame["time_ms"] / total if total > 0 else float("nan")
    frame = frame.sort_values(["share", "layers"], ascending=False)
    frame.index.name = "precision"
    requested = request_of(run)
    low = None
    if requested in LOW_PRECISIONS and total > 0:
        low = float(frame.loc[frame.index.isin(LOW_PRECISIONS[requested]), "share"].sum())
    frame.attrs.update(requested=requested, low_share=low, verdict=_verdict(requested, low))
    if frame.attrs["verdict"]:
        _announce(run, frame.attrs["verdict"])
    return frame


def _verdict(requested: str, low: float | None) -> str | None:
    if low is None or low >= WARN_SHARE:
        return None
    wanted = "/".join(LOW_PRECISIONS[requested])
    if low == 0:
        return (
            f"ERROR: {requested} was requested but 0 % of the time runs in {wanted}: this is an "
            "FP32 engine. On TensorRT 11 the precision flags are gone: build a rewritten model "
            "(cast_onnx / quantize_onnx; trt_magic does it for --fp16/--int8 on 11.x images)."
        )
    return (
        f"WARNING: {requested} was requested but only {low:.1%} of the time runs in {wanted}. "
        "Layers that stay in FP32 are in run.layers (precision column); cast_onnx keeps "
        "overflow-prone nodes in FP32 on purpose, and reformat layers count as FP32."
    )


def _announce(run: Run, verdict: str) -> None:
    if verdict not in run.notes:
        run.notes.append(verdict)
    warnings.warn(verdict, PrecisionWarning, stacklevel=4)
