"""A recorded (replayed) run is labelled "recorded" everywhere it appears and says how the
recording differs from the request: summary, repr, HTML, compare, sweeps, engine graph, Build.

The recordings are the real ones shipped in trt_magic/data/recorded (SOURCES.md); the user's
model is a real ONNX file written with onnx's helpers."""

from __future__ import annotations

import math

import pytest
from accuracy_helpers import linear_model

from trt_magic.results import compare, load_run
from trt_magic.runners import trtexec
from trt_magic.runners.replay_diff import onnx_interface

PROFILE = "--minShapes=x:1x4 --optShapes=x:8x4 --maxShapes=x:16x4"


@pytest.fixture
def model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return linear_model(tmp_path / "five.onnx")


def replay(args: str):
    return trtexec(args, backend="replay", display=False)


def test_onnx_interface_matches_onnx(model):
    import onnx

    nodes, inputs = onnx_interface(model)
    graph = onnx.load(str(model)).graph
    assert nodes == len(graph.node) == 2
    assert inputs == {"x": ("batch", 4)}  # W and b are initializers, not inputs


def test_model_differences_name_both_models(model):
    run = replay(f"--onnx={model.name} --fp16 --exportProfile=p.json")
    rec = run.recorded
    assert rec.recording == "trex-a100-fp16"
    line = next(d for d in rec.differences if d.startswith("model:"))
    assert "resnet.onnx" in line and "five.onnx (2 nodes; inputs x:batchx4)" in line
    assert "input names differ" in line  # input.1 vs x
    assert any(d.startswith("GPU: recorded on NVIDIA A100 80GB PCIe") for d in rec.differences)


