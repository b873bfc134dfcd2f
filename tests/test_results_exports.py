"""trt_magic.results.exports against every real JSON export in tests/data (see data/registry.py)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

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
    mine = [[]]  # a program's own frozen objects stay frozen (unfreeze would move them all)
    gc.freeze()
    try:
        exports.load_layer_info(path)
        assert gc.get_freeze_count() > 0 and gc.isenabled()
        assert not any(o is mine for o in gc.get_objects())  # still in the permanent generation
    finally:
        gc.unfreeze()
    assert any(o is mine for o in gc.get_objects(2))


# --- exact records, and every fault read from a real file with one value changed -------------

MYELIN = "trtexec/layerinfo-10.16.1-detailed.json"  # 9 layers: 4 Cask, 1 gemm, 4 kgen
TF_PROFILE = "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.json"
TF_TIMES = "trtexec/trex-tf-resnet50-rtx3090-fp32.timing.json"
TF_PERF = "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.metadata.json"
ALEX_PERF = "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.metadata.json"
DEVICE = "trex/A100-fp16/resnet.onnx.engine.metadata.json"


def _replaced(tmp_path, rel: str, make) -> str:
    """A copy of the real export ``rel`` whose parsed JSON is replaced by ``make(data)``."""
    data = make(json.loads((DATA / rel).read_text(encoding="utf-8")))
    path = tmp_path / rel.replace("/", "_")
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _edited(tmp_path, rel: str, edit) -> str:
    """A copy of the real export ``rel`` with ``edit(data)`` changing its parsed JSON in place."""
    return _replaced(tmp_path, rel, lambda data: (edit(data), data)[1])


@pytest.fixture
def levels(monkeypatch) -> list[int]:
    """The stacklevel each Dropped.warn call asked for: the frames from the warning up to the
    reader's caller (what the filename check below sees, also under mutmut's extra frames)."""
    from trt_magic.results.figures import Dropped

    asked: list[int] = []
    warn = Dropped.warn

    def spy(self, stacklevel: int = 3) -> None:
        if self:
            asked.append(stacklevel)
        warn(self, stacklevel=stacklevel + 1)

    monkeypatch.setattr(Dropped, "warn", spy)
    return asked


def _warned(recwarn) -> list[str]:
    """The message of each ResultWarning raised; each must point at the caller's line (here),
    not inside trt_magic (mutmut's trampoline adds a frame: checked outside mutmut only)."""
    import os

    from trt_magic.errors import ResultWarning

    caught = [w for w in recwarn if w.category is ResultWarning]
    if "MUTANT_UNDER_TEST" not in os.environ:
        assert [w.filename for w in caught] == [__file__] * len(caught)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize(
    "token, dtype",
    [
        ("FP32", "FP32"), ("Float", "FP32"), ("FP16", "FP16"), ("Half", "FP16"),
        ("BFloat16", "BF16"), ("BF16", "BF16"), ("FP8", "FP8"), ("FP4", "FP4"),
        ("Double", "FP64"), ("Int4", "INT4"), ("INT4", "INT4"), ("Int8", "INT8"),
        ("INT8", "INT8"), ("UInt8", "UINT8"), ("Int16", "INT16"), ("Int32", "INT32"),
        ("INT32", "INT32"), ("Int64", "INT64"), ("INT64", "INT64"), ("Bool", "BOOL"),
        ("BOOL", "BOOL"), ("float", None), ("Channel major FP16 format where channel % 8 == 0", "FP16"),
        ("Row major Int8 FP32", "INT8"),  # the first token that names a type wins
    ],
)  # fmt: skip
def test_every_dtype_token(token, dtype):
    exports._dtype_cache.clear()
    assert dtype_of_format(token) == dtype
    assert dtype_of_format(token) == dtype  # the second answer comes from the memo
    assert exports._dtype_cache[token] == dtype
    assert dtype_of_format(None) is None


def test_myelin_layers_read_exactly():
    raw = json.loads((DATA / MYELIN).read_text(encoding="utf-8"))["Layers"]
    layers = read_layer_info(DATA / MYELIN)
    conv, gemm, last = layers[0], layers[4], layers[8]
    assert conv == LayerRecord(
        name="node_conv2d + node_relu",
        type="Convolution",
        precision="FP32",
        tactic="sm80_xmma_fprop_implicit_gemm_f32f32_f32f32_f32_nchwkcrs_nchw_tilesize32x32x8"
        "_stage3_warpsize1x2x1_g1_ffma_t1r5s5_aligna4_alignc4",
        inputs=[TensorInfo("x", [1, 1, 28, 28], "Float", "FP32")],
        outputs=[TensorInfo("relu", [1, 32, 28, 28], "Float", "FP32")],
        raw=raw[0],
    )
    assert (conv.layer_type, conv.metadata) == (
        "CaskConvolution",
        "[ONNX Layer: node_conv2d] + [ONNX Layer: node_relu]",
    )
    assert (gemm.type, gemm.layer_type, gemm.tactic[:22]) == (
        "gemm",
        "gemm",
        "sm50_xmma_cublas_gemvx",
    )
    assert last.name == "__myl_CastReshCast_myl4_4" and last.precision == "INT32"
    assert [t.dtype for t in last.outputs] == ["INT64"] and last.outputs[0].dims == [1]
    assert last.metadata == ""  # "Metadata": "" as written
    assert [len(r.outputs) for r in layers] == [1, 1, 1, 1, 1, 1, 3, 2, 1]
    assert [t.dtype for t in layers[7].outputs] == ["FP32", "INT32"]


def test_layer_record_fallbacks(tmp_path):
    def edit(data):
        a, b, c, d = data["Layers"][5:9]
        del a["Inputs"]  # precision from the first output
        b["Inputs"] = []
        del b["Outputs"]  # no tensor at all
        del c["TacticName"], c["Name"]  # no tactic, no name
        d["Metadata"] = None
        d["Inputs"][0].pop("Format/Datatype")
        d["Inputs"][0].pop("Dimensions")
        d["Inputs"][0].pop("Name")
        data["Layers"][1].pop("ParameterType")  # the engine's LayerType then

    layers = read_layer_info(_edited(tmp_path, MYELIN, edit))
    assert layers[1].type == "CaskPooling"
    assert (layers[5].precision, layers[5].inputs) == ("FP32", [])
    assert (layers[6].precision, layers[6].inputs, layers[6].outputs) == (None, [], [])
    assert (layers[7].tactic, layers[7].name) == (None, "")
    assert layers[8].inputs == [TensorInfo("", [], "", None)] and layers[8].precision is None
    assert layers[8].metadata == ""
    edited = json.loads(Path(tmp_path / MYELIN.replace("/", "_")).read_text())
    cols = exports.layer_columns(edited["Layers"])
    assert cols["precision"][5:9] == ["FP32", None, "FP32", None]
    assert cols["inputs"][5:9] == [0, 0, 2, 1]
    assert cols["output_shape"][5:9] == ["1x10", None, "1x1", "1"]
    assert cols["out_dtype"][5:9] == ["FP32", None, "FP32", "INT64"]
    assert cols["tactic"][7] is None and cols["name"][7] == ""
    assert cols["metadata"][7:9] == ["[ONNX Layer: node_softmax] + [ONNX Layer: node_argmax]", None]
    assert cols["type"][1] == "CaskPooling" and cols["layer_type"][1] == "CaskPooling"


def test_tactic_value_when_no_tactic_name():
    layers = read_layer_info(DATA / "trex/A100-fp16/resnet.onnx.engine.graph.json")
    raw = [r.raw for r in layers]
    value_only = [r for r in layers if "TacticName" not in r.raw]
    assert len(value_only) == 14
    assert all(r.tactic == r.raw["TacticValue"] for r in value_only)
    cols = exports.layer_columns(raw)
    assert cols["tactic"] == [r.tactic for r in layers]


@pytest.mark.parametrize("rel", sorted(LAYER_INFO))
def test_layer_columns_follow_layer_record(rel):
    raw, _ = exports.load_layer_info(DATA / rel)
    records = [exports.layer_record(r) for r in raw]
    cols = exports.layer_columns(raw)
    assert list(cols) == ["name", "type", "layer_type", "precision", "tactic", "inputs",
                          "output_shape", "out_dtype", "metadata"]  # fmt: skip
    assert cols["name"] == [r.name for r in records]
    assert cols["type"] == [r.type for r in records]
    assert cols["layer_type"] == [r.layer_type for r in records]
    assert cols["precision"] == [r.precision for r in records]
    assert cols["tactic"] == [r.tactic for r in records]
    assert cols["inputs"] == [len(r.inputs) for r in records]
    assert cols["output_shape"] == [
        "x".join(map(str, r.outputs[0].dims)) if r.outputs else None for r in records
    ]
    assert cols["out_dtype"] == [r.outputs[0].dtype if r.outputs else None for r in records]
    assert cols["metadata"] == [r.metadata or None for r in records]


def test_names_only_records_and_columns():
    raw, bindings = exports.load_layer_info(DATA / "trtexec/layerinfo-8.6.0-names-only.json")
    rec = exports.layer_record(raw[0])
    assert rec == LayerRecord(name=raw[0], raw={"Name": raw[0]})
    assert (rec.type, rec.precision, rec.tactic, rec.inputs, rec.outputs) == (None,) * 3 + ([], [])
    assert (rec.layer_type, rec.metadata) == (None, "")
    cols = exports.layer_columns(raw[:2])
    assert cols == {
        "name": raw[:2], "type": [None, None], "layer_type": [None, None],
        "precision": [None, None], "tactic": [None, None], "inputs": [0, 0],
        "output_shape": [None, None], "out_dtype": [None, None], "metadata": [None, None],
    }  # fmt: skip
    assert exports.is_detailed([rec]) is False
    assert exports.is_detailed([rec, exports.layer_record(raw[0])]) is False


def test_layer_info_structure_faults(tmp_path):
    path = _edited(tmp_path, MYELIN, lambda d: d["Layers"].insert(0, None))
    assert [r.name for r in read_layer_info(path)][:1] == ["node_conv2d + node_relu"]
    assert len(read_layer_info(path)) == 9  # a null entry is no layer
    path = _edited(tmp_path, MYELIN, lambda d: d.pop("Bindings"))
    assert read_bindings(path) == []
    path = _edited(tmp_path, MYELIN, lambda d: d.update(Bindings="x"))
    with pytest.raises(ResultError) as err:
        read_bindings(path)
    assert err.value.message == f"{path}: field 'Bindings' is a string ('x'), not a list"
    path = _edited(tmp_path, MYELIN, lambda d: d.update(Layers={}))
    with pytest.raises(ResultError) as err:
        read_layer_info(path)
    assert err.value.message == (
        f"{path} is not trtexec --exportLayerInfo output (no 'Layers' list)"
    )
    assert err.value.hint == (
        "pass the file written by --exportLayerInfo=<path> (a TREx *.graph.json works too)"
    )
    with pytest.raises(ResultError, match=r"^layer info is not trtexec"):
        exports.read_layer_info_json([])
    with pytest.raises(ResultError, match=r"^engine A is not trtexec"):
        exports.read_layer_info_json([], "engine A")
    path = _edited(tmp_path, MYELIN, lambda d: d["Layers"][2].update(Name=7))
    with pytest.raises(ResultError) as err:
        read_layer_info(path)
    assert err.value.message.startswith(f"{path}: layer 2 ('7'): field 'Name' is a number (7)")

    # the index is the layer's place in the file, null entries included
    def edit(data):
        data["Layers"].insert(0, None)
        data["Layers"][3]["TacticName"] = [1]

    path = _edited(tmp_path, MYELIN, edit)
    with pytest.raises(ResultError) as err:
        read_layer_info(path)
    assert err.value.message.startswith(
        f"{path}: layer 3 ('node_conv2d_1 + node_relu_1'): field 'TacticName' is a list"
    )
    records, bindings = exports.read_layer_info_json(json.loads((DATA / MYELIN).read_text()))
    assert bindings == ["x", "y", "z"] and records[3].name == "node_max_pool2d_1"


@pytest.mark.parametrize(
    "reader, what",
    [(read_bindings, "layer info"), (read_layer_info, "layer info"), (read_profile, "profile"),
     (read_times, "times"), (read_trex_metadata, "metadata"),
     (read_device_metadata, "device metadata")],
)  # fmt: skip
def test_each_reader_names_its_file(tmp_path, reader, what):
    with pytest.raises(ResultError) as err:
        reader(tmp_path / "nope.json")
    assert err.value.message == f"{what} file not found: {tmp_path / 'nope.json'}"
    with pytest.raises(ResultError) as err:
        reader(tmp_path)
    assert err.value.hint == f"pass the file trtexec wrote as the {what}"


def test_file_faults_say_what_and_how(tmp_path):
    with pytest.raises(ResultError) as err:
        read_profile(tmp_path / "nope.json")
    assert err.value.message == f"profile file not found: {tmp_path / 'nope.json'}"
    assert err.value.hint == "check the path, or the trtexec flag that should have written it"
    with pytest.raises(ResultError) as err:
        read_times(tmp_path)  # a folder
    assert err.value.message == f"cannot read the times file {tmp_path}: Is a directory"
    assert err.value.hint == "pass the file trtexec wrote as the times"
    cut = tmp_path / "cut.json"
    cut.write_bytes((DATA / TF_PROFILE).read_bytes()[:200])
    with pytest.raises(ResultError) as err:
        read_profile(cut)
    assert err.value.message.startswith(f"{cut} is not valid JSON (")
    assert err.value.hint == (
        "pass the file trtexec wrote as the profile (it may be cut short if trtexec was interrupted)"
    )
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ResultError) as err:
        read_trex_metadata(deep)
    assert err.value.message == f"{deep} is not valid JSON (nested too deeply)"


