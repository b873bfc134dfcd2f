"""``%netron``: show a model in Netron inline (filled in by the views issue)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments


@magic_arguments()
@argument("path", help="the ONNX model")
def netron(self, line, cell=None):
    """Show an ONNX model in Netron, inline."""
    from ..errors import TrtMagicBug

    raise TrtMagicBug("%netron is not implemented yet")
