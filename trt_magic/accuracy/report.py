"""Compare engine outputs with the reference, and the report (figures, verdict, HTML)."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..results.run import Run

#: largest finite FP16 value; anything past it becomes +-inf in an FP16 tensor
FP16_MAX = 65504.0

#: edges of the error histogram (absolute error), decades from 1e-7 to 1e+1
HIST_EDGES = (0.0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, math.inf)


@dataclass
class OutputAccuracy:
    """How one output of the engine compares with the reference."""

    name: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    out_of_tolerance: float  # share of elements, 0..1
    mismatched: int  # number of elements out of tolerance
    passed: bool
    reference_max_abs: float
    fp16_overflow: int = 0  # reference elements with |x| > 65504
    histogram: list[tuple[str, int]] | None = None
    note: str = ""


@dataclass
class AccuracyReport:
    """Per-output comparison of an engine against ONNX Runtime; ``passed`` if every output is."""

    outputs: list[OutputAccuracy]
    rtol: float
    atol: float
    inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    engine: str = ""
    onnx: str = ""
    run: Run | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and all(o.passed for o in self.outputs)

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=math.nan)

    @property
    def table(self):
        """The per-output figures as a pandas DataFrame."""
        import pandas as pd

        rows = [
            {
                "output": o.name,
                "shape": "x".join(map(str, o.shape)),
                "max abs error": o.max_abs_error,
                "max rel error": o.max_rel_error,
                "out of tolerance %": 100.0 * o.out_of_tolerance,
                "passed": o.passed,
            }
            for o in self.outputs
        ]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"accuracy {verdict} (rtol={self.rtol:g}, atol={self.atol:g})"]
        for o in self.outputs:
            lines.append(
                f"  {o.name}: max abs {o.max_abs_error:.3g}, max rel {o.max_rel_error:.3g}, "
                f"{100 * o.out_of_tolerance:.2f}% out of tolerance -> {'ok' if o.passed else 'FAIL'}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return render_report_html(self)


def render_report_html(report: AccuracyReport) -> str:
    """The report as one HTML block: verdict, table, notes, histograms (no JavaScript)."""
    esc = html.escape
    color = "#1a7f37" if report.passed else "#cf222e"
    verdict = "PASSED" if report.passed else "FAILED"
    head = (
        f'<div class="trt-magic-accuracy"><b style="color:{color}">accuracy {verdict}</b> '
        f"<span>rtol={report.rtol:g}, atol={report.atol:g}; reference: ONNX Runtime (CPU)</span>"
    )
    cells = "".join(
        f"<tr><td>{esc(o.name)}</td><td>{'x'.join(map(str, o.shape))}</td>"
        f"<td>{o.max_abs_error:.3g}</td><td>{o.max_rel_error:.3g}</td>"
        f"<td>{100 * o.out_of_tolerance:.3f}%</td>"
        f'<td style="color:{"#1a7f37" if o.passed else "#cf222e"}">'
        f"{'pass' if o.passed else 'FAIL'}</td></tr>"
        for o in report.outputs
    )
    table = (
        "<table><thead><tr><th>output</th><th>shape</th><th>max abs error</th>"
        "<th>max rel error</th><th>out of tolerance</th><th></th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )
    notes = [*report.notes, *(f"{o.name}: {o.note}" for o in report.outputs if o.note)]
    notes_html = "".join(f"<li>{esc(n)}</li>" for n in notes)
    hists = "".join(_histogram_html(o) for o in report.outputs if o.histogram)
    tail = f"<ul>{notes_html}</ul>" if notes_html else ""
    return head + table + tail + hists + "</div>"


def _histogram_html(o: OutputAccuracy) -> str:
    total = max(sum(c for _, c in o.histogram or []), 1)
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{count}</td>"
        f'<td><div style="background:#4c72b0;height:0.8em;width:{200 * count / total:.0f}px">'
        "</div></td></tr>"
        for label, count in o.histogram or []
    )
    return f"<details><summary>{html.escape(o.name)}: abs error histogram</summary><table>{rows}</table></details>"


def compare_output(
    name: str, reference: Any, engine: Any, *, rtol: float, atol: float, histogram: bool = False
) -> OutputAccuracy:
    """Compare one engine output with its reference (numpy ``isclose`` rule, NaN == NaN)."""
    import numpy as np

    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(engine, dtype=np.float64)
    if ref.size == got.size and ref.shape != got.shape:
        got = got.reshape(ref.shape)  # e.g. trtexec printed 1x10 for an ONNX [10]
    if ref.shape != got.shape:
        return OutputAccuracy(
            name, tuple(got.shape), math.inf, math.inf, 1.0, int(max(ref.size, got.size)),
            False, _finite_max(ref), note=f"shape {got.shape} differs from the reference {ref.shape}",
        )  # fmt: skip
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(got - ref)
        exact = (np.isnan(ref) & np.isnan(got)) | (np.isinf(ref) & (ref == got))
        diff = np.where(exact, 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        # a NaN or inf reference has no tolerance (atol + rtol * inf would let -inf or 1.0 pass)
        bad = (diff > atol + rtol * np.abs(ref)) | (~np.isfinite(ref) & ~exact)
        nonzero = np.abs(ref) > 0
        rel = diff[nonzero] / np.abs(ref[nonzero])
        rel = np.where(np.isnan(rel), np.inf, rel)  # inf off an inf reference
    overflow = int(np.count_nonzero(np.isfinite(ref) & (np.abs(ref) > FP16_MAX)))
    mismatched = int(np.count_nonzero(bad))
    out = OutputAccuracy(
        name=name,
        shape=tuple(ref.shape),
        max_abs_error=float(diff.max()) if diff.size else 0.0,
        max_rel_error=float(rel.max()) if rel.size else 0.0,
        out_of_tolerance=mismatched / ref.size if ref.size else 0.0,
        mismatched=mismatched,
        passed=mismatched == 0,
        reference_max_abs=_finite_max(ref),
        fp16_overflow=overflow,
        histogram=error_histogram(diff) if histogram else None,
    )
    out.note = _explain(out, ref, got)
    return out


def _finite_max(a) -> float:
    import numpy as np

    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else math.nan


def _explain(o: OutputAccuracy, ref, got) -> str:
    import numpy as np

    if o.fp16_overflow:
        new_inf = int(np.count_nonzero(np.isinf(got) & np.isfinite(ref)))
        text = (
            f"{o.fp16_overflow} reference values lie past FP16's range (|x| > {FP16_MAX:g}; "
            f"largest {o.reference_max_abs:.4g}). An FP16 engine cannot hold them"
        )
        if new_inf:
            text += f", and {new_inf} engine values became inf"
        return text + (
            ". Keep the layers that produce them in FP32 (--layerPrecisions / "
            "--precisionConstraints) or rescale the model."
        )
    if not o.passed and np.isinf(got).any() and not np.isinf(ref).any():
        return (
            "the engine produced inf where the reference is finite: an intermediate value "
            "probably overflowed FP16 (|x| > 65504); try FP32 for the layers before this output."
        )
    return ""


def error_histogram(diff) -> list[tuple[str, int]]:
    """Counts of absolute errors per decade (labels like ``1e-05..0.0001``)."""
    import numpy as np

    flat = np.asarray(diff, dtype=np.float64).ravel()
    counts = []
    for lo, hi in itertools.pairwise(HIST_EDGES):
        if lo == 0.0:
            n, label = np.count_nonzero(flat < hi), f"< {hi:g}"
        else:
            n, label = np.count_nonzero((flat >= lo) & (flat < hi)), f"{lo:g}..{hi:g}"
        counts.append((label, int(n)))
    counts[-1] = (f">= {HIST_EDGES[-2]:g}", counts[-1][1] + int(np.count_nonzero(np.isinf(flat))))
    return counts


def build_report(
    reference: Mapping[str, Any],
    engine_outputs: Mapping[str, Any],
    *,
    rtol: float,
    atol: float,
    histogram: bool = False,
    **meta: Any,
) -> AccuracyReport:
    """Compare every reference output with the engine's and gather the report."""
    missing = [n for n in reference if n not in engine_outputs]
    outputs = [
        compare_output(
            n, reference[n], engine_outputs[n], rtol=rtol, atol=atol, histogram=histogram
        )
        for n in reference
        if n in engine_outputs
    ]
    report = AccuracyReport(outputs=outputs, rtol=rtol, atol=atol, **meta)
    if missing:
        report.notes.append(f"the engine exported no values for {missing}")
        report.outputs += [
            OutputAccuracy(n, (), math.inf, math.inf, 1.0, 0, False, math.nan, note="missing")
            for n in missing
        ]
    if rtol < 1e-6:
        report.notes.append(
            "trtexec writes --exportOutput values with 6 significant digits, so relative "
            "differences below ~1e-6 are rounding, not the engine"
        )
    return report
