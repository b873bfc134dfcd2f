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

from .api import MANIFEST, SweepHandle, start_sweep, sweep
from .executors import DockerHostsExecutor, Executor
from .result import SweepResult
from .variants import Variant

__all__ = [
    "MANIFEST",
    "DockerHostsExecutor",
    "Executor",
    "SlurmExecutor",
    "SweepHandle",
    "SweepResult",
    "Variant",
    "start_sweep",
    "sweep",
]


def __getattr__(name: str):
    if name == "SlurmExecutor":  # traitlets-configured; imported when first used
        from .slurm import SlurmExecutor

        return SlurmExecutor
    raise AttributeError(name)
