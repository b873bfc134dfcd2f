"""The engine graph: the layers TensorRT built, drawn by Graphviz as inline SVG.

Graphviz's ``dot`` lays it out when it is on PATH; otherwise (or with ``layout="browser"``) the
browser does, with the vendored Viz.js, from the same DOT source (engine_graph_layout.py).

Input is trtexec's ``--exportLayerInfo`` written with ``--profilingVerbosity=detailed`` (one
dict per engine layer with its input and output tensors); a ``--exportProfile`` adds each
layer's share of the run's time, which colours the nodes. Tensors connect a layer that writes
a tensor name to the layers that read it. Layers are in execution order in the export, so a big
engine is drawn as pages of ``page_size`` layers (links to other pages become small stubs), and
only so many pages go inline: the HTML stays a few MB however big the engine is.
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MissingDependency, TrtMagicBug, TrtMagicError, UsageError

PAGE_SIZE = 120
MAX_INLINE_BYTES = 4_000_000
DOT_TIMEOUT_S = 120

#: share of time -> fill colour (ColorBrewer YlOrRd, 9 classes); the hottest layer is darkest
TIME_COLOURS = (
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
)
NO_PROFILE_FILL = "#f4f6f8"
PRECISION_COLOURS = {
    "FP32": "#4e79a7",
    "FP16": "#59a14f",
    "BF16": "#2f8f83",
    "FP8": "#e15759",
    "INT8": "#f28e2b",
    "INT4": "#b07aa1",
    "INT32": "#9c755f",
    "INT64": "#9c755f",
    "BOOL": "#79706e",
}
OTHER_PRECISION = "#9a9a9a"

#: long ``Format/Datatype`` words -> TensorRT's TensorFormat names. Seen in the 8.x TREx graphs
#: (trex/A100-qat: ``Thirty-two wide channel vectorized row major Int8 format``; trtexec/
#: fuzzylabs-10.x-resnet18-fp16.graph.json: ``Channel major FP16 format where channel % 8 == 0``);
#: 10.x Myelin layers write only the type (``Float``, ``Half``: layerinfo-10.16.1-detailed.json).
_WIDTHS = {"Two": 2, "Four": 4, "Eight": 8, "Sixteen": 16, "Thirty-two": 32}
_VECTORIZED = re.compile(r"^(Two|Four|Eight|Sixteen|Thirty-two) wide channel vectorized row major")
_CHANNEL_MAJOR = re.compile(r"^Channel major\b.*?(?:channel % (\d+) == 0)?$")


class GraphvizNotFound(MissingDependency):
    """Graphviz's ``dot`` program is not on PATH."""

    def __init__(self) -> None:
        TrtMagicError.__init__(
            self,
            "The engine graph needs Graphviz's `dot` program, which is not on PATH.",
            hint="install Graphviz: apt-get install graphviz (Debian/Ubuntu), "
            "brew install graphviz (macOS), conda install graphviz; or lay it out in the "
            "browser with no Graphviz: engine_graph(..., layout='browser')",
        )
        self.module, self.extra = "dot", "graph"


def format_short(fmt: str) -> str:
    """Name a tensor format the way TensorRT's API does (``LINEAR``, ``CHW32``, ``HWC8``)."""
    if fmt.startswith("Row major linear"):
        return "LINEAR"
    match = _VECTORIZED.match(fmt)
    if match:
        return f"CHW{_WIDTHS[match.group(1)]}"
    match = _CHANNEL_MAJOR.match(fmt)
    if match:
        return f"HWC{match.group(1) or ''}"
    return ""


@dataclass
class _Layer:
    """What the graph needs of one engine layer."""

    index: int
    name: str
    kind: str | None  # the engine's LayerType (CaskConvolution, Reformat, kgen...)
    precision: str | None
    out_precision: str | None
    inputs: list  # TensorInfo
    outputs: list
    time_ms: float | None = None
    percent: float | None = None


