"""The profile editor, driven headless: set widget values, click buttons, read the flags."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import ipywidgets  # noqa: F401 - the suite needs it (test extra)
import onnx
import pytest

from trt_magic.results.run import Run  # noqa: E402
from trt_magic.spec import BuildSpec, Precision  # noqa: E402
from trt_magic.widgets import ProfileEditor, read_model_inputs  # noqa: E402
from trt_magic.widgets.versions import FIRST_SEEN, compat_levels  # noqa: E402

OLD_IMAGE = "nvcr.io/nvidia/tensorrt:23.04-py3"  # TensorRT 8.6.1 in the NGC tag table


def make_model(path: Path) -> Path:
    """Two inputs sharing the symbolic ``batch``, a dynamic unnamed dim, and a weight input."""
    from onnx import TensorProto, helper

    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 32, 32])
    tokens = helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", None])
    weight = helper.make_tensor_value_info("w", TensorProto.FLOAT, [1])
    out1 = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 32, 32])
    out2 = helper.make_tensor_value_info("t", TensorProto.INT64, ["batch", None])
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["images", "w"], ["y"]),
            helper.make_node("Identity", ["tokens"], ["t"]),
        ],
        "two_inputs",
        [images, tokens, weight],
        [out1, out2],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture
def model(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_model(tmp_path / "two.onnx")


def editor_for(model: Path, **kwargs) -> ProfileEditor:
    kwargs.setdefault("image", OLD_IMAGE)
    return ProfileEditor(str(model.name), **kwargs)


def test_reads_onnx_inputs(model):
    profile = read_model_inputs(model)
    assert profile.dims == {"images": ("batch", 3, 32, 32), "tokens": ("batch", None)}
    assert profile.dtypes == {"images": "float32", "tokens": "int64"}  # "w" is a weight


def test_defaults_and_flags(model):
    editor = editor_for(model)
    assert editor.problems == []
    assert editor.args == [
        "--saveEngine=two_FP32_NONE.plan",
        "--minShapes=images:1x3x32x32,tokens:1x1",
        "--optShapes=images:1x3x32x32,tokens:1x1",
        "--maxShapes=images:8x3x32x32,tokens:8x1",
        "--profilingVerbosity=detailed",
        "--exportLayerInfo=two_FP32_NONE.plan.graph.json",
        "--exportProfile=two_FP32_NONE.plan.profile.json",
    ]
    assert editor.flags == " ".join(editor.args)
    assert editor.command_args[0] == "--onnx=two.onnx"
    # static dims are shown fixed
    assert editor.shapes.box("images", 1, "max").disabled
    assert not editor.shapes.box("images", 0, "max").disabled


@dataclass
class FakeExport:
    """What the editor reads from an ExportResult: the path and the sample shapes."""

    path: Path
    sample_shapes: dict


def test_export_result_samples_give_opt_and_max(model):
    result = FakeExport(model, {"images": (4, 3, 32, 32), "tokens": (4, 77)})
    editor = ProfileEditor(result, image=OLD_IMAGE)
    rng = editor.spec.profile.ranges
    assert (rng["images"].min[0], rng["images"].opt[0], rng["images"].max[0]) == (1, 4, 8)
    assert (rng["tokens"].min[1], rng["tokens"].opt[1], rng["tokens"].max[1]) == (1, 77, 154)


def test_shared_symbol_moves_together_unless_unlinked(model):
    editor = editor_for(model)
    editor.shapes.box("images", 0, "max").value = 32
    assert editor.shapes.box("tokens", 0, "max").value == 32
    assert "--maxShapes=images:32x3x32x32,tokens:32x1" in editor.args
    editor.shapes.links["batch"].value = False
    editor.shapes.box("tokens", 0, "max").value = 16
    assert editor.shapes.box("images", 0, "max").value == 32
    assert "--maxShapes=images:32x3x32x32,tokens:16x1" in editor.args
    # the unnamed dim is linked to nothing
    assert list(editor.shapes.links) == ["batch"]


def test_invalid_values_are_shown_and_never_reach_flags(model):
    editor = editor_for(model)
    editor.shapes.links["batch"].value = False
    before = editor.flags
    box = editor.shapes.box("images", 0, "min")
    box.value = 0
    assert editor.problems == ["images[0] (batch): min must be >= 1"]
    assert box.layout.border.startswith("2px solid")
    assert "min must be >= 1" in box.tooltip
    assert "min must be &gt;= 1" in editor.shapes.messages["images"].value
    assert editor.flags == before
    assert "Not applied" in editor.preview.value
    editor.shapes.box("tokens", 1, "opt").value = 5  # opt > max (1)
    assert "tokens[1]: opt 5 > max 1" in editor.problems
    box.value = 1
    editor.shapes.box("tokens", 1, "max").value = 9
    assert editor.problems == []
    assert box.layout.border == ""
    assert "Not applied" not in editor.preview.value
    assert "--optShapes=images:1x3x32x32,tokens:1x5" in editor.args
    assert "--maxShapes=images:8x3x32x32,tokens:8x9" in editor.args
    assert editor.flags != before


def test_changed_static_dim_is_flagged(model):
    editor = editor_for(model)
    before = editor.flags
    editor.shapes.box("images", 2, "max").value = 64
    assert editor.problems == ["images[2] is static 32; max 64 differs"]
    assert editor.flags == before


def test_precisions_follow_the_target_version(model):
    old = editor_for(model)
    boxes = old.options.precision
    assert boxes[Precision.BF16].disabled and boxes[Precision.STRONGLY_TYPED].disabled
    assert "TensorRT 8.6.1" in boxes[Precision.BF16].tooltip
    assert "BF16, strongly typed: newer TensorRT only" in old.options.version_note.value
    assert "10.0" in boxes[Precision.BF16].tooltip
    assert not boxes[Precision.FP16].disabled and not boxes[Precision.FP8].disabled
    assert "sameComputeCapability" not in old.options.hardware.options
    new = editor_for(model, trt_version="10.16.1", restore=False)
    assert not any(b.disabled for b in new.options.precision.values())
    assert "sameComputeCapability" in new.options.hardware.options
    # an image the tag table does not know enables everything; changing it re-targets
    custom = editor_for(model, image="registry.local/tensorrt:custom", restore=False)
    assert not custom.options.precision[Precision.BF16].disabled
    assert "unknown" in custom.options.version_note.value
    custom.options.precision[Precision.BF16].value = True
    custom.options.image.value = OLD_IMAGE
    assert custom.options.precision[Precision.BF16].disabled
    assert not custom.options.precision[Precision.BF16].value
    assert "--bf16" not in custom.args


def help_flags(data_dir, version):
    text = (data_dir / "trtexec" / f"help-trtexec-{version}.txt").read_text()
    return set(re.findall(r"^\s+(--[A-Za-z0-9]+)", text, flags=re.M))


@pytest.mark.parametrize("version", ["8.6.1", "10.0.1", "10.6.0", "10.16.1"])
def test_version_fallback_table_matches_real_help(data_dir, version):
    known = help_flags(data_dir, version)
    have = tuple(int(p) for p in version.split(".")[:2])
    for flag, first in FIRST_SEEN.items():
        expected = have >= tuple(int(p) for p in first.split("."))
        assert (flag in known) == expected, (flag, version)
    text = (data_dir / "trtexec" / f"help-trtexec-{version}.txt").read_text()
    assert ('"sameComputeCapability"' in text) == (
        "sameComputeCapability" in compat_levels(version)
    )


def test_options_write_flags(model):
    editor = editor_for(model, trt_version="10.16.1")
    opts = editor.options
    assert opts.opt_level.label == "default (3)"
    assert not any("Level" in a for a in editor.args)
    opts.precision[Precision.FP16].value = True
    opts.precision[Precision.INT8].value = True
    opts.tf32.value = False
    opts.opt_level.value = 5
    opts.hardware.value = "ampere+"
    opts.workspace.value = 2048
    opts.input_formats.value = "fp16:chw,int64:chw"
    opts.extra.value = "--verbose --timingCacheFile=t.cache"
    assert editor.args == [
        "--saveEngine=two_FP16-INT8_AMPERE+.plan",
        "--minShapes=images:1x3x32x32,tokens:1x1",
        "--optShapes=images:1x3x32x32,tokens:1x1",
        "--maxShapes=images:8x3x32x32,tokens:8x1",
        "--fp16",
        "--int8",
        "--noTF32",
        "--builderOptimizationLevel=5",
        "--hardwareCompatibilityLevel=ampere+",
        "--memPoolSize=workspace:2048",
        "--inputIOFormats=fp16:chw,int64:chw",
        "--profilingVerbosity=detailed",
        "--exportLayerInfo=two_FP16-INT8_AMPERE+.plan.graph.json",
        "--exportProfile=two_FP16-INT8_AMPERE+.plan.profile.json",
        "--verbose",
        "--timingCacheFile=t.cache",
    ]
    opts.extra.value = '--verbose "unclosed'
    assert any("other flags" in p for p in editor.problems)
    assert "--timingCacheFile=t.cache" in editor.args  # last valid state kept


def test_preview_shows_both_lines_selectable(model):
    editor = editor_for(model)
    html = editor.preview.value
    assert "user-select:text" in html
    assert "%trtexec --onnx=two.onnx --saveEngine=two_FP32_NONE.plan" in html
    assert "docker run --rm " in html and "--gpus all" in html and OLD_IMAGE in html
    assert editor.magic_line.startswith("%trtexec --onnx=two.onnx ")
    editor.shapes.box("images", 0, "max").value = 12
    assert "images:12x3x32x32" in editor.preview.value
    assert "images:12x3x32x32" in editor.docker_line


def test_state_is_saved_and_restored(model):
    editor = editor_for(model, trt_version="10.16.1")
    editor.shapes.box("images", 0, "opt").value = 4
    editor.options.precision[Precision.BF16].value = True
    editor.options.opt_level.value = 2
    state = model.parent / "two.onnx.profile.json"
    saved = json.loads(state.read_text())
    assert saved["spec"]["precisions"] == ["BF16"]
    again = editor_for(model, trt_version="10.16.1")
    assert again.args == editor.args
    assert again.options.precision[Precision.BF16].value
    assert again.shapes.box("tokens", 0, "opt").value == 4
    # an invalid state is not saved
    again.shapes.box("images", 0, "min").value = -1
    assert json.loads(state.read_text())["spec"]["opt_level"] == 2
    assert "-1," not in state.read_text()
    assert not list(model.parent.glob(".tmp-*"))
    # the saved image comes back unless one is given
    again.options.image.value = "registry.local/tensorrt:custom"
    again.shapes.box("images", 0, "min").value = 1
    assert ProfileEditor("two.onnx").options.image.value == "registry.local/tensorrt:custom"
    assert editor_for(model).options.image.value == OLD_IMAGE
    fresh = editor_for(model, trt_version="10.16.1", restore=False)
    assert "--bf16" not in fresh.args


def test_broken_state_file_falls_back_to_defaults(model):
    (model.parent / "two.onnx.profile.json").write_text("{not json")
    editor = editor_for(model)
    assert editor.problems == []
    assert any("could not restore" in n for n in editor.notes)


def test_from_flags_round_trip(model):
    editor = editor_for(model, trt_version="10.16.1")
    editor.shapes.box("images", 0, "max").value = 24
    editor.options.precision[Precision.FP16].value = True
    editor.options.engine.value = "engines/two-fp16.plan"
    editor.options.extra.value = "--verbose"
    back = ProfileEditor.from_flags(
        "trtexec " + " ".join(editor.command_args), trt_version="10.16.1"
    )
    assert back.args == editor.args
    assert back.options.engine.value == "engines/two-fp16.plan"
    assert back.options.extra.value == "--verbose"
    assert back.shapes.box("tokens", 0, "max").value == 24


def test_from_flags_notes_unknown_inputs_and_precisions(model):
    flags = (
        "--onnx=two.onnx --bf16 --minShapes=images:1x3x32x32,ghost:1 "
        "--optShapes=images:2x3x32x32,ghost:1 --maxShapes=images:4x3x32x32,ghost:1"
    )
    editor = ProfileEditor.from_flags(flags, image=OLD_IMAGE, restore=False)
    assert any("ghost" in n for n in editor.notes)
    assert "ghost" in editor.notes_view.value
    assert any("BF16" in n for n in editor.notes)
    assert "--bf16" not in editor.args
    assert editor.shapes.box("images", 0, "opt").value == 2


def test_bad_path_is_a_clear_error(tmp_path):
    from trt_magic.errors import UsageError

    with pytest.raises(UsageError, match="no ONNX file"):
        ProfileEditor(str(tmp_path / "missing.onnx"))


class ScriptedRunner:
    """A runner double: prints lines through on_line, then waits for cancel or finishes."""

    def __init__(self, wait_for_cancel=False):
        self.calls, self.wait_for_cancel = [], wait_for_cancel
        self.started = threading.Event()

    def __call__(self, args, *, on_line, cancel, **kwargs):
        self.calls.append((list(args), kwargs))
        on_line("&&&& RUNNING TensorRT.trtexec")
        self.started.set()
        if self.wait_for_cancel and cancel.wait(10):
            on_line("stopped")
            return Run(command=list(args), status="interrupted", backend="docker")
        on_line("&&&& PASSED TensorRT.trtexec")
        return Run(command=list(args), status="passed", exit_code=0, backend="docker")


def test_build_button_runs_in_background_and_streams(model):
    runner = ScriptedRunner()
    editor = editor_for(model, runner=runner)
    editor.panel.build_button.click()
    editor.panel.thread.join(10)
    assert runner.calls[0][0] == editor.command_args
    assert runner.calls[0][1]["display"] is False and runner.calls[0][1]["image"] == OLD_IMAGE
    assert "&&&& PASSED" in editor.panel.log.value
    assert "passed" in editor.panel.status.value
    assert editor.panel.runs[0].status == "passed"
    assert not editor.panel.build_button.disabled and editor.panel.cancel_button.disabled


def test_cancel_button_stops_the_build(model):
    runner = ScriptedRunner(wait_for_cancel=True)
    editor = editor_for(model, runner=runner)
    editor.panel.build_button.click()
    assert runner.started.wait(10)
    assert editor.panel.build_button.disabled and not editor.panel.cancel_button.disabled
    editor.panel.cancel_button.click()
    editor.panel.thread.join(10)
    assert not editor.panel.running
    assert editor.panel.runs[0].status == "interrupted"
    assert "stopped" in editor.panel.log.value


def test_build_log_shows_a_burst_then_silence_without_waiting_for_more(model):
    silence = threading.Event()
    lines = [f"[I] burst line {i}" for i in range(30)]

    def runner(args, *, on_line, cancel, **kwargs):
        for line in lines:  # faster than FLUSH_EVERY: most are throttled
            on_line(line)
        silence.wait(30)  # a long step that prints nothing
        return Run(command=list(args), status="passed", exit_code=0, backend="docker")

    editor = editor_for(model, runner=runner)
    shown = threading.Event()
    editor.panel.log.observe(
        lambda change: shown.set() if lines[-1] in change["new"] else None, names="value"
    )
    editor.panel.build_button.click()
    try:
        assert shown.wait(5), "the last line of the burst stayed hidden during the silence"
        assert editor.panel.running  # shown during the build, not by its end
        assert editor.panel.log.value.splitlines()[-30:] == lines
    finally:
        silence.set()
        editor.panel.thread.join(10)
    assert not editor.panel.running


def test_invalid_form_does_not_build(model):
    runner = ScriptedRunner()
    editor = editor_for(model, runner=runner)
    editor.shapes.box("images", 0, "min").value = 0
    editor.panel.build_button.click()
    assert editor.panel.thread is None and runner.calls == []
    assert "Fix the form first" in editor.panel.status.value


def test_build_each_precision_runs_one_build_per_tick(model):
    runner = ScriptedRunner()
    editor = editor_for(model, runner=runner)
    editor.options.precision[Precision.FP16].value = True
    editor.options.precision[Precision.INT8].value = True
    editor.panel._show_comparison = lambda names: setattr(editor.panel, "compared", names)
    editor.panel.each_button.click()
    editor.panel.thread.join(10)
    engines = [next(a for a in args if a.startswith("--saveEngine")) for args, _ in runner.calls]
    assert engines == [
        "--saveEngine=two_FP32_NONE.plan",
        "--saveEngine=two_FP16_NONE.plan",
        "--saveEngine=two_INT8_NONE.plan",
    ]
    assert "--fp16" in runner.calls[1][0] and "--int8" not in runner.calls[1][0]
    assert editor.panel.compared == ["FP32", "FP16", "INT8"]


def test_trt_profile_magic(ipython_shell, model):
    editor = ipython_shell.run_line_magic("trt_profile", "two.onnx --as ed --trt-version 10.0.1")
    assert isinstance(editor, ProfileEditor)
    assert ipython_shell.user_ns["ed"] is editor
    assert not editor.options.precision[Precision.BF16].disabled
    ipython_shell.user_ns["exported"] = FakeExport(model, {"images": (2, 3, 32, 32)})
    other = ipython_shell.run_line_magic("trt_profile", "exported --fresh")
    assert other.spec.profile.ranges["images"].opt[0] == 2


def test_flags_expand_into_a_magic_line(model):
    editor = editor_for(model)
    spec = BuildSpec.from_args(f"--onnx=two.onnx {editor.flags}")
    assert spec.to_args() == editor.command_args


# --- the build panel against the Docker test image (tests/docker_image.py) ---------------------


@pytest.fixture
def docker_settings(tmp_path, monkeypatch, docker_client):
    """Fresh settings with cache and work folders in tmp_path; no container may be left."""
    from trt_magic import config

    monkeypatch.chdir(tmp_path)
    settings = config.Settings(cache_dir=str(tmp_path / "cache"), workdir=str(tmp_path))
    config.use_settings(settings)
    yield settings
    config.use_settings(None)
    # only ours: other tests may run containers on the same daemon at the same time
    # (the low-level list: no per-container inspect that races with others' removals)
    left = [
        c["Names"]
        for c in docker_client.api.containers(all=True, filters={"label": "trt_magic=1"})
        if any(str(tmp_path) in m.get("Source", "") for m in c.get("Mounts") or [])
    ]
    assert left == [], f"containers left behind: {left}"


@pytest.mark.docker
def test_build_with_the_docker_runner(tmp_path, docker_settings, trtexec_image):
    make_model(tmp_path / "two.onnx")
    editor = ProfileEditor("two.onnx", image=trtexec_image, gpus="none")
    editor.panel.build_button.click()
    editor.panel.thread.join(120)
    run = editor.panel.runs[0]
    assert run.status == "passed", editor.panel.status.value
    # the fake trtexec writes what the flags ask for, at the host paths the editor chose
    for name in ("two_FP32_NONE.plan", "two_FP32_NONE.plan.graph.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "two_FP32_NONE.plan.profile.json").is_file()
    assert "&&&& PASSED" in editor.panel.log.value
    assert "passed" in editor.panel.status.value
    assert "<h4" in editor.panel.result.value and len(editor.panel.result.value) > 500


@pytest.mark.docker
@pytest.mark.slow
def test_cancel_stops_the_container(tmp_path, docker_settings, trtexec_image, docker_client):
    make_model(tmp_path / "slow.onnx")  # "slow" in the name: the fake trtexec sleeps 60 s
    editor = ProfileEditor("slow.onnx", image=trtexec_image, gpus="none")
    started_event = threading.Event()
    editor.panel.log.observe(
        lambda change: started_event.set() if "TensorRT.trtexec" in change["new"] else None,
        names="value",
    )
    editor.panel.build_button.click()
    assert started_event.wait(60), editor.panel.status.value + editor.panel.log.value[-1500:]
    assert editor.panel.running, editor.panel.status.value
    started = time.monotonic()
    editor.panel.cancel_button.click()
    editor.panel.thread.join(30)
    assert not editor.panel.running
    assert time.monotonic() - started < 15
    assert editor.panel.runs[0].status == "interrupted"
    assert not list(tmp_path.glob("*.plan")) and not list(tmp_path.glob(".slow*"))


@pytest.mark.docker
@pytest.mark.slow
def test_build_each_precision_then_compare(tmp_path, docker_settings, trtexec_image):
    make_model(tmp_path / "two.onnx")
    editor = ProfileEditor("two.onnx", image=trtexec_image, gpus="none")
    editor.options.precision[Precision.FP16].value = True
    editor.panel.each_button.click()
    editor.panel.thread.join(180)
    assert [r.status for r in editor.panel.runs] == ["passed", "passed"], (
        editor.panel.status.value + editor.panel.log.value[-1500:]
    )
    assert (tmp_path / "two_FP16_NONE.plan").is_file() and (
        tmp_path / "two_FP32_NONE.plan"
    ).is_file()
    assert editor.panel.comparison is not None
    assert "Comparison" in editor.panel.result.value, editor.panel.log.value[-1500:]
    assert list(editor.panel.comparison.table.index) == ["FP32", "FP16"]


@pytest.mark.slow
def test_editor_from_a_real_export(tmp_path, monkeypatch):
    """export_onnx's ExportResult: its sample batch (4) is the opt, twice that the max."""
    import torch

    from trt_magic import export_onnx

    monkeypatch.chdir(tmp_path)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    result = export_onnx(
        model, "conv.onnx", inputs=["images:4x3x16x16"], dynamic=["images:0=batch"], simplify="none"
    )
    editor = ProfileEditor(result, image=OLD_IMAGE)
    assert editor.shapes.dims["images"] == ("batch", 3, 16, 16)
    assert "--optShapes=images:4x3x16x16" in editor.args
    assert "--maxShapes=images:8x3x16x16" in editor.args
    assert (tmp_path / "conv.onnx.profile.json").is_file()


