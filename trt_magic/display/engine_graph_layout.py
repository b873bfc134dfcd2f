"""Where the engine graph is laid out: Graphviz's ``dot`` on PATH, or the browser.

The browser layout inlines Viz.js (Graphviz 16 compiled to WebAssembly, vendored from npm in
``trt_magic/data/vizjs/`` with its licences) into the HTML, and lays out the very DOT source
``dot`` would get: the same picture, with no system Graphviz (pip-only installs, Colab, Binder
without apt, Windows). The HTML stays self-contained: a saved notebook or an nbconvert export
draws the graph offline, with no kernel.
"""

from __future__ import annotations

import base64
import functools
import gzip
import shutil
from importlib import resources

from ..errors import UsageError

LAYOUTS = ("auto", "dot", "browser")
VIZ_JS = "viz-global.js"


def resolve_layout(layout: str) -> str:
    """ "dot" or "browser": ``auto`` is ``dot`` when it is on PATH, else the browser."""
    if layout not in LAYOUTS:
        raise UsageError(
            f"layout {layout!r} is not one of {', '.join(LAYOUTS)}.",
            hint="engine_graph(run, layout='browser') lays the graph out without Graphviz",
        )
    if layout == "auto":
        return "dot" if shutil.which("dot") else "browser"
    return layout


@functools.cache
def viz_js_gzip_base64() -> str:
    """The vendored Viz.js, gzipped and base64-encoded (1.3 MB -> 0.6 MB of HTML), built once."""
    raw = resources.files("trt_magic").joinpath("data", "vizjs", VIZ_JS).read_bytes()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


#: decompress and start Viz.js once per page (window.Viz), then draw every [data-dot] of the view.
#: Viz.js is a UMD bundle: run with ``define`` / ``exports`` hidden so it sets window.Viz even
#: where require.js is loaded (classic notebook, some nbconvert templates).
_LOADER = """
(function () {
  var root = document.getElementById("%(id)s");
  if (!root) return;
  function draw() {
    window.Viz.instance().then(function (viz) {
      root.querySelectorAll("[data-dot]").forEach(function (el) {
        try {
          el.replaceChildren(viz.renderSVGElement(el.getAttribute("data-dot")));
          el.removeAttribute("data-dot");
        } catch (err) {
          el.textContent = "The browser could not lay out this page: " + err;
        }
      });
      root.setAttribute("data-laid-out", "1");
    });
  }
  if (window.Viz) { draw(); return; }
  if (!window.__tmgVizLoading) {
    var bytes = Uint8Array.from(atob("%(viz)s"), function (c) { return c.charCodeAt(0); });
    var text = new Response(new Blob([bytes]).stream().pipeThrough(
      new DecompressionStream("gzip"))).text();
    window.__tmgVizLoading = text.then(function (src) {
      new Function("define", "exports", "module", src).call(window);
    });
  }
  window.__tmgVizLoading.then(draw);
})();
"""


def browser_loader(view_id: str) -> str:
    """The ``<script>`` that lays out the view's ``data-dot`` pages in the browser."""
    return f"<script>{_LOADER % {'id': view_id, 'viz': viz_js_gzip_base64()}}</script>"
