"""Parse the magic's ``-i NAME:SHAPE[:DTYPE]`` and ``-d NAME:AXIS[=DIM],...`` specs (stdlib only)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import UsageError

#: spelling accepted -> torch dtype name
DTYPES = {
    "float32": "float32", "float": "float32", "fp32": "float32", "f32": "float32",
    "float16": "float16", "half": "float16", "fp16": "float16", "f16": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float64": "float64", "double": "float64", "fp64": "float64",
    "int64": "int64", "long": "int64", "i64": "int64",
    "int32": "int32", "int": "int32", "i32": "int32",
    "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
}  # fmt: skip

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_INPUT_RE = re.compile(rf"^(?P<name>{_NAME}):(?P<shape>[0-9x,*]+)(?::(?P<dtype>\w+))?$")
_AXIS_RE = re.compile(
    r"^(?P<axis>-?\d+)(?:=(?P<dim>[A-Za-z_][A-Za-z0-9_]*)?(?:\[(?P<min>\d*):(?P<max>\d*)\])?)?$"
)


@dataclass(frozen=True)
class InputSpec:
    """One model input: its ONNX name, the sample's shape and its dtype (a torch dtype name)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    def __str__(self) -> str:
        return f"{self.name}:{'x'.join(map(str, self.shape))}:{self.dtype}"


def parse_input(text: str) -> InputSpec:
    """``IMAGES:1x3x224x224`` or ``TOKENS:1x128:int64`` -> :class:`InputSpec`."""
    m = _INPUT_RE.match(text.strip())
    if not m:
        raise UsageError(
            f"-i {text!r} is not NAME:SHAPE[:DTYPE]",
            hint="e.g. -i images:1x3x224x224 or -i tokens:1x128:int64",
        )
    dims = [d for d in re.split(r"[x,*]", m.group("shape")) if d]
    shape = tuple(int(d) for d in dims)
    if not shape or any(d <= 0 for d in shape):
        raise UsageError(f"-i {text!r}: every dimension must be a positive whole number")
    dtype = (m.group("dtype") or "float32").lower()
    if dtype not in DTYPES:
        raise UsageError(
            f"-i {text!r}: unknown dtype {dtype!r}",
            hint="one of " + ", ".join(sorted(set(DTYPES.values()))),
        )
    return InputSpec(m.group("name"), shape, DTYPES[dtype])


def parse_inputs(specs: Iterable[str | InputSpec] | Mapping | None) -> list[InputSpec]:
    """Accept ``["x:1x3"]``, ``[InputSpec]`` or ``{"x": (1, 3)}`` / ``{"x": ((1, 3), "int64")}``."""
    if specs is None:
        return []
    if isinstance(specs, Mapping):
        out = []
        for name, value in specs.items():
            shape, dtype = (value[0], value[1]) if _is_shape_dtype(value) else (value, "float32")
            out.append(parse_input(f"{name}:{'x'.join(map(str, shape))}:{dtype}"))
        return out
    if isinstance(specs, (str, InputSpec)):
        specs = [specs]
    return [s if isinstance(s, InputSpec) else parse_input(s) for s in specs]


def _is_shape_dtype(value) -> bool:
    return len(value) == 2 and isinstance(value[1], str) and not isinstance(value[0], int)


def parse_dynamic_spec(text: str, ranges: dict | None = None) -> tuple[str, dict[int, str]]:
    """``TOKENS:0=batch,1=seq[1:512]`` -> ``("TOKENS", {0: "batch", 1: "seq"})``.

    An axis without ``=DIM`` gets the name ``<input>_<axis>``. ``[MIN:MAX]`` (either may be
    left out) bounds the dim; the bounds go into ``ranges`` (dim name -> (min, max)).
    """
    name, sep, axes = _split_name(text.strip())
    if not sep or not name or not axes:
        raise UsageError(
            f"-d {text!r} is not NAME:AXIS[=DIM[MIN:MAX]][,AXIS[=DIM]...]",
            hint="e.g. -d images:0=batch or -d tokens:0=batch,1=seq[1:512]",
        )
    dims: dict[int, str] = {}
    for part in _split_top(axes):
        m = _AXIS_RE.match(part.strip())
        if not m:
            raise UsageError(
                f"-d {text!r}: {part!r} is not AXIS, AXIS=DIM or AXIS=DIM[MIN:MAX]",
                hint="e.g. 0=batch or 1=seq[1:512]",
            )
        axis = int(m.group("axis"))
        dims[axis] = m.group("dim") or f"{name}_{axis}"
        if m.group("min") or m.group("max"):
            low, high = (int(v) if v else None for v in (m.group("min"), m.group("max")))
            _add_range(ranges, dims[axis], (low, high), text)
    return name, dims


