"""export/checks.py on small graphs built with onnx.helper (no torch): the interface, the operator
histogram, the renames, the parity rule and its rows, the graph read without its weights."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from trt_magic.errors import ExportError
from trt_magic.export import checks
from trt_magic.export.checks import Parity, TensorSig


def _graph(dims_x=("batch", 4), out_dims=("batch", 4), opset=17, nodes=None, extra_out=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims_x))
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_dims))
    nodes = nodes or [helper.make_node("Add", ["x", "w"], ["y"])]
    init = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    graph = helper.make_graph(nodes, "g", [x, w], [y, *extra_out], initializer=[init])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_signature_skips_initializers_and_reads_every_kind_of_dim():
    model = _graph(dims_x=("batch", 4))
    model.graph.input[0].type.tensor_type.shape.dim.add()  # a dim with neither value nor name
    model.graph.input.append(helper.make_tensor_value_info("ids", TensorProto.INT64, [2]))
    inputs, outputs = checks.signature(model)
    assert inputs == [
        TensorSig("x", "float32", ("batch", 4, "?")),
        TensorSig("ids", "int64", (2,)),
    ]
    assert outputs == [TensorSig("y", "float32", ("batch", 4))]
    assert str(inputs[0]) == "x: float32[batch, 4, ?]"
    untyped = onnx.ValueInfoProto(name="u")
    assert checks._sig(untyped) == TensorSig("u", "?", ())


def test_opset_of_reads_the_default_domain_only():
    model = _graph(opset=18)
    model.opset_import.insert(0, helper.make_opsetid("com.microsoft", 1))
    assert checks.opset_of(model) == 18
    assert checks.opset_of(onnx.ModelProto()) == 0


def test_op_histogram_counts_sub_graphs_and_custom_domains():
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])  # fmt: skip
    other = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["e1"]), helper.make_node("Neg", ["e1"], ["e"])],
        "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)],
    )  # fmt: skip
    nodes = [
        helper.make_node("Add", ["x", "w"], ["a"]),
        helper.make_node("Gelu", ["a"], ["g"], domain="com.microsoft"),
        helper.make_node("Add", ["g", "w"], ["c"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=other),
    ]
    counts = checks.op_histogram(_graph(nodes=nodes))
    assert counts == {"Add": 2, "Relu": 2, "com.microsoft::Gelu": 1, "If": 1, "Neg": 1}
    assert list(counts)[:2] == ["Add", "Relu"]  # most common first
    loop_body = helper.make_graph([helper.make_node("Abs", ["x"], ["b"])], "body", [], [])
    scan = helper.make_node("Scan", ["x"], ["y"], body=loop_body, num_scan_inputs=1)
    ai_onnx = helper.make_node("Sqrt", ["x"], ["s"], domain="ai.onnx")
    assert checks.op_histogram(_graph(nodes=[scan, ai_onnx])) == {"Scan": 1, "Abs": 1, "Sqrt": 1}


def test_compare_rule_and_figures():
    ref = np.array([4.0, -4.0, 0.0], dtype=np.float32)
    at_limit = np.array([4.75, -4.75, 0.25], dtype=np.float32)  # atol + rtol*|ref| = 0.75
    row = checks.compare("sample", "y", ref, at_limit, rtol=0.125, atol=0.25)
    assert row == Parity("sample", "y", 0.75, 0.25 / np.finfo(np.float32).tiny, True)
    assert not checks.compare("s", "y", ref, at_limit, rtol=0.125, atol=0.2).ok
    assert not checks.compare("s", "y", ref, at_limit, rtol=0.1, atol=0.25).ok
    # the reference (PyTorch) scales rtol, not the ONNX output
    assert not checks.compare("s", "y", np.array([4.0]), np.array([4.8]), rtol=0.125, atol=0.25).ok
    row = checks.compare("s", "y", np.array([2.0, 8.0]), np.array([3.0, 8.0]), rtol=0, atol=1)
    assert (row.max_abs, row.max_rel, row.ok) == (1.0, 0.5, True)
    nan = np.array([np.nan, 1.0])
    assert checks.compare("s", "y", nan, nan.copy(), rtol=0, atol=0).ok  # NaN == NaN
    assert not checks.compare("s", "y", nan, np.array([0.0, 1.0]), rtol=0, atol=0).ok


def test_compare_shape_and_empty_outputs():
    row = checks.compare("sample", "y", np.zeros((2, 3)), np.zeros((3, 2)), rtol=1, atol=1)
    assert row == Parity("sample", "y", None, None, False, "shape (3, 2) != PyTorch (2, 3)")
    assert str(row) == "sample / y: FAIL (shape (3, 2) != PyTorch (2, 3))"
    assert checks.compare("s", "y", np.zeros(0), np.zeros(0), 0, 0) == Parity(
        "s", "y", 0.0, 0.0, True
    )


def test_parity_row_text():
    assert (
        str(Parity("sample", "y", 0.5, 0.125, True)) == "sample / y: max abs 0.5, max rel 0.125 ok"
    )
    assert str(Parity("second", "z", 2.0, 1.0, False)).endswith("max rel 1 FAIL")


def test_parity_runs_onnxruntime_on_each_sample(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_graph(), path)
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    x1 = np.ones((1, 4), dtype=np.float32)
    x2 = np.zeros((3, 4), dtype=np.float32)
    samples = {
        "sample": ({"x": x1, "unused": x1}, {"y": x1 + w}),
        "second sample (batch=3)": ({"x": x2}, {"y": x2 + w + 0.5}),
    }
    rows = checks.parity(path, samples, rtol=0.0, atol=0.4)
    assert [(r.sample, r.output, r.max_abs, r.ok) for r in rows] == [
        ("sample", "y", 0.0, True),
        ("second sample (batch=3)", "y", 0.5, False),
    ]
    rows = checks.parity(path, samples, rtol=0.0, atol=0.5)
    assert [r.ok for r in rows] == [True, True]
    bad = {"sample": ({"x": np.ones((1, 5), dtype=np.float32)}, {"y": x1, "z": x1})}
    rows = checks.parity(path, bad, rtol=0.0, atol=1.0)
    assert [(r.output, r.ok, r.max_abs) for r in rows] == [("y", False, None), ("z", False, None)]
    assert rows[0].note.startswith("onnxruntime failed: ")


def test_parity_on_a_graph_onnxruntime_refuses(tmp_path):
    path = tmp_path / "bad.onnx"
    node = helper.make_node("ReduceMean", ["x"], ["y"], noop_with_empty_axes=1)
    onnx.save(_graph(nodes=[node], opset=17), path)  # the opset-18 attribute at opset 17
    with pytest.raises(ExportError, match="onnxruntime cannot load the exported graph") as info:
        checks.parity(path, {}, rtol=0, atol=0)
    assert "--exporter torchscript for this opset" in info.value.hint
    other = checks._unloadable(RuntimeError("some other failure"))
    assert other.message == "onnxruntime cannot load the exported graph: some other failure"
    fix = "export with --exporter torchscript, or check the operator"
    assert other.hint.startswith(fix)
    assert checks._unloadable(RuntimeError("")).message.endswith(": RuntimeError")


def test_load_checked_warns_and_infers(tmp_path):
    path = tmp_path / "m.onnx"
    model = _graph(nodes=[helper.make_node("Add", ["x", "w"], ["h"]),
                          helper.make_node("Relu", ["h"], ["y"])])  # fmt: skip
    onnx.save(model, path)
    loaded, warnings = checks.load_checked(path, check=True)
    assert warnings == [] and [v.name for v in loaded.graph.value_info] == ["h"]
    loaded, warnings = checks.load_checked(path, check=False)
    assert warnings == [] and list(loaded.graph.value_info) == []
    broken = _graph(nodes=[helper.make_node("NoSuchOp", ["x"], ["y"])])
    onnx.save(broken, path)
    _, warnings = checks.load_checked(path, check=True)
    assert len(warnings) == 1 and warnings[0].startswith("onnx.checker: ")
    assert "NoSuchOp" in warnings[0] and "\n" not in warnings[0]


def test_rename_dims_whole_tokens_everywhere():
    model = _graph(dims_x=("s77", 4), out_dims=("2*s77", 4))
    model.graph.value_info.append(helper.make_tensor_value_info("h", TensorProto.FLOAT, ["s77x"]))
    assert checks.rename_dims(model, {"x": {0: "batch"}, "missing": {0: "n"}}) == {"s77": "batch"}
    assert checks.signature(model)[0][0].shape == ("batch", 4)
    assert checks.signature(model)[1][0].shape == ("2*batch", 4)
    assert model.graph.value_info[0].type.tensor_type.shape.dim[0].dim_param == "s77x"
    assert checks.rename_dims(model, {"x": {0: "batch"}}) == {}  # already named
    assert checks.rename_dims(model, {"x": {5: "far"}}) == {}  # no such axis


def test_rename_dims_leaves_one_symbol_asked_two_names():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["s0", "s0"])
    model = helper.make_model(helper.make_graph([], "g", [x], []))
    assert checks.rename_dims(model, {"x": {0: "batch", 1: "seq"}}) == {}
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == ["s0", "s0"]
    assert checks.rename_dims(model, {"x": {0: "n", 1: "n"}}) == {"s0": "n"}


def test_rename_outputs_in_nodes_outputs_and_sub_graphs():
    inner = helper.make_graph([helper.make_node("Neg", ["y"], ["z"])], "b", [], [])
    nodes = [
        helper.make_node("Add", ["x", "w"], ["y"]),
        helper.make_node("If", ["y"], ["k"], then_branch=inner, else_branch=inner),
    ]
    model = _graph(nodes=nodes)
    assert checks.rename_outputs(model, ["logits"]) is True
    assert [o.name for o in model.graph.output] == ["logits"]
    assert list(model.graph.node[0].output) == ["logits"]
    assert list(model.graph.node[1].input) == ["logits"]
    assert list(model.graph.node[1].attribute[0].g.node[0].input) == ["logits"]
    assert checks.rename_outputs(model, ["logits"]) is False  # already so
    assert checks.rename_outputs(model, ["a", "b"]) is False  # wrong count
    two = _graph(extra_out=[helper.make_tensor_value_info("y2", TensorProto.FLOAT, None)])
    assert checks.rename_outputs(two, ["same", "same"]) is False  # repeated names
    passthrough = _graph(nodes=[helper.make_node("Identity", ["x"], ["y"])])
    passthrough.graph.output[0].name = "x"  # an output that is an input
    assert checks.rename_outputs(passthrough, ["out"]) is False


def test_external_data_moves_weights_beside_the_model(tmp_path):
    path = tmp_path / "big.onnx"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1024])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1024])
    data = np.arange(1024, dtype=np.float32).tobytes()  # raw_data, as the exporters write
    weights = helper.make_tensor("w", TensorProto.FLOAT, [1024], data, raw=True)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [weights]
    )
    onnx.save(helper.make_model(graph), path)
    from trt_magic.export import external

    assert external.consolidate(path, external=True) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx", "big.onnx.data"]
    assert (tmp_path / "big.onnx.data").stat().st_size == 4096
    stamp = (tmp_path / "big.onnx.data").stat().st_mtime_ns
    assert external.consolidate(path, external=True) is True  # already one file: left alone
    assert (tmp_path / "big.onnx.data").stat().st_mtime_ns == stamp
    reloaded = onnx.load(str(path))
    assert onnx.numpy_helper.to_array(reloaded.graph.initializer[0])[-1] == 1023


def test_graph_only_keeps_interface_and_drops_weights(tmp_path):
    path = tmp_path / "m.onnx"
    model = _graph(opset=18)
    model.graph.sparse_initializer.append(onnx.SparseTensorProto())
    onnx.save(model, path)
    light = checks.load_graph_only(path)
    assert checks.signature(light) == checks.signature(model) and checks.opset_of(light) == 18
    (init,) = light.graph.initializer
    assert (init.name, list(init.dims), init.data_type) == ("w", [4], TensorProto.FLOAT)
    assert not init.raw_data and not init.float_data and len(light.graph.sparse_initializer) == 0
    assert light.ir_version == model.ir_version and light.graph.node == model.graph.node
    assert checks._message(7, b"x" * 200)[:3] == bytes([0x3A, 0xC8, 0x01])  # varint length
    with pytest.raises(ValueError, match="wire type 3"):
        list(checks._fields(bytes([0x0B])))
    assert list(
        checks._fields(bytes([0x08, 0x96, 0x01, 0x11]) + b"\0" * 8 + bytes([0x1D]) + b"\0" * 4)
    ) == [  # fmt: skip
        (1, bytes([0x08, 0x96, 0x01]), None),
        (2, bytes([0x11]) + b"\0" * 8, None),
        (3, bytes([0x1D]) + b"\0" * 4, None),
    ]
    assert checks._varint(bytes([0x96, 0x01]), 0) == (150, 2)


def test_rename_dims_many_symbols_any_order_and_the_last_axis():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["s0", "s1"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["s0*s1"])
    model = helper.make_model(helper.make_graph([], "g", [x], [y]))
    asked = {"missing": {0: "n"}, "x": {0: "batch", 1: "seq", 2: "past_the_end"}}
    assert checks.rename_dims(model, asked) == {"s0": "batch", "s1": "seq"}
    assert checks.signature(model) == (
        [TensorSig("x", "float32", ("batch", "seq"))],
        [TensorSig("y", "float32", ("batch*seq",))],
    )


def test_rename_outputs_keeps_other_value_info():
    model = _graph(nodes=[helper.make_node("Add", ["x", "w"], ["h"]),
                          helper.make_node("Relu", ["h"], ["y"])])  # fmt: skip
    model.graph.value_info.append(helper.make_tensor_value_info("h", TensorProto.FLOAT, None))
    assert checks.rename_outputs(model, ["out"]) is True
    assert [v.name for v in model.graph.value_info] == ["h"]
    assert list(model.graph.node[1].output) == ["out"]
