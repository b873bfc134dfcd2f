"""Layer pairing across engines, checked against TREx 0.2.1's own answers (data/trex_pairs)."""

from __future__ import annotations

import json

import pytest
from data.registry import DATA

from trt_magic.errors import UsageError
from trt_magic.results import compare, load_run
from trt_magic.results.exports import load_layer_info
from trt_magic.results.layer_match import (
    SKIPPED_TYPES,
    layer_type,
    match_layers,
    match_names,
    match_signatures,
    shape_profile_of,
    signature,
)

TREX = json.loads((DATA / "trex_pairs/pairs.json").read_text(encoding="utf-8"))
assert TREX["trex_version"] == "0.2.1"
PAIRS = TREX["pairs"]


def _raw(prefix: str) -> list:
    return load_layer_info(DATA / f"{prefix}.graph.json")[0]


def _trex_view(raw_a, raw_b, pairs) -> list[list]:
    """Our pairs as TREx lists them: names, without the layers TREx leaves out of its table."""
    shown = []
    for i, j in pairs:
        a = None if i is None else raw_a[i]
        b = None if j is None else raw_b[j]
        if (a is not None and a["LayerType"] in SKIPPED_TYPES) or (
            b is not None and b["LayerType"] in SKIPPED_TYPES
        ):
            continue
        shown.append([a and a["Name"], b and b["Name"]])
    return shown


@pytest.mark.parametrize("label", sorted(PAIRS))
@pytest.mark.parametrize("mode", ["exact", "first_io"])
def test_signature_pairs_equal_trex(label, mode):
    rec = PAIRS[label]
    raw_a, raw_b = _raw(rec["a"]), _raw(rec["b"])
    matching = match_layers(raw_a, raw_b, "signature", exact=mode == "exact")
    assert matching.method == "signature"
    assert _trex_view(raw_a, raw_b, matching.pairs) == rec[mode]
    # every layer appears exactly once: unmatched ones stay listed
    assert sorted(i for i, _ in matching.pairs if i is not None) == list(range(len(raw_a)))
    assert sorted(j for _, j in matching.pairs if j is not None) == list(range(len(raw_b)))


@pytest.mark.parametrize(
    ("label", "method"),
    [
        ("A100 fp32 vs fp16", "name"),  # one export: the names line up
        ("RTX-3090 tf resnet50 fp32 vs fp16", "name"),
        ("A100 fp32 vs qat", "signature"),  # the QAT model is another export
        ("mobilenet qat vs mobilenet_v2_residuals qat", "signature"),
        ("A100 fp16 (TREx) vs RTX 3060 fp16 (fuzzylabs)", "signature"),
    ],
)
def test_auto_says_which(label, method):
    rec = PAIRS[label]
    matching = match_layers(_raw(rec["a"]), _raw(rec["b"]))
    assert matching.method == method
    assert ("paired by signature" in matching.note) is (method == "signature")
    assert "names pair" in matching.note


def test_two_exports_of_one_network_pair_almost_every_layer():
    rec = PAIRS["mobilenet qat vs mobilenet_v2_residuals qat"]
    diff = compare(DATA / rec["a"], DATA / rec["b"]).layer_diff()
    assert diff.match == "signature"
    t = diff.table
    paired = t[t["name_b"].notna() & t["time_ms_a"].notna()]
    assert len(paired) == 57 == sum(1 for a, b in rec["exact"] if a and b)
    # unmatched layers stay listed: the 15 TREx leaves unpaired, plus one layer per engine that
    # TREx leaves out (a NoOp/Constant) whose names differ
    assert len(rec["exact"]) - 57 == 15 and len(diff.unmatched) == 15 + 2
    row = t.set_index("name").loc["features.0.0.weight + QuantizeLinear_8 + Conv_12 + PWN(Clip_16)"]
    assert row["name_b"] == "features.0.0.weight + QuantizeLinear_7 + Conv_9 + PWN(Clip_13)"
    # a name join pairs (almost) nothing on the same files
    by_name = compare(DATA / rec["a"], DATA / rec["b"]).layer_diff(match="name")
    assert by_name.match == "name" and len(by_name.table) - len(by_name.unmatched) <= 1


