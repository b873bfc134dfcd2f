"""Build one variant of a sweep on one slot, and keep the sweep's manifest (for resume)."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from ..errors import UsageError
from .executors import DockerHostsExecutor, Executor
from .result import SweepResult
from .scheduler import Row, Slot

MANIFEST = "sweep.json"


class BuildWork:
    """Builds one variant on one slot (and checks its accuracy when asked)."""

    def __init__(self, onnx, base, image, executor: Executor, timeout, cache, container_gpus,
                 runner, check, rtol, atol, inputs):  # fmt: skip
        self.onnx, self.base, self.image = onnx, base, image
        self.executor, self.timeout, self.cache = executor, timeout, cache
        self.container_gpus, self.runner = container_gpus, runner
        self.check, self.rtol, self.atol, self.inputs = check, rtol, atol, inputs
        self._route_ok: dict[tuple[str | None, str | None], bool] = {}
        self._lock = threading.Lock()

    def __call__(self, row: Row, slot: Slot, cancel: threading.Event) -> None:
        variant = row.variant
        outdir = self.base / variant.label
        outdir.mkdir(parents=True, exist_ok=True)
        image = variant.image or self.image
        options = dict(image=image, timeout=self.timeout, cancel=cancel)
        options.update(self.executor.build_options(slot, self.container_gpus))
        args = variant.build_args(str(self.onnx), str(outdir))
        device = []
        if self.container_gpus is not None and isinstance(self.executor, DockerHostsExecutor):
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
        row.placement = getattr(row.run, "placement", None)
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
        key = (image, str(options.get("docker_host") or options.get("runner")))
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


def save_manifest(base: Path, result: SweepResult) -> None:
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
