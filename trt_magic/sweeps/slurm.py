"""Slurm as a sweep's executor: one ``sbatch`` job per variant, with the GPU type it asks for.

``sweep(onnx, ..., executor=SlurmExecutor(partition="gpu", gpu_type="h100"))`` hands every
variant to Slurm at once; Slurm queues them on its GPUs (``--gres=gpu:<type>:1``), so trt_magic
never schedules a cluster's GPUs itself. On the node, trtexec runs through NVIDIA's pyxis
(``srun --container-image=nvcr.io#nvidia/tensorrt:<tag>``) when the site has it and a container
is set, else the node's trtexec (a path, or after ``module load``), else the node's Docker
(see slurm_job.py, the batch script). Logs stream from the job's output file while it runs;
outputs land on the shared filesystem; cancel is ``scancel``; state comes from ``scontrol``
(``sacct`` once the controller has forgotten the job). Only Slurm's own commands are used,
always as argument lists.

Settings are traitlets: ``%config SlurmExecutor.partition = "gpu"``, or environment variables
``TRT_MAGIC_SLURM_PARTITION``, ``_GPU_TYPE``, ``_CONTAINER``, ``_TRTEXEC``, ``_MODULES``, ``_MODE``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from traitlets import Enum, Float, Int, List, TraitError, Unicode, default
from traitlets.config import Configurable

from ..errors import ConfigError, RunnerError, UsageError
from . import slurm_job
from .cluster import ClusterEngine, ClusterExecutor, ClusterJob, JobState

__all__ = ["SlurmEngine", "SlurmExecutor"]

COMMAND_TIMEOUT = 30.0  # seconds for one sbatch/squeue/scontrol call (a dead slurmctld hangs them)
_GRES = re.compile(r"gpu:([^:(,\s]+)(?::(\d+))?")


def _env(name: str, fallback):
    raw = os.environ.get(f"TRT_MAGIC_SLURM_{name.upper()}", "").strip()
    if not raw:
        return fallback
    if isinstance(fallback, list):
        return [p for p in re.split(r"[,\s]+", raw) if p]
    return raw


class SlurmEngine(ClusterEngine):
    """Slurm's commands behind the five cluster operations (see cluster.py)."""

    name = "slurm"

    def __init__(
        self,
        partition: str = "",
        mode: str = "auto",
        container: str = "",
        trtexec: str = "trtexec",
        modules: list[str] | None = None,
        sbatch_args: list[str] | None = None,
        time_limit: str = "",
    ):
        self.partition, self.mode, self.container = partition, mode, container
        self.trtexec, self.modules = trtexec, list(modules or [])
        self.sbatch_args, self.time_limit = list(sbatch_args or []), time_limit

    # -- the five operations -------------------------------------------------------------------
    def submit(self, job: ClusterJob) -> str:
        try:
            out = _slurm(self.sbatch_argv(job), what="sbatch")
        except RunnerError as exc:
            raise _explain_refusal(exc, self.partition, job.gpu_type) from None
        job_id = out.strip().split(";")[0].strip()
        if not job_id.isdigit():
            raise RunnerError(f"sbatch answered {out.strip()!r}, not a job id.")
        return job_id

    def status(self, job: ClusterJob) -> JobState:
        try:
            text = _slurm(["scontrol", "show", "job", "-d", job.id], what="scontrol")
        except RunnerError:  # forgotten by the controller (MinJobAge): ask accounting
            return self._sacct(job)
        return parse_scontrol_job(text)

    def cancel(self, job: ClusterJob, wait: float = 30.0) -> None:
        try:
            _slurm(["scancel", job.id], what="scancel")
        except RunnerError:
            pass  # already gone
        end = time.monotonic() + wait
        while time.monotonic() < end and self.status(job).active:
            time.sleep(0.2)

    def identity(self, gpu_type: str | None) -> tuple[str, str]:
        runs = self.container if self.mode in ("pyxis", "docker") else self.trtexec
        modules = "+".join(self.modules)
        what = f"slurm:{self.mode}:{runs}" + (f":{modules}" if modules else "")
        where = f"slurm:{self.partition or 'default'}"
        return what, where + (f"/{gpu_type}" if gpu_type else "")

    # -- helpers -------------------------------------------------------------------------------
    def sbatch_argv(self, job: ClusterJob) -> list[str]:
        """The ``sbatch`` argv for ``job`` (no shell: the batch script is slurm_job.py)."""
        argv = ["sbatch", "--parsable", f"--job-name={job.name}", f"--output={job.output}",
                f"--chdir={job.workdir}", "--ntasks=1", "--export=ALL"]  # fmt: skip
        if self.partition:
            argv.append(f"--partition={self.partition}")
        argv.append(f"--gres=gpu:{job.gpu_type}:1" if job.gpu_type else "--gres=gpu:1")
        if self.time_limit:
            argv.append(f"--time={self.time_limit}")
        argv += self.sbatch_args
        argv += [slurm_job.__file__, *self.node_args(job)]
        return argv

    def node_args(self, job: ClusterJob) -> list[str]:
        """slurm_job.py's own arguments: how trtexec runs on the node, then ``--`` and its argv."""
        args = ["--mode", self.mode, "--trtexec", self.trtexec]
        for m in self.modules:
            args += ["--module", m]
        if self.container:
            args += ["--container", self.container]
        for p in job.inputs:
            args += ["--ro", str(p)]
        for d in sorted({str(Path(p).parent) for p in job.outputs}):
            args += ["--rw", d]
        return [*args, "--", *job.argv]

    def node_command(self, job: ClusterJob, env: dict[str, str] | None = None) -> list[str]:
        """What the node runs for ``job`` (for the docs and tests: pyxis is not packaged here)."""
        outs = sorted({str(Path(p).parent) for p in job.outputs})
        return slurm_job.node_command(
            self.mode, job.argv, trtexec=self.trtexec, modules=self.modules,
            container=self.container, ro=[str(p) for p in job.inputs], rw=outs, env=env or {},
        )  # fmt: skip

    def _sacct(self, job: ClusterJob) -> JobState:
        try:
            out = _slurm(["sacct", "-j", job.id, "-n", "-P", "-X", "-o", "State,ExitCode,NodeList"],
                         what="sacct")  # fmt: skip
        except RunnerError:
            out = ""
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) >= 2 and parts[0]:
                code = parts[1].split(":")[0]
                return JobState(parts[0].split()[0], int(code) if code.isdigit() else None,
                                node=parts[2] if len(parts) > 2 else "")  # fmt: skip
        return JobState("UNKNOWN", None, reason="Slurm no longer knows this job")


