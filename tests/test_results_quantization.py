"""why_not_faster on the real A100 ResNet-18 pair: QAT INT8 (1.096 ms) is slower than FP16 (1.017 ms)."""

from __future__ import annotations

import json

import pytest
from data.registry import DATA, PROFILE

from trt_magic.results import compare, load_run, why_not_faster

FP16 = DATA / "trex/A100-fp16/resnet.onnx.engine"
QAT = DATA / "trex/A100-qat/resnet-qat.onnx.engine"


@pytest.fixture(scope="module")
def report():
    return why_not_faster(load_run(QAT), load_run(FP16), ("int8", "fp16"))


def _files(prefix):
    layers = json.loads(open(f"{prefix}.graph.json").read())["Layers"]
    ms = {r["name"]: r["averageMs"] for r in json.loads(open(f"{prefix}.profile.json").read())
          if "name" in r}  # fmt: skip
    return layers, ms


def test_speedup_is_below_one(report):
    total_q = PROFILE["trex/A100-qat/resnet-qat.onnx.engine.profile.json"]["total_ms"]
    total_b = PROFILE["trex/A100-fp16/resnet.onnx.engine.profile.json"]["total_ms"]
    assert report.speedup == pytest.approx(total_b / total_q) and report.speedup < 1


def test_share_of_time_in_int8(report):
    layers, ms = _files(QAT)
    int8 = sum(
        ms[x["Name"]] for x in layers if x["Inputs"] and "Int8" in x["Inputs"][0]["Format/Datatype"]
    )
    assert report.figures.loc["quantized_share", "int8"] == pytest.approx(int8 / sum(ms.values()))
    assert report.figures.loc["quantized_share", "fp16"] == 0
    assert "only 65% of int8's layer time runs in a quantized precision" in report.reasons[0]


def test_unfused_qdq_and_reformats(report):
    layers, ms = _files(QAT)
    qdq = [x["Name"] for x in layers if x.get("Origin") == "QDQ"]
    assert report.figures.loc["qdq_unfused", "int8"] == len(qdq) == 10
    assert report.figures.loc["qdq_ms", "int8"] == pytest.approx(sum(ms[n] for n in qdq))
    assert any("10 Q/DQ nodes did not fuse" in r for r in report.reasons)
    assert report.figures.loc["reformats", "fp16"] == 2  # the input and output conversions


def test_slower_layers_are_paired_by_signature(report):
    assert report.diff.match == "signature"
    top = report.slower.iloc[0]
    assert (
        top["name"] == "Conv_0 + Relu_1"
        and top["name_b"] == "conv1.weight + QuantizeLinear_7 + Conv_9"
    )
    assert top["delta_ms"] == pytest.approx(0.201728 - 0.111616)
    assert (report.slower["delta_ms"] > 0).all()


def test_from_a_comparison_and_as_html():
    cmp = compare(FP16, QAT, names=["fp16", "int8"])
    r = cmp.why_not_faster()  # the last run against the first
    assert (r.quantized, r.baseline) == ("int8", "fp16")
    html = r._repr_html_()
    assert "Why isn't int8 faster than fp16?" in html and "Q/DQ nodes did not fuse" in html
    assert "65%" in html


def test_without_layer_times_it_says_what_to_add():
    log = load_run(DATA / "trtexec/log-10.16.1-onnx-default-run.log")
    r = why_not_faster(log, load_run(FP16), ("log", "fp16"))
    assert r.speedup is None and len(r.reasons) == 1
    assert (
        r.reasons[0].startswith("no per-layer times for log") and "--exportProfile" in r.reasons[0]
    )
