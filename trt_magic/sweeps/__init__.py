"""Build the whole matrix of engine variants at once, on every GPU and Docker host you have.

``sweep(onnx, precisions=[...], profiles=[...], opt_levels=[...], gpus=[0, 1], hosts=[...])``
builds the variants concurrently, at most one build per (host, GPU) slot, shows one live table
that fills in as runs finish, keeps going when a variant fails (its row says why), stops every
container on cancel, and resumes from the engine cache. The result is a :class:`SweepResult`:
a sortable table with the Pareto front of latency vs accuracy vs engine size, and
``result.comparison`` (``trt_magic.compare`` of every run).

``start_sweep`` is the same without blocking: the widgets' "sweep" mode calls it.

Modules: variants.py (axes, search modes, Pareto front), scheduler.py (slots, worker threads),
result.py (table, HTML, live view). No heavy import happens before a sweep runs.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .result import SweepResult, SweepView
from .scheduler import Row, Scheduler, Slot
from .variants import Axes, Variant, expand, mixed_second_phase, pin_to_slots

__all__ = ["SweepHandle", "SweepResult", "Variant", "start_sweep", "sweep"]

MANIFEST = "sweep.json"


class SweepHandle:
    """A running sweep: ``.result`` fills in as it goes; ``cancel()``; ``wait()``."""

    def __init__(self, result: SweepResult, scheduler: Scheduler):
        self.result = result
        self.scheduler = scheduler
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

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

        self._thread = threading.Thread(target=body, name="trt_magic sweep", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> SweepResult:
        """Block until the sweep ends (or ``timeout`` seconds); return the result."""
        if self._thread is not None:
            self._thread.join(timeout)
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
    slots = _slots(hosts, gpus)
    base = Path(outdir) if outdir else settings.resolve_path(f"{onnx.stem}_sweep")
    base.mkdir(parents=True, exist_ok=True)
    result = SweepResult(str(onnx), search, slots, outdir=str(base))
    work = _Work(onnx, base, settings.image, backend, timeout, cache, container_gpus,
                 runner, check_accuracy, rtol, atol, inputs)  # fmt: skip

    def changed(row: Row) -> None:
        if row.status not in ("pending", "running"):
            _save_manifest(base, result)
        if on_change is not None:
            on_change(result, row)

    scheduler = Scheduler(slots, work, changed, cancel)
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
    handle = start_sweep(onnx, **options)
    if display:
        view = SweepView(handle.result)
        view.start()
    try:
        while not handle.done:
            handle._thread.join(0.3)
            if view is not None:
                view.refresh()
    except KeyboardInterrupt:  # Ctrl-C / the notebook's stop button: stop every container
        handle.cancel()
        handle._thread.join()
    if view is not None:
        view.finish()
    return handle.wait()


def _slots(hosts, gpus) -> list[Slot]:
    from ..config import get_settings

    hosts = list(hosts) if hosts else [None]
    gpus = [str(g) for g in gpus] if gpus else [get_settings().gpus]
    if len(set(hosts)) != len(hosts) or len(set(gpus)) != len(gpus):
        raise UsageError("hosts and gpus must not repeat.", hint="e.g. gpus=[0, 1]")
    return [Slot(h, g) for h in hosts for g in gpus]


def _score(row: Row) -> float | None:
    """The latency ``mixed`` compares (None: failed or inaccurate)."""
    if row.status != "passed":
        return None
    from .result import row_record

    latency = row_record(row)["latency_ms"]
    # no latency (e.g. --skipInference): the build wall time still ranks the variants
    return latency if latency is not None else (row.finished or 0) - (row.started or 0)


class _Work:
    """Builds one variant on one slot (and checks its accuracy when asked)."""

    def __init__(self, onnx, base, image, backend, timeout, cache, container_gpus, runner,
                 check, rtol, atol, inputs):  # fmt: skip
        self.onnx, self.base, self.image = onnx, base, image
        self.backend, self.timeout, self.cache = backend, timeout, cache
        self.container_gpus, self.runner = container_gpus, runner
        self.check, self.rtol, self.atol, self.inputs = check, rtol, atol, inputs
        self._route_ok: dict[tuple[str | None, str | None], bool] = {}
        self._lock = threading.Lock()

    def __call__(self, row: Row, slot: Slot, cancel: threading.Event) -> None:
        variant = row.variant
        outdir = self.base / variant.label
        outdir.mkdir(parents=True, exist_ok=True)
        image = variant.image or self.image
        options = dict(image=image, docker_host=slot.host, backend=self.backend,
                       timeout=self.timeout, cancel=cancel)  # fmt: skip
        args = variant.build_args(str(self.onnx), str(outdir))
        device = []
        if self.container_gpus is None:
            options["gpus"] = slot.gpu
        else:
            options["gpus"] = self.container_gpus
            if slot.gpu.isdigit():
                device = [f"--device={slot.gpu}"]
                # slots on one host then share one GPU request, so the runner's automatic
                # timing cache would be one file for concurrent builds: one per device instead
                args += [*device, f"--timingCacheFile={_timing_cache(slot, image)}"]
        if variant.route:
            self._require_route_flag(options)
        row.run = self._trtexec()(args, cache=self.cache, display=False, **options)
        row.cached = bool(getattr(row.run, "cached", False))
        # No real log of a --tuneBuildRoutes run is in the fixtures, so the route trtexec reports
        # is not parsed: the log lines that mention it are kept raw for the table.
        row.route = [ln for ln in row.run.read_log().splitlines() if "route" in ln.lower()][:20]
        if self.check and getattr(row.run, "ok", False) and not cancel.is_set():
            from ..accuracy import check_accuracy

            row.accuracy = check_accuracy(
                row.run, self.onnx, inputs=self.inputs, rtol=self.rtol, atol=self.atol,
                workdir=outdir / "accuracy", extra_args=device, **options,
            )  # fmt: skip

    def _trtexec(self):
        if self.runner is not None:
            return self.runner
        from ..runners import trtexec

        return trtexec

    def _require_route_flag(self, options: dict) -> None:
        """Fail the variant early when the image's trtexec has no ``--tuneBuildRoutes``."""
        from ..commandline.flags import flag_known
        from ..tensorrt import tensorrt_version_for_image

        image = options["image"]
        key = (image, options["docker_host"])
        with self._lock:
            if key not in self._route_ok:
                version = tensorrt_version_for_image(image or "")
                known = version is not None and flag_known("--tuneBuildRoutes", version)
                if not known:  # not in any help text we ship: ask the image's trtexec itself
                    probe = self._trtexec()(["--help"], cache=False, display=False, **options)
                    known = "--tuneBuildRoutes" in probe.read_log()
                self._route_ok[key] = known
        if not self._route_ok[key]:
            raise UsageError(
                f"the trtexec in {image} has no --tuneBuildRoutes (TensorRT 11 added it).",
                hint="use a TensorRT 11 image for route variants, or drop routes=",
            )


_MANIFEST_LOCK = threading.Lock()


def _timing_cache(slot: Slot, image: str) -> Path:
    """A timing cache file per (host, image, device) under ``Settings.cache_dir``."""
    from ..config import get_settings

    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"sweep-{slot.host or 'default'}-{image}-{slot.gpu}")
    path = Path(get_settings().cache_dir) / "timing" / f"{name[:150]}.cache"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _save_manifest(base: Path, result: SweepResult) -> None:
    """Record which slot built each finished variant, so a resumed sweep hits the cache."""
    with _MANIFEST_LOCK:
        done = {
            r.variant.label: {"slot": [r.slot.host, r.slot.gpu], "status": r.status}
            for r in list(result.rows)
            if r.slot is not None and r.status in ("passed", "failed")
        }
        tmp = base / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps({"saved": time.time(), "variants": done}, indent=1))
        tmp.replace(base / MANIFEST)


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
