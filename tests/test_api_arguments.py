"""Arguments of the public API are checked where they enter: a wrong type or value is one short
TrtMagicError naming the argument, never a raw traceback from deep inside (issue 14)."""

from __future__ import annotations

import pytest

import trt_magic
from trt_magic.errors import ConfigError, ResultError, TrtMagicError, UsageError

BAD_CALLS = {
    "load_run(5)": (lambda: trt_magic.load_run(5), "prefix"),
    "load_run('')": (lambda: trt_magic.load_run(""), "prefix"),
    "load_run('/')": (lambda: trt_magic.load_run("/"), "'/'"),
    "load_run(log=3.5)": (lambda: trt_magic.load_run(log=3.5), "log"),
    "load_run(profile=b'x')": (lambda: trt_magic.load_run(profile=b"x.json"), "profile"),
    "compare(a, b, names=5)": (lambda: trt_magic.compare(_run(), _run(), names=5), "names"),
    "compare(a, b, names='ab')": (lambda: trt_magic.compare(_run(), _run(), names="ab"), "names"),
    "ReplayRunner(5)": (lambda: trt_magic.ReplayRunner(5), "recording"),
    "ReplayRunner('nope')": (lambda: trt_magic.ReplayRunner("trex-a100-fp61"), "recording"),
    "check_accuracy(5)": (lambda: trt_magic.check_accuracy(5), "check_accuracy"),
    "check_accuracy('')": (lambda: trt_magic.check_accuracy(""), "run_or_engine"),
    "sweep(5)": (lambda: trt_magic.sweep(5, backend="replay", display=False), "onnx"),
    "simplify_onnx(None)": (lambda: trt_magic.simplify_onnx(None), "path"),
    "simplify_onnx(out=5)": (lambda: trt_magic.simplify_onnx("m.onnx", out=5), "out"),
    "simplify_onnx(timeout=nan)": (
        lambda: trt_magic.simplify_onnx("m.onnx", timeout=float("nan")),
        "timeout",
    ),
    "simplify_onnx(rtol=-1)": (lambda: trt_magic.simplify_onnx("m.onnx", rtol=-1.0), "rtol"),
    "cast_onnx(5)": (lambda: trt_magic.cast_onnx(5), "path"),
    "cast_onnx(timeout=0)": (lambda: trt_magic.cast_onnx("m.onnx", timeout=0), "timeout"),
    "quantize_onnx(None)": (lambda: trt_magic.quantize_onnx(None), "path"),
    "quantize_onnx(out=[])": (lambda: trt_magic.quantize_onnx("m.onnx", out=[]), "out"),
    "ProfileEditor(5)": (lambda: trt_magic.ProfileEditor(5), "ProfileEditor"),
    "engine_graph(5)": (lambda: trt_magic.engine_graph(5), "engine_graph"),
    "Settings(image=5)": (lambda: trt_magic.Settings(image=5), "image"),
    "Settings(opset='17')": (lambda: trt_magic.Settings(opset="17"), "opset"),
    "Settings(log_lines=True)": (lambda: trt_magic.Settings(log_lines=True), "log_lines"),
    "Settings(gpus=[0])": (lambda: trt_magic.Settings(gpus=[0]), "gpus"),
    "Settings(gpus=-1)": (lambda: trt_magic.Settings(gpus=-1), "gpus"),
}


def _run():
    from data.registry import DATA

    return trt_magic.load_run(DATA / "trex/A100-fp16/resnet.onnx.engine")


@pytest.mark.parametrize("call", sorted(BAD_CALLS))
def test_bad_arguments_are_short_errors_naming_the_argument(call):
    fn, name = BAD_CALLS[call]
    with pytest.raises(TrtMagicError) as info:
        fn()
    message = info.value.message
    assert name in message, message
    assert len(message.splitlines()) == 1 and len(message) < 200
    assert isinstance(info.value, UsageError | ConfigError | ResultError)


def test_settings_take_a_gpu_number_as_the_gpus_option_does():
    assert trt_magic.Settings(gpus=2).gpus == "2"


def test_an_unreadable_log_is_a_result_error(tmp_path):
    from trt_magic.results.log import parse_log_file, tail_lines
    from trt_magic.results.run import Run

    folder = tmp_path / "model.log"
    folder.mkdir()
    for read in (lambda: parse_log_file(folder), lambda: tail_lines(folder, 5)):
        with pytest.raises(ResultError, match="cannot read the log"):
            read()
    run = Run(files={"log": folder})
    with pytest.raises(ResultError, match="cannot read the log"):
        run.read_log()
    assert "cannot read the log" in run._repr_html_()  # the view says so, the rest still shows
