"""export/checks.py on small graphs built with onnx.helper (no torch): the interface, the operator
histogram, the renames, the parity rule and its rows, the graph read without its weights."""

from __future__ import annotations

from dataclasses import replace

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
    assert checks.read_varint(bytes([0x96, 0x01]), 0) == (150, 2)


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


# ---- Dropout in training mode --------------------------------------------------------------


def _dropout_model(flag_as: str, flag: bool = True, inputs=None):
    """A graph with one Dropout whose training_mode comes as torch 2.13 writes it: a Constant
    node (TorchScript: ``/Constant_1_output_0``) or an initializer (dynamo: ``val_1``)."""
    ratio = helper.make_tensor("ratio", TensorProto.FLOAT, [], [0.3])
    mode = helper.make_tensor("mode", TensorProto.BOOL, [], [flag])
    nodes, inits = [], [ratio]
    if flag_as == "constant":
        nodes.append(helper.make_node("Constant", [], ["mode"], value=mode))
    elif flag_as == "initializer":
        inits.append(mode)
    nodes.append(helper.make_node("Dropout", inputs or ["x", "ratio", "mode"], ["y"]))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_training_dropouts_reads_the_flag_from_a_constant_or_a_weight():
    assert checks.training_dropouts(_dropout_model("constant")) == 1
    assert checks.training_dropouts(_dropout_model("initializer")) == 1
    assert checks.training_dropouts(_dropout_model("constant", flag=False)) == 0
    assert checks.training_dropouts(_dropout_model("initializer", flag=False)) == 0
    assert checks.training_dropouts(_dropout_model("none")) == 0  # flag unknown: not counted
    assert checks.training_dropouts(_dropout_model("constant", inputs=["x", "ratio"])) == 0
    assert checks.training_dropouts(_dropout_model("constant", inputs=["x", "ratio", ""])) == 0
    assert checks.training_dropouts(_dropout_model("initializer", inputs=["x"])) == 0


def test_training_dropouts_counts_each_node_and_sub_graphs():
    model = _dropout_model("constant")
    graph = model.graph
    graph.node.append(helper.make_node("Dropout", ["y", "ratio", "mode"], ["y2"]))
    off = helper.make_tensor("off", TensorProto.BOOL, [], [False])
    graph.initializer.append(off)
    graph.node.append(helper.make_node("Dropout", ["y2", "ratio", "off"], ["y3"]))
    graph.node.append(helper.make_node("Relu", ["y3"], ["y4"]))
    assert checks.training_dropouts(model) == 2
    body = helper.make_graph(
        [helper.make_node("Dropout", ["y", "ratio", "mode"], ["z"])], "b", [], []
    )
    graph.node.append(helper.make_node("If", ["c"], ["k"], then_branch=body, else_branch=body))
    assert checks.training_dropouts(model) == 4


def test_training_dropouts_skips_constants_it_cannot_read():
    model = _dropout_model("none")
    # a Constant given as value_int, not as a tensor: not a flag trt_magic reads
    model.graph.node.insert(0, helper.make_node("Constant", [], ["mode"], value_int=1))
    assert checks.training_dropouts(model) == 0
    model = _dropout_model("initializer")
    del model.graph.initializer[1].int32_data[:]  # the weight-less graph of load_graph_only
    assert checks.training_dropouts(model) == 0
    first = _dropout_model("constant")
    unknown = helper.make_node("Dropout", ["x", "ratio", "no_such_flag"], ["x2"])
    first.graph.node.insert(0, unknown)
    assert checks.training_dropouts(first) == 1  # the readable flag after it still counts
    # a flag computed in the graph is not read (neither exporter writes one): only a Constant
    # node or a weight proves training mode
    computed = _dropout_model("none")
    shape = helper.make_tensor("empty", TensorProto.INT64, [0], [])
    computed.graph.initializer.append(shape)
    flag = helper.make_tensor("true", TensorProto.BOOL, [1], [True])
    computed.graph.node.insert(
        0, helper.make_node("ConstantOfShape", ["empty"], ["mode"], value=flag)
    )
    assert checks.training_dropouts(computed) == 0


def test_training_dropouts_of_a_real_torchscript_export(tmp_path):
    import torch

    functional = torch.nn.functional

    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = torch.nn.Dropout(0.5)  # eval mode: no node at all

        def forward(self, x):
            return functional.dropout(self.drop(x), 0.3, training=True)

    path = tmp_path / "noisy.onnx"
    torch.onnx.export(Noisy().eval(), (torch.ones(2, 4),), str(path), dynamo=False)
    model = onnx.load(str(path))
    assert [n.op_type for n in model.graph.node].count("Dropout") == 1
    assert checks.training_dropouts(model) == 1
    assert checks.training_dropouts(checks.load_graph_only(path)) == 1  # a Constant node: kept


