"""export_onnx on small CPU models: shapes, names, parity, the user's model untouched, atomic
writes, external data, submodules, pinning and timeouts."""

from __future__ import annotations

import copy
import html

import onnx
import pytest
import torch

from trt_magic.export import ExportResult, _torch, export_onnx, isolate  # noqa: E402

nn = torch.nn


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return self.head(self.drop(y.mean((2, 3))))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 4)
        self.b = nn.Linear(3, 4)

    def forward(self, left, right):
        return self.a(left) * self.b(right)


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        y = self.lin(x)
        return {"logits": y, "probs": torch.softmax(y, -1)}


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.out = nn.Linear(16, 3)

    def forward(self, ids, mask):
        h = self.emb(ids) * mask.unsqueeze(-1).to(torch.float32)
        return self.out(h).mean(1)


class Composite(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.backbone = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        return self.head(self.backbone(self.stem(x)).mean((2, 3)))


def export(model, path, *a, **kw):
    kw.setdefault("simplify", "none")
    return export_onnx(model, path, *a, **kw)


def test_conv_net_dynamic_batch(tmp_path):
    r = export(ConvNet(), tmp_path / "net.onnx", ["images:1x3x16x16"], ["images:0=batch"])
    assert isinstance(r, ExportResult) and r.path.is_file() and r.size == r.path.stat().st_size
    assert (r.exporter, r.opset, r.trt_version) == ("torchscript", 17, "8.6.1")
    assert str(r.inputs[0]) == "images: float32[batch, 3, 16, 16]"
    assert r.outputs[0].shape == ("batch", 5)
    assert r.op_histogram["Conv"] == 1 and "Dropout" not in r.op_histogram  # eval mode
    assert [p.sample for p in r.parity] == ["sample (batch=1)", "second sample (batch=2)"] and r.ok
    assert r.sample_shapes == {"images": (1, 3, 16, 16)}
    assert any("auto -> torchscript" in n for n in r.notes)
    assert r.export_time > 0 and "check" in r.timings
    text, page = repr(r), r._repr_html_()
    assert "images: float32[batch, 3, 16, 16]" in text and "parity ok" in page
    assert onnx.load(str(r.path)).graph.input[0].name == "images"


def test_two_inputs_share_a_dim(tmp_path):
    r = export(
        TwoInputs(), tmp_path / "two.onnx", ["left:2x6", "right:2x3"],
        ["left:0=batch", "right:0=batch"], output_names="score",
    )  # fmt: skip
    assert [str(s) for s in r.inputs] == ["left: float32[batch, 6]", "right: float32[batch, 3]"]
    assert r.outputs[0].name == "score"
    assert r.parity[-1].sample == "second sample (batch=3)" and r.ok


def test_dict_outputs_are_named_by_key(tmp_path):
    r = export(DictOut(), tmp_path / "d.onnx", sample=torch.randn(2, 4))
    assert [o.name for o in r.outputs] == ["logits", "probs"]
    assert r.inputs[0].name == "x"  # from forward's signature
    assert {p.output for p in r.parity} == {"logits", "probs"}


def test_int64_tokens_dynamic_batch_and_seq(tmp_path):
    ids = torch.randint(0, 50, (1, 7))
    mask = torch.ones(1, 7, dtype=torch.int64)
    r = export(
        Tokens(), tmp_path / "tok.onnx", sample={"ids": ids, "mask": mask},
        dynamic=["ids:0=batch,1=seq", "mask:0=batch,1=seq"],
    )  # fmt: skip
    assert [str(s) for s in r.inputs] == ["ids: int64[batch, seq]", "mask: int64[batch, seq]"]
    assert r.parity[-1].sample == "second sample (batch=2, seq=14)" and r.ok


def test_int64_from_input_spec(tmp_path):
    r = export(Tokens(), tmp_path / "t.onnx", ["ids:1x9:int64", "mask:1x9:int64"], ["ids:1=seq"])
    assert r.inputs[0].dtype == "int64" and r.inputs[0].shape == (1, "seq")


def test_submodule_inputs_are_captured(tmp_path):
    r = export(Composite(), tmp_path / "bb.onnx", ["x:1x3x16x16"], submodule="backbone")
    assert r.sample_shapes == {"input": (1, 4, 8, 8)}  # what stem hands the backbone
    assert set(r.op_histogram) == {"Conv", "Relu"} and r.ok
    assert any("forward hook" in n for n in r.notes)


def test_submodule_keeps_the_whole_models_input_shapes():
    # the outer names pair with the outer tensors one to one (-i names, or forward's names)
    by_spec = _torch.prepare(
        Composite(), [_torch.InputSpec("img", (1, 3, 16, 16))], None, "backbone"
    )
    assert by_spec.outer == {"img": (1, 3, 16, 16)} and by_spec.input_names == ["input"]
    sample = _torch.prepare(Composite(), [], torch.zeros(2, 3, 8, 8), "backbone")
    assert sample.outer == {"x": (2, 3, 8, 8)} and sample.tensors["input"].shape == (2, 4, 4, 4)


def test_user_model_is_unchanged(tmp_path):
    model = ConvNet().train()
    model.conv.weight.requires_grad_(False)
    before = copy.deepcopy(model.state_dict())
    export(model, tmp_path / "m.onnx", ["images:1x3x8x8"], ["images:0=batch"])
    assert model.training and model.drop.training
    assert not model.conv.weight.requires_grad and model.head.weight.requires_grad
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.bn.num_batches_tracked.item() == 0  # no forward pass in train mode happened
    assert model.conv.weight.device.type == "cpu"


def test_torchscript_explicit_and_opset(tmp_path):
    r = export(ConvNet(), tmp_path / "o.onnx", ["x:1x3x8x8"], exporter="torchscript", opset=13)
    assert (r.exporter, r.opset) == ("torchscript", 13) and r.ok


@pytest.mark.slow
def test_dynamo_exporter_keeps_dim_names(tmp_path):
    r = export(ConvNet(), tmp_path / "dy.onnx", ["images:1x3x8x8"], ["images:0=batch"], opset=18)
    assert (r.exporter, r.opset) == ("dynamo", 18)
    assert r.inputs[0].shape == ("batch", 3, 8, 8) and r.outputs[0].shape[0] == "batch"
    assert r.ok and len(r.parity) == 2
    assert any(f.level == "opset" for f in r.preflight)  # 18 > TensorRT 8.6's 17


def test_atomic_write_keeps_the_earlier_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "keep.onnx"
    target.write_bytes(b"earlier export")

    def interrupted(*a, **kw):
        path = a[1].path
        open(path, "wb").write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(_torch, "torch_export", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(ConvNet(), target, ["x:1x3x8x8"])
    assert target.read_bytes() == b"earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]  # no temp left


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "new.onnx"
    target.write_bytes(b"old")
    export(ConvNet(), target, ["x:1x3x8x8"])
    assert onnx.load(str(target)).graph.node and sorted(p.name for p in tmp_path.iterdir()) == [
        "new.onnx"
    ]


def test_external_data_decision():
    assert _torch.needs_external_data(3 * 2**30)
    assert not _torch.needs_external_data(500 * 2**20)
    assert _torch.weight_bytes(nn.Linear(10, 10)) == (100 + 10) * 4


def test_external_data_is_written_past_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(_torch, "EXTERNAL_DATA_THRESHOLD", 1024)  # as if the weights passed 2 GB
    r = export(nn.Linear(64, 64), tmp_path / "big.onnx", ["x:1x64"])  # 16 KB of weights
    assert r.external_data and (tmp_path / "big.onnx.data").is_file()
    assert r.size > r.path.stat().st_size and "external data" in repr(r)
    assert r.ok  # onnxruntime found the weights beside it


def test_numa_pinning_is_used_and_said(tmp_path, monkeypatch):
    cpu = sorted(__import__("os").sched_getaffinity(0))[0]
    for node, cpus in {0: str(cpu), 1: "300-301"}.items():
        d = tmp_path / "sys/devices/system/node" / f"node{node}"
        d.mkdir(parents=True)
        (d / "cpulist").write_text(cpus)
    monkeypatch.setattr(isolate, "SYSFS_ROOT", str(tmp_path / "sys"))
    calls = []
    real = isolate.run_isolated
    monkeypatch.setattr(
        isolate, "run_isolated", lambda fn, **kw: calls.append(kw["cpus"]) or real(fn, **kw)
    )
    r = export(ConvNet(), tmp_path / "p.onnx", ["x:1x3x8x8"], ["x:0=batch"])
    assert calls == [[cpu]] and r.ok
    assert f"pinned the export to NUMA node 0 (CPUs {cpu}) of 2 nodes" in r.notes


def test_export_with_timeout_runs_in_a_child(tmp_path):
    r = export(ConvNet(), tmp_path / "t.onnx", ["x:1x3x8x8"], ["x:0=batch"], timeout=120)
    assert r.ok and r.inputs[0].shape[0] == "batch"


class Drift(nn.Module):
    """Each call adds 0.5 more: the traced graph and the reference run differ by exactly 0.5."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x + 0.5 * self.calls


def test_parity_honours_the_users_rtol_and_atol(tmp_path):
    from trt_magic.errors import ExportError

    sample = torch.full((2, 3), 100.0)  # |reference| ~ 100: the 0.5 gap is ~0.5 % of it
    ok = {"rtol": 0.0, "atol": 0.6}, {"rtol": 0.01, "atol": 0.0}
    bad = {"rtol": 0.0, "atol": 0.4}, {"rtol": 0.001, "atol": 0.0}, {}  # {}: the defaults
    for i, tol in enumerate(ok):
        r = export(Drift(), tmp_path / f"ok{i}.onnx", sample=sample, **tol)
        assert [(p.ok, p.max_abs) for p in r.parity] == [(True, 0.5)], tol
    for i, tol in enumerate(bad):
        with pytest.raises(ExportError, match="does not compute what PyTorch does") as info:
            export(Drift(), tmp_path / f"bad{i}.onnx", sample=sample, **tol)
        assert "max abs 0.5" in info.value.message and "FAIL" in info.value.message, tol
        assert not (tmp_path / f"bad{i}.onnx").exists()


def test_simplify_runs_or_says_why(tmp_path):
    r = export_onnx(ConvNet(), tmp_path / "s.onnx", ["x:1x3x8x8"], ["x:0=batch"])
    # the test extra installs onnxslim: "auto" runs it (a missing one is tested in test_simplify)
    assert r.simplify is not None and r.simplify.method == "onnxslim"
    assert [str(a) for a in r.simplify.attempts] == ["onnxslim: ok"]
    assert not any("not simplified" in w for w in r.warnings)
    assert r.path.is_file() and r.inputs[0].shape[0] == "batch"
    # the export's table and text say it in one line, not with the SimplifyResult repr
    assert "SimplifyResult(" not in repr(r) + r._repr_html_()
    assert "onnxslim: " in r.simplify.summary()
    assert html.escape(r.simplify.summary()) in r._repr_html_()


def test_simplify_failure_keeps_the_export(tmp_path, monkeypatch):
    import trt_magic.simplify as simplify_mod
    from trt_magic.errors import MissingDependency, SimplifyError

    target = tmp_path / "k.onnx"

    def broken(*a, **kw):
        raise SimplifyError("onnxslim changed the input name", hint="kept the original")

    monkeypatch.setattr(simplify_mod, "simplify_onnx", broken)
    r = export_onnx(ConvNet(), target, ["x:1x3x8x8"], simplify="onnxslim")
    assert r.simplify is None and target.is_file() and r.ok
    assert "not simplified: onnxslim changed the input name (kept the original)" in r.warnings

    def missing(*a, **kw):
        raise MissingDependency("onnxsim", "simplify", "onnxsim clean-up")

    monkeypatch.setattr(simplify_mod, "simplify_onnx", missing)
    r = export_onnx(ConvNet(), target, ["x:1x3x8x8"], simplify="onnxsim")
    assert any("pip install 'trt_magic[simplify]'" in w for w in r.warnings)
    assert onnx.load(str(target)).graph.node  # the export stands


def test_preflight_runs_on_the_simplified_graph(tmp_path, monkeypatch):
    import trt_magic.simplify as simplify_mod

    seen = {}

    def fake(path, out=None, method="auto", **kw):
        seen.update(path=path, out=out, method=method, samples=kw.get("samples"))
        m = onnx.load(str(path))
        m.graph.node[0].op_type = "Bernoulli"  # a stand-in change the pre-flight must see
        onnx.save_model(m, str(out))
        return "SimplifyResult(fake)"

    monkeypatch.setattr(simplify_mod, "simplify_onnx", fake)
    r = export_onnx(ConvNet(), tmp_path / "s.onnx", ["x:1x3x8x8"], ["x:0=batch"])
    assert seen["out"] == seen["path"] == r.path and seen["method"] == "auto"
    assert [sorted(s) for s in seen["samples"]] == [["x"], ["x"]]  # the sample and the second size
    assert r.simplify == "SimplifyResult(fake)" and "Bernoulli" in r.op_histogram
    assert any(f.op == "Bernoulli" and f.level == "unsupported" for f in r.preflight)


def test_html_view_is_compact(tmp_path):
    r = export(ConvNet(), tmp_path / "h.onnx", ["x:1x3x8x8"], ["x:0=batch"])
    page = r._repr_html_()
    assert page.count("<tr>") <= 12 and len(page) < 4000
    assert "x: float32[batch, 3, 8, 8]" in page and "TensorRT 8.6.1" in page


def test_submodule_dynamic_axes_carry_over_from_the_whole_model(tmp_path):
    r = export(
        Composite(), tmp_path / "bb.onnx", ["x:2x3x16x16"], ["x:0=batch"], submodule="backbone"
    )
    assert r.inputs[0].name == "input" and r.inputs[0].shape == ("batch", 4, 8, 8)
    assert any("carried over to the submodule's input(s) input" in n for n in r.notes)
    assert r.parity[-1].sample == "second sample (batch=3)" and r.ok
