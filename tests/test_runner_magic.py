"""``%trtexec``: its own options parsed, everything else to trtexec verbatim."""

from __future__ import annotations

import pytest

from trt_magic.results.run import Run


def test_magic_replay_with_name_and_expansion(ipython_shell, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ipython_shell.user_ns["prec"] = "--fp16"
    run = ipython_shell.run_line_magic(
        "trtexec", "--backend replay --name r --onnx=m.onnx {prec} --exportProfile=p.json"
    )
    assert isinstance(run, Run) and run.backend == "replay"
    assert run.recorded.gpu == "NVIDIA A100 80GB PCIe"  # --fp16 reached trtexec: FP16 recording
    assert run.command == ["--onnx=m.onnx", "--fp16", "--exportProfile=p.json"]
    assert ipython_shell.user_ns["r"] is run


def test_magic_options_are_not_abbreviations(ipython_shell):
    # trtexec's --name-like flags must not be eaten by argparse prefix matching
    run = ipython_shell.run_line_magic("trtexec", "--backend=replay --onnx=m.onnx --noTF32")
    assert run.command == ["--onnx=m.onnx", "--noTF32"]


def test_magic_bad_option_is_a_usage_error(ipython_shell):
    from trt_magic.errors import UsageError

    with pytest.raises(UsageError):
        ipython_shell.run_line_magic("trtexec", "--backend replay --onnx='unclosed")


def test_magic_help_lists_its_options(ipython_shell):
    doc = ipython_shell.find_line_magic("trtexec").__doc__
    for opt in (
        "--image",
        "--gpus",
        "--backend",
        "--timeout",
        "--no-cache",
        "--name",
        "--check-accuracy",
    ):
        assert opt in doc


def test_magic_check_accuracy_calls_the_accuracy_api(ipython_shell, monkeypatch):
    import trt_magic.accuracy as accuracy

    calls = []
    monkeypatch.setattr(
        accuracy, "check_accuracy", lambda run, onnx, **kw: calls.append((run, onnx, kw))
    )
    run = ipython_shell.run_line_magic(
        "trtexec", "--backend replay --check-accuracy --rtol 0.01 --atol=0.02 --onnx=m.onnx --fp16"
    )
    assert calls == [(run, "m.onnx", {"rtol": 0.01, "atol": 0.02})]
    assert run.command == ["--onnx=m.onnx", "--fp16"]
