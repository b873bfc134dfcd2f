"""cast_onnx / quantize_onnx on the CPU (ModelOpt in the shared worker), calibration data, the
preview, and the build-side reuse record."""

from __future__ import annotations

import hashlib
from pathlib import Path

import modelopt  # noqa: F401  (the quantize extra: a test dependency, imported plainly)
import numpy as np
import pytest
import rewrite_models as models
import torch

from trt_magic import cast_onnx, quantize_onnx
from trt_magic.errors import SimplifyError
from trt_magic.rewrite.calibration import FEW_SAMPLES, read_calibration
from trt_magic.rewrite.stats import TensorSpec


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ----- cast_onnx --------------------------------------------------------------------------------


def test_cast_fp16_keeps_overflowing_nodes_and_the_interface(tmp_path):
    src = models.mlp(tmp_path / "mlp.onnx")
    before = _sha(src)
    result = cast_onnx(src, keep_fp32=["relu"])
    assert result.path == tmp_path / "mlp.fp16.onnx" and result.path.is_file()
    assert _sha(src) == before  # the original is never touched
    assert "FLOAT16" in models.dtypes(result.path)  # an FP16-typed model
    # the interface is kept: FP32 in, FP32 out
    assert result.after.inputs == result.before.inputs
    assert result.after.outputs == result.before.outputs
    # AutoCast kept fc2 (its 1e6 weight overflows FP16) and relu (asked), and says why
    assert "out of range" in result.kept_fp32["fc2"]
    assert result.kept_fp32["relu"] == "asked (keep_fp32)"
    assert "fc1" not in result.kept_fp32
    assert ("Cast", 0, result.after.ops["Cast"]) in result.op_changes()
    # the preview: random inputs, per-output error and top-class agreement on the logits
    assert result.preview and all(r.output == "logits" for r in result.preview)
    assert all(r.top1_agreement == 1.0 and 0 < r.max_rel < 0.1 for r in result.preview)
    assert result.settings == {"keep_fp32": ["relu"]}
    assert "cast_onnx(" in result.call() and repr(result).startswith("RewriteResult(cast fp16")
    assert result.seconds >= result.rewrite_seconds > 0


def test_cast_bf16_preview_says_when_onnxruntime_cannot_run_it(tmp_path):
    src = models.mlp(tmp_path / "m.onnx", overflow=False)
    result = cast_onnx(src, "bf16", out=tmp_path / "out.onnx")
    assert result.path == tmp_path / "out.onnx" and "BFLOAT16" in models.dtypes(result.path)
    # onnxruntime's CPU provider has no BF16 MatMul: the preview says so instead of a number
    assert all("not runnable" in r.note for r in result.preview)