def _profile_record(data: list, name: str) -> dict:
    return next(r for r in data if r.get("name") == name)


CONV1 = "resnet50/conv1_conv/Conv2D__6"  # the first layer of TF_PROFILE: 0.08704 ms, 0.70195 %


def test_profile_records_exactly():
    records = read_profile(DATA / TF_PROFILE)
    assert isinstance(records, exports.ProfileRecords) and records.count == 1
    assert records[0] == exports.ProfileRecord(CONV1, 0.08704, 0.08704, 0.08704, 0.70195)
    assert all(type(r.time_ms) is float and type(r.percent) is float for r in records)
    zero = [r for r in records if r.time_ms == 0]
    assert len(zero) == 31 and all(r.median_ms == 0.0 and r.percent == 0.0 for r in zero)
    assert exports.ProfileRecords().count is None


@pytest.mark.parametrize(
    "field, value, read, warning",
    [
        ("timeMs", -1.0, ("time_ms", math.nan), "timeMs = -1.0"),
        ("timeMs", None, ("time_ms", math.nan), None),  # JSON null: missing, no warning
        ("averageMs", -0.5, ("average_ms", math.nan), "averageMs = -0.5"),
        ("percentage", 100.5, ("percent", math.nan), "percentage = 100.5"),
        ("percentage", 100, ("percent", 100.0), None),
        ("percentage", 1e400, ("percent", math.nan), "percentage = inf"),
        ("medianMs", -2, ("median_ms", None), "medianMs = -2"),
        ("medianMs", None, ("median_ms", None), None),
        ("medianMs", 7, ("median_ms", 7.0), None),
        ("timeMs", 3, ("time_ms", 3.0), None),
    ],
)
def test_profile_impossible_figures_read_as_missing(tmp_path, recwarn, field, value, read, warning):
    path = _edited(tmp_path, TF_PROFILE, lambda d: _profile_record(d, CONV1).update({field: value}))
    first = read_profile(path)[0]
    attr, expected = read
    got = getattr(first, attr)
    # repr: NaN equals NaN, None is None, and a float stays a float
    assert (repr(got), type(got)) == (repr(expected), type(expected))
    others = {"time_ms": 0.08704, "average_ms": 0.08704, "median_ms": 0.08704, "percent": 0.70195}
    others.pop(attr)
    assert {k: getattr(first, k) for k in others} == others
    if warning is None:
        assert _warned(recwarn) == []
    else:
        message = f"{path}: 1 impossible figure (negative or not finite) read as missing: "
        assert _warned(recwarn) == [(message + f"layer {CONV1!r}: {warning}")]


