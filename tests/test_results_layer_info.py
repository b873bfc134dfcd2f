"""Every raw layer attribute, MACs / bytes / intensity and memory totals, on the real exports."""

from __future__ import annotations

import json

import pytest
from data.registry import DATA, LAYER_INFO

from trt_magic.results import load_run
from trt_magic.results.exports import dtype_of_format, load_layer_info
from trt_magic.results.layer_info import (
    DERIVED,
    layer_info_frame,
    macs,
    tensor_bytes,
    weights_bytes,
)

DETAILED = sorted(rel for rel, facts in LAYER_INFO.items() if facts["detailed"])


@pytest.mark.parametrize("rel", DETAILED)
def test_every_raw_attribute_is_a_column(rel):
    raw = json.loads((DATA / rel).read_text(encoding="utf-8"))["Layers"]
    frame = layer_info_frame(load_layer_info(DATA / rel)[0])
    assert len(frame) == len(raw) == LAYER_INFO[rel]["layers"]
    expected = set()
    for layer in raw:
        for key, value in layer.items():
            expected |= {f"{key}.{s}" for s in value} if isinstance(value, dict) else {key}
    assert expected <= set(frame.columns) and set(DERIVED) <= set(frame.columns)
    assert frame["Name"].tolist() == [layer["Name"] for layer in raw]
    i = next(k for k, layer in enumerate(raw) if isinstance(layer.get("Weights"), dict))
    assert frame.loc[i, "Weights.Count"] == raw[i]["Weights"]["Count"]


def test_convolution_macs_and_bytes():
    frame = load_run(DATA / "trex/A100-fp16/resnet.onnx.engine").layer_info.set_index("Name")
    conv = frame.loc["Conv_0 + Relu_1"]
    # N x K x P x Q x C x R x S of ResNet-18's first conv, batch 32
    assert conv["macs"] == 32 * 64 * 112 * 112 * 3 * 7 * 7
    assert (conv["weights_bytes"], conv["bias_bytes"]) == (9408 * 2, 64 * 2)  # FP16 weights, bias
    assert conv["activation_bytes"] == (32 * 3 * 224 * 224 + 32 * 64 * 112 * 112) * 2
    assert conv["intensity"] == pytest.approx(
        conv["macs"] / (conv["weights_bytes"] + conv["bias_bytes"] + conv["activation_bytes"])
    )
    assert conv["time_ms"] == 0.111616 and conv["percent"] == 10.9768  # from the profile
    pool = frame.loc["MaxPool_2"]
    assert pool["macs"] != pool["macs"] and pool["weights_bytes"] == 0  # NaN: no MACs


@pytest.mark.parametrize(
    ("rel", "name", "expected"),
    [
        ("trtexec/fuzzylabs-10.x-alexnet-fp16.graph.json", "/classifier/classifier_1/Gemm_myl9_2",
         9216 * 4096),
        ("trtexec/layerinfo-10.16.1-detailed.json", "node_linear_myl4_0", 3136 * 1024),
        ("trtexec/fuzzylabs-10.x-alexnet-fp16.graph.json",
         "/features/features.0/Conv + /features/features.1/Relu", 64 * 55 * 55 * 3 * 11 * 11),
    ],
)  # fmt: skip
def test_gemm_and_conv_macs(rel, name, expected):
    raw = {r["Name"]: r for r in load_layer_info(DATA / rel)[0]}
    assert macs(raw[name]) == expected


def test_names_only_export_gives_names_and_no_figures():
    frame = load_run(DATA / "trtexec/layerinfo-8.6.0-names-only.json").layer_info
    assert list(frame.columns) == ["Name", *DERIVED, "time_ms", "percent"]
    assert len(frame) == 15 and frame["macs"].isna().all()


