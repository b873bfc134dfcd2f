"""Parse trtexec logs and JSON exports into tables, charts and comparisons.

Importing this package imports no pandas: the tables are built when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .run import Recorded, Run

__all__ = ["Comparison", "Recorded", "Run", "compare", "layer_diff", "load_run", "why_not_faster"]

_LAZY = {"load_run": ".load", "compare": ".comparison", "Comparison": ".comparison",
         "layer_diff": ".comparison", "why_not_faster": ".quantization"}  # fmt: skip

if TYPE_CHECKING:  # pragma: no cover
    from .comparison import Comparison, compare, layer_diff
    from .load import load_run
    from .quantization import why_not_faster


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_magic.results' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
