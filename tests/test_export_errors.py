"""Every failure of the export catalogue ends in a short diagnosis with a fix to try."""

from __future__ import annotations

import time

import pytest
import torch

from trt_magic.errors import ExportError, TrtMagicError, UsageError  # noqa: E402
from trt_magic.export import export_onnx  # noqa: E402

nn = torch.nn


def export(model, path, *a, **kw):
    kw.setdefault("simplify", "none")
    return export_onnx(model, path, *a, **kw)


class Fold(nn.Module):
    def forward(self, x):
        return nn.functional.fold(x, (4, 4), (2, 2))  # aten::col2im: ONNX Col2Im is opset 18


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x - 1


class FixedBatch(nn.Module):
    def forward(self, x):
        return x + torch.ones(2, 8)  # forces the batch to 2


class BakedBatch(nn.Module):
    def forward(self, x):
        n = int(x.shape[0])  # a Python int: the TorchScript trace bakes it in
        return x.sum(0) / n


class Noisy(nn.Module):
    def forward(self, x):
        return x + torch.rand_like(x)


class Pair(nn.Module):
    def forward(self, image, mask):
        return image * mask


class Embed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)

    def forward(self, ids):
        return self.emb(ids)


class Slow(nn.Module):
    def forward(self, x):
        if torch.jit.is_tracing():  # only inside the exporter, not in the reference run
            time.sleep(60)
        return x + 1


def test_operator_beyond_the_tensorrt_opset(tmp_path):
    with pytest.raises(ExportError) as info:
        export(Fold(), tmp_path / "f.onnx", ["x:1x12x9"])
    err = info.value
    assert err.message == "aten::col2im needs ONNX opset 18; this export targets opset 17"
    assert "TensorRT 8.6.1 reads ONNX up to opset 17" in err.hint and "--opset 18" in err.hint
    assert "Exporting the operator 'aten::col2im'" in err.detail
    assert err.__cause__ is not None  # the full traceback: %tb


def test_operator_needing_a_higher_opset_within_the_cap(tmp_path):
    class Grid(nn.Module):
        def forward(self, x, g):
            return nn.functional.grid_sample(x, g, align_corners=False)

    with pytest.raises(ExportError, match="aten::grid_sampler needs ONNX opset 16") as info:
        export(Grid(), tmp_path / "g.onnx", ["x:1x3x8x8", "g:1x4x4x2"], opset=13)
    assert "export with --opset 16" in info.value.hint


@pytest.mark.slow
def test_data_dependent_control_flow_dynamo(tmp_path):
    with pytest.raises(ExportError) as info:
        export(Branchy(), tmp_path / "b.onnx", ["x:2x8"], exporter="dynamo", opset=18)
    err = info.value
    assert "data-dependent control flow" in err.message
    assert "test_export_errors.py" in err.message and "x.sum() > 0" in err.message
    assert "torch.where" in err.hint


def test_a_frozen_branch_is_an_error_naming_the_line(tmp_path):
    with pytest.raises(ExportError) as info:
        export(Branchy(), tmp_path / "b.onnx", ["x:2x8"], exporter="torchscript")
    err = info.value
    assert "turned a tensor into a Python value at test_export_errors.py:" in err.message
    assert "--allow-frozen" in err.hint and not (tmp_path / "b.onnx").exists()
    r = export(Branchy(), tmp_path / "b.onnx", ["x:2x8"], exporter="torchscript", allow_frozen=True)
    assert any("keeps the branch" in w for w in r.warnings)


@pytest.mark.slow
def test_dynamic_shape_constraint_names_dim_and_guard(tmp_path):
    with pytest.raises(ExportError) as info:
        export(FixedBatch(), tmp_path / "c.onnx", ["x:2x8"], ["x:0=batch"], opset=18)
    err = info.value
    assert "dynamic dim 'batch' cannot stay dynamic" in err.message
    assert "specialized it to be a constant (2)" in err.message
    assert "drop batch from -d" in err.hint


def test_parity_catches_a_baked_dynamic_axis(tmp_path):
    target = tmp_path / "baked.onnx"
    with pytest.raises(ExportError) as info:
        export(BakedBatch(), target, ["x:1x8"], ["x:0=batch"], exporter="torchscript",
               allow_frozen=True)  # fmt: skip
    err = info.value
    assert "does not compute what PyTorch does" in err.message
    assert "second sample (batch=2)" in err.message and "a dynamic axis is baked in" in err.hint
    assert not target.exists()
    # the same model is fine when the axis is not declared dynamic
    assert export(BakedBatch(), target, ["x:1x8"]).ok