def test_profile_missing_figures_read_as_zero(tmp_path):
    def edit(data):
        for key in ("timeMs", "averageMs", "percentage"):
            del _profile_record(data, CONV1)[key]

    first = read_profile(_edited(tmp_path, TF_PROFILE, edit))[0]
    assert (first.time_ms, first.average_ms, first.percent, first.median_ms) == (
        0.0,
        0.0,
        0.0,
        0.08704,
    )


@pytest.mark.parametrize(
    "count, expected",
    [(True, "field 'count' is a boolean (True), not a whole number"),
     (5.0, "field 'count' is a number (5.0), not a whole number"),
     ("5", "field 'count' is a string ('5'), not a whole number")],
)  # fmt: skip
def test_profile_count_must_be_a_whole_number(tmp_path, count, expected):
    path = _edited(tmp_path, TF_PROFILE, lambda d: d[0].update(count=count))
    with pytest.raises(ResultError) as err:
        read_profile(path)
    assert err.value.message == f"{path}: record 0: {expected}"


def test_profile_count_rules(tmp_path, recwarn, levels):
    path = _edited(tmp_path, TF_PROFILE, lambda d: d[0].update(count=-3))
    records = read_profile(path)
    assert records.count is None and len(records) == 103
    assert _warned(recwarn) == [
        (f"{path}: 1 impossible figure (negative or not finite) read as missing: "
         "record 0: count = -3")
    ]  # fmt: skip
    assert levels == [4]  # Dropped.warn, read_profile_json, read_profile, its caller
    path = _edited(tmp_path, TF_PROFILE, lambda d: d[0].update(count=0))
    assert read_profile(path).count == 0
    # a second count record (one per profile) does not replace the first; null and {} are skipped
    path = _edited(
        tmp_path, TF_PROFILE, lambda d: d.__setitem__(slice(2, 2), [{"count": 9}, {}, None])
    )
    records = read_profile(path)
    assert records.count == 1 and len(records) == 103


