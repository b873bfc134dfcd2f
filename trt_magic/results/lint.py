"""Engine linters: what in an engine's layers is worth a look, why, and what to try.

The rules are TREx 0.2.1's (NVIDIA/TensorRT tools/experimental/trt-engine-explorer ``trex/lint.py``:
``ConvLinter``, ``ReformatLinter``, ``SliceLinter``, ``QDQLinter``) with three additions from
the questions in NVIDIA/TensorRT's issues (#3197, #4554: "why is INT8 not faster than FP16?"):
convolutions and GEMMs left in FP32 inside a reduced-precision engine, the time reformats cost,
and slow layers that do little arithmetic. Unfused Q/DQ nodes show up in the real QAT engines as
``Reformat`` layers with ``Origin: QDQ`` (tests/data/trex/A100-qat: ``QuantizeLinear_15``...) and
in older ones as ``Scale`` layers between INT8 and float (TREx's rule).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .exports import dtype_of_format
from .layer_info import CONV_TYPES, GEMM_TYPES, macs

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

LOW_PRECISIONS = frozenset({"FP16", "BF16", "INT8", "FP8", "INT4", "FP4"})
QUANTIZED = frozenset({"INT8", "FP8", "INT4", "FP4"})
#: a Tensor Core kernel in a tactic name: TREx's test (trex/lint.py ``tc_lint``) plus the MMA tile
#: shapes of Turing/Ampere cuDNN kernels (``ampere_h16816cudnn_...``, ``..._h1688cudnn_...``), which
#: TREx's list misses (its false positives on tests/data/trex/A100-fp16)
_TENSOR_CORE = re.compile(r"imma|hmma|xmma|i88|884|1688|16816|16832")
SEVERITIES = ("warning", "info")
COLUMNS = ["layer", "rule", "severity", "why", "what_to_try", "time_ms", "percent", "detail"]
#: a layer is "slow" from this share of the engine's time on
SLOW_PERCENT = 5.0
#: a layout-only Reformat is reported from this share of the engine's time on
LAYOUT_PERCENT = 1.0
#: below this many MACs per byte moved a layer is bound by memory, not arithmetic
LOW_INTENSITY = 10.0


@dataclass
class Finding:
    """One linter finding on one layer."""

    layer: str
    rule: str
    severity: str  # "warning" | "info"
    why: str
    what_to_try: str
    time_ms: float | None = None
    percent: float | None = None
    detail: str = ""


def _dtype(tensor: dict | None) -> str | None:
    return dtype_of_format(tensor.get("Format/Datatype")) if tensor else None


def _first(raw: dict, key: str) -> dict | None:
    tensors = raw.get(key) or ()
    return tensors[0] if tensors else None


def _kind(raw: dict) -> str | None:
    return raw.get("ParameterType") or raw.get("LayerType")


def _reformat(raw: dict) -> Finding | None:
    src, dst = _dtype(_first(raw, "Inputs")), _dtype(_first(raw, "Outputs"))
    if raw.get("Origin") == "QDQ":
        return _qdq(raw, src, dst)
    if src and dst and src != dst:
        try_ = ("keep neighbouring layers in one precision: add Q/DQ around the float operations"
                if {src, dst} & QUANTIZED else
                "find which neighbour wants the other precision (layer precision constraints, "
                "--stronglyTyped casts, or --inputIOFormats/--outputIOFormats for I/O)")  # fmt: skip
        return Finding(raw.get("Name", ""), "reformat_converts_type", "warning",
                       f"a Reformat converts {src} -> {dst}: a full copy of the tensor, and its "
                       "neighbours run in different precisions", try_,
                       detail=f"origin {raw.get('Origin', '?')}")  # fmt: skip
    formats = [(t or {}).get("Format/Datatype", "?") for t in (_first(raw, "Inputs"),
                                                               _first(raw, "Outputs"))]  # fmt: skip
    return Finding(raw.get("Name", ""), "reformat_layout", "info",
                   "a Reformat only changes the memory layout: a copy that does no work",
                   "check channel counts (multiples of 8 for FP16, 32 for INT8) or the I/O "
                   "formats (--inputIOFormats/--outputIOFormats)",
                   detail=" -> ".join(formats))  # fmt: skip


def _qdq(raw: dict, src: str | None, dst: str | None) -> Finding:
    role = "Quantize" if dst in QUANTIZED and src not in QUANTIZED else (
        "Dequantize" if src in QUANTIZED and dst not in QUANTIZED else "Re-quantize")  # fmt: skip
    return Finding(raw.get("Name", ""), "qdq_unfused", "warning",
                   f"an unfused {role} node runs as its own kernel ({src} -> {dst}); Q/DQ should "
                   "fuse into the neighbouring convolution or GEMM",
                   "check why it did not fuse: Q/DQ placement (e.g. a residual Add whose other "
                   "input is not quantized), or a layer between Q/DQ and the op TensorRT cannot "
                   "fuse across; a Quantize of the network input is expected")  # fmt: skip


def _compute_in_fp32(raw: dict, kind: str | None, engine_low: set[str]) -> Finding | None:
    if kind not in CONV_TYPES | GEMM_TYPES | {"Deconvolution"} or not engine_low:
        return None
    if _dtype(_first(raw, "Inputs")) != "FP32":
        return None
    allowed = "/".join(sorted(engine_low))
    return Finding(raw.get("Name", ""), "compute_in_fp32", "warning",
                   f"a {kind} runs in FP32 in an engine built for {allowed}: no Tensor Cores, "
                   "and reformats around it",
                   "for INT8 put Q/DQ on its input and weights; for FP16 check layer precision "
                   "constraints or an explicit FP32 cast in the model")  # fmt: skip


def _conv_rules(raw: dict, kind: str | None) -> list[Finding]:
    """TREx's ConvLinter: Tensor Cores unused, INT8 in with float out, channel alignment."""
    if kind not in CONV_TYPES:
        return []
    name, found = raw.get("Name", ""), []
    src_t, dst_t = _first(raw, "Inputs"), _first(raw, "Outputs")
    src, dst = _dtype(src_t), _dtype(dst_t)
    # no TacticName: a TensorRT-internal kernel (CudaDepthwiseConvolution in
    # tests/data/trex/mobilenet-qat), which TREx names "TensorRT" and flags too
    tactic = raw.get("TacticName") or f"TensorRT ({raw.get('LayerType', '?')})"
    if src not in (None, "FP32") and not _TENSOR_CORE.search(tactic):
        small = len(src_t.get("Dimensions") or []) == 4 and 0 < src_t["Dimensions"][1] < 32
        found.append(Finding(name, "no_tensor_cores", "info",
                             "this convolution's kernel is not a Tensor Core kernel",
                             "few input channels (< 32) may rule Tensor Cores out" if small else
                             "Tensor Cores accelerate large convolutions: check shapes and alignment",
                             detail=tactic))  # fmt: skip
    if src in QUANTIZED and dst is not None and dst not in QUANTIZED:
        found.append(Finding(name, "int8_conv_float_output", "info",
                             f"a quantized convolution writes {dst}: more bytes for the next layer",
                             "add quantization after the convolution (a Q/DQ on its output)"))  # fmt: skip
    dims_in = (src_t or {}).get("Dimensions") or []
    dims_out = (dst_t or {}).get("Dimensions") or []
    if len(dims_in) == 4 and len(dims_out) == 4:
        step = 16 if src == "INT8" else 8
        if dims_in[1] % step or dims_out[1] % step:
            found.append(Finding(name, "channel_alignment", "info",
                                 f"channels {dims_in[1]} -> {dims_out[1]} are not multiples of "
                                 f"{step}: Tensor Core kernels want aligned channels",
                                 f"pad the channels to a multiple of {step}"))  # fmt: skip
    return found


