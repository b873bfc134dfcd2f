"""``%onnx_cast`` and ``%onnx_quantize``: the model's precision as its types (thin shells)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring


def _value(self, name: str | None):
    """A variable of the notebook by that name, else the text itself."""
    if name is None:
        return None
    return self.shell.user_ns.get(name, name) if self.shell else name


def _names(text: str | None) -> list[str] | None:
    return [n for n in text.split(",") if n] if text else None


@magic_arguments()
@argument("path", help="the FP32 ONNX file, or a variable holding a path or an ExportResult")
@argument("--precision", default="fp16", choices=["fp16", "bf16"], help="the low precision")
@argument("--keep-fp32", default=None, help="node names to keep in FP32, comma-separated")
@argument("-o", "--out", default=None, help="where to write (default <stem>.<precision>.onnx)")
@argument("--samples", default=None, help="a variable with inputs for the CPU preview")
@argument("--timeout", type=float, default=None, help="seconds the cast may take")
def onnx_cast(self, line, cell=None):
    """Cast an ONNX model to FP16/BF16 with ModelOpt AutoCast, keeping overflow-prone nodes in
    FP32, then preview it on the CPU. Same as ``trt_magic.cast_onnx``."""
    from ..rewrite import cast_onnx

    args = parse_argstring(onnx_cast, line)
    path = getattr(_value(self, args.path), "path", _value(self, args.path))
    return cast_onnx(path, args.precision, _names(args.keep_fp32), args.out,
                     samples=_value(self, args.samples), timeout=args.timeout)  # fmt: skip


@magic_arguments()
@argument("path", help="the FP32 ONNX file, or a variable holding a path or an ExportResult")
@argument("calibration", nargs="?", default=None,
          help="a variable: tensor, ndarray, dict of them, or a DataLoader (none: random data)")  # fmt: skip
@argument("--mode", default="int8", choices=["int8", "fp8"], help="the quantized type")
@argument("--exclude", default=None, help="node names to leave unquantized, comma-separated")
@argument("--high-precision", default="fp16", choices=["fp16", "bf16", "fp32"],
          help="the type of the layers left unquantized")  # fmt: skip
@argument("-o", "--out", default=None, help="where to write (default <stem>.<mode>.onnx)")
@argument("--timeout", type=float, default=None, help="seconds the quantization may take")
def onnx_quantize(self, line, cell=None):
    """Quantize an ONNX model to INT8/FP8 with ModelOpt's ONNX PTQ (calibrated on the CPU),
    then preview it on held-out samples. Same as ``trt_magic.quantize_onnx``."""
    from ..rewrite import quantize_onnx

    args = parse_argstring(onnx_quantize, line)
    path = getattr(_value(self, args.path), "path", _value(self, args.path))
    return quantize_onnx(path, _value(self, args.calibration), args.mode, _names(args.exclude),
                         args.out, high_precision=args.high_precision, timeout=args.timeout)  # fmt: skip
