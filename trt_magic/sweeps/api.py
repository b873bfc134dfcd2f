"""The sweep API: ``sweep()`` (blocking, with a live table) and ``start_sweep()`` (a handle).

See the package docstring; executors.py says where variants run, work.py builds one variant.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks import check_path
from ..errors import UsageError
from .executors import DockerHostsExecutor, Executor
from .result import SweepResult, SweepView
from .scheduler import Row, Scheduler, Slot
from .variants import Axes, Variant, expand, mixed_second_phase, pin_to_slots
from .work import MANIFEST, BuildWork, save_manifest

__all__ = ["MANIFEST", "SweepHandle", "start_sweep", "sweep"]


class SweepHandle:
    """A running sweep: ``.result`` fills in as it goes; ``cancel()``; ``wait()``."""

    def __init__(self, result: SweepResult, scheduler: Scheduler):
        self.result = result
        self.scheduler = scheduler
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        # set by the sweep's thread as its last act. Waiting uses this event, never
        # Thread.join: in CPython 3.11 a Ctrl-C that interrupts join() marks the thread stopped
        # while it still runs, so a sweep would "end" with its builds still going.
        self._finished = threading.Event()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def cancel(self) -> None:
        """Stop the sweep: running containers are stopped, queued variants are cancelled."""
        self.scheduler.cancel.set()

    def start(self, axes: Axes, search: str, per_slot: bool) -> None:
        """Queue the first variants and run them (then ``mixed``'s second phase) in a thread."""
        sched = self.scheduler
        slots = [(s.host, s.gpu) for s in sched.slots]
        variants = expand(axes, search)
        variants = pin_to_slots(variants, slots) if per_slot else variants
        sched.add(variants, pins=_resume_pins(Path(self.result.outdir), variants, sched.slots))

        def body() -> None:
            try:
                sched.run()
                if search != "mixed" or sched.cancel.is_set():
                    return
                scores = {r.variant: _score(r) for r in sched.rows}
                more = mixed_second_phase(axes, scores, [r.variant for r in sched.rows])
                if more:
                    sched.add(pin_to_slots(more, slots) if per_slot else more, phase=2)
                    sched.run()
            except BaseException as exc:  # reported by wait()
                self.error = exc
            finally:
                self._finished.set()

        self._thread = threading.Thread(target=body, name="trt_magic sweep", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> SweepResult:
        """Block until the sweep ends (or ``timeout`` seconds); return the result."""
        if self._thread is not None:
            self._finished.wait(timeout)
        if self.error is not None:
            raise self.error
        return self.result


def start_sweep(
    onnx: str | Path,
    *,
    precisions: Sequence[str] = ("fp32", "fp16"),
    profiles: Sequence[Any] = (None,),
    opt_levels: Sequence[int | None] = (None,),
    images: Sequence[str | None] = (None,),
    routes: Sequence[str | None] = (None,),
    gpus: Sequence[int | str] | None = None,
    hosts: Sequence[str | None] | None = None,
    executor: Executor | None = None,
    search: str = "full",
    per_slot: bool = False,
    container_gpus: str | None = None,
    check_accuracy: bool = False,
    rtol: float = 1e-3,
    atol: float = 1e-3,
    inputs: Mapping[str, Any] | None = None,
    backend: str | None = None,
    timeout: float | None = None,
    cache: bool = True,
    outdir: str | Path | None = None,
    cancel: threading.Event | None = None,
    on_change: Callable[[SweepResult, Row], None] | None = None,
    runner: Callable[..., Any] | None = None,
) -> SweepHandle:
    """Start a sweep in a background thread and return its handle (see :func:`sweep`).

    ``on_change(result, row)`` is called from worker threads after each row changes state.
    """
    from ..config import get_settings

    settings = get_settings()
    onnx = Path(onnx)
    if not onnx.is_file():
        raise UsageError(f"the ONNX model {onnx} does not exist.", hint="export it first")
    if check_accuracy and (backend or settings.backend) == "replay":
        raise UsageError(
            "check_accuracy needs engines to run, and the replay backend has none.",
            hint="sweep with backend='docker' (a GPU host) or drop check_accuracy",
        )
    axes = Axes.build(precisions, profiles, opt_levels, images, routes)
    expand(axes, search)  # checks search before anything starts
    executor = _executor(executor, hosts, gpus, backend)
    executor.check()  # e.g. Slurm: sbatch there, partition and GPU types exist
    slots = executor.slots()
    per_slot = per_slot or (executor.every_slot and len(slots) > 1)  # e.g. Slurm GPU types
    base = Path(outdir) if outdir else settings.resolve_path(f"{onnx.stem}_sweep")
    base.mkdir(parents=True, exist_ok=True)
    result = SweepResult(str(onnx), search, slots, outdir=str(base))
    result.executor = executor.describe()
    work = BuildWork(onnx, base, settings.image, executor, timeout, cache, container_gpus,
                     runner, check_accuracy, rtol, atol, inputs)  # fmt: skip

    def changed(row: Row) -> None:
        if row.status not in ("pending", "running"):
            save_manifest(base, result)
        if on_change is not None:
            on_change(result, row)

    scheduler = Scheduler(slots, work, changed, cancel, lanes=executor.lanes)
    result.rows = scheduler.rows
    handle = SweepHandle(result, scheduler)
    handle.start(axes, search, per_slot)
    return handle


def sweep(onnx: str | Path, *, display: bool = True, **options: Any) -> SweepResult:
    """Build every variant of ``onnx`` over the given axes; return the table of results.

    Args:
        onnx: the ONNX model.
        precisions, profiles, opt_levels, images, routes: the axes. A profile is None (the
            model's shapes), a :class:`~trt_magic.spec.ShapeProfile`, trtexec shape flags
            (``"--minShapes=x:1x4 --optShapes=x:8x4 --maxShapes=x:16x4"``) or a fixed shape spec
            (``"x:8x4"``). A route is a ``--tuneBuildRoutes`` expression (TensorRT 11+ images).
        gpus: GPU indices; each (host, GPU) pair is a slot running one build at a time. None:
            one slot per host with the ``gpus`` setting.
        hosts: Docker hosts (``"unix://..."``, ``"tcp://..."``, ``"ssh://gpu-a"``; None: default).
        executor: where the variants run instead of ``hosts``/``gpus``: a
            :class:`~trt_magic.sweeps.executors.DockerHostsExecutor` or a cluster engine,
            e.g. ``SlurmExecutor(partition="gpu", gpu_type="a100")`` (one job per variant; a
            list of GPU types builds every variant on each type).
        search: "full" (every combination), "fast" (baseline + one change at a time), "mixed"
            (fast, then full over the values that beat the baseline) — as trtexec's tuner.
        per_slot: build every variant on every slot (GPU / host as an axis) instead of on the
            first free slot.
        container_gpus: give every container this GPU request ("all") and select the slot's
            GPU with ``--device=N`` instead of one GPU per container.
        check_accuracy: compare each engine with ONNX Runtime (``rtol``, ``atol``, ``inputs``);
            an engine out of tolerance fails its row and leaves the Pareto front.
        backend, timeout, cache: passed to the runner (``cache`` makes a sweep resumable:
            finished variants come from the engine cache).
        outdir: where each variant's files go (default ``<model>_sweep/`` in the workdir).
        cancel: a ``threading.Event`` that stops the sweep when set.
        display: one live table in the notebook (printed lines elsewhere).

    Returns:
        SweepResult: ``.table``, ``.pareto``, ``.sort(by)``, ``.best()``, ``.comparison``.
    """
    view: SweepView | None = None
    check_path("onnx", onnx, hint="sweep('model.onnx', precisions=['fp32', 'fp16'])")
    handle = start_sweep(onnx, **options)
    if display:
        view = SweepView(handle.result)
        view.start()
    try:
        while not handle.done:
            handle._finished.wait(0.3)
            if view is not None:
                view.refresh()
    except KeyboardInterrupt:  # Ctrl-C / the notebook's stop button: stop every container
        handle.cancel()
        _wait_despite_interrupts(handle._finished)
    if view is not None:
        view.finish()
    return handle.wait()


def _wait_despite_interrupts(finished: threading.Event) -> None:
    """Wait for the sweep's end (every worker stopped, every row final), even through more
    Ctrl-Cs: returning earlier would leave builds running behind the user's back."""
    while not finished.is_set():
        try:
            finished.wait(0.5)
        except KeyboardInterrupt:
            continue


def _executor(executor, hosts, gpus, backend) -> Executor:
    """The executor given, else Docker hosts from ``hosts`` / ``gpus`` (today's default)."""
    if executor is None:
        return DockerHostsExecutor(hosts, gpus, backend)
    if not isinstance(executor, Executor):
        raise UsageError(
            f"executor must be an Executor (DockerHostsExecutor, SlurmExecutor), not "
            f"{type(executor).__name__}.",
            hint="sweep(onnx, executor=SlurmExecutor(partition='gpu', gpu_type='a100'))",
        )
    if hosts or gpus:
        raise UsageError(
            "give hosts/gpus or an executor, not both.",
            hint="DockerHostsExecutor(hosts=[...], gpus=[...]) holds both",
        )
    return executor


def _score(row: Row) -> float | None:
    """The latency ``mixed`` compares (None: failed or inaccurate)."""
    if row.status != "passed":
        return None
    from .result import row_record

    latency = row_record(row)["latency_ms"]
    # no latency (e.g. --skipInference): the build wall time still ranks the variants
    return latency if latency is not None else (row.finished or 0) - (row.started or 0)


def _resume_pins(base: Path, variants: list[Variant], slots: list[Slot]) -> dict[Variant, Slot]:
    """Send variants a previous run of this sweep passed back to the slot that built them.

    The engine cache is keyed by Docker host and GPU too, so that slot answers from the cache
    instead of building again.
    """
    try:
        saved = json.loads((base / MANIFEST).read_text())["variants"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    pins = {}
    for v in variants:
        entry = saved.get(v.label) or {}
        slot = Slot(*entry["slot"]) if entry.get("status") == "passed" else None
        if v.slot is None and slot in slots:
            pins[v] = slot
    return pins
