"""HTML for ``compare(...)`` and ``LayerDiff``: the runs table with speed-up bars, the layer diff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .analysis_charts import latency_distribution, layer_by_layer
from .analysis_view import measurement_html
from .charts import bar, pair_bar
from .html import badge, esc, fmt_num, table, wrap

if TYPE_CHECKING:
    from ..results.comparison import Comparison, LayerDiff

TOP_CHANGES = 15
NUMERIC = {"throughput_qps", "speedup", "latency_p50_ms", "latency_p99_ms", "gpu_compute_p50_ms",
           "engine_size_mib", "build_time_s"}  # fmt: skip


def _runs_table(comparison: Comparison) -> str:
    frame = comparison.table
    cols = [c for c in frame.columns if frame[c].notna().any()]
    top = float(frame["speedup"].max()) if frame["speedup"].notna().any() else 0.0
    rows = []
    for name, rec in frame.iterrows():
        cells = [f"<b>{esc(name)}</b>"]
        for col in cols:
            value = rec[col]
            if col == "speedup" and value == value and value is not None:
                kind = "faster" if value > 1.005 else ("slower" if value < 0.995 else "")
                cells.append(f"{bar(value / top if top else 0, kind)}<div>{value:.2f}×</div>")
            elif col in NUMERIC:
                cells.append(fmt_num(value))
            else:
                cells.append(esc(value))
        rows.append(cells)
    numeric = [i + 1 for i, c in enumerate(cols) if c in NUMERIC and c != "speedup"]
    return table(["run", *cols], rows, numeric=numeric)


def _layer_cell(rec) -> str:
    """The layer's name; a partner with another name (paired by signature) shown below it."""
    name = esc(rec.name)
    partner = getattr(rec, "name_b", None)
    if isinstance(partner, str) and partner != rec.name and rec.change not in ("only in b",):
        return (f'<div class="name" title="{name} ↔ {esc(partner)}">{name}</div>'
                f'<div class="name muted">↔ {esc(partner)}</div>')  # fmt: skip
    return f'<div class="name" title="{name}">{name}</div>'


def _diff_rows(diff: LayerDiff, top: int | None) -> str:
    t = diff.table
    shown = t[t["change"] != "same"]
    if top is not None:
        shown = shown.head(top)
    peak = float(shown[["time_ms_a", "time_ms_b"]].max().max() or 0.0) if len(shown) else 0.0
    rows = []
    for rec in shown.itertuples(index=False):
        kind = {"faster": "faster", "slower": "slower"}.get(rec.change, "")
        precision = esc(rec.precision_a or "")
        if rec.precision_changed:
            precision = f"{esc(rec.precision_a)} → <b>{esc(rec.precision_b)}</b>"
        elif rec.precision_b and not rec.precision_a:
            precision = esc(rec.precision_b)
        a_time = rec.time_ms_a if rec.time_ms_a == rec.time_ms_a else 0.0
        b_time = rec.time_ms_b if rec.time_ms_b == rec.time_ms_b else 0.0
        tip = f"{diff.a}: {fmt_num(rec.time_ms_a)} ms (grey), {diff.b}: {fmt_num(rec.time_ms_b)} ms"
        rows.append([
            _layer_cell(rec), esc(rec.type or ""),
            precision, fmt_num(rec.time_ms_a), fmt_num(rec.time_ms_b),
            pair_bar(a_time / peak if peak else 0, b_time / peak if peak else 0, kind, title=tip),
            fmt_num(rec.delta_ms), esc(rec.change),
        ])  # fmt: skip
    headers = [
        "layer",
        "type",
        "precision",
        f"{diff.a} ms",
        f"{diff.b} ms",
        "before / after",
        "Δ ms",
        "change",
    ]
    return table(headers, rows, numeric=(3, 4, 6))


def render_layer_diff(diff: LayerDiff, top: int | None = TOP_CHANGES, wrapped: bool = True) -> str:
    t = diff.table
    counts = t["change"].value_counts()
    marks = [badge(f"{counts.get('faster', 0)} faster", "ok"), badge(f"{counts.get('slower', 0)} slower", "bad"),
             badge(f"{int(t['precision_changed'].sum())} changed precision", "info")]  # fmt: skip
    only = int(counts.get("only in a", 0) + counts.get("only in b", 0))
    if only:
        marks.append(
            badge(f"{only} in one run only", "warn", "layer names differ between the engines")
        )
    total_a, total_b = t["time_ms_a"].sum(), t["time_ms_b"].sum()
    head = (f"<h4>Layers: {esc(diff.a)} → {esc(diff.b)} ({fmt_num(total_a)} → {fmt_num(total_b)} ms "
            f"per inference)</h4><div class='row'>{''.join(marks)}</div>")  # fmt: skip
    shown = "biggest changes" if top is not None else "all changes"
    note = f"<div class='muted'>{esc(diff.match_note)}</div>" if diff.match_note else ""
    body = (f"{head}{note}{layer_by_layer(diff)}<div class='muted'>{shown}; the full diff: "
            f"<code>.table</code></div>{_diff_rows(diff, top)}")  # fmt: skip
    return wrap(body) if wrapped else body


def recorded_html(comparison: Comparison) -> str:
    """Which runs are recordings (replay backend), not runs of the request; '' when none."""
    rows = [(name, run.recorded) for name, run in zip(comparison.names, comparison.runs, strict=True)
            if run.recorded is not None]  # fmt: skip
    if not rows:
        return ""
    items = "".join(
        f"<li><b>{esc(name)}</b>: {esc(rec.label())}"
        + (f"; differs: {esc('; '.join(rec.differences))}" if rec.differences else "")
        + "</li>"
        for name, rec in rows
    )
    mixed = len(rows) < len(comparison.runs)
    note = " No speed-up is given between a recorded and a measured run." if mixed else ""
    return (f"<div class='wrn'>{badge('recorded', 'warn')} {len(rows)} of {len(comparison.runs)} "
            f"runs are recordings, not measured for your request.{note}<ul>{items}</ul></div>")  # fmt: skip


def render_comparison(comparison: Comparison) -> str:
    parts = [f"<h4>{len(comparison.runs)} runs (speed-up against {esc(comparison.names[0])})</h4>",
             _runs_table(comparison), recorded_html(comparison),
             measurement_html(comparison.measurement_notes),
             latency_distribution(*comparison.runs, names=comparison.names)]  # fmt: skip
    a, b = comparison.runs[0], comparison.runs[1]
    if not a.layers.empty and not b.layers.empty and a.layers["time_ms"].notna().any():
        parts.append(render_layer_diff(comparison.layer_diff(0, 1), wrapped=False))
    return wrap("".join(parts))