def test_one_model_two_tensorrt_versions_and_gpus():
    a = load_run(DATA / "trex/A100-fp16/resnet.onnx.engine")
    b = load_run(DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16")
    diff = compare(a, b, names=["A100", "RTX3060"]).layer_diff()
    assert diff.match == "signature"
    row = diff.table.set_index("name").loc["Conv_0 + Relu_1"]
    assert row["name_b"] == "/conv1/Conv + /relu/Relu"
    assert bool(row["tactic_changed"]) and not bool(row["fusion_changed"])
    moved = diff.moved
    assert "Conv_0 + Relu_1" in set(moved["name"])
    assert moved["tactic_changed"].sum() >= 15  # another GPU and version: other kernels


def test_fp16_vs_qat_shows_precision_and_fusion_moves():
    fp16 = load_run(DATA / "trex/A100-fp16/resnet.onnx.engine")
    qat = load_run(DATA / "trex/A100-qat/resnet-qat.onnx.engine")
    diff = compare(fp16, qat).layer_diff()
    assert diff.match == "signature"
    row = diff.table.set_index("name").loc["Conv_3 + Relu_4"]
    assert (row["precision_a"], row["precision_b"]) == ("FP16", "INT8")
    assert bool(row["fusion_changed"])  # the QAT layer also holds the weights' Q/DQ
    assert diff.precision_changes["precision_b"].eq("INT8").sum() >= 15


def test_name_mode_keeps_the_old_join():
    fp32 = DATA / "trex/A100-fp32/resnet.onnx.engine"
    fp16 = DATA / "trex/A100-fp16/resnet.onnx.engine"
    diff = compare(fp32, fp16).layer_diff(match="name")
    counts = diff.table["change"].value_counts()
    assert counts["only in a"] == 6 and counts["only in b"] == 10
    assert (diff.table["name_b"].dropna() == diff.table["name"][diff.table["name_b"].notna()]).all()


def test_pointwise_inputs_may_be_swapped():
    # TREx pairs two-input PointWise layers whose inputs come in the other order
    sig = ("PointWise", ((64, 56, 56), (1, 1, 1)), ((64, 56, 56),))
    swapped = ("PointWise", ((1, 1, 1), (64, 56, 56)), ((64, 56, 56),))
    other = ("Convolution", ((64, 56, 56),), ((64, 56, 56),))
    assert match_signatures([other, sig], [swapped, other]) == [(0, 1), (1, 0)]


def test_greedy_order_is_trex_order():
    x, y, z = ("X", (), ()), ("Y", (), ()), ("Z", (), ())
    # A's head looks ahead in B; then B's head looks ahead in A; unmatched stay listed
    assert match_signatures([x, y], [y, x]) == [(0, 1), (1, 0)]
    assert match_signatures([z, x], [x]) == [(0, None), (1, 0)]
    assert match_signatures([], [x]) == [(None, 0)]


def test_signature_leaves_out_batch_and_skipped_layers():
    raw = _raw("trex/A100-fp16/resnet.onnx.engine")
    conv = next(r for r in raw if r["Name"] == "Conv_0 + Relu_1")
    assert signature(conv) == ("Convolution", ((3, 224, 224),), ((64, 112, 112),))
    noop = next(r for r in raw if r["LayerType"] == "NoOp")
    assert signature(noop) is None and signature("just a name") is None


def test_names_only_layer_info_cannot_pair_by_signature():
    names = load_layer_info(DATA / "trtexec/layerinfo-8.6.0-names-only.json")[0]
    matching = match_layers(names, names)
    assert matching.method == "name" and "profilingVerbosity=detailed" in matching.note
    with pytest.raises(UsageError, match="by signature") as err:
        match_layers(names, names, "signature")
    assert "--profilingVerbosity=detailed" in err.value.hint
    with pytest.raises(UsageError, match="not a way"):
        match_layers(names, names, "fuzzy")


@pytest.mark.parametrize(
    ("name", "profile"),
    [("Conv_0 + Relu_1", 0), ("Conv_0 + Relu_1 [profile 1]", 1), ("x [profile 12]", 12)],
)
def test_shape_profile_of(name, profile):
    assert shape_profile_of(name) == profile


def test_layer_diff_first_io_signatures_match_trex():
    from trt_magic.results import layer_diff

    rec = PAIRS["RTX-3090 tf resnet50 fp16 vs qat"]  # the pair where the two modes differ
    a, b = load_run(DATA / rec["a"]), load_run(DATA / rec["b"])
    exact = layer_diff(a, b, match="signature")
    first = layer_diff(a, b, match="signature", exact=False)
    paired = [(r.name_a, r.name_b) for r in first.table.itertuples() if r.name_a and r.name_b]
    trex = {(x, y) for x, y in rec["first_io"] if x and y}
    assert trex <= set(paired) and len(trex) == 57
    assert (
        first.table["name_b"].notna().sum()
        > exact.table["name_b"][exact.table["name_a"].notna()].notna().sum()
    )


def test_load_run_chooses_the_shape_profile():
    run = load_run(DATA / "trex/A100-fp16/resnet.onnx.engine", shape_profile=0)
    assert run.layers.attrs["shape_profile"] == 0
    with pytest.raises(UsageError, match="no optimization profile 3"):
        load_run(DATA / "trex/A100-fp16/resnet.onnx.engine", shape_profile=3).layers_for(3)


# --- each rule on real layers (A100 fp16 ResNet: 36 layers, 11 NoOp), one value changed -------

FP16 = "trex/A100-fp16/resnet.onnx.engine"


def _copy(prefix: str = FP16) -> list:
    return json.loads((DATA / f"{prefix}.graph.json").read_text(encoding="utf-8"))["Layers"]


@pytest.mark.parametrize("kind", ["Constant", "NoOp", "shape_call", "signal", "wait"])
def test_every_skipped_type_has_no_signature(kind):
    conv = dict(_copy()[1], LayerType=kind)
    assert kind in SKIPPED_TYPES and signature(conv) is None and signature(conv, False) is None
    assert signature(dict(conv, LayerType=kind.upper())) is not None


def test_signature_parts():
    raw = _copy()
    residual = raw[13]  # Conv_16 + Add_17 + Relu_18: two inputs
    assert signature(residual) == ("Convolution", ((64, 56, 56), (128, 28, 28)), ((128, 28, 28),))
    assert signature(residual, exact=False) == ("Convolution", ((64, 56, 56),), ((128, 28, 28),))
    assert signature(raw[0]) == ("Reformat", ((3, 224, 224),), ((3, 224, 224),))
    myelin = load_layer_info(DATA / "trtexec/layerinfo-10.16.1-detailed.json")[0][6]
    assert signature(myelin) == ("kgen", ((10,),), ((10,), (1,), (10,)))
    assert signature(myelin, exact=False) == ("kgen", ((10,),), ((10,),))
    del residual["Inputs"], residual["Outputs"][0]["Dimensions"]
    assert signature(residual) == ("Convolution", (), ((),))
    assert signature(residual, exact=False) == ("Convolution", (), ((),))


def test_deconvolution_is_its_own_type():
    conv = _copy()[1]
    assert layer_type(conv) == "Convolution"
    assert layer_type(dict(conv, LayerType="CaskDeconvolutionV2")) == "Deconvolution"
    assert signature(dict(conv, LayerType="CaskDeconvolutionV2"))[0] == "Deconvolution"
    pool = _copy()[2]
    assert layer_type(dict(pool, LayerType="CaskDeconvolutionV2")) == "Pooling"
    del pool["ParameterType"]
    assert layer_type(pool) == "CudaPooling"


def test_two_input_pointwise_pairs_with_its_inputs_swapped():
    a, b = _copy(), _copy()
    a[13]["ParameterType"] = b[13]["ParameterType"] = "PointWise"
    b[13]["Inputs"].reverse()
    sig_a, sig_b = signature(a[13]), signature(b[13])
    assert sig_a != sig_b
    assert match_signatures([sig_a], [sig_b]) == [(0, 0)]
    assert match_signatures([sig_b], [sig_a]) == [(0, 0)]
    # not when it has two outputs, or is no PointWise, or has one input
    two_out = (sig_a[0], sig_a[1], sig_a[2] * 2)
    assert match_signatures([two_out], [(sig_b[0], sig_b[1], sig_b[2] * 2)]) == [
        (0, None),
        (None, 0),
    ]
    other = ("ElementWise",) + sig_a[1:]
    assert match_signatures([other], [("ElementWise",) + sig_b[1:]]) == [(0, None), (None, 0)]
    three = (sig_a[0], sig_a[1] + sig_a[1][:1], sig_a[2])
    assert match_signatures([three], [(sig_b[0], sig_b[1] + sig_a[1][:1], sig_b[2])]) == [
        (0, None), (None, 0)
    ]  # fmt: skip
    # a swap needs two inputs and one output on both sides
    assert match_signatures([two_out], [sig_b]) == [(0, None), (None, 0)]
    assert match_signatures([sig_a], [(sig_b[0], sig_b[1], sig_b[2] * 2)]) == [(0, None), (None, 0)]
    # the earlier of the two candidates wins, the swapped one or the same one
    assert match_signatures([sig_a], [sig_b, sig_a]) == [(0, 0), (None, 1)]
    assert match_signatures([sig_a], [sig_a, sig_b]) == [(0, 0), (None, 1)]
    assert match_signatures([sig_a, sig_a], [sig_a, sig_b]) == [(0, 0), (1, 1)]
    matching = match_layers(a, b, "signature")
    assert (13, 13) in matching.pairs


def test_greedy_walk_alternates_and_lists_the_rest():
    x, y, z, w = ("X", (), ()), ("Y", (), ()), ("Z", (), ()), ("W", (), ())
    assert match_signatures([x, y, z], [w, z, x]) == [(0, 2), (None, 0), (1, None), (2, 1)]
    assert match_signatures([x, x, x], [x]) == [(0, 0), (1, None), (2, None)]
    assert match_signatures([x], [x, x, x]) == [(0, 0), (None, 1), (None, 2)]
    assert match_signatures([x, y], []) == [(0, None), (1, None)]
    assert match_signatures([w, x, y], [x, w, y]) == [(0, 1), (1, 0), (2, 2)]
    # B's head is taken in turn: its first unpaired layer looks for a partner in A
    assert match_signatures([y, x, z], [z, x, y]) == [(0, 2), (2, 0), (1, 1)]


def test_names_pair_by_occurrence_and_profile_suffix():
    assert match_names(["a", "b", "a"], ["a", "c", "a", "a"]) == [
        (0, 0),
        (1, None),
        (2, 2),
        (None, 1),
        (None, 3),
    ]
    raw = _copy()
    renamed = [dict(r, Name=r["Name"] + " [profile 1]") for r in raw]
    matching = match_layers(raw, renamed, "name")
    assert matching.pairs == [(i, i) for i in range(36)] and matching.paired == 36
    assert matching.note == "layers paired by name (as asked)"
    names = ["Conv_0 [profile 12]", "Conv_0", "[profile 2]x"]
    assert match_layers(names, ["Conv_0", "x", "Conv_0"], "name").pairs == [(0, 0), (1, 2), (2, 1)]


def test_auto_prefers_names_on_a_tie_and_says_the_counts():
    raw = _copy()
    same = match_layers(raw, _copy())
    assert same.method == "name" and same.pairs == [(i, i) for i in range(36)]
    assert same.note == "layers paired by name (names pair 25 layers, signatures 25)"
    assert same.paired == 36  # the 11 NoOp pair by name too
    renamed = _copy()
    for r in renamed:
        r["Name"] = "other " + r["Name"]
    moved = match_layers(raw, renamed)
    assert moved.method == "signature"
    assert moved.note == (
        "layer names differ, so layers were paired by signature: type and shapes "
        "(names pair 0 layers, signatures 25)"
    )
    # the NoOp keep pairing by name among themselves: here not at all
    assert moved.paired == 25 and len(moved.pairs) == 25 + 2 * 11
    asked = match_layers(raw, renamed, "signature")
    assert asked.note == "layers paired by signature as asked (names pair 0 layers, signatures 25)"
    assert asked.pairs == moved.pairs
    # one layer renamed: names pair 24 of the matchable layers, signatures all 25
    renamed = _copy()
    renamed[1]["Name"] = "conv1"
    assert match_layers(raw, renamed).method == "signature"


def test_skipped_layers_pair_by_name_after_the_signature_pairs():
    raw = _copy()
    matching = match_layers(raw, _copy(), "signature")
    kept = [i for i, r in enumerate(raw) if r["LayerType"] not in SKIPPED_TYPES]
    noop = [i for i, r in enumerate(raw) if r["LayerType"] in SKIPPED_TYPES]
    assert matching.pairs == [(i, i) for i in kept] + [(i, i) for i in noop]
    assert matching.paired == 36


def test_detailed_means_more_than_a_name():
    raw = _copy()
    bare = [{"Name": r["Name"]} for r in raw]
    note = (
        "layers paired by name (no per-layer details to build signatures from (build with "
        "--profilingVerbosity=detailed and --exportLayerInfo))"
    )
    names = [r["Name"] for r in raw]  # a names-only export lists strings
    for a, b in ((bare, raw), (raw, bare), (raw, names), (names, raw)):
        matching = match_layers(a, b)
        assert (matching.method, matching.note) == ("name", note)
        assert matching.pairs == [(i, i) for i in range(36)]
    typed = [{"Name": "x" + r["Name"], "LayerType": r["LayerType"]} for r in raw]
    both = match_layers(typed, [{"Name": r["Name"], "LayerType": r["LayerType"]} for r in raw])
    assert both.method == "signature" and both.paired > 0
    with pytest.raises(UsageError) as err:
        match_layers(bare, raw, "signature")
    assert err.value.message == (
        "layers cannot be paired by signature: no per-layer details to build signatures from"
    )
    assert err.value.hint == (
        "rebuild both engines with --profilingVerbosity=detailed --exportLayerInfo=<file>, "
        'or use match="name"'
    )
    with pytest.raises(UsageError) as err:
        match_layers(raw, raw, "names")
    assert err.value.message == "match='names' is not a way to pair layers"
    assert err.value.hint == 'use match="auto", "name" or "signature"'


def test_matching_counts_only_full_pairs():
    from trt_magic.results.layer_match import Matching

    assert Matching([(0, 1), (None, 2), (3, None), (4, 4)], "name", "").paired == 2


def test_a_layer_without_a_name_pairs_as_the_empty_name():
    a, b = _copy(), _copy()
    del a[4]["Name"]  # a NoOp: paired by name
    b[4]["Name"] = ""
    matching = match_layers(a, b, "signature")
    assert (4, 4) in matching.pairs and matching.paired == 36
