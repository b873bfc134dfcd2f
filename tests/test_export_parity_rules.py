"""Parity that cannot be fooled: output count and structure at every size, frozen branches,
training-mode dropout, sensible samples for masks and ids, ranges for dynamic dims."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trt_magic.errors import ExportError, UsageError
from trt_magic.export import export_onnx
from trt_magic.export.spec import parse_dynamic


def export(model, path, *a, **kw):
    kw.setdefault("simplify", "none")
    return export_onnx(model, path, *a, **kw)


class PerRow(nn.Module):
    """A list whose length follows the batch: one output per row."""

    def forward(self, x):
        return [row * 2 for row in x]


class Frozen(nn.Module):
    """A data-dependent branch: the other branch differs by more than 0.5."""

    def forward(self, x):
        if x.mean() > 0:
            return x * 2
        return x - 1


class Extra(nn.Module):
    """Returns a tuple of three tensors (one is computed from the other two)."""

    def forward(self, x):
        return x + 1, x * 2, (x + 1) * (x * 2)


class Training(nn.Module):
    def forward(self, x):
        return nn.functional.dropout(x, 0.5, training=True)


class Embed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)

    def forward(self, input_ids, attention_mask):
        return self.emb(input_ids) * attention_mask.unsqueeze(-1)


def test_a_list_output_that_follows_the_batch_is_refused(tmp_path):
    with pytest.raises(ExportError) as info:
        export(PerRow(), tmp_path / "l.onnx", ["x:2x4"], ["x:0=batch"], exporter="torchscript")
    message = info.value.message
    assert "3 output tensor(s) at the second sample (batch=3) but 2 at the sample" in message
    assert not (tmp_path / "l.onnx").exists()


def test_a_frozen_data_dependent_branch_is_an_error_naming_the_line(tmp_path):
    with pytest.raises(ExportError) as info:
        export(Frozen(), tmp_path / "f.onnx", ["x:2x4"], exporter="torchscript")
    line = Frozen.forward.__code__.co_firstlineno + 1
    assert f"test_export_parity_rules.py:{line} `if x.mean() > 0:`" in info.value.message
    assert not (tmp_path / "f.onnx").exists()
    r = export(Frozen(), tmp_path / "f.onnx", ["x:2x4"], exporter="torchscript", allow_frozen=True)
    assert any("x.mean() > 0" in w for w in r.warnings)  # accepted, and still said


def test_auto_does_not_write_a_frozen_branch(tmp_path):
    """auto: TorchScript froze it, dynamo refuses the data-dependent branch: an error."""
    with pytest.raises(ExportError) as info:
        export(Frozen(), tmp_path / "f.onnx", ["x:2x4"])
    assert "x.mean() > 0" in str(info.value) and not (tmp_path / "f.onnx").exists()


def test_the_output_count_is_checked(tmp_path):
    from trt_magic.export import checks

    rows = None
    r = export(Extra(), tmp_path / "e.onnx", ["x:2x4"], ["x:0=batch"])
    assert len(r.outputs) == 3 and {p.output for p in r.parity} == {o.name for o in r.outputs}
    import numpy as np

    feeds = {"x": np.ones((2, 4), np.float32)}
    rows = checks.parity(r.path, {"s": (feeds, {"a": feeds["x"], "b": feeds["x"]})}, 1e-3, 1e-4)
    assert [(p.output, p.ok) for p in rows] == [("outputs", False)]
    assert "ONNX gives 3 outputs, PyTorch 2" in rows[0].note


def test_training_mode_dropout_is_caught(tmp_path):
    with pytest.raises(ExportError, match="Dropout in training mode"):
        export(Training(), tmp_path / "d.onnx", ["x:2x4"])


def test_masks_are_ones_and_ids_stay_inside_the_embedding(tmp_path):
    r = export(Embed(), tmp_path / "e.onnx", ["input_ids:1x6:int64", "attention_mask:1x6:int64"],
               ["input_ids:0=batch,1=seq", "attention_mask:0=batch,1=seq"])  # fmt: skip
    assert r.ok
    from trt_magic.export._torch import _make_tensor
    from trt_magic.export.spec import parse_input

    mask = _make_tensor(parse_input("attention_mask:2x64:int64"), 50)
    ids = _make_tensor(parse_input("input_ids:2x64:int64"), 50)
    assert bool((mask == 1).all()) and int(ids.max()) < 50 and int(ids.max()) > 1


def test_ranges_parse_in_every_spelling():
    ranges: dict = {}
    dyn = parse_dynamic(["ids:0=batch,1=seq[1:512]", "mask:0=batch,1=seq"], ranges)
    assert dyn == {"ids": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"}}
    assert ranges == {"seq": (1, 512)}
    ranges = {}
    parse_dynamic({"ids": {1: ("seq", 2, 64)}, "x": {0: torch.export.Dim("b", max=9)}}, ranges)
    assert ranges["seq"] == (2, 64) and ranges["b"].max == 9
    with pytest.raises(UsageError, match="empty"):
        parse_dynamic(["ids:1=seq[9:2]"])


class Positions(nn.Module):
    """A position table caps the sequence at 16 (BERT-like)."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Embedding(16, 4)

    def forward(self, x):
        return x.unsqueeze(-1) + self.pos.weight[: x.shape[1]]


@pytest.mark.slow
def test_a_bound_the_model_requires_is_applied_noted_and_kept(tmp_path):
    r = export(Positions(), tmp_path / "p.onnx", ["x:1x8"], ["x:0=batch,1=seq"], opset=18)
    assert r.ok and r.inputs[0].shape[:2] == ("batch", "seq")
    assert r.dim_ranges["seq"][1] == 16
    assert any("seq" in n and ":16]" in n for n in r.notes)
    # the user's own range inside the bound is kept as given
    r = export(Positions(), tmp_path / "q.onnx", ["x:1x8"], ["x:0=batch,1=seq[2:12]"], opset=18)
    assert r.dim_ranges["seq"] == (2, 12)
