"""Small HTML builders shared by the result views (no IPython, no pandas).

Colours: text inherits the notebook's colour and backgrounds stay transparent, so the views read
in light and dark themes alike (JupyterLab, classic, VS Code); the few filled marks (bars,
badges) use mid-tone colours with white text that hold on both backgrounds. Errors and warnings
keep the text colour and are marked by a coloured edge: no text colour reads well on both white
and near-black backgrounds (tests/test_results_browser.py measures the contrast).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Sequence

_ids = itertools.count(1)

CSS = """
.trtm{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;color:inherit;
 line-height:1.4;max-width:1100px}
.trtm h4{margin:.8em 0 .3em;font-size:13px;font-weight:600}
.trtm .row{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center}
.trtm .badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:11px;color:#fff;
 font-weight:600;white-space:nowrap}
.trtm .ok{background:#2e7d32}.trtm .bad{background:#c62828}.trtm .warn{background:#a05a00}
.trtm .info{background:#3d6fb6}.trtm .muted{opacity:.7}
.trtm code,.trtm pre{font-family:var(--jp-code-font-family,ui-monospace,monospace);font-size:12px}
.trtm pre{white-space:pre-wrap;word-break:break-all;max-height:360px;overflow:auto;margin:.3em 0;
 padding:6px;border:1px solid rgba(127,127,127,.35);border-radius:4px}
.trtm table{border-collapse:collapse;margin:.2em 0}
.trtm th,.trtm td{padding:2px 8px;text-align:left;border-bottom:1px solid rgba(127,127,127,.25);
 vertical-align:top}
.trtm th{font-weight:600}.trtm td.n{text-align:right;font-variant-numeric:tabular-nums}
.trtm .bar{position:relative;height:14px;min-width:120px;background:rgba(127,127,127,.15);
 border-radius:2px}
.trtm .bar>span{position:absolute;left:0;top:0;bottom:0;background:rgba(66,133,244,.8);
 border-radius:2px}
.trtm .bar.slower>span{background:rgba(211,47,47,.8)}.trtm .bar.faster>span{background:rgba(46,125,50,.85)}
.trtm .bar.pair>i{position:absolute;left:0;top:0;height:6px;background:rgba(127,127,127,.7);
 border-radius:2px}.trtm .bar.pair>span{top:7px}
.trtm .name{max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.trtm details>summary{cursor:pointer;margin:.4em 0}
.trtm .err,.trtm .wrn{border-left:3px solid #e53935;padding-left:6px;margin:1px 0}
.trtm .wrn{border-left-color:#f0a000}
.trtm svg text{fill:currentColor;font-size:10px}
.trtm .grid{display:flex;flex-wrap:wrap;gap:8px 28px}
"""


def count(n: int, word: str) -> str:
    """``count(1, "layer")`` -> "1 layer", ``count(3, "layer")`` -> "3 layers" (with thousands)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


#: one argument of a command line: lines break between arguments, never inside "--name" (a
#: browser breaks after a hyphen); an argument wider than the line breaks anywhere in it
_ARG = '<span style="display:inline-block;word-break:break-all">'


def command_html(command: str) -> str:
    """A command line as HTML that wraps between its arguments (escaped; spaces kept)."""
    return " ".join(f"{_ARG}{esc(arg)}</span>" for arg in str(command).split(" ") if arg)


def esc(value: object) -> str:
    """HTML-escape any value (None -> empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def badge(text: str, kind: str = "info", title: str | None = None) -> str:
    tip = f' title="{esc(title)}"' if title else ""
    return f'<span class="badge {kind}"{tip}>{esc(text)}</span>'


def fmt_num(value: object, digits: int = 4) -> str:
    """Numbers to short text: 0.0440674 -> 0.04407, 15374.3 -> 15,374; text passes through."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return esc(value)
    if value != value:  # NaN
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A plain table; cells are already-escaped HTML; ``numeric`` column indexes align right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    # a wide table scrolls sideways in its own box instead of being cut at the output's edge
    return (
        f'<div style="overflow-x:auto;max-width:100%"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def details(summary_html: str, body_html: str, open_: bool = False) -> str:
    return (
        f"<details{' open' if open_ else ''}><summary>{summary_html}</summary>{body_html}</details>"
    )


def wrap(body: str) -> str:
    """One self-contained block: its own scoped style, then the body."""
    uid = next(_ids)
    return f'<div class="trtm" id="trtm-{uid}"><style>{CSS}</style>{body}</div>'
