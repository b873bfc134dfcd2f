"""The export error catalogue: what failed, in one sentence, and the fix to try.

Two kinds of entries: checks trt_magic makes before or after the export (not a module, wrong
inputs, unwritable path, random ops, a dim that did not stay dynamic), and :func:`diagnose`, which
reads an exception raised inside ``torch.onnx.export`` / ``torch.export.export``. The patterns
quote the exact texts torch 2.13 raises (noted at each rule). Stdlib only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from ..errors import ExportError, UsageError
from .bounds import spelled, suggested_ranges

OPSET_TEXT = re.compile(
    r"Exporting the operator '(?P<op>[\w:.]+)' to ONNX opset version (?P<opset>\d+) is not "
    r"supported(?:\. Support for this operator was added in version (?P<needs>\d+))?"
)
DYNAMO_OP_TEXT = re.compile(
    r"No (?:ONNX function|decompositions?) (?:found|registered) for .*?(aten[.:][\w.]+)"
)
CONSTRAINT_TEXT = re.compile(r"Constraints violated \((?P<dims>[^)]*)\)")
GUARD_LINE = re.compile(r"^\s*- (?P<line>.+)$", re.M)
DATA_DEP_TEXT = re.compile(
    r"GuardOnDataDependentSymNode|Could not guard on data-dependent|data-dependent expression"
    r"|Dynamic control flow is not supported|Could not extract specialized integer from data-dependent"
)
USER_LINE = re.compile(
    r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<fn>\w+)\n\s+(?P<code>.+)'
)
RANDOM_OPS = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
              "Bernoulli", "Multinomial")  # fmt: skip


def not_a_module(obj) -> UsageError:
    kind = type(obj).__name__
    if obj is None:
        hint = "end the cell with the model (its last line: `model`) or pass --model VAR"
    elif isinstance(obj, type):
        hint = f"instantiate it: model = {obj.__name__}(...)"
        kind = f"the class {obj.__name__}"
    elif callable(obj):
        hint = "wrap it: class M(torch.nn.Module): def forward(self, x): return fn(x)"
    else:
        hint = "pass the model: --model VAR, or end the cell with it"
    return UsageError(f"the model is {kind}, not a torch.nn.Module instance", hint=hint)


def not_copyable(model, exc: Exception) -> ExportError:
    return ExportError(
        f"{type(model).__name__} cannot be deep-copied ({type(exc).__name__}: {exc})",
        hint="trt_magic exports a copy so your model stays as it is; remove the attribute that "
        "cannot be copied (open files, locks, hooks holding them) before exporting",
    )


def no_sample() -> UsageError:
    return UsageError(
        "no sample inputs: the exporter must run the model once",
        hint="give one -i NAME:SHAPE[:DTYPE] per forward input (-i images:1x3x224x224), "
        "or --sample EXPR (a tensor, tuple or dict from your namespace)",
    )


def bad_sample(value) -> UsageError:
    if isinstance(value, dict):  # forward takes a dict: the exporters want tensors
        return UsageError(
            "a sample input is a dict: ONNX inputs are tensors, so forward must take tensors",
            hint="export a wrapper: class W(torch.nn.Module): def forward(self, ids, mask): "
            "return model({'ids': ids, 'mask': mask}); then --sample {'ids': ..., 'mask': ...}",
        )
    return UsageError(
        f"the sample must be a tensor, a tuple/list of tensors or a dict of tensors, "
        f"not {type(value).__name__}",
        hint="--sample torch.randn(1, 3, 224, 224)  or  --sample (ids, mask)",
    )


def no_submodule(model, path: str) -> UsageError:
    names = [n for n, _ in model.named_modules() if n]
    close = difflib.get_close_matches(path, names)  # the three closest
    hint = (
        f"did you mean {', '.join(close)}?" if close else "its submodules: " + ", ".join(names[:12])
    )
    return UsageError(f"the model has no submodule {path!r}", hint=hint)


def submodule_not_called(path: str) -> ExportError:
    return ExportError(
        f"the submodule {path!r} never ran while the model ran on the sample, so its inputs "
        "are unknown",
        hint="check the path, or export it directly with --model and -i",
    )


def submodule_non_tensor(path: str, values) -> ExportError:
    kinds = ", ".join(sorted({type(v).__name__ for v in values}))
    return ExportError(
        f"the submodule {path!r} is called with non-tensor inputs ({kinds})",
        hint="export a wrapper module whose forward takes tensors only",
    )


def signature_mismatch(model, sig, args, kwargs, exc: Exception) -> UsageError:
    given = len(args) + len(kwargs)
    shapes = ", ".join(_describe(t) for t in [*args, *kwargs.values()])
    return UsageError(
        f"{type(model).__name__}.forward{sig} does not take the {given} input(s) given "
        f"[{shapes}]: {exc}",
        hint="give one -i per forward argument, in forward's order (or a --sample tuple/dict "
        "matching it)",
    )


def input_count(model, given: int, names: list[str]) -> UsageError:
    return UsageError(
        f"{given} sample inputs but {len(names)} input names ({', '.join(names)})",
        hint="give one name per input",
    )


def forward_failed(exc: Exception, args, kwargs) -> ExportError:
    shapes = ", ".join(_describe(t) for t in [*args, *kwargs.values()])
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = "check the -i shapes and dtypes against what forward expects"
    if re.search(r"indices|Long, Int|scalar type Long|expected scalar type", str(exc), re.I):
        hint = "integer inputs need their dtype: -i tokens:1x128:int64 (the default is float32)"
    return ExportError(f"the model fails on the sample inputs [{shapes}]: {text}", hint=hint)


def unwritable(path, reason: str) -> ExportError:
    return ExportError(
        f"cannot write {path}: {reason}",
        hint="choose a folder you can write to: -o ~/models/model.onnx (or set TrtMagic.workdir)",
    )


def random_ops(histogram: dict[str, int], dropouts: int = 0) -> ExportError:
    found = ", ".join(
        [f"{op} x{n}" for op, n in histogram.items() if op in RANDOM_OPS]
        + ([f"Dropout in training mode x{dropouts}"] if dropouts else [])
    )
    return ExportError(
        f"the graph draws random numbers ({found}): its outputs change on every run, so it "
        "cannot match PyTorch and TensorRT will not build it the way you expect",
        hint="take the randomness out of forward (torch.rand/randn/dropout in training mode, "
        "e.g. F.dropout(x, training=True)): pass the noise in as an input, or use --no-check "
        "to keep the graph as it is",
    )


def dim_not_dynamic(name: str, axis: int, dim: str) -> ExportError:
    return ExportError(
        f"input {name!r} axis {axis} ({dim}) came out static: the exporter fixed its size",
        hint=f"the model fixes that size; make the code size-agnostic, or drop -d {name}:{axis}",
    )


def parity_failed(failures: list[str], dynamic: bool) -> ExportError:
    hint = "compare the ONNX graph with forward (--netron); loosen --rtol/--atol if the gap is tiny"
    if dynamic:
        hint = (
            "at the second size the graph disagrees with PyTorch: a dynamic axis is baked in "
            "(a constant in reshape/view, a fixed-size tensor); use -1 or x.shape[...] in the "
            "model, or drop that -d axis"
        )
    return ExportError(
        "the ONNX model does not compute what PyTorch does:\n" + "\n".join(failures), hint=hint
    )


def timed_out(seconds: float, pinned: str | None) -> ExportError:
    where = f" (pinned to {pinned})" if pinned else ""
    return ExportError(
        f"the export ran past --timeout {seconds:g} s{where} and was stopped; nothing was written",
        hint="try the other exporter (--exporter torchscript or dynamo), export a part with "
        "--submodule, or raise --timeout; on multi-socket hosts pinning to one NUMA node helps",
    )


def _describe(t) -> str:
    shape = getattr(t, "shape", None)
    if shape is None:
        return type(t).__name__
    return f"{str(getattr(t, 'dtype', '')).replace('torch.', '')}{list(shape)}"


# ---- exceptions from inside the exporter -----------------------------------------------------


def diagnose(text: str, ctx: dict) -> ExportError:
    """Turn the text of an exporter exception (type, message and causes) into a diagnosis.

    ``ctx`` holds ``exporter``, ``opset``, ``trt_version`` and ``cap`` (the TensorRT opset cap).
    """
    for rule in RULES:
        error = rule(text, ctx)
        if error is not None:
            error.detail = text
            return error
    last = next((ln for ln in reversed(text.strip().splitlines()) if ln.strip()), text)
    other = "dynamo" if ctx.get("exporter") == "torchscript" else "torchscript"
    return _retry(
        ExportError(
            f"torch.onnx.export ({ctx.get('exporter')}) failed: {last.strip()[:300]}",
            hint=f"try the other exporter: --exporter {other}",
            detail=text,
        ),
        wrong_file=False,
    )


def _opset_rule(text: str, ctx: dict) -> ExportError | None:
    # torch/onnx/errors.py UnsupportedOperatorError: "Exporting the operator 'aten::col2im' to
    # ONNX opset version 17 is not supported. Support for this operator was added in version 18,
    # try exporting with this version"
    m = OPSET_TEXT.search(text)
    if not m:
        return None
    op, opset, needs = m.group("op"), int(m.group("opset")), m.group("needs")
    cap, trt = ctx.get("cap", 17), ctx.get("trt_version") or "of the configured image"
    if needs is None:
        hint = "try --exporter dynamo, or replace the operator in the model"
        return ExportError(f"{op} cannot be exported to ONNX at opset {opset}", hint=hint)
    needs_i = int(needs)
    if needs_i <= cap:
        hint = f"export with --opset {needs_i} (TensorRT {trt} reads up to opset {cap})"
    else:
        hint = (
            f"TensorRT {trt} reads ONNX up to opset {cap}: use a TensorRT image that reads opset "
            f"{needs_i} (TensorRT 10.0 reads up to 20; %config TrtMagic.image = ...) and "
            f"--opset {needs_i}, or replace {op} in the model"
        )
    return ExportError(
        f"{op} needs ONNX opset {needs_i}; this export targets opset {opset}", hint=hint
    )


def _dynamo_op_rule(text: str, ctx: dict) -> ExportError | None:
    m = DYNAMO_OP_TEXT.search(text)
    if not m:
        return None
    return ExportError(
        f"the dynamo exporter has no ONNX translation for {m.group(1)}",
        hint="try --exporter torchscript, or replace the operator in the model",
    )


def _constraint_rule(text: str, ctx: dict) -> ExportError | None:
    # torch._dynamo.exc.UserError: "Constraints violated (batch)! ... - You marked batch as
    # dynamic but your code specialized it to be a constant (2). ... Suggested fixes: batch = 2"
    m = CONSTRAINT_TEXT.search(text)
    if not m:
        return None
    dims = m.group("dims")
    guards = [g.group("line").split(". If you")[0] for g in GUARD_LINE.finditer(text)]
    guards = [g for g in guards if dims.split(",")[0].strip() in g] or guards
    where = _user_line(text)
    msg = f"dynamic dim {dims!r} cannot stay dynamic: " + "; ".join(guards[:3] or ["guard failed"])
    fixes = suggested_ranges(text)
    if fixes:  # the model takes a range of sizes: say exactly which
        ranges = ", ".join(spelled(d, b) for d, b in fixes.items())
        return ExportError(
            msg + (f" ({where})" if where else ""),
            hint=f"the model accepts only {ranges}: write that range in -d (e.g. -d "
            f"NAME:AXIS={spelled(*next(iter(fixes.items())))}), or in Python "
            f"{{NAME: {{AXIS: {_as_tuple(*next(iter(fixes.items())))}}}}}",
        )
    return ExportError(
        msg + (f" ({where})" if where else ""),
        hint=f"the model fixes {dims}: a constant size in view/reshape/expand, a fixed-size tensor "
        f"combined with the input, or a branch on the size; write it size-agnostic (-1, "
        f"x.shape[0]) or drop {dims} from -d",
    )


def _as_tuple(dim: str, bounds: tuple) -> tuple:
    return (dim, bounds[0] or 1, bounds[1])


def _data_dependent_rule(text: str, ctx: dict) -> ExportError | None:
    if not DATA_DEP_TEXT.search(text):
        return None
    where = _user_line(text)
    return ExportError(
        "forward depends on tensor values (data-dependent control flow or sizes)"
        + (f" at {where}" if where else ""),
        hint="compute both branches and pick with torch.where (any exporter), use torch.cond "
        "with --exporter dynamo, or move that part out of the model (export the network alone "
        "with --submodule); --exporter torchscript would freeze the branch the sample takes",
    )


def _arguments_rule(text: str, ctx: dict) -> ExportError | None:
    m = re.search(
        r"(takes (?:from \d+ to )?\d+ positional arguments? but \d+ (?:were|was) given"
        r"|missing \d+ required (?:positional|keyword-only) argument.*|too many positional arguments"
        r"|got an unexpected keyword argument.*|missing a required argument.*"
        r"|multiple values for argument.*)",
        text,
    )
    if not m:
        return None
    return ExportError(
        f"the inputs do not match forward's signature: {m.group(1)}",
        hint="give one -i per forward argument in order, or a --sample tuple/dict that matches it",
    )


def _user_line(text: str) -> str:
    """The last ``File ..., line N, in fn`` + code outside torch: where the user's code did it."""
    hits = [
        m
        for m in USER_LINE.finditer(text)
        if "site-packages" not in m.group("file") and "/trt_magic/" not in m.group("file")
    ]
    if not hits:
        return ""
    m = hits[-1]
    return f"{m.group('file').rpartition('/')[2]}:{m.group('line')} `{m.group('code').strip()}`"


