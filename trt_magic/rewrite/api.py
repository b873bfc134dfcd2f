"""``cast_onnx`` and ``quantize_onnx``: the model's precision as a property of the model.

TensorRT 11 builds what the ONNX's types say (no ``--fp16``/``--int8``). These rewrite the model
with NVIDIA Model Optimizer in the worker process shared with ``simplify_onnx`` (``step``), keep
its interface, preview it on the CPU against the original, and only then write it atomically.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from pathlib import Path

from ..checks import check_number, check_path
from ..config import get_settings
from ..errors import MissingDependency, SimplifyError
from . import checks
from .files import discard, publish, temp_beside
from .result import RewriteResult
from .step import Step, run_step

_OPS = "trt_magic.rewrite.modelopt_ops"
CAST_PRECISIONS = ("fp16", "bf16")
QUANTIZE_MODES = ("int8", "fp8")
HIGH_PRECISIONS = ("fp16", "bf16", "fp32")


def cast_onnx(
    path: str | os.PathLike,
    precision: str = "fp16",
    keep_fp32: list[str] | None = None,
    out: str | os.PathLike | None = None,
    *,
    samples=None,
    preview: bool = True,
    timeout: float | None = None,
) -> RewriteResult:
    """Cast an FP32 ONNX model to FP16 or BF16 with ModelOpt AutoCast (its I/O stays FP32).

    AutoCast keeps nodes whose weights or activations would overflow in FP32; the result says
    which and why (``kept_fp32``).

    Args:
        path: the FP32 ONNX file (relative paths resolve against the ``workdir`` setting).
        precision: "fp16" or "bf16".
        keep_fp32: node names to keep in FP32 as well.
        out: where to write; default ``<stem>.<precision>.onnx`` beside ``path``.
        samples: inputs for the preview ({name: array}, a tuple, or a list of those); default
            random inputs.
        preview: run the CPU preview (ONNX Runtime, rewritten vs original).
        timeout: seconds the rewrite may take before it is abandoned.

    Raises:
        UsageError-like SimplifyError: a bad precision, no file, an unwritable output, or a
            rewrite that failed or changed the interface (nothing is written then).
        MissingDependency: ModelOpt is not installed (``pip install 'trt_magic[quantize]'``).
    """
    precision = _choice(precision, CAST_PRECISIONS, "precision")
    options = {"precision": precision, "keep_fp32": list(keep_fp32) if keep_fp32 else None}
    settings = {"keep_fp32": options["keep_fp32"]}
    return _rewrite(
        "cast", precision, path, out, "autocast", options, settings, None, samples, preview,
        timeout,
    )  # fmt: skip


def quantize_onnx(
    path: str | os.PathLike,
    calibration=None,
    mode: str = "int8",
    exclude: list[str] | None = None,
    out: str | os.PathLike | None = None,
    *,
    high_precision: str = "fp16",
    profile=None,
    samples=None,
    preview: bool = True,
    timeout: float | None = None,
) -> RewriteResult:
    """Quantize an ONNX model to INT8 or FP8 with ModelOpt's ONNX PTQ (explicit Q/DQ nodes).

    Calibration runs on the CPU (``calibration_eps=["cpu"]``). One tenth of the calibration
    samples is held out for the preview when there are enough.

    Args:
        path: the FP32 ONNX file.
        calibration: a tensor, ndarray, a dict of them by input name, or an iterable of batches
            (a DataLoader); None uses random data (ModelOpt's fallback: timing only, not accuracy).
        mode: "int8" or "fp8" (FP8 quantizes GEMMs; ModelOpt leaves Conv nodes out).
        exclude: node names to leave unquantized.
        out: where to write; default ``<stem>.<mode>.onnx`` beside ``path``.
        high_precision: the type of the layers left unquantized: "fp16" (what ``--best`` did),
            "bf16" or "fp32" (what ``--int8`` alone did).
        profile: a :class:`~trt_magic.spec.ShapeProfile` the calibration shapes must fit.
        samples: inputs for the preview; default the held-out calibration samples.
        preview: run the CPU preview.
        timeout: seconds the quantization may take.

    Raises:
        SimplifyError: bad arguments or data, nothing quantized, a failed rewrite (nothing is
            written then).
        MissingDependency: ModelOpt is not installed.
    """
    mode = _choice(mode, QUANTIZE_MODES, "mode")
    high_precision = _choice(high_precision, HIGH_PRECISIONS, "high_precision")
    options = {"mode": mode, "high_precision": high_precision,
               "exclude": list(exclude) if exclude else None}  # fmt: skip
    settings = {"high_precision": high_precision, "exclude": options["exclude"]}
    return _rewrite(
        "quantize", mode, path, out, "ptq", options, settings, (calibration, profile), samples,
        preview, timeout,
    )  # fmt: skip


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise SimplifyError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return text


def _require_modelopt(feature: str) -> None:
    # find_spec, not import: importing ModelOpt takes seconds and happens in the worker
    if importlib.util.find_spec("modelopt") is None:
        raise MissingDependency("nvidia-modelopt", "quantize", feature)


def _rewrite(kind, precision, path, out, fn, options, settings, calib, samples, show, timeout):
    started, cpu_started = time.perf_counter(), time.process_time()
    name = "cast_onnx" if kind == "cast" else "quantize_onnx"
    check_path("path", path, hint=f"{name}('model.onnx', ...)")
    if out is not None:
        check_path("out", out)
    if timeout is not None:
        check_number("timeout", timeout, positive=True, hint="seconds, e.g. timeout=600")
    _require_modelopt(name)
    conf = get_settings()
    source = conf.resolve_path(path)
    if not source.is_file():
        raise SimplifyError(f"no ONNX file at {source}", hint="check the path (or the workdir)")
    target = _default_out(source, conf.resolve_path(out) if out is not None else None, precision)
    if target == source:
        raise SimplifyError("the rewrite would replace its own source", hint="pass another out")
    checks.refuse_too_large(source)
    checks.check_writable(target)
    warnings, calibration, held_out = [], None, None
    tmp = temp_beside(target)
    npz = None
    try:
        if calib is not None:
            calibration, held_out, npz, notes = _calibration_file(calib, source, target)
            warnings += notes
            options = {**options, "calibration": str(npz) if npz else None}
        library = "modelopt.onnx.autocast" if kind == "cast" else "modelopt.onnx.quantization"
        step = run_step(f"{_OPS}:{fn}", source, tmp, preload=(library,), options=options,
                        takes="paths", timeout=timeout)  # fmt: skip
        _refuse(step, source, kind, precision)
        preview_started = time.perf_counter(), time.process_time()
        rows = _preview(source, tmp, step, samples, held_out) if show else []
        preview_seconds = time.perf_counter() - preview_started[0]
        preview_cpu = time.process_time() - preview_started[1]
        publish(tmp, target, source)
    finally:
        discard(tmp)
        if npz is not None:
            npz.unlink(missing_ok=True)
    if kind == "quantize" and step.extra.get("random_calibration"):
        warnings.append("no calibration data: ModelOpt used random data, so the scales are not "
                        "the model's (fine for timing, not for accuracy)")  # fmt: skip
    return RewriteResult(
        kind, precision, source, target, settings, step.before,
        _sized(step.after, target), rows, dict(step.extra.get("kept_fp32") or {}),
        list(step.extra.get("quantized") or []), calibration, time.perf_counter() - started,
        step.method_seconds, preview_seconds, warnings,
        cpu_seconds=time.process_time() - cpu_started - preview_cpu + step.cpu_seconds,
    )  # fmt: skip


def _sized(stats, target: Path):
    from dataclasses import replace

    return replace(stats, size=target.stat().st_size)


def _default_out(source: Path, out: Path | None, precision: str) -> Path:
    stem = source.name[: -len(".onnx")] if source.name.endswith(".onnx") else source.stem
    name = f"{stem}.{precision}.onnx"
    if out is None:
        return source.with_name(name)
    return out / name if out.is_dir() else out


def _inputs(source: Path):
    """The model's inputs, read without its weights (onnx, imported here)."""
    import onnx

    from .stats import TensorSpec

    try:
        model = onnx.load(str(source), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: not a model
        raise SimplifyError(
            f"{source.name} is not a readable ONNX model ({type(exc).__name__}: {exc})"[:300],
            hint="export it again; nothing was written",
        ) from None
    weights = {t.name for t in model.graph.initializer}
    specs = []
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        dtype = str(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                     for d in tensor.shape.dim)  # fmt: skip
        specs.append(TensorSpec(value.name, dtype, dims))
    return specs


def _calibration_file(calib, source: Path, target: Path):
    """Calibration arrays -> a temp .npz beside the target for the worker; held-out part."""
    data, profile = calib
    if data is None:
        return None, None, None, []
    inputs = _inputs(source)
    import numpy as np

    from .calibration import read_calibration

    cal = read_calibration(data, inputs, profile)
    _check_static_batch(cal, inputs)
    used, held_out = cal.split()
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".npz", dir=target.parent)
    os.close(fd)
    npz = Path(name)
    np.savez(npz, **used)
    return cal.samples, held_out, npz, cal.notes


def _check_static_batch(cal, inputs) -> None:
    for spec in inputs:
        batch = spec.shape[0] if spec.shape else None
        if isinstance(batch, int) and batch > 1 and cal.samples % batch:
            raise SimplifyError(
                f"{cal.samples} calibration samples do not split into batches of {batch} "
                f"({spec.name!r} has a static batch of {batch})",
                hint=f"give a multiple of {batch} samples",
            )


def _refuse(step: Step, source: Path, kind: str, precision: str) -> None:
    if step.outcome != "ok":
        raise SimplifyError(
            f"{'AutoCast' if kind == 'cast' else 'ModelOpt PTQ'} of {source.name} to "
            f"{precision} failed ({step.outcome}): {step.message}",
            hint="the original is unchanged; nothing was written",
            detail=step.detail or None,
        )
    if kind == "quantize" and not step.extra.get("quantized"):
        ops = ", ".join(sorted(step.before.ops))
        raise SimplifyError(
            f"ModelOpt quantized no node of {source.name} to {precision} (ops: {ops})",
            hint="FP8 quantizes GEMMs (MatMul/Gemm), not Conv nodes: try mode='int8'"
            if precision == "fp8"
            else "the model has no operator ModelOpt quantizes; nothing was written",
        )


def _preview(source: Path, tmp: Path, step: Step, samples, held_out):
    from .preview import preview

    inputs = step.before.inputs
    if samples is not None:
        feeds = checks.normalize_samples(samples, inputs)
        feeds = {f"given {k}": v for k, v in feeds.items()}
    elif held_out:
        n = len(next(iter(held_out.values())))
        feeds = {f"held-out calibration (n={n})": held_out}
    else:
        feeds = {f"random ({k})": v for k, v in checks.make_samples(inputs).items()}
    return preview(source, tmp, feeds)