def test_cast_failures_write_nothing(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(SimplifyError):
        cast_onnx(bad)
    assert _listing(tmp_path) == {"broken.onnx"}
    with pytest.raises(SimplifyError, match="precision 'int8' is not one of fp16, bf16"):
        cast_onnx(models.mlp(tmp_path / "m.onnx"), "int8")
    with pytest.raises(SimplifyError, match="no ONNX file"):
        cast_onnx(tmp_path / "nope.onnx")
    assert _listing(tmp_path) == {"broken.onnx", "m.onnx"}


# ----- quantize_onnx ----------------------------------------------------------------------------


def test_quantize_int8_from_a_dataloader(tmp_path):
    from torch.utils.data import DataLoader, TensorDataset

    src = models.cnn(tmp_path / "cnn.onnx")
    images = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    labels = torch.zeros(64, dtype=torch.long)
    loader = DataLoader(TensorDataset(images, labels), batch_size=16)  # (images, labels) batches
    result = quantize_onnx(src, loader)
    assert result.path == tmp_path / "cnn.int8.onnx" and result.calibration_samples == 64
    ops = result.after.ops
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > 0
    assert {"conv1", "conv2"} <= set(result.quantized)
    assert result.after.inputs == result.before.inputs  # FP32 interface kept
    # preview on the held-out tenth of the calibration data (6 of 64 samples)
    (row,) = result.preview
    assert row.samples == "held-out calibration (n=6)" and row.top1_agreement is not None
    assert row.max_abs < 0.5 and row.top1_agreement >= 0.5
    assert not any("random" in w for w in result.warnings)


def test_quantize_fp8_on_real_gemms(tmp_path):
    src = models.gemm(tmp_path / "gemm.onnx")
    batches = [np.random.default_rng(i).standard_normal((8, 16, 256)).astype(np.float32)
               for i in range(5)]  # fmt: skip
    result = quantize_onnx(src, batches, mode="fp8", high_precision="fp32")
    assert set(result.quantized) == {"fc0", "fc1", "fc2"}
    assert "FLOAT8E4M3FN" in models.dtypes(result.path)
    assert result.after.ops["QuantizeLinear"] == 6  # the activation and weight of each GEMM
    assert result.calibration_samples == 40 and result.settings["high_precision"] == "fp32"
    assert not any("calibration sample" in w for w in result.warnings)  # 40 >= FEW_SAMPLES


def test_fp8_on_a_conv_net_quantizes_nothing_and_writes_nothing(tmp_path):
    src = models.cnn(tmp_path / "cnn.onnx")
    data = np.random.default_rng(0).standard_normal((32, 3, 32, 32)).astype(np.float32)
    with pytest.raises(SimplifyError, match="quantized no node") as err:
        quantize_onnx(src, data, mode="fp8")
    assert "mode='int8'" in err.value.hint
    assert _listing(tmp_path) == {"cnn.onnx"}  # no result, no temp file, no calibration file


def test_quantize_without_data_warns_random_calibration(tmp_path):
    result = quantize_onnx(models.cnn(tmp_path / "cnn.onnx"), None, preview=False)
    assert any("random data" in w for w in result.warnings) and result.preview == []


# ----- calibration data -------------------------------------------------------------------------

INPUTS = [TensorSpec("image", "float32", ("batch", 3, 8, 8))]


def test_calibration_shapes_names_and_guidance():
    x = np.zeros((4, 3, 8, 8), np.float64)
    cal = read_calibration(x, INPUTS)
    assert cal.arrays["image"].dtype == np.float32 and cal.samples == 4
    assert f"at least {FEW_SAMPLES}" in cal.notes[0]
    assert read_calibration({"image": x}, INPUTS).samples == 4
    assert read_calibration([x, x, x], INPUTS).samples == 12
    with pytest.raises(SimplifyError, match="not inputs") as err:
        read_calibration({"imgae": x}, INPUTS)
    assert "did you mean 'image'" in err.value.hint
    with pytest.raises(SimplifyError, match="dim 2 is 9, the model's is 8"):
        read_calibration(np.zeros((4, 3, 9, 8), np.float32), INPUTS)
    with pytest.raises(SimplifyError, match="has shape"):
        read_calibration(np.zeros((3, 8, 8), np.float32), INPUTS)


def test_calibration_checked_against_the_profile():
    from trt_magic.spec import ShapeProfile, ShapeRange

    dims = {"image": ("batch", 3, "h", "w")}
    profile = ShapeProfile(
        dims, {"image": ShapeRange((1, 3, 8, 8), (1, 3, 16, 16), (4, 3, 16, 16))}
    )
    specs = [TensorSpec("image", "float32", dims["image"])]
    assert read_calibration(np.zeros((2, 3, 16, 16), np.float32), specs, profile).samples == 2
    with pytest.raises(SimplifyError, match="outside the build profile's 8..16"):
        read_calibration(np.zeros((2, 3, 32, 32), np.float32), specs, profile)


# ----- the build-side rewrite is made once ----------------------------------------------------


def test_build_rewrite_is_reused_until_the_source_changes(tmp_path):
    from trt_magic.commandline.precision import plan_precision
    from trt_magic.rewrite.for_build import apply_rewrite, record_path

    src = models.mlp(tmp_path / "m.onnx")
    plan = plan_precision([f"--onnx={src}", "--fp16"], "11.1.0")
    first = apply_rewrite(plan.rewrite)
    assert not first.reused and record_path(first.path).is_file()
    again = apply_rewrite(plan.rewrite)
    assert again.reused and again.path == first.path and again.kept_fp32 == first.kept_fp32
    assert again.before == first.before and "reused" in again.summary()
    models.mlp(src, overflow=False)  # a new export of the model: rewrite again
    assert not apply_rewrite(plan.rewrite).reused


def test_without_modelopt_the_extra_is_named(tmp_path, monkeypatch):
    import importlib.util

    from trt_magic.errors import MissingDependency

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "modelopt" else real(name, *a)
    )
    with pytest.raises(MissingDependency) as err:
        cast_onnx(models.mlp(tmp_path / "m.onnx"))
    assert "trt_magic[quantize]" in err.value.hint
    assert _listing(tmp_path) == {"m.onnx"}


def test_magics_call_the_same_functions(ipython_shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    models.mlp(tmp_path / "m.onnx")
    cast = ipython_shell.run_line_magic("onnx_cast", "m.onnx --keep-fp32 relu")
    assert cast.path == tmp_path / "m.fp16.onnx" and cast.kept_fp32["relu"] == "asked (keep_fp32)"
    models.cnn(tmp_path / "c.onnx")
    ipython_shell.user_ns["calib"] = np.zeros((40, 3, 32, 32), np.float32) + 0.5
    quant = ipython_shell.run_line_magic("onnx_quantize", "c.onnx calib --high-precision fp32")
    assert quant.path == tmp_path / "c.int8.onnx" and quant.calibration_samples == 40
    assert quant.settings["high_precision"] == "fp32"


def test_the_worker_keeps_freed_heap_for_the_next_rewrite(monkeypatch):
    from trt_magic.rewrite import isolation

    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert isolation.worker_env()["GLIBC_TUNABLES"] == isolation.MALLOC_TUNABLES
    # a setting the user gave comes last, so glibc takes theirs
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    expected = isolation.MALLOC_TUNABLES + ":glibc.malloc.trim_threshold=0"
    assert isolation.worker_env()["GLIBC_TUNABLES"] == expected
    worker = isolation.Worker()
    try:
        environ = Path(f"/proc/{worker.process.pid}/environ").read_bytes().split(b"\0")
        # (glibc's loader cuts the variable at its first ':' in the process's own copy)
        first = "GLIBC_TUNABLES=" + isolation.MALLOC_TUNABLES.split(":")[0]
        assert [e for e in environ if e.startswith(b"GLIBC_TUNABLES=")] == [first.encode()]
    finally:
        worker.close()
