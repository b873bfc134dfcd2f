"""Test helpers for the accuracy check: a tiny ONNX model made on the CPU, and trtexec's
``--exportOutput`` text.

``export_output_text`` lays values out exactly as ``exportJSONOutput`` in NVIDIA/TensorRT
samples/common/sampleReporting.cpp (commit a892d22267d9cd2dedc1a0893e6892ac901f6d3d) writes them:
``[`` line, then per output ``{ "name" : "<n>"`` / ``  , "dimensions" : "AxB"`` /
``  , "values" : [ v, v ]`` / ``  }``, the separator turning from two spaces into ", " after the
first output, values printed by a plain C++ ``os << float`` (6 significant digits, ``%g``; inf and
nan as bare words). See tests/data/SOURCES.md ("--exportOutput") for why no recorded file exists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def linear_model(path: Path, *, inputs: int = 4, outputs: int = 3, scale: float = 1.0) -> Path:
    """Write ``y = x @ W + b`` with a dynamic batch (input ``x``: [batch, inputs])."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    w = (rng.standard_normal((inputs, outputs)) * scale).astype(np.float32)
    b = rng.standard_normal(outputs).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", outputs])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _value(v: float) -> str:
    if np.isnan(v):
        return "nan"
    return f"{float(v):g}"  # C++ default stream formatting: %g, 6 significant digits


def export_output_text(outputs: dict[str, np.ndarray]) -> str:
    """trtexec's --exportOutput file for these output arrays (see the module docstring)."""
    lines, sep = ["["], "  "
    for name, arr in outputs.items():
        arr = np.asarray(arr)
        lines.append(f'{sep}{{ "name" : "{name}"')
        sep = ", "
        lines.append(f'  {sep}"dimensions" : "{"x".join(str(d) for d in arr.shape)}"')
        lines.append(f'  {sep}"values" : [ {sep.join(_value(v) for v in arr.ravel())} ]')
        lines.append("  }")
    lines.append("]")
    return "\n".join(lines) + "\n"


def identity_model(path: Path, features: int = 4) -> Path:
    """Write ``y = x`` (input ``x``: [batch, features] float32): the model the test image's
    ``identity`` engine computes (tests/docker_image.py)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
