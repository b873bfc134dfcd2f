"""trt_magic.results.exports against every real JSON export in tests/data (see data/registry.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import missing
from data.registry import (
    BUILD_METADATA,
    DATA,
    DEVICE_METADATA,
    LAYER_INFO,
    PROFILE,
    PROFILE_METADATA,
    TIMES,
)

from trt_magic.errors import ResultError
from trt_magic.results import exports
from trt_magic.results.exports import (
    LayerRecord,
    TensorInfo,
    dtype_of_format,
    read_bindings,
    read_device_metadata,
    read_layer_info,
    read_profile,
    read_times,
    read_trex_metadata,
    trex_performance,
)


def _by_name(layers: list[LayerRecord]) -> dict[str, LayerRecord]:
    return {rec.name: rec for rec in layers}


@pytest.mark.parametrize("rel", sorted(LAYER_INFO))
def test_layer_info_fixture(rel):
    facts = LAYER_INFO[rel]
    layers = read_layer_info(DATA / rel)
    assert len(layers) == facts["layers"]
    assert all(isinstance(rec, LayerRecord) for rec in layers)
    assert exports.is_detailed(layers) is facts["detailed"]
    assert read_bindings(DATA / rel) == facts["bindings"]
    named = _by_name(layers)
    if "first" in facts:
        assert layers[0].name == facts["first"]
        assert layers[0].type is None and layers[0].precision is None
    if "layer" in facts:
        name, kind, precision = facts["layer"]
        assert (named[name].type, named[name].precision) == (kind, precision)
    if "tactic" in facts:
        name, tactic = facts["tactic"]
        assert named[name].tactic == tactic
    if "types" in facts:
        assert Counter(rec.type for rec in layers) == facts["types"]
    if "layer_types" in facts:
        counts = Counter(rec.layer_type for rec in layers)
        assert {k: counts[k] for k in facts["layer_types"]} == facts["layer_types"]
    if "precisions" in facts:
        assert Counter(rec.precision for rec in layers) == facts["precisions"]
    if "output_dims" in facts:
        name, dims = facts["output_dims"]
        assert named[name].outputs[0].dims == dims
    if "output_dtype" in facts:
        name, dtype = facts["output_dtype"]
        assert named[name].outputs[0].dtype == dtype
    if "no_precision" in facts:
        rec = named[facts["no_precision"]]
        assert rec.precision is None and rec.inputs == [] and rec.outputs == []


def test_tensor_info_keeps_the_format_as_written():
    layers = _by_name(read_layer_info(DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json"))
    out = layers["/conv1/Conv + /relu/Relu"].outputs[0]
    assert out == TensorInfo(
        "/relu/Relu_output_0",
        [1, 64, 112, 112],
        "Channel major FP16 format where channel % 8 == 0",
        "FP16",
    )


def test_myelin_metadata_separators_are_readable():
    layers = _by_name(read_layer_info(DATA / "trtexec/layerinfo-10.16.1-detailed.json"))
    meta = layers["node_linear_myl4_0"].metadata
    assert meta == "[ONNX Layer: node_linear] + [ONNX Layer: node_relu_2]"


@pytest.mark.parametrize(
    "fmt, dtype",
    [
        ("Row major linear FP32", "FP32"),
        ("Thirty-two wide channel vectorized row major Int8 format", "INT8"),
        ("Two wide channel vectorized row major FP16 format", "FP16"),
        ("Half", "FP16"),
        ("Float", "FP32"),
        ("Int64", "INT64"),
        ("Unknown format", None),
        ("", None),
    ],
)
def test_dtype_of_format(fmt, dtype):
    assert dtype_of_format(fmt) == dtype


@pytest.mark.parametrize("rel", sorted(PROFILE))
def test_profile_fixture(rel):
    facts = PROFILE[rel]
    records = read_profile(DATA / rel)
    assert len(records) == facts["records"]
    assert records.count == facts["count"]
    assert sum(r.time_ms for r in records) == pytest.approx(facts["total_ms"], rel=1e-6)
    slowest = max(records, key=lambda r: r.time_ms)
    assert (slowest.name, slowest.time_ms, slowest.percent) == facts["slowest"]
    if "zero_ms" in facts:
        assert sum(r.time_ms == 0 for r in records) == facts["zero_ms"]
    names = {r.name for r in records}
    layer_names = {rec.name for rec in read_layer_info(DATA / facts["matches_layer_info"])}
    assert names == layer_names


def test_profile_without_median_reads_as_none(tmp_path):
    # TensorRT <= 8.2 wrote 4 keys per record (no medianMs): keep the record, median unknown
    path = tmp_path / "old.profile.json"
    path.write_text(
        json.dumps(
            [{"count": 5}, {"name": "a", "timeMs": 1.0, "averageMs": 0.2, "percentage": 100.0}]
        )
    )
    (rec,) = read_profile(path)
    assert rec.median_ms is None and rec.average_ms == 0.2


@pytest.mark.parametrize("rel", sorted(TIMES))
def test_times_fixture(rel):
    facts = TIMES[rel]
    recs = read_times(DATA / rel)
    assert len(recs) == facts["records"]
    assert recs[0]["latencyMs"] == facts["first_latency_ms"]
    assert recs[-1]["latencyMs"] == facts["last_latency_ms"]


@pytest.mark.parametrize("rel", sorted(PROFILE_METADATA))
def test_profile_metadata_fixture(rel):
    facts = PROFILE_METADATA[rel]
    meta = read_trex_metadata(DATA / rel)
    perf = trex_performance(meta)
    assert perf["Throughput"] == facts["throughput"]
    assert perf["Latency"]["median"] == facts["latency_median_ms"]
    assert perf["Latency"]["p99"] == facts["latency_p99_ms"]
    assert len(perf["GPU Compute Time"]) == facts["stats"]
    assert meta["device_information"]["Selected Device"] == facts["device"]
    if "gpu_total_s" in facts:
        assert perf["Total GPU Compute Time"] == facts["gpu_total_s"]


@pytest.mark.parametrize("rel", sorted(BUILD_METADATA))
def test_build_metadata_fixture(rel):
    meta = read_trex_metadata(DATA / rel)
    assert meta["build_options"]["Precision"] == BUILD_METADATA[rel]["Precision"]
    assert meta["model_options"]["Format"] == "ONNX"


@pytest.mark.parametrize("rel", sorted(DEVICE_METADATA))
def test_device_metadata_fixture(rel):
    dev = read_device_metadata(DATA / rel)
    assert dev["Name"] == DEVICE_METADATA[rel]["Name"]
    assert dev["ComputeCapability"] == [8, 0]


def test_missing_and_broken_files_raise_result_error(tmp_path):
    with pytest.raises(ResultError, match="not found"):
        read_layer_info(tmp_path / "nope.json")
    bad = tmp_path / "cut.json"
    bad.write_text('{"Layers": [')
    with pytest.raises(ResultError, match="not valid JSON") as info:
        read_layer_info(bad)
    assert info.value.hint
    with pytest.raises(ResultError, match="exportProfile"):
        read_profile(DATA / "trtexec/layerinfo-10.16.1-detailed.json")
    with pytest.raises(ResultError, match="exportLayerInfo"):
        read_layer_info(DATA / "trex/A100-fp16/resnet.onnx.engine.profile.json")


def test_reads_with_the_standard_json_module_when_orjson_is_absent(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson -> ImportError
    from trt_magic.results import jsonfile

    assert jsonfile._orjson() is None
    layers = read_layer_info(DATA / "trtexec/layerinfo-10.16.1-detailed.json")
    assert len(layers) == 9


def test_every_fixture_file_has_facts_in_the_registry():
    from data import registry

    known = set(registry.LAYER_INFO) | set(registry.PROFILE) | set(registry.TIMES)
    known |= set(registry.PROFILE_METADATA) | set(registry.BUILD_METADATA)
    known |= set(registry.DEVICE_METADATA) | set(registry.LOGS) | set(registry.HELP)
    on_disk = {
        str(p.relative_to(DATA))
        for folder in ("trtexec", "trex")
        for p in (DATA / folder).rglob("*")
        if p.is_file() and p.name != "SOURCES.md"
    }
    assert on_disk == known


def test_fixtures_are_byte_copies_of_the_shared_ones():
    import hashlib
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
    if not shared.is_dir():
        missing(f"shared/fixtures is not beside this checkout ({shared})")
    pairs = [("trtexec", "trtexec"), ("trex", "trex-examples")]
    for mine, theirs in pairs:
        for p in (shared / theirs).rglob("*"):
            copy = DATA / mine / p.relative_to(shared / theirs)
            if p.is_file() and copy.is_file():  # shared may grow; what we copied must match
                assert (
                    hashlib.sha256(copy.read_bytes()).digest()
                    == hashlib.sha256(p.read_bytes()).digest()
                ), copy


def test_a_loaded_export_goes_to_the_oldest_gc_generation():
    import gc

    path = DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json"
    raw = exports.load_layer_info(path)[0]
    # kept by the Run: handed to the oldest generation at once, not walked by young collections
    assert gc.isenabled()
    assert any(o is raw for o in gc.get_objects(2))
    assert not any(o is raw for o in gc.get_objects(0))
    gc.disable()  # a program that paused the GC finds it paused
    try:
        exports.read_profile(DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.profile.json")
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()  # a program's own frozen objects stay frozen
    frozen = gc.get_freeze_count()
    try:
        exports.load_layer_info(path)
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()
