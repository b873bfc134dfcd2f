"""Before a build: which TensorRT the backend has, and the precision request made right for it.

The version comes from the image's environment, else the banner of an earlier run of the same
image id (learned after every run), else the NGC tag table. On TensorRT 11 the precision flags
become a rewritten model (``commandline.precision``, ``rewrite.for_build``); the run records it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..commandline.precision import plan_precision
from ..results.run import Run
from ..tensorrt import ImageTensorRT, image_tensorrt, remember_banner, remember_version


def target_tensorrt(runner, backend: str, image: str, identity: str, cache_dir) -> ImageTensorRT:
    """The TensorRT the run will use (docker: the image's; local: what its banner said)."""
    env = runner.image_env(image) if backend == "docker" else None
    shown = image if backend == "docker" else ""
    return image_tensorrt(shown, image_id=identity, env=env, cache_dir=str(cache_dir))


def translate(
    argv: list[str], trt: ImageTensorRT, resolve: Callable[[str], Path], note: Callable
) -> tuple[list[str], object | None, list[str]]:
    """(the flags to run, the RewriteResult or None, notes for the run): removed flags never
    reach trtexec 11. ``note`` shows progress live while the model is rewritten."""
    plan = plan_precision(argv, trt.version, resolve)
    notes = list(plan.notes)
    if plan.requested != "fp32" and trt.version is None:
        notes.insert(0, f"TensorRT version unknown ({trt.source}): precision flags passed as "
                     "they are; the next run of this image knows it from trtexec's banner")  # fmt: skip
    if plan.rewrite is None:
        return plan.args, None, notes
    from ..rewrite.for_build import apply_rewrite

    result = apply_rewrite(plan.rewrite, note)
    return plan.args, result, notes + result.warnings


def record(run: Run, trt: ImageTensorRT, rewrite, identity: str, cache_dir) -> Run:
    """Put the version and the rewrite on the run; learn the banner for next time (and the
    image's version under its name, so a replay of the same image knows it)."""
    run.tensorrt = trt
    if run.image and trt.version and trt.source.startswith("image environment"):
        remember_version(run.image, trt.version, str(cache_dir))
    if rewrite is not None:
        run.rewrite = rewrite
        line = f"model rewritten for TensorRT {trt.version}: {rewrite.summary()}"
        if line not in run.notes:
            run.notes.append(line)
    log = run.files.get("log")
    if log is not None and not run.cached:
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                head = f.read(4096)
            remember_banner(identity, head, str(cache_dir))
            if run.image and not trt.source.startswith("image environment"):
                remember_banner(run.image, head, str(cache_dir))
        except OSError:
            pass
    return run