RULES: list[Callable[[str, dict], ExportError | None]] = [
    _opset_rule,
    _dynamo_op_rule,
    _constraint_rule,
    _data_dependent_rule,
    _arguments_rule,
]


def tracer_warning(text: str) -> str | None:
    """A TorchScript tracer warning that means the trace froze a data-dependent branch."""
    if "Converting a tensor to a Python boolean" in text:
        return (
            "forward converts a tensor to a Python bool (data-dependent control flow?): the "
            "TorchScript trace keeps only the branch the sample took; check the second-sample "
            "parity, or use torch.where / --exporter dynamo"
        )
    return None


def _retry(error: ExportError, wrong_file: bool = True) -> ExportError:
    """Mark an error the other exporter may not have (``auto`` then tries it)."""
    error.other_exporter, error.wrong_file = True, wrong_file
    return error


def structure_changed(label: str, count: int, names: list[str], expected: list[str]) -> ExportError:
    return ExportError(
        f"forward returns {len(names)} output tensor(s) at the {label} but {count} at the sample "
        f"({', '.join(names[:6])} vs {', '.join(expected[:6])}): an ONNX graph has a fixed "
        "number of outputs, so the file cannot be right at both sizes",
        hint="return a fixed number of tensors (stack a list whose length follows the input "
        "into one tensor), or drop the -d axis that changes the count",
    )


