"""The ``TrtMagic`` magics class: settings as traitlets plus one method per magic.

Each magic lives in its own module as a function ``(self, line, cell=None)`` decorated with
``magic_arguments`` (so ``%trtexec?`` is real help); this class only collects them.
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

from .. import config
from . import export as _export
from . import netron as _netron
from . import profile as _profile
from . import rewrite as _rewrite
from . import simplify as _simplify
from . import trtexec as _trtexec


@magics_class
class TrtMagic(Magics, config.Settings):
    """trt_magic's magics and settings (``%config TrtMagic`` lists them)."""

    onnx_export = line_cell_magic("onnx_export")(_export.onnx_export)
    trtexec = line_magic("trtexec")(_trtexec.trtexec)
    trt_profile = line_magic("trt_profile")(_profile.trt_profile)
    netron = line_magic("netron")(_netron.netron)
    onnx_simplify = line_cell_magic("onnx_simplify")(_simplify.onnx_simplify)
    onnx_cast = line_magic("onnx_cast")(_rewrite.onnx_cast)
    onnx_quantize = line_magic("onnx_quantize")(_rewrite.onnx_quantize)


MAGIC_NAMES = {
    "cell": ["onnx_export", "onnx_simplify"],
    "line": [
        "onnx_export",
        "trtexec",
        "trt_profile",
        "netron",
        "onnx_simplify",
        "onnx_cast",
        "onnx_quantize",
    ],
}


def load(ipython) -> TrtMagic:
    """Register the magics on ``ipython`` and make their settings the API's settings."""
    magics = TrtMagic(shell=ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    config.use_settings(magics)
    return magics


def unload(ipython) -> None:
    """Remove what :func:`load` registered."""
    manager = ipython.magics_manager
    for kind, names in MAGIC_NAMES.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop("TrtMagic", None)
    ipython.configurables[:] = [c for c in ipython.configurables if type(c).__name__ != "TrtMagic"]
    config.use_settings(None)
