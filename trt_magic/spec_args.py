"""Reading a trtexec command back into a :class:`~trt_magic.spec.BuildSpec`.

Grammar from the real ``--help`` texts (tests/data/trtexec/help-trtexec-10.16.1.txt): shapes
``name:1x3x224x224`` joined by commas, names with ``:`` or ``,`` wrapped in single quotes, ``scalar``
(or nothing) for 0-D; ``--memPoolSize=workspace:<size>`` with B/K/M/G suffixes.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import replace

from .commandline.command import split_args
from .errors import UsageError
from .spec import ALWAYS, BuildSpec, Precision, ShapeProfile, ShapeRange, parse_shapes

FLAG_PRECISION = {p.value: p for p in Precision if p.value}


def tokens_of(args: str | Sequence[str]) -> list[str]:
    """argv of a trtexec command; a leading ``%trtexec`` / ``!trtexec`` / ``trtexec`` is dropped
    (``trtexec/command.py`` splits it, joining backslash continuations)."""
    if isinstance(args, str):
        args = re.sub(r"^\s*[%!]\s*(?=\S*trtexec\b)", "", args)
    return split_args(args)


def read_args(
    cls: type[BuildSpec],
    args: str | Sequence[str],
    *,
    onnx: str | None = None,
    profile: ShapeProfile | None = None,
) -> BuildSpec:
    """Read a trtexec command back into ``cls`` (see :meth:`BuildSpec.from_args`)."""
    tokens = tokens_of(args)
    values: dict = {"precisions": []}
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    extra: list[str] = []
    for token in tokens:
        key, _, value = token.partition("=")
        if key in ("--minShapes", "--optShapes", "--maxShapes"):
            shapes[key[2:5]] = parse_shapes(value)
        elif key in FLAG_PRECISION and not value:
            values["precisions"].append(FLAG_PRECISION[key])
        elif not _read_option(values, key, value):
            extra.append(token)
    onnx = values.pop("onnx", None) or onnx
    if not onnx:
        raise UsageError("the command has no --onnx=<file>", hint="add --onnx=model.onnx")
    values["precisions"] = tuple(dict.fromkeys(values["precisions"]))
    spec = cls(onnx=onnx, extra=shlex.join(extra), **values)
    if shapes:
        spec.profile = _profile_from_shapes(shapes, profile)
    elif profile is not None:
        spec.profile = profile
    _forget_defaults(spec)
    return spec


def _forget_defaults(spec: BuildSpec) -> None:
    """Unset output paths equal to their defaults, so they follow later precision changes."""
    if spec.engine == replace(spec, engine=None).engine_path():
        spec.engine = None
    if spec.layer_info == spec.engine_path() + ".graph.json":
        spec.layer_info = None
    if spec.profile_json == spec.engine_path() + ".profile.json":
        spec.profile_json = None


def _read_option(values: dict, key: str, value: str) -> bool:
    """Store a known ``--key=value`` in ``values``; False when the key is not ours."""
    simple = {
        "--onnx": "onnx",
        "--saveEngine": "engine",
        "--inputIOFormats": "input_formats",
        "--outputIOFormats": "output_formats",
        "--exportLayerInfo": "layer_info",
        "--exportProfile": "profile_json",
        "--hardwareCompatibilityLevel": "hardware_compat",
    }
    if key in simple and value:
        values[simple[key]] = value
    elif key == "--noTF32" and not value:
        values["tf32"] = False
    elif key == "--builderOptimizationLevel" and value.isdigit():
        values["opt_level"] = int(value)
    elif (
        key == "--workspace" and value.isdigit()
    ):  # 8.6.1: "--workspace=N  Set workspace size in MiB"
        values["workspace_mib"] = int(value)
    elif key == "--memPoolSize" and _workspace_mib(value) is not None:
        values["workspace_mib"] = _workspace_mib(value)
    elif f"{key}={value}" == ALWAYS:
        pass  # always written by to_args
    else:
        return False
    return True


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(B|K|KiB|M|MiB|G|GiB)?$")
_MIB_PER_UNIT = {"B": 2**-20, "K": 2**-10, "KiB": 2**-10, "M": 1, "MiB": 1, "G": 1024, "GiB": 1024}


def _workspace_mib(poolspec: str) -> int | None:
    """Whole MiB of a ``workspace:1024MiB`` pool spec when it is the only pool, else None."""
    pool, _, size = poolspec.partition(":")
    # suffixes B/K/M/G (10.16.1 --help), "1024MiB" (the cookbook's 10.16.1 build command),
    # none = MiB (8.6.1 "pool:sizeInMiB")
    match = _SIZE.match(size)
    if pool != "workspace" or not match:
        return None
    mib = float(match[1]) * _MIB_PER_UNIT[match[2] or "M"]
    return int(mib) if mib >= 1 and mib == int(mib) else None


def _profile_from_shapes(
    shapes: dict[str, dict[str, tuple[int, ...]]], model: ShapeProfile | None
) -> ShapeProfile:
    opt = shapes.get("opt", {})
    lo = shapes.get("min", opt)  # "if only opt shapes is supplied ... min and max ... same"
    hi = shapes.get("max", opt)
    names = list(dict.fromkeys([*lo, *opt, *hi]))
    profile = ShapeProfile(
        dims=dict(model.dims) if model else {}, dtypes=dict(model.dtypes) if model else {}
    )
    for name in names:
        rng = ShapeRange(lo.get(name, ()), opt.get(name, ()), hi.get(name, ()))
        profile.ranges[name] = rng
        if name not in profile.dims:
            profile.dims[name] = tuple(
                a if a == c else None for a, c in zip(rng.min, rng.max, strict=False)
            )
    return profile
