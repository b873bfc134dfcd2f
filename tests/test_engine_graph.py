"""The engine graph of every real layer-info fixture, the names-only form, paging and the cap."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import trt_magic.display.engine_graph as eg
from trt_magic.errors import ResultError, UsageError
from trt_magic.results.run import Recorded, Run

DATA = Path(__file__).parent / "data"

#: every detailed --exportLayerInfo fixture -> its --exportProfile (None: no profile shipped)
DETAILED = {
    "trtexec/layerinfo-10.16.1-detailed.json": None,
    "trtexec/fuzzylabs-10.x-alexnet-fp16.graph.json": "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.json",
    "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json": "trtexec/fuzzylabs-10.x-resnet18-fp16.profile.json",
    "trtexec/trex-pt-resnet18-a100-qat-int8.graph.json": "trtexec/trex-pt-resnet18-a100-qat-int8.profile.json",
    "trtexec/trex-tf-resnet50-rtx3090-fp32.graph.json": "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.json",
    "trex/A100-fp16/resnet.onnx.engine.graph.json": "trex/A100-fp16/resnet.onnx.engine.profile.json",
    "trex/A100-fp32/resnet.onnx.engine.graph.json": "trex/A100-fp32/resnet.onnx.engine.profile.json",
    "trex/A100-qat/resnet-qat.onnx.engine.graph.json": "trex/A100-qat/resnet-qat.onnx.engine.profile.json",
    **{
        f"trex/{p}.graph.json": f"trex/{p}.profile.json"
        for p in (
            "mobilenet-qat/mobilenet.qat.onnx.engine",
            "mobilenet-v2-residuals-qat/mobilenet_v2_residuals.qat.onnx.engine",
            "RTX-3090-tf-resnet50/fp16/resnet.onnx.engine",
            "RTX-3090-tf-resnet50/qat/resnet-qat.onnx.engine",
        )
    },  # fmt: skip
}
NAMES_ONLY = ["trtexec/layerinfo-8.6.0-names-only.json", "trex/notebook-yolo-orin/layer_info.json"]
LAYER_NODE = re.compile(r'<g id="[^"]+" class="node layer">')


def layer_info_fixtures() -> dict[str, bool]:
    """Every layer-info file under tests/data -> whether it is detailed."""
    found = {}
    for path in sorted(DATA.rglob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("Layers"), list) and data["Layers"]:
            found[path.relative_to(DATA).as_posix()] = isinstance(data["Layers"][0], dict)
    return found


def all_svg(view: eg.EngineGraphView) -> str:
    return "".join(view.svg(page) for page in range(view.page_count))


def test_every_layer_info_fixture_is_covered():
    found = layer_info_fixtures()
    assert {name for name, detailed in found.items() if detailed} == set(DETAILED)
    assert {name for name, detailed in found.items() if not detailed} == set(NAMES_ONLY)


@pytest.mark.parametrize("name", sorted(DETAILED))
def test_graph_of_each_detailed_fixture(name):
    raw = json.loads((DATA / name).read_text())["Layers"]
    profile = DETAILED[name] and DATA / DETAILED[name]
    view = eg.engine_graph(DATA / name, profile)
    svg = all_svg(view)
    assert len(LAYER_NODE.findall(svg)) == len(raw) == len(view.layers)
    for layer in view.layers:  # each node shows its type and precision
        if layer.precision is None:  # only Myelin shape_call layers, which have no tensors
            assert not layer.inputs and not layer.outputs and layer.kind == "shape_call"
        shown = re.escape(layer.precision or "n/a")
        kind = re.escape(eg.escape(layer.kind))
        assert re.search(rf">{kind} · </text>\n<text[^>]*>{shown}(→[A-Z0-9]+)?</text>", svg)
    chips = {eg.PRECISION_COLOURS[layer.precision] for layer in view.layers if layer.precision}
    assert all(f'stroke="{chip}"' in svg for chip in chips)  # the border shows the precision
    edge_labels = re.findall(r'class="edge">.*?<text[^>]*>([^<]+)</text>', svg, re.S)
    assert edge_labels and all(re.match(r"\s*(\d+x)*\d+ [A-Z0-9]+", t) for t in edge_labels)
    html = view._repr_html_()
    assert "<svg" in html and "search layers" in html
    assert (
        re.search(r'id="(tmg-\w+)"', html)[1] != re.search(r'id="(tmg-\w+)"', view._repr_html_())[1]
    )
    assert view.profiled == bool(profile)
    if profile:
        hottest = max(view.layers, key=lambda layer: layer.percent or 0)
        assert hottest.time_ms and f'fill="{eg.TIME_COLOURS[-1]}"' in svg
        assert f"{hottest.time_ms:.4f} ms · {hottest.percent:.1f}%" in svg
        assert "fill: share of time" in html and view.notes == []
    else:
        assert f'fill="{eg.NO_PROFILE_FILL}"' in svg


def test_edges_follow_the_tensors():
    view = eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json")
    source = view.dot_source()
    # conv+relu writes `relu` (1x32x28x28 Float), which the max-pool reads
    assert 'L0 -> L1 [label=" 1x32x28x28 FP32", tooltip="relu"]' in source
    assert 'S0 [label="x", shape=ellipse' in source  # the engine input binding
    assert re.search(r'-> S\d+ \[label=" [^"]*", tooltip="y"\]', source)  # output binding y


def test_reformat_shows_both_precisions_and_formats():
    view = eg.engine_graph(DATA / "trex/A100-qat/resnet-qat.onnx.engine.graph.json")
    first = view.layers[0]  # QuantizeLinear_2: Reformat FP32 -> Int8 CHW4
    assert (first.kind, first.precision, first.out_precision) == ("Reformat", "FP32", "INT8")
    svg = view.svg()
    assert re.search(r">Reformat · </text>\n<text[^>]*>FP32→INT8</text>", svg)
    assert "32x3x224x224 INT8 CHW4" in svg


@pytest.mark.parametrize(
    "fmt, short",
    [
        ("Row major linear FP32", "LINEAR"),
        ("Row major linear FP16 format", "LINEAR"),
        ("Thirty-two wide channel vectorized row major Int8 format", "CHW32"),
        ("Four wide channel vectorized row major FP32 format", "CHW4"),
        ("Two wide channel vectorized row major FP16 format", "CHW2"),
        ("Channel major FP16 format where channel % 8 == 0", "HWC8"),
        ("Channel major FP32 format", "HWC"),
        ("Half", ""),
        ("Int64", ""),
    ],
)
def test_format_short(fmt, short):
    assert eg.format_short(fmt) == short


@pytest.mark.parametrize("name", NAMES_ONLY)
def test_names_only_gives_a_degraded_graph_with_a_note(name):
    raw = json.loads((DATA / name).read_text())["Layers"]
    view = eg.engine_graph(DATA / name)
    assert not view.detailed
    assert len(LAYER_NODE.findall(all_svg(view))) == len(raw)
    assert "--profilingVerbosity=detailed" in view._repr_html_()
    assert "style=dashed" in view.dot_source()


def test_run_object_brings_its_profile():
    run = Run(
        files={
            "layer_info": DATA / "trtexec/fuzzylabs-10.x-alexnet-fp16.graph.json",
            "profile": DATA / "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.json",
        }
    )
    view = eg.engine_graph(run)
    assert view.profiled and all(layer.time_ms is not None for layer in view.layers)
    run.recorded = Recorded("fuzzylabs/edge-vision-power-estimation", gpu="RTX 3060 Laptop GPU")
    assert "recorded: fuzzylabs/edge-vision" in eg.engine_graph(run)._repr_html_()
    with pytest.raises(UsageError, match="no layer info"):
        eg.engine_graph(Run(files={}))


def test_profile_of_another_engine_is_noted():
    view = eg.engine_graph(
        DATA / "trtexec/layerinfo-10.16.1-detailed.json",
        DATA / "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.json",
    )
    assert not view.profiled
    assert "names 0 of the 9 layers" in view.notes[0]


def test_not_layer_info_is_a_result_error():
    with pytest.raises(ResultError, match="exportLayerInfo"):
        eg.engine_graph(DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.json")
    with pytest.raises(UsageError):
        eg.engine_graph(42)
    with pytest.raises(UsageError, match="page_size"):
        eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json", page_size=0)


def test_missing_dot_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(eg.GraphvizNotFound) as info:
        eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json", layout="dot")
    assert "apt-get install graphviz" in info.value.hint and "layout='browser'" in info.value.hint
    view = eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json")
    with pytest.raises(eg.GraphvizNotFound):
        view.svg()


def test_without_dot_the_browser_lays_the_graph_out(monkeypatch, tmp_path):
    """No `dot` on PATH: the HTML carries the DOT sources and the vendored Viz.js, no SVG yet."""
    import html as html_lib

    monkeypatch.setenv("PATH", str(tmp_path))
    view = eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json")
    assert view.layout == "browser"
    page = view._repr_html_()
    dots = [html_lib.unescape(d) for d in re.findall(r'data-dot="([^"]*)"', page)]
    assert dots == [view.dot_source(k) for k in range(view.page_count)]
    assert "DecompressionStream" in page and "<svg" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    with pytest.raises(UsageError, match="layout"):
        eg.engine_graph(DATA / "trtexec/layerinfo-10.16.1-detailed.json", layout="neato")


def test_vendored_viz_js_is_the_npm_file_with_its_licences():
    import hashlib
    from importlib import resources

    folder = resources.files("trt_magic").joinpath("data", "vizjs")
    digest = hashlib.sha256(folder.joinpath("viz-global.js").read_bytes()).hexdigest()
    assert digest in folder.joinpath("SOURCES.md").read_text()
    licence = folder.joinpath("LICENSE").read_text()
    assert "Eclipse Public License - v 1.0" in licence and "Michael Daines" in licence


def test_standalone_html_is_self_contained(tmp_path):
    view = eg.engine_graph(
        DATA / "trex/A100-fp16/resnet.onnx.engine.graph.json",
        DATA / "trex/A100-fp16/resnet.onnx.engine.profile.json",
    )
    page = view.to_html(tmp_path / "graph.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "<link" not in page and "@import" not in page


def scaled_layer_info(path: Path, copies: int) -> Path:
    """ResNet-50's real layers repeated ``copies`` times in a chain (renamed, reconnected)."""
    base = json.loads((DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32.graph.json").read_text())
    first_input = base["Layers"][0]["Inputs"][0]["Name"]
    last_output = base["Layers"][-1]["Outputs"][0]["Name"]
    layers = []
    for k in range(copies):

        def rename(tensor, k=k):
            name = tensor["Name"]
            if name == first_input and k > 0:
                return {**tensor, "Name": f"{last_output}#{k - 1}"}
            return {**tensor, "Name": f"{name}#{k}"}

        for layer in base["Layers"]:
            layers.append(
                {
                    **layer,
                    "Name": f"{layer['Name']}#{k}",
                    "Inputs": [rename(t) for t in layer["Inputs"]],
                    "Outputs": [rename(t) for t in layer["Outputs"]],
                }
            )
    path.write_text(json.dumps({"Layers": layers, "Bindings": []}))
    return path


@pytest.mark.slow
def test_big_engine_is_paged_and_capped(tmp_path):
    source = scaled_layer_info(tmp_path / "big.json", copies=40)  # 4120 layers
    view = eg.engine_graph(source)
    assert len(view.layers) == 4120 and view.page_count == 35
    page = view._repr_html_()
    assert len(page) < eg.MAX_INLINE_BYTES + 100_000  # a few MB, never tens of MB
    inlined = len(LAYER_NODE.findall(page))
    assert 0 < inlined < len(view.layers)
    assert len(view._svgs) * view.page_size >= inlined  # pages past the cap were not drawn
    assert len(view._svgs) < view.page_count
    assert "view.page(" in page and "to page 2" in view.svg(0)
    later = view.page(view.page_count - 1)
    tail = later._repr_html_()
    assert len(LAYER_NODE.findall(tail)) == len(view.layers) - (view.page_count - 1) * 120
    assert "from page" in tail
