"""The export's stdlib parts: -i/-d parsing, exporter choice, NUMA pinning, the child process,
the pre-flight and the catalogue's text rules (no torch export needed)."""

from __future__ import annotations

import os
import time

import pytest

from trt_magic.errors import ExportError, UsageError
from trt_magic.export import hints, isolate, plan
from trt_magic.export.preflight import preflight
from trt_magic.export.spec import (
    InputSpec,
    normalize_axes,
    parse_dynamic,
    parse_input,
    parse_inputs,
)

# ---- -i / -d -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, spec",
    [
        ("images:1x3x224x224", InputSpec("images", (1, 3, 224, 224), "float32")),
        ("TOKENS:1x128:int64", InputSpec("TOKENS", (1, 128), "int64")),
        ("mask:2x8:bool", InputSpec("mask", (2, 8), "bool")),
        ("x:4,5:fp16", InputSpec("x", (4, 5), "float16")),
        ("input.1:7:long", InputSpec("input.1", (7,), "int64")),
    ],
)
def test_parse_input(text, spec):
    assert parse_input(text) == spec


@pytest.mark.parametrize(
    "text, words",
    [("images", "NAME:SHAPE"), ("x:1x0x3", "positive"), ("x:1x3:complex", "unknown dtype")],
)
def test_parse_input_errors(text, words):
    with pytest.raises(UsageError, match=words):
        parse_input(text)


def test_parse_inputs_from_mapping():
    specs = parse_inputs({"a": (1, 3), "ids": ((2, 5), "int64")})
    assert specs == [InputSpec("a", (1, 3)), InputSpec("ids", (2, 5), "int64")]


def test_parse_dynamic_merges_and_names():
    assert parse_dynamic(["tokens:0=batch,1=seq", "mask:0=batch", "tokens:2"]) == {
        "tokens": {0: "batch", 1: "seq", 2: "tokens_2"},
        "mask": {0: "batch"},
    }
    assert parse_dynamic({"x": [0]}) == {"x": {0: "x_0"}}
    assert parse_dynamic({"x": {0: "b"}}) == {"x": {0: "b"}}


@pytest.mark.parametrize("text", ["x", "x:", "x:a=batch", "x:0=1bad"])
def test_parse_dynamic_errors(text):
    with pytest.raises(UsageError):
        parse_dynamic([text])


def test_normalize_axes():
    dyn = {"x": {-1: "seq"}}
    normalize_axes(dyn, {"x": 3})
    assert dyn == {"x": {2: "seq"}}
    with pytest.raises(UsageError, match="axes 0..1"):
        normalize_axes({"x": {5: "b"}}, {"x": 2})


# ---- exporter and opset choice -------------------------------------------------------------

DEFAULT = "nvcr.io/nvidia/tensorrt:23.04-py3"


def test_auto_on_default_image_picks_torchscript_at_17():
    p = plan.choose("auto", None, DEFAULT)
    assert (p.exporter, p.opset, p.trt_version, p.cap) == ("torchscript", 17, "8.6.1", 17)
    assert "below the dynamo exporter's minimum 18" in p.notes[0]
    assert not p.warnings


def test_auto_with_opset_18_picks_dynamo_and_warns_about_the_cap():
    p = plan.choose("auto", 18, DEFAULT)
    assert (p.exporter, p.opset) == ("dynamo", 18)
    assert any("above what TensorRT 8.6.1 reads (17)" in w for w in p.warnings)


def test_unknown_image_is_said_not_guessed():
    p = plan.choose("auto", None, "nvcr.io/nvidia/tensorrt:24.05-py3")
    assert p.trt_version is None and p.exporter == "torchscript" and p.opset == 17
    assert "not in the NGC tag table" in p.notes[0]


def test_explicit_dynamo_below_18_warns():
    p = plan.choose("dynamo", None, DEFAULT)
    assert p.opset == 17 and "converts it down to 17" in p.warnings[0]


def test_bad_exporter_and_opset():
    with pytest.raises(UsageError, match="not one of"):
        plan.choose("onnx", None, DEFAULT)
    with pytest.raises(UsageError, match="torchscript exporter writes opset 20 at most"):
        plan.choose("torchscript", 21, DEFAULT)


# ---- NUMA and the child process ------------------------------------------------------------


def _fake_sysfs(tmp_path, nodes: dict[int, str]):
    for node, cpulist in nodes.items():
        d = tmp_path / "devices/system/node" / f"node{node}"
        d.mkdir(parents=True)
        (d / "cpulist").write_text(cpulist + "\n")
    (tmp_path / "devices/system/node/possible").write_text("0-1\n")  # real sysfs has these too
    return str(tmp_path)


