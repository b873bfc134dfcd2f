"""HTML for the engine analysis: linter findings (``run.lint()``) in a run's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .html import badge, details, esc, fmt_num, table, wrap

if TYPE_CHECKING:  # pragma: no cover
    from ..results.run import Run

MAX_FINDINGS = 12


def lint_html(run: Run, top: int = MAX_FINDINGS) -> str:
    """The linter's findings, warnings first; empty when there is no detailed layer info."""
    if not run.layer_info_raw:
        return ""
    findings = run.lint()
    if findings.empty:
        return "<h4>Linter</h4><div class='muted'>no findings</div>"
    counts = findings["severity"].value_counts()
    marks = [badge(f"{counts.get('warning', 0)} warnings", "warn" if counts.get("warning") else "ok"),
             badge(f"{counts.get('info', 0)} notes", "info")]  # fmt: skip
    by_rule = findings.groupby("rule", sort=False)["time_ms"].agg(["size", "sum"])
    rules = ", ".join(f"{esc(rule)} ×{n} ({fmt_num(ms)} ms)" if ms == ms and ms else
                      f"{esc(rule)} ×{n}" for rule, (n, ms) in by_rule.iterrows())  # fmt: skip
    rows = [
        [f'<div class="name" title="{esc(f.layer)}">{esc(f.layer)}</div>', esc(f.rule),
         esc(f.why), esc(f.what_to_try), fmt_num(f.time_ms)]
        for f in findings.head(top).itertuples(index=False)
    ]  # fmt: skip
    body = table(["layer", "rule", "why it matters", "what to try", "ms"], rows, numeric=(4,))
    more = f"; all {len(findings)}: <code>run.lint()</code>" if len(findings) > top else ""
    head = f"<div class='row'>{''.join(marks)}</div><div class='muted'>{rules}{more}</div>"
    return f"<h4>Linter</h4>{head}" + details(
        "<b>findings</b>", body, open_=bool(counts.get("warning"))
    )


def latency_note_html(run: Run) -> str:
    """What the run's latency figures include, under its performance table."""
    text = run.summary.get("latency_includes")
    if not text:
        return ""
    return f"<div class='muted'><b>Latency includes:</b> {esc(text)}</div>"


def measurement_html(notes: list[str]) -> str:
    """The comparison's warning that its runs timed different things."""
    return "".join(f"<div style='color:#a05a00'>⚠ {esc(n)}</div>" for n in notes)


def profile_note_html(run: Run) -> str:
    """Which optimization profile the layer views show, for a multi-profile engine."""
    profiles = run.shape_profiles
    if len(profiles) < 2:
        return ""
    shown = run.current_shape_profile
    others = ", ".join(f"<code>run.layers_for({k})</code>" for k in profiles if k != shown)
    return (f"<div class='muted'>layers of optimization profile {shown} (the engine has "
            f"{len(profiles)}: {profiles}); the others: {others}</div>")  # fmt: skip


def quantization_html(report) -> str:
    """``why_not_faster``: the reasons, then the figures of both engines."""
    labels = {"layers_ms": "layer time (ms)", "quantized_share": "share in INT8/FP8",
              "reformats": "reformat layers", "reformat_ms": "reformat time (ms)",
              "qdq_unfused": "unfused Q/DQ", "qdq_ms": "unfused Q/DQ time (ms)",
              "fp32_compute": "FP32 conv/GEMM", "fp32_compute_ms": "FP32 conv/GEMM time (ms)"}  # fmt: skip
    cols = list(report.figures.columns)
    rows = []
    for key, label in labels.items():
        values = report.figures.loc[key]
        cells = [f"{v:.0%}" if key == "quantized_share" and v == v and v is not None else fmt_num(v)
                 for v in values]  # fmt: skip
        rows.append([esc(label), *cells])
    speed = report.speedup
    head = (f"<h4>Why isn't {esc(report.quantized)} faster than {esc(report.baseline)}?</h4>"
            f"<div>layer-time speed-up: <b>{fmt_num(speed)}×</b></div>")  # fmt: skip
    reasons = "".join(f"<li>{esc(r)}</li>" for r in report.reasons) or "<li>nothing stands out</li>"
    return wrap(f"{head}<ol>{reasons}</ol>" + table(["", *map(esc, cols)], rows,
                                                    numeric=range(1, len(cols) + 1)))  # fmt: skip


def type_precision_html(run: Run) -> str:
    """Time by layer type split by precision, when the layers are profiled and typed."""
    from .analysis_charts import time_by_type_and_precision

    layers = run.layers
    if layers.empty or not layers["time_ms"].notna().any() or not layers["precision"].notna().any():
        return ""
    return str(time_by_type_and_precision(layers))
