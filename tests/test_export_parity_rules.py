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
    # a range of the user's past the bound: the hint gives the exact range, and it works
    with pytest.raises(ExportError) as info:
        export(Positions(), tmp_path / "r.onnx", ["x:1x8"], ["x:0=batch,1=seq[2:30]"], opset=18)
    assert "the model accepts only seq[1:16]" in info.value.hint
    assert "('seq', 1, 16)" in info.value.hint
    r = export(Positions(), tmp_path / "r.onnx", ["x:1x8"], ["x:0=batch,1=seq[1:16]"], opset=18)
    assert r.ok and r.dim_ranges["seq"] == (1, 16)


def test_a_placeholder_output_dim_may_be_resolved_by_the_clean_up():
    """TorchScript names unknown output dims (ViT: ``LayerNormalization..._dim_1``); onnxslim
    resolves them to 17 and 32: the same interface. The user's dims must stay."""
    from trt_magic.rewrite.checks import interface_changes
    from trt_magic.rewrite.stats import TensorSpec

    inputs = [TensorSpec("pixel_values", "float32", ("batch", 3, 32, 32))]
    keep = {"batch"}
    before = [TensorSpec("h", "float32", ("batch", "LayerNormh_dim_1", "LayerNormh_dim_2"))]
    assert interface_changes(inputs, inputs, "input") == []
    after = [TensorSpec("h", "float32", ("batch", 17, 32))]
    assert interface_changes(before, after, "output", keep=keep) == []
    renamed = [TensorSpec("h", "float32", ("batch_x", 17, 32))]
    assert interface_changes(before, renamed, "output", keep=keep) == [
        "output 'h' dim 0 'batch' became 'batch_x'"
    ]
    assert interface_changes(before, after, "output") != []  # without keep: strict as before


def test_the_profile_editor_takes_the_export_s_ranges():
    from trt_magic.widgets.model_inputs import default_range

    r = default_range(("batch", "seq", 32), (1, 8, 32), {"seq": (2, 12)})
    assert (r.min, r.opt, r.max) == ((1, 2, 32), (1, 8, 32), (2, 12, 32))
    r = default_range(("batch", "seq", 32), (1, 30, 32), {"seq": (None, 16)})
    assert r.opt[1] == 16 and r.max[1] == 16


def test_preflight_reports_a_restriction_only_where_the_graph_breaks_it():
    import onnx
    from onnx import TensorProto, helper

    from trt_magic.export.preflight import preflight

    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [0])
    kept = helper.make_node("Unsqueeze", ["x", "axes"], ["y"])  # axes: an initializer
    shape = helper.make_node("Shape", ["x"], ["s"])
    dynamic = helper.make_node("Unsqueeze", ["y", "s"], ["z"])  # axes computed: breaks it
    graph = helper.make_graph(
        [kept], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [axes],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert preflight({"Unsqueeze": 1}, "8.6.1", 17, model) == []
    assert [f.level for f in preflight({"Unsqueeze": 1}, "8.6.1", 17)] == ["restricted"]
    model.graph.node.extend([shape, dynamic])
    found = preflight({"Unsqueeze": 2, "Shape": 1}, "8.6.1", 17, model)
    assert [(f.op, f.count, f.level) for f in found] == [("Unsqueeze", 1, "restricted")]
    assert "x1 breaking it" in found[0].message and onnx.checker is not None


class TakesDict(nn.Module):
    def forward(self, batch):
        return batch["ids"].float() * batch["mask"]


def test_a_dict_input_gets_the_wrapper_and_the_wrapper_works(tmp_path):
    model = TakesDict()
    sample = {"batch": {"ids": torch.ones(1, 4, dtype=torch.long), "mask": torch.ones(1, 4)}}
    with pytest.raises(UsageError) as info:
        export(model, tmp_path / "d.onnx", sample=sample)
    assert "export a wrapper" in info.value.hint

    class W(nn.Module):  # the wrapper the hint writes out
        def forward(self, ids, mask):
            return model({"ids": ids, "mask": mask})

    r = export(W(), tmp_path / "d.onnx", sample=sample["batch"])
    assert r.ok and [s.name for s in r.inputs] == ["ids", "mask"]


def test_a_keyword_only_input_binds_by_name(tmp_path):
    class KwOnly(nn.Module):
        def forward(self, x, *, scale):
            return x * scale

    r = export(
        KwOnly(), tmp_path / "k.onnx", sample={"scale": torch.ones(1, 4), "x": torch.ones(1, 4)}
    )
    assert r.ok and [s.name for s in r.inputs] == ["scale", "x"]


def test_the_torchscript_c_log_is_off_during_the_export_and_restored(tmp_path):
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(torch._C._jit_is_onnx_log_enabled())
            return x + 1

    torch._C._jit_set_onnx_log_enabled(True)
    try:
        r = export(Probe(), tmp_path / "p.onnx", ["x:1x4"], exporter="torchscript", check=False)
        assert torch._C._jit_is_onnx_log_enabled() and r.path.is_file()
    finally:
        torch._C._jit_set_onnx_log_enabled(False)
    assert seen and not any(seen)


def test_a_file_above_the_cap_is_refused_and_the_hint_works(tmp_path, monkeypatch):
    """The exporter wrote opset 18 where opset 17 was asked (torch's down-conversion kept an
    opset-18 operator): an error with the fix; following it (--opset 18) gives the file."""
    from trt_magic.export import checks

    real = checks.opset_of
    monkeypatch.setattr(checks, "opset_of", lambda model: max(real(model), 18))
    with pytest.raises(ExportError) as info:
        export(Extra(), tmp_path / "c.onnx", ["x:2x4"], exporter="dynamo")
    err = info.value
    assert "wrote an opset-18 file" in err.message and "reads ONNX up to opset 17" in err.message
    assert "--opset 18" in err.hint and not (tmp_path / "c.onnx").exists()
    r = export(Extra(), tmp_path / "c.onnx", ["x:2x4"], exporter="dynamo", opset=18)
    assert r.ok and r.path.is_file()
