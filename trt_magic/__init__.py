"""trt_magic: a PyTorch model to a TensorRT engine without leaving the notebook.

``%load_ext trt_magic`` registers the magics; every magic is a thin shell over the plain Python
API below, which works without IPython. Public names are imported on first use, so
``import trt_magic`` (and ``%load_ext``) pulls in none of torch, onnx, pandas, docker,
ipywidgets or netron.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it (imported lazily on first attribute access)
_API = {
    # export (step 1)
    "export_onnx": "trt_magic.export",
    "ExportResult": "trt_magic.export",
    "simplify_onnx": "trt_magic.simplify",
    "SimplifyResult": "trt_magic.simplify",
    "cast_onnx": "trt_magic.rewrite",
    "quantize_onnx": "trt_magic.rewrite",
    "RewriteResult": "trt_magic.rewrite",
    "move_onnx": "trt_magic.onnx_files",
    "remove_onnx": "trt_magic.onnx_files",
    # run trtexec (step 2)
    "trtexec": "trt_magic.runners",
    "ReplayRunner": "trt_magic.runners.replay",
    # results (step 3)
    "Run": "trt_magic.results",
    "load_run": "trt_magic.results",
    "compare": "trt_magic.results",
    "why_not_faster": "trt_magic.results",
    # widgets and views
    "ProfileEditor": "trt_magic.widgets",
    "netron_view": "trt_magic.netron",
    "netron_stop": "trt_magic.netron",
    "engine_graph": "trt_magic.display.engine_graph",
    # beyond one build
    "check_accuracy": "trt_magic.accuracy",
    "sweep": "trt_magic.sweeps",
    "SlurmExecutor": "trt_magic.sweeps.slurm",
    "DockerHostsExecutor": "trt_magic.sweeps.executors",
    # configuration and errors
    "Settings": "trt_magic.config",
    "get_settings": "trt_magic.config",
    "TrtMagicError": "trt_magic.errors",
}

__all__ = [  # the same names as _API (a test checks), spelled out for tools that read __all__
    "DockerHostsExecutor",
    "ExportResult",
    "ProfileEditor",
    "ReplayRunner",
    "RewriteResult",
    "Run",
    "Settings",
    "SimplifyResult",
    "SlurmExecutor",
    "TrtMagicError",
    "cast_onnx",
    "check_accuracy",
    "compare",
    "engine_graph",
    "export_onnx",
    "get_settings",
    "load_run",
    "move_onnx",
    "netron_stop",
    "netron_view",
    "quantize_onnx",
    "remove_onnx",
    "simplify_onnx",
    "sweep",
    "trtexec",
    "why_not_faster",
    "load_ipython_extension",
    "unload_ipython_extension",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .accuracy import check_accuracy
    from .config import Settings, get_settings
    from .display.engine_graph import engine_graph
    from .errors import TrtMagicError
    from .export import ExportResult, export_onnx
    from .netron import netron_stop, netron_view
    from .onnx_files import move_onnx, remove_onnx
    from .results import Run, compare, load_run, why_not_faster
    from .rewrite import RewriteResult, cast_onnx, quantize_onnx
    from .runners import trtexec
    from .runners.replay import ReplayRunner
    from .simplify import SimplifyResult, simplify_onnx
    from .sweeps import sweep
    from .sweeps.executors import DockerHostsExecutor
    from .sweeps.slurm import SlurmExecutor
    from .widgets import ProfileEditor


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_magic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython) -> None:
    """Register the magics and the ``TrtMagic`` settings (``%load_ext trt_magic``)."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """Remove the magics again (``%unload_ext trt_magic``)."""
    from .magics import unload

    unload(ipython)
