"""Where a sweep's variants run: the executor interface, and the Docker-hosts executor.

An executor turns a sweep's variants into builds. It says where builds can run (its *slots*,
each a :class:`~trt_magic.sweeps.scheduler.Slot`), how many variants may be in flight on one slot
(``lanes``) and which ``trtexec()`` options run a variant there (``build_options``). The sweep's
:class:`~trt_magic.sweeps.scheduler.Scheduler` then does the rest the same way for every
executor: rows, live table, progress, Pareto front, cancel, resume from the engine cache.

- :class:`DockerHostsExecutor` (the default): one slot per (Docker host, GPU), one build per slot
  at a time; trt_magic itself keeps each GPU to one build.
- :class:`~trt_magic.sweeps.cluster.ClusterExecutor` subclasses hand every variant to a cluster
  engine at once (``lanes`` = variants in flight) and let the engine queue them on its GPUs; a
  variant's build then runs through a :class:`~trt_magic.sweeps.cluster.ClusterRunner`, whose
  contract is five operations (submit, status, log, cancel, fetch outputs) of a
  :class:`~trt_magic.sweeps.cluster.ClusterEngine`. Slurm is the first
  (:class:`~trt_magic.sweeps.slurm.SlurmExecutor`); a Kubernetes Jobs engine is the same five
  operations on one Job per variant (GPU type by node selector).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from .scheduler import Slot

__all__ = ["DockerHostsExecutor", "Executor"]


class Executor:
    """Where a sweep's variants run (see the module docstring).

    A plain base class (not an ABC), so that a traitlets ``Configurable`` can be one too.
    """

    #: short name shown in the sweep's table and notes
    name: str = "executor"
    #: variants in flight at once on one slot (1: the executor keeps a GPU to one build)
    lanes: int = 1
    #: build every variant on every slot (the slots are an axis, e.g. a cluster's GPU types)
    every_slot: bool = False

    def slots(self) -> list[Slot]:
        """The places builds run: one row of the sweep table names one of them."""
        raise NotImplementedError

    def build_options(self, slot: Slot, container_gpus: str | None) -> dict[str, Any]:
        """The ``trtexec()`` keyword options that build a variant on ``slot``."""
        raise NotImplementedError

    def check(self) -> None:
        """Fail early (before any variant starts) when this executor cannot run at all."""

    def describe(self) -> str:
        """One line for the sweep's notes: where the variants go."""
        return f"{self.name}: " + ", ".join(s.label for s in self.slots())


class DockerHostsExecutor(Executor):
    """Docker hosts and their GPUs; at most one of our builds per (host, GPU) at a time.

    Args:
        hosts: Docker URLs (``unix://``, ``tcp://``, ``ssh://``); None: the default host.
        gpus: GPU indices (or "all"); None: the ``gpus`` setting. Each (host, GPU) is a slot.
        backend: the runner backend ("docker", "local", "replay"; None: the setting).
    """

    name = "docker"

    def __init__(
        self,
        hosts: Sequence[str | None] | None = None,
        gpus: Sequence[int | str] | None = None,
        backend: str | None = None,
    ):
        from ..config import get_settings

        self.hosts = list(hosts) if hosts else [None]
        self.gpus = [str(g) for g in gpus] if gpus else [get_settings().gpus]
        self.backend = backend
        if len(set(self.hosts)) != len(self.hosts) or len(set(self.gpus)) != len(self.gpus):
            raise UsageError("hosts and gpus must not repeat.", hint="e.g. gpus=[0, 1]")

    def slots(self) -> list[Slot]:
        return [Slot(h, g) for h in self.hosts for g in self.gpus]

    def build_options(self, slot: Slot, container_gpus: str | None) -> dict[str, Any]:
        gpus = slot.gpu if container_gpus is None else container_gpus
        return {"docker_host": slot.host, "backend": self.backend, "gpus": gpus}
