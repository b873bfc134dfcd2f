"""results/tables.py: the per-layer join, the timings, time per type/precision (real exports)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from data.registry import DATA

from trt_magic.results.exports import (
    ProfileRecord,
    load_layer_info,
    read_layer_info,
    read_profile,
    read_times,
)
from trt_magic.results.tables import (
    LAYER_COLUMNS,
    align,
    layers_frame,
    time_by,
    timings_frame,
    trace_frame,
)

ALEXNET = "trtexec/fuzzylabs-10.x-alexnet-fp16"
GEMM = "/classifier/classifier_1/Gemm_myl9_2"
RES = "__myl_Res_myl9_1"
TIMES = ["total_ms", "time_ms", "median_ms", "percent"]


def _alexnet():
    return read_layer_info(DATA / f"{ALEXNET}.graph.json"), read_profile(DATA / f"{ALEXNET}.profile.json")  # fmt: skip


def _row(frame, name):
    """The row of layer ``name`` as column -> value (None stays None, as in each column)."""
    where = frame.index[frame["name"] == name].tolist()
    assert len(where) == 1, name
    return _at(frame, where[0])


def _missing(row, keys):
    """True when every ``row[key]`` is pandas' missing value (None or NaN by the column dtype)."""
    return all(pd.isna(row[k]) for k in keys)


def _at(frame, i):
    return {c: frame[c].tolist()[i] for c in frame.columns}


@pytest.mark.parametrize("raw", [False, True], ids=["records", "raw-entries"])
def test_joined_row_has_every_column_from_both_files(raw):
    layers, profile = _alexnet()
    if raw:
        layers = load_layer_info(DATA / f"{ALEXNET}.graph.json")[0]
    frame = layers_frame(layers, profile)
    assert list(frame.columns) == LAYER_COLUMNS and len(frame) == 14
    assert _row(frame, GEMM) == {
        "name": GEMM, "type": "gemm", "layer_type": "gemm", "precision": "FP16",
        "tactic": "sm50_xmma_cublas_gemvx_f16f16_f32_f32_tn_n_int32_unit_n_launch_param4x32x32_strided_unit_stride",  # noqa: E501
        "time_ms": 0.239573, "median_ms": 0.239616, "total_ms": 3495.36, "percent": 45.705,
        "inputs": 5, "output_shape": "1x4096", "out_dtype": "FP16",
        "metadata": "[ONNX Layer: /classifier/classifier.1/Gemm] + [ONNX Layer: /classifier/classifier.2/Relu]",  # noqa: E501
    }  # fmt: skip
    # a Myelin shape call has no inputs, outputs, tactic nor metadata; the first layer no metadata
    shape_call = _row(frame, "dummy_shape_call__mye622_0_myl9_0")
    assert (shape_call["type"], shape_call["layer_type"], shape_call["inputs"]) == ("shape_call", "shape_call", 0)  # fmt: skip
    assert _missing(shape_call, ["precision", "tactic", "output_shape", "out_dtype", "metadata"])
    assert shape_call["total_ms"] == 29.8819 and shape_call["median_ms"] == 0.002048
    reformat = _at(frame, 0)
    assert (reformat["type"], reformat["layer_type"]) == ("Reformat", "Reformat")
    assert _missing(reformat, ["metadata"])
    assert (reformat["tactic"], reformat["output_shape"]) == ("0x00000000000003e8", "1x3x224x224")
    assert frame["total_ms"].tolist() == [p.time_ms for p in profile]  # same order: no realignment


@pytest.mark.parametrize("raw", [False, True], ids=["records", "raw-entries"])
def test_layer_missing_from_a_reordered_profile_gets_nan(raw):
    layers, profile = _alexnet()
    if raw:
        layers = load_layer_info(DATA / f"{ALEXNET}.graph.json")[0]
    shuffled = [p for p in reversed(profile) if p.name != RES]
    frame = layers_frame(layers, shuffled)
    assert [frame[k].dtype for k in TIMES] == [np.float64] * 4
    assert frame["name"].tolist() == [rec.name for rec in _alexnet()[0]]  # engine order, 14 rows
    for p in profile:
        row = _row(frame, p.name)
        if p.name == RES:
            assert all(math.isnan(row[k]) for k in TIMES), row
            assert (row["type"], row["output_shape"]) == ("kgen", "1x9216")  # its details stay
        else:
            assert [row[k] for k in TIMES] == [p.time_ms, p.average_ms, p.median_ms, p.percent]


def test_profile_only_layer_goes_last_without_details():
    layers, profile = _alexnet()
    frame = layers_frame(layers[:-1], profile)  # the layer info lacks the last Gemm
    assert len(frame) == 14 and frame["name"].tolist()[-1] == "/classifier/classifier_6/Gemm_myl9_4"  # fmt: skip
    last = _at(frame, len(frame) - 1)
    assert [last[k] for k in TIMES] == [448.266, 0.0307242, 0.03072, 5.86148]
    assert _missing(last, [c for c in LAYER_COLUMNS if c != "name" and c not in TIMES])
    assert frame["total_ms"].tolist() == [p.time_ms for p in profile]


