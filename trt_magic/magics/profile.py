"""``%trt_profile``: the shape-profile and precision editor (a thin shell over ProfileEditor)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring


@magic_arguments()
@argument("path", help="the ONNX model, or a variable holding a path or an ExportResult")
@argument("--image", default=None, help="TensorRT image to target (default: the image setting)")
@argument("--trt-version", default=None, help="target this TensorRT version, e.g. 10.0.1")
@argument("--fresh", action="store_true", help="ignore the saved <model>.onnx.profile.json")
@argument("--as", dest="name", default="", help="also store the editor in this variable")
def trt_profile(self, line, cell=None):
    """Open the shape-profile and precision editor for an ONNX model.

    The form writes trtexec flags: use them as ``%trtexec --onnx=model.onnx {editor.flags}``.
    Same as ``trt_magic.ProfileEditor(path, image=..., trt_version=...)`` in Python.
    """
    from ..widgets import ProfileEditor

    args = parse_argstring(trt_profile, line)
    source = args.path.strip("'\"")
    if source.isidentifier() and source in self.shell.user_ns:
        source = self.shell.user_ns[source]
    editor = ProfileEditor(
        source, image=args.image, trt_version=args.trt_version, restore=not args.fresh
    )
    if args.name:
        self.shell.user_ns[args.name] = editor
    return editor