def test_training_dropouts_of_the_graph_read_without_weights(tmp_path):
    # what the export checks read with --no-check: dynamo's flag is a scalar weight, which
    # load_graph_only keeps (it once dropped it, and the Dropout warning with it)
    path = tmp_path / "dynamo.onnx"
    onnx.save(_dropout_model("initializer"), path)
    assert checks.training_dropouts(checks.load_graph_only(path)) == 1
    onnx.save(_dropout_model("initializer", flag=False), path)
    assert checks.training_dropouts(checks.load_graph_only(path)) == 0


# ---- parity rows and the ONNX Runtime refusals ---------------------------------------------


def test_parity_row_text_rounds_to_three_digits():
    assert str(Parity("sample (batch=1)", "y", 0.000123456, 12345.6, False)) == (
        "sample (batch=1) / y: max abs 0.000123, max rel 1.23e+04 FAIL"
    )
    assert str(Parity("s", "y", None, None, False, "onnxruntime failed: x")) == (
        "s / y: FAIL (onnxruntime failed: x)"
    )


def test_parity_reports_a_different_output_count(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_graph(), path)
    x = np.ones((1, 4), dtype=np.float32)
    expected = {"y": x, "extra": x}
    rows = checks.parity(path, {"sample": ({"x": x}, expected)}, rtol=0, atol=10)
    assert rows == [
        Parity("sample", "outputs", None, None, False, "ONNX gives 1 outputs, PyTorch 2 (y, extra)")
    ]
    # a later sample still runs after one that failed
    samples = {"first": ({"x": x}, expected), "second": ({"x": x}, {"y": x + 1})}
    rows = checks.parity(path, samples, rtol=0, atol=10)
    assert [(r.sample, r.output, r.ok) for r in rows] == [
        ("first", "outputs", False),
        ("second", "y", True),
    ]


