"""Widgets: the shape-profile and precision editor with its build panel (ipywidgets only here).

``import trt_magic.widgets`` needs no ipywidgets; :class:`ProfileEditor` imports it when first
used, so a base install gets a clear "pip install 'trt_magic[widgets]'" instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ProfileEditor", "read_model_inputs", "default_profile"]

_LAZY = {
    "ProfileEditor": "trt_magic.widgets.editor",
    "read_model_inputs": "trt_magic.widgets.model_inputs",
    "default_profile": "trt_magic.widgets.model_inputs",
}

if TYPE_CHECKING:  # pragma: no cover
    from .editor import ProfileEditor
    from .model_inputs import default_profile, read_model_inputs


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_magic.widgets' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