@dataclass
class EngineGraphView:
    """The engine's layer graph as pages of inline SVG; ``_repr_html_`` is self-contained."""

    layers: list[_Layer]
    bindings: list[str]
    title: str = ""
    detailed: bool = True
    profiled: bool = False
    page_size: int = PAGE_SIZE
    max_inline_bytes: int = MAX_INLINE_BYTES
    notes: list[str] = field(default_factory=list)
    first_page: int = 0
    recorded: bool = False  # drawn from a replayed (recorded) run, not the user's engine
    layout: str = "auto"  # "dot" (on PATH), "browser" (Viz.js in the page) or "auto"
    _svgs: dict[int, str] = field(default_factory=dict, repr=False)
    _id: str = field(default_factory=lambda: uuid.uuid4().hex[:10], repr=False)

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(len(self.layers) / self.page_size))

    def page_layers(self, page: int) -> list[_Layer]:
        """The layers drawn on ``page`` (0-based)."""
        if not 0 <= page < self.page_count:
            raise UsageError(f"page {page} is outside 0..{self.page_count - 1}.")
        return self.layers[page * self.page_size : (page + 1) * self.page_size]

    def dot_source(self, page: int = 0) -> str:
        """The Graphviz source of one page."""
        return _dot_source(self, page)

    def svg(self, page: int = 0) -> str:
        """The SVG of one page (rendered by ``dot`` once, then kept)."""
        if page not in self._svgs:
            self._svgs[page] = render_svg(self.dot_source(page))
        return self._svgs[page]

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the view as a standalone HTML page."""
        out = Path(path)
        tmp = out.with_name(out.name + ".tmp")
        page = f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(self.title)}'
        page += f"</title></head>\n<body>\n{self._repr_html_()}\n</body></html>\n"
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
        return out

    def page(self, page: int) -> EngineGraphView:
        """The same view starting at ``page`` (for pages beyond what fits inline)."""
        self.page_layers(page)
        return dataclasses.replace(self, first_page=page, _svgs=self._svgs)

    def _repr_html_(self) -> str:
        from .engine_graph_html import view_html

        return view_html(self)

    def __repr__(self) -> str:
        return (
            f"EngineGraphView({self.title!r}, layers={len(self.layers)}, "
            f"pages={self.page_count}, profiled={self.profiled}"
            + (", recorded=True)" if self.recorded else ")")
        )


def engine_graph(
    run_or_layer_info_path: Any,
    profile: Any = None,
    *,
    page_size: int = PAGE_SIZE,
    max_inline_bytes: int = MAX_INLINE_BYTES,
    layout: str = "auto",
) -> EngineGraphView:
    """Draw the engine's layers from ``--exportLayerInfo`` (and ``--exportProfile``).

    Args:
        run_or_layer_info_path: a ``Run`` (its ``layer_info`` and ``profile`` files are used)
            or the path of a ``--exportLayerInfo`` JSON file (a TREx ``*.graph.json`` too).
        profile: a ``--exportProfile`` JSON path, or records from ``read_profile``; colours
            the layers by their share of the time.
        page_size: layers per page (big engines are drawn page by page).
        max_inline_bytes: pages go inline in the HTML up to this many bytes of SVG.
        layout: "dot" (Graphviz on PATH), "browser" (Graphviz compiled to WebAssembly, laid
            out in the page: no system Graphviz needed) or "auto" (dot when on PATH).

    Raises:
        UsageError: no layer info is given, or ``page_size`` is not positive.
        ResultError: the file is not layer info.
        GraphvizNotFound: ``layout="dot"`` and ``dot`` is not installed.
    """
    from ..results.exports import is_detailed, read_bindings, read_layer_info, read_profile
    from .engine_graph_layout import resolve_layout

    layout = resolve_layout(layout)
    source, profile = _sources(run_or_layer_info_path, profile)
    if not isinstance(page_size, int) or page_size < 1:
        raise UsageError(f"page_size must be a positive whole number, not {page_size!r}.")
    records = read_layer_info(source)
    if isinstance(profile, (str, os.PathLike)):
        profile = read_profile(profile)
    view = EngineGraphView(
        layers=[_layer(i, rec) for i, rec in enumerate(records)],
        bindings=[str(b) for b in read_bindings(source)],
        title=Path(source).name,
        detailed=is_detailed(records),
        page_size=page_size,
        max_inline_bytes=max_inline_bytes,
        layout=layout,
    )
    if layout == "dot" and shutil.which("dot") is None:
        raise GraphvizNotFound()
    recorded = getattr(run_or_layer_info_path, "recorded", None)
    if recorded is None and isinstance(run_or_layer_info_path, str | os.PathLike):
        from ..results.load import shipped_recording  # a path into the shipped recordings

        recorded = shipped_recording({"layer_info": Path(source)})
    if recorded is not None:  # a replayed run says where its recording came from
        view.recorded = True
        view.title = f"{view.title} (recorded, not built)"
        view.notes.append(f"This engine was not built from your request: {recorded.label()}.")
        view.notes += [f"Differs: {d}" for d in getattr(recorded, "differences", [])]
    if not records:
        view.notes.append("The layer info lists no layers.")
    if not view.detailed and records:
        view.notes.append(
            "This layer info has layer names only (the engine was built without "
            "--profilingVerbosity=detailed), so the graph shows the execution order, not the "
            "tensors between layers. Rebuild with --profilingVerbosity=detailed "
            "--exportLayerInfo=FILE for the full graph."
        )
    if profile:
        _attach_profile(view, profile)
    return view


def _sources(target: Any, profile: Any) -> tuple[Path, Any]:
    """The layer-info path and profile of a Run or a path."""
    files = getattr(target, "files", None)
    if isinstance(files, dict):
        if "layer_info" not in files:
            raise UsageError(
                "This run has no layer info file.",
                hint="run trtexec with --profilingVerbosity=detailed --exportLayerInfo=FILE "
                "(and --exportProfile=FILE for timings)",
            )
        return Path(files["layer_info"]), profile if profile is not None else files.get("profile")
    if isinstance(target, (str, os.PathLike)):
        from ..config import get_settings

        return get_settings().resolve_path(target), profile
    raise UsageError(
        f"engine_graph needs a Run or a layer info path, not a {type(target).__name__}.",
        hint="engine_graph('model.layers.json') or engine_graph(run)",
    )


def _layer(index: int, rec: Any) -> _Layer:
    out = rec.outputs[0].dtype if rec.outputs else None
    kind = rec.raw.get("LayerType") or rec.type
    return _Layer(index, rec.name, kind, rec.precision, out, rec.inputs, rec.outputs)


def _attach_profile(view: EngineGraphView, profile: Any) -> None:
    by_name = {rec.name: rec for rec in profile}
    matched = 0
    for layer in view.layers:
        rec = by_name.get(layer.name)
        if rec is not None:
            layer.time_ms, layer.percent = rec.average_ms, rec.percent
            matched += 1
    view.profiled = matched > 0
    if matched < len(view.layers):
        view.notes.append(
            f"The profile names {matched} of the {len(view.layers)} layers; the others are "
            "drawn without a time (was the profile made from another engine?)."
        )


def time_colour(percent: float | None, top: float) -> str:
    """The fill of a layer taking ``percent`` of the time, ``top`` being the largest share."""
    if percent is None:
        return NO_PROFILE_FILL
    if top <= 0 or percent <= 0:
        return "#ffffff"
    step = min(len(TIME_COLOURS) - 1, int(percent / top * (len(TIME_COLOURS) - 1) + 0.5))
    return TIME_COLOURS[step]


def render_svg(dot_source: str) -> str:
    """Run ``dot -Tsvg`` on ``dot_source`` (an argument list, no shell) and return the SVG."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFound()
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=dot_source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"Graphviz took more than {DOT_TIMEOUT_S} s to draw one page.",
            hint="draw fewer layers per page: engine_graph(..., page_size=50)",
        ) from None
    if done.returncode != 0:
        raise TrtMagicBug(f"dot failed: {done.stderr.decode('utf-8', 'replace')[-2000:]}")
    svg = done.stdout.decode("utf-8")
    return svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE: it is inlined in HTML


