"""One precision request, right for every TensorRT version (pure: argv in, plan out).

TensorRT 8.6 and 10.x take the precision flags (``--fp16``, ``--int8``, ``--best``...) as they
are; on 10.x a note offers the strongly typed route. TensorRT 11 removed them
(:data:`~trt_magic.commandline.flags.REMOVED_IN_11`): there the request becomes a rewrite of the
model beside the original, named after the precision (``model.fp16.onnx``), and trtexec gets that
model without the removed flags, so a removed flag never reaches an 11.x trtexec. The widgets,
a pasted ``%trtexec ... --fp16`` and ``sweep(precisions=...)`` all reach trtexec through
``trt_magic.runners.trtexec``, which applies this plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from .flags import REMOVED_IN_11, is_11, split_flag

#: precision flags, strongest request first ("best" stands for every precision)
PRECISION_FLAGS = ("--best", "--int8", "--fp8", "--fp16", "--bf16")
#: the precisions a request of each kind should run in most of the time (precision_mix checks)
LOW_PRECISIONS = {
    "fp16": ("FP16", "BF16"),
    "bf16": ("BF16", "FP16"),
    "int8": ("INT8", "FP8"),
    "fp8": ("FP8", "INT8"),
    "best": ("INT8", "FP8", "FP16", "BF16"),
}


@dataclass(frozen=True)
class Rewrite:
    """A model rewrite that stands for precision flags TensorRT 11 no longer takes.

    Attributes:
        kind: "cast" (ModelOpt AutoCast: ``cast_onnx``) or "quantize" (ModelOpt ONNX PTQ:
            ``quantize_onnx``).
        precision: "fp16" / "bf16" (cast) or "int8" / "fp8" (quantize).
        source / target: the original model and the rewritten one beside it.
        settings: the keyword arguments of the rewrite (``keep_fp32``, ``high_precision``...).
        flags: the trtexec flags it stands for.
    """

    kind: str
    precision: str
    source: Path
    target: Path
    settings: dict = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    def describe(self) -> str:
        call = "cast_onnx" if self.kind == "cast" else "quantize_onnx"
        extra = "".join(f", {k}={v!r}" for k, v in self.settings.items() if v is not None)
        return f"{call}({str(self.source)!r}, {self.precision!r}{extra}) -> {self.target}"


@dataclass
class PrecisionPlan:
    """What trtexec gets for a precision request on one TensorRT version."""

    args: list[str]  # the flags to run (removed ones dropped, --onnx swapped when rewriting)
    requested: str  # "fp32", "fp16", "bf16", "int8", "fp8" or "best"
    rewrite: Rewrite | None = None
    notes: list[str] = field(default_factory=list)


def requested_precision(args: Sequence[str]) -> str:
    """The precision a command asks for: its strongest flag ("best" > int8/fp8 > fp16/bf16)."""
    names = {split_flag(a)[0] for a in args}
    if "--int8" in names and "--fp8" in names:
        return "best"
    return next((f[2:] for f in PRECISION_FLAGS if f in names), "fp32")


def plan_precision(
    args: Sequence[str],
    trt_version: str | None,
    resolve: Callable[[str], Path] = Path,
) -> PrecisionPlan:
    """Turn the precision flags of ``args`` into what ``trt_version``'s trtexec takes.

    Args:
        args: trtexec flags as the user gave them.
        trt_version: the target TensorRT ("11.1.0"); None (unknown) keeps the flags as they are.
        resolve: turns a user path into a host path (``Settings.resolve_path``).

    Raises:
        UsageError: ``--int4`` on TensorRT 11 (no rewrite here stands for it).
    """
    args = list(args)
    requested = requested_precision(args)
    if not is_11(trt_version):
        return PrecisionPlan(args, requested, notes=_weak_typing_notes(args, trt_version))
    kept, dropped = [], []
    for arg in args:
        (dropped if split_flag(arg)[0] in REMOVED_IN_11 else kept).append(arg)
    if not dropped:
        return PrecisionPlan(args, requested)
    names = [split_flag(a)[0] for a in dropped]
    if "--int4" in names:
        raise UsageError(
            f"TensorRT {trt_version} has no --int4 flag and trt_magic has no INT4 rewrite.",
            hint="quantize the weights with ModelOpt's INT4 mode, then build without --int4",
        )
    notes = [_dropped_note(a, trt_version) for a in dropped if split_flag(a)[0] != "--weightless"]
    kept += ["--stripWeights"] if "--weightless" in names else []
    onnx = next((split_flag(a)[1] for a in reversed(kept) if split_flag(a)[0] == "--onnx"), None)
    if requested == "fp32" or not onnx:
        if requested != "fp32":
            notes.append("no --onnx to rewrite: the precision flags were dropped")
        return PrecisionPlan(kept, requested, notes=notes)
    rewrite = _rewrite_for(requested, names, dropped, resolve(onnx))
    swapped = [f"--onnx={rewrite.target}" if split_flag(a)[0] == "--onnx" else a for a in kept]
    notes.append(
        f"TensorRT {trt_version} takes no {', '.join(n for n in names if n in PRECISION_FLAGS)}: "
        f"building {rewrite.target.name}, the model rewritten for {requested} "
        f"({rewrite.describe()})"
    )
    return PrecisionPlan(swapped, requested, rewrite, notes)


def _rewrite_for(requested: str, names: list[str], dropped: list[str], source: Path) -> Rewrite:
    flags = tuple(a for a in dropped if split_flag(a)[0] in PRECISION_FLAGS)
    keep = _fp32_layers(dropped)
    if requested in ("fp16", "bf16"):
        target = source.with_name(f"{_stem(source)}.{requested}.onnx")
        return Rewrite("cast", requested, source, target, {"keep_fp32": keep or None}, flags)
    mode = "int8" if requested in ("int8", "best") else "fp8"
    # trtexec's --int8 alone kept the other layers in FP32; with --fp16 or --best in FP16
    high = "fp16" if requested == "best" or "--fp16" in names else "fp32"
    tag = "best" if requested == "best" else mode + ("-fp16" if high == "fp16" else "")
    target = source.with_name(f"{_stem(source)}.{tag}.onnx")
    settings = {"high_precision": high, "exclude": keep or None}
    return Rewrite("quantize", mode, source, target, settings, flags)


def _stem(path: Path) -> str:
    return path.name[: -len(".onnx")] if path.name.endswith(".onnx") else path.stem


def _fp32_layers(dropped: list[str]) -> list[str]:
    """Layer names ``--layerPrecisions`` / ``--layerOutputTypes`` pinned to fp32."""
    names = []
    for arg in dropped:
        flag, value = split_flag(arg)
        if flag not in ("--layerPrecisions", "--layerOutputTypes") or not value:
            continue
        for item in value.split(","):
            layer, _, precision = item.rpartition(":")
            if layer and precision.strip().lower() == "fp32" and "*" not in layer:
                names.append(layer.strip("'"))
    return names


def _dropped_note(arg: str, trt_version: str | None) -> str:
    rep = REMOVED_IN_11[split_flag(arg)[0]]
    return f"{arg} dropped (TensorRT {trt_version}): {rep.why}"


def _weak_typing_notes(args: list[str], trt_version: str | None) -> list[str]:
    names = {split_flag(a)[0] for a in args}
    asked = [f for f in PRECISION_FLAGS if f in names]
    if not asked or not trt_version or not trt_version.startswith("10."):
        return []
    if "--stronglyTyped" in names:
        return []
    return [
        f"TensorRT {trt_version} builds {' '.join(asked)} weakly typed (the builder may keep "
        "layers in FP32; TensorRT 11 removes these flags). For the model's own types: "
        "cast_onnx(path, 'fp16') or quantize_onnx(path, calibration), then --stronglyTyped; "
        "run.precision_mix shows what the engine runs in."
    ]