def test_wrong_number_of_inputs(tmp_path):
    with pytest.raises(UsageError) as info:
        export(Pair(), tmp_path / "p.onnx", ["image:1x3x4x4"])
    assert "Pair.forward(image, mask) does not take the 1 input(s)" in info.value.message
    assert "one -i per forward argument" in info.value.hint
    with pytest.raises(UsageError, match="does not take the 3 input"):
        export(Pair(), tmp_path / "p.onnx", ["a:1", "b:1", "c:1"])
    with pytest.raises(UsageError, match="missing a required argument: .mask."):
        export(Pair(), tmp_path / "p.onnx", sample={"image": torch.ones(1), "other": torch.ones(1)})


def test_wrong_kind_of_input(tmp_path):
    with pytest.raises(ExportError) as info:
        export(Embed(), tmp_path / "e.onnx", ["ids:1x5"])  # float32 ids
    assert "the model fails on the sample inputs [float32[1, 5]]" in info.value.message
    assert "-i tokens:1x128:int64" in info.value.hint


def test_random_ops_in_the_graph(tmp_path):
    with pytest.raises(ExportError) as info:
        export(Noisy(), tmp_path / "n.onnx", ["x:2x3"])
    assert "the graph draws random numbers (RandomUniformLike x1)" in info.value.message
    assert "pass the noise in as an input" in info.value.hint
    r = export(Noisy(), tmp_path / "n.onnx", ["x:2x3"], check=False)
    assert any("random numbers" in w for w in r.warnings)


@pytest.mark.parametrize(
    "obj, words",
    [
        (lambda x: x, "wrap it"),
        (Pair, "instantiate it: model = Pair(...)"),
        (None, "end the cell with the model"),
        ("resnet18", "--model VAR"),
    ],
)
def test_not_an_nn_module(tmp_path, obj, words):
    with pytest.raises(UsageError, match="not a torch.nn.Module") as info:
        export(obj, tmp_path / "x.onnx", ["x:1"])
    assert words in info.value.hint


def test_unwritable_output_path(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(ExportError, match="cannot write") as info:
        export(Pair(), afile / "m.onnx", ["a:1", "b:1"])
    assert "choose a folder you can write to" in info.value.hint
    with pytest.raises(ExportError, match="it is a folder"):
        export(Pair(), tmp_path, ["a:1", "b:1"])
    ro = tmp_path / "ro.onnx"
    ro.write_bytes(b"keep")
    ro.chmod(0o444)
    with pytest.raises(ExportError, match="read-only"):
        export(Pair(), ro, ["a:1", "b:1"])
    assert ro.read_bytes() == b"keep"


def test_timeout_stops_the_export(tmp_path):
    target = tmp_path / "slow.onnx"
    target.write_bytes(b"earlier")
    started = time.monotonic()
    with pytest.raises(ExportError) as info:
        export(Slow(), target, ["x:1x4"], timeout=2)
    assert time.monotonic() - started < 20
    assert (
        "ran past --timeout 2 s" in info.value.message
        and "nothing was written" in info.value.message
    )
    assert target.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.onnx"]


def test_unknown_dynamic_name_suggests(tmp_path):
    with pytest.raises(UsageError, match="no input or output is called 'imgs'") as info:
        export(Pair(), tmp_path / "p.onnx", ["image:1x2", "mask:1x2"], ["imgs:0=batch"])
    assert "did you mean image" in info.value.hint


def test_unknown_submodule_suggests(tmp_path):
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(2, 2)

        def forward(self, x):
            return self.backbone(x)

    with pytest.raises(UsageError, match="no submodule 'bakbone'") as info:
        export(Outer(), tmp_path / "o.onnx", ["x:1x2"], submodule="bakbone")
    assert "did you mean backbone" in info.value.hint


def test_errors_render_short(tmp_path):
    with pytest.raises(TrtMagicError) as info:
        export(Fold(), tmp_path / "f.onnx", ["x:1x12x9"])
    lines = info.value._render_traceback_()
    assert len(lines) < 25 and any("hint" in ln for ln in lines)
    assert any("%tb" in ln for ln in lines)


class MeanAll(nn.Module):
    def forward(self, x):
        return x.mean()


@pytest.mark.slow
def test_dynamo_below_opset_18_that_onnxruntime_refuses_is_diagnosed(tmp_path):
    """dynamo at opset 17 leaves ReduceMean's opset-18 attribute: a diagnosis, no file."""
    out = tmp_path / "mean.onnx"
    out.write_bytes(b"earlier")
    with pytest.raises(ExportError) as info:
        export(MeanAll(), out, ["x:2x3"], exporter="dynamo", opset=17)
    assert "onnxruntime cannot load the exported graph" in info.value.message
    assert "--exporter torchscript" in info.value.hint
    assert out.read_bytes() == b"earlier"  # the earlier file is untouched
