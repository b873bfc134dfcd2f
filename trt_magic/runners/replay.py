"""The replay backend: answer with a recorded REAL trtexec run instead of running anything.

For lessons without a GPU, and for tests (httpx's MockTransport idea: the real rendering and
parsing, a recorded transport). Recordings are package data in ``trt_magic/data/recorded/``
(``manifest.json`` + SOURCES.md). The run is marked ``Run.recorded`` (source, GPU, TensorRT) and
says so in its notes; nothing is written into the user's folders.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..commandline.flags import split_flag
from ..results.run import Recorded, Run
from .base import Job, new_run, status_for, summarize
from .replay_diff import differences

RECORDED_DIR = Path(__file__).parent.parent / "data" / "recorded"

#: precision flags, strongest first (a request's precision is its strongest flag)
_PRECISIONS = (("--best", "int8"), ("--int8", "int8"), ("--fp8", "fp8"), ("--fp16", "fp16"))


@dataclass(frozen=True)
class Recording:
    id: str
    source: str
    gpu: str
    tensorrt: str
    precision: str
    flags: tuple[str, ...]
    exit_code: int
    files: dict
    model: str = ""  # the recorded model's file name (SOURCES.md says where each was read)
    shapes: dict = field(default_factory=dict)  # min/opt/max/shapes -> trtexec spelling

    def recorded(self, differences: list[str] | None = None) -> Recorded:
        return Recorded(source=self.source, gpu=self.gpu, tensorrt=self.tensorrt,
                        recording=self.id, differences=list(differences or []))  # fmt: skip

    def paths(self) -> dict[str, Path]:
        return {kind: RECORDED_DIR / rel for kind, rel in self.files.items()}


@lru_cache(maxsize=1)
def recordings() -> tuple[Recording, ...]:
    """The shipped recordings, in manifest order (earlier wins ties)."""
    data = json.loads((RECORDED_DIR / "manifest.json").read_text(encoding="utf-8"))
    return tuple(
        Recording(**{**r, "flags": tuple(r["flags"])})
        for r in data["recordings"]  # fmt: skip
    )


def request_precision(args: list[str]) -> str:
    names = {split_flag(a)[0] for a in args}
    return next((p for flag, p in _PRECISIONS if flag in names), "fp32")


def pick_recording(args: list[str], recording: str | None = None) -> Recording:
    """The recording that best answers ``args``: same precision first, then most shared flags.

    A request's outputs count double (``--exportProfile`` wants a recording that has a profile).
    ``recording`` names one explicitly (its ``id``).
    """
    all_recs = recordings()
    if recording is not None:
        for rec in all_recs:
            if rec.id == recording:
                return rec
        from ..errors import UsageError

        raise UsageError(
            f"no recording named {recording!r}",
            hint="one of: " + ", ".join(r.id for r in all_recs),
        )
    names = {split_flag(a)[0] for a in args}
    precision = request_precision(args)

    def score(rec: Recording) -> tuple[int, int, int]:
        shared = names & set(rec.flags)
        wanted_files = {"--exportProfile": "profile", "--exportLayerInfo": "layer_info"}
        has = sum(2 for f, k in wanted_files.items() if f in names and k in rec.files)
        extra = len(set(rec.flags) - names)
        return (rec.precision == precision, len(shared) + has, -extra)

    return max(all_recs, key=score)  # max keeps the first of equals


class ReplayRunner:
    """Replays a recorded real run (see module docstring). ``recording`` forces one by id."""

    name = "replay"

    def __init__(self, recording: str | None = None, tensorrt: str | None = None):
        if recording is not None:
            from ..checks import check_choice, check_type

            check_type("recording", recording, str, hint="ReplayRunner('trex-a100-fp16')")
            check_choice("recording", recording, [r.id for r in recordings()])
        self.recording = recording
        self.tensorrt = tensorrt  # the TensorRT the request targets (None: any)

    def run(self, job: Job) -> Run:
        rec = pick_recording(job.args, self.recording)
        run = new_run(job, "replay")
        run.files = {k: v for k, v in rec.paths().items()}  # never the user's paths
        run.recorded = rec.recorded(
            differences(rec, job.args, job.plan.files().get("onnx"), job.gpus, job.image)
        )
        run.image = job.image
        run.host = "recorded"
        label = run.recorded.label()
        run.notes = [f"replayed, nothing ran: {label} (recording {rec.id})", *run.notes]
        major = (self.tensorrt or "").split(".")[0]
        if major.isdigit() and int(major) >= 11:
            run.notes.append(
                f"no real TensorRT {self.tensorrt} recording is public, so none is shipped: this "
                f"answer is the TensorRT {rec.tensorrt or 'unknown'} recording {rec.id}, not an "
                f"11.x run (flags, precisions and timings are that version's)"
            )
            job.sink.note(run.notes[-1])
        if "log" not in rec.files:
            run.notes.append("this recording has no console log, only its JSON exports")
        if any(a.startswith("--saveEngine") for a in job.args):
            run.notes.append("no engine file: recordings do not ship engines")
        job.sink.note(label)
        log = rec.paths().get("log")
        if log is not None:
            with open(log, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 16), b""):
                    job.sink.feed(chunk)
        job.sink.close()
        run.exit_code = rec.exit_code
        run.status = status_for(rec.exit_code, None)
        run.duration_s = time.time() - run.started
        if job.sink.live is not None:
            job.sink.live.finish(replay_summary(run, job.sink))
        return run


def replay_summary(run: Run, sink) -> str:
    """The live view's closing lines: REPLAYED, never PASSED, and what differs."""
    head = summarize(run, sink, None).splitlines()
    verdict = (
        "recorded run PASSED" if run.status == "passed" else f"recorded run {run.status.upper()}"
    )
    lines = [f"REPLAYED, nothing ran ({verdict}): {run.recorded.label()}"]
    lines += [f"  differs from your request: {d}" for d in run.recorded.differences]
    return "\n".join(lines + head[1:] if run.status != "passed" else lines)
