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


# ---- the errors auto retries with the other exporter, and the ones it does not -------------


def test_bad_sample_dict_asks_for_a_wrapper():
    error = hints.bad_sample({"ids": T})
    assert type(error) is UsageError
    assert (error.message, error.hint) == (
        "a sample input is a dict: ONNX inputs are tensors, so forward must take tensors",
        "export a wrapper: class W(torch.nn.Module): def forward(self, ids, mask): return "
        "model({'ids': ids, 'mask': mask}); then --sample {'ids': ..., 'mask': ...}",
    )


def test_structure_changed_names_six_outputs_at_most():
    names = [f"out_{i}" for i in range(7)]
    error = hints.structure_changed("second sample (seq=16)", 3, names, ["a", "b", "c"])
    assert type(error) is ExportError
    assert error.message == (
        "forward returns 7 output tensor(s) at the second sample (seq=16) but 3 at the sample "
        "(out_0, out_1, out_2, out_3, out_4, out_5 vs a, b, c): an ONNX graph has a fixed number "
        "of outputs, so the file cannot be right at both sizes"
    )
    assert error.hint == (
        "return a fixed number of tensors (stack a list whose length follows the input into one "
        "tensor), or drop the -d axis that changes the count"
    )
    assert not hasattr(error, "other_exporter")  # the other exporter cannot fix the model
    error = hints.structure_changed("x", 7, ["a"], names)
    assert "(a vs out_0, out_1, out_2, out_3, out_4, out_5)" in error.message


FROZEN_HINT = (
    "--exporter dynamo (it keeps size branches correct and refuses value branches), or use "
    "torch.where in forward; accept the frozen branch with --allow-frozen (allow_frozen=True) "
    "if that branch is the only one your inputs take"
)


def test_frozen_branch_names_three_places_and_is_retried():
    # places as _torch.frozen_branches writes them: f"{w.filename}:{w.lineno} `{code}`"
    places = [
        "/home/me/proj/model.py:6 `if x.sum() > 0:`",
        "/usr/lib/python3/site-packages/transformers/models/bert.py:120 `n = int(mask.sum())`",
        "/home/me/proj/model.py:9 `if x.max() > 1:`",
        "/home/me/proj/model.py:12 `k = x.item()`",
    ]
    error = hints.frozen_branch(places, "torchscript")
    assert type(error) is ExportError
    assert error.message == (
        "the torchscript trace turned a tensor into a Python value at model.py:6 `if x.sum() > 0:`"
        "; models/bert.py:120 `n = int(mask.sum())`; model.py:9 `if x.max() > 1:` (+1 more): "
        "the file keeps the branch or number the sample gave there, whatever the input"
    )
    assert error.hint == FROZEN_HINT
    assert (error.other_exporter, error.wrong_file) == (True, True)  # auto: the file is wrong
    one = hints.frozen_branch(places[:3], "torchscript")
    assert "if x.max() > 1:`: the file keeps" in one.message  # exactly three: no "(+0 more)"
    assert "more" not in one.message


def test_short_place_keeps_the_package_folder_for_libraries():
    assert hints.short_place("/home/me/proj/model.py:6 `if x:`") == "model.py:6 `if x:`"
    assert hints.short_place("/x/site-packages/transformers/models/bert.py:7 `a`") == (
        "models/bert.py:7 `a`"
    )
    assert hints.short_place("model.py:3") == "model.py:3"
    assert hints.short_place("<stdin>") == "<stdin>:"


