"""``%%onnx_export``: export the model defined in the cell (filled in by the export issue)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments


@magic_arguments()
@argument("-o", "--output", help="where to write the .onnx file")
def onnx_export(self, line, cell=None):
    """Export the PyTorch model defined in the cell to ONNX."""
    from ..errors import TrtMagicBug

    raise TrtMagicBug("%%onnx_export is not implemented yet")
