"""Engines with several optimization profiles: ``run.layers`` shows one, and says which.

No real multi-profile ``--exportLayerInfo`` file is public, so one is derived from the real
fuzzylabs ResNet-18 export: a copy of every layer and tensor named with the ``[profile 1]``
suffix that TensorRT gives the layers of the second profile (NVIDIA/TensorRT
tools/Polygraphy/examples/cli/inspect/02_inspecting_a_tensorrt_engine/README.md @ 3b4ddc1d:
``node_of_Y [profile 1]``, ``X [profile 1]``; TREx's trex/parser.py ``filter_profiles``), with
the profile timed for profile 1 only (as ``--optProfileIndex=1`` runs it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data.registry import DATA

from trt_magic.errors import UsageError
from trt_magic.results import compare, load_run

SRC = DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16"


def _suffixed(layer: dict) -> dict:
    out = dict(layer, Name=f"{layer['Name']} [profile 1]")
    for key in ("Inputs", "Outputs"):
        out[key] = [dict(t, Name=f"{t['Name']} [profile 1]") for t in layer.get(key, [])]
    return out


@pytest.fixture(scope="module")
def two_profiles(tmp_path_factory) -> Path:
    graph = json.loads(Path(f"{SRC}.graph.json").read_text())
    profile = json.loads(Path(f"{SRC}.profile.json").read_text())
    layers = graph["Layers"]
    graph["Layers"] = layers + [_suffixed(layer) for layer in layers]
    graph["Bindings"] = graph["Bindings"] + [f"{b} [profile 1]" for b in graph["Bindings"]]
    timed = [profile[0]] + [dict(r, name=f"{r['name']} [profile 1]") for r in profile[1:]]
    folder = tmp_path_factory.mktemp("profiles")
    (folder / "e.graph.json").write_text(json.dumps(graph))
    (folder / "e.profile.json").write_text(json.dumps(timed))
    return folder / "e"


def test_layers_show_the_profiled_profile_and_say_so(two_profiles):
    run = load_run(two_profiles)
    assert run.shape_profiles == [0, 1] and run.current_shape_profile == 1
    layers = run.layers
    assert layers.attrs == {"shape_profile": 1, "shape_profiles": [0, 1]}
    assert len(layers) == 26 and layers["name"].str.endswith("[profile 1]").all()
    assert layers["time_ms"].notna().sum() == 26


def test_another_profile_on_request(two_profiles):
    run = load_run(two_profiles)
    first = run.layers_for(0)
    assert len(first) == 26 and not first["name"].str.contains(r"\[profile").any()
    assert first["time_ms"].isna().all()  # profile 0 was not timed
    run.shape_profile = 0
    assert run.layers.attrs["shape_profile"] == 0 and len(run.layer_info) == 26
    with pytest.raises(UsageError, match="no optimization profile 2") as err:
        run.layers_for(2)
    assert "[0, 1]" in err.value.hint


def test_one_profile_engines_are_unchanged():
    run = load_run(SRC)
    assert run.shape_profiles == [0] and len(run.layers) == 26
    assert run.layers.attrs["shape_profile"] == 0


def test_one_profile_pairs_with_another_engine(two_profiles):
    for match in ("auto", "name", "signature"):  # names pair without their [profile N] suffix
        diff = compare(load_run(two_profiles), load_run(SRC)).layer_diff(match=match)
        assert len(diff.unmatched) == 0 and (diff.table["change"] == "same").all()
    assert diff.table["name_b"].str.contains(r"\[profile").sum() == 0


def test_report_says_which_profile(two_profiles):
    html = load_run(two_profiles)._repr_html_()
    assert "layers of optimization profile 1 (the engine has 2: [0, 1])" in html
    assert "run.layers_for(0)" in html
    assert "optimization profile" not in load_run(SRC)._repr_html_()