def test_profile_name_must_be_text(tmp_path):
    path = _edited(tmp_path, TF_PROFILE, lambda d: d[3].update(name=12))
    with pytest.raises(ResultError) as err:
        read_profile(path)
    assert err.value.message == f"{path}: record 3: field 'name' is a number (12), not a string"
    path = _edited(tmp_path, TF_PROFILE, lambda d: d[3].update(timeMs="0.5"))
    with pytest.raises(ResultError, match=r"record 3|timeMs"):
        read_profile(path)
    data = json.loads((DATA / TF_PROFILE).read_text())
    with pytest.raises(ResultError) as err:
        exports.read_profile_json({"Layers": data})
    assert (
        err.value.message == "profile is not trtexec --exportProfile output (expected a JSON list)"
    )
    assert err.value.hint == "pass the file written by --exportProfile=<path>"
    assert len(exports.read_profile_json(data, "x")) == 103


def test_times_exactly_and_faults(tmp_path, recwarn, levels):
    recs = read_times(DATA / TF_TIMES)
    assert recs[0] == {
        "startEnqMs": 16.6644, "endEnqMs": 16.9316, "startH2dMs": 16.6236, "endH2dMs": 16.6236,
        "startComputeMs": 16.6236, "endComputeMs": 29.6417, "startD2hMs": 29.6417,
        "endD2hMs": 29.6417, "h2dMs": 0, "computeMs": 13.0181, "d2hMs": 0, "latencyMs": 13.0181,
    }  # fmt: skip
    assert _warned(recwarn) == []
    assert type(recs[0]["h2dMs"]) is int  # as written: 0, not 0.0

    def edit(data):
        data[2]["latencyMs"] = -1.5
        data[4]["computeMs"] = 1e400
        data[5]["h2dMs"] = None

    path = _edited(tmp_path, TF_TIMES, edit)
    recs = read_times(path)
    assert math.isnan(recs[2]["latencyMs"]) and math.isnan(recs[4]["computeMs"])
    assert math.isnan(recs[5]["h2dMs"]) and recs[2]["computeMs"] == 12.7898
    assert _warned(recwarn) == [
        (f"{path}: 2 impossible figures (negative or not finite) read as missing: "
         "inference 2: latencyMs = -1.5; inference 4: computeMs = inf")
    ]  # fmt: skip
    assert levels == [3]  # Dropped.warn, read_times, its caller
    path = _edited(tmp_path, TF_TIMES, lambda d: d[1].update(latencyMs="12"))
    with pytest.raises(ResultError) as err:
        read_times(path)
    assert err.value.message == (
        f"{path}: inference 1: field 'latencyMs' is a string ('12'), not a number"
    )
    for bad in (lambda d: {"times": d}, lambda d: d + [1]):
        path = _replaced(tmp_path, TF_TIMES, bad)
        with pytest.raises(ResultError) as err:
            read_times(path)
        assert err.value.message == (
            f"{path} is not trtexec --exportTimes output (expected a list of objects)"
        )
        assert err.value.hint == "pass the file written by --exportTimes=<path>"