@pytest.mark.parametrize(
    ("place", "sizes_only"),
    [
        ("/m.py:3 `if x.shape[0] > 1:`", True),
        ("/m.py:3 `if x.size(1) == 8:`", True),
        ("/m.py:3 `if x.dim() == 3:`", True),
        ("/m.py:3 `n = self.head_dim`", True),
        ("/m.py:3 `if x.ndim > 2:`", True),
        ("/m.py:3 `if x.numel() > 0:`", True),
        ("/m.py:3 `for i in range(len(xs)):`", True),
        ("/m.py:3 `pad = self.max_length - n`", True),
        ("/m.py:3 `h = q.view(b, self.num_heads, -1)`", True),
        ("/m.py:3 `s = int(self._prods[0])`", True),
        ("/m.py:3 `if x.sum() > 0:`", False),
        ("/m.py:3 `if x.shape[0] > 1 and x.any():`", False),
        ("/m.py:3 `if x.shape[0] and (x > 0).all():`", False),
        ("/m.py:3 `n = int(x.shape[0] * x.max())`", False),
        ("/m.py:3 `k = x.size(0) * x.item()`", False),
        ("/m.py:3 `m = x.shape[0] + x.min()`", False),
        ("/m.py:3 `m = x.shape[0] + x.mean()`", False),
        ("/m.py:3 `m = x.shape[0] + len(x.tolist())`", False),
        ("/m.py:3 `n = len(x.nonzero())`", False),
        ("/m.py:3 `if torch.any(x) and x.ndim:`", False),
        ("/m.py:3 `if torch.all(x) and x.ndim:`", False),
        ("/m.py:3 `if x.sum() > 0:  # not `x.shape`!`", False),  # the whole line is read
        ("/m.py:3 `if flag:`", False),  # no size word: a value until shown otherwise
        ("/m.py:3 `self.dimension`", False),  # dim as a word part does not count
        ("/m.py:3", False),  # no code: cannot tell
        ("/m.py:3 ``", False),
    ],
)
def test_size_only_reads_the_code_of_a_place(place, sizes_only):
    assert hints.size_only(place) is sizes_only


def test_above_cap_names_the_image_and_torchscript_at_the_cap():
    error = hints.above_cap(18, 17, "8.6.1", "dynamo", "nvcr.io/nvidia/tensorrt:24.05-py3")
    assert type(error) is ExportError
    assert error.message == (
        "the dynamo exporter wrote an opset-18 file; TensorRT 8.6.1 reads ONNX up to opset 17, "
        "so trtexec would refuse it (nothing was written)"
    )
    assert error.hint == (
        "use nvcr.io/nvidia/tensorrt:24.05-py3 with --opset 18, or --exporter torchscript --opset 17"
    )
    assert (error.other_exporter, error.wrong_file) == (True, False)  # a refusal, no wrong file
    error = hints.above_cap(18, 17, None, "dynamo", None, torchscript_ok=False)
    assert error.message == (
        "the dynamo exporter wrote an opset-18 file; the configured TensorRT reads ONNX up to "
        "opset 17, so trtexec would refuse it (nothing was written)"
    )
    assert error.hint == "use a TensorRT image that reads opset 18 with --opset 18"


def test_diagnose_unknown_text_falls_back_to_the_other_exporter():
    text = "Traceback (most recent call last):\n  ...\nRuntimeError: something odd  \n\n  \n"
    error = hints.diagnose(text, CTX)
    assert type(error) is ExportError
    assert error.message == "torch.onnx.export (torchscript) failed: RuntimeError: something odd"
    assert (error.hint, error.detail) == ("try the other exporter: --exporter dynamo", text)
    assert (error.other_exporter, error.wrong_file) == (True, False)
    error = hints.diagnose("RuntimeError: " + "x" * 400, {"exporter": "dynamo"})
    assert error.message == "torch.onnx.export (dynamo) failed: RuntimeError: " + "x" * 286
    assert error.hint == "try the other exporter: --exporter torchscript"
    error = hints.diagnose("boom", {})
    assert (error.message, error.hint) == (
        "torch.onnx.export (None) failed: boom",
        "try the other exporter: --exporter torchscript",
    )
    assert hints.diagnose("", {}).message == "torch.onnx.export (None) failed: "


def test_a_diagnosed_error_is_not_retried():
    # a rule's diagnosis says what to change in the model or the flags: auto does not retry it
    error = hints.diagnose(
        "TypeError: forward() takes 2 positional arguments but 3 were given", CTX
    )
    assert not hasattr(error, "other_exporter") and not hasattr(error, "wrong_file")