def test_missing_model_is_said(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = replay("--onnx=absent.onnx")
    assert any("absent.onnx was not found" in d for d in run.recorded.differences)


def test_batch_outside_the_profile_is_called_out(model):
    run = replay(f"--onnx={model.name} {PROFILE} --shapes=x:32x4")
    text = "\n".join(run.recorded.differences)
    assert "--shapes x:32x4 is outside your profile (1x4 .. 16x4)" in text
    assert "a real trtexec would refuse it" in text
    assert "your profile is min x:1x4 / opt x:8x4 / max x:16x4" in text


def test_changing_opt_gives_the_same_figures_and_says_so(model):
    a = replay(f"--onnx={model.name} --fp16 {PROFILE} --skipInference --verbose")
    b = replay(
        f"--onnx={model.name} --fp16 {PROFILE.replace('8x4', '2x4')} --skipInference --verbose"
    )
    assert a.recorded.recording == b.recorded.recording == "cookbook-10.16.1-build-fp16"
    assert a.summary["build_time_s"] == b.summary["build_time_s"]  # the same recording...
    assert any("opt x:8x4" in d for d in a.recorded.differences)  # ...and each says its opt
    assert any("opt x:2x4" in d for d in b.recorded.differences)
    assert any("opt x:4x1x28x28" in d for d in b.recorded.differences)  # the recording's own


def test_precision_tensorrt_and_flags(model):
    run = trtexec(
        f"--onnx={model.name} --fp8 --useCudaGraph --exportTimes=t.json",
        backend="replay", display=False, image="nvcr.io/nvidia/tensorrt:23.04-py3",
    )  # fmt: skip
    text = "\n".join(run.recorded.differences)
    assert "precision: you asked fp8" in text
    assert "your image nvcr.io/nvidia/tensorrt:23.04-py3 has 8.6.1" in text
    assert "--useCudaGraph" in text and "--exportTimes: the recording has no such file" in text


def test_summary_repr_and_html_label_the_run(model):
    run = replay(f"--onnx={model.name} --fp16 --exportProfile=p.json")
    s = run.summary
    assert s["source"] == "recorded (trex-a100-fp16)" and s["recorded"].startswith("recorded:")
    assert "five.onnx" in s["differences"]
    assert "differences)" in repr(run) and "recorded=" in repr(run)
    page = run._repr_html_()
    assert "recorded, not measured" in page and "Replayed: nothing ran" in page
    assert "five.onnx (2 nodes; inputs x:batchx4)" in page
    assert "recorded" in run.recorded.describe() and "differs: model:" in run.recorded.describe()
    out = run.to_html(model.parent / "report.html").read_text(encoding="utf-8")
    assert "Replayed: nothing ran" in out  # the written report too


def test_a_measured_run_has_no_recorded_label(data_dir):
    run = load_run(data_dir / "trex/A100-fp16/resnet.onnx.engine")
    assert run.summary["source"] == "measured" and "differences" not in run.summary
    assert "Replayed" not in run._repr_html_()


def test_compare_marks_recorded_runs_and_gives_no_mixed_speedup(model, data_dir):
    measured = load_run(data_dir / "trex/A100-fp32/resnet.onnx.engine")
    fp32 = replay(f"--onnx={model.name} --exportProfile=p.json")
    fp16 = replay(f"--onnx={model.name} --fp16 --exportProfile=p.json")
    mixed = compare(measured, fp16, names=["mine", "replayed"])
    table = mixed.table
    assert table.loc["mine", "source"] == "measured"
    assert table.loc["replayed", "source"] == "recorded (trex-a100-fp16)"
    assert math.isnan(table.loc["replayed", "speedup"])
    page = mixed._repr_html_()
    assert "1 of 2 runs are recordings" in page and "No speed-up is given" in page
    both = compare(fp32, fp16, names=["a", "b"]).table  # recording vs recording: what they say
    assert both.loc["b", "speedup"] > 1


def test_engine_graph_of_a_replay_says_it_was_not_built(model):
    from trt_magic.display.engine_graph import engine_graph

    run = replay(f"--onnx={model.name} --fp16 --exportLayerInfo=l.json --exportProfile=p.json")
    view = engine_graph(run)
    assert view.recorded and "recorded, not built" in view.title
    assert "recorded=True" in repr(view)
    assert any("not built from your request" in n for n in view.notes)
    assert any(n.startswith("Differs: model:") for n in view.notes)


def test_build_panel_says_recorded_nothing_built(model):
    from trt_magic.widgets import ProfileEditor

    def runner(args, **kwargs):
        return trtexec(args, backend="replay", **kwargs)

    editor = ProfileEditor(model.name, runner=runner)
    editor.panel.build_button.click()
    editor.panel.thread.join(30)
    status = editor.panel.status.value
    assert "recorded, nothing built" in status and "differs: model:" in status
    assert "#b26b00" in status  # amber, not the green of a passed build
    assert "Replayed: nothing ran" in editor.panel.result.value


def test_live_view_says_replayed_not_passed(model, capsys):
    trtexec(f"--onnx={model.name} {PROFILE} --shapes=x:32x4", backend="replay", display=True)
    out = capsys.readouterr().out
    assert "REPLAYED, nothing ran" in out and "trtexec PASSED" not in out
    assert "differs from your request: shapes: --shapes x:32x4 is outside your profile" in out


def test_printed_sweep_marks_recorded_rows(model, capsys):
    from trt_magic import sweep

    sweep(model, precisions=["fp16"], backend="replay", outdir=model.parent / "out", display=True)
    out = capsys.readouterr().out
    assert "(recorded, not measured)" in out


def test_shipped_recordings_loaded_by_path_stay_recorded():
    from trt_magic.runners.replay import RECORDED_DIR

    run = load_run(RECORDED_DIR / "trex-a100-qat" / "resnet-qat.onnx.engine")
    assert run.recorded is not None and run.recorded.recording == "trex-a100-qat"
    assert run.summary["source"] == "recorded (trex-a100-qat)"
    assert "A recording, not a run of yours" in run._repr_html_()


def test_recorded_runs_are_named_recorded_in_tables(model):
    fp32 = replay(f"--onnx={model.name} --exportProfile=p.json")
    fp16 = replay(f"--onnx={model.name} --fp16 --exportProfile=p.json")
    assert fp16.title() == "trex-a100-fp16 (recorded)"
    assert list(compare(fp32, fp16).table.index) == [
        "trex-a100-fp32 (recorded)",
        "trex-a100-fp16 (recorded)",
    ]


def test_engine_graph_of_a_shipped_recording_path_is_labelled():
    from trt_magic.display.engine_graph import engine_graph
    from trt_magic.runners.replay import RECORDED_DIR

    view = engine_graph(RECORDED_DIR / "trex-a100-fp32" / "resnet.onnx.engine.graph.json")
    assert view.recorded and "recorded, not built" in view.title
