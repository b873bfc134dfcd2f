"""``simplify_onnx``: try each method in turn, keep the first output that passes every check."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import check_number, check_path
from ..config import get_settings
from ..errors import SimplifyError
from ..rewrite import checks
from ..rewrite.files import discard, publish, temp_beside
from ..rewrite.step import run_step
from .methods import Method, resolve_methods
from .result import Attempt, GraphStats, OutputParity, SimplifyResult


@dataclass
class _Trial:
    """One method's run: its attempt record and, when it ran, what it produced."""

    attempt: Attempt
    before: GraphStats | None = None
    after: GraphStats | None = None
    parity: list[OutputParity] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    method_seconds: float = 0.0
    worker_cpu_seconds: float = 0.0
    check_seconds: float = 0.0
    detail: str = ""
    external_files: list[str] = field(default_factory=list)  # data files now inline


def simplify_onnx(
    path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    method: str | Sequence[str] = "auto",
    check: bool = True,
    *,
    samples=None,
    timeout: float | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-4,
) -> SimplifyResult:
    """Fold constants and simplify an ONNX model, proving the result computes the same.

    Args:
        path: the ONNX file (relative paths resolve against the ``workdir`` setting).
        out: where to write (a file, or a folder for ``<stem>.simplified.onnx``); default that
            name beside ``path``. ``out == path`` replaces the original, and only once every
            check has passed.
        method: ``"auto"`` (the installed ones of onnxslim, polygraphy, onnxsim, in that order),
            one registered name, or several (``"onnxsim,onnxslim"``): a method that crashes,
            hangs past ``timeout``, changes the interface or the numbers falls back to the next.
        check: compare onnxruntime outputs of the original and the result (the interface check
            always runs).
        samples: inputs for that comparison: ``{name: array}``, a tuple of arrays in input order,
            or a list of those; default random inputs with symbolic dims at 1 and at 3.
        timeout: seconds one method may take before it is abandoned (None: no limit).
        rtol, atol: the comparison's tolerance (``numpy.allclose``).

    Raises:
        SimplifyError: no method produced a result that passed (the files are untouched), the
            output cannot be written, or the model is too large or keeps external data.
        MissingDependency: the requested method (or, for auto, every method) is not installed.
    """
    started = (time.perf_counter(), time.process_time())
    settings = get_settings()
    source = settings.resolve_path(check_path("path", path, hint="simplify_onnx('model.onnx')"))
    if out is not None:
        check_path("out", out)
    for name, value in (("timeout", timeout), ("rtol", rtol), ("atol", atol)):
        if value is not None:
            check_number(name, value, minimum=0, positive=name == "timeout")
    if not source.is_file():
        raise SimplifyError(
            f"no ONNX file at {source}", hint="check the path (or the workdir setting)"
        )
    target = _default_out(source, settings.resolve_path(out) if out is not None else None)
    checks.refuse_too_large(source)
    checks.check_writable(target)
    methods, skipped = resolve_methods(method)
    attempts = [Attempt(name, "missing", "not installed") for name in skipped]
    failures: list[_Trial] = []
    for m in methods:
        tmp = temp_beside(target)
        try:
            trial = _try_method(m, source, tmp, timeout, check, samples, rtol, atol)
            attempts.append(trial.attempt)
            if trial.attempt.outcome == "ok":
                if trial.external_files:
                    trial.warnings.append(
                        checks.stale_data_warning(source, target, trial.external_files)
                    )
                publish(tmp, target, source)
                return _result(source, target, method, m, trial, attempts, started)
            failures.append(trial)
        finally:
            discard(tmp)
    raise _all_failed(source, failures)


def _try_method(
    m: Method, source: Path, tmp: Path, timeout, check: bool, samples, rtol, atol
) -> _Trial:
    """Run ``m`` in the worker into ``tmp``, then check interface and (optionally) parity."""
    step = run_step(m.target, source, tmp, preload=m.requires, timeout=timeout)
    trial = _Trial(
        Attempt(m.name, step.outcome, step.message, step.seconds),
        before=step.before,
        after=step.after,
        method_seconds=step.method_seconds,
        worker_cpu_seconds=step.cpu_seconds,
        detail=step.detail,
        external_files=step.external_files,
    )
    if step.outcome == "ok" and check:
        _check_parity(trial, source, tmp, samples, rtol, atol)
    return trial


def _check_parity(trial: _Trial, source: Path, tmp: Path, samples, rtol, atol) -> None:
    checked = time.perf_counter()
    inputs = trial.before.inputs
    feeds = (
        checks.make_samples(inputs)
        if samples is None
        else checks.normalize_samples(samples, inputs)
    )
    trial.parity, skipped = checks.compare_outputs(source, tmp, feeds, rtol, atol)
    trial.warnings += skipped
    trial.check_seconds = time.perf_counter() - checked
    bad = [p for p in trial.parity if not p.ok]
    if bad:
        worst = max(bad, key=lambda p: p.max_abs)
        message = (
            f"output {worst.output!r} differs on {worst.sample}: max abs {worst.max_abs:.3g}, "
            f"max rel {worst.max_rel:.3g} (rtol={rtol:g}, atol={atol:g})"
        )
        trial.attempt = Attempt(
            trial.attempt.method, "parity", message + _note(worst), trial.attempt.seconds
        )


def _note(p: OutputParity) -> str:
    return f"; {p.note}" if p.note else ""


def _result(source, target, requested, m, trial: _Trial, attempts, started) -> SimplifyResult:
    after = GraphStats(**{**trial.after.__dict__, "size": target.stat().st_size})
    return SimplifyResult(
        source=source,
        path=target,
        method=m.name,
        requested=requested if isinstance(requested, str) else ",".join(requested),
        before=trial.before,
        after=after,
        parity=trial.parity,
        attempts=attempts,
        seconds=time.perf_counter() - started[0],
        cpu_seconds=time.process_time() - started[1] + trial.worker_cpu_seconds,
        method_seconds=trial.method_seconds,
        check_seconds=trial.check_seconds,
        warnings=trial.warnings,
    )


def _all_failed(source: Path, failures: list[_Trial]) -> SimplifyError:
    tried = "; ".join(str(t.attempt) for t in failures)
    kinds = {t.attempt.outcome for t in failures}
    hint = "the original is unchanged and can go to trtexec as it is"
    if "timeout" in kinds:
        hint += "; raise --timeout if the model is large"
    if len(failures) == 1:
        hint += "; try another --method (auto tries every installed one)"
    return SimplifyError(
        f"no clean-up of {source.name} was kept: {tried}",
        hint=hint,
        detail=failures[-1].detail if failures else None,
    )


def _default_out(source: Path, out: Path | None) -> Path:
    """``out`` as given; a folder gets ``<stem>.simplified.onnx`` in it, None gets it beside."""
    name = source.stem + ".simplified.onnx"
    if out is None:
        return source.with_name(name)
    return out / name if out.is_dir() else out