def test_timed_out_prints_the_seconds_short():
    assert hints.timed_out(0.5, None).message.startswith("the export ran past --timeout 0.5 s and")
    assert hints.timed_out(1200.0, None).message.startswith("the export ran past --timeout 1200 s")


# ---- diagnose on texts torch 2.13 really raised (torch 2.13.0+cpu, recorded 2026-11-30) ------

# torch.onnx.export(F.grid_sample model, opset_version=15, dynamo=False): UnsupportedOperatorError
GRID_15 = (
    "Exporting the operator 'aten::grid_sampler' to ONNX opset version 15 is not supported. "
    "Support for this operator was added in version 16, try exporting with this version"
)
# torch.onnx.export(torch.linalg.svd model, opset_version=17, dynamo=False)
SVD_17 = "Exporting the operator 'aten::linalg_svd' to ONNX opset version 17 is not supported"
# the same model with dynamo=True, opset 18: ConversionError (its str, colour codes removed)
SVD_DYNAMO = (
    "Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the "
    "model to ONNX. Next steps:\n"
    "- If there is a missing ONNX function, implement it and register it to the registry.\n"
    "- If there is an internal error during ONNX conversion, debug the error and submit a PR to "
    "PyTorch.\n"
    "## Exception summary\n"
    "<class 'torch.onnx._internal.exporter._errors.DispatchError'>: No ONNX function found for "
    "<OpOverload(op='aten._linalg_svd', overload='default')>. Failure message: No decompositions "
    "registered for the real-valued input\n"
)
# torch.export.export(x.view(2, 8) model, dynamic_shapes={"x": {0: Dim("batch")}}): UserError
VIEW_BATCH = (
    'Constraints violated (batch)! For more information, run with TORCH_LOGS="+dynamic".\n'
    "  - You marked batch as dynamic but your code specialized it to be a constant (2). If you're "
    "using mark_dynamic, either remove it or use maybe_mark_dynamic. If you're using Dim.DYNAMIC, "
    "replace it with either Dim.STATIC or Dim.AUTO.\n"
    "Suggested fixes:\n  batch = 2\n"
    "The error above occurred when calling torch.export.export. If you would like to view some "
    "more information about this error, and get a list of all other errors that may occur in your "
    "export call, you can replace your `export()` call with `draft_export()`."
)
# torch.export.export(x + self.pos[: x.shape[0]] with a 64-row table, {"x": {0: Dim("seq")}})
POS_TABLE = (
    'Constraints violated (seq)! For more information, run with TORCH_LOGS="+dynamic".\n'
    "  - Not all values of seq = L['x'].size()[0] in the specified range satisfy the generated "
    "guard 2 <= L['x'].size()[0] and L['x'].size()[0] <= 64\n"
    "Suggested fixes:\n  seq = Dim('seq', max=64)\n\n"
    "The error above occurred when calling torch.export.export."
)
# torch.export.export(`if x.shape[0] > 4: ...` model, {"x": {0: Dim("seq")}})
BRANCH_ON_SIZE = (
    'Constraints violated (seq)! For more information, run with TORCH_LOGS="+dynamic".\n'
    "  - Not all values of seq = L['x'].size()[0] in the specified range satisfy the generated "
    "guard 5 <= L['x'].size()[0] and L['x'].size()[0] <= IntInfinity()\n"
    "Suggested fixes:\n  seq = Dim('seq', min=5)\n\n"
)
# torch.export.export(`if x.sum() > 0: return x * 2` model): GuardOnDataDependentSymNode
SUM_BRANCH = (
    "Could not guard on data-dependent expression Eq(u0, 1) (unhinted: Eq(u0, 1)).  (Size-like "
    "symbols: none)\n\nconsider using data-dependent friendly APIs such as guard_or_false, "
    "guard_or_true and statically_known_true.\nCaused by: (_export/non_strict_utils.py:1205 in "
    '__torch_function__)\nFor more information, run with TORCH_LOGS="dynamic"\n'
    "The following call raised this error:\n"
    '  File "/tmp/mutx/gen.py", line 28, in forward\n    if x.sum() > 0:\n\n'
    "The error above occurred when calling torch.export.export."
)
NO_RANGE_HINT = (
    "the model fixes {d}: a constant size in view/reshape/expand, a fixed-size tensor combined "
    "with the input, or a branch on the size; write it size-agnostic (-1, x.shape[0]) or drop {d} "
    "from -d"
)


