"""The run object: one trtexec invocation, however it ran (docker, local, replay, or files on disk).

Runners fill the *how it ran* fields; the parsed views (``summary``, ``layers``, ``timings``,
``errors``...) are computed lazily from the files, so a run loaded with ``load_run`` and one just
built look the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .exports import LayerRecord, ProfileRecord
    from .log import ParsedLog

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
    """Where a replayed (recorded) run came from, and how it differs from the request: shown
    wherever the run is shown (summary, repr/HTML, compare, sweeps, engine graph, Build).

    Attributes:
        source: the recording's origin (repository and file).
        gpu / tensorrt: where and with what it was measured.
        recording: the recording's id (``ReplayRunner(recording=...)``).
        differences: one sentence per way the recording differs from the request (model,
            shapes, GPU, TensorRT, precision, flags); its figures do not describe the request.
    """

    source: str  # e.g. "NVIDIA/trt-samples-for-hackathon-cn cookbook/07-Tool/trtexec result-01.log"
    gpu: str = ""
    tensorrt: str = ""
    recording: str = ""
    differences: list[str] = field(default_factory=list)

    def label(self) -> str:
        from .log import spell_version  # "8601" -> "8.6.1": versions are always dotted

        version = spell_version(self.tensorrt) if self.tensorrt else ""
        parts = [p for p in (self.gpu, f"TensorRT {version}" if version else "") if p]
        return "recorded: " + ", ".join([self.source, *parts])

    def describe(self) -> str:
        """The label and every difference, one per line (for text views)."""
        lines = [f"{self.label()} - not measured for this request"]
        return "\n".join(lines + [f"  differs: {d}" for d in self.differences])


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
        tensorrt: the TensorRT version the run targeted, with where that came from.
        rewrite: the model rewrite that stood for precision flags TensorRT 11 removed
            (a ``trt_magic.rewrite.RewriteRecord``: what, where, settings, cost), else None.
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
    tensorrt: Any = None
    rewrite: Any = None
    shape_profile: int | None = None  # the optimization profile ``layers`` shows (None: default)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def log_path(self) -> Path | None:
        return self.files.get("log")

    def read_log(self) -> str:
        """Return the full log text ('' when there is none)."""
        if self.log_text is not None:
            return self.log_text
        path = self.log_path
        if path is not None and Path(path).exists():
            from .log import _open_log

            with _open_log(path) as fh:
                return fh.read()
        return ""

    def __repr__(self) -> str:
        # short: the dataclass default would print the whole log_text
        command = " ".join(self.command)
        command = command if len(command) <= 80 else command[:77] + "..."
        extra = ""
        if self.recorded:
            extra = f", recorded={self.recorded.source!r} ({len(self.recorded.differences)} differences)"
        return (f"Run(status={self.status!r}, exit_code={self.exit_code}, backend={self.backend!r}, "
                f"command={command!r}, files={sorted(self.files)}{extra})")  # fmt: skip

    # ----- parsed views (computed on first use, recomputed when files or the log change) -----

    def _state(self) -> tuple:
        """What the views depend on: the files (and their size and mtime, so a log still being
        written is re-read), the in-memory log, the status."""
        stamps = []
        for kind, path in sorted(self.files.items()):
            try:
                st = os.stat(path)
                stamps.append((kind, str(path), st.st_size, st.st_mtime_ns))
            except OSError:
                stamps.append((kind, str(path), None, None))
        return (tuple(stamps), len(self.log_text or ""), self.status, self.exit_code)

    def _cached(self, key: str, compute):
        state = self._state()
        if self._cache.get("_state") != state:
            self._cache.clear()
            self._cache["_state"] = state
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def refresh(self) -> None:
        """Forget the parsed views (after files on disk changed)."""
        self._cache.clear()

    def _file(self, kind: str) -> Path | None:
        path = self.files.get(kind)
        return Path(path) if path is not None and Path(path).is_file() else None

    @property
    def log(self) -> ParsedLog:
        """The parsed trtexec log (``trt_magic.results.log.ParsedLog``); empty when there is none."""
        from .log import parse_log, parse_log_file

        def parse() -> ParsedLog:
            path = self.log_path
            if self.log_text is None and path is not None and Path(path).is_file():
                return parse_log_file(path)  # streamed, never the whole text in memory
            return parse_log(self.read_log())

        return self._cached("log", parse)

    @property
    def ok(self) -> bool:
        """True when trtexec finished and reported PASSED (or, with no log, results exist)."""
        if self.status in ("failed", "interrupted", "timeout"):
            return False
        if self.exit_code not in (None, 0):
            return False
        if self.log.status is not None:
            return self.log.status == "passed"
        if self.exit_code == 0:
            return True
        return bool(self.profile_records or self.layer_info_raw or self.profile_metadata)

    @property
    def errors(self) -> list[str]:
        """The log's ``[E]`` lines (and ERROR-style lines found in untagged text)."""
        return self.log.errors

    @property
    def warnings(self) -> list[str]:
        return self.log.warnings

    @property
    def layer_info_raw(self) -> list:
        """``--exportLayerInfo``'s ``Layers`` entries as trtexec wrote them ([] without the file)."""
        from .exports import load_layer_info

        path = self._file("layer_info")
        return self._cached("layer_info_raw", lambda: load_layer_info(path)[0] if path else [])

    @property
    def layer_records(self) -> list[LayerRecord]:
        """``--exportLayerInfo`` as LayerRecords ([] without the file)."""
        from .exports import layer_record

        return self._cached("layer_records", lambda: [layer_record(r) for r in self.layer_info_raw])

    @property
    def profile_records(self) -> list[ProfileRecord]:
        """``--exportProfile`` records, else the log's ``--dumpProfile`` table, else []."""
        from .exports import read_profile

        path = self._file("profile")
        return self._cached(
            "profile_records", lambda: list(read_profile(path)) if path else list(self.log.profile)
        )

    def _metadata(self, kind: str) -> dict:
        from .exports import read_device_metadata, read_trex_metadata

        path = self._file(kind)
        reader = read_device_metadata if kind == "device_metadata" else read_trex_metadata
        return self._cached(kind, lambda: reader(path) if path else {})

    @property
    def build_metadata(self) -> dict:
        """TREx ``*.build.metadata.json`` sections ({} without the file)."""
        return self._metadata("build_metadata")

    @property
    def profile_metadata(self) -> dict:
        """TREx ``*.profile.metadata.json`` sections ({} without the file)."""
        return self._metadata("profile_metadata")

    @property
    def device_metadata(self) -> dict:
        """TREx's older device file ``*.metadata.json`` ({} without the file)."""
        return self._metadata("device_metadata")

    @property
    def layers(self) -> pd.DataFrame:
        """Profile joined with layer info: name, type, precision, tactic, time_ms, percent, ...

        For an engine with several optimization profiles, the layers of one profile:
        ``shape_profile`` when set, else the profiled one (else profile 0);
        ``layers.attrs["shape_profile"]`` says which, ``layers_for(n)`` shows another.
        """
        return self.layers_for(self.current_shape_profile)

    @property
    def shape_profiles(self) -> list[int]:
        """The optimization profiles the layer info (else the profile) has layers for: [0, 1, ...]."""
        from .shape_profiles import profiles_of

        return list(self._cached("shape_profiles", lambda: profiles_of(self)))

    @property
    def current_shape_profile(self) -> int:
        """The profile ``layers`` shows: ``shape_profile``, else the one with timings, else 0."""
        from .shape_profiles import current_profile

        return current_profile(self)

    def profile_layer_info_raw(self, profile: int | None = None) -> list:
        """``layer_info_raw`` of one optimization profile (all layers for a one-profile engine)."""
        from .shape_profiles import check_profile, profile_raw

        k = self.current_shape_profile if profile is None else profile
        check_profile(self, k)
        return self._cached(f"raw@{k}", lambda: profile_raw(self, k))

    def layers_for(self, profile: int) -> pd.DataFrame:
        """``layers`` of one optimization profile (layer names ending ``[profile N]``)."""
        from .shape_profiles import check_profile, layers_of

        check_profile(self, profile)
        return self._cached(f"layers@{profile}", lambda: layers_of(self, profile)).pipe(_detached)

    @property
    def precision_mix(self) -> pd.DataFrame:
        """Layers, time and share of time per precision (FP32, FP16, INT8...); warns loudly when
        a low-precision request runs mostly in FP32 (see ``trt_magic.results.precision``)."""
        from .precision import precision_mix

        return precision_mix(self)

    @property
    def layer_info(self) -> pd.DataFrame:
        """Every raw ``--exportLayerInfo`` attribute of every layer (one row each) plus ``type``,
        ``precision``, ``macs``, ``weights_bytes``, ``bias_bytes``, ``activation_bytes``,
        ``intensity`` (MACs per byte moved) and, when profiled, ``time_ms`` and ``percent``."""
        from .shape_profiles import layer_info_of

        k = self.current_shape_profile
        return self._cached(f"layer_info@{k}", lambda: layer_info_of(self, k)).pipe(_detached)

    @property
    def memory(self) -> dict[str, float]:
        """Engine memory in bytes: weights and layer outputs summed over the layer info, and the
        build log's ``Total Weights/Activation/Scratch/... Memory`` lines (``*_bytes``)."""
        from .layer_info import memory_totals

        raw = self.profile_layer_info_raw()
        return dict(self._cached("memory", lambda: memory_totals(raw, self.log.memory)))

    def lint(self) -> pd.DataFrame:
        """Linter findings: one row per (layer, rule) with why it matters and what to try;
        warnings first, costliest first (``trt_magic.results.lint`` lists the rules)."""
        from .shape_profiles import lint_of

        k = self.current_shape_profile
        return self._cached(f"lint@{k}", lambda: lint_of(self)).pipe(_detached)

    @property
    def timings(self) -> pd.DataFrame:
        """``--exportTimes``: one row per inference (empty frame without the file)."""
        import pandas as pd

        from .exports import read_times
        from .tables import timings_frame

        path = self._file("times")
        frame = self._cached(
            "timings", lambda: timings_frame(read_times(path)) if path else pd.DataFrame()
        )
        return _detached(frame)

    @property
    def trace(self) -> pd.DataFrame:
        """The log's ``Average on N runs`` series (GPU/host latency, enqueue per window)."""
        from .tables import trace_frame

        return self._cached("trace", lambda: trace_frame(self.log.trace_averages)).pipe(_detached)

    @property
    def summary(self) -> dict[str, Any]:
        """The run's figures as one flat dict (throughput_qps, latency_median_ms, ...)."""
        from .summary import build_summary

        return dict(self._cached("summary", lambda: build_summary(self)))

    @property
    def summary_frame(self) -> pd.DataFrame:
        """``summary`` as a one-row DataFrame."""
        import pandas as pd

        return pd.DataFrame([self.summary])

    def _repr_html_(self) -> str:
        from ..display.run_view import render_run

        return render_run(self)

    def to_html(self, path: str | Path, *, full: bool = True) -> Path:
        """Write a standalone HTML page of this run (with the full layer table when ``full``)."""
        from ..display.page import write_page
        from ..display.run_view import render_run

        return write_page(path, render_run(self, full_table=full), title=self.title())

    def title(self) -> str:
        """A short name for the run: the model or engine file, else the first flag.

        Runs loaded from files are named by folder and shared prefix
        (``A100-fp16/resnet.onnx.engine``), so two engines of one model stay apart. A recorded
        run is named by its recording and says so (``trex-a100-fp16 (recorded)``).
        """
        if self.recorded is not None:
            return f"{self.recorded.recording or self._file_title()} (recorded)"
        return self._file_title()

    def _file_title(self) -> str:
        for kind in ("onnx", "engine", "layer_info", "profile", "profile_metadata", "log"):
            if kind in self.files:
                path = Path(self.files[kind])
                name = path.name
                for suffix in _RESULT_SUFFIXES:
                    if name.endswith(suffix) and len(name) > len(suffix):
                        name = name[: -len(suffix)]
                        break
                if self.backend == "files" and path.parent.name:
                    return f"{path.parent.name}/{name}"
                return name
        return " ".join(self.command[:1]) or "trtexec run"


def _detached(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame the caller may change without touching the cached one. pandas >= 3 copies on
    write, so a shallow copy is enough and costs nothing; older pandas gets a deep copy."""
    import pandas as pd

    deep = int(pd.__version__.split(".")[0]) < 3
    return frame.copy(deep=deep)


#: file-name endings stripped from a loaded run's title (TREx's names, trtexec's usual ones)
_RESULT_SUFFIXES = (".profile.metadata.json", ".build.metadata.json", ".metadata.json",
                    ".profile.json", ".graph.json", ".layers.json", ".timing.json", ".log")  # fmt: skip