def escape(text: str) -> str:
    """Escape text for Graphviz HTML labels and attributes."""
    return html.escape(text, quote=True)


# --- Graphviz source -------------------------------------------------------------------------


def _short(text: str, limit: int = 44) -> str:
    """Middle-ellipsize a long layer name (Myelin names run to hundreds of characters)."""
    return text if len(text) <= limit else f"{text[: limit - 16]}…{text[-15:]}"


def tensor_label(tensor: Any) -> str:
    """``1x32x28x28 FP16 HWC8``: the shape, type and layout of a tensor between layers."""
    dims = "x".join(str(d) for d in tensor.dims) or "scalar"
    return " ".join(p for p in (dims, tensor.dtype or "", format_short(tensor.format)) if p)


def _node(view: EngineGraphView, layer: _Layer, top: float, page: int) -> str:
    """One layer: fill = share of time, border = precision, text = name, type, precision."""
    fill = time_colour(layer.percent, top) if view.profiled else NO_PROFILE_FILL
    ink = "white" if fill in TIME_COLOURS[6:] else "#1a1a1a"
    rows = [f"<b>{escape(_short(layer.name))}</b>"]
    border = "#555555"
    if view.detailed:
        precision = layer.precision or "n/a"  # Myelin shape_call layers have no tensors
        if layer.out_precision and layer.out_precision != layer.precision:
            precision += f"→{layer.out_precision}"
        border = PRECISION_COLOURS.get(layer.precision or "", OTHER_PRECISION)
        rows.append(f"{escape(layer.kind or 'layer')} · <b>{escape(precision)}</b>")
    if layer.time_ms is not None:
        rows.append(f"{layer.time_ms:.4f} ms · {layer.percent or 0:.1f}%")
    cells = "".join(
        f'<tr><td align="left"><font color="{ink}">{row}</font></td></tr>' for row in rows
    )
    label = f'<<table border="0" cellspacing="0" cellpadding="1">{cells}</table>>'
    tooltip = escape(f"{layer.name}\n{layer.kind or ''} {layer.precision or ''}".strip())
    return (
        f'  L{layer.index} [id="{view._id}-p{page}-L{layer.index}", class="layer", '
        f'fillcolor="{fill}", color="{border}", penwidth={3 if view.detailed else 1}, '
        f'tooltip="{tooltip}", label={label}];'
    )