def test_parse_cpulist():
    assert isolate.parse_cpulist("0-3,8-9,12\n") == [0, 1, 2, 3, 8, 9, 12]
    assert isolate.parse_cpulist("") == []


def test_pinning_plan_on_a_two_node_host(tmp_path):
    allowed = sorted(os.sched_getaffinity(0))
    root = _fake_sysfs(tmp_path, {0: str(allowed[0]), 1: "200-203"})
    assert isolate.numa_nodes(root) == {0: [allowed[0]], 1: [200, 201, 202, 203]}
    assert isolate.pinning_plan(root) == (0, [allowed[0]])


def test_no_pinning_on_one_node(tmp_path):
    assert isolate.pinning_plan(_fake_sysfs(tmp_path, {0: "0-1"})) is None
    assert isolate.pinning_plan(str(tmp_path / "nowhere")) is None


def test_run_isolated_in_process_without_timeout():
    assert isolate.run_isolated(os.getpid, timeout=None) == os.getpid()


def test_run_isolated_child_returns_and_is_pinned():
    before = os.sched_getaffinity(0)
    cpu = sorted(before)[0]
    pid, affinity = isolate.run_isolated(
        lambda: (os.getpid(), os.sched_getaffinity(0)), timeout=30, cpus=[cpu]
    )
    assert pid != os.getpid() and affinity == {cpu}
    assert os.sched_getaffinity(0) == before  # the parent keeps its own CPUs


def test_run_isolated_timeout_kills_the_child():
    started = time.monotonic()
    with pytest.raises(isolate.ChildTimedOut):
        isolate.run_isolated(lambda: time.sleep(60), timeout=0.5)
    assert time.monotonic() - started < 10


def test_run_isolated_child_error_comes_back_as_a_record():
    def boom():
        raise ValueError("inner") from KeyError("cause")

    with pytest.raises(isolate.ChildFailed) as info:
        isolate.run_isolated(boom, timeout=30)
    record = info.value.record
    assert record.type == "ValueError" and record.message == "inner"
    assert record.chain[0][0] == "KeyError" and "boom" in record.traceback
    assert "in boom" in str(info.value)  # %tb shows the child's traceback


# ---- pre-flight ----------------------------------------------------------------------------


def test_preflight_levels_from_the_86_table():
    hist = {"Conv": 3, "Bernoulli": 1, "CumSum": 1, "NoSuchOp": 1, "com.microsoft::Gelu": 2}
    found = {f.op: f for f in preflight(hist, "8.6.1", 17)}
    assert "Conv" not in found
    assert found["Bernoulli"].level == "unsupported"
    assert found["CumSum"].level == "restricted" and "initializer" in found["CumSum"].message
    assert found["NoSuchOp"].level == "unknown"
    assert found["com.microsoft::Gelu"].level == "custom"


def test_preflight_opset_above_cap():
    found = preflight({"Relu": 1}, "8.6.1", 18)
    assert [(f.level, f.message) for f in found] == [
        ("opset", "the graph is opset 18; TensorRT 8.6.1 parses up to 17")
    ]
    assert preflight({"Relu": 1}, "8.6.1", 17) == []  # exactly the cap: fine
    assert preflight({"Relu": 1}, "10.15.0", 18) == []


def test_preflight_findings_are_exact_and_sorted_by_operator():
    hist = {"Conv": 3, "NoSuchOp": 1, "com.microsoft::Gelu": 2, "CumSum": 4, "Bernoulli": 1}
    found = preflight(hist, "8.6.1", 17)
    assert [str(f) for f in found] == [
        "[unsupported] Bernoulli (x1): not supported by TensorRT 8.6.1",
        "[restricted] CumSum (x4): `axis` must be an initializer",
        "[unknown] NoSuchOp (x1) is not in the TensorRT 8.6.1 operator table",
        "[custom] com.microsoft::Gelu (x2): custom domain; needs a TensorRT plugin",
    ]
    assert [(f.op, f.count, f.level) for f in found] == [
        ("Bernoulli", 1, "unsupported"), ("CumSum", 4, "restricted"), ("NoSuchOp", 1, "unknown"),
        ("com.microsoft::Gelu", 2, "custom"),
    ]  # fmt: skip


def test_preflight_of_an_unknown_version_names_the_table_it_used():
    found = preflight({"Bernoulli": 2, "Relu": 1}, None, 18)
    assert [(f.op, f.count, f.level, f.message) for f in found] == [
        ("", 0, "opset", "the graph is opset 18; TensorRT (unknown; operators-8.6.md) parses up to 17"),
        ("Bernoulli", 2, "unsupported", "Bernoulli (x2): not supported by TensorRT (unknown; operators-8.6.md)"),
    ]  # fmt: skip