def _slice_converts(raw: dict, kind: str | None) -> Finding | None:
    if kind != "Slice":
        return None
    src, dst = _dtype(_first(raw, "Inputs")), _dtype(_first(raw, "Outputs"))
    if src and dst and src != dst:
        return Finding(raw.get("Name", ""), "slice_converts_type", "warning",
                       f"a Slice converts {src} -> {dst}", "keep the slice in one precision")  # fmt: skip
    return None


def _slow_low_arithmetic(raw: dict, kind: str | None, percent: float | None) -> Finding | None:
    if percent is None or percent < SLOW_PERCENT or kind in ("Reformat", "NoOp"):
        return None
    from .layer_info import tensor_bytes, weights_bytes

    m = macs(raw)
    moved = sum((tensor_bytes(t) or 0.0) for t in (*(raw.get("Inputs") or ()),
                                                   *(raw.get("Outputs") or ())))  # fmt: skip
    moved += weights_bytes(raw)
    intensity = (m / moved) if m is not None and moved else None
    if m is not None and (intensity is None or intensity >= LOW_INTENSITY):
        return None
    what = "no multiply-accumulates" if m is None else f"{intensity:.1f} MACs per byte"
    return Finding(raw.get("Name", ""), "slow_low_arithmetic", "info",
                   f"{percent:.1f}% of the time in a layer doing little arithmetic ({what}): "
                   "bound by memory traffic",
                   "look for a fusion TensorRT missed (a pointwise op between two convolutions), "
                   "a smaller layout, or reduced precision for its tensors")  # fmt: skip


