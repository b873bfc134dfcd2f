"""The worker side of cast_onnx and quantize_onnx: NVIDIA Model Optimizer (ModelOpt) calls.

Imported only in the worker process (``python -m trt_magic.rewrite.worker``); each function takes
the source and destination paths and returns facts as a JSON-able dict. ModelOpt and numpy are
imported inside the functions.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from trt_magic.export.checks import load_graph_only

#: AutoCast logs one line per node it keeps in high precision, e.g. "Skipping node fc2:
#: initializer w2 out of range: ..." or "Skipping node softmax: DisabledNodeNameRegexRule"
#: (modelopt/onnx/autocast/nodeclassifier.py, 0.47)
_SKIPPED = re.compile(r"^Skipping node (?P<node>.+?): (?P<why>.+)$")
#: AutoCast's rule class names, in words
_RULES = {
    "DisabledNodeNameRegexRule": "asked (keep_fp32)",
    "DisabledOpTypes": "its op type is excluded",
}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.kept: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        m = _SKIPPED.match(record.getMessage())
        if m:
            why = m.group("why").strip()
            self.kept[m.group("node")] = _RULES.get(why, why)


def autocast(source: str, dest: str, precision: str = "fp16", keep_fp32=None) -> dict:
    """ModelOpt AutoCast: FP32 -> FP16/BF16, overflow-prone nodes kept in FP32, I/O kept."""
    from modelopt.onnx.autocast import convert_to_mixed_precision

    logger = logging.getLogger("modelopt.onnx.autocast")
    collect = _Collect()
    level = logger.level
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    try:
        model = convert_to_mixed_precision(
            onnx_path=source,
            low_precision_type=precision,
            nodes_to_exclude=[f"^{re.escape(n)}$" for n in keep_fp32 or []] or None,
            keep_io_types=True,  # the interface stays FP32: callers and trtexec inputs unchanged
            providers=["cpu"],
        )
    finally:
        logger.removeHandler(collect)
        logger.setLevel(level)
    return {"model": model, "kept_fp32": collect.kept}  # the worker saves it (one write)


def ptq(
    source: str,
    dest: str,
    mode: str = "int8",
    calibration: str | None = None,
    high_precision: str = "fp16",
    exclude=None,
) -> dict:
    """ModelOpt ONNX PTQ on the CPU: explicit QuantizeLinear/DequantizeLinear nodes."""
    import numpy as np
    from modelopt.onnx.quantization import quantize

    data = shapes = None
    if calibration:
        with np.load(calibration) as npz:
            data = {k: npz[k] for k in npz.files}
        # one sample per calibration step (symbolic batch dims); static dims as they are
        shapes = ",".join(f"{k}:" + "x".join(map(str, (1, *v.shape[1:]))) for k, v in data.items())
    quantize(
        onnx_path=source,
        quantize_mode=mode,
        calibration_data=data,
        calibration_shapes=_static_batch(source, shapes),
        calibration_eps=["cpu"],
        output_path=dest,
        high_precision_dtype=high_precision,
        nodes_to_exclude=list(exclude) if exclude else None,
        log_level="WARNING",
    )
    model = load_graph_only(Path(dest))  # the structure only: the weights are not needed
    dq = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    skip = {"QuantizeLinear", "DequantizeLinear"}
    quantized = [
        n.name for n in model.graph.node if n.op_type not in skip and any(i in dq for i in n.input)
    ]
    return {"quantized": quantized, "random_calibration": calibration is None}


def _static_batch(source: str, shapes: str | None) -> str | None:
    """Keep a static batch dim: the model's own first dim when it is fixed."""
    if shapes is None:
        return None
    model = load_graph_only(Path(source))
    fixed = {}
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_value"):
            fixed[value.name] = dims[0].dim_value
    parts = []
    for item in shapes.split(","):
        name, _, dims = item.rpartition(":")
        if name in fixed:
            dims = "x".join([str(fixed[name]), *dims.split("x")[1:]])
        parts.append(f"{name}:{dims}")
    return ",".join(parts)
