"""The run object: one trtexec invocation, however it ran (docker, local, replay, or files on disk).

Runners fill the *how it ran* fields; the parsed views (``summary``, ``layers``, ``timings``,
``errors``...) are computed lazily from the files, so a run loaded with ``load_run`` and one just
built look the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: keys of ``Run.files``: what each file is (the trtexec flag that wrote or read it)
FILE_KINDS = (
    "onnx",  # --onnx (input)
    "engine",  # --saveEngine / --loadEngine
    "log",  # the full console log (trt_magic writes it beside the outputs)
    "profile",  # --exportProfile
    "layer_info",  # --exportLayerInfo
    "times",  # --exportTimes
    "output",  # --exportOutput
    "timing_cache",  # --timingCacheFile
    "build_metadata",  # TREx *.build.metadata.json
    "profile_metadata",  # TREx *.profile.metadata.json
    "device_metadata",  # TREx *.metadata.json
)


@dataclass
class Recorded:
    """Where a replayed (recorded) run came from: shown wherever the run is shown."""

    source: str  # e.g. "NVIDIA/trt-samples-for-hackathon-cn cookbook/07-Tool/trtexec result-01.log"
    gpu: str = ""
    tensorrt: str = ""

    def label(self) -> str:
        parts = [p for p in (self.gpu, f"TensorRT {self.tensorrt}" if self.tensorrt else "") if p]
        return "recorded: " + ", ".join([self.source, *parts])


@dataclass
class Run:
    """One trtexec run: command, exit code, log, output files, timings and how it ran.

    Attributes:
        command: trtexec argv as the user gave it (host paths), without the leading ``trtexec``.
        exit_code: trtexec's exit code (None when it never ran to an end, e.g. interrupted).
        status: "passed", "failed", "interrupted", "timeout", or "loaded" (from files on disk).
        files: kind (see FILE_KINDS) -> host path of each file the run read or wrote.
        backend: "docker", "local", "replay" or "files".
        image: the container image (docker), with ``image_id`` its digest/id.
        gpus: the GPU request as given ("all", "none", "2", "0,1").
        host: the Docker host URL (docker) or hostname (local).
        docker_command: the ``docker run ... trtexec ...`` argv that reproduces the run by hand.
        started / duration_s: wall-clock start (epoch seconds) and duration.
        cached: True when the engine cache answered instead of a build.
        recorded: set for replayed runs: where the recording came from.
        log_text: the full log when it is not (yet) on disk; else read from ``files["log"]``.
    """

    command: list[str] = field(default_factory=list)
    exit_code: int | None = None
    status: str = "loaded"
    files: dict[str, Path] = field(default_factory=dict)
    backend: str = "files"
    image: str | None = None
    image_id: str | None = None
    gpus: str | None = None
    host: str | None = None
    docker_command: list[str] | None = None
    started: float | None = None
    duration_s: float | None = None
    cached: bool = False
    recorded: Recorded | None = None
    log_text: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def log_path(self) -> Path | None:
        return self.files.get("log")

    def read_log(self) -> str:
        """Return the full log text ('' when there is none)."""
        if self.log_text is not None:
            return self.log_text
        path = self.log_path
        if path is not None and Path(path).exists():
            return Path(path).read_text(encoding="utf-8", errors="replace")
        return ""