def parse_scontrol_job(text: str) -> JobState:
    """JobState from ``scontrol show job -d`` (``JobState=... ExitCode=a:b ... GRES=...``)."""
    fields: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep and key not in fields:
            fields[key] = value
    code = fields.get("ExitCode", "").split(":")[0]
    # the -d detail line names the very GPUs (GRES=gpu:l4:1(IDX:2)) while the job runs; after
    # it, only the request (JOB_GRES=gpu:l4:1) is left (tests/data/slurm/scontrol-*.txt)
    m = re.search(r"\bGRES=(\S+)", text)
    gres = m.group(1) if m else fields.get("JOB_GRES", "")
    gres = "" if gres == "(null)" else gres
    node = fields.get("NodeList", "")
    return JobState(
        state=fields.get("JobState", "UNKNOWN"),
        exit_code=int(code) if code.isdigit() else None,
        reason="" if fields.get("Reason") in (None, "None") else fields["Reason"],
        node="" if node == "(null)" else node,
        gres=gres,
    )


def _slurm(argv: list[str], what: str) -> str:
    """Run one Slurm command (argument list, no shell); its stdout, or RunnerError with stderr."""
    exe = shutil.which(argv[0])
    if exe is None:
        raise RunnerError(
            f"{argv[0]} is not on PATH: this machine cannot talk to a Slurm cluster.",
            hint="run the notebook on a login node (or a JupyterHub that spawns on the cluster), "
            "load the Slurm module, or sweep on Docker hosts with hosts=[...]",
        )
    try:
        proc = subprocess.run([exe, *argv[1:]], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RunnerError(
            f"{what} did not answer within {COMMAND_TIMEOUT:.0f} s.",
            hint="is slurmctld up? `scontrol ping` says; ask the cluster's admins",
        ) from None
    if proc.returncode != 0:
        raise RunnerError(f"{what} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _explain_refusal(exc: RunnerError, partition: str, gpu_type: str | None) -> RunnerError:
    """sbatch's refusal with the fix (its texts: tests/data/slurm/sbatch-*.txt)."""
    text = exc.message
    if "Invalid partition" in text or "invalid partition" in text:
        hint = "SlurmExecutor(partition=...) with a partition `sinfo` lists"
    elif "Requested node configuration is not available" in text:
        hint = (f"no node offers --gres=gpu:{gpu_type or ''}:1 in {partition or 'the default partition'}"
                "; `sinfo -o '%P %G'` lists the GPU types")  # fmt: skip
    elif "Invalid generic resource" in text:
        hint = "check gpu_type against `sinfo -o '%P %G'`"
    else:
        hint = "the message above is sbatch's own; `sbatch --test-only` reproduces it"
    return RunnerError(f"Slurm refused the job: {text.removeprefix('sbatch failed: ')}", hint=hint)


def cluster_gres() -> dict[str, set[str]]:
    """partition -> GPU types its nodes offer (``sinfo``), the default partition first."""
    out = _slurm(["sinfo", "-h", "-o", "%P|%G"], what="sinfo")
    found: dict[str, set[str]] = {}
    for line in out.splitlines():
        part, _, gres = line.partition("|")
        types = found.setdefault(part.strip(), set())
        types.update(m.group(1) for m in _GRES.finditer(gres) if not m.group(1).isdigit())
    return found


def has_pyxis() -> bool:
    """True when srun has pyxis's ``--container-image`` (the site runs containers that way)."""
    try:
        return "--container-image" in _slurm(["srun", "--help"], what="srun")
    except RunnerError:
        return False


class SlurmExecutor(ClusterExecutor, Configurable):
    """Run a sweep's variants as Slurm jobs (see the module docstring).

    Args (also traitlets settings, so ``%config SlurmExecutor.partition = "gpu"`` works):
        partition: the partition to submit to ('' = the cluster's default).
        gpu_type: GPU type(s) of ``--gres=gpu:<type>:1``; several build every variant on each.
        container: the TensorRT image (pyxis or the node's Docker).
        mode: "auto", "pyxis", "local" (trtexec on the node) or "docker" (the node's Docker).
        trtexec: the trtexec on the node (a path or a name on PATH); modules: to ``module load``.
        max_jobs: variants of one GPU type in Slurm's queue at once.
    """

    partition = Unicode(help="Slurm partition ('' = default) (env TRT_MAGIC_SLURM_PARTITION)").tag(config=True)  # fmt: skip
    gpu_type = List(Unicode(), help="GPU types, --gres=gpu:<type>:1 (env TRT_MAGIC_SLURM_GPU_TYPE)").tag(config=True)  # fmt: skip
    container = Unicode(help="TensorRT image for pyxis / docker mode (env TRT_MAGIC_SLURM_CONTAINER)").tag(config=True)  # fmt: skip
    mode = Enum(["auto", "pyxis", "local", "docker"], help="How trtexec runs on the node (env TRT_MAGIC_SLURM_MODE)").tag(config=True)  # fmt: skip
    trtexec = Unicode(help="trtexec on the node (env TRT_MAGIC_SLURM_TRTEXEC)").tag(config=True)
    modules = List(Unicode(), help="Environment modules to load (env TRT_MAGIC_SLURM_MODULES)").tag(config=True)  # fmt: skip
    sbatch_args = List(Unicode(), help="Extra sbatch options, e.g. ['--account=lab']").tag(config=True)  # fmt: skip
    time_limit = Unicode("", help="sbatch --time, e.g. '00:30:00'").tag(config=True)
    max_jobs = Int(64, help="Variants of one GPU type queued at once").tag(config=True)
    poll = Float(0.5, help="Seconds between squeue/log polls").tag(config=True)

    @default("partition")
    def _d_partition(self):
        return _env("partition", "")

    @default("gpu_type")
    def _d_gpu_type(self):
        return _env("gpu_type", [])

    @default("container")
    def _d_container(self):
        return _env("container", "")

    @default("mode")
    def _d_mode(self):
        return _env("mode", "auto")

    @default("trtexec")
    def _d_trtexec(self):
        return _env("trtexec", "trtexec")

    @default("modules")
    def _d_modules(self):
        return _env("modules", [])

    def __init__(self, gpu_type: str | list[str] | None = None, **kwargs):
        if isinstance(gpu_type, str):
            gpu_type = [gpu_type]
        if gpu_type is not None:
            kwargs["gpu_type"] = list(gpu_type)
        kwargs.setdefault("config", _ipython_config())
        try:
            Configurable.__init__(self, **kwargs)
            settings = {name: getattr(self, name) for name in self.trait_names(config=True)}
        except TraitError as exc:  # a bad argument, %config value or TRT_MAGIC_SLURM_* variable
            raise ConfigError(
                f"SlurmExecutor: {exc}",
                hint="check the argument, %config SlurmExecutor.<name> or TRT_MAGIC_SLURM_<NAME>",
            ) from None
        del settings
        engine = SlurmEngine(self.partition, self.mode, self.container, self.trtexec,
                             self.modules, self.sbatch_args, self.time_limit)  # fmt: skip
        ClusterExecutor.__init__(self, engine, list(self.gpu_type) or [None], self.max_jobs)
        for runner in self._runners.values():
            runner.poll = self.poll

    name = "slurm"

    def check(self) -> None:
        """Before any job: sbatch is there, the partition and GPU types exist, the mode works."""
        offered = cluster_gres()
        if self.partition and self.partition not in {p.rstrip("*") for p in offered}:
            names = ", ".join(sorted(p.rstrip("*") for p in offered)) or "none"
            raise UsageError(
                f"Slurm partition {self.partition!r} does not exist (partitions: {names}).",
                hint="SlurmExecutor(partition=...) with one of them; `sinfo` lists them",
            )
        parts = [p for p in offered if p.rstrip("*") == self.partition] if self.partition else [
            p for p in offered if p.endswith("*")] or list(offered)  # fmt: skip
        types = set().union(*(offered[p] for p in parts)) if parts else set()
        unknown = [t for t in self.gpu_type if t not in types]
        if unknown:
            where = self.partition or "the default partition"
            raise UsageError(
                f"no GPU of type {', '.join(unknown)} in {where} (GPU types there: "
                f"{', '.join(sorted(types)) or 'none'}).",
                hint="SlurmExecutor(gpu_type=...) with one of them; `sinfo -o '%P %G'` lists them",
            )
        if self.mode == "pyxis" and not self.container:
            raise UsageError("mode 'pyxis' needs a container image.", hint="container='nvcr.io/nvidia/tensorrt:25.01-py3'")  # fmt: skip
        if self.mode == "auto" and self.container and has_pyxis():
            self.engine.mode = "pyxis"

    def describe(self) -> str:
        how = {"pyxis": f"pyxis container {self.container}", "docker": f"the node's Docker, {self.container}"}  # fmt: skip
        run = how.get(self.engine.mode, f"trtexec on the node ({self.trtexec})")
        return f"Slurm partition {self.partition or '(default)'}: one job per variant, {run}"


def _ipython_config():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    return shell.config if shell is not None else None
