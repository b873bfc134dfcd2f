"""The JSON types trtexec writes in ``--exportLayerInfo``, checked before the tables read them.

A layer whose fields have other types (a string for ``Dimensions``, a number for ``Name``...)
would otherwise end in a TypeError deep inside the table code, or worse in a wrong table. The
check is one quick pass of ``type(...) is`` tests per layer; the slow search for *which* field is
wrong runs only after it failed. Types as in every real export of tests/data/trtexec/.
"""

from __future__ import annotations

from typing import Any

from ..errors import ResultError
from .figures import wrong_type

#: fields that are strings when present (layerinfo-10.16.1-detailed.json, trex-*.graph.json)
TEXT_FIELDS = ("Name", "ParameterType", "LayerType", "TacticName", "Metadata")


def _tensors_ok(tensors: Any) -> bool:
    if tensors is None:
        return True
    if type(tensors) is not list:
        return False
    for t in tensors:  # plain loops: generators would double the cost on a 100k-layer export
        if type(t) is not dict:
            return False
        dims = t.get("Dimensions")
        if dims is not None:
            if type(dims) is not list:
                return False
            for d in dims:
                if type(d) is not int:
                    return False
        fmt = t.get("Format/Datatype")
        if fmt is not None and type(fmt) is not str:
            return False
    return True


def layer_ok(raw: dict) -> bool:
    """True when the fields the tables read have trtexec's JSON types."""
    for key in TEXT_FIELDS:
        value = raw.get(key)
        if value is not None and type(value) is not str:
            return False
    return _tensors_ok(raw.get("Inputs")) and _tensors_ok(raw.get("Outputs"))


def layer_problem(raw: dict, index: int, source: str) -> ResultError:
    """The error naming the first wrongly typed field of a layer ``layer_ok`` refused."""
    where = f"layer {index} ({str(raw.get('Name'))[:40]!r}): "
    for key in TEXT_FIELDS:
        value = raw.get(key)
        if value is not None and type(value) is not str:
            return wrong_type(source, where, key, value, "a string")
    for side in ("Inputs", "Outputs"):
        tensors = raw.get(side)
        if tensors is None:
            continue
        if type(tensors) is not list:
            return wrong_type(source, where, side, tensors, "a list of tensors")
        for t in tensors:
            if type(t) is not dict:
                return wrong_type(source, where, side, t, "a tensor object")
            dims = t.get("Dimensions")
            if dims is not None and type(dims) is not list:
                return wrong_type(source, where, f"{side}.Dimensions", dims, "a list of numbers")
            for d in dims or ():
                if type(d) is not int:
                    return wrong_type(source, where, f"{side}.Dimensions", d, "a whole number")
            fmt = t.get("Format/Datatype")
            if fmt is not None and type(fmt) is not str:
                return wrong_type(source, where, f"{side}.Format/Datatype", fmt, "a string")
    return wrong_type(source, where, "(layer)", raw, "a layer")  # pragma: no cover
