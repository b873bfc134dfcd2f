"""Charts as plain HTML/CSS bars and inline SVG: nothing to install, tiny output, theme-neutral."""

from __future__ import annotations

from collections.abc import Sequence

from .html import esc, fmt_num


def bar(fraction: float, kind: str = "", title: str | None = None) -> str:
    """A horizontal bar filled to ``fraction`` (0..1) of its width."""
    pct = max(0.0, min(1.0, fraction if fraction == fraction else 0.0)) * 100
    tip = f' title="{esc(title)}"' if title else ""
    return f'<div class="bar {kind}"{tip}><span style="width:{pct:.1f}%"></span></div>'


def pair_bar(a: float, b: float, kind: str = "", title: str | None = None) -> str:
    """Two stacked bars: ``a`` (grey, before) over ``b`` (coloured by ``kind``, after), 0..1."""

    def pct(x: float) -> float:
        return max(0.0, min(1.0, x if x == x else 0.0)) * 100

    tip = f' title="{esc(title)}"' if title else ""
    return (
        f'<div class="bar pair {kind}"{tip}><i style="width:{pct(a):.1f}%"></i>'
        f'<span style="width:{pct(b):.1f}%"></span></div>'
    )


def bar_rows(items: Sequence[tuple[str, float, str]], unit: str = "ms") -> str:
    """Rows of ``label | bar | value (note)`` scaled to the largest value."""
    if not items:
        return ""
    top = max(v for _, v, _ in items) or 1.0
    rows = []
    for label, value, note in items:
        rows.append(
            f'<tr><td class="name" title="{esc(label)}">{esc(label)}</td>'
            f"<td>{bar(value / top)}</td>"
            f'<td class="n">{fmt_num(value)} {esc(unit)}</td><td class="muted">{esc(note)}</td></tr>'
        )
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def histogram_svg(values: Sequence[float], bins: int = 30, width: int = 360, height: int = 90,
                  label: str = "latency (ms)") -> str:  # fmt: skip
    """An SVG histogram of ``values`` with min/median/max ticks."""
    vals = sorted(v for v in values if v == v)
    if not vals:
        return ""
    lo, hi = vals[0], vals[-1]
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in vals:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    peak = max(counts)
    plot_h, bw = height - 22, width / bins
    rects = "".join(
        f'<rect x="{i * bw:.1f}" y="{plot_h - c / peak * plot_h:.1f}" width="{bw - 1:.1f}" '
        f'height="{c / peak * plot_h:.1f}" fill="rgba(66,133,244,.8)"><title>{c}</title></rect>'
        for i, c in enumerate(counts)
        if c
    )
    median = vals[len(vals) // 2]
    mx = (median - lo) / span * width
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(label)} histogram">{rects}'
        f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="0" y2="{plot_h}" stroke="currentColor" '
        f'stroke-dasharray="3,2" opacity=".7"/>'
        f'<text x="0" y="{height - 8}">{fmt_num(lo)}</text>'
        f'<text x="{width / 2:.0f}" y="{height - 8}" text-anchor="middle">median {fmt_num(median)} '
        f"· {esc(label)} · n={len(vals)}</text>"
        f'<text x="{width}" y="{height - 8}" text-anchor="end">{fmt_num(hi)}</text></svg>'
    )


def series_svg(values: Sequence[float], width: int = 360, height: int = 90, max_points: int = 400,
               label: str = "latency (ms) per inference") -> str:  # fmt: skip
    """An SVG line of ``values`` over iterations (down-sampled to ``max_points`` by max per bucket)."""
    vals = [v for v in values if v == v]
    if len(vals) < 2:
        return ""
    if len(vals) > max_points:  # keep spikes visible: the max of each bucket
        step = len(vals) / max_points
        vals = [
            max(vals[int(i * step) : int((i + 1) * step)] or [vals[-1]]) for i in range(max_points)
        ]
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    plot_h = height - 22
    pts = " ".join(
        f"{i / (len(vals) - 1) * width:.1f},{plot_h - (v - lo) / span * plot_h:.1f}"
        for i, v in enumerate(vals)
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(label)}"><polyline points="{pts}" fill="none" '
        f'stroke="rgba(66,133,244,.9)" stroke-width="1.2"/>'
        f'<text x="0" y="{height - 8}">min {fmt_num(lo)} · max {fmt_num(hi)}</text>'
        f'<text x="{width}" y="{height - 8}" text-anchor="end">{esc(label)}</text></svg>'
    )
