"""Cluster engines for sweeps: five operations, a runner built on them, an executor base.

A cluster engine (Slurm today; Kubernetes Jobs would be the next) queues one job per variant and
decides itself when and on which GPU it runs. What trt_magic needs from it is five operations,
:class:`ClusterEngine`: ``submit`` a job with its resources, its ``status``, its ``log`` so far,
``cancel``, and ``fetch_outputs`` (nothing to do on a shared filesystem; a copy-back for engines
without one). :class:`ClusterRunner` turns those into a trtexec backend (``run(job) -> Run``), so
a cluster build goes through the same ``trtexec()`` as a Docker one: the same engine cache
(resume), log file beside the engine, partial-output clean-up, flag checks and summary.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..commandline.command import format_command
from ..runners.base import (
    Job,
    abort,
    new_run,
    pump,
    settle_outputs,
    settle_run,
    status_for,
    summarize,
)
from ..runners.external_data import external_data_files
from .executors import Executor
from .scheduler import Slot

__all__ = ["ClusterEngine", "ClusterExecutor", "ClusterJob", "ClusterRunner", "JobState"]

#: states in which a job has not ended yet (Slurm's names; other engines map onto them)
ACTIVE_STATES = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING",
     "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "STOPPED"}
)  # fmt: skip


@dataclass
class ClusterJob:
    """What to submit: trtexec's argv (host paths on the shared filesystem) and its resources."""

    argv: list[str]
    name: str
    gpu_type: str | None
    workdir: Path
    output: Path  # the file the engine writes the job's console output to
    inputs: list[Path] = field(default_factory=list)  # read-only for containers
    outputs: list[Path] = field(default_factory=list)  # files trtexec writes
    id: str = ""  # the engine's job id, set by submit


@dataclass
class JobState:
    """A job's state as the engine reports it."""

    state: str  # PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, ...
    exit_code: int | None = None
    reason: str = ""  # why it waits or failed (Resources, Priority, ...)
    node: str = ""
    gres: str = ""  # the GPUs it got, e.g. "gpu:h100:1(IDX:0)"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


