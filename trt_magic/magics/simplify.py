"""``%onnx_simplify``: clean up an ONNX file (filled in by the clean-up issue)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments


@magic_arguments()
@argument("path", help="the ONNX model")
def onnx_simplify(self, line, cell=None):
    """Fold constants and simplify an ONNX model, checking it still computes the same."""
    from ..errors import TrtMagicBug

    raise TrtMagicBug("%onnx_simplify is not implemented yet")
