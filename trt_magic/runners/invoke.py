"""``trtexec(args, ...) -> Run``: check the arguments, pick the backend, answer from the engine
cache or run, and keep only what the run produced. ``choose_backend()`` says which backend can run."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..checks import check_choice, check_image, check_number, check_type
from ..commandline.command import PathPlan, flag_value, plan_paths, split_args
from ..commandline.flags import check_flags
from ..config import BACKENDS, get_settings
from ..display.live import LiveLog
from ..errors import RunnerError, UsageError
from ..results.run import Run
from .base import Job, LogSink, Runner, shielded
from .files import disk_error
from .staging import Stage


def trtexec(
    args: str | Sequence[str],
    *,
    image: str | None = None,
    gpus: str | int | None = None,
    backend: str | None = None,
    timeout: float | None = None,
    cache: bool = True,
    transfer: str | None = None,
    docker_host: str | None = None,
    display: bool = True,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    runner: Runner | None = None,
) -> Run:
    """Run trtexec with ``args`` (flags exactly as trtexec takes them, host paths).

    Args:
        args: a pasted command line (``"--onnx=m.onnx --fp16"``) or an argv list.
        image: TensorRT container image (default ``Settings.image``).
        gpus: "all", "none", "2" (device=2) or "0,1" (default ``Settings.gpus``); 0: none.
        backend: "auto", "docker", "local" or "replay" (default ``Settings.backend``, "auto":
            docker when the Docker host can give a GPU or ``gpus="none"``, else a local trtexec,
            else a GpuRuntimeError saying what is missing, before any pull).
        timeout: seconds before trtexec is stopped (the run's status is then "timeout").
        cache: answer a rebuild of the same inputs, flags, image and GPU from the engine cache.
        transfer: docker: "bind" mounts, "copy" through the archive API; None picks by host.
        docker_host: a Docker URL (``tcp://``, ``ssh://``); None uses DOCKER_HOST / the socket.
        display: stream the log live (notebook display or print), capped.
        on_line: called with every log line.
        cancel: a ``threading.Event``; setting it stops the run ("interrupted").
        runner: a backend object instead of ``backend`` (``run(job)``, ``host``, ``image_id()``),
            e.g. a sweep executor's cluster runner; trtexec then sees host paths.

    Returns:
        the :class:`~trt_magic.results.run.Run` (status "passed", "failed", "timeout",
        "interrupted"; ``cached`` / ``recorded`` say how it was answered).

    Raises:
        UsageError: bad arguments; RunnerError (ImageError, GpuRuntimeError): the backend could
        not run; KeyboardInterrupt after the container/process was stopped and removed.
    """
    settings = get_settings()
    _check_args(args, image, timeout, cache, transfer, docker_host, display, on_line, cancel)
    argv = split_args(args)
    backend = runner.name if runner is not None else backend
    if runner is None:
        backend = check_choice("backend", backend or settings.backend, BACKENDS, "--backend docker")
    image = check_image("image", image) if image is not None else settings.image
    gpus = _normalize_gpus(gpus if gpus is not None else settings.gpus)
    if backend == "auto":
        from .choice import resolve_backend

        backend, _ = resolve_backend(gpus, docker_host)
    title = f"trtexec ({backend}) " + " ".join(argv)
    live = LiveLog(title, max_lines=settings.log_lines, mode=None if display else "off")
    if backend == "replay":
        from .replay import ReplayRunner

        plan = plan_paths(argv, settings.resolve_path, root=None, temp_engines=False)
        job = Job(argv, plan, LogSink(None, live, on_line), image=image, gpus=gpus)
        from ..tensorrt import image_tensorrt

        known = image_tensorrt(image, cache_dir=settings.cache_dir).version
        return ReplayRunner(tensorrt=known).run(job)
    cache_dir = Path(settings.cache_dir)
    _check_inputs(plan_paths(argv, settings.resolve_path, root=None, temp_engines=False))
    Stage(argv, settings.resolve_path, cache_dir).check()  # unsafe paths: before any pull
    if runner is not None:  # a sweep executor's runner: host paths, its own staging
        return _run_external(runner, argv, settings, gpus, live, on_line, timeout, cancel, cache)
    runner = _runner(backend, docker_host)
    if backend == "docker" and getattr(runner, "client", None) is not None:
        from .choice import require_gpu

        require_gpu(runner.client, gpus, image)  # before any pull: a GPU-less host says so
    identity = runner.image_id(image, live.note) if backend == "docker" else runner.image_id()
    from .precision import record, target_tensorrt, translate

    trt = target_tensorrt(runner, backend, image, identity, settings.cache_dir)
    argv, rewrite, notes = translate(argv, trt, settings.resolve_path, live.note)  # 11.x: typed
    run_args = _with_timing_cache(argv, settings, identity, gpus, runner.host)
    stage = Stage(run_args, settings.resolve_path, cache_dir, container=backend == "docker")
    stage.check()
    notes += check_flags(argv, trt.version)
    for n in [*notes, *stage.notes]:
        live.note(n)
    job = Job(
        argv,
        stage.plan,
        LogSink(stage.log, live, on_line),
        image=image if backend == "docker" else None,
        gpus=gpus,
        timeout=timeout,
        cancel=cancel,
        transfer=transfer,
        docker_host=docker_host,
        workdir=settings.resolve_path("."),
        notes=notes + stage.notes,
        stage=stage,
    )
    run = _run_cached(runner, job, cache, identity, cache_dir)
    return record(run, trt, rewrite, identity, cache_dir)


def _check_args(args, image, timeout, cache, transfer, docker_host, display, on_line, cancel):
    """Types and values of trtexec()'s arguments, checked where they enter."""
    if not isinstance(args, str):
        check_type("args", args, (list, tuple), "a command line string or a list of flags")
        for a in args:
            check_type("each flag in args", a, (str, os.PathLike), "e.g. ['--onnx=m.onnx']")
    if timeout is not None:
        check_number(
            "timeout", timeout, positive=True, hint="seconds, e.g. timeout=600; None: no limit"
        )
    for name, value in (("cache", cache), ("display", display)):
        check_type(name, value, bool)
    for name, value in (("image", image), ("transfer", transfer), ("docker_host", docker_host)):
        if value is not None:
            check_type(name, value, str)
    if transfer is not None:
        check_choice("transfer", transfer, ("auto", "bind", "copy"), "transfer='copy'")
    if on_line is not None and not callable(on_line):
        raise UsageError(
            f"on_line must be callable, not {type(on_line).__name__}.", hint="on_line=print"
        )
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise UsageError("cancel must be a threading.Event.", hint="cancel=threading.Event()")


def _run_external(runner, argv, settings, gpus, live, on_line, timeout, cancel, cache) -> Run:
    """A runner object given by the caller (a cluster executor): trtexec sees host paths."""
    cache_dir = Path(settings.cache_dir)
    identity = runner.image_id()
    from .precision import record, target_tensorrt, translate

    trt = target_tensorrt(runner, "external", "", identity, cache_dir)  # its banner, once seen
    argv, rewrite, notes = translate(argv, trt, settings.resolve_path, live.note)
    run_args = _with_timing_cache(argv, settings, identity, gpus, runner.host)
    # the same per-run folder as the local backend: trtexec on the node writes only there (on the
    # shared filesystem, beside the first output); a passed run's files are moved out after it
    stage = Stage(run_args, settings.resolve_path, cache_dir, container=False)
    stage.check()
    notes += check_flags(argv, trt.version)
    for n in [*notes, *stage.notes]:
        live.note(n)
    job = Job(argv, stage.plan, LogSink(stage.log, live, on_line), gpus=gpus, timeout=timeout,
              cancel=cancel, workdir=settings.resolve_path("."), notes=notes + stage.notes,
              stage=stage)  # fmt: skip
    run = _run_cached(runner, job, cache, identity, cache_dir)
    return record(run, trt, rewrite, identity, cache_dir)


def _runner(backend: str, docker_host: str | None):
    if backend == "docker":
        from .docker import DockerRunner

        return DockerRunner(docker_host)
    from .local import LocalRunner

    return LocalRunner()


def _run_cached(runner, job: Job, cache: bool, identity: str, cache_dir: Path) -> Run:
    from .cache import EngineCache, run_key

    key = run_key(job.plan, job.args, identity, job.gpus, runner.host) if cache else None
    if key is None:
        return _finish(_run(runner, job), job, identity, cache_dir)
    bound = get_settings().cache_size_mb
    engines = EngineCache(cache_dir, max_bytes=bound * 2**20 if bound else None)
    waited = lambda: job.sink.note("another kernel is building the same engine: waiting for it")  # noqa: E731
    started = time.time()
    with engines.lock(key, on_wait=waited):
        log = job.stage.log_destination(True) if job.stage else job.sink.log_path
        hit = engines.load(key, job.plan, log, job.sink.note)
        if hit is not None:
            job.sink.close()
            hit.command, hit.notes = list(job.args), job.notes + hit.notes
            hit.started, hit.duration_s = started, time.time() - started
            if job.sink.live is not None:
                job.sink.live.finish(
                    f"cached run answered (--no-cache rebuilds); log: {hit.log_path}"
                )
            return hit
        run = _finish(_run(runner, job), job, identity, cache_dir)
        engines.store(key, run, job.plan, job.sink.note)
    return run


def _run(runner, job: Job) -> Run:
    """Open the run's folder and run; whatever ends the run early, the folder goes."""
    try:
        _open(job)
        return runner.run(job)
    except BaseException:
        if job.stage is not None:
            shielded(job.stage.close)
        raise


def _open(job: Job) -> None:
    """Create the run's folder; on any error (a full disk, Ctrl-C) nothing of it stays."""
    if job.stage is None:
        return
    try:
        job.stage.open()
    except BaseException as exc:
        shielded(job.stage.close)
        if isinstance(exc, OSError):
            raise disk_error(exc, exc.filename or job.stage.folder.parent) from None
        raise


def _finish(run: Run, job: Job, identity: str, cache_dir: Path) -> Run:
    if job.stage is None:  # an external runner: keep only files that exist
        run.files = {kind: path for kind, path in run.files.items() if Path(path).exists()}
        if job.sink.log_path is not None and job.sink.log_path.exists():
            run.files["log"] = job.sink.log_path
    if job.sink.device and run.status == "passed":
        _name_timing_cache(run, job, identity, cache_dir)
    if run.status == "failed":
        from ..commandline.flags import replacement_for

        for arg in job.args:
            rep = replacement_for(arg)
            if rep is not None and not any(n.startswith(arg.split("=")[0]) for n in run.notes):
                new, why = rep
                run.notes.append(f"{arg}: {why}; " + (f"use {new}" if new else "drop it"))
    return run


def _name_timing_cache(run: Run, job: Job, identity: str, cache_dir: Path) -> None:
    """Name the automatic timing cache after the GPU model the log says trtexec selected."""
    from .cache import learn_gpu, timing_cache_path

    auto = run.files.get("timing_cache")
    learn_gpu(cache_dir, run.host or "", job.gpus, job.sink.device)
    if auto is None or flag_value(job.args, "--timingCacheFile") is not None:
        return  # the user's own timing cache keeps its name
    named = timing_cache_path(cache_dir, identity, job.sink.device)
    if auto != named and auto.exists() and not named.exists():
        os.replace(auto, named)
    if named.exists():
        run.files["timing_cache"] = named


def _normalize_gpus(gpus: str | int) -> str:
    if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus == 0:
        return "none"  # gpus=0: no GPU (as `docker run --gpus 0` asks for none)
    check_type("gpus", gpus, (str, int), "'all', 'none', 2 (device=2) or '0,1'")
    value = str(gpus).strip().replace(" ", "").strip("'\"")
    value = value.removeprefix("device=")  # docker run's --gpus '"device=2"', pasted
    if value in ("all", "none") or all(p.isdigit() for p in value.split(",")):
        return value
    raise UsageError(
        f"gpus {gpus!r} is not 'all', 'none', a GPU index or a list like '0,1'.",
        hint="--gpus all, --gpus 2 (device=2), --gpus 0,1 or --gpus none",
    )


def _with_timing_cache(argv: list[str], settings, identity: str, gpus: str, host: str) -> list[str]:
    """Add the per-(image, GPU) timing cache to builds that do not name one."""
    builds = flag_value(argv, "--onnx") is not None
    if not builds or flag_value(argv, "--timingCacheFile") is not None:
        return argv
    from .cache import gpu_label, timing_cache_path

    cache_dir = Path(settings.cache_dir)
    path = timing_cache_path(cache_dir, identity, gpu_label(cache_dir, host, gpus))
    path.parent.mkdir(parents=True, exist_ok=True)
    return [*argv, f"--timingCacheFile={path}"]


def _check_inputs(plan: PathPlan) -> None:
    missing = plan.missing_inputs()
    if missing:
        listing = ", ".join(f"{r.flag}={r.host}" for r in missing)
        raise RunnerError(
            f"input file not found: {listing}",
            hint="check the path (relative paths are resolved against TrtMagic.workdir or the "
            "current directory); nothing was started",
        )