def test_engine_memory_from_layers_and_log():
    run = load_run(DATA / "trex/A100-fp16/resnet.onnx.engine")
    raw = load_layer_info(f"{DATA}/trex/A100-fp16/resnet.onnx.engine.graph.json")[0]
    weights = sum(
        r[k]["Count"] * {"Half": 2, "Float": 4}[r[k]["Type"]] for r in raw for k in ("Weights", "Bias")
        if k in r
    )  # fmt: skip
    assert run.memory["layer_weights_bytes"] == weights
    log_run = load_run(DATA / "trtexec/log-10.16.1-onnx-default-run.log")
    assert log_run.memory == {
        "host_persistent_bytes": 18896,
        "device_persistent_bytes": 0,
        "activation_bytes": 125440,
        "weights_bytes": 13100672,
    }
    old = load_run(DATA / "trtexec/log-8.5.2-yolov8seg-fp16-workspace-deprecated.log").memory
    assert old["scratch_bytes"] == 675865600  # 8.x prints it without "bytes"


TREX_SIZES = json.loads((DATA / "trex_pairs/sizes.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("prefix", sorted(TREX_SIZES["engines"]))
def test_bytes_equal_trex_on_every_layer(prefix):
    # TREx 0.2.1's Layer.total_io_size_bytes and weights_size, recorded by trex_pairs/record.py
    frame = load_run(DATA / prefix).layer_info.set_index("Name")
    trex = TREX_SIZES["engines"][prefix]
    assert len(trex) >= 24
    for name, sizes in trex.items():
        assert frame.loc[name, "activation_bytes"] == sizes["io_bytes"], name
        assert frame.loc[name, "weights_bytes"] == sizes["weights_bytes"], name


def _reference_figures(raw) -> tuple:
    """DERIVED of one layer from the per-layer functions (not the one-pass loop)."""
    if isinstance(raw, str):
        return (None,) * len(DERIVED)
    kind = raw.get("ParameterType") or raw.get("LayerType")
    tensors = [*(raw.get("Inputs") or ()), *(raw.get("Outputs") or ())]
    sizes = [tensor_bytes(t) for t in tensors]
    act = None if None in sizes else sum(sizes, 0.0)
    weights, bias = weights_bytes(raw, ("Weights",)), weights_bytes(raw, ("Bias",))
    m = macs(raw)
    moved = (act or 0.0) + weights + bias
    intensity = m / moved if m is not None and act is not None and moved else None
    fmt = tensors[0].get("Format/Datatype") if tensors else None
    return kind, dtype_of_format(fmt), m, weights, bias, act, intensity


def _reference_table(raw_layers: list):
    """The wide table by its definition, one layer at a time: every key a column in first-seen
    order (objects one level flat), the derived figures from the per-layer functions."""
    import pandas as pd

    names: list[str] = ["Name"]
    rows = []
    for raw in raw_layers:
        row = {"Name": raw} if isinstance(raw, str) else {}
        for key, value in ({} if isinstance(raw, str) else raw).items():
            items = ((f"{key}.{s}", v) for s, v in value.items()) if isinstance(value, dict) else [(key, value)]  # fmt: skip
            for name, v in items:
                if name not in names:
                    names.append(name)
                row[name] = v
        rows.append(row)
    cols = {name: [row.get(name) for row in rows] for name in names}
    figures = [_reference_figures(raw) for raw in raw_layers]
    for k, name in enumerate(DERIVED):
        dtype = "object" if name in ("type", "precision") else "float64"
        cols[name] = pd.Series([f[k] for f in figures], dtype=dtype)
    return pd.DataFrame(cols)


@pytest.mark.parametrize("rel", sorted(LAYER_INFO))
def test_the_whole_table_equals_its_definition(rel):
    import pandas as pd

    # every column, value and dtype of the fast one-pass frame, against the plain definition
    # read with the stdlib json (not orjson), names-only exports included
    raw = json.loads((DATA / rel).read_text(encoding="utf-8"))["Layers"]
    frame = layer_info_frame(load_layer_info(DATA / rel)[0])
    expected = _reference_table(raw)
    assert list(frame.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    for name in ("Inputs", "Outputs", "Kernel"):
        if name in frame:
            assert frame[name].tolist() == expected[name].tolist()
