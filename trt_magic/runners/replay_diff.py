"""What a replayed run does not share with the request: model, shapes, GPU, TensorRT, flags.

A replay answers with figures measured elsewhere: another model, GPU and profile. Each way the
recording differs from what the user asked for is one short sentence in
``Run.recorded.differences``, shown wherever the run is shown (``results/run.py`` ``Recorded``).
Stdlib only: the user's ONNX interface is read by walking its protobuf wire format (no onnx).
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import TYPE_CHECKING

from ..commandline.command import flag_value
from ..commandline.flags import split_flag
from ..errors import UsageError
from ..onnx_wire import read_varint
from ..spec import format_shape, parse_shapes

if TYPE_CHECKING:  # pragma: no cover
    from .replay import Recording

SHAPE_FLAGS = {
    "min": "--minShapes",
    "opt": "--optShapes",
    "max": "--maxShapes",
    "shapes": "--shapes",
}
_PRECISION_FLAGS = {"--fp16", "--bf16", "--int8", "--fp8", "--fp4", "--best", "--noTF32"}
_OUTPUT_FILES = {"--exportProfile": "profile", "--exportLayerInfo": "layer_info",
                 "--exportTimes": "times", "--exportOutput": "output"}  # fmt: skip
#: flags that name files, not how trtexec builds or measures
_PATH_FLAGS = {"--onnx", "--loadEngine", "--saveEngine", "--timingCacheFile", *SHAPE_FLAGS.values(),
               *_OUTPUT_FILES}  # fmt: skip


def differences(
    rec: Recording, args: list[str], onnx: Path | None, gpus: str, image: str | None
) -> list[str]:
    """Every way ``rec`` differs from the request ``args`` (one sentence each)."""
    out = _model(rec, args, onnx)
    out += _shapes(rec, args)
    out.append(f"GPU: recorded on {rec.gpu}; nothing ran on yours (gpus={gpus})")
    out += _tensorrt(rec, image)
    out += _flags(rec, args)
    return out


# ---- model ----------------------------------------------------------------------------------


def _model(rec: Recording, args: list[str], onnx: Path | None) -> list[str]:
    theirs = ", ".join(sorted({n for v in rec.shapes.values() for n in _names(v)}))
    recorded = f"{rec.model}" + (f" (input {theirs})" if theirs else "")
    engine = flag_value(args, "--loadEngine")
    if onnx is None and engine is None:
        return []
    if onnx is None:
        return [f"model: the figures are for {recorded}, not your engine {Path(engine).name}"]
    yours = onnx.name
    try:
        nodes, inputs = onnx_interface(onnx)
    except FileNotFoundError:
        return [
            f"model: the figures are for {recorded}; your {yours} was not found (nothing read it)"
        ]
    except (OSError, ValueError, IndexError) as exc:
        return [
            f"model: the figures are for {recorded}; your {yours} is not a readable ONNX ({exc})"
        ]
    facts = ", ".join(f"{n}:{'x'.join(map(str, d))}" for n, d in inputs.items())
    line = (
        f"model: the figures are for {recorded}, not your {yours} ({nodes} nodes; inputs {facts})"
    )
    if theirs and set(inputs) != set(theirs.split(", ")):
        line += ": the input names differ"
    return [line]


def _names(spec: str) -> list[str]:
    try:
        return list(parse_shapes(spec))
    except UsageError:
        return []


def onnx_interface(path: Path) -> tuple[int, dict[str, tuple[int | str, ...]]]:
    """(node count, {input name: dims}) of an ONNX file, initializers left out; dims are ints
    or the symbolic name ('?' when unnamed). Reads only the graph's small fields (mmap)."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            nodes, inputs, inits = 0, {}, set()
            for number, graph in _fields(view):
                if number != 7 or graph is None:  # ModelProto.graph
                    continue
                for gnum, body in _fields(graph):
                    if gnum == 1:  # GraphProto.node
                        nodes += 1
                    elif gnum == 11 and body is not None:  # GraphProto.input (ValueInfoProto)
                        name, dims = _value_info(body)
                        inputs[name] = dims
                    elif gnum == 5 and body is not None:  # GraphProto.initializer: TensorProto.name
                        inits |= {
                            bytes(v).decode("utf-8", "replace") for n, v in _fields(body) if n == 8
                        }
            graph = body = None  # release the slices before the map closes
        finally:
            view.release()
    return nodes, {n: d for n, d in inputs.items() if n not in inits}


def _value_info(body) -> tuple[str, tuple[int | str, ...]]:
    name, dims = "", []
    for number, value in _fields(body):
        if number == 1 and value is not None:
            name = bytes(value).decode("utf-8", "replace")
        elif number == 2 and value is not None:  # TypeProto -> tensor_type(1) -> shape(2) -> dim(1)
            for tnum, tensor in _fields(value):
                for snum, shape in _fields(tensor) if tnum == 1 and tensor is not None else ():
                    for dnum, dim in _fields(shape) if snum == 2 and shape is not None else ():
                        if dnum == 1 and dim is not None:
                            dims.append(_dim(dim))
    return name, tuple(dims)


