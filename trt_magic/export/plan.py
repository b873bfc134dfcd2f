"""Choose the exporter and opset for the configured TensorRT image, and say why (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import tensorrt
from ..errors import UsageError

EXPORTERS = ("auto", "dynamo", "torchscript")
#: the dynamo exporter writes opset 18 and up; lower targets go through a version converter
DYNAMO_MIN_OPSET = 18
#: highest opset each exporter of torch 2.13 writes (torch/onnx/_constants.py:
#: ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET = 20, ONNX_MAX_OPSET = 23)
EXPORTER_MAX_OPSET = {"torchscript": 20, "dynamo": 23}


@dataclass
class Plan:
    """The exporter and opset an export uses, the TensorRT they target, and the reasons."""

    exporter: str
    opset: int
    trt_version: str | None
    cap: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def choose(exporter: str, opset: int | None, image: str) -> Plan:
    """Pick exporter and opset: the user's choice when given, else the highest the image reads."""
    if exporter not in EXPORTERS:
        raise UsageError(f"exporter {exporter!r} is not one of {', '.join(EXPORTERS)}")
    trt = tensorrt.tensorrt_version_for_image(image)
    cap = tensorrt.max_opset(trt)
    plan = Plan("", 0, trt, cap)
    if trt is None:
        plan.notes.append(
            f"the TensorRT version of {image} is not in the NGC tag table; assuming it reads up "
            f"to opset {cap} like TensorRT {tensorrt.FALLBACK_VERSION} (set --opset to override)"
        )
    target = opset or cap
    plan.exporter = exporter if exporter != "auto" else _auto(target, trt, cap, opset, plan)
    plan.opset = opset or min(cap, EXPORTER_MAX_OPSET[plan.exporter])
    if plan.exporter == "dynamo" and plan.opset < DYNAMO_MIN_OPSET:
        plan.warnings.append(
            f"the dynamo exporter writes opset {DYNAMO_MIN_OPSET}+; torch converts it down to "
            f"{plan.opset}, which fails for some operators (the file may stay at opset "
            f"{DYNAMO_MIN_OPSET}: check the result's opset) — --exporter torchscript avoids this"
        )
    if plan.opset > cap:
        who = f"TensorRT {trt}" if trt else "the configured TensorRT"
        plan.warnings.append(
            f"opset {plan.opset} is above what {who} reads ({cap}): trtexec will refuse it"
        )
    if plan.opset > EXPORTER_MAX_OPSET[plan.exporter]:
        raise UsageError(
            f"the {plan.exporter} exporter writes opset {EXPORTER_MAX_OPSET[plan.exporter]} at most",
            hint=f"--opset {EXPORTER_MAX_OPSET[plan.exporter]} or another --exporter",
        )
    return plan


def _auto(target: int, trt, cap: int, opset, plan: Plan) -> str:
    who = f"TensorRT {trt}" if trt else "the configured TensorRT"
    if target >= DYNAMO_MIN_OPSET:
        plan.notes.append(f"exporter auto -> dynamo: opset {target} (the {who} cap is {cap})")
        return "dynamo"
    why = f"you asked for opset {opset}" if opset else f"{who} reads up to opset {cap}"
    plan.notes.append(
        f"exporter auto -> torchscript: {why}, below the dynamo exporter's minimum "
        f"{DYNAMO_MIN_OPSET}"
    )
    return "torchscript"


def image_for_opset(opset: int, image: str) -> str | None:
    """What to configure to read ``opset``: an image from the NGC tag table when one is known to
    fit (its registry prefix kept), else the oldest TensorRT release that reads it (from
    ``tensorrt.MAX_OPSET``); None when no known release does."""
    table = tensorrt._tag_table()
    fits = [
        (tensorrt.parse_version(v) or (0, 0), tag)
        for tag, v in table.items()
        if tensorrt.max_opset(v) >= opset
    ]
    if fits:
        repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        return f"%config TrtMagic.image = '{repo}:{min(fits)[1]}'"
    releases = sorted(v for v, cap in tensorrt.MAX_OPSET.items() if cap >= opset)
    if not releases:
        return None
    major, minor = releases[0]
    return f"an image with TensorRT {major}.{minor} or newer (%config TrtMagic.image = ...)"