def _split_name(text: str) -> tuple[str, str, str]:
    """Split at the last ``:`` outside ``[...]`` (input names may hold ``:``, ranges do)."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {"]": 1, "[": -1}.get(text[i], 0)
        if text[i] == ":" and depth == 0:
            return text[:i], ":", text[i + 1 :]
    return "", "", text


def _split_top(axes: str) -> list[str]:
    return re.split(r",(?![^\[]*\])", axes)


def _add_range(ranges: dict | None, dim: str, bounds: tuple, where) -> None:
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise UsageError(f"-d {where}: {dim} range [{low}:{high}] is empty (min > max)")
    if ranges is None:
        return
    if ranges.get(dim, bounds) != bounds:
        raise UsageError(f"{dim} has two ranges: {ranges[dim]} and {bounds}")
    ranges[dim] = bounds


def parse_dynamic(
    specs: Iterable[str] | Mapping | None, ranges: dict | None = None
) -> dict[str, dict[int, str]]:
    """Merge ``-d`` specs (strings) or a mapping ``{name: {axis: dim}}`` / ``{name: [axes]}``.

    A dim may carry a range: ``"seq[1:512]"`` in a string, ``("seq", 1, 512)`` or a
    ``torch.export.Dim`` in a mapping; ranges (dim name -> (min, max), or the Dim itself) go
    into ``ranges`` when given.
    """
    if not specs:
        return {}
    out: dict[str, dict[int, str]] = {}
    if isinstance(specs, Mapping):
        for name, axes in specs.items():
            items = axes.items() if isinstance(axes, Mapping) else ((a, None) for a in axes)
            out[name] = {int(a): _dim(name, a, d, ranges) for a, d in items}
        return out
    if isinstance(specs, str):
        specs = [specs]
    for text in specs:
        name, dims = parse_dynamic_spec(text, ranges)
        out.setdefault(name, {}).update(dims)
    return out


def _dim(name: str, axis, dim, ranges: dict | None) -> str:
    """One API dim: None, ``"seq"``, ``("seq", min, max)`` or a ``torch.export.Dim``."""
    if dim is None:
        return f"{name}_{axis}"
    if isinstance(dim, str):
        return dim
    if isinstance(dim, tuple) and len(dim) == 3 and isinstance(dim[0], str):
        _add_range(ranges, dim[0], (dim[1], dim[2]), f"{name}:{axis}")
        return dim[0]
    dim_name = getattr(dim, "__name__", None)  # torch.export.Dim (a class named after the dim)
    if isinstance(dim_name, str) and hasattr(dim, "min") and hasattr(dim, "max"):
        if ranges is not None:
            ranges[dim_name] = dim
        return dim_name
    raise UsageError(
        f"dynamic {name}:{axis}: {dim!r} is not a dim",
        hint='give a name ("seq"), a range ("seq", 1, 512) or a torch.export.Dim',
    )


def normalize_axes(dynamic: dict[str, dict[int, str]], ranks: Mapping[str, int]) -> None:
    """Turn negative axes into positive ones and refuse axes beyond an input's rank (in place)."""
    for name, dims in dynamic.items():
        rank = ranks.get(name)
        if rank is None:
            continue
        fixed = {}
        for axis, dim in dims.items():
            pos = axis + rank if axis < 0 else axis
            if not 0 <= pos < rank:
                raise UsageError(
                    f"-d {name}:{axis}={dim}: {name} has {rank} dimensions (axes 0..{rank - 1})"
                )
            fixed[pos] = dim
        dims.clear()
        dims.update(fixed)


def dim_ranges(ranges: dict) -> dict[str, tuple[int | None, int | None]]:
    """Dim name -> (min, max) (None: unbounded) from ``(min, max)`` pairs or torch Dims."""
    out = {}
    for name, r in ranges.items():
        low, high = (
            r if isinstance(r, tuple) else (getattr(r, "min", None), getattr(r, "max", None))
        )
        out[name] = tuple(v if isinstance(v, int) and 0 < v < 2**62 else None for v in (low, high))
    return out
