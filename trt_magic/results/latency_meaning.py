"""What a trtexec latency includes: data transfers, CUDA graph, spin wait, the layer profiler.

trtexec's defaults changed in TensorRT 11.0 (NVIDIA/TensorRT v11.0 = 771d8efdf7f9,
``samples/common/sampleOptions.cpp`` ``InferenceOptions::parse`` and ``sampleOptions.h``):

================  ==========================  ==========================================
setting           up to 10.x (default; flag)  11.0 on (default; flag)
================  ==========================  ==========================================
data transfers    on; ``--noDataTransfers``   off; ``--includeDataTransfers``
CUDA graph        off; ``--useCudaGraph``     on; ``--noCudaGraph``
spin wait         off; ``--useSpinWait``      on; ``--noSpinWait``
separate profile  off; ``--separateProfileRun``  always ("Separate profile run is now always
                                              enabled"; the old flags warn and do nothing)
================  ==========================  ==========================================

So "Latency" of an 11.x run is GPU compute launched from a CUDA graph and timed with spin-wait,
while a 10.x run's default also copies the inputs in and the outputs out. Each run's settings are
read from its own log (``=== Inference Options ===``: ``Data transfers: Enabled`` ...), else from
TREx's ``inference_options``, else from its flags and the defaults of its TensorRT version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .run import Run

#: the settings, in the order they are reported
SETTINGS = ("data_transfers", "cuda_graph", "spin_wait", "profiler_in_timed_run")
#: ``=== Inference Options ===`` / TREx ``inference_options`` keys
_PRINTED = {"data_transfers": "Data transfers", "cuda_graph": "CUDA Graph",
            "spin_wait": "Spin-wait", "separate_profile": "Separate profiling"}  # fmt: skip
_PROFILING_FLAGS = ("--dumpProfile", "--exportProfile")


@dataclass
class LatencyMeaning:
    """The measurement settings of one run; None where nothing says."""

    data_transfers: bool | None = None
    cuda_graph: bool | None = None
    spin_wait: bool | None = None
    profiler_in_timed_run: bool | None = None  # the layer profiler slowed the timed iterations
    source: str = "unknown"
    notes: list[str] = field(default_factory=list)

    def settings(self) -> dict[str, bool | None]:
        return {k: getattr(self, k) for k in SETTINGS}

    def label(self) -> str:
        """A short text of what the ``Latency`` figures include."""
        parts = []
        if self.data_transfers is not None:
            parts.append("GPU compute + H2D/D2H copies" if self.data_transfers
                         else "GPU compute only (no H2D/D2H copies)")  # fmt: skip
        if self.cuda_graph is not None:
            parts.append("CUDA graph launch" if self.cuda_graph else "no CUDA graph")
        if self.spin_wait is not None:
            parts.append("spin-wait sync" if self.spin_wait else "blocking sync")
        if self.profiler_in_timed_run:
            parts.append("layer profiler attached (slower)")
        if not parts:
            return "unknown (no inference options in the log and no TensorRT version)"
        return "; ".join(parts) + f" [from {self.source}]"


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None


def _has(command: list[str], flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in command)


def _enabled(text: str | None) -> bool | None:
    if text is None:
        return None
    return {"enabled": True, "disabled": False}.get(str(text).strip().lower())


def from_options(options: dict[str, str], source: str) -> tuple[LatencyMeaning | None, bool | None]:
    """Settings as printed in ``=== Inference Options ===`` (or TREx's copy of it), and the
    ``Separate profiling`` line (None where it is not printed: 11.0 dropped it)."""
    found = {k: _enabled(options.get(v)) for k, v in _PRINTED.items()}
    if all(v is None for k, v in found.items() if k != "separate_profile"):
        return None, None
    meaning = LatencyMeaning(found["data_transfers"], found["cuda_graph"], found["spin_wait"],
                             source=source)  # fmt: skip
    return meaning, found["separate_profile"]


def from_flags(command: list[str], version: str | None) -> LatencyMeaning:
    """Settings from the flags and the defaults of the TensorRT version (see the module table)."""
    major = _major(version)
    if major is None:
        return LatencyMeaning(source="unknown TensorRT version")
    if major >= 11:
        m = LatencyMeaning(_has(command, "--includeDataTransfers"),
                           not _has(command, "--noCudaGraph"), not _has(command, "--noSpinWait"),
                           source=f"flags and TensorRT {version} defaults")  # fmt: skip
    else:
        m = LatencyMeaning(not _has(command, "--noDataTransfers"), _has(command, "--useCudaGraph"),
                           _has(command, "--useSpinWait"),
                           source=f"flags and TensorRT {version} defaults")  # fmt: skip
    return m


def _version(run: Run) -> str | None:
    from .log import spell_version

    recorded = run.recorded.tensorrt if run.recorded else None
    return spell_version(run.log.tensorrt_version or recorded)


def latency_meaning(run: Run) -> LatencyMeaning:
    """What this run's latencies include (see the module docstring for the sources)."""
    log = run.log
    command = list(run.command or log.command)
    version = _version(run)
    result, separate = from_options(log.sections.get("Inference Options") or {},
                                    "the log's Inference Options")  # fmt: skip
    if result is None and run.files:
        options = run.profile_metadata.get("inference_options") or {}
        result, separate = from_options(options, "TREx inference_options")
    if result is None:
        result = from_flags(command, version)
    major = _major(version)
    if separate is None and major is not None:
        separate = major >= 11 or _has(command, "--separateProfileRun")
    profiling = any(_has(command, f) for f in _PROFILING_FLAGS)
    if command and separate is not None:
        result.profiler_in_timed_run = profiling and not separate
    elif separate:
        result.profiler_in_timed_run = False
    return result


#: what a typical application does: copies its inputs in and outputs out, launches the engine
#: without a CUDA graph and waits with a blocking sync
APP_LIKE = {"data_transfers": True, "cuda_graph": False, "spin_wait": False,
            "profiler_in_timed_run": False}  # fmt: skip


def flags_like_your_code(version: str | None) -> str:
    """How to make trtexec time as a plain application does (copies, no graph, blocking sync)."""
    major = _major(version)
    if major is not None and major >= 11:
        return "add --includeDataTransfers --noCudaGraph --noSpinWait"
    if major is None:
        return ("from TensorRT 11.0 add --includeDataTransfers --noCudaGraph --noSpinWait; "
                "before 11.0 leave out --noDataTransfers --useCudaGraph --useSpinWait")  # fmt: skip
    return ("leave out --noDataTransfers --useCudaGraph --useSpinWait (TensorRT 10.x and older "
            "time that way by default) and add --separateProfileRun when profiling layers")  # fmt: skip


def differences(meanings: list[LatencyMeaning]) -> list[str]:
    """The settings on which the runs' latencies differ (unknown values do not count)."""
    out = []
    for key in SETTINGS:
        values = {getattr(m, key) for m in meanings} - {None}
        if len(values) > 1:
            out.append(key)
    return out
