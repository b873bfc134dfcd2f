"""One rewrite of one ONNX file in the worker: the mechanism simplify, cast and quantize share.

:func:`run_step` sends the request to the warm worker process (``isolation``), turns its answer
into figures before and after (node count, operator histogram, interface) and checks that the
result keeps the model's interface. Publishing (``files.publish``) is the caller's, once its own
checks (parity, preview) have passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import checks
from .isolation import run_in_worker
from .stats import GraphStats


@dataclass
class Step:
    """What one rewrite came to: ``outcome`` ok, timeout, crashed, failed or interface."""

    outcome: str
    message: str = ""
    seconds: float = 0.0  # wall time of the request, as seen from here
    before: GraphStats | None = None
    after: GraphStats | None = None
    method_seconds: float = 0.0  # load + rewrite + save in the worker
    cpu_seconds: float = 0.0  # the worker's CPU time
    external_files: list[str] = field(default_factory=list)  # external data now inline
    extra: dict = field(default_factory=dict)  # what the rewrite function reported
    detail: str = ""  # traceback or log tail when it failed


def run_step(
    target: str,
    source: Path,
    tmp: Path,
    *,
    preload: tuple[str, ...] | list[str] = (),
    options: dict | None = None,
    takes: str = "model",
    timeout: float | None = None,
) -> Step:
    """Run ``target`` ("module:function") on ``source`` into ``tmp`` in the worker process.

    ``takes="model"``: ``fn(model, **options) -> ModelProto``; ``takes="paths"``:
    ``fn(source, dest, **options) -> dict`` writes ``dest`` itself (libraries that want files).

    Raises:
        SimplifyError: the model and its external data pass protobuf's 2 GiB.
    """
    request = {
        "target": target,
        "source": str(source),
        "dest": str(tmp),
        "preload": list(preload),
        "limit": checks.PROTOBUF_LIMIT,
        "options": options or {},
        "takes": takes,
    }
    started = time.perf_counter()
    outcome = run_in_worker(request, timeout)
    seconds = time.perf_counter() - started
    answer = outcome.answer
    if outcome.status == "too_large":
        checks.refuse_too_large_with_data(source, answer["files"], answer["bytes"])
    if outcome.status == "timeout":
        return Step("timeout", f"no result after {timeout:g} s; stopped", seconds,
                    detail=outcome.log_tail)  # fmt: skip
    if outcome.status == "crashed":
        message = f"the worker process died (exit code {answer.get('returncode')})"
        return Step("crashed", message, seconds, detail=outcome.log_tail)
    if outcome.status != "ok":
        return Step("failed", answer.get("error", "")[:300], seconds,
                    detail=answer.get("traceback", outcome.log_tail))  # fmt: skip
    step = Step(
        "ok",
        seconds=seconds,
        before=GraphStats.from_report(answer["before"], source.stat().st_size),
        after=GraphStats.from_report(answer["after"], tmp.stat().st_size),
        method_seconds=answer["seconds"],
        cpu_seconds=answer["cpu_seconds"],
        external_files=answer["external"].get("files", []),
        extra=answer.get("extra") or {},
    )
    problems = checks.interface_changes(step.before.inputs, step.after.inputs, "input")
    keep = {d for t in step.before.inputs for d in (t.shape or ()) if isinstance(d, str)}
    problems += checks.interface_changes(
        step.before.outputs, step.after.outputs, "output", keep=keep
    )
    if problems:
        step.outcome, step.message = "interface", "; ".join(problems)
    return step
