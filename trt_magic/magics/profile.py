"""``%trt_profile``: the shape-profile editor (filled in by the widgets issue)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments


@magic_arguments()
@argument("path", help="the ONNX model")
def trt_profile(self, line, cell=None):
    """Open the shape-profile and precision editor for an ONNX model."""
    from ..errors import TrtMagicBug

    raise TrtMagicBug("%trt_profile is not implemented yet")