def test_trex_metadata_faults(tmp_path):
    for bad in (lambda d: [d], lambda d: dict(d, extra=1)):
        path = _replaced(tmp_path, TF_PERF, bad)
        with pytest.raises(ResultError) as err:
            read_trex_metadata(path)
        assert err.value.message == (
            f"{path} is not a TREx metadata file (expected an object of sections)"
        )
        assert (
            err.value.hint == "pass a *.build.metadata.json or *.profile.metadata.json made by TREx"
        )


def test_device_metadata_forms(tmp_path):
    first = json.loads((DATA / DEVICE).read_text())[0]
    path = _replaced(tmp_path, DEVICE, lambda d: d[0])  # one device as an object
    assert read_device_metadata(path) == first
    path = _replaced(tmp_path, DEVICE, lambda d: d + [dict(d[0], Name="second")])
    assert read_device_metadata(path, 1)["Name"] == "second"
    assert read_device_metadata(path)["Name"] == "NVIDIA A100 80GB PCIe"
    for bad in (lambda d: [], lambda d: ["A100"], lambda d: "A100", lambda d: d + ["A100"]):
        path = _replaced(tmp_path, DEVICE, bad)
        with pytest.raises(ResultError) as err:
            read_device_metadata(path)
        assert err.value.message == (
            f"{path} is not a TREx device metadata file (expected a list of objects)"
        )
        assert err.value.hint == "pass the *.metadata.json TREx wrote next to the engine"
    for device in (1, -1):  # the file lists one GPU
        with pytest.raises(ResultError) as err:
            read_device_metadata(DATA / DEVICE, device)
        assert err.value.message == f"{DATA / DEVICE} has no device {device} (it lists 1)"
        assert err.value.hint == "pick a device from 0 to 0"


