"""``%%onnx_export``: run the cell, then export the model it defines with ``export_onnx``."""

from __future__ import annotations

import ast
import re

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring


@magic_arguments()
@argument("-o", "--output", default=None, help="the .onnx file to write (default: <model>.onnx)")
@argument(
    "-i",
    "--input",
    action="append",
    default=[],
    metavar="NAME:SHAPE[:DTYPE]",
    help="one per forward input, in order: images:1x3x224x224, tokens:1x128:int64",
)
@argument(
    "-d",
    "--dynamic",
    action="append",
    default=[],
    metavar="NAME:AXIS[=DIM[MIN:MAX]],...",
    help="dynamic axes: images:0=batch, tokens:0=batch,1=seq[1:512] (a range)",
)
@argument(
    "--model",
    default=None,
    metavar="VAR",
    help="the model variable (default: what the cell's last line evaluates to or assigns)",
)
@argument(
    "--sample",
    default=None,
    metavar="EXPR",
    help="sample inputs: any Python expression giving a tensor, tuple or dict (spaces allowed; "
    "a dict binds by name)",
)
@argument("--output-names", default=None, metavar="A,B", help="names of the outputs")
@argument(
    "--opset",
    type=int,
    default=None,
    help="ONNX opset (default: the highest the image's TensorRT reads)",
)
@argument(
    "--exporter",
    default="auto",
    choices=["auto", "dynamo", "torchscript"],
    help="auto picks what the configured TensorRT accepts",
)
@argument("--submodule", default=None, metavar="ATTR.PATH", help="export this submodule alone")
@argument(
    "--no-check", action="store_true", help="skip onnx.checker and the onnxruntime parity check"
)
@argument("--rtol", type=float, default=1e-3, help="parity relative tolerance")
@argument("--atol", type=float, default=1e-4, help="parity absolute tolerance")
@argument(
    "--timeout", type=float, default=None, metavar="S", help="stop the export after S seconds"
)
@argument(
    "--simplify",
    default="auto",
    choices=["auto", "onnxslim", "polygraphy", "onnxsim", "none"],
    help="clean the graph up after the export",
)
@argument(
    "--external-data",
    action="store_true",
    help="weights in <output>.data beside the .onnx at any size (default: past 2 GB)",
)
@argument(
    "--allow-frozen",
    action="store_true",
    help="accept a trace that froze a tensor-valued branch (the sample's branch is kept)",
)
@argument("--netron", action="store_true", help="show the exported graph in Netron")
@argument("--name", default=None, metavar="VAR", help="store the ExportResult in this variable")
def onnx_export(self, line, cell=None):
    """Export the PyTorch model defined in the cell to ONNX, checked against PyTorch.

    The cell runs in your namespace; the model is ``--model VAR``, else the value of the cell's
    last line: an expression (``net``) or an assignment (``model = ResNet50()``). Equivalent to ``trt_magic.export_onnx(model, path, inputs, dynamic, ...)``.
    """  # fmt: skip
    from .. import export_onnx

    line, sample_expr = split_sample(line, _OPTIONS)
    args = parse_argstring(onnx_export, line)
    ns = self.shell.user_ns
    last, assigned = run_cell(self.shell, cell)  # the cell always runs, in the user's namespace
    model = ns_value(ns, args.model, "--model") if args.model else last
    sample = eval_sample(sample_expr, ns) if sample_expr else None
    stem = args.model or assigned or "model"
    result = export_onnx(
        model, args.output or f"{stem}.onnx", args.input, args.dynamic,
        sample=sample, opset=args.opset, exporter=args.exporter, output_names=args.output_names,
        submodule=args.submodule, check=not args.no_check, rtol=args.rtol, atol=args.atol,
        timeout=args.timeout, simplify=args.simplify, allow_frozen=args.allow_frozen,
        external_data=True if args.external_data else None,
    )  # fmt: skip
    if args.name:
        ns[args.name] = result
    if args.netron:
        show_netron(result.path)
    return result


def run_cell(shell, cell: str | None) -> tuple[object, str | None]:
    """Run ``cell`` in the user namespace; return the value of its last line and the name it
    assigned (``(value, None)`` for an expression, ``(None, None)`` for anything else).

    ``model = ResNet50()`` as the last line gives that module, as ``model`` alone would.
    """
    source = (cell or "").strip()
    if not source:
        return None, None
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<%%onnx_export cell>", "exec"), shell.user_ns)  # noqa: S102
    if last is None:
        name = _assigned_name(tree.body[-1]) if tree.body else None
        return (shell.user_ns.get(name), name) if name else (None, None)
    expr = ast.Expression(last.value)
    return eval(compile(expr, "<%%onnx_export cell>", "eval"), shell.user_ns), None  # noqa: S307


def _assigned_name(stmt: ast.stmt) -> str | None:
    """The variable a last statement binds: ``a = ...``, ``a: T = ...``, ``a = b = ...`` (last)."""
    if isinstance(stmt, ast.Assign):
        names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        return names[-1] if names else None
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
        return stmt.target.id if getattr(stmt, "value", None) is not None else None
    return None


_OPTIONS = frozenset(
    a
    for act in onnx_export.parser._actions
    for a in act.option_strings  # type: ignore[attr-defined]
)


def split_sample(line: str, options) -> tuple[str, str | None]:
    """Take ``--sample EXPR`` out of the magic's line; EXPR runs to the next option.

    EXPR may hold spaces (``--sample torch.randn(1, 3, 224, 224)``): it ends at a known option
    that starts a word outside brackets and quotes, or at the end of the line. Outer quotes
    around the whole expression are dropped.
    """
    m = re.search(r"(?:^|\s)--sample(?:=|\s+)", line)
    if not m:
        return line, None
    start = m.end()
    end, depth, quote, i = len(line), 0, "", start
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch.isspace() and depth <= 0:
            word = re.match(r"\s+(-[^\s=]*)", line[i:])
            if word and word.group(1) in options:
                end = i
                break
        i += 1
    expr = line[start:end].strip()
    if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "'\"":
        expr = expr[1:-1].strip()
    rest = (line[: m.start()] + " " + line[end:]).strip()
    if not expr:
        from ..errors import UsageError

        raise UsageError(
            "--sample needs an expression", hint="--sample torch.randn(1, 3, 224, 224)"
        )
    return rest, expr


def eval_sample(expr: str, ns: dict):
    """Evaluate ``--sample EXPR`` in the user namespace; a failure names the option."""
    from ..errors import UsageError

    try:
        return eval(expr, ns)  # noqa: S307 - the user's own expression, in their own kernel
    except Exception as exc:
        raise UsageError(
            f"--sample {expr}: {type(exc).__name__}: {exc}",
            hint="a tensor, tuple or dict expression, e.g. --sample torch.randn(1, 3, 224, 224)",
        ) from exc


def ns_value(ns: dict, name: str, option: str):
    """``ns[name]``, or a UsageError that names the option."""
    from ..errors import UsageError

    if name not in ns:
        raise UsageError(f"{option} {name}: no variable {name!r} in the notebook")
    return ns[name]


def show_netron(path) -> None:
    """Display the exported graph in Netron (trt_magic.netron, imported only when asked)."""
    from IPython.display import display

    from ..netron import netron_view

    display(netron_view(path))