def frozen_branch(places: list[str], exporter: str) -> ExportError:
    where = "; ".join(short_place(p) for p in places[:3])
    more = f" (+{len(places) - 3} more)" if len(places) > 3 else ""
    return _retry(
        ExportError(
            f"the {exporter} trace turned a tensor into a Python value at {where}{more}: the file "
            "keeps the branch or number the sample gave there, whatever the input",
            hint="--exporter dynamo (it keeps size branches correct and refuses value branches), or "
            "use torch.where in forward; accept the frozen branch with --allow-frozen "
            "(allow_frozen=True) if that branch is the only one your inputs take",
        )
    )


#: a trace place whose code reads sizes only (``x.shape``, ``len(...)``, ``head_dim``...) and no
#: reduction of values: its frozen branch follows the input's size, which the second-size parity
#: checks; ``if x.sum() > 0`` (a value) does not match
_SIZE_CODE = re.compile(r"shape|size|\bdim\b|_dim\b|ndim|numel|len\(|_length\b|num_heads|_prods")
_VALUE_CODE = re.compile(r"\.(any|all|item|sum|max|min|mean|tolist|nonzero)\(|torch\.(any|all)")


def size_only(place: str) -> bool:
    """Whether a frozen trace place (``file:line `code```) reads sizes only."""
    code = place.partition(" `")[2]
    return bool(code) and bool(_SIZE_CODE.search(code)) and not _VALUE_CODE.search(code)


def short_place(place: str) -> str:
    path, _, rest = place.partition(":")
    parts = path.split("/")
    short = "/".join(parts[-2:]) if "site-packages" in path else parts[-1]
    return f"{short}:{rest}"


def above_cap(
    opset: int, cap: int, trt: str | None, exporter: str, image: str | None, torchscript_ok=True
) -> ExportError:
    """The exporter overshot the TensorRT's opset cap. The fix: an image that reads the file
    (and ``--opset`` to say so), or TorchScript at the cap unless it already failed."""
    who = f"TensorRT {trt}" if trt else "the configured TensorRT"
    fix = image or f"a TensorRT image that reads opset {opset}"
    other = f", or --exporter torchscript --opset {cap}" if torchscript_ok else ""
    return _retry(
        ExportError(
            f"the {exporter} exporter wrote an opset-{opset} file; {who} reads ONNX up to opset "
            f"{cap}, so trtexec would refuse it (nothing was written)",
            hint=f"use {fix} with --opset {opset}{other}",
        ),
        wrong_file=False,
    )
