"""compare() and layer_diff on the real TREx A100 recordings (ResNet-18 FP32, FP16, QAT INT8)."""

from __future__ import annotations

import pytest
from data.registry import DATA

from trt_magic.errors import UsageError
from trt_magic.results import Comparison, compare, load_run
from trt_magic.results.exports import read_layer_info

FP32 = DATA / "trex/A100-fp32/resnet.onnx.engine"
FP16 = DATA / "trex/A100-fp16/resnet.onnx.engine"
INT8 = DATA / "trex/A100-qat/resnet-qat.onnx.engine"


@pytest.fixture(scope="module")
def cmp() -> Comparison:
    return compare(FP32, FP16, INT8, names=["fp32", "fp16", "int8"])


def test_table_has_headline_figures_and_speedup(cmp):
    t = cmp.table
    assert list(t.index) == ["fp32", "fp16", "int8"]
    assert t.loc["fp32", "throughput_qps"] == 499.294
    assert t.loc["fp16", "latency_p50_ms"] == 0.862183
    assert t.loc["int8", "latency_p99_ms"] == 0.884766
    assert t.loc["fp32", "speedup"] == 1.0
    assert t.loc["fp16", "speedup"] == pytest.approx(1155.36 / 499.294)
    assert t.loc["int8", "precision"] == "FP32+FP16+INT8"
    assert {"gpu_compute_p50_ms", "engine_size_mib", "build_time_s"} <= set(t.columns)


def test_speedup_falls_back_to_latency_without_throughput():
    a = load_run(DATA / "trtexec/log-10.16.1-build-fp16-dynamic-skipInference-verbose.log")
    b = load_run(DATA / "trtexec/log-10.16.1-onnx-default-run.log")
    t = compare(b, a).table
    assert t["speedup"].iloc[0] == 1.0
    assert t["speedup"].isna().iloc[1]  # a build-only run has no figures to compare
    assert t["build_time_s"].tolist() == [8.09138, 24.4854]
    assert t["engine_size_mib"].tolist() == [12.5744, 6.42511]


def test_layer_diff_fp32_to_fp16(cmp):
    diff = cmp.layer_diff("fp32", "fp16")
    row = diff.table.set_index("name").loc["Conv_0 + Relu_1"]
    assert (row["time_ms_a"], row["time_ms_b"]) == (0.52224, 0.111616)
    assert row["change"] == "faster" and bool(row["precision_changed"]) is True
    assert (row["precision_a"], row["precision_b"]) == ("FP32", "FP16")
    assert diff.table.loc[0, "name"] == "Conv_0 + Relu_1"  # biggest change first
    assert len(diff.faster) == 23
    # reformat layers exist in only one engine: FP32 has 32 layers, FP16 36, 26 shared
    counts = diff.table["change"].value_counts()
    assert counts["only in a"] == 32 - 26 and counts["only in b"] == 36 - 26
    only_b = diff.table[diff.table["change"] == "only in b"]
    assert only_b["time_ms_a"].isna().all() and only_b["time_ms_b"].notna().all()
    # precision changes, counted independently from the two layer-info files
    a = {r.name: r.precision for r in read_layer_info(f"{FP32}.graph.json")}
    b = {r.name: r.precision for r in read_layer_info(f"{FP16}.graph.json")}
    changed = {n for n in a.keys() & b.keys() if a[n] != b[n]}
    assert set(diff.precision_changes["name"]) == changed and len(changed) == 26


def test_same_run_twice_is_all_same():
    run = load_run(FP16)
    diff = compare(run, run).layer_diff()
    assert set(diff.table["change"]) == {"same"}
    assert compare(run, run).names == [
        "A100-fp16/resnet.onnx.engine",
        "A100-fp16/resnet.onnx.engine (2)",
    ]


def test_comparison_html_and_page(cmp, tmp_path):
    html = cmp._repr_html_()
    assert "3 runs (speed-up against fp32)" in html
    assert "2.31×" in html  # 1155.36 / 499.294
    assert "Layers: fp32 → fp16" in html and "23 faster" in html
    assert "FP32 → <b>FP16</b>" in html
    page = cmp.to_html(tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "fp32 vs fp16 vs int8" in page
    diff_page = cmp.layer_diff(0, 2).to_html(tmp_path / "diff.html").read_text(encoding="utf-8")
    assert "Layers: fp32 → int8" in diff_page


def test_compare_usage_errors(cmp):
    with pytest.raises(UsageError, match="at least two"):
        compare(FP32)
    with pytest.raises(UsageError, match="2 runs but 1 names"):
        compare(FP32, FP16, names=["x"])
    with pytest.raises(UsageError, match="no run named"):
        cmp.layer_diff("fp32", "bf16")
    with pytest.raises(UsageError, match="not int"):
        compare(FP32, 3)
