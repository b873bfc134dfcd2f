"""Small ONNX models for the rewrite tests, built with onnx.helper (seeded weights): an MLP with
an FP16-overflowing weight, a conv net (INT8; FP8 leaves its Conv nodes out), and a GEMM stack
(real MatMuls for FP8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(nodes, weights: dict, inputs, outputs, path: Path) -> Path:
    graph = helper.make_graph(
        nodes,
        path.stem,
        inputs,
        outputs,
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def mlp(path: Path, overflow: bool = True) -> Path:
    """x[batch, 64] -> fc1 -> relu -> fc2 -> logits[batch, 10] (fc2 holds 1e6 when overflow)."""
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((64, 128)) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((128, 10)) * 0.1).astype(np.float32)
    if overflow:
        w2[0, 0] = 1e6  # past FP16's 65504: AutoCast must keep fc2 in FP32
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["logits"], name="fc2")]  # fmt: skip
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])
    return _save(nodes, {"w1": w1, "w2": w2}, [x], [y], path)


def cnn(path: Path) -> Path:
    """image[batch, 3, 32, 32] -> 2 conv+relu -> pool -> fc -> logits[batch, 10]."""
    rng = np.random.default_rng(0)
    w = {"w1": (rng.standard_normal((16, 3, 3, 3)) * 0.2).astype(np.float32),
         "b1": np.zeros(16, np.float32),
         "w2": (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32),
         "b2": np.zeros(32, np.float32),
         "wf": (rng.standard_normal((32, 10)) * 0.5).astype(np.float32)}  # fmt: skip
    nodes = [helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", pads=[1] * 4),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1] * 4),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "wf"], ["logits"], name="fc")]  # fmt: skip
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])
    return _save(nodes, w, [x], [y], path)


def gemm(path: Path, width: int = 256, layers: int = 3) -> Path:
    """tokens[batch, 16, width] -> layers x (MatMul + bias + Relu): real GEMMs for FP8."""
    rng = np.random.default_rng(0)
    weights, nodes, cur = {}, [], "tokens"
    for i in range(layers):
        weights[f"w{i}"] = (rng.standard_normal((width, width)) / 16).astype(np.float32)
        weights[f"b{i}"] = np.zeros(width, np.float32)
        nodes += [helper.make_node("MatMul", [cur, f"w{i}"], [f"m{i}"], name=f"fc{i}"),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"], name=f"bias{i}"),
                  helper.make_node("Relu", [f"a{i}"], [f"h{i}"], name=f"relu{i}")]  # fmt: skip
        cur = f"h{i}"
    x = helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["batch", 16, width])
    y = helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["batch", 16, width])
    return _save(nodes, weights, [x], [y], path)


def dtypes(path: Path) -> set[str]:
    """The element types of every initializer and Cast target in the file."""
    model = onnx.load(str(path))
    types = {TensorProto.DataType.Name(t.data_type) for t in model.graph.initializer}
    for node in model.graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to":
                types.add(TensorProto.DataType.Name(attr.i))
    return types