def test_trex_performance_exactly():
    perf = trex_performance(read_trex_metadata(DATA / TF_PERF))
    five = ("min", "max", "mean", "median", "p99")
    assert perf == {
        "Throughput": 81.9895,
        "Latency": dict(zip(five, [12.0986, 12.7928, 12.1952, 12.1682, 12.7775], strict=True)),
        "Enqueue Time": dict(zip(five, [0.00610352, 0.0234375, 0.00699659, 0.00683594, 0.0101318], strict=True)),
        "H2D Latency": dict.fromkeys(five, 0.0),
        "GPU Compute Time": dict(zip(five, [12.0986, 12.7928, 12.1952, 12.1682, 12.7775], strict=True)),
        "D2H Latency": dict.fromkeys(five, 0.0),
        "Total Host Walltime": 3.02478,
        "Total GPU Compute Time": 3.02441,
    }  # fmt: skip
    seven = trex_performance(read_trex_metadata(DATA / ALEX_PERF))["Latency"]
    assert seven == {"min": 0.490234, "max": 0.500977, "mean": 0.495324, "median": 0.495605,
                     "p90": 0.498047, "p95": 0.498535, "p99": 0.5}  # fmt: skip
    # the section itself may be passed
    summary = read_trex_metadata(DATA / TF_PERF)["performance_summary"]
    assert trex_performance(summary) == perf


