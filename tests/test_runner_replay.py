"""The replay backend: recorded REAL runs, picked by the flags, marked as recorded."""

from __future__ import annotations

import json

import pytest

from trt_magic.runners import trtexec
from trt_magic.runners.replay import RECORDED_DIR, pick_recording, recordings


def test_manifest_files_exist_and_are_the_real_ones(data_dir):
    for rec in recordings():
        assert rec.gpu and rec.tensorrt and rec.source
        for kind, path in rec.paths().items():
            assert path.is_file(), path
            folder = path.parent.name
            if folder.startswith("trex-a100-"):  # trex-a100-fp16 <- tests/data/trex/A100-fp16
                twin = data_dir / "trex" / ("A100-" + folder.split("-")[-1]) / path.name
            else:
                twin = data_dir / "trtexec" / path.name
            assert path.read_bytes() == twin.read_bytes(), (kind, path)
    assert (RECORDED_DIR / "SOURCES.md").is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--onnx=m.onnx", "--fp16", "--exportProfile=p.json"], "trex-a100-fp16"),
        (["--onnx=m.onnx", "--best", "--exportLayerInfo=l.json"], "trex-a100-qat"),
        (["--onnx=m.onnx", "--int8"], "trex-a100-qat"),
        (["--onnx=m.onnx", "--exportProfile=p.json"], "trex-a100-fp32"),
        (["--onnx=m.onnx"], "cookbook-10.16.1-default"),
        (
            ["--onnx=m.onnx", "--fp16", "--skipInference", "--verbose"],
            "cookbook-10.16.1-build-fp16",
        ),
        (["--onnx=m.onnx", "--plugins=x.so"], "cookbook-10.16.0-failed-plugin"),
        (["--loadEngine=e.plan", "--dumpProfile"], "cookbook-10.16.1-profile"),
    ],
)
def test_pick_by_flags(args, expected):
    assert pick_recording(args).id == expected


def test_replayed_run_is_marked_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = []
    run = trtexec(
        "--onnx=m.onnx --fp16 --saveEngine=e.plan --exportProfile=p.json",
        backend="replay",
        display=False,
        on_line=lines.append,
    )
    assert run.backend == "replay" and run.status == "passed" and run.exit_code == 0
    assert run.recorded.gpu == "NVIDIA A100 80GB PCIe"
    assert "recorded:" in run.recorded.label()
    assert run.files["profile"].name == "resnet.onnx.engine.profile.json"
    assert "count" in json.loads(run.files["profile"].read_text())[0]  # a real --exportProfile
    assert "engine" not in run.files and any("no engine" in n for n in run.notes)
    assert any("replayed, nothing ran" in n for n in run.notes)
    assert list(tmp_path.iterdir()) == []  # nothing written into the user's folder
    assert lines == []  # the TREx recordings have no console log


def test_replayed_failure_streams_the_real_log():
    lines = []
    run = trtexec(
        ["--onnx=m.onnx", "--plugins=x.so"], backend="replay", display=False, on_line=lines.append
    )
    assert run.status == "failed" and run.exit_code == 1
    assert run.recorded.tensorrt == "10.16.0"
    assert lines[-1].startswith("&&&& FAILED TensorRT.trtexec")
    assert len(lines) == len(run.read_log().splitlines())
