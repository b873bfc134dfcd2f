"""export/hints.py: each error says what went wrong and the fix, word for word (the texts the user
reads; a changed word is a changed promise). The catalogue of exporter texts is in
test_export_parts.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from trt_magic.errors import ExportError, UsageError
from trt_magic.export import hints

T = SimpleNamespace(shape=(1, 3), dtype="torch.float32")  # a tensor as _describe sees it


class Net:
    def named_modules(self):
        return [("", self), ("backbone", 1), ("backbone.conv1", 1), ("head", 1)]


def forward(x):
    return x


CASES = [
    (
        lambda: hints.not_a_module(None),
        UsageError,
        "the model is NoneType, not a torch.nn.Module instance",
        "end the cell with the model (its last line: `model`) or pass --model VAR",
    ),
    (
        lambda: hints.not_a_module(Net),
        UsageError,
        "the model is the class Net, not a torch.nn.Module instance",
        "instantiate it: model = Net(...)",
    ),
    (
        lambda: hints.not_a_module(forward),
        UsageError,
        "the model is function, not a torch.nn.Module instance",
        "wrap it: class M(torch.nn.Module): def forward(self, x): return fn(x)",
    ),
    (
        lambda: hints.not_a_module(3),
        UsageError,
        "the model is int, not a torch.nn.Module instance",
        "pass the model: --model VAR, or end the cell with it",
    ),
    (
        lambda: hints.not_copyable(Net(), TypeError("cannot pickle '_io.TextIOWrapper' object")),
        ExportError,
        "Net cannot be deep-copied (TypeError: cannot pickle '_io.TextIOWrapper' object)",
        "trt_magic exports a copy so your model stays as it is; remove the attribute that cannot be copied (open files, locks, hooks holding them) before exporting",
    ),
    (
        lambda: hints.no_sample(),
        UsageError,
        "no sample inputs: the exporter must run the model once",
        "give one -i NAME:SHAPE[:DTYPE] per forward input (-i images:1x3x224x224), or --sample EXPR (a tensor, tuple or dict from your namespace)",
    ),
    (
        lambda: hints.bad_sample([1]),
        UsageError,
        "the sample must be a tensor, a tuple/list of tensors or a dict of tensors, not list",
        "--sample torch.randn(1, 3, 224, 224)  or  --sample (ids, mask)",
    ),
    (
        lambda: hints.no_submodule(Net(), "backbone.conv"),
        UsageError,
        "the model has no submodule 'backbone.conv'",
        "did you mean backbone.conv1, backbone?",
    ),
    (
        lambda: hints.no_submodule(Net(), "zzz"),
        UsageError,
        "the model has no submodule 'zzz'",
        "its submodules: backbone, backbone.conv1, head",
    ),
    (
        lambda: hints.submodule_not_called("head"),
        ExportError,
        "the submodule 'head' never ran while the model ran on the sample, so its inputs are unknown",
        "check the path, or export it directly with --model and -i",
    ),
    (
        lambda: hints.submodule_non_tensor("head", [1, "a", 2]),
        ExportError,
        "the submodule 'head' is called with non-tensor inputs (int, str)",
        "export a wrapper module whose forward takes tensors only",
    ),
    (
        lambda: hints.signature_mismatch(
            Net(), "(self, x)", (T, 3), {"mask": T}, TypeError("boom")
        ),
        UsageError,
        "Net.forward(self, x) does not take the 3 input(s) given [float32[1, 3], int, float32[1, 3]]: boom",
        "give one -i per forward argument, in forward's order (or a --sample tuple/dict matching it)",
    ),
    (
        lambda: hints.input_count(Net(), 2, ["a", "b", "c"]),
        UsageError,
        "2 sample inputs but 3 input names (a, b, c)",
        "give one name per input",
    ),
    (
        lambda: hints.forward_failed(
            RuntimeError("mat1 and mat2 shapes cannot be multiplied\nmore"), (T,), {}
        ),
        ExportError,
        "the model fails on the sample inputs [float32[1, 3]]: mat1 and mat2 shapes cannot be multiplied",
        "check the -i shapes and dtypes against what forward expects",
    ),
    (
        lambda: hints.forward_failed(
            RuntimeError("Expected tensor for argument #1 'indices' to have scalar type Long"),
            (T,),
            {},
        ),
        ExportError,
        "the model fails on the sample inputs [float32[1, 3]]: Expected tensor for argument #1 'indices' to have scalar type Long",
        "integer inputs need their dtype: -i tokens:1x128:int64 (the default is float32)",
    ),
    (
        lambda: hints.forward_failed(RuntimeError(""), (), {}),
        ExportError,
        "the model fails on the sample inputs []: RuntimeError",
        "check the -i shapes and dtypes against what forward expects",
    ),
    (
        lambda: hints.unwritable("/x/m.onnx", "read-only file system"),
        ExportError,
        "cannot write /x/m.onnx: read-only file system",
        "choose a folder you can write to: -o ~/models/model.onnx (or set TrtMagic.workdir)",
    ),
    (
        lambda: hints.random_ops({"Add": 2, "RandomNormalLike": 1, "Bernoulli": 3}),
        ExportError,
        "the graph draws random numbers (RandomNormalLike x1, Bernoulli x3): its outputs change on every run, so it cannot match PyTorch and TensorRT will not build it the way you expect",
        "take the randomness out of forward (torch.rand/randn/dropout in training mode, e.g. F.dropout(x, training=True)): pass the noise in as an input, or use --no-check to keep the graph as it is",
    ),
    (
        lambda: hints.dim_not_dynamic("x", 0, "batch"),
        ExportError,
        "input 'x' axis 0 (batch) came out static: the exporter fixed its size",
        "the model fixes that size; make the code size-agnostic, or drop -d x:0",
    ),
    (
        lambda: hints.parity_failed(["a / y: FAIL", "b / y: FAIL"], dynamic=False),
        ExportError,
        "the ONNX model does not compute what PyTorch does:\na / y: FAIL\nb / y: FAIL",
        "compare the ONNX graph with forward (--netron); loosen --rtol/--atol if the gap is tiny",
    ),
    (
        lambda: hints.parity_failed(["a / y: FAIL"], dynamic=True),
        ExportError,
        "the ONNX model does not compute what PyTorch does:\na / y: FAIL",
        "at the second size the graph disagrees with PyTorch: a dynamic axis is baked in (a constant in reshape/view, a fixed-size tensor); use -1 or x.shape[...] in the model, or drop that -d axis",
    ),
    (
        lambda: hints.timed_out(2.5, None),
        ExportError,
        "the export ran past --timeout 2.5 s and was stopped; nothing was written",
        "try the other exporter (--exporter torchscript or dynamo), export a part with --submodule, or raise --timeout; on multi-socket hosts pinning to one NUMA node helps",
    ),
    (
        lambda: hints.timed_out(60, "NUMA node 0 (CPUs 0-7)"),
        ExportError,
        "the export ran past --timeout 60 s (pinned to NUMA node 0 (CPUs 0-7)) and was stopped; nothing was written",
        "try the other exporter (--exporter torchscript or dynamo), export a part with --submodule, or raise --timeout; on multi-socket hosts pinning to one NUMA node helps",
    ),
]


@pytest.mark.parametrize(("make", "kind", "message", "hint"), CASES)
def test_error_text_and_hint(make, kind, message, hint):
    error = make()
    assert type(error) is kind
    assert (error.message, error.hint) == (message, hint)


def test_describe_and_tracer_warning():
    assert hints._describe(3) == "int" and hints._describe(T) == "float32[1, 3]"
    assert hints.tracer_warning("x Converting a tensor to a Python boolean might") == (
        "forward converts a tensor to a Python bool (data-dependent control flow?): the TorchScript trace keeps only the branch the sample took; check the second-sample parity, or use torch.where / --exporter dynamo"
    )
    assert hints.tracer_warning("TracerWarning: something else") is None


# texts as Python and torch 2.13 word them (see test_export_parts.py for the quoted sources)
CTX = {"exporter": "torchscript", "opset": 17, "cap": 17, "trt_version": "8.6.1"}
ARGS_HINT = "give one -i per forward argument in order, or a --sample tuple/dict that matches it"
DATA_HINT = (
    "compute both branches and pick with torch.where (any exporter), use torch.cond with "
    "--exporter dynamo, or move that part out of the model (export the network alone with "
    "--submodule); --exporter torchscript would freeze the branch the sample takes"
)
GUARD = "GuardOnDataDependentSymNode: Could not guard on data-dependent expression Eq(u0, 1)\n"
FRAMES = (
    '  File "/usr/lib/python3/site-packages/torch/x.py", line 9, in f\n    torch_code()\n'
    '  File "/home/me/proj/model.py", line 6, in forward\n    if x.sum() > 0: return x * 2\n'
    '  File "/usr/lib/python3/site-packages/torch/y.py", line 2, in g\n    more()\n'
)


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("TypeError: forward() takes 2 positional arguments but 3 were given",
         "the inputs do not match forward's signature: takes 2 positional arguments but 3 were given",
         ARGS_HINT),
        ("TypeError: forward() got an unexpected keyword argument 'mask'",
         "the inputs do not match forward's signature: got an unexpected keyword argument 'mask'",
         ARGS_HINT),
        (GUARD + FRAMES,
         "forward depends on tensor values (data-dependent control flow or sizes) at "
         "model.py:6 `if x.sum() > 0: return x * 2`", DATA_HINT),
        (GUARD, "forward depends on tensor values (data-dependent control flow or sizes)", DATA_HINT),
        ("Constraints violated (batch, seq)! For more information\n"
         "  - You marked seq as dynamic but your code specialized it to be a constant (8). If you do X.\n"
         "  - You marked batch as dynamic but your code specialized it to be a constant (2). If you do Y.\n"
         '  File "/home/me/m.py", line 3, in forward\n    return x.view(2, 8)\n',
         "dynamic dim 'batch, seq' cannot stay dynamic: You marked batch as dynamic but your code "
         "specialized it to be a constant (2) (m.py:3 `return x.view(2, 8)`)",
         "the model fixes batch, seq: a constant size in view/reshape/expand, a fixed-size tensor "
         "combined with the input, or a branch on the size; write it size-agnostic (-1, x.shape[0]) "
         "or drop batch, seq from -d"),
        ("Constraints violated (batch)! nothing else\n",
         "dynamic dim 'batch' cannot stay dynamic: guard failed",
         "the model fixes batch: a constant size in view/reshape/expand, a fixed-size tensor "
         "combined with the input, or a branch on the size; write it size-agnostic (-1, x.shape[0]) "
         "or drop batch from -d"),
        ("No ONNX function found for <OpOverload(op='aten.linalg_svd', overload='default')>. ...",
         "the dynamo exporter has no ONNX translation for aten.linalg_svd",
         "try --exporter torchscript, or replace the operator in the model"),
    ],
)  # fmt: skip
def test_diagnose_rules_word_for_word(text, message, hint):
    error = hints.diagnose(text, CTX)
    assert (error.message, error.hint, error.detail) == (message, hint, text)


def test_submodule_suggestions_and_sample_shapes():
    class Many:
        def named_modules(self):
            return [("", self)] + [(f"layer{i}", 1) for i in range(20)]

    near = hints.no_submodule(Many(), "layer")
    assert near.hint == "did you mean layer9, layer8, layer7?"  # difflib's three closest
    far = hints.no_submodule(Many(), "zzz")
    assert far.hint == "its submodules: " + ", ".join(f"layer{i}" for i in range(12))
    error = hints.forward_failed(RuntimeError("boom"), (T, T), {"m": T})
    assert error.message == (
        "the model fails on the sample inputs [float32[1, 3], float32[1, 3], float32[1, 3]]: boom"
    )
    assert hints._describe(SimpleNamespace(shape=(2,))) == "[2]"  # no dtype
    for text in ("Expected tensor for argument #1 'INDICES'", "expected Long, Int but got Float"):
        assert hints.forward_failed(RuntimeError(text), (), {}).hint.startswith("integer inputs")
