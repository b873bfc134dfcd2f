"""simplify_onnx on real TorchScript exports (CPU), and every failure path with real broken methods.

The broken methods are in tests/simplify_fakes.py, registered through the public registry; they
run in the same worker process the real methods run in.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import simplify_fakes
import torch
from torch import nn

from trt_magic.errors import MissingDependency, SimplifyError, UsageError
from trt_magic.rewrite import checks as simplify_checks
from trt_magic.simplify import METHODS, SimplifyResult, register_method, simplify_onnx

# ---- models -------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNet18Shape(nn.Module):
    """ResNet-18's layout (stem, 4 stages of 2 basic blocks, pool, fc) at a small width."""

    def __init__(self, width: int = 8, classes: int = 10):
        super().__init__()
        w = width
        self.stem = nn.Sequential(
            nn.Conv2d(3, w, 7, 2, 3, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        blocks, cin = [], w
        for i, c in enumerate([w, 2 * w, 4 * w, 8 * w]):
            blocks += [BasicBlock(cin, c, 1 if i == 0 else 2), BasicBlock(c, c, 1)]
            cin = c
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1)
        return self.fc(x.reshape(x.size(0), -1))  # x.size(0): shape arithmetic in the graph


class TransformerBlock(nn.Module):
    """Pre-norm attention + MLP; heads split with arithmetic on x.shape (Shape/Gather/Concat)."""

    def __init__(self, dim: int = 32, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.n1(x)).chunk(3, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.n2(x))


class ConstantSubgraph(nn.Module):
    """A buffer put through arithmetic on every call: the exporter keeps it as constant nodes."""

    def __init__(self):
        super().__init__()
        self.register_buffer("base", torch.linspace(0, 1, 16))
        self.lin = nn.Linear(16, 16)

    def forward(self, x):
        scale = torch.exp(self.base * 2.0).sqrt() + torch.arange(16, dtype=torch.float32) / 16
        return self.lin(x * (torch.ones(16, 16).triu() * scale).sum(0))


def _export(model: nn.Module, sample, path: Path, dynamic: dict) -> Path:
    torch.manual_seed(0)
    model.eval()
    names = list(dynamic)
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        _torchscript_export(model, sample, path, names, dynamic)
    return path


def _torchscript_export(model, sample, path, names, dynamic) -> None:
    torch.onnx.export(
        model,
        (sample,),
        str(path),
        input_names=names[:1],
        output_names=names[1:],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("models")
    return {
        "resnet": _export(
            ResNet18Shape(),
            torch.randn(1, 3, 64, 64),
            d / "resnet.onnx",
            {"images": {0: "batch"}, "logits": {0: "batch"}},
        ),
        "transformer": _export(
            TransformerBlock(),
            torch.randn(1, 5, 32),
            d / "transformer.onnx",
            {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
        ),
        "constant": _export(
            ConstantSubgraph(),
            torch.randn(2, 16),
            d / "constant.onnx",
            {"x": {0: "batch"}, "y": {0: "batch"}},
        ),
    }


@pytest.fixture
def model_copy(models, tmp_path):
    """Copy one model into a fresh folder (so leftovers and rewrites are visible)."""

    def copy(name: str) -> Path:
        dest = tmp_path / f"{name}.onnx"
        dest.write_bytes(models[name].read_bytes())
        return dest

    return copy


@pytest.fixture
def fake_methods(monkeypatch):
    """Register the broken methods of simplify_fakes; unregistered after the test."""
    for name in [
        "rename_input",
        "rename_batch_dim",
        "double_weights",
        "hang",
        "crash",
        "raise_error",
        "return_nothing",
    ]:
        monkeypatch.setitem(METHODS, name, METHODS.get(name))  # restored (or removed) afterwards
        register_method(name, getattr(simplify_fakes, name))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---- real models, every installed method ---------------------------------------------------

EXPECTED = {
    # model: (interface, ops that must vanish with onnxslim)
    "resnet": ({"images": ("batch", 3, 64, 64), "logits": ("batch", 10)}, {"Identity", "Shape"}),
    "transformer": ({"x": ("batch", "seq", 32), "y": ("batch", "seq", 32)}, {"Constant", "Cast"}),
    "constant": ({"x": ("batch", 16), "y": ("batch", 16)}, {"Exp", "Sqrt", "ReduceSum"}),
}


def _check_kept(result: SimplifyResult, model: str) -> None:
    interface, _ = EXPECTED[model]
    after = {t.name: t.shape for t in (*result.after.inputs, *result.after.outputs)}
    assert after == interface
    assert [str(t) for t in result.after.inputs] == [str(t) for t in result.before.inputs]
    assert result.parity and all(p.ok for p in result.parity)
    samples = {p.sample for p in result.parity}
    assert samples == {"symbolic dims=1", "symbolic dims=3"}
    assert max(p.max_abs for p in result.parity) < 1e-4


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_onnxslim_shrinks_and_keeps_the_model(model, model_copy):
    source = model_copy(model)
    digest = _digest(source)
    result = simplify_onnx(source, method="onnxslim")
    assert result.method == "onnxslim" and result.path == source.with_name(
        f"{model}.simplified.onnx"
    )
    assert result.path.exists() and _digest(source) == digest  # the original is untouched
    assert result.after.nodes < result.before.nodes
    assert sum(result.before.ops.values()) == result.before.nodes
    assert EXPECTED[model][1] <= set(result.vanished_ops)
    _check_kept(result, model)
    assert _leftovers(source.parent) == []


def test_conv_net_node_count(model_copy):
    """The ResNet-18 shape: 72 nodes from TorchScript (BN already folded), 49 after onnxslim."""
    result = simplify_onnx(model_copy("resnet"), method="onnxslim")
    assert (result.before.nodes, result.after.nodes) == (72, 49)
    assert result.before.ops["Conv"] == result.after.ops["Conv"] == 20
    assert result.vanished_ops["Identity"] == 16
    assert ("Identity", 16, 0) in result.op_changes()


@pytest.mark.slow  # the first polygraphy call imports onnxruntime and graphsurgeon in the worker
@pytest.mark.parametrize("method", ["polygraphy", "onnxsim"])
@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_other_methods(method, model, model_copy):
    source = model_copy(model)
    if METHODS[method].missing():  # not installed here: the missing path, for real
        with pytest.raises(MissingDependency, match=method):
            simplify_onnx(source, method=method)
        return
    result = simplify_onnx(source, method=method)
    assert result.method == method and result.after.nodes < result.before.nodes
    _check_kept(result, model)


def test_auto_says_which_method(model_copy):
    result = simplify_onnx(model_copy("constant"))
    assert result.requested == "auto" and result.method == "onnxslim"
    assert "onnxslim (auto)" in repr(result)


def test_out_same_path_replaces_only_after_checks(model_copy):
    source = model_copy("constant")
    result = simplify_onnx(source, out=source)
    assert result.path == source and result.after.size == source.stat().st_size
    assert result.before.nodes == 10 and result.after.nodes == 2
    again = simplify_onnx(source, out=source)  # the rewritten file is a valid model
    assert again.before.nodes == 2
    assert _leftovers(source.parent) == []


def test_out_folder_gets_the_default_name(model_copy, tmp_path):
    folder = tmp_path / "cleaned"
    folder.mkdir()
    result = simplify_onnx(model_copy("constant"), out=folder, check=False)
    assert result.path == folder / "constant.simplified.onnx" and result.path.exists()


def test_given_samples_are_used(model_copy):
    source = model_copy("transformer")
    tensor = torch.randn(2, 7, 32)
    result = simplify_onnx(source, samples=[{"x": tensor}, (tensor[:1, :4].numpy(),)])
    assert {p.sample for p in result.parity} == {"sample 0", "sample 1"}
    with pytest.raises(SimplifyError, match="2 arrays but the model has 1 inputs"):
        simplify_onnx(source, samples=[(tensor, tensor)])


def test_check_false_skips_parity(model_copy):
    result = simplify_onnx(model_copy("constant"), check=False)
    assert result.parity == [] and not result.checked and "not checked" in repr(result)


def test_repr_and_html_show_what_changed(model_copy):
    result = simplify_onnx(model_copy("constant"))
    text, page = repr(result), result._repr_html_()
    assert "10 -> 2" in text and "Exp x1" in text and "max abs" in text
    assert "<table>" in page and "vanished" in page and "Exp" in page and "&rarr; 2" in page


# ---- failure paths ---------------------------------------------------------------------------


def test_method_missing(model_copy, monkeypatch):
    source = model_copy("constant")
    monkeypatch.setitem(sys.modules, "onnxsim", None)  # import onnxsim now fails, as if absent
    with pytest.raises(MissingDependency, match="onnxsim") as err:
        simplify_onnx(source, method="onnxsim")
    assert "trt_magic[onnxsim]" in err.value.hint
    monkeypatch.setitem(METHODS, "ghost", None)
    register_method("ghost", "no_such_module_here:run", requires=["no_such_module_here"])
    with pytest.raises(MissingDependency, match="no_such_module_here"):
        simplify_onnx(source, method="ghost")
    monkeypatch.setitem(sys.modules, "onnxslim", None)  # auto skips it and says so
    others = [m for m in ("polygraphy", "onnxsim") if not METHODS[m].missing()]
    if not others:  # nothing else installed: auto names the extra to install
        with pytest.raises(MissingDependency, match="onnxslim"):
            simplify_onnx(source)
        return
    result = simplify_onnx(source)
    assert result.method == others[0]
    assert str(result.attempts[0]).startswith("onnxslim: missing")
    assert not result.fell_back
    assert not source.with_name("constant.simplified.onnx.tmp").exists()


def test_unknown_method_is_a_usage_error(model_copy):
    with pytest.raises(UsageError, match="unknown simplify method 'onnxslimm'") as err:
        simplify_onnx(model_copy("constant"), method="onnxslimm")
    assert "onnxslim" in err.value.hint


def test_lambda_cannot_be_registered():
    with pytest.raises(UsageError, match="module-level function"):
        register_method("inline", lambda model: model)


@pytest.mark.parametrize(
    "method, match",
    [
        ("rename_input", "input names \\['x'\\] became \\['renamed_input'\\]"),
        ("rename_batch_dim", "input 'x' dim 0 'batch' became 'N'"),
        ("double_weights", "output 'y' differs on symbolic dims=\\d: max abs"),
    ],
)
def test_broken_method_is_rejected_and_original_kept(method, match, model_copy, fake_methods):
    source = model_copy("constant")
    digest = _digest(source)
    for out in (None, source):
        with pytest.raises(SimplifyError, match=match) as err:
            simplify_onnx(source, out=out, method=method)
        assert "original is unchanged" in err.value.hint
        assert _digest(source) == digest
        assert not source.with_name("constant.simplified.onnx").exists()
        assert _leftovers(source.parent) == []


def test_parity_mismatch_falls_back(model_copy, fake_methods):
    result = simplify_onnx(model_copy("constant"), method="double_weights,onnxslim")
    assert result.method == "onnxslim" and result.fell_back
    assert result.attempts[0].outcome == "parity" and "max abs" in result.attempts[0].message
    assert "fell back after double_weights: parity" in repr(result)


@pytest.mark.parametrize(
    "method, outcome, message",
    [
        ("crash", "crashed", "exit code 3"),
        ("raise_error", "failed", "RuntimeError: this method always fails"),
        ("return_nothing", "failed", "returned NoneType"),
    ],
)
def test_crashing_method_falls_back(method, outcome, message, model_copy, fake_methods):
    result = simplify_onnx(model_copy("constant"), method=f"{method},onnxslim")
    assert result.method == "onnxslim" and result.attempts[0].outcome == outcome
    assert message in result.attempts[0].message
    assert all(p.ok for p in result.parity)


@pytest.mark.slow  # waits out two timeouts and restarts the worker twice
def test_hanging_method_is_abandoned(model_copy, fake_methods):
    source = model_copy("constant")
    result = simplify_onnx(source, method="hang,onnxslim", timeout=3)
    assert [a.outcome for a in result.attempts] == ["timeout", "ok"]
    assert 3 <= result.attempts[0].seconds < 30
    with pytest.raises(SimplifyError, match="hang: timeout") as err:
        simplify_onnx(source, method="hang", timeout=1)
    assert "raise --timeout" in err.value.hint
    assert _leftovers(source.parent) == []


def test_read_only_output_folder(model_copy, tmp_path):
    source = model_copy("constant")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(SimplifyError, match="read-only"):
            simplify_onnx(source, out=locked / "out.onnx")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
    with pytest.raises(SimplifyError, match="does not exist"):
        simplify_onnx(source, out=tmp_path / "missing" / "out.onnx")


def test_read_only_output_file(model_copy):
    source = model_copy("constant")
    out = source.with_name("kept.onnx")
    out.write_bytes(b"the user's file")
    out.chmod(0o444)
    with pytest.raises(SimplifyError, match="the file is read-only"):
        simplify_onnx(source, out=out)
    assert out.read_bytes() == b"the user's file"


def _with_external_data(source: Path) -> Path:
    """Rewrite ``source`` with its weights in ``<name>.data``, as the dynamo exporter does."""
    import onnx

    onnx.save_model(
        onnx.load(source),
        source,
        save_as_external_data=True,
        location=source.name + ".data",
        size_threshold=0,
    )
    return source.with_name(source.name + ".data")


def test_external_data_follows_the_result(model_copy):
    """Issue 21: the result keeps its weights in ONE file named after it, the source's pair is
    untouched; in place, the model's own data file is replaced with it (both or neither)."""
    import onnx

    from trt_magic.runners.external_data import external_data_files

    source = model_copy("constant")
    data = _with_external_data(source)
    kept = {p.name: _digest(p) for p in source.parent.iterdir()}
    result = simplify_onnx(source)
    assert {n: _digest(source.parent / n) for n in kept} == kept  # the original pair untouched
    assert result.after.nodes == 2 and all(p.ok for p in result.parity)
    assert external_data_files(result.path) == ["constant.simplified.onnx.data"]
    assert result.path.with_name("constant.simplified.onnx.data").is_file()
    assert not any("inline" in w for w in result.warnings)
    assert not any("no longer used" in w for w in result.warnings)
    replaced = simplify_onnx(source, out=source)
    assert replaced.after.nodes == 2 and data.exists()
    assert external_data_files(source) == ["constant.onnx.data"]
    assert _digest(data) != kept["constant.onnx.data"]  # its own data, replaced with it
    model = onnx.load(str(source))  # weights found where the graph says
    assert model.graph.node and not list(source.parent.glob(".*"))  # no temporary file left


def test_external_data_past_the_limit_is_refused(model_copy, monkeypatch):
    source = model_copy("constant")
    _with_external_data(source)
    kept = {p.name: _digest(p) for p in source.parent.iterdir()}
    monkeypatch.setattr(simplify_checks, "PROTOBUF_LIMIT", source.stat().st_size + 64)
    for out in (None, source):
        with pytest.raises(SimplifyError, match="external data \\(constant.onnx.data\\) come to"):
            simplify_onnx(source, out=out)
    assert {p.name: _digest(p) for p in source.parent.iterdir()} == kept


def test_file_past_protobuf_limit_is_refused(model_copy, monkeypatch):
    source = model_copy("constant")
    monkeypatch.setattr(simplify_checks, "PROTOBUF_LIMIT", source.stat().st_size - 1)
    with pytest.raises(SimplifyError, match="past protobuf's 2 GiB limit"):
        simplify_onnx(source, out=source)
    assert not source.with_name("constant.simplified.onnx").exists()


def test_missing_source():
    with pytest.raises(SimplifyError, match="no ONNX file at"):
        simplify_onnx("/nonexistent/model.onnx")


# ---- magic and import cost -----------------------------------------------------------------


def test_magic(ipython_shell, model_copy):
    source = model_copy("constant")
    out = source.with_name("magic.onnx")
    result = ipython_shell.run_line_magic(
        "onnx_simplify", f"{source} -o {out} --method onnxslim --timeout 60"
    )
    assert isinstance(result, SimplifyResult) and result.path == out and out.exists()

    class Exported:  # anything with .path, like ExportResult
        path = source

    ipython_shell.user_ns["exported"] = Exported()
    again = ipython_shell.run_line_magic("onnx_simplify", "exported --no-check")
    assert again.source == source and again.parity == []


def test_import_is_light():
    code = (
        "import sys, trt_magic.simplify, trt_magic.magics.simplify\n"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'onnxslim', 'numpy', 'torch')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