def test_profile_only_layers_in_profile_order_after_a_partial_match():
    layers, profile = _alexnet()
    frame = layers_frame([layers[2]], list(reversed(profile)))
    names = [p.name for p in reversed(profile) if p.name != layers[2].name]
    assert frame["name"].tolist() == [layers[2].name, *names]
    assert frame["total_ms"].tolist()[:2] == [76.4995, 448.266]
    assert frame["type"].tolist()[0] == "Pooling" and frame["type"].isna().tolist() == [False] + [True] * 13  # fmt: skip


def test_layers_without_a_profile_have_nan_times():
    layers, _ = _alexnet()
    frame = layers_frame(layers, [])
    assert len(frame) == 14 and frame["type"].tolist()[:2] == ["Reformat", "Convolution"]
    for key in TIMES:
        assert frame[key].dtype == np.float64 and frame[key].isna().all(), key


def test_nothing_gives_an_empty_table_with_every_column():
    frame = layers_frame([], [])
    assert frame.empty and list(frame.columns) == LAYER_COLUMNS


def test_align_pairs_repeated_names_in_order():
    assert align(["a", "b"], ["a", "b"]) is None  # the usual case: nothing to realign
    index, extra = align(["b", "a", "c", "a"], ["a", "b", "a", "d", "a"])
    assert index.tolist() == [1, 0, -1, 2] and extra == [3, 4]
    index, extra = align(["x"], [])
    assert index.tolist() == [-1] and extra == []


def test_timings_columns_are_snake_case():
    frame = timings_frame(read_times(DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32.timing.json"))
    assert list(frame.columns) == [
        "start_enq_ms", "end_enq_ms", "start_h2d_ms", "end_h2d_ms", "start_compute_ms",
        "end_compute_ms", "start_d2h_ms", "end_d2h_ms", "h2d_ms", "compute_ms", "d2h_ms",
        "latency_ms",
    ]  # fmt: skip
    assert frame.index.name == "inference" and frame.loc[1, "compute_ms"] == 12.7857
    assert list(timings_frame([{"Ms": 1.0}]).columns) == ["ms"]  # no leading underscore
    trace = trace_frame([])
    assert trace.empty and trace.index.name == "window"


def test_time_by_type_sums_sorts_and_shares():
    frame = layers_frame(*_alexnet())
    out = time_by(frame, "type")
    assert out.index.name == "type" and list(out.columns) == ["time_ms", "layers", "percent"]
    assert out.index.tolist() == ["gemm", "Convolution", "Pooling", "Reformat", "kgen", "shape_call"]  # fmt: skip
    assert out["layers"].tolist() == [3, 5, 3, 1, 1, 1]
    gemm = math.fsum([0.239573, 0.109582, 0.0307242])
    total = math.fsum(p.average_ms for p in _alexnet()[1])
    assert out.loc["gemm", "time_ms"] == pytest.approx(gemm, rel=1e-12)
    assert out.loc["gemm", "percent"] == pytest.approx(gemm / total * 100, rel=1e-12)
    assert out.loc["kgen", "time_ms"] == 0.00409622
    assert out["percent"].sum() == pytest.approx(100.0, rel=1e-12)
    by_precision = time_by(frame, "precision")  # the shape call has no precision
    assert by_precision.index.tolist() == ["FP16", "(none)"]
    assert by_precision["layers"].tolist() == [13, 1]
    assert by_precision.loc["(none)", "time_ms"] == 0.00204811
    assert frame["precision"].isna().sum() == 1  # the caller's frame is left alone


def test_time_by_without_times_keeps_engine_order_and_zero_shares():
    layers, _ = _alexnet()
    out = time_by(layers_frame(layers, []), "type")
    assert out.index.tolist() == ["Reformat", "Convolution", "Pooling", "shape_call", "kgen", "gemm"]  # fmt: skip
    assert out["time_ms"].tolist() == [0.0] * 6 and out["percent"].tolist() == [0.0] * 6
    names_only = read_layer_info(DATA / "trtexec/layerinfo-8.6.0-names-only.json")
    out = time_by(layers_frame(names_only, []), "type")
    assert out.index.tolist() == ["(none)"] and out["layers"].tolist() == [15]


@pytest.mark.parametrize("raw", [False, True], ids=["records", "raw-entries"])
def test_one_profiled_layer_among_many(raw):
    layers, profile = _alexnet()
    if raw:
        layers = load_layer_info(DATA / f"{ALEXNET}.graph.json")[0]
    frame = layers_frame(layers, [profile[3]])  # only the second Conv was profiled
    assert len(frame) == 14 and frame["total_ms"].dtype == np.float64
    assert frame["total_ms"].notna().tolist() == [i == 3 for i in range(14)]
    assert [_at(frame, 3)[k] for k in TIMES] == [382.785, 0.0262361, 0.026624, 5.00526]


def test_profile_without_medians_gives_float_nan_medians():
    # TensorRT <= 8.2 profiles have no medianMs: the records carry None
    layers, profile = _alexnet()
    old = [ProfileRecord(p.name, p.time_ms, p.average_ms, None, p.percent) for p in profile]
    for frame in (layers_frame(layers, old), layers_frame([], old)):
        assert frame["median_ms"].dtype == np.float64 and frame["median_ms"].isna().all()
        assert frame["time_ms"].tolist() == [p.average_ms for p in profile]
