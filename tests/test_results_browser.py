"""The results views in a real browser, on a light and a dark notebook background: every piece
of text keeps a WCAG AA contrast (4.5:1) against what is behind it."""

from __future__ import annotations

import pytest
from data.registry import DATA

from trt_magic.results import compare, load_run

pytestmark = pytest.mark.browser

THEMES = {"light": ("#ffffff", "#000000"), "dark": ("#111111", "#d9d9d9")}  # JupyterLab's

# contrast of each element's own text against the first opaque background behind it
CONTRAST_JS = """
() => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c; } return [255, 255, 255]; };
  const out = [];
  for (const el of document.querySelectorAll('.trtm *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('svg') || el.tagName === 'STYLE') continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    out.push([el.textContent.trim().slice(0, 40), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
  }
  return out;
}
"""


def _views() -> dict[str, str]:
    failed = load_run(DATA / "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log")
    timed = load_run(DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32")
    runs = compare(
        DATA / "trex/A100-fp32/resnet.onnx.engine", DATA / "trex/A100-fp16/resnet.onnx.engine"
    )
    return {
        "failed": failed._repr_html_(),
        "timed": timed._repr_html_(),
        "compare": runs._repr_html_(),
    }


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_text_contrast_in_light_and_dark_themes(browser, theme):
    background, color = THEMES[theme]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        for name, html in _views().items():
            page.set_content(f'<body style="background:{background};color:{color}">{html}</body>')
            measured = page.evaluate(CONTRAST_JS)
            assert len(measured) > 20, name
            low = [(text, round(ratio, 2)) for text, ratio in measured if ratio < 4.5]
            assert low == [], f"{name} ({theme}): low-contrast text {low[:5]}"
    finally:
        page.close()
