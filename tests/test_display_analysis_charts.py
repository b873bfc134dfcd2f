"""The analysis charts on real data: time by type and precision, latency distribution, layer by layer."""

from __future__ import annotations

import json
import re

import pytest
from data.registry import DATA

from trt_magic.display.analysis_charts import (
    Chart,
    latency_distribution,
    layer_by_layer,
    time_by_type_and_precision,
)
from trt_magic.results import compare, load_run

QAT = DATA / "trex/A100-qat/resnet-qat.onnx.engine"
TF32 = DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32"  # has --exportTimes (263 inferences)


def test_time_by_type_and_precision_splits_bars_by_precision():
    chart = time_by_type_and_precision(load_run(QAT))
    assert isinstance(chart, Chart) and chart._repr_html_().count("<svg") == 1
    layers = json.loads(open(f"{QAT}.graph.json").read())["Layers"]
    ms = {r["name"]: r["averageMs"] for r in json.loads(open(f"{QAT}.profile.json").read())
          if "name" in r}  # fmt: skip
    int8_convs = sum(ms[x["Name"]] for x in layers if x.get("ParameterType") == "Convolution"
                     and "Int8" in x["Inputs"][0]["Format/Datatype"])  # fmt: skip
    shown = re.search(r"Convolution · INT8: ([\d.]+) ms", chart)
    assert shown and float(shown.group(1)) == pytest.approx(int8_convs, rel=1e-3)
    assert {"INT8", "FP16", "FP32"} <= set(re.findall(r"<text[^>]*>(FP32|FP16|INT8)</text>", chart))


def test_no_chart_without_a_profile():
    assert (
        time_by_type_and_precision(load_run(DATA / "trtexec/layerinfo-10.16.1-detailed.json")) == ""
    )


def test_latency_distribution_marks_trtexec_percentiles():
    run = load_run(TF32)
    chart = latency_distribution(run)
    values = sorted(r["latencyMs"] for r in json.loads(open(f"{TF32}.timing.json").read()))
    n = len(values)
    assert n == 263 and "n=263" in chart
    for q in (50, 90, 99):  # findPercentile: exclude int((1 - q/100) n), take n - 1 - exclude
        expected = values[n - 1 - int((1 - q / 100) * n)]
        assert f"p{q}: {expected:.4g} ms" in chart
    assert run.summary["latency_includes"] in chart
    assert latency_distribution(load_run(QAT)) == ""  # no --exportTimes


def test_layer_by_layer_in_engine_order():
    fp32 = DATA / "trex/A100-fp32/resnet.onnx.engine"
    fp16 = DATA / "trex/A100-fp16/resnet.onnx.engine"
    diff = compare(fp32, fp16, names=["fp32", "fp16"]).layer_diff()
    chart = layer_by_layer(diff)
    timed = diff.table[diff.table["time_ms_a"].notna() | diff.table["time_ms_b"].notna()]
    assert chart.count("<g><title>") == len(timed)
    first = timed.sort_values("order").iloc[0]
    assert chart.index(f"<g><title>{first['name']}") < chart.index("<g><title>Gemm_48")
    assert "▲ fp32" in chart and "▼ fp16" in chart
    html = compare(fp32, fp16).layer_diff()._repr_html_()
    assert "Layer by layer" in html


def test_big_engines_are_bucketed(tmp_path):
    from data.scaled import scale_export

    prefix = scale_export(1000, tmp_path)
    diff = compare(load_run(prefix), load_run(prefix)).layer_diff()
    chart = layer_by_layer(diff)
    assert 0 < chart.count("<g><title>") <= 400 and "layers 0..2" in chart


def test_comparison_shows_the_latency_distribution():
    html = compare(TF32, DATA / "trex/A100-fp16/resnet.onnx.engine")._repr_html_()
    assert "Latency distribution (--exportTimes)" in html