def engine_precisions(raw_layers: Sequence, build_precision: str | None = None) -> set[str]:
    """The reduced precisions an engine uses: from its build option (``FP32+FP16+INT8``), else
    the precisions its layers run in."""
    if build_precision:
        return {p for p in build_precision.upper().split("+") if p in LOW_PRECISIONS}
    found = {_dtype(_first(r, "Inputs")) for r in raw_layers if isinstance(r, dict)}
    return {p for p in found if p in LOW_PRECISIONS}


def lint_layers(
    raw_layers: Sequence,
    times: Sequence[float | None] | None = None,
    percents: Sequence[float | None] | None = None,
    build_precision: str | None = None,
) -> list[Finding]:
    """Run every rule over the layers (``times``/``percents`` aligned with them, when profiled)."""
    low = engine_precisions(raw_layers, build_precision)
    findings: list[Finding] = []
    for i, raw in enumerate(raw_layers):
        if not isinstance(raw, dict) or raw.get("LayerType") in ("NoOp", "Constant"):
            continue
        kind = _kind(raw)
        time_ms = times[i] if times is not None and i < len(times) else None
        percent = percents[i] if percents is not None and i < len(percents) else None
        here: list[Finding | None] = []
        if kind == "Reformat":
            here.append(_reformat(raw))
        elif kind == "Scale":
            src, dst = _dtype(_first(raw, "Inputs")), _dtype(_first(raw, "Outputs"))
            if (src in QUANTIZED) != (dst in QUANTIZED):  # TREx's QDQLinter (Int8 only)
                here.append(_qdq(raw, src, dst))
        here += [_compute_in_fp32(raw, kind, low), *_conv_rules(raw, kind),
                 _slice_converts(raw, kind), _slow_low_arithmetic(raw, kind, percent)]  # fmt: skip
        for f in here:
            if f is not None and (f.rule != "reformat_layout" or (percent or 0) >= LAYOUT_PERCENT):
                f.time_ms = None if time_ms != time_ms else time_ms
                f.percent = None if percent != percent else percent
                findings.append(f)
    return findings


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """Findings as a frame: warnings first, then by time spent (costliest first)."""
    import pandas as pd

    frame = pd.DataFrame([asdict(f) for f in findings], columns=COLUMNS)
    frame["_sev"] = frame["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    frame = frame.sort_values(["_sev", "time_ms"], ascending=[True, False], na_position="last",
                              kind="stable")  # fmt: skip
    return frame.drop(columns="_sev").reset_index(drop=True)
