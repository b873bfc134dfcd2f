"""The inputs of an accuracy check (inside the engine's profile) and the ONNX Runtime reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, require
from ..spec import parse_shapes

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass
class TensorSpec:
    """One model input: name, numpy dtype name, and shape (symbolic dims as str)."""

    name: str
    dtype: str
    shape: list[int | str]

    @property
    def dynamic(self) -> bool:
        return any(not isinstance(d, int) or d < 0 for d in self.shape)


def onnx_inputs(onnx_path: str | Path) -> list[TensorSpec]:
    """The ONNX model's real inputs (initializers excluded), with numpy dtypes."""
    onnx = require("onnx", "export", "The accuracy check")
    from onnx import helper

    model = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name
        shape: list[int | str] = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim
        ]
        specs.append(TensorSpec(vi.name, dtype, shape))
    return specs


def profile_from_args(args: Sequence[str]) -> dict[str, dict[str, tuple[int, ...]]]:
    """Shape profile flags of a trtexec command: kind (min/opt/max/shapes) -> name -> dims."""
    kinds = {"--minShapes": "min", "--optShapes": "opt", "--maxShapes": "max", "--shapes": "shapes"}
    found: dict[str, dict[str, tuple[int, ...]]] = {}
    for arg in args:
        flag, eq, value = str(arg).partition("=")
        if eq and flag in kinds:
            found.setdefault(kinds[flag], {}).update(parse_shapes(value))
    return found


def choose_shapes(
    specs: Sequence[TensorSpec], profile: Mapping[str, Mapping[str, tuple[int, ...]]]
) -> dict[str, tuple[int, ...]]:
    """Pick one concrete shape per input inside the profile: opt, else --shapes, else static dims.

    Raises:
        UsageError: a dynamic input has no shape in the profile.
    """
    shapes = {}
    for s in specs:
        for kind in ("opt", "shapes", "max", "min"):
            if s.name in profile.get(kind, {}):
                shapes[s.name] = tuple(profile[kind][s.name])
                break
        else:
            if s.dynamic:
                raise UsageError(
                    f"input {s.name!r} has dynamic dims {s.shape} and the run gives no shape for it.",
                    hint="pass inputs={...} with your tensors, or build with "
                    f"--minShapes/--optShapes/--maxShapes for {s.name}",
                )
            shapes[s.name] = tuple(int(d) for d in s.shape)
    return shapes


def make_inputs(
    specs: Sequence[TensorSpec], shapes: Mapping[str, tuple[int, ...]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Random inputs: floats uniform in [-1, 1), integers in [0, 4), bools 50/50."""
    import numpy as np

    rng = np.random.default_rng(seed)
    made = {}
    for s in specs:
        shape, dtype = shapes[s.name], np.dtype(s.dtype)
        if dtype.kind == "f":
            arr = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        elif dtype.kind in "iu":
            arr = rng.integers(0, 4, size=shape).astype(dtype)
        elif dtype.kind == "b":
            arr = rng.random(size=shape) < 0.5
        else:
            raise UsageError(
                f"input {s.name!r} has type {dtype}, for which no random data is made.",
                hint="pass inputs={name: array} with your own tensors",
            )
        made[s.name] = np.ascontiguousarray(arr)
    return made


def check_user_inputs(
    specs: Sequence[TensorSpec],
    inputs: Mapping[str, Any],
    profile: Mapping[str, Mapping[str, tuple[int, ...]]],
) -> dict[str, np.ndarray]:
    """Validate the user's tensors: every input given, dtype cast, shape inside min..max."""
    import numpy as np

    names = [s.name for s in specs]
    unknown = sorted(set(inputs) - set(names))
    missing = [n for n in names if n not in inputs]
    if unknown or missing:
        raise UsageError(
            f"inputs do not match the model: missing {missing}, unknown {unknown}.",
            hint=f"the model's inputs are {names}",
        )
    checked = {}
    for s in specs:
        arr = np.ascontiguousarray(np.asarray(_to_numpy(inputs[s.name])).astype(s.dtype))
        lo, hi = profile.get("min", {}).get(s.name), profile.get("max", {}).get(s.name)
        outside = (
            lo is not None
            and hi is not None
            and (
                len(lo) != arr.ndim
                or any(not a <= d <= b for a, d, b in zip(lo, arr.shape, hi, strict=True))
            )
        )
        if outside:
            raise UsageError(
                f"input {s.name!r} has shape {arr.shape}, outside the engine's profile {lo}..{hi}.",
                hint="pass a tensor whose shape lies between --minShapes and --maxShapes",
            )
        checked[s.name] = arr
    return checked


def _to_numpy(value: Any) -> Any:
    if hasattr(value, "detach"):  # a torch tensor; torch itself is not imported here
        return value.detach().cpu().numpy()
    return value


def reference_outputs(onnx_path: str | Path, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run the ONNX model in ONNX Runtime on the CPU: output name -> array."""
    ort = require("onnxruntime", "export", "The accuracy check")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(inputs)), strict=True))