def _graph(nodes, initializers=(), opset=17):
    """An ONNX model (operator tables read the graph only: no shapes, no weights needed)."""
    from onnx import TensorProto, helper

    inits = [helper.make_tensor(n, TensorProto.INT64, [1], [0]) for n in initializers]
    graph = helper.make_graph(nodes, "g", [], [], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_preflight_checks_constant_inputs_where_the_restriction_names_them():
    from onnx import helper

    node = helper.make_node
    model = _graph([
        node("Constant", [], ["k"], value_int=0),
        node("CumSum", ["x", "ax"], ["c1"]),  # an initializer: fine
        node("CumSum", ["x", "k"], ["c2"]),  # a Constant node's output: fine
        node("CumSum", ["x", "computed"], ["c3"]),  # breaks it
        node("CumSum", ["x", "computed"], ["c4"], domain="ai.onnx"),  # breaks it
        node("CumSum", ["x", "computed"], ["c5"], domain="com.other"),  # not ONNX's CumSum
        node("Slice", ["x", "s", "e", "computed"], ["s1"]),  # axes (input 3) computed
        node("Slice", ["computed", "computed", "computed", "ax", "computed"], ["s2"]),
        node("Slice", ["x", "s", "e"], ["s3"]),  # no axes
        node("Slice", ["x", "s", "e", ""], ["s4"]),  # axes left out by name
    ], ["ax"])  # fmt: skip
    found = preflight({"CumSum": 5, "Slice": 4, "Relu": 1}, "8.6.1", 17, model)
    assert [(f.op, f.count, f.level, f.message) for f in found] == [
        ("CumSum", 2, "restricted", "CumSum (x2 breaking it): `axis` must be an initializer"),
        ("Slice", 1, "restricted", "Slice (x1 breaking it): `axes` must be an initializer"),
    ]
    fine = _graph([node("CumSum", ["x", "ax"], ["y"]), node("Slice", ["x", "ax"], ["z"])], ["ax"])
    assert preflight({"CumSum": 1, "Slice": 1}, "8.6.1", 17, fine) == []
    assert [f.count for f in preflight({"CumSum": 1, "Slice": 1}, "8.6.1", 17)] == [1, 1]


def test_squeeze_axes_are_an_attribute_before_opset_13():
    from onnx import helper

    for op in ("Squeeze", "Unsqueeze"):
        model = _graph([helper.make_node(op, ["x", "computed"], ["y"])])
        assert preflight({op: 1}, "8.6.1", 12, model) == []
        (found,) = preflight({op: 1}, "8.6.1", 13, model)
        assert (found.op, found.count, found.level) == (op, 1, "restricted")
        assert found.message.startswith(f"{op} (x1 breaking it): `axes` must be")


def test_pad_axes_are_its_fourth_input_and_unchecked_rules_keep_the_whole_count():
    from onnx import helper

    node = helper.make_node
    model = _graph([
        node("Pad", ["x", "computed", "computed", "computed"], ["p1"]),
        node("Pad", ["x", "computed", "computed", "ax"], ["p2"]),
        node("ReduceMean", ["x", "ax"], ["r"]),  # a rule on an input the pre-flight cannot place
        node("QuantizeLinear", ["x", "ax", "ax"], ["q"]),  # a rule that is not about constants
        node("Bernoulli", ["x"], ["b"]),
    ], ["ax"], opset=18)  # fmt: skip
    hist = {"Pad": 2, "ReduceMean": 3, "QuantizeLinear": 1}
    found = preflight(hist, "10.1.0", 18, model)
    assert [(f.op, f.count, f.message) for f in found] == [
        ("Pad", 1, "Pad (x1 breaking it): `axes` must be an initializer"),
        ("QuantizeLinear", 1, "QuantizeLinear (x1): `y_zero_point` must be 0"),
        ("ReduceMean", 3, "ReduceMean (x3): `axes` must be an initializer"),
    ]


# ---- catalogue text rules (texts quoted from torch 2.13) -----------------------------------


CTX = {"exporter": "torchscript", "opset": 17, "cap": 17, "trt_version": "8.6.1"}


def test_diagnose_opset_within_and_beyond_the_cap():
    text = (
        "torch.onnx.errors.UnsupportedOperatorError: Exporting the operator 'aten::grid_sampler' "
        "to ONNX opset version 13 is not supported. Support for this operator was added in "
        "version 16, try exporting with this version"
    )
    err = hints.diagnose(text, {**CTX, "opset": 13})
    assert "aten::grid_sampler needs ONNX opset 16" in err.message
    assert "--opset 16" in err.hint
    beyond = text.replace("grid_sampler", "col2im").replace("16", "18").replace("13", "17")
    err = hints.diagnose(beyond, CTX)
    assert "TensorRT 8.6.1 reads ONNX up to opset 17" in err.hint and err.detail == beyond


def _unsupported(op: str, opset: int, needs: int) -> str:
    # the text of torch/onnx/errors.py UnsupportedOperatorError (as in the test above)
    return (
        f"torch.onnx.errors.UnsupportedOperatorError: Exporting the operator '{op}' to ONNX "
        f"opset version {opset} is not supported. Support for this operator was added in "
        f"version {needs}, try exporting with this version"
    )


@pytest.mark.parametrize(
    ("needs", "cap", "within"),
    [(17, 17, True), (16, 17, True), (18, 17, False), (20, 20, True), (21, 20, False)],
)
def test_diagnose_opset_hint_at_the_cap_boundary(needs, cap, within):
    ctx = {**CTX, "opset": 13, "cap": cap, "trt_version": "10.0.1"}
    err = hints.diagnose(_unsupported("aten::op", 13, needs), ctx)
    assert err.message == f"aten::op needs ONNX opset {needs}; this export targets opset 13"
    if within:  # the image reads that opset: just export at it
        assert err.hint == f"export with --opset {needs} (TensorRT 10.0.1 reads up to opset {cap})"
    else:
        assert err.hint.startswith(f"TensorRT 10.0.1 reads ONNX up to opset {cap}: use a TensorRT")
        fix = f"--opset {needs}, or replace aten::op in the model"
        assert fix in err.hint


def test_diagnose_opset_without_a_known_version_or_cap():
    err = hints.diagnose(_unsupported("aten::op", 13, 17), {"exporter": "torchscript"})
    assert (
        err.hint == "export with --opset 17 (TensorRT of the configured image reads up to opset 17)"
    )
    text = "Exporting the operator 'aten::op' to ONNX opset version 17 is not supported."
    err = hints.diagnose(text, CTX)
    assert err.message == "aten::op cannot be exported to ONNX at opset 17"
    other_exporter = "try --exporter dynamo, or replace the operator in the model"
    assert err.hint == other_exporter


def test_diagnose_falls_back_to_the_other_exporter():
    err = hints.diagnose("RuntimeError: something odd\n", CTX)
    assert isinstance(err, ExportError) and "--exporter dynamo" in err.hint


def test_diagnose_dynamo_missing_translation():
    # torch/onnx/_internal/exporter/_core.py: f"No ONNX function found for {node.target!r}. ..."
    text = "No ONNX function found for <OpOverload(op='aten.linalg_svd', overload='default')>. Failure message: ..."
    err = hints.diagnose(text, {**CTX, "exporter": "dynamo"})
    assert "no ONNX translation for aten.linalg_svd" in err.message
    assert "--exporter torchscript" in err.hint


def test_diagnose_constraint_and_data_dependent_texts():
    text = (
        'Constraints violated (batch)! For more information, run with TORCH_LOGS="+dynamic".\n'
        "  - You marked batch as dynamic but your code specialized it to be a constant (2). If "
        "you're using mark_dynamic, either remove it or use maybe_mark_dynamic.\n"
        "Suggested fixes:\n  batch = 2\n"
    )
    err = hints.diagnose(text, CTX)
    assert err.message == (
        "dynamic dim 'batch' cannot stay dynamic: You marked batch as dynamic but your code "
        "specialized it to be a constant (2)"
    )
    text = (
        "GuardOnDataDependentSymNode: Could not guard on data-dependent expression Eq(u0, 1)\n"
        'The following call raised this error:\n  File "/home/me/model.py", line 6, in forward\n'
        "    if x.sum() > 0: return x * 2\n"
    )
    err = hints.diagnose(text, CTX)
    assert err.message.endswith("at model.py:6 `if x.sum() > 0: return x * 2`")


def test_graph_only_load_matches_onnx_load(tmp_path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from trt_magic.export import checks

    weight = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["out"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 64])],
        [weight],
    )
    path = tmp_path / "m.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    light, full = checks.load_graph_only(path), onnx.load(str(path))
    assert checks.signature(light) == checks.signature(full)
    assert checks.op_histogram(light) == {"MatMul": 1, "Relu": 1} and checks.opset_of(light) == 17
    init = light.graph.initializer[0]
    assert (init.name, list(init.dims), init.data_type) == ("w", [64, 64], TensorProto.FLOAT)
    assert not init.raw_data and light.ByteSize() < full.ByteSize() / 50