@pytest.mark.parametrize(
    ("text", "ctx", "message", "hint"),
    [
        (GRID_15, {**CTX, "opset": 15}, "aten::grid_sampler needs ONNX opset 16; this export targets opset 15",
         "export with --opset 16 (TensorRT 8.6.1 reads up to opset 17)"),
        (GRID_15, {**CTX, "cap": 15, "trt_version": None},
         "aten::grid_sampler needs ONNX opset 16; this export targets opset 15",
         "TensorRT of the configured image reads ONNX up to opset 15: use a TensorRT image that "
         "reads opset 16 (TensorRT 10.0 reads up to 20; %config TrtMagic.image = ...) and "
         "--opset 16, or replace aten::grid_sampler in the model"),
        (SVD_17, CTX, "aten::linalg_svd cannot be exported to ONNX at opset 17",
         "try --exporter dynamo, or replace the operator in the model"),
        (SVD_DYNAMO, {**CTX, "exporter": "dynamo"},
         "the dynamo exporter has no ONNX translation for aten._linalg_svd",
         "try --exporter torchscript, or replace the operator in the model"),
        # torch/onnx/_internal/exporter/_core.py:600 with _dispatching.py:50's message
        ("No ONNX function found for <OpOverload(op='aten.mul', overload='Tensor')>. Failure "
         "message: No decompositions registered for the complex-valued input", CTX,
         "the dynamo exporter has no ONNX translation for aten.mul",
         "try --exporter torchscript, or replace the operator in the model"),
        (VIEW_BATCH, CTX,
         "dynamic dim 'batch' cannot stay dynamic: You marked batch as dynamic but your code "
         "specialized it to be a constant (2)", NO_RANGE_HINT.format(d="batch")),
        (POS_TABLE, CTX,
         "dynamic dim 'seq' cannot stay dynamic: Not all values of seq = L['x'].size()[0] in the "
         "specified range satisfy the generated guard 2 <= L['x'].size()[0] and L['x'].size()[0] "
         "<= 64",
         "the model accepts only seq[2:64]: write that range in -d (e.g. -d NAME:AXIS=seq[2:64]), "
         "or in Python {NAME: {AXIS: ('seq', 2, 64)}}"),
        (BRANCH_ON_SIZE, CTX,
         "dynamic dim 'seq' cannot stay dynamic: Not all values of seq = L['x'].size()[0] in the "
         "specified range satisfy the generated guard 5 <= L['x'].size()[0] and L['x'].size()[0] "
         "<= IntInfinity()",
         "the model accepts only seq[5:]: write that range in -d (e.g. -d NAME:AXIS=seq[5:]), "
         "or in Python {NAME: {AXIS: ('seq', 5, None)}}"),
        (SUM_BRANCH, CTX,
         "forward depends on tensor values (data-dependent control flow or sizes) at gen.py:28 "
         "`if x.sum() > 0:`", DATA_HINT),
        ("torch._dynamo.exc.UserError: Dynamic control flow is not supported at the moment.", CTX,
         "forward depends on tensor values (data-dependent control flow or sizes)", DATA_HINT),
        ("Could not extract specialized integer from data-dependent expression u0", CTX,
         "forward depends on tensor values (data-dependent control flow or sizes)", DATA_HINT),
        ("GuardOnDataDependentSymNode: Eq(u0, 1)", CTX,
         "forward depends on tensor values (data-dependent control flow or sizes)", DATA_HINT),
        ("Could not guard on data-dependent Eq(u0, 1)", CTX,
         "forward depends on tensor values (data-dependent control flow or sizes)", DATA_HINT),
        ("a data-dependent expression u0", CTX,
         "forward depends on tensor values (data-dependent control flow or sizes)", DATA_HINT),
        # nn.Module.__call__ on a forward(self, x) (Python 3.11's TypeError texts)
        ("TypeError: A.forward() missing 1 required positional argument: 'x'", CTX,
         "the inputs do not match forward's signature: missing 1 required positional argument: 'x'",
         ARGS_HINT),
        ("TypeError: f() takes 1 positional argument but 2 were given", CTX,
         "the inputs do not match forward's signature: takes 1 positional argument but 2 were given",
         ARGS_HINT),
        ("TypeError: f() takes 2 positional arguments but 1 was given", CTX,
         "the inputs do not match forward's signature: takes 2 positional arguments but 1 was given",
         ARGS_HINT),
        # a forward with a default (forward(self, x, mask=None)) or a keyword-only argument
        ("TypeError: A.forward() takes from 2 to 3 positional arguments but 4 were given", CTX,
         "the inputs do not match forward's signature: takes from 2 to 3 positional arguments "
         "but 4 were given", ARGS_HINT),
        ("TypeError: f() missing 1 required keyword-only argument: 'k'", CTX,
         "the inputs do not match forward's signature: missing 1 required keyword-only argument: "
         "'k'", ARGS_HINT),
        ("TypeError: f() got multiple values for argument 'x'", CTX,
         "the inputs do not match forward's signature: multiple values for argument 'x'",
         ARGS_HINT),
        # inspect.Signature.bind's texts
        ("TypeError: too many positional arguments", CTX,
         "the inputs do not match forward's signature: too many positional arguments", ARGS_HINT),
        ("TypeError: missing a required argument: 'mask'", CTX,
         "the inputs do not match forward's signature: missing a required argument: 'mask'",
         ARGS_HINT),
    ],
)  # fmt: skip
def test_diagnose_real_torch_texts(text, ctx, message, hint):
    error = hints.diagnose(text, ctx)
    assert type(error) is ExportError
    assert (error.message, error.hint, error.detail) == (message, hint, text)


