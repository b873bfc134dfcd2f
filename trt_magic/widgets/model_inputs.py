"""The model's inputs (names, dtypes, dims with symbolic names) and a first shape profile.

Reads the ONNX graph with ``onnx`` (imported here, when the editor opens a model); an
``ExportResult`` adds the sample shapes the model was exported with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError, require
from ..spec import Dim, ShapeProfile, ShapeRange

#: a batch-like first axis with no sample defaults to opt 1, max this
DEFAULT_MAX_BATCH = 8


def read_model_inputs(path: str | Path) -> ShapeProfile:
    """Return the graph inputs of an ONNX file as a profile with no ranges yet.

    Initializers listed as inputs (old exporters do that) are not real inputs and are skipped.
    """
    onnx = require("onnx", "export", "Reading ONNX inputs")
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no ONNX file at {str(path)!r}", hint="check the path (or export first)")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise UsageError(
            f"{path.name} is not a readable ONNX model", hint="re-export it", detail=str(exc)
        ) from exc
    weights = {init.name for init in model.graph.initializer}
    profile = ShapeProfile()
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        profile.dims[value.name] = tuple(_dim(d) for d in tensor.shape.dim)
        profile.dtypes[value.name] = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
    return profile


def _dim(dim) -> Dim:
    if dim.HasField("dim_value"):
        return int(dim.dim_value)
    return dim.dim_param or None


def sample_shapes(source: Any) -> dict[str, tuple[int, ...]]:
    """Sample shapes of an ``ExportResult`` (``sample_shapes``/``samples`` as a mapping)."""
    for attr in ("sample_shapes", "samples", "sample"):
        value = getattr(source, attr, None)
        if isinstance(value, Mapping):
            return {str(k): tuple(int(d) for d in v) for k, v in value.items() if _is_shape(v)}
    return {}


def _is_shape(value: Any) -> bool:
    return isinstance(value, Sequence) and all(isinstance(d, int) for d in value)


def default_range(
    dims: tuple[Dim, ...], sample: tuple[int, ...] | None = None, bounds: Mapping | None = None
) -> ShapeRange:
    """Min 1 for every dynamic dim; opt the sample's value (else 1), max twice that.

    A first axis (the batch) with no sample gets max DEFAULT_MAX_BATCH, so the default engine
    takes more than one image. ``bounds`` (dim name -> (min, max), from an export's
    ``dim_ranges``) keeps each column inside the range the model accepts.
    """
    columns = []
    for axis, dim in enumerate(dims):
        if isinstance(dim, int):
            columns.append((dim, dim, dim))
            continue
        seen = sample[axis] if sample and len(sample) == len(dims) and sample[axis] > 0 else None
        opt = seen or 1
        top = 2 * opt if seen else (DEFAULT_MAX_BATCH if axis == 0 else 1)
        low, high = (bounds or {}).get(dim, (None, None))
        low, high = low or 1, high or max(top, opt)
        opt = min(max(opt, low), high)
        columns.append((low, opt, max(min(max(top, opt), high), low)))
    lo, mid, hi = zip(*columns, strict=True) if columns else ((), (), ())
    return ShapeRange(tuple(lo), tuple(mid), tuple(hi))


def default_profile(source: Any) -> tuple[Path, ShapeProfile]:
    """The ONNX path and a first valid profile of an ONNX path or an ``ExportResult``."""
    path = Path(getattr(source, "path", source))
    profile = read_model_inputs(path)
    samples = sample_shapes(source) if not isinstance(source, (str, Path)) else {}
    bounds = getattr(source, "dim_ranges", None) or {}
    for name in profile.dynamic_inputs():
        profile.ranges[name] = default_range(profile.dims[name], samples.get(name), bounds)
    return path, profile