def test_from_flags_of_a_trtexec_magic_line(model):
    line = "%trtexec --image registry.local/trt:10 --gpus 1 --onnx=two.onnx --fp16 --verbose"
    editor = ProfileEditor.from_flags(line, restore=False)
    assert editor.options.image.value == "registry.local/trt:10"
    assert editor.gpus == "1"
    assert "--fp16" in editor.args and editor.options.extra.value == "--verbose"


def test_unwritable_folder_still_edits(model, monkeypatch):
    """A folder the user cannot write (as root, chmod is no test): the form works, unsaved."""
    import trt_magic.widgets.editor as editor_module

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(editor_module.tempfile, "mkstemp", refuse)
    editor = editor_for(model)
    editor.shapes.box("images", 0, "max").value = 4
    assert "--maxShapes=images:4x3x32x32,tokens:4x1" in editor.args
    assert editor.save() is None
    assert not (model.parent / "two.onnx.profile.json").exists()


def test_failed_state_write_leaves_no_temp_file(model, monkeypatch):
    import trt_magic.widgets.editor as editor_module

    editor = editor_for(model)
    monkeypatch.setattr(
        editor_module.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "full"))
    )
    assert editor.save() is None
    assert not list(model.parent.glob(".tmp-*"))


def test_static_model_has_no_shape_flags(tmp_path, monkeypatch):
    from onnx import TensorProto, helper

    monkeypatch.chdir(tmp_path)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "static", [x], [y])
    onnx.save(helper.make_model(graph), tmp_path / "static.onnx")
    editor = ProfileEditor("static.onnx", image=OLD_IMAGE)
    assert not any("Shapes=" in a for a in editor.args)
    assert editor.shapes.links == {} and editor.shapes.box("x", 1, "opt").disabled


@pytest.mark.docker
def test_no_gpu_runtime_is_explained_in_the_panel(tmp_path, docker_settings, trtexec_image):
    """--gpus on a daemon without the NVIDIA runtime: the hint shows in the panel, no crash."""
    make_model(tmp_path / "two.onnx")
    editor = ProfileEditor("two.onnx", image=trtexec_image, gpus="all")
    editor.panel.build_button.click()
    editor.panel.thread.join(60)
    status = editor.panel.status.value
    assert "NVIDIA Container Toolkit" in status, status
    assert "crashed" not in status and editor.panel.runs == []
    assert not editor.panel.build_button.disabled
