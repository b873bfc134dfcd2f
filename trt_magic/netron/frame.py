"""The notebook side of a Netron view: the IFrame, a link, and the notes that may replace it.

Two scripts decide what shows, because only the browser knows what it can reach:

- the page posts ``{trtMagicNetron: "loaded"}`` to its parent when it runs (:mod:`.page`);
  without that message within :data:`NOTE_DELAY_MS` the "may be blank" note appears;
- a ``no-cors`` fetch of the view's URL fails when nothing serves it (a saved notebook or an
  nbconvert export read later): the IFrame is swapped for a "not running now" note.
"""

from __future__ import annotations

import html
import uuid
from typing import TYPE_CHECKING

from . import urls

if TYPE_CHECKING:
    from .views import NetronView

NOTE_DELAY_MS = 6000


def view_html(view: NetronView) -> str:
    """The HTML of a view as a notebook output shows it."""
    e = html.escape
    name, url = e(view.path.name), e(view.url, quote=True)
    vid = f"trt-magic-netron-{uuid.uuid4().hex[:12]}"
    note = e(view.note or urls.blank_note(view.port))
    gone = (
        f"This Netron view of <code>{name}</code> was served live by the kernel; it is not "
        f"running now. Run the cell again, or open <code>{name}</code> with "
        "<code>netron</code> on your machine."
    )
    return f"""<div id="{vid}" class="trt-magic-netron">
<iframe src="{url}" width="100%" height="{int(view.height)}" style="border:1px solid #ccc"
 title="Netron: {name}" referrerpolicy="no-referrer"></iframe>
<div class="trt-magic-netron-gone" style="display:none;padding:8px;border:1px dashed #aaa">{gone}</div>
<div style="font-size:90%;color:#555">Netron {e(view.netron_version)} · <code>{name}</code>
 · <a href="{url}" target="_blank" rel="noopener noreferrer">open in a new tab</a> · served
 privately by this kernel on {urls.HOST}:{view.port} ({e(view.status)})</div>
<div class="trt-magic-netron-note" style="display:none;color:#8a5300">{note}</div>
<script>(function () {{
  var root = document.getElementById("{vid}");
  if (!root) return;
  var frame = root.querySelector("iframe"), loaded = false, isGone = false;
  var note = root.querySelector(".trt-magic-netron-note");
  window.addEventListener("message", function (event) {{
    if (event.source === frame.contentWindow && event.data && event.data.trtMagicNetron === "loaded") {{
      loaded = true;
      note.style.display = "none";
    }}
  }});
  setTimeout(function () {{
    if (!loaded && !isGone) note.style.display = "block";
  }}, {NOTE_DELAY_MS});
  if (!window.fetch) return;
  function gone() {{
    isGone = true;
    frame.style.display = "none";
    note.style.display = "none";
    root.querySelector(".trt-magic-netron-gone").style.display = "block";
  }}
  // unreachable (saved copy, export): a network error; behind a proxy: an error status
  fetch("{url}", {{mode: "no-cors", cache: "no-store", referrerPolicy: "no-referrer"}}).then(function (r) {{
    if (r.type !== "opaque" && !r.ok) gone();
  }}, gone);
}})();</script>
</div>"""
