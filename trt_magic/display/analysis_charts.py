"""Charts of the engine analysis, as inline SVG (nothing to install, small output).

- ``time_by_type_and_precision``: one bar per layer type, split by the precision its layers run in.
- ``latency_distribution``: ``--exportTimes`` latencies of one or more runs, with p50/p90/p99
  marks and what the latency includes.
- ``layer_by_layer``: two engines' layer times pair by pair (``layer_diff``), in engine order.

Each returns a ``Chart``: a ``str`` of HTML that Jupyter shows as the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .html import esc, fmt_num, wrap

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..results.comparison import LayerDiff
    from ..results.run import Run

#: one colour per precision (others grey)
COLORS = {"FP32": "#5b7fbf", "FP16": "#3f9e5a", "BF16": "#2aa198", "INT8": "#e08a1e",
          "FP8": "#d14b4b", "FP4": "#a33ea1", "INT4": "#a33ea1", "INT32": "#8a6db1",
          "INT64": "#6c5b95", "BOOL": "#999999"}  # fmt: skip
OTHER = "#b0b0b0"
MAX_TYPES = 12
MAX_PAIRS = 400


class Chart(str):
    """An HTML chart; shown as the chart in Jupyter, usable as a string anywhere."""

    def _repr_html_(self) -> str:
        return wrap(str(self))


def _layers(source: Run | pd.DataFrame) -> pd.DataFrame:
    return source if hasattr(source, "columns") else source.layers


def time_by_type_and_precision(source: Run | pd.DataFrame, width: int = 420) -> Chart:
    """Per-inference time by layer type, each bar split by precision (needs a profile)."""
    layers = _layers(source)
    timed = layers[layers["time_ms"].notna()] if len(layers) else layers
    if timed.empty:
        return Chart("")
    frame = timed.assign(type=timed["type"].fillna("(unknown)"),
                         precision=timed["precision"].fillna("?"))  # fmt: skip
    table = frame.pivot_table(index="type", columns="precision", values="time_ms", aggfunc="sum",
                              fill_value=0.0)  # fmt: skip
    totals = table.sum(axis=1).sort_values(ascending=False)
    table = table.loc[totals.index[:MAX_TYPES]]
    peak = float(totals.iloc[0]) or 1.0
    label_w, row_h, bar_w = 130, 18, width - 130 - 70
    rows = []
    for r, (kind, values) in enumerate(table.iterrows()):
        y, x = r * row_h, float(label_w)
        rows.append(f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end">{esc(kind)}</text>')
        for precision, ms in values.items():
            if ms <= 0:
                continue
            w = ms / peak * bar_w
            rows.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row_h - 6}" '
                        f'fill="{COLORS.get(str(precision), OTHER)}"><title>{esc(kind)} · '
                        f'{esc(precision)}: {fmt_num(ms)} ms</title></rect>')  # fmt: skip
            x += w
        rows.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{fmt_num(totals[kind])} ms</text>')
    present = [p for p in table.columns if table[p].sum() > 0]
    legend_y = len(table) * row_h + 14
    legend = "".join(
        f'<rect x="{label_w + i * 62}" y="{legend_y - 9}" width="10" height="10" '
        f'fill="{COLORS.get(str(p), OTHER)}"/><text x="{label_w + i * 62 + 13}" y="{legend_y}">'
        f"{esc(p)}</text>"
        for i, p in enumerate(present)
    )
    height = legend_y + 8
    more = f" ({len(totals) - MAX_TYPES} more types)" if len(totals) > MAX_TYPES else ""
    return Chart(
        f"<div><h4>Time by layer type and precision{esc(more)}</h4>"
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="time by layer type and precision" font-size="11">{"".join(rows)}{legend}'
        "</svg></div>"
    )


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """trtexec's percentile: ``exclude = int((1 - q/100) * n)``, the value at ``n - 1 - exclude``
    of the sorted timings (NVIDIA/TensorRT v11.0 samples/common/sampleReporting.cpp
    ``findPercentile``)."""
    n = len(sorted_values)
    exclude = int((1 - q / 100) * n)
    return sorted_values[max(n - 1 - exclude, 0)]


def latency_distribution(*runs: Run, names: Sequence[str] | None = None, bins: int = 40,
                         width: int = 420, height: int = 120) -> Chart:  # fmt: skip
    """Histogram of the ``--exportTimes`` latencies of one or more runs (overlaid, one colour
    each) with p50/p90/p99 marks; says what each run's latency includes."""
    palette = ["#4285f4", "#e08a1e", "#3f9e5a", "#d14b4b"]
    series = []
    for i, run in enumerate(runs):
        t = run.timings
        if t.empty or "latency_ms" not in t:
            continue
        vals = sorted(v for v in t["latency_ms"].tolist() if v == v)
        if vals:
            name = names[i] if names else run.title()
            series.append((name, vals, palette[len(series) % len(palette)], run))
    if not series:
        return Chart("")
    lo = min(s[1][0] for s in series)
    hi = max(s[1][-1] for s in series)
    span = (hi - lo) or 1.0
    plot_h = height - 26
    parts, notes = [], []
    for name, vals, color, run in series:
        counts = [0] * bins
        for v in vals:
            counts[min(bins - 1, int((v - lo) / span * bins))] += 1
        peak, bw = max(counts), width / bins
        parts += [f'<rect x="{i * bw:.1f}" y="{plot_h - c / peak * plot_h:.1f}" width="{bw - 1:.1f}" '
                  f'height="{c / peak * plot_h:.1f}" fill="{color}" opacity=".55"><title>{esc(name)}: '
                  f"{c}</title></rect>" for i, c in enumerate(counts) if c]  # fmt: skip
        marks = {q: _percentile(vals, q) for q in (50, 90, 99)}
        for q, v in marks.items():
            x = (v - lo) / span * width
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{plot_h}" stroke="{color}" '
                         f'stroke-dasharray="{"4,2" if q == 50 else "2,2"}"><title>{esc(name)} p{q}: '
                         f"{fmt_num(v)} ms</title></line>")  # fmt: skip
        includes = run.summary.get("latency_includes", "")
        notes.append(f'<div><span style="color:{color}">■</span> <b>{esc(name)}</b>: '
                     + " · ".join(f"p{q} {fmt_num(v)} ms" for q, v in marks.items())
                     + f" · n={len(vals)}" + (f'<div class="muted">{esc(includes)}</div>' if includes else "")
                     + "</div>")  # fmt: skip
    axis = (f'<text x="0" y="{height - 10}">{fmt_num(lo)} ms</text>'
            f'<text x="{width}" y="{height - 10}" text-anchor="end">{fmt_num(hi)} ms</text>')  # fmt: skip
    return Chart(
        "<div><h4>Latency distribution (--exportTimes)</h4>"
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="latency distribution" font-size="11">{"".join(parts)}{axis}</svg>'
        f"{''.join(notes)}</div>"
    )


