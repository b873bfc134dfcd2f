"""``%netron``: show a model in Netron inline (a thin shell over :func:`trt_magic.netron_view`)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring


@magic_arguments()
@argument("path", help="the model file, or a variable holding a path or an ExportResult")
@argument("--height", type=int, default=600, help="height of the view in pixels (default 600)")
@argument("--stop", action="store_true", help="stop the server of PATH ('all': every server)")
def netron(self, line, cell=None):
    """Show a model (e.g. an ONNX file) in Netron, inline, served on 127.0.0.1.

    The same file viewed again reuses its server (and shows the new version if the file
    changed). Same as ``trt_magic.netron_view(path, height=...)`` in Python.
    """
    from ..netron import netron_stop, netron_view

    args = parse_argstring(netron, line)
    path = args.path.strip("'\"")
    if path.isidentifier() and path in self.shell.user_ns and path != "all":
        path = self.shell.user_ns[path]
    if args.stop:
        return netron_stop(None if path == "all" else path)
    return netron_view(path, height=args.height)
