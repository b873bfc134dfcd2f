"""Make a big engine export by scaling a real one (for size and speed checks, never for facts).

The layers and profile records of a real 10.x export (fuzzylabs ResNet-18 FP16, see SOURCES.md)
are repeated with ``#k`` suffixes on layer and tensor names until there are ``n`` layers; each
profile record keeps its real timings, its percentage divided by the number of copies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

DATA = Path(__file__).parent
GRAPH = DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json"
PROFILE = DATA / "trtexec/fuzzylabs-10.x-resnet18-fp16.profile.json"


def _rename(tensor: dict, k: int) -> dict:
    out = dict(tensor)
    out["Name"] = f"{tensor['Name']}#{k}"
    return out


def scale_export(n: int, folder: Path, stem: str = "scaled") -> Path:
    """Write ``<folder>/<stem>.graph.json`` and ``.profile.json`` with ``n`` layers; return the prefix."""
    graph = json.loads(GRAPH.read_text(encoding="utf-8"))
    profile = json.loads(PROFILE.read_text(encoding="utf-8"))
    count, records = profile[0], profile[1:]
    base = graph["Layers"]
    copies = -(-n // len(base))
    layers, prof = [], []
    for i in range(n):
        k, src = divmod(i, len(base))
        layer = copy.copy(base[src])
        layer["Name"] = f"{layer['Name']}#{k}"
        layer["Inputs"] = [_rename(t, k) for t in layer.get("Inputs", [])]
        layer["Outputs"] = [_rename(t, k) for t in layer.get("Outputs", [])]
        layers.append(layer)
        rec = dict(records[src])
        rec["name"] = layer["Name"]
        rec["percentage"] = rec["percentage"] / copies
        prof.append(rec)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / stem
    Path(f"{prefix}.graph.json").write_text(
        json.dumps({"Layers": layers, "Bindings": graph["Bindings"]})
    )
    Path(f"{prefix}.profile.json").write_text(json.dumps([count, *prof]))
    return prefix
