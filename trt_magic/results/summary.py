"""One flat dict per run: the figures people compare (stdlib only).

Sources, first that says it wins: the trtexec log; TREx's ``*.profile.metadata.json`` (the replay
recordings of ResNet-18 on an A100 have no log, only that file); TREx's build and device files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ResultError
from .exports import trex_performance
from .log import spell_version

if TYPE_CHECKING:
    from .run import Run

#: performance-summary names -> summary key prefixes (statistics are in ms, as printed)
STAT_PREFIX = {
    "Latency": "latency",
    "GPU Compute Time": "gpu_compute",
    "Enqueue Time": "enqueue",
    "H2D Latency": "h2d",
    "D2H Latency": "d2h",
    "End-to-End Host Latency": "e2e_latency",
}
SCALARS = {
    "Throughput": "throughput_qps",
    "Total Host Walltime": "total_host_walltime_s",
    "Total GPU Compute Time": "total_gpu_compute_s",
}


def flatten_performance(perf: dict[str, Any]) -> dict[str, float]:
    """``{"Latency": {"median": x}}`` -> ``{"latency_median_ms": x}``; scalars renamed."""
    out: dict[str, float] = {}
    for key, value in perf.items():
        if isinstance(value, dict) and key in STAT_PREFIX:
            for stat, number in value.items():
                out[f"{STAT_PREFIX[key]}_{stat}_ms"] = number
        elif key in SCALARS and isinstance(value, float):
            out[SCALARS[key]] = value
    return out


def _device(run: Run) -> dict[str, Any]:
    device = dict(run.log.device)
    if not device.get("name"):
        info = run.profile_metadata.get("device_information") or {}
        info = info or run.build_metadata.get("device_information") or {}
        if info.get("Selected Device"):
            device = {"name": info["Selected Device"],
                      "compute_capability": str(info.get("Compute Capability", ""))}  # fmt: skip
    if not device.get("name") and run.device_metadata.get("Name"):
        cc = run.device_metadata.get("ComputeCapability") or []
        device = {"name": run.device_metadata["Name"], "compute_capability": ".".join(map(str, cc))}
    return device


def _engine_size_mib(run: Run) -> float | None:
    engine = run.files.get("engine")
    if engine is not None and Path(engine).is_file():
        return Path(engine).stat().st_size / 2**20
    return run.log.engine_size_mib


def _readable(read, default):
    """A figure from a result file, or ``default`` when that file cannot be read (the view of
    that file reports the error; the summary keeps what the other files say)."""
    try:
        return read()
    except ResultError:
        return default


def build_summary(run: Run) -> dict[str, Any]:
    """The run's figures as one flat dict (keys absent when no source says them)."""
    log = run.log
    source = str(run.files.get("profile_metadata", "profile metadata"))
    perf = log.performance or _readable(lambda: trex_performance(run.profile_metadata, source), {})
    device = _readable(lambda: _device(run), dict(log.device))
    build_options = _readable(lambda: run.build_metadata.get("build_options") or {}, {})
    precision = log.precision or build_options.get("Precision")
    recorded = run.recorded
    summary: dict[str, Any] = {
        "status": run.status if log.status is None or run.status != "loaded" else log.status,
        "ok": _readable(lambda: run.ok, False),
        "backend": run.backend,
        "cached": run.cached,
        "recorded": recorded.label() if recorded else None,
        # where the figures come from: this request's own run, or a recording of another one
        "source": f"recorded ({recorded.recording or recorded.source})" if recorded else "measured",
        "differences": "; ".join(recorded.differences) if recorded else None,
        "tensorrt_version": spell_version(
            log.tensorrt_version or (recorded.tensorrt if recorded else None)
        ),
        "device": device.get("name") or (recorded.gpu if recorded else None),
        "compute_capability": device.get("compute_capability"),
        "precision": precision,
        "build_time_s": log.build_time_s,
        "engine_size_mib": _engine_size_mib(run),
        **flatten_performance(perf),
        "layers": _readable(
            lambda: len(run.layer_info_raw) or len(run.profile_records) or None, None
        ),
        "errors": len(run.errors),
        "warnings": len(run.warnings),
        "command": " ".join(run.command) if run.command else log.command_line,
    }
    if any(k.startswith(("latency_", "gpu_compute_")) for k in summary):
        summary.update(_readable(lambda: latency_labels(run), {}))
    return {k: v for k, v in summary.items() if v is not None and v != ""}


def latency_labels(run: Run) -> dict[str, str]:
    """``latency_includes`` / ``gpu_compute_includes``: what the latency figures measured
    (see ``trt_magic.results.latency_meaning``); GPU compute time never counts the copies."""
    from dataclasses import replace

    from .latency_meaning import latency_meaning

    meaning = latency_meaning(run)
    gpu = replace(meaning, data_transfers=None).label()
    return {"latency_includes": meaning.label(), "gpu_compute_includes": f"GPU compute; {gpu}"}
