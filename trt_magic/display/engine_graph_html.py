"""The HTML of an engine graph: header, legend, search box, pages of inline SVG; no external
resource, so it works the same in a notebook, an nbconvert export or a saved file. Without
JavaScript (e.g. a notebook viewer that strips scripts) every inlined page simply shows. With the
browser layout the pages are DOT sources the inlined Viz.js draws (engine_graph_layout.py)."""

from __future__ import annotations

import uuid

from .engine_graph import OTHER_PRECISION, PRECISION_COLOURS, TIME_COLOURS, EngineGraphView, escape

_CSS = """
.tmg {font-family: "DejaVu Sans", sans-serif; font-size: 13px}
.tmg .legend span.chip {display:inline-block; padding:0 6px; margin-right:4px; color:white;
  border-radius:3px}
.tmg .legend span.swatch {display:inline-block; width:22px; height:12px; border:1px solid #999;
  vertical-align:middle}
.tmg .pages > div {overflow:auto; max-height:80vh; border:1px solid #ddd; margin-top:6px}
.tmg .hit polygon, .tmg .hit path {stroke:#d0021b; stroke-width:4px}
.tmg button.on {font-weight:bold}
"""

_JS = """
(function () {
  var root = document.getElementById("%(id)s");
  if (!root) return;
  var pages = root.querySelectorAll(".pages > div"), buttons = root.querySelectorAll("button");
  function show(k) {
    pages.forEach(function (p, i) { p.style.display = i === k ? "" : "none"; });
    buttons.forEach(function (b, i) { b.className = i === k ? "on" : ""; });
  }
  buttons.forEach(function (b, i) { b.onclick = function () { show(i); }; });
  if (buttons.length) show(0);
  var box = root.querySelector("input"), out = root.querySelector(".found");
  box.oninput = function () {
    var q = box.value.trim().toLowerCase(), first = null, count = 0;
    root.querySelectorAll("g.layer").forEach(function (g) {
      var a = g.querySelector("a"), t = a ? (a.getAttribute("xlink:title") || "") : "";
      var hit = q && (g.textContent + " " + t).toLowerCase().indexOf(q) >= 0;
      g.classList.toggle("hit", !!hit);
      if (hit) { count++; first = first || g; }
    });
    out.textContent = q ? count + " layer(s) match" : "";
    if (first) {
      var page = first.closest(".pages > div");
      if (buttons.length) show(Array.prototype.indexOf.call(pages, page));
      first.scrollIntoView({block: "center"});
    }
  };
})();
"""


def _legend(view: EngineGraphView) -> str:
    seen = sorted({layer.precision for layer in view.layers if layer.precision})
    chips = "".join(
        f'<span class="chip" style="background:{PRECISION_COLOURS.get(p, OTHER_PRECISION)}">'
        f"{escape(p)}</span>"
        for p in seen
    )
    parts = [f"border: precision (of the first input) {chips}"] if chips else []
    if view.profiled:
        top = max(layer.percent or 0.0 for layer in view.layers)
        steps = len(TIME_COLOURS) - 1
        swatches = "".join(
            f'<span class="swatch" style="background:{c}" title="≈{top * i / steps:.1f}%"></span>'
            for i, c in enumerate(TIME_COLOURS)
        )
        parts.append(f"fill: share of time 0% {swatches} {top:.1f}% (the slowest layer)")
    return '<div class="legend">' + " &nbsp; ".join(parts) + "</div>"


def _summary(view: EngineGraphView) -> str:
    counts: dict[str, int] = {}
    for layer in view.layers:
        if layer.precision:  # Myelin shape_call layers have no tensors, hence no precision
            counts[layer.precision] = counts.get(layer.precision, 0) + 1
    text = f"{len(view.layers)} layer" + ("" if len(view.layers) == 1 else "s")
    if view.detailed:
        text += " · " + ", ".join(f"{p} {n}" for p, n in sorted(counts.items()))
    if view.profiled:
        total = sum(layer.time_ms or 0.0 for layer in view.layers)
        text += f" · {total:.3f} ms per inference in the profile"
    return text


def view_html(view: EngineGraphView) -> str:
    vid = f"tmg-{uuid.uuid4().hex[:12]}"  # one per rendering: a view may be shown twice
    browser = _layout(view) == "browser"
    pages, size = [], 0
    for page in range(view.first_page, view.page_count):
        svg = _browser_page(view.dot_source(page)) if browser else view.svg(page)
        if pages and size + len(svg) > view.max_inline_bytes:
            break
        pages.append(svg)
        size += len(svg)
    last = view.first_page + len(pages)
    buttons = ""
    if len(pages) > 1:
        buttons = "".join(
            f"<button>page {k + 1}: layers {k * view.page_size + 1}–"
            f"{min((k + 1) * view.page_size, len(view.layers))}</button>"
            for k in range(view.first_page, last)
        )
    notes = [escape(n) for n in view.notes]
    if last < view.page_count:
        notes.append(
            f"Pages {last + 1}–{view.page_count} are not inline (the page would pass "
            f"{view.max_inline_bytes / 1e6:.0f} MB): show them with <code>view.page({last})</code>."
        )
    body = "".join(f'<div data-page="{k}">{svg}</div>' for k, svg in enumerate(pages))
    loader = ""
    if browser:
        from .engine_graph_layout import browser_loader

        loader = browser_loader(vid)
    notes_html = "".join(f'<div style="color:#8a5300">{n}</div>' for n in notes)
    return (
        f'<div id="{vid}" class="tmg"><style>{_CSS}</style>'
        f"<div><b>Engine graph</b> · <code>{escape(view.title)}</code> · {_summary(view)}</div>"
        f"{notes_html}{_legend(view)}"
        f'<div>search layers: <input type="search" placeholder="name, type, precision"> '
        f'<span class="found"></span></div><div class="pager">{buttons}</div>'
        f'<div class="pages">{body}</div><script>{_JS % {"id": vid}}</script>{loader}</div>'
    )


def _layout(view: EngineGraphView) -> str:
    from .engine_graph_layout import resolve_layout

    return resolve_layout(view.layout)


def _browser_page(dot: str) -> str:
    """A page the browser lays out: the DOT source, and what shows until it is drawn."""
    return (
        f'<div data-dot="{escape(dot)}"><span style="color:#666">laying out the graph '
        "in the browser (Graphviz compiled to WebAssembly)…</span></div>"
    )
