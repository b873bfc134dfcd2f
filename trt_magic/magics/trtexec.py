"""``%trtexec``: run the real trtexec (filled in by the runner issue)."""

from __future__ import annotations

from IPython.core.magic_arguments import magic_arguments


@magic_arguments()
def trtexec(self, line, cell=None):
    """Run trtexec with the given flags in the TensorRT container."""
    from ..errors import TrtMagicBug

    raise TrtMagicBug("%trtexec is not implemented yet")
