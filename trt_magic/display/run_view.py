"""A Run as compact HTML: status and command, performance, slowest layers, time by type and
precision, latency over iterations, and the log folded away with its errors and warnings lifted out.

Output stays small whatever the engine size (a 10,000-layer engine renders in well under 300 KB):
only the top layers and grouped totals are drawn; the full table is ``run.layers``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TrtMagicError
from .analysis_view import latency_note_html, lint_html, profile_note_html, type_precision_html
from .charts import bar, bar_rows, histogram_svg, series_svg
from .html import badge, command_html, count, details, esc, fmt_num, table, wrap

if TYPE_CHECKING:
    import pandas as pd

    from ..results.run import Run

STAT_ROWS = [
    ("Latency", "latency"), ("GPU Compute Time", "gpu_compute"), ("Enqueue Time", "enqueue"),
    ("H2D Latency", "h2d"), ("D2H Latency", "d2h"), ("End-to-End Host Latency", "e2e_latency"),
]  # fmt: skip
STATS = ["min", "median", "mean", "p90", "p95", "p99", "max"]
MAX_GROUPS = 12
MAX_MESSAGES = 30


def _status_badge(run: Run) -> str:
    status = run.summary.get("status", run.status)
    ok = run.summary.get("ok", False)
    kind = "ok" if ok else ("bad" if status in ("failed", "timeout", "interrupted") else "warn")
    text = {"passed": "PASSED", "failed": "FAILED"}.get(status, status)
    if status == "loaded":
        kind, text = ("ok" if ok else "warn"), "loaded from files"
    return badge(text, kind)


def header_html(run: Run) -> str:
    s = run.summary
    marks = [_status_badge(run)]
    if run.recorded is not None:
        marks.append(badge("recorded, not measured", "warn", run.recorded.label()))
        marks.append(f'<span class="muted">{esc(run.recorded.label())}</span>')
    if run.cached:
        marks.append(badge("cached engine", "info", "the engine cache answered instead of a build"))
    facts = [("TensorRT", s.get("tensorrt_version")), ("GPU", s.get("device")),
             ("precision", s.get("precision")), ("backend", run.backend)]  # fmt: skip
    marks += [f"<span><b>{esc(k)}</b> {esc(v)}</span>" for k, v in facts if v]
    command = s.get("command")
    cmd = f"<div><code>{command_html('trtexec ' + command)}</code></div>" if command else ""
    return f'<div class="row">{"".join(marks)}</div>{cmd}{recorded_html(run)}'


def recorded_html(run: Run) -> str:
    """For a replayed run: nothing ran, and every way the recording differs from the request."""
    rec = run.recorded
    if rec is None:
        return ""
    items = "".join(f"<li>{esc(d)}</li>" for d in rec.differences)
    what = (
        "Replayed: nothing ran." if run.backend == "replay" else "A recording, not a run of yours."
    )
    return (f'<div class="wrn">{what} These figures were recorded on {esc(rec.gpu or "another GPU")} '
            f"for another request{': it differs in' if items else ''}<ul>{items}</ul></div>")  # fmt: skip


def _messages(lines: list[str], css: str) -> str:
    counts = Counter(lines)
    items = [f'<div class="{css}">{esc(m)}{f" <b>×{n}</b>" if n > 1 else ""}</div>'
             for m, n in list(counts.items())[:MAX_MESSAGES]]  # fmt: skip
    more = len(counts) - MAX_MESSAGES
    if more > 0:
        items.append(
            f'<div class="muted">… {more} more (run.{"errors" if css == "err" else "warnings"})</div>'
        )
    return "".join(items)


def messages_html(run: Run) -> str:
    out = ""
    if run.errors:
        out += f"<h4>Errors ({len(run.errors)})</h4>{_messages(run.errors, 'err')}"
    if run.warnings:
        summary = f"<b>Warnings ({len(run.warnings)})</b>"
        out += details(summary, _messages(run.warnings, "wrn"), open_=not run.ok)
    if run.log.impossible:  # figures the log printed that cannot be: shown as missing, said here
        items = "; ".join(run.log.impossible[:10])
        out += (f'<div class="wrn">{len(run.log.impossible)} impossible figure(s) in the log '
                f"(negative or not finite) are shown as missing: {esc(items)}</div>")  # fmt: skip
    return out


def performance_html(run: Run) -> str:
    s = run.summary
    rows = []
    for label, prefix in STAT_ROWS:
        values = [s.get(f"{prefix}_{stat}_ms") for stat in STATS]
        if any(v is not None for v in values):
            rows.append([esc(label), *(fmt_num(v) for v in values)])
    used = [i for i, stat in enumerate(STATS) if any(r[i + 1] != "–" for r in rows)]
    stat_table = ""
    if rows:
        headers = ["(ms)", *(STATS[i] for i in used)]
        body = [[r[0], *(r[i + 1] for i in used)] for r in rows]
        stat_table = table(headers, body, numeric=range(1, len(headers)))
    scalars = [
        ("throughput", s.get("throughput_qps"), "qps"),
        ("host walltime", s.get("total_host_walltime_s"), "s"),
        ("GPU compute total", s.get("total_gpu_compute_s"), "s"),
        ("build time", s.get("build_time_s"), "s"),
        ("engine size", s.get("engine_size_mib"), "MiB"),
    ]
    line = " · ".join(f"<b>{esc(k)}</b> {fmt_num(v)} {u}" for k, v, u in scalars if v is not None)
    if not line and not stat_table:
        return ""
    return f"<h4>Performance</h4><div>{line}</div>{stat_table}"


def _top_layers(layers: pd.DataFrame, top: int) -> str:
    timed = layers[layers["time_ms"].notna()]
    total = float(timed["time_ms"].sum())
    slow = timed.nlargest(top, "time_ms")
    rows = []
    for rec in slow.itertuples(index=False):
        share = rec.time_ms / total if total else 0.0
        rows.append([
            f'<div class="name" title="{esc(rec.name)}">{esc(rec.name)}</div>',
            esc(rec.type or ""), esc(rec.precision or ""), fmt_num(rec.time_ms),
            bar(share, title=f"{share * 100:.1f}% of the time"), f"{share * 100:.1f}%",
        ])  # fmt: skip
    head = f"<h4>Slowest layers (top {len(slow)} of {len(layers)}; {fmt_num(total)} ms per inference)</h4>"
    return head + table(["layer", "type", "precision", "ms", "share", "%"], rows, numeric=(3, 5))


def _grouped(layers: pd.DataFrame, column: str, title: str) -> str:
    from ..results.tables import time_by

    grouped = time_by(layers, column)
    items = [(str(k), float(r.time_ms), f"{count(int(r.layers), 'layer')} · {r.percent:.1f}%")
             for k, r in zip(grouped.index[:MAX_GROUPS], grouped.head(MAX_GROUPS).itertuples(), strict=True)]  # fmt: skip
    rest = grouped.iloc[MAX_GROUPS:]
    if len(rest):
        items.append(
            (
                f"{len(rest)} others",
                float(rest["time_ms"].sum()),
                count(int(rest["layers"].sum()), "layer"),
            )
        )
    return f"<div><h4>{esc(title)}</h4>{bar_rows(items)}</div>"


def layers_html(run: Run, top: int = 15) -> str:
    layers = run.layers
    if layers.empty:
        return ""
    if layers["time_ms"].notna().any():
        parts = [_top_layers(layers, top)]
        groups = [_grouped(layers, "type", "Time by layer type")]
        if layers["precision"].notna().any():
            groups.append(_grouped(layers, "precision", "Time by precision"))
        parts.append(f'<div class="grid">{"".join(groups)}</div>')
    else:  # layer info without a profile: what the engine is made of
        counts = layers["type"].fillna("(names only)").value_counts().head(MAX_GROUPS)
        items = [(str(k), float(v), "") for k, v in counts.items()]
        parts = [
            f"<h4>{count(len(layers), 'layer')} (no profile: add --exportProfile)</h4>",
            bar_rows(items, unit="layers"),
        ]
    parts.append(f'<div class="muted">all {len(layers)} layers: <code>run.layers</code></div>')
    return "".join(parts)


def latency_html(run: Run) -> str:
    timings = run.timings
    if not timings.empty and "latency_ms" in timings:
        values = timings["latency_ms"].tolist()
        charts = histogram_svg(values) + series_svg(values)
        return f"<h4>Latency over {len(values)} inferences (--exportTimes)</h4><div class='grid'>{charts}</div>"
    trace = run.log.trace_averages
    if len(trace) >= 2:
        chart = series_svg([t[0] for t in trace], label="GPU latency (ms), average per window")
        return f"<h4>GPU latency over the run ({len(trace)} windows from the log)</h4>{chart}"
    return ""


def log_html(run: Run, lines: int | None = None) -> str:
    from ..results.log import split_lines, tail_lines

    if lines is None:
        from ..config import get_settings

        lines = get_settings().log_lines
    path = run.log_path
    if run.log_text is None and path is not None and Path(path).is_file():
        tail, total = tail_lines(path, lines)  # streamed: the file may be huge
    else:
        all_lines = split_lines(run.read_log())
        tail, total = all_lines[-lines:] if lines else [], len(all_lines)
    if not total:
        return ""
    where = f" — full log: <code>{esc(run.log_path)}</code>" if run.log_path else ""
    cut = f"last {len(tail)} of {total} lines" if total > len(tail) else count(len(tail), "line")
    return details(f"<b>Log</b> ({cut}){where}", f"<pre>{esc(chr(10).join(tail))}</pre>")


def full_table_html(run: Run) -> str:
    layers = run.layers
    if layers.empty:
        return ""
    cols = [
        "name",
        "type",
        "precision",
        "tactic",
        "time_ms",
        "percent",
        "output_shape",
        "out_dtype",
    ]
    rows = ([esc(v) if c not in ("time_ms", "percent") else fmt_num(v) for c, v in zip(cols, r, strict=True)]
            for r in layers[cols].itertuples(index=False))  # fmt: skip
    return details(
        f"<b>All {len(layers)} layers</b>", table(cols, rows, numeric=(4, 5)), open_=True
    )


def _safe(section, *args) -> str:
    """One section's HTML, or a short note when its file cannot be read (the rest still shows)."""
    try:
        return section(*args)
    except TrtMagicError as exc:
        hint = f" <span class='muted'>{esc(exc.hint)}</span>" if exc.hint else ""
        return f"<div class='err'>{esc(exc.message)}</div>{hint}"


def render_run(run: Run, top: int = 15, full_table: bool = False) -> str:
    """The whole view of one run as an HTML fragment."""
    parts = [_safe(header_html, run), _safe(messages_html, run), _safe(performance_html, run),
             _safe(latency_note_html, run),
             _safe(layers_html, run, top), _safe(profile_note_html, run),
             _safe(type_precision_html, run), _safe(lint_html, run), _safe(latency_html, run)]  # fmt: skip
    if full_table:
        parts.append(_safe(full_table_html, run))
    parts.append(_safe(log_html, run))
    return wrap("".join(p for p in parts if p))
