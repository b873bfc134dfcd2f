"""HTML for the engine analysis: linter findings (``run.lint()``) in a run's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .html import badge, details, esc, fmt_num, table

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