def _dim(body) -> int | str:
    for number, value in _fields(body, varints=True):
        if number == 1:  # dim_value (int64, two's complement)
            return value - (1 << 64) if value >= 1 << 63 else value
        if number == 2 and value is not None:  # dim_param
            return bytes(value).decode("utf-8", "replace")
    return "?"


def _fields(buf, varints: bool = False):
    """(field number, payload) of each field: a memoryview for length-delimited fields, the
    integer for varints when ``varints``, else None (https://protobuf.dev/programming-guides/encoding/)."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        wire = key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            yield key >> 3, (value if varints else None)
        elif wire == 2:
            size, pos = read_varint(buf, pos)
            yield key >> 3, buf[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield key >> 3, None
        else:
            raise ValueError(f"protobuf wire type {wire} at byte {pos}")


# ---- shapes ---------------------------------------------------------------------------------


def _requested(args: list[str]) -> tuple[dict[str, dict[str, tuple[int, ...]]], list[str]]:
    asked, problems = {}, []
    for kind, flag in SHAPE_FLAGS.items():
        value = flag_value(args, flag)
        if value is None:
            continue
        try:
            asked[kind] = parse_shapes(value)
        except UsageError:
            problems.append(
                f"shapes: {flag}={value} is not name:NxN... (a real trtexec would refuse it)"
            )
    return asked, problems


def _shapes(rec: Recording, args: list[str]) -> list[str]:
    asked, out = _requested(args)
    profile = [k for k in ("min", "opt", "max") if k in asked]
    if profile:
        theirs = {k: parse_shapes(rec.shapes[k]) for k in ("min", "opt", "max") if k in rec.shapes}
        if any(asked[k] != theirs.get(k) for k in profile):
            yours = " / ".join(f"{k} {_spec(asked[k])}" for k in profile)
            recorded = " / ".join(f"{k} {_spec(v)}" for k, v in theirs.items())
            ran = rec.shapes.get("shapes")
            recorded = recorded or ("none" + (f" (it ran {ran})" if ran else ""))
            out.append(f"shapes: your profile is {yours}; the recording's profile: {recorded}")
    if "shapes" in asked:
        theirs = rec.shapes.get("shapes")
        if theirs is None or parse_shapes(theirs) != asked["shapes"]:
            out.append(f"shapes: you asked --shapes={_spec(asked['shapes'])}; the recording ran "
                       f"{theirs or 'no --shapes'}")  # fmt: skip
    out += _outside_profile(asked)
    return out


def _spec(shapes: dict[str, tuple[int, ...]]) -> str:
    return ",".join(f"{n}:{format_shape(s)}" for n, s in shapes.items())


def _outside_profile(asked: dict[str, dict[str, tuple[int, ...]]]) -> list[str]:
    """The request's own shapes that no real build could take (trtexec would refuse them)."""
    out = []
    low, opt, high = asked.get("min", {}), asked.get("opt", {}), asked.get("max", {})
    for name, shape in asked.get("shapes", {}).items():
        lo, hi = low.get(name), high.get(name)
        if lo is not None and hi is not None and len(lo) == len(hi) == len(shape):
            if any(s < a or s > b for s, a, b in zip(shape, lo, hi, strict=True)):
                out.append(f"shapes: --shapes {name}:{format_shape(shape)} is outside your profile "
                           f"({format_shape(lo)} .. {format_shape(hi)}): a real trtexec would refuse it")  # fmt: skip
    for name, mid in opt.items():
        lo, hi = low.get(name), high.get(name)
        if lo is not None and hi is not None and len(lo) == len(mid) == len(hi):
            if any(a > m or m > b for a, m, b in zip(lo, mid, hi, strict=True)):
                out.append(f"shapes: your profile for {name} is not min <= opt <= max "
                           f"({format_shape(lo)}, {format_shape(mid)}, {format_shape(hi)})")  # fmt: skip
    return out


# ---- TensorRT and flags ---------------------------------------------------------------------


def _tensorrt(rec: Recording, image: str | None) -> list[str]:
    if not image:
        return []
    try:
        from ..tensorrt import tensorrt_version_for_image

        yours = tensorrt_version_for_image(image)
    except Exception:  # an unknown tag: no claim either way
        return []
    if yours and not rec.tensorrt.startswith(".".join(yours.split(".")[:2])):
        return [f"TensorRT: recorded with {rec.tensorrt}; your image {image} has {yours}"]
    return []


def _flags(rec: Recording, args: list[str]) -> list[str]:
    from .replay import request_precision

    out = []
    precision = request_precision(args)
    if precision != rec.precision:
        out.append(f"precision: you asked {precision}, the recording is {rec.precision}")
    names = [split_flag(a)[0] for a in args]
    yours = [
        n
        for n in dict.fromkeys(names)
        if n not in rec.flags and n not in _PATH_FLAGS | _PRECISION_FLAGS
    ]
    if yours:
        out.append(
            "flags the recording did not use (no effect on its figures): " + ", ".join(yours)
        )
    theirs = [f for f in rec.flags if f not in names and f not in _PATH_FLAGS | _PRECISION_FLAGS]
    if theirs:
        out.append("the recording also used: " + ", ".join(theirs))
    for flag, kind in _OUTPUT_FILES.items():
        if flag in names and kind not in rec.files:
            out.append(f"{flag}: the recording has no such file")
    return out