class ClusterEngine(ABC):
    """The five operations a cluster engine offers trt_magic (see the module docstring)."""

    name = "cluster"

    @abstractmethod
    def submit(self, job: ClusterJob) -> str:
        """Queue ``job``; return its id. Raise RunnerError with the engine's reason if refused."""

    @abstractmethod
    def status(self, job: ClusterJob) -> JobState:
        """The job's current state (ended jobs keep their final state and exit code)."""

    def read_log(self, job: ClusterJob, offset: int) -> bytes:
        """The job's console output from byte ``offset`` on (default: its output file)."""
        try:
            with open(job.output, "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:  # not started yet
            return b""

    @abstractmethod
    def cancel(self, job: ClusterJob, wait: float = 30.0) -> None:
        """Stop the job and wait (up to ``wait`` s) until it has left the node."""

    def fetch_outputs(self, job: ClusterJob) -> None:
        """Bring the job's output files to where the flags name them (shared filesystem: no-op)."""
        return None

    @abstractmethod
    def identity(self, gpu_type: str | None) -> tuple[str, str]:
        """(what runs trtexec, where) for the engine cache key and ``Run.host``."""


def _inputs(job: Job) -> list[Path]:
    """The files a container on the node may read: each input the flags name, and an ONNX's
    external-data files beside it (read-only mounts, file by file)."""
    found: list[Path] = []
    for ref in job.plan.inputs:
        found.append(ref.host)
        if ref.flag == "--onnx" and ref.host.is_file():
            found += [ref.host.parent / loc for loc in external_data_files(ref.host)
                      if (ref.host.parent / loc).is_file()]  # fmt: skip
    return list(dict.fromkeys(found))


def _written(job: Job, ref) -> Path:
    """Where trtexec on the node writes ``ref``: its place in the run's own folder, when the run
    has one (the only folder a container on the node may write), else a temporary name."""
    if job.stage is not None:
        return job.stage.staged(ref)
    return ref.temp_host or ref.host


class ClusterRunner:
    """A trtexec backend that runs each build as one job of a :class:`ClusterEngine`.

    Args:
        engine: the cluster engine.
        gpu_type: the GPU type each job asks for (None: any GPU the engine gives).
        poll: seconds between status/log polls while a job is queued or running.
    """

    maps_paths = False  # trtexec sees host paths (the shared filesystem), like the local backend

    def __init__(self, engine: ClusterEngine, gpu_type: str | None, poll: float = 0.5):
        self.engine = engine
        self.gpu_type = gpu_type
        self.poll = poll
        self.name = engine.name

    @property
    def host(self) -> str:
        return self.engine.identity(self.gpu_type)[1]

    def image_id(self, image: str | None = None, note=None) -> str:
        return self.engine.identity(self.gpu_type)[0]

    def run(self, job: Job) -> Any:
        """Submit ``job`` as one cluster job, stream its output file, return its Run."""
        run = new_run(job, self.engine.name)
        run.host = self.host
        if job.stage is None:  # a bare plan (no per-run folder): outputs go where the flags say
            for ref in job.plan.outputs:
                ref.host.parent.mkdir(parents=True, exist_ok=True)
        cjob = self._cluster_job(job)
        cjob.id = self.engine.submit(cjob)
        job.sink.note(f"{self.engine.name} job {cjob.id} submitted ({self._resources()})")
        state: list[JobState] = []
        try:
            stopped = pump(self._chunks(cjob, state), job, time.time(), lambda: self._stop(cjob))
            if stopped is None and not state:
                state.append(self.engine.status(cjob))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                job.sink.note(f"interrupted: {self.engine.name} job {cjob.id} cancelled")
            settle_outputs(job.plan, ok=False)
            abort(job, lambda: self._stop(cjob), lambda: cjob.output.unlink(missing_ok=True))
            raise
        final = state[-1] if state else self.engine.status(cjob)
        exit_code = None if stopped else final.exit_code
        if not stopped and final.state != "COMPLETED" and exit_code == 0:
            exit_code = None  # cancelled from outside, node failure: not a trtexec success
        if not stopped:
            self.engine.fetch_outputs(cjob)
        cjob.output.unlink(missing_ok=True)
        if job.stage is None:
            job.sink.close()
            run.exit_code, run.status = exit_code, status_for(exit_code, stopped)
            settle_outputs(job.plan, ok=run.status == "passed")
        else:  # only what this job wrote in its own folder, and only when it passed
            settle_run(run, job, exit_code, stopped)
        if run.status == "failed" and final.state not in ("COMPLETED", "FAILED"):
            run.notes.append(f"{self.engine.name} job {cjob.id} ended {final.state} {final.reason}")
        run.duration_s = time.time() - run.started
        run.placement = _placement(self.engine.name, cjob, final)
        run.notes.append(run.placement)
        if stopped:
            run.notes.append(f"stopped ({stopped}); job cancelled, partial engine deleted")
        if job.sink.live is not None:
            job.sink.live.finish(summarize(run, job.sink, format_command(cjob.argv)))
        return run

    def _resources(self) -> str:
        return f"GPU type {self.gpu_type}" if self.gpu_type else "any GPU"

    def _cluster_job(self, job: Job) -> ClusterJob:
        log = job.sink.log_path
        folder = log.parent if log is not None else job.workdir
        folder.mkdir(parents=True, exist_ok=True)
        stem = f".trt_magic-{self.engine.name}-{time.time_ns()}-{threading.get_ident()}"
        named = job.stage.log_destination(True) if job.stage is not None else log  # <engine>.log
        name = "trtexec-" + (named.name.removesuffix(".log") if named is not None else "run")
        return ClusterJob(
            argv=list(job.plan.args),
            name=name[:64],
            gpu_type=self.gpu_type,
            workdir=Path(job.workdir),
            output=folder / f"{stem}.out",
            inputs=_inputs(job),
            outputs=[
                _written(job, r) for r in job.plan.refs if r.direction in ("output", "inout", "dir")
            ],
        )

    def _chunks(self, cjob: ClusterJob, state: list[JobState]) -> Iterator[bytes]:
        """The job's output as it grows, until the job has ended and the file is read out."""
        offset, seen = 0, JobState("PENDING")
        while True:
            now = self.engine.status(cjob)
            # an ended job's record may no longer say where it ran: keep what running said
            now.node, now.gres = now.node or seen.node, now.gres or seen.gres
            seen = now
            chunk = self.engine.read_log(cjob, offset)
            if chunk:
                offset += len(chunk)
                yield chunk
            if not now.active:
                rest = self.engine.read_log(cjob, offset)
                if rest:
                    yield rest
                state.append(now)
                return
            time.sleep(self.poll)

    def _stop(self, cjob: ClusterJob) -> None:
        self.engine.cancel(cjob)


def _placement(engine: str, cjob: ClusterJob, state: JobState) -> str:
    where = " ".join(p for p in (state.node, state.gres) if p)
    return f"{engine} job {cjob.id} {state.state}" + (f" on {where}" if where else "")


class ClusterExecutor(Executor):
    """An executor that hands every variant to a cluster engine at once.

    Each GPU type is one slot; ``max_jobs`` variants of a slot are in the engine's queue at once
    (the engine, not trt_magic, keeps each GPU to one build).
    """

    lanes = 64
    every_slot = True  # several GPU types: every variant is built on each

    def __init__(self, engine: ClusterEngine, gpu_types: list[str | None], max_jobs: int = 64):
        self.engine = engine
        self.gpu_types = gpu_types
        self.lanes = max_jobs
        self._runners = {t: ClusterRunner(engine, t) for t in gpu_types}

    def slots(self) -> list[Slot]:
        host = self.engine.identity(None)[1]
        return [Slot(host, t or "any") for t in self.gpu_types]

    def build_options(self, slot: Slot, container_gpus: str | None) -> dict[str, Any]:
        gpu_type = None if slot.gpu == "any" else slot.gpu
        return {"runner": self._runners[gpu_type]}