_GRAPH_STYLE = (
    "  rankdir=TB; nodesep=0.25; ranksep=0.35;\n"
    '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans", fontsize=10, '
    'color="#555555", margin="0.1,0.06"];\n'
    '  edge [fontname="DejaVu Sans", fontsize=8, color="#777777", fontcolor="#333333"];'
)


class _PageEdges:
    """The edges of one page: tensors between its layers, and stubs for the world outside
    (engine inputs/outputs, and layers on other pages)."""

    def __init__(self, view: EngineGraphView, page: int):
        self.view, self.on_page = view, {layer.index for layer in view.page_layers(page)}
        self.producer: dict[str, int] = {}
        self.consumers: dict[str, list[int]] = {}
        for layer in view.layers:
            for tensor in layer.outputs:
                self.producer.setdefault(tensor.name, layer.index)
            for tensor in layer.inputs:
                self.consumers.setdefault(tensor.name, []).append(layer.index)
        self.stubs: dict[str, str] = {}
        self.edges: list[str] = []

    def stub(self, key: str, label: str, shape: str = "note") -> str:
        if key not in self.stubs:
            self.stubs[key] = (
                f'  S{len(self.stubs)} [label="{escape(label)}", shape={shape}, '
                'style="filled", fillcolor="#e8eef7", fontsize=9, class="stub"];'
            )
        return self.stubs[key].split(" ", 3)[2]

    def add_inputs(self, layer: _Layer) -> None:
        for tensor in layer.inputs:
            src = self.producer.get(tensor.name)
            if src is None:
                node = self.stub("in:" + tensor.name, tensor.name, "ellipse")
            elif src in self.on_page:
                node = f"L{src}"
            else:
                where = f"{tensor.name}\n(from page {src // self.view.page_size + 1})"
                node = self.stub(f"from:{tensor.name}", where)
            self.edges.append(_edge(node, f"L{layer.index}", tensor))

    def add_outputs(self, layer: _Layer) -> None:
        for tensor in layer.outputs:
            users = self.consumers.get(tensor.name, [])
            if not users and tensor.name in self.view.bindings:
                out = self.stub("out:" + tensor.name, tensor.name, "ellipse")
                self.edges.append(_edge(f"L{layer.index}", out, tensor))
            pages = {u // self.view.page_size for u in users if u not in self.on_page}
            for other in sorted(pages):
                to = self.stub(f"to:{other}", f"to page {other + 1}")
                self.edges.append(_edge(f"L{layer.index}", to, tensor))


def _dot_source(view: EngineGraphView, page: int) -> str:
    layers = view.page_layers(page)
    top = max((layer.percent or 0.0 for layer in view.layers), default=0.0)
    lines = [f'digraph "{escape(view.title)}" {{', f'  id="{view._id}-g{page}";', _GRAPH_STYLE]
    lines += [_node(view, layer, top, page) for layer in layers]
    edges = _PageEdges(view, page)
    for layer in layers:
        if view.detailed:
            edges.add_inputs(layer)
            edges.add_outputs(layer)
        elif layer.index + 1 in edges.on_page:  # names only: the execution order
            edges.edges.append(
                f'  L{layer.index} -> L{layer.index + 1} [style=dashed, label=" then"];'
            )
    lines += [*edges.stubs.values(), *edges.edges, "}"]
    return "\n".join(lines) + "\n"


def _edge(src: str, dst: str, tensor: Any) -> str:
    label = escape(tensor_label(tensor))
    return f'  {src} -> {dst} [label=" {label}", tooltip="{escape(tensor.name)}"];'
