"""``trtexec(args, ...) -> Run``: check the arguments, pick the backend, answer from the engine
cache or run, and keep only what the run produced. ``choose_backend()`` says which backend can run."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..commandline.command import PathPlan, flag_value, plan_paths, split_args
from ..commandline.flags import check_flags
from ..config import BACKENDS, get_settings
from ..display.live import LiveLog
from ..errors import RunnerError, UsageError
from ..results.run import Run
from .base import Job, LogSink, Runner


def trtexec(
    args: str | Sequence[str],
    *,
    image: str | None = None,
    gpus: str | None = None,
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
        gpus: "all", "none", "2" (device=2) or "0,1" (default ``Settings.gpus``).
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
    argv = split_args(args)
    backend = runner.name if runner is not None else backend
    backend = _check_backend(backend or settings.backend, timeout, runner)
    image = image or settings.image
    gpus = _normalize_gpus(gpus or settings.gpus)
    if backend == "auto":
        from .choice import resolve_backend

        backend, _ = resolve_backend(gpus, docker_host)
    title = f"trtexec ({backend}) " + " ".join(argv)
    live = LiveLog(title, max_lines=settings.log_lines, mode=None if display else "off")
    if backend == "replay":
        from .replay import ReplayRunner

        plan = plan_paths(argv, settings.resolve_path, root=None, temp_engines=False)
        job = Job(argv, plan, LogSink(None, live, on_line), image=image, gpus=gpus)
        return ReplayRunner().run(job)
    _check_inputs(plan_paths(argv, settings.resolve_path, root=None))  # before any pull or start
    runner = runner or _runner(backend, docker_host)
    if backend == "docker" and getattr(runner, "client", None) is not None:
        from .choice import require_gpu

        require_gpu(runner.client, gpus, image)  # before any pull: a GPU-less host says so
    identity = runner.image_id(image, live.note) if backend == "docker" else runner.image_id()
    run_args = _with_timing_cache(argv, settings, identity, gpus, runner.host)
    host_paths = backend == "local" or getattr(runner, "maps_paths", True) is False
    plan = plan_paths(run_args, settings.resolve_path, root=None if host_paths else _root())
    notes = check_flags(argv, _image_trt_version(image) if backend == "docker" else None)
    for n in notes:
        live.note(n)
    job = Job(
        argv,
        plan,
        LogSink(_log_path(plan, Path(settings.cache_dir)), live, on_line),
        image=image if backend == "docker" else None,
        gpus=gpus,
        timeout=timeout,
        cancel=cancel,
        transfer=transfer,
        docker_host=docker_host,
        workdir=settings.resolve_path("."),
        notes=notes,
    )
    return _run_cached(runner, job, cache, identity, Path(settings.cache_dir))


def _check_backend(backend: str, timeout: float | None, runner=None) -> str:
    if runner is None and backend not in BACKENDS:
        raise UsageError(
            f"backend {backend!r} is not one of {', '.join(BACKENDS)}.", hint="--backend docker"
        )
    if timeout is not None and timeout <= 0:
        raise UsageError(f"timeout {timeout} must be a positive number of seconds.")
    return backend


def _root():
    from ..commandline.command import CONTAINER_ROOT

    return CONTAINER_ROOT


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
        return _finish(runner.run(job), job, identity, cache_dir)
    engines = EngineCache(cache_dir)
    waited = lambda: job.sink.note("another kernel is building the same engine: waiting for it")  # noqa: E731
    started = time.time()
    with engines.lock(key, on_wait=waited):
        hit = engines.load(key, job.plan, job.sink.log_path)
        if hit is not None:
            job.sink.close()
            hit.started, hit.duration_s = started, time.time() - started
            hit.notes = job.notes + hit.notes
            if job.sink.live is not None:
                job.sink.live.finish(
                    f"cached run answered (--no-cache rebuilds); log: {hit.log_path}"
                )
            return hit
        run = _finish(runner.run(job), job, identity, cache_dir)
        engines.store(key, run, job.plan)
    return run


def _finish(run: Run, job: Job, identity: str, cache_dir: Path) -> Run:
    # only files that exist: a failed or stopped build has no engine, whatever the flags said
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


def _normalize_gpus(gpus: str) -> str:
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


def _log_path(plan: PathPlan, cache_dir: Path) -> Path:
    """Beside the first output (the engine first): ``<name>.log``; else in the cache folder."""
    outs = sorted(
        (r for r in plan.refs if r.direction == "output"), key=lambda r: r.kind != "engine"
    )
    if outs:
        return outs[0].host.with_name(outs[0].host.name + ".log")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return cache_dir / "logs" / f"trtexec-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6}.log"


def _image_trt_version(image: str) -> str | None:
    try:
        from ..tensorrt import tensorrt_version_for_image
    except ImportError:  # pragma: no cover - the module is part of the package
        return None
    try:
        return tensorrt_version_for_image(image)
    except Exception:  # an unknown tag: flags are not checked against a version
        return None