def layer_by_layer(diff: LayerDiff, width: int = 560, height: int = 160) -> Chart:
    """Each pair of layers in engine order: ``a``'s time up, ``b``'s time down, coloured by
    change (green faster, red slower, grey same, light for layers in one engine only)."""
    t = diff.table
    if "order" in t:
        t = t.sort_values("order", kind="stable")
    t = t[t["time_ms_a"].notna() | t["time_ms_b"].notna()]
    if t.empty:
        return Chart("")
    a = t["time_ms_a"].fillna(0.0).tolist()
    b = t["time_ms_b"].fillna(0.0).tolist()
    change = t["change"].tolist()
    names = t["name"].tolist()
    step = max(1, -(-len(a) // MAX_PAIRS))  # big engines: sum buckets of pairs
    if step > 1:
        a = [sum(a[i : i + step]) for i in range(0, len(a), step)]
        b = [sum(b[i : i + step]) for i in range(0, len(b), step)]
        change = ["same"] * len(a)
        names = [f"layers {i}..{i + step - 1}" for i in range(0, len(names), step)]
    peak = max(max(a), max(b)) or 1.0
    mid = (height - 20) / 2
    bw = width / len(a)
    color = {
        "faster": "#3f9e5a",
        "slower": "#d14b4b",
        "only in a": "#c8c8c8",
        "only in b": "#c8c8c8",
    }
    parts = []
    for i, (ta, tb, ch, nm) in enumerate(zip(a, b, change, names, strict=True)):
        x, fill = i * bw, color.get(ch, "#8c8c8c")
        tip = (
            f"{esc(nm)}: {esc(diff.a)} {fmt_num(ta)} ms, {esc(diff.b)} {fmt_num(tb)} ms ({esc(ch)})"
        )
        ha, hb = ta / peak * (mid - 2), tb / peak * (mid - 2)
        parts.append(f'<g><title>{tip}</title><rect x="{x:.1f}" y="{mid - ha:.1f}" '
                     f'width="{max(bw - 0.5, 0.5):.1f}" height="{ha:.1f}" fill="{fill}" opacity=".6"/>'
                     f'<rect x="{x:.1f}" y="{mid:.1f}" width="{max(bw - 0.5, 0.5):.1f}" '
                     f'height="{hb:.1f}" fill="{fill}"/></g>')  # fmt: skip
    text = (f'<line x1="0" x2="{width}" y1="{mid}" y2="{mid}" stroke="currentColor" opacity=".4"/>'
            f'<text x="2" y="11">▲ {esc(diff.a)}</text><text x="2" y="{height - 6}">▼ {esc(diff.b)} · '
            f"{len(t)} layers in engine order (max {fmt_num(peak)} ms)</text>")  # fmt: skip
    return Chart(
        f"<div><h4>Layer by layer: {esc(diff.a)} vs {esc(diff.b)}</h4>"
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="layer by layer comparison" font-size="11">{"".join(parts)}{text}</svg></div>'
    )
