"""``%onnx_simplify``: clean up an ONNX file that came from elsewhere (a thin shell)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring


@magic_arguments()
@argument("path", help="the ONNX file, or a variable holding a path or an ExportResult")
@argument("-o", "--out", default=None, help="where to write (default: <stem>.simplified.onnx)")
@argument(
    "--method",
    default="auto",
    help="auto | onnxslim | polygraphy | onnxsim, or several comma-separated (tried in order)",
)
@argument("--timeout", type=float, default=None, help="seconds one method may take")
@argument("--no-check", action="store_true", help="skip the onnxruntime parity check")
def onnx_simplify(self, line, cell=None):
    """Fold constants and simplify an ONNX model, checking it still computes the same.

    The original is kept unless -o names it and every check passed; a method that crashes, hangs
    or changes the model falls back to the next one. Same as ``trt_magic.simplify_onnx``.
    """
    from ..simplify import simplify_onnx

    args = parse_argstring(onnx_simplify, line)
    value = self.shell.user_ns.get(args.path, args.path) if self.shell else args.path
    path = getattr(value, "path", value)
    return simplify_onnx(path, args.out, args.method, not args.no_check, timeout=args.timeout)
