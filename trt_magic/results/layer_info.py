"""The numbers behind each engine layer: every raw ``--exportLayerInfo`` attribute, MACs,
arithmetic intensity, weight and activation bytes, and the engine's memory totals.

The derived figures follow TREx 0.2.1 (NVIDIA/TensorRT tools/experimental/trt-engine-explorer
``trex/layer.py``, ``trex/activations.py``): activation bytes are ``prod(Dimensions) x element
size`` of every input and output (vectorized formats' channel padding not counted), weight bytes
``Weights.Count + Bias.Count`` times their element size. MACs are counted where the layer info
has the shapes: convolutions (``N x prod(output spatial) x Weights.Count``), transposed
convolutions (per input pixel), fully connected layers and GEMMs (``prod(output) x K``). A
dimension of -1 (a dynamic shape not resolved in the export) gives no figure rather than a wrong one.
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
DERIVED = ["type", "precision", "macs", "weights_bytes", "activation_bytes", "intensity"]


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


def weights_bytes(raw: dict) -> float:
    """Bytes of the layer's own weights and bias (0 when it lists none)."""
    total = 0.0
    for key in ("Weights", "Bias"):
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
    """(type, precision, macs, weights_bytes, activation_bytes, intensity) of one layer."""
    if isinstance(raw, str):
        return (None, None, None, None, None, None)
    act = 0.0
    for t in (*(raw.get("Inputs") or ()), *(raw.get("Outputs") or ())):
        b = tensor_bytes(t)
        if b is None:
            act = math.nan
            break
        act += b
    w = weights_bytes(raw)
    m = macs(raw)
    moved = act + w
    intensity = m / moved if m is not None and moved and moved == moved else None
    kind = raw.get("ParameterType") or raw.get("LayerType")
    return (kind, _precision(raw), m, w, None if act != act else act, intensity)


def _flatten(raw: dict | str) -> dict:
    """One layer's attributes, nested objects one level flat (``Weights.Count``)."""
    if isinstance(raw, str):
        return {"Name": raw}
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat


def layer_info_frame(raw_layers: Sequence[dict | str]) -> pd.DataFrame:
    """Every raw attribute of every layer (one row each, engine order) plus the derived columns.

    Nested objects are flattened one level (``Weights.Type``, ``Weights.Count``); ``Inputs`` and
    ``Outputs`` stay lists of tensor dicts. A names-only export gives just ``Name``.
    """
    import pandas as pd

    from .exports import no_gc

    with no_gc():
        flat_needed = any(
            isinstance(r, dict) and any(isinstance(v, dict) for v in r.values())
            for r in raw_layers[:64]
        ) or any(isinstance(r, str) for r in raw_layers[:64])
        rows = [_flatten(r) for r in raw_layers] if flat_needed else raw_layers
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame({"Name": []})
        extra = list(zip(*(derived(r) for r in raw_layers), strict=True)) or [[]] * len(DERIVED)
        for name, values in zip(DERIVED, extra, strict=True):
            frame[name] = pd.Series(values, index=frame.index, dtype=_DTYPES[name])
    return frame


_DTYPES = {"type": "object", "precision": "object", "macs": "float64",
           "weights_bytes": "float64", "activation_bytes": "float64", "intensity": "float64"}  # fmt: skip


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