def test_parity_names_the_onnxruntime_failure(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_graph(), path)
    wrong = np.ones((1, 5), dtype=np.float32)
    x = np.ones((1, 4), dtype=np.float32)
    want = np.array([[2.5, 3.5, 4.5, 5.5]], dtype=np.float32)  # x + w + 0.5
    samples = {
        "sample": ({"x": x}, {"y": want}),
        "wrong": ({"x": wrong}, {"y": x}),
        "second": ({"x": x}, {"y": want}),
    }
    rows = checks.parity(path, samples, rtol=0, atol=0.5)
    assert len(rows) == 3 and rows[0] == replace(rows[2], sample="sample")
    first = rows[1]
    assert (first.sample, first.output, first.max_abs, first.max_rel, first.ok) == (
        "wrong", "y", None, None, False
    )  # fmt: skip
    # onnxruntime 1.32's text (its first line of several)
    assert first.note == (
        "onnxruntime failed: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions "
        "for input: x for the following indices"
    )
    assert rows[2] == Parity("second", "y", 0.5, 0.2, True)
    long_name = "x" * 300  # the text names the input: cut at 240 characters
    ident = helper.make_node("Identity", [long_name], ["y"])
    graph = helper.make_graph(
        [ident], "g", [helper.make_tensor_value_info(long_name, TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    (row,) = checks.parity(path, {"s": ({long_name: wrong}, {"y": x})}, rtol=0, atol=0)
    assert row.note == (
        "onnxruntime failed: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions "
        "for input: " + "x" * 162
    )


def test_unloadable_hints_by_the_refusal_text():
    dynamo_hint = (
        "the dynamo exporter writes opset 18+ and its conversion down to a lower opset left an "
        "operator from a newer opset; use --exporter torchscript for this opset, or --opset 18 "
        "with a TensorRT image that reads it"
    )
    plain_hint = (
        "export with --exporter torchscript, or check the operator named above at this opset"
    )
    for text in (
        "[ONNXRuntimeError] : 10 : INVALID_GRAPH : Unrecognized attribute: noop_with_empty_axes",
        "[ONNXRuntimeError] : 1 : FAIL : Load model failed: OPSET 99 not supported",
        "Invalid Model: bad",
        "Node (Split) has NUM_OUTPUTS set",
    ):
        error = checks._unloadable(RuntimeError(text + "\nsecond line"))
        assert (error.message, error.hint) == (
            f"onnxruntime cannot load the exported graph: {text}",
            dynamo_hint,
        ), text
        assert error.detail == text + "\nsecond line"
        assert (error.other_exporter, error.wrong_file) == (True, False)
    error = checks._unloadable(RuntimeError("  " + "y" * 700 + "  "))
    assert error.message == "onnxruntime cannot load the exported graph: " + "y" * 600
    assert error.hint == plain_hint and error.detail == "y" * 700
    assert checks._unloadable(ValueError("")).message.endswith(": ValueError")


def test_parity_refusal_keeps_onnxruntime_text(tmp_path):
    path = tmp_path / "bad.onnx"
    node = helper.make_node("ReduceMean", ["x"], ["y"], noop_with_empty_axes=1)
    onnx.save(_graph(nodes=[node], opset=17), path)
    with pytest.raises(ExportError) as info:
        checks.parity(path, {}, rtol=0, atol=0)
    assert "noop_with_empty_axes" in info.value.message
    assert info.value.hint.startswith("the dynamo exporter writes opset 18+")
    assert isinstance(info.value.__cause__, Exception)


def test_load_checked_reports_a_failed_shape_inference(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    onnx.save(_graph(), path)

    def refuse(model):
        raise RuntimeError("[ShapeInferenceError] " + "z" * 300 + "\nmore")

    monkeypatch.setattr(onnx.shape_inference, "infer_shapes", refuse)
    model, warnings = checks.load_checked(path, check=True)
    assert warnings == ["ONNX shape inference failed: [ShapeInferenceError] " + "z" * 178]
    assert [o.name for o in model.graph.output] == ["y"]  # the graph as loaded
    given = _graph(opset=18)
    model, warnings = checks.load_checked(path, check=False, model=given)
    assert model is given and warnings == []


def test_save_graph_and_load_graph_round_trip(tmp_path):
    path = tmp_path / "m.onnx"
    model = _graph(opset=18)
    checks.save_graph(model, path)
    loaded = checks.load_graph(path)
    assert loaded == model and checks.opset_of(loaded) == 18


def test_parity_runs_on_the_cpu_with_onnxruntime_quiet(tmp_path, monkeypatch):
    import onnxruntime as ort

    path = tmp_path / "m.onnx"
    onnx.save(_graph(), path)
    made = []
    real = ort.InferenceSession

    def spy(model_path, options=None, providers=None, **kw):
        made.append((model_path, options.log_severity_level, providers, kw))
        return real(model_path, options, providers=providers, **kw)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    x = np.ones((1, 4), dtype=np.float32)
    checks.parity(path, {"s": ({"x": x}, {"y": x})}, rtol=0, atol=10)
    # CPU whatever GPU onnxruntime has (the reference ran on the CPU); fatal messages only:
    # a failing run is reported in its row, not as onnxruntime's log lines in the notebook
    assert made == [(str(path), 4, ["CPUExecutionProvider"], {})]


def test_opset_of_accepts_the_ai_onnx_spelling():
    model = onnx.ModelProto()
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    model.opset_import.append(helper.make_opsetid("ai.onnx", 13))
    assert checks.opset_of(model) == 13


def test_load_graph_leaves_external_weights_on_disk(tmp_path):
    path = tmp_path / "ext.onnx"
    model = _graph()
    model.graph.initializer[0].CopyFrom(
        onnx.numpy_helper.from_array(np.arange(1024, dtype=np.float32), "w")
    )
    onnx.save(model, str(path), save_as_external_data=True, size_threshold=0, location="w.bin")
    (tmp_path / "w.bin").unlink()  # only the references are read
    (init,) = checks.load_graph(path).graph.initializer
    assert init.data_location == TensorProto.EXTERNAL and not init.raw_data
    assert {e.key: e.value for e in init.external_data}["location"] == "w.bin"


def test_graph_only_is_the_graph_with_the_weight_bytes_removed(tmp_path):
    path = tmp_path / "m.onnx"
    model = _graph(opset=18)
    model.producer_name = "pytorch"
    model.graph.initializer.append(
        helper.make_tensor("v", TensorProto.INT64, [2, 3], list(range(6)))
    )
    model.graph.initializer.append(helper.make_tensor("flag", TensorProto.BOOL, [], [True]))
    model.graph.initializer.append(helper.make_tensor("ratio", TensorProto.FLOAT, [], [0.25]))
    onnx.save(model, path)
    expected = onnx.ModelProto()
    expected.CopyFrom(model)
    for init in expected.graph.initializer[:2]:  # what stays of a weight: name, dims, data type
        init.CopyFrom(TensorProto(name=init.name, dims=init.dims, data_type=init.data_type))
    # the scalars keep their value (a few bytes each)
    light = checks.load_graph_only(path)
    assert light.SerializeToString() == expected.SerializeToString()
    # a graph field this onnx does not know (a varint, field 100) is kept as it is
    unknown = bytes([0xA0, 0x06, 0x2A])
    graph = model.graph.SerializeToString() + unknown
    model.ClearField("graph")
    path.write_bytes(model.SerializeToString() + checks._message(7, graph))
    light = checks.load_graph_only(path)
    assert light.graph.SerializeToString().endswith(unknown)
    assert [n.op_type for n in light.graph.node] == ["Add"]


def test_wire_reading_edges():
    # a 32-bit field followed by another field: 4 bytes skipped, not 5
    assert list(checks._fields(bytes([0x1D, 1, 2, 3, 4, 0x08, 0x05]))) == [
        (3, bytes([0x1D, 1, 2, 3, 4]), None),
        (1, bytes([0x08, 0x05]), None),
    ]
    assert checks._message(2, b"x" * 128)[:3] == bytes([0x12, 0x80, 0x01])  # 128: two bytes
    assert checks._message(2, b"x" * 127)[:2] == bytes([0x12, 0x7F])