def test_diagnose_opset_rule_defaults_and_order():
    # no cap in ctx: TensorRT 8.6's 17 is assumed
    error = hints.diagnose(GRID_15.replace("16", "18"), {"trt_version": "8.6.1"})
    assert error.hint.startswith("TensorRT 8.6.1 reads ONNX up to opset 17: use")
    error = hints.diagnose(GRID_15, {"trt_version": "8.6.1"})
    assert error.hint == "export with --opset 16 (TensorRT 8.6.1 reads up to opset 17)"
    # the operator rule comes before the argument and data-dependence rules
    both = GRID_15 + "\nTypeError: f() takes 1 positional argument but 2 were given\n" + SUM_BRANCH
    assert hints.diagnose(both, CTX).message.startswith("aten::grid_sampler needs ONNX opset 16")
    assert hints.diagnose(VIEW_BATCH + "\n" + SUM_BRANCH, CTX).message.startswith("dynamic dim")
    data_then_args = SUM_BRANCH + "\nTypeError: f() takes 1 positional argument but 2 were given"
    assert hints.diagnose(data_then_args, CTX).message.startswith("forward depends on tensor")
    dynamo_then_constraint = SVD_DYNAMO + VIEW_BATCH
    assert hints.diagnose(dynamo_then_constraint, CTX).message.startswith("the dynamo exporter")


def test_constraint_guards_of_the_first_dim_three_at_most():
    text = (
        "Constraints violated (seq, batch)! For more information\n"
        "  - You marked batch as dynamic but your code specialized it to be a constant (2). If x\n"
        + "".join(
            f"  - You marked seq as dynamic but your code specialized it ({i}). If you do\n"
            for i in range(4)
        )
    )
    error = hints.diagnose(text, CTX)
    assert error.message == (
        "dynamic dim 'seq, batch' cannot stay dynamic: You marked seq as dynamic but your code "
        "specialized it (0); You marked seq as dynamic but your code specialized it (1); You "
        "marked seq as dynamic but your code specialized it (2)"
    )
    # no guard names the first dim: all of them are shown
    other = "Constraints violated (n)!\n  - a guard on m failed\n  - another on k\n"
    assert hints.diagnose(other, CTX).message == (
        "dynamic dim 'n' cannot stay dynamic: a guard on m failed; another on k"
    )


