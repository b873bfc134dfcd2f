"""One precision request, right for every version: real builds in the Docker test images.

The TensorRT 11 test image states ``TRT_VERSION=11.1.0`` and its trtexec refuses every flag 11.0
removed; the 8.6 one states ``TRT_VERSION=8.6.1`` (tests/docker_image.py). Both fake trtexecs copy
the ONNX they read into ``--saveEngine``, so the "engine" shows which model was built.
"""

from __future__ import annotations

import os
import socket

import modelopt  # noqa: F401  (the quantize extra: a test dependency, imported plainly)
import pytest
import rewrite_models as models

from trt_magic import config, sweep, trtexec
from trt_magic.spec import Precision

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch, docker_client):
    monkeypatch.chdir(tmp_path)
    s = config.Settings(cache_dir=str(tmp_path / "cache"), workdir=str(tmp_path), gpus="none")
    config.use_settings(s)
    yield s
    config.use_settings(None)
    mine = f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"
    left = docker_client.containers.list(all=True, filters={"label": mine}, ignore_removed=True)
    assert left == [], f"containers left behind: {[c.name for c in left]}"


def test_pasted_fp16_on_11x_builds_an_fp16_typed_model(tmp_path, trtexec_image_11):
    src = models.mlp(tmp_path / "mlp.onnx")
    lines = []
    run = trtexec("trtexec --onnx=mlp.onnx --fp16 --saveEngine=mlp.plan", image=trtexec_image_11,
                  gpus="none", display=False, on_line=lines.append)  # fmt: skip
    assert run.status == "passed", run.notes + lines[-5:]
    assert run.tensorrt.version == "11.1.0" and "TRT_VERSION" in run.tensorrt.source
    typed = tmp_path / "mlp.fp16.onnx"  # beside the original, named after the precision
    assert run.rewrite.path == typed and run.rewrite.precision == "fp16"
    assert (tmp_path / "mlp.plan").read_bytes() == typed.read_bytes()  # what trtexec built
    assert "FLOAT16" in models.dtypes(tmp_path / "mlp.plan")
    assert "--fp16" not in run.command and f"--onnx={typed}" in run.command
    assert any("model rewritten for TensorRT 11.1.0" in n and "cast_onnx(" in n for n in run.notes)
    assert src.is_file() and "FLOAT16" not in models.dtypes(src)


def test_the_11x_image_refuses_a_removed_flag_that_gets_through(tmp_path, trtexec_image_11):
    # the test image is strict: a removed flag fails the run (what makes the tests above mean it)
    import docker

    client = docker.from_env()
    with pytest.raises(docker.errors.ContainerError, match="Unknown option: --fp16"):
        client.containers.run(trtexec_image_11, ["trtexec", "--fp16"], remove=True,
                              network_mode="none", stderr=True)  # fmt: skip
    client.close()


def test_pasted_int8_on_11x_quantizes_and_says_calibration_was_random(tmp_path, trtexec_image_11):
    models.cnn(tmp_path / "cnn.onnx")
    run = trtexec("--onnx=cnn.onnx --int8 --saveEngine=cnn.plan", image=trtexec_image_11,
                  gpus="none", display=False)  # fmt: skip
    assert run.status == "passed", run.notes
    assert run.rewrite.path == tmp_path / "cnn.int8.onnx"
    assert run.rewrite.settings["high_precision"] == "fp32"  # --int8 alone: the rest in FP32
    engine_ops = {n.op_type for n in __import__("onnx").load(tmp_path / "cnn.plan").graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= engine_ops
    assert any("random data" in n for n in run.notes)


def test_86_image_still_gets_fp16(tmp_path, trtexec_image_86):
    src = models.mlp(tmp_path / "mlp.onnx")
    run = trtexec("--onnx=mlp.onnx --fp16 --saveEngine=mlp.plan", image=trtexec_image_86,
                  gpus="none", display=False)  # fmt: skip
    assert run.status == "passed" and run.tensorrt.version == "8.6.1"
    assert "--fp16" in run.command and run.rewrite is None
    assert (tmp_path / "mlp.plan").read_bytes() == src.read_bytes()
    assert not (tmp_path / "mlp.fp16.onnx").exists()


def test_editor_fp16_toggle_on_11x_builds_the_typed_model(tmp_path, trtexec_image_11):
    from trt_magic import ProfileEditor

    models.mlp(tmp_path / "mlp.onnx")
    editor = ProfileEditor("mlp.onnx", image=trtexec_image_11, gpus="none")
    editor.options.precision[Precision.FP16].value = True
    editor.panel.build_button.click()
    editor.panel.thread.join(300)
    (run,) = editor.panel.runs
    assert run.status == "passed", editor.panel.status.value
    assert run.rewrite.path == tmp_path / "mlp.fp16.onnx"
    assert "FLOAT16" in models.dtypes(tmp_path / "mlp_FP16_NONE.plan")


def test_sweep_precisions_on_11x(tmp_path, trtexec_image_11):
    models.mlp(tmp_path / "mlp.onnx")
    result = sweep("mlp.onnx", precisions=["fp32", "fp16"], images=[trtexec_image_11],
                   backend="docker", display=False, outdir=tmp_path / "out")  # fmt: skip
    runs = {row.variant.precision: row.run for row in result.rows}
    assert runs["fp32"].status == "passed" and runs["fp32"].rewrite is None
    assert runs["fp16"].status == "passed", runs["fp16"].notes
    assert runs["fp16"].rewrite.path == tmp_path / "mlp.fp16.onnx"
    assert "FLOAT16" in models.dtypes(runs["fp16"].files["engine"])
    assert "FLOAT16" not in models.dtypes(runs["fp32"].files["engine"])


def test_replay_of_an_11x_image_says_it_has_no_11x_recording(tmp_path, trtexec_image_11):
    models.mlp(tmp_path / "mlp.onnx")
    real = trtexec("--onnx=mlp.onnx --saveEngine=mlp.plan", image=trtexec_image_11,
                   gpus="none", display=False)  # fmt: skip
    assert real.status == "passed"
    replayed = trtexec("--onnx=mlp.onnx --fp16 --exportProfile=p.json", image=trtexec_image_11,
                       backend="replay", display=False)  # fmt: skip
    assert replayed.recorded is not None
    assert any("no real TensorRT 11.1.0 recording" in n for n in replayed.notes)
