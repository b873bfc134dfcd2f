"""The numbers behind each engine layer: every raw ``--exportLayerInfo`` attribute, MACs,
arithmetic intensity, weight and activation bytes, and the engine's memory totals.

The derived figures follow TREx 0.2.1 (NVIDIA/TensorRT tools/experimental/trt-engine-explorer
``trex/layer.py``, ``trex/activations.py``) and equal its ``total_io_size_bytes`` and
``weights_size`` on every layer of the real exports (tests/data/trex_pairs/sizes.json):
activation bytes are ``prod(Dimensions) x element size`` of every input and output (vectorized
formats' channel padding not counted); weight bytes ``Weights.Count`` times its element size.
TREx leaves the bias out, so ``bias_bytes`` is a column of its own (intensity counts both).
MACs are counted where the layer info has the shapes: convolutions (``N x prod(output spatial)
x Weights.Count``), transposed convolutions (per input pixel), fully connected layers and GEMMs
(``prod(output) x K``). A dimension of -1 (a dynamic shape not resolved in the export) gives no
figure rather than a wrong one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .exports import dtype_of_format

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: bytes per element of each normalised precision (exports.dtype_of_format); FP4/INT4 are packed
ELEMENT_BYTES = {
    "FP64": 8.0, "INT64": 8.0, "FP32": 4.0, "INT32": 4.0, "FP16": 2.0, "BF16": 2.0,
    "INT16": 2.0, "INT8": 1.0, "UINT8": 1.0, "FP8": 1.0, "BOOL": 1.0, "FP4": 0.5, "INT4": 0.5,
}  # fmt: skip
#: ``Weights.Type`` / ``Bias.Type`` spellings (8.x long, 10.x short) -> bytes per element
_WEIGHT_TYPES = {"Float": 4.0, "FP32": 4.0, "Half": 2.0, "FP16": 2.0, "BFloat16": 2.0,
                 "Int8": 1.0, "INT8": 1.0, "Int32": 4.0, "FP8": 1.0, "Int4": 0.5, "FP4": 0.5}  # fmt: skip
CONV_TYPES = frozenset({"Convolution"})
GEMM_TYPES = frozenset({"gemm", "MatrixMultiply", "FullyConnected"})
#: derived columns added after the raw attributes
DERIVED = ["type", "precision", "macs", "weights_bytes", "bias_bytes", "activation_bytes",
           "intensity"]  # fmt: skip


def _count(dims) -> int | None:
    if not dims and dims != []:
        return None
    total = 1
    for d in dims:
        if not isinstance(d, int) or d < 0:
            return None
        total *= d
    return total


def tensor_bytes(tensor: dict) -> float | None:
    """``prod(Dimensions) x element size`` of one input/output (None when unknown)."""
    n = _count(tensor.get("Dimensions"))
    size = ELEMENT_BYTES.get(dtype_of_format(tensor.get("Format/Datatype")) or "")
    return None if n is None or size is None else n * size


def weights_bytes(raw: dict, keys: tuple[str, ...] = ("Weights", "Bias")) -> float:
    """Bytes of the layer's own weights and bias (0 when it lists none); ``keys=("Weights",)``
    for the weights alone (TREx's ``Layer.weights_size``)."""
    total = 0.0
    for key in keys:
        w = raw.get(key)
        if isinstance(w, dict) and isinstance(w.get("Count"), int):
            total += w["Count"] * _WEIGHT_TYPES.get(str(w.get("Type")), 0.0)
    return total


def _weight_count(raw: dict) -> int | None:
    w = raw.get("Weights")
    return w.get("Count") if isinstance(w, dict) and isinstance(w.get("Count"), int) else None


def macs(raw: dict) -> int | None:
    """Multiply-accumulates of a convolution, deconvolution, fully connected layer or GEMM."""
    kind = raw.get("ParameterType") or raw.get("LayerType")
    inputs, outputs = raw.get("Inputs") or (), raw.get("Outputs") or ()
    if not inputs or not outputs:
        return None
    in_dims, out_dims = inputs[0].get("Dimensions") or [], outputs[0].get("Dimensions") or []
    count = _weight_count(raw)
    if kind in CONV_TYPES and len(out_dims) >= 3 and count:
        deconv = raw.get("LayerType") == "CaskDeconvolutionV2"  # scatters each input pixel
        spatial = _count(in_dims[2:] if deconv else out_dims[2:])
        batch = out_dims[0] if isinstance(out_dims[0], int) and out_dims[0] > 0 else None
        return None if spatial is None or batch is None else batch * spatial * count
    if kind == "FullyConnected" and count and in_dims and in_dims[0] > 0:
        return in_dims[0] * count
    if kind in GEMM_TYPES and len(in_dims) >= 1 and out_dims:
        total = _count(out_dims)
        k = in_dims[-1]
        if len(in_dims) >= 2 and len(out_dims) >= 2 and in_dims[-1] == out_dims[-2] != in_dims[-2]:
            k = in_dims[-2]  # A is transposed
        return None if total is None or k < 0 else total * k
    return None


def _precision(raw: dict) -> str | None:
    first = (raw.get("Inputs") or raw.get("Outputs") or [None])[0]
    return dtype_of_format(first.get("Format/Datatype")) if first else None


def derived(raw: dict | str) -> tuple:
    """(type, precision, macs, weights_bytes, bias_bytes, activation_bytes, intensity)."""
    return _derived_columns([raw])[0]


def _derived_columns(raw_layers: Sequence[dict | str]) -> list[tuple]:
    """``derived`` for every layer in one tight loop (the per-layer cost of ``layer_info``)."""
    none = (None,) * len(DERIVED)
    sizes: dict[str | None, float | None] = {}  # Format/Datatype -> bytes per element
    prec: dict[str | None, str | None] = {}
    prod = math.prod
    out = []
    append = out.append
    for raw in raw_layers:
        if isinstance(raw, str):
            append(none)
            continue
        inputs, outputs = raw.get("Inputs") or (), raw.get("Outputs") or ()
        act = 0.0
        for t in (*inputs, *outputs):
            fmt = t.get("Format/Datatype")
            size = sizes.get(fmt, -1.0)
            if size == -1.0:
                size = sizes[fmt] = ELEMENT_BYTES.get(dtype_of_format(fmt) or "")
            dims = t.get("Dimensions")
            if size is None or dims is None or (dims and min(dims) < 0):
                act = math.nan
                break
            act += prod(dims) * size
        kind = raw.get("ParameterType") or raw.get("LayerType")
        w = weights_bytes(raw, ("Weights",)) if "Weights" in raw else 0.0
        bias = weights_bytes(raw, ("Bias",)) if "Bias" in raw else 0.0
        m = macs(raw) if kind in CONV_TYPES or kind in GEMM_TYPES else None
        moved = act + w + bias
        intensity = m / moved if m is not None and moved and moved == moved else None
        first = inputs[0] if inputs else (outputs[0] if outputs else None)
        fmt = first.get("Format/Datatype") if first else None
        precision = prec.get(fmt, "?")
        if precision == "?":
            precision = prec[fmt] = dtype_of_format(fmt)
        append((kind, precision, m, w, bias, None if act != act else act, intensity))
    return out


def _columns(raw_layers: Sequence[dict | str]) -> dict[str, list]:
    """Column lists of every attribute in one pass; objects one level flat (``Weights.Count``)."""
    n = len(raw_layers)
    cols: dict[str, list] = {"Name": [None] * n}
    for i, raw in enumerate(raw_layers):
        if isinstance(raw, str):
            cols["Name"][i] = raw
            continue
        for key, value in raw.items():
            if type(value) is dict:
                for sub, v in value.items():
                    name = f"{key}.{sub}"
                    col = cols.get(name)
                    if col is None:
                        col = cols[name] = [None] * n
                    col[i] = v
                continue
            col = cols.get(key)
            if col is None:
                col = cols[key] = [None] * n
            col[i] = value
    return cols


def layer_info_frame(raw_layers: Sequence[dict | str]) -> pd.DataFrame:
    """Every raw attribute of every layer (one row each, engine order) plus the derived columns.

    Nested objects are flattened one level (``Weights.Type``, ``Weights.Count``); ``Inputs`` and
    ``Outputs`` stay lists of tensor dicts. A names-only export gives just ``Name``.
    """
    import pandas as pd

    from .exports import no_gc

    with no_gc():
        cols: dict[str, Any] = _columns(raw_layers)
        extra = list(zip(*_derived_columns(raw_layers), strict=True)) or [[]] * len(DERIVED)
        for name, values in zip(DERIVED, extra, strict=True):
            cols[name] = pd.Series(values, dtype=_DTYPES[name])
        return pd.DataFrame(cols)


_DTYPES = {"type": "object", "precision": "object", "macs": "float64",
           "weights_bytes": "float64", "bias_bytes": "float64", "activation_bytes": "float64",
           "intensity": "float64"}  # fmt: skip


def memory_totals(
    raw_layers: Sequence[dict | str], log_memory: dict[str, int] | None = None
) -> dict:
    """The engine's memory figures: weights and activations summed over the layer info (TREx's
    ``total_weights_size`` / ``total_act_size``), and what the build log says
    (``Total Weights Memory``, ``Total Activation Memory``, ... in bytes) when there is one."""
    weights = act = 0.0
    known = True
    for raw in raw_layers:
        if isinstance(raw, str):
            known = False
            continue
        weights += weights_bytes(raw)
        for t in raw.get("Outputs") or ():
            b = tensor_bytes(t)
            act += b or 0.0
    out: dict[str, Any] = {}
    if raw_layers and known:
        out["layer_weights_bytes"] = weights
        out["layer_outputs_bytes"] = act
    for key, value in (log_memory or {}).items():
        out[key] = value
    return out