def test_trex_performance_faults(tmp_path, recwarn, levels):
    def edit(data):
        s = data["performance_summary"]
        s["Latency"] = s["Latency"][:4]  # min max mean median
        s["Enqueue Time"] = s["Enqueue Time"][:3]  # no known layout
        s["H2D Latency"][1] = -1.0
        s["Total Host Walltime"] = -3.0
        s["D2H Latency"][0] = None
        s["Throughput"] = 0
        s["Total GPU Compute Time"] = True  # a bool is no figure: left out

    path = _edited(tmp_path, TF_PERF, edit)
    perf = trex_performance(read_trex_metadata(path), path)
    assert perf["Latency"] == {"min": 12.0986, "max": 12.7928, "mean": 12.1952, "median": 12.1682}
    assert perf["Enqueue Time"] == {"stat0": 0.00610352, "stat1": 0.0234375, "stat2": 0.00699659}
    assert perf["H2D Latency"] == {"min": 0.0, "mean": 0.0, "median": 0.0, "p99": 0.0}
    assert perf["D2H Latency"] == {"max": 0.0, "mean": 0.0, "median": 0.0, "p99": 0.0}
    assert perf["Throughput"] == 0.0 and type(perf["Throughput"]) is float
    assert "Total Host Walltime" not in perf and "Total GPU Compute Time" not in perf
    assert _warned(recwarn) == [
        (f"{path}: 2 impossible figures (negative or not finite) read as missing: "
         "H2D Latency[1] = -1.0; Total Host Walltime = -3.0")
    ]  # fmt: skip
    assert levels == [3]  # Dropped.warn, trex_performance, its caller
    for key in ("Throughput", "Total Host Walltime", "Total GPU Compute Time"):
        path = _edited(
            tmp_path, TF_PERF, lambda d, key=key: d["performance_summary"].update({key: "81.9"})
        )
        with pytest.raises(ResultError) as err:
            trex_performance(read_trex_metadata(path), path)
        assert err.value.message == f"{path}: field {key!r} is a string ('81.9'), not a number"
    path = _edited(tmp_path, TF_PERF, lambda d: d["performance_summary"].update(Note="fast"))
    assert "Note" not in trex_performance(read_trex_metadata(path), path)
    with pytest.raises(ResultError) as err:
        trex_performance({"performance_summary": [1.0]})
    assert err.value.message == (
        "profile metadata: field 'performance_summary' is a list ([1.0]), not an object"
    )