def test_constraint_with_two_ranges_spells_the_first_in_the_example():
    text = (
        "Constraints violated (seq, batch)! For more information\n"
        "  - Not all values of seq = L['x'].size()[1] in the specified range satisfy the generated "
        "guard L['x'].size()[1] <= 64\n"
        "Suggested fixes:\n  seq = Dim('seq', max=64)\n  batch = Dim('batch', min=3, max=8)\n"
        '  File "/home/me/m.py", line 4, in forward\n    return x + self.pos[: x.shape[1]]\n'
    )
    error = hints.diagnose(text, CTX)
    assert error.message == (
        "dynamic dim 'seq, batch' cannot stay dynamic: Not all values of seq = L['x'].size()[1] "
        "in the specified range satisfy the generated guard L['x'].size()[1] <= 64 "
        "(m.py:4 `return x + self.pos[: x.shape[1]]`)"
    )
    assert error.hint == (
        "the model accepts only seq[1:64], batch[3:8]: write that range in -d (e.g. -d "
        "NAME:AXIS=seq[1:64]), or in Python {NAME: {AXIS: ('seq', 1, 64)}}"
    )


def test_user_line_skips_torch_and_trt_magic_frames():
    frames = (
        '  File "/home/me/proj/model.py", line 6, in forward\n    if x.sum() > 0:\n'
        '  File "/home/me/proj/layers.py", line 11, in block\n    y = torch.nonzero(x)  \n'
        '  File "/work/trt_magic/export/_torch.py", line 300, in torch_export\n    export()\n'
        '  File "/usr/lib/python3/site-packages/torch/x.py", line 9, in f\n    torch_code()\n'
    )
    assert hints._user_line(frames) == "layers.py:11 `y = torch.nonzero(x)`"
    assert hints._user_line(frames.split('  File "/home/me/proj/layers.py"')[0]) == (
        "model.py:6 `if x.sum() > 0:`"
    )
    assert hints._user_line(frames.split("  File", 3)[-1]) == ""  # torch frames only
    assert hints._user_line('File "m.py", line 3, in <module>\n    x\n') == ""  # not a function
    assert hints._user_line("no frames") == ""
    # code run from a string (exec, a notebook's compiled cell): no folder in the name
    assert (
        hints._user_line('  File "<string>", line 3, in forward\n    x = y\n')
        == "<string>:3 `x = y`"
    )


def test_random_ops_names_training_dropouts():
    error = hints.random_ops({"Dropout": 2, "Relu": 1}, dropouts=2)
    assert error.message.startswith(
        "the graph draws random numbers (Dropout in training mode x2): its outputs change"
    )
    error = hints.random_ops({"RandomUniformLike": 1, "Dropout": 1}, dropouts=1)
    assert error.message.startswith(
        "the graph draws random numbers (RandomUniformLike x1, Dropout in training mode x1): "
    )


def test_forward_failed_spots_integer_inputs_whatever_the_case():
    for text in (
        "expected scalar type Long but found Float",
        "Expected Scalar Type Long but found Float",
        "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
        "Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding)",
    ):
        error = hints.forward_failed(RuntimeError(text), (), {})
        assert error.hint == (
            "integer inputs need their dtype: -i tokens:1x128:int64 (the default is float32)"
        ), text
    error = hints.forward_failed(RuntimeError("  \n  padded first line\nsecond"), (), {})
    assert error.message == "the model fails on the sample inputs []: padded first line"
    assert hints.forward_failed(ValueError("  "), (), {}).message.endswith("[]: ValueError")
