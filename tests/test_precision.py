"""TensorRT 10/11 precision: 11.x flag tables, version detection, the plan, precision_mix."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from trt_magic import load_run
from trt_magic import tensorrt as trt
from trt_magic.commandline import flags
from trt_magic.commandline.precision import plan_precision, requested_precision
from trt_magic.errors import UsageError
from trt_magic.results.precision import PrecisionWarning

DATA = Path(__file__).parent / "data"
TREX = DATA / "trex"
HELP_DIR = Path(flags.__file__).parent.parent / "data" / "trtexec_help"

# ----- 11.x flag tables -----------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(flags.SOURCE_FILES))
def test_11x_flag_lists_state_their_source(version):
    text = (HELP_DIR / flags.SOURCE_FILES[version]).read_text()
    tag = "v" + ".".join(version.split(".")[:2])
    assert f"tag {tag} (commit " in text and "samples/common/sampleOptions.cpp" in text
    found = flags.help_flags(version)
    assert {"--onnx", "--saveEngine", "--stronglyTyped", "--exportLayerInfo", "--help"} <= found


def test_11x_removals_are_exactly_the_diff_against_10_16():
    gone = flags.help_flags("10.16.1") - flags.help_flags("11.0.0")
    assert gone == set(flags.REMOVED_IN_11)
    # 11.1 removed nothing more, added the build-route tuner
    assert flags.help_flags("11.0.0") <= flags.help_flags("11.1.0")
    assert "--tuneBuildRoutes" in flags.help_flags("11.1.0") - flags.help_flags("11.0.0")


@pytest.mark.parametrize(
    ("flag", "version", "known"),
    [
        ("--fp16", "10.16.1", True),
        ("--fp16", "11.0", False),
        ("--fp16", "11.0.0.114", False),
        ("--int8", "11.1.0", False),
        ("--best", "11.2.1", False),  # past the newest list: judged by 11.1
        ("--calib", "11.1.0", False),
        ("--stronglyTyped", "11.1.0", True),  # a deprecated no-op, still parsed
        ("--tuneBuildRoutes", "11.0", False),
        ("--tuneBuildRoutes", "11.1.0.106", True),
        ("--fp16", "10.17", True),  # between 10.16.1 and 11.0: never judged by an 11.x list
    ],
)
def test_flag_known_11x(flag, version, known):
    assert flags.flag_known(flag, version) is known


def test_removed_flags_name_their_replacement():
    notes = flags.check_flags(["--onnx=m.onnx", "--fp16", "--calib=c.cache"], "11.1.0")
    assert len(notes) == 2
    assert "cast_onnx(path, 'fp16')" in notes[0] and "quantize_onnx" in notes[1]
    assert flags.check_flags(["--onnx=m.onnx", "--fp16"], "10.16.1") == []
    # the 11.x removals are not blamed on a failed 10.x run
    assert flags.replacement_for("--fp16", "10.16.1") is None
    assert flags.replacement_for("--weightless", "11.0.0")[0] == "--stripWeights"


# ----- the image's TensorRT -------------------------------------------------------------------

_LOGS = sorted(p for p in (DATA / "trtexec").glob("log-*") if "[TensorRT v" in p.read_text())


@pytest.mark.parametrize("log", _LOGS, ids=lambda p: p.name)
def test_banner_of_every_real_log_matches_its_file_name(log):
    version = trt.version_from_banner(log.read_text(errors="replace"))
    named = re.match(r"log-(\d+\.\d+(?:\.\d+)?)", log.name).group(1)
    assert version is not None and version.startswith(named), (version, named)


@pytest.mark.parametrize(
    ("banner", "version"),
    [("[TensorRT v110100] [b11] # trtexec", "11.1.0"), ("[TensorRT v8601] # trtexec", "8.6.1"),
     ("[TensorRT v100001] # trtexec --help", "10.0.1"), ("no banner here", None)],
)  # fmt: skip
def test_version_from_banner(banner, version):
    assert trt.version_from_banner(banner) == version


def test_image_tensorrt_prefers_the_image_environment(tmp_path):
    env = ["PATH=/usr/bin", "TRT_VERSION=11.1.0.106"]
    got = trt.image_tensorrt("nvcr.io/nvidia/tensorrt:23.04-py3", env=env)
    assert got.version == "11.1.0.106" and got.major == 11 and "TRT_VERSION" in got.source
    assert trt.image_tensorrt("x", env={"TENSORRT_VERSION": "10.16.1"}).version == "10.16.1"
    # no env: the tag table
    assert trt.image_tensorrt("nvcr.io/nvidia/tensorrt:23.04-py3").version == "8.6.1"
    unknown = trt.image_tensorrt("my-own:1", image_id="sha256:feed")
    assert unknown.version is None and "unknown" in unknown.source


def test_banner_is_remembered_per_image_id_on_disk(tmp_path):
    log = (DATA / "trtexec" / "log-10.16.1-onnx-default-run.log").read_text()
    trt.remember_banner("sha256:abc123", log, str(tmp_path))
    trt._banners.clear()  # a new kernel: the cache folder still knows
    got = trt.image_tensorrt("my-own:1", image_id="sha256:abc123", cache_dir=str(tmp_path))
    assert got.version == "10.16.1" and "banner" in got.source
    assert trt.image_tensorrt("my-own:1", image_id="sha256:other").version is None


# ----- the plan ---------------------------------------------------------------------------------


def test_86_and_10x_keep_the_flags():
    args = ["--onnx=m.onnx", "--fp16", "--saveEngine=m.plan"]
    p86 = plan_precision(args, "8.6.1")
    assert p86.args == args and p86.rewrite is None and p86.notes == []
    p10 = plan_precision(args, "10.16.1")
    assert p10.args == args and p10.rewrite is None
    assert "--stronglyTyped" in p10.notes[0]  # offered on 10.x
    assert plan_precision([*args, "--stronglyTyped"], "10.16.1").notes == []
    assert plan_precision(args, None).args == args  # unknown version: untouched


@pytest.mark.parametrize(
    ("flags_", "kind", "precision", "name", "settings"),
    [
        (["--fp16"], "cast", "fp16", "m.fp16.onnx", {"keep_fp32": None}),
        (["--bf16"], "cast", "bf16", "m.bf16.onnx", {"keep_fp32": None}),
        (["--int8"], "quantize", "int8", "m.int8.onnx", {"high_precision": "fp32"}),
        (["--int8", "--fp16"], "quantize", "int8", "m.int8-fp16.onnx", {"high_precision": "fp16"}),
        (["--best"], "quantize", "int8", "m.best.onnx", {"high_precision": "fp16"}),
        (["--fp8"], "quantize", "fp8", "m.fp8.onnx", {"high_precision": "fp32"}),
        (["--fp16", "--layerPrecisions=attn/Softmax:fp32,conv1:fp16"], "cast", "fp16",
         "m.fp16.onnx", {"keep_fp32": ["attn/Softmax"]}),
    ],
)  # fmt: skip
def test_11x_rewrites_the_model_and_drops_the_flags(
    tmp_path, flags_, kind, precision, name, settings
):
    args = [f"--onnx={tmp_path}/m.onnx", *flags_, "--calib=c.cache", "--saveEngine=e.plan"]
    plan = plan_precision(args, "11.1.0")
    assert plan.rewrite.kind == kind and plan.rewrite.precision == precision
    assert plan.rewrite.target == tmp_path / name and plan.rewrite.source == tmp_path / "m.onnx"
    assert settings.items() <= plan.rewrite.settings.items()
    assert plan.args == [f"--onnx={tmp_path / name}", "--saveEngine=e.plan"]
    for arg in plan.args:  # a removed flag never reaches an 11.x trtexec
        assert flags.flag_known(arg, "11.1.0"), arg


def test_11x_without_a_model_only_drops(tmp_path):
    plan = plan_precision(["--loadEngine=e.plan", "--fp16"], "11.0.0")
    assert plan.args == ["--loadEngine=e.plan"] and plan.rewrite is None
    assert any("no --onnx" in n for n in plan.notes)
    weightless = plan_precision(["--onnx=m.onnx", "--weightless"], "11.0.0")
    assert weightless.args == ["--onnx=m.onnx", "--stripWeights"] and weightless.rewrite is None


def test_11x_int4_is_refused_with_a_hint():
    with pytest.raises(UsageError, match="int4") as err:
        plan_precision(["--onnx=m.onnx", "--int4"], "11.1.0")
    assert "ModelOpt" in err.value.hint


def test_requested_precision():
    assert requested_precision(["--fp16", "--int8"]) == "int8"
    assert requested_precision(["--best"]) == "best"
    assert requested_precision(["--onnx=m.onnx"]) == "fp32"


# ----- precision_mix on the real TREx A100 fixtures ------------------------------------------


def _run(name: str):
    return load_run(TREX / name)


def test_precision_mix_fp32_fixture():
    mix = _run("A100-fp32/resnet.onnx.engine").precision_mix
    assert list(mix.index) == ["FP32"] and mix.loc["FP32", "layers"] == 32
    assert mix.loc["FP32", "share"] == pytest.approx(1.0)
    assert mix.attrs["requested"] == "fp32" and mix.attrs["verdict"] is None


def test_precision_mix_fp16_fixture():
    run = _run("A100-fp16/resnet.onnx.engine")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: 92 % of the time is in FP16
        mix = run.precision_mix
    assert mix.attrs["requested"] == "fp16"  # from TREx's build metadata "FP32+FP16"
    assert (mix.loc["FP16", "layers"], mix.loc["FP32", "layers"]) == (35, 1)
    assert mix.loc["FP16", "time_ms"] == pytest.approx(0.935936)
    assert mix.attrs["low_share"] == pytest.approx(0.935936 / (0.935936 + 0.080896))
    assert mix["share"].sum() == pytest.approx(1.0)


def test_precision_mix_qat_fixture():
    mix = _run("A100-qat/resnet-qat.onnx.engine").precision_mix
    assert list(mix.index) == ["INT8", "FP32", "FP16"]
    assert mix.loc["INT8", "layers"] == 22 and mix.loc["INT8", "share"] == pytest.approx(
        0.710656 / (0.710656 + 0.193536 + 0.191488)
    )
    assert mix.attrs["verdict"] is None


def test_fp16_request_on_an_fp32_engine_is_an_error_note():
    # the rf-detr#1453 case: "FP16" asked, the engine is the real FP32 one
    run = _run("A100-fp32/resnet.onnx.engine")
    run.command = ["--onnx=resnet.onnx", "--fp16"]
    with pytest.warns(PrecisionWarning, match="ERROR: fp16 was requested but 0 %"):
        mix = run.precision_mix
    assert mix.attrs["low_share"] == 0 and run.notes[-1].startswith("ERROR")


def test_fp16_request_mostly_fp32_is_a_loud_warning():
    run = _run("A100-qat/resnet-qat.onnx.engine")
    run.command = ["--onnx=resnet.onnx", "--fp16"]  # 17 % of its time is FP16
    with pytest.warns(PrecisionWarning, match=r"WARNING: fp16 .* only 17\.5%"):
        mix = run.precision_mix
    assert 0 < mix.attrs["low_share"] < 0.5


def test_editor_toggles_stay_enabled_on_11x():
    from trt_magic.spec import Precision
    from trt_magic.widgets.versions import precision_reasons

    reasons = precision_reasons("11.1.0", "trt11:test")
    for p in (Precision.FP16, Precision.BF16, Precision.INT8, Precision.FP8, Precision.BEST):
        assert reasons[p] is None  # built as a rewritten model, not refused


_LAYER_FIXTURES = sorted(
    [*(DATA / "trtexec").glob("*.graph.json"), *(DATA / "trtexec").glob("layerinfo-*.json"),
     *TREX.glob("*/*.graph.json")]
)  # fmt: skip


@pytest.mark.parametrize("path", _LAYER_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_precision_mix_of_every_real_layer_info(path):
    run = load_run(layer_info=path)
    mix = run.precision_mix
    assert int(mix["layers"].sum()) == len(run.layers) > 0
    known = {"FP32", "FP16", "BF16", "INT8", "FP8", "INT32", "INT64", "BOOL", "UINT8", "unknown"}
    assert set(mix.index) <= known, set(mix.index)
    if mix["time_ms"].sum() > 0:
        assert mix["share"].sum() == pytest.approx(1.0)
