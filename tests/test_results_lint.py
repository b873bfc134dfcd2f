"""run.lint() on the real engines: the QAT ResNet-18 (A100), its FP16 sibling, MobileNetV2 QAT."""

from __future__ import annotations

import json

import pytest
from data.registry import DATA

from trt_magic.results import load_run
from trt_magic.results.exports import load_layer_info
from trt_magic.results.lint import COLUMNS, lint_layers

QAT = DATA / "trex/A100-qat/resnet-qat.onnx.engine"
FP16 = DATA / "trex/A100-fp16/resnet.onnx.engine"
FP32 = DATA / "trex/A100-fp32/resnet.onnx.engine"


def _profile_ms(prefix) -> dict[str, float]:
    recs = json.loads(open(f"{prefix}.profile.json").read())
    return {r["name"]: r["averageMs"] for r in recs if "name" in r}


@pytest.fixture(scope="module")
def qat_lint():
    return load_run(QAT).lint()


def test_unfused_qdq_in_the_qat_engine(qat_lint):
    found = qat_lint[qat_lint["rule"] == "qdq_unfused"]
    # the engine's Reformat layers whose Origin is QDQ, read from the file itself
    raw = load_layer_info(f"{QAT}.graph.json")[0]
    qdq = [r["Name"] for r in raw if r.get("Origin") == "QDQ"]
    assert len(qdq) == 10 and set(found["layer"]) == set(qdq)
    assert found["time_ms"].sum() == pytest.approx(sum(_profile_ms(QAT)[n] for n in qdq))
    first = found.set_index("layer").loc["QuantizeLinear_2"]
    assert "Quantize" in first["why"] and "FP32 -> INT8" in first["why"]
    assert "network input is expected" in first["what_to_try"]
    requant = found.set_index("layer").loc["QuantizeLinear_15"]
    assert "Quantize node" in requant["why"] and "FP16 -> INT8" in requant["why"]


def test_findings_say_why_and_what_to_try(qat_lint):
    assert list(qat_lint.columns) == COLUMNS
    assert qat_lint["why"].str.len().gt(10).all() and qat_lint["what_to_try"].str.len().gt(10).all()
    sev = qat_lint["severity"].tolist()
    assert sev == sorted(sev, key=["warning", "info"].index)  # warnings first
    warn = qat_lint[qat_lint["severity"] == "warning"]["time_ms"].tolist()
    assert warn == sorted(warn, reverse=True)  # costliest first
    row = qat_lint.set_index("rule").loc["reformat_converts_type"]
    assert row["layer"] == "Reformatting CopyNode for Output Tensor 0 to MaxPool_12"
    assert "FP32 -> FP16" in row["why"] and "precision" in row["what_to_try"]


def test_int8_conv_with_float_output_and_first_layer_without_tensor_cores(qat_lint):
    convs = qat_lint[qat_lint["rule"] == "int8_conv_float_output"]
    assert "conv1.weight + QuantizeLinear_7 + Conv_9" in set(convs["layer"])
    tc = qat_lint[qat_lint["rule"] == "no_tensor_cores"]
    assert list(tc["layer"]) == ["conv1.weight + QuantizeLinear_7 + Conv_9"]  # int8x4 dp4a kernel
    assert "ampere_fp32_icudnn_int8x4" in tc["detail"].iloc[0]


def test_ampere_hmma_kernels_count_as_tensor_cores():
    # TREx's regex misses "h16816"/"h1688" (Ampere/Turing HMMA) and flags 7 FP16 convs here
    lint = load_run(FP16).lint()
    assert "no_tensor_cores" not in set(lint["rule"])
    raw = load_layer_info(f"{FP16}.graph.json")[0]
    assert sum("h16816" in r.get("TacticName", "") for r in raw) >= 7


def test_fp16_engine_flags_the_input_conversion():
    lint = load_run(FP16).lint()
    row = lint.set_index("layer").loc["Reformatting CopyNode for Input Tensor 0 to Conv_0 + Relu_1"]
    assert row["rule"] == "reformat_converts_type" and "FP32 -> FP16" in row["why"]
    assert row["time_ms"] == _profile_ms(FP16)[row.name]


def test_convolutions_left_in_fp32_in_a_reduced_precision_engine():
    # the FP32 engine's layers linted as if the build had allowed FP16: every conv is flagged
    raw = load_layer_info(f"{FP32}.graph.json")[0]
    found = [
        f for f in lint_layers(raw, build_precision="FP32+FP16") if f.rule == "compute_in_fp32"
    ]
    convs = [r["Name"] for r in raw if r.get("ParameterType") == "Convolution"]
    assert [f.layer for f in found] == convs and len(convs) == 21  # incl. Gemm_48 (a 1x1 conv)
    assert not [f for f in lint_layers(raw, build_precision="FP32") if f.rule == "compute_in_fp32"]


def test_slow_layer_with_little_arithmetic():
    lint = load_run(DATA / "trtexec/fuzzylabs-10.x-alexnet-fp16").lint()
    slow = lint[lint["rule"] == "slow_low_arithmetic"]
    top = slow.iloc[0]
    assert top["layer"] == "/classifier/classifier_1/Gemm_myl9_2" and top["percent"] > 40
    assert "MACs per byte" in top["why"]


def test_names_only_engine_has_nothing_to_lint():
    run = load_run(DATA / "trex/notebook-yolo-orin/layer_info.json")
    assert run.lint().empty and list(run.lint().columns) == COLUMNS


def test_lint_shows_in_the_run_report():
    html = load_run(QAT)._repr_html_()
    assert "<h4>Linter</h4>" in html and "11 warnings" in html and "qdq_unfused ×10" in html
    assert "an unfused Quantize node" in html
    assert "Linter" not in load_run(DATA / "trtexec/log-10.16.1-onnx-default-run.log")._repr_html_()


TREX_LINT = json.loads((DATA / "trex_pairs/lint.json").read_text(encoding="utf-8"))
#: TREx linter -> our rules that report the same layers
TREX_RULES = {
    "tc": {"no_tensor_cores"},
    "mixed_precision": {"int8_conv_float_output"},
    "alignment": {"channel_alignment"},
    "reformat": {"reformat_converts_type", "qdq_unfused"},  # QDQ-origin reformats convert too
    "qdq": {"qdq_unfused"},
    "slice": {"slice_converts_type"},
}


@pytest.mark.parametrize("prefix", sorted(TREX_LINT["engines"]))
@pytest.mark.parametrize("rule", sorted(TREX_RULES))
def test_linters_report_what_trex_reports(prefix, rule):
    trex = set(TREX_LINT["engines"][prefix][rule])
    lint = load_run(DATA / prefix).lint()
    ours = set(lint[lint["rule"].isin(TREX_RULES[rule])]["layer"])
    if rule == "tc" and prefix == "trex/A100-fp16/resnet.onnx.engine":
        # the one deliberate difference: Ampere HMMA kernels (ampere_h16816cudnn_*) use Tensor
        # Cores; TREx's regex misses them and reports these 7 convolutions
        assert len(trex) == 7 and not ours
        return
    if rule in ("reformat", "qdq"):
        assert trex <= ours  # QDQ-origin reformats that keep INT8 are unfused Q/DQ too
    else:
        assert ours == trex
