"""External data: one ``<model>.onnx.data`` per model, written with it, followed downstream.

Small models forced to external data (``external_data=True``) stand in for models past 2 GB;
``test_external_data_big.py`` has the real one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from trt_magic.errors import UsageError
from trt_magic.export import export_onnx, external
from trt_magic.runners.external_data import external_data_files

nn = torch.nn


class Mlp(nn.Module):
    """Two models with the same parameter names (``layers.0.weight`` ...), different weights."""

    def __init__(self, seed: int, width: int = 64):
        super().__init__()
        torch.manual_seed(seed)
        self.layers = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 8))

    def forward(self, x):
        return self.layers(x)


def run_ort(path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def export(model, path, **kw):
    kw.setdefault("simplify", "none")
    return export_onnx(model, path, ["x:2x64"], external_data=True, **kw)


def folder(path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_two_models_in_one_folder_keep_their_own_weights(tmp_path):
    a, b = Mlp(1), Mlp(2)
    ra = export(a, tmp_path / "a.onnx")
    rb = export(b, tmp_path / "b.onnx")
    assert folder(tmp_path) == ["a.onnx", "a.onnx.data", "b.onnx", "b.onnx.data"]
    x = torch.randn(2, 64)
    with torch.no_grad():
        want_a, want_b = a(x).numpy(), b(x).numpy()
    np.testing.assert_allclose(run_ort(tmp_path / "a.onnx", x), want_a, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run_ort(tmp_path / "b.onnx", x), want_b, rtol=1e-5, atol=1e-5)
    assert not np.allclose(want_a, want_b)
    for r, name in ((ra, "a.onnx"), (rb, "b.onnx")):
        assert r.ok and r.external_data and r.data_file == tmp_path / f"{name}.data"
        assert external_data_files(r.path) == [f"{name}.data"]
        assert r.data_size == r.data_file.stat().st_size >= (64 * 64 + 64 * 8) * 4
        assert r.size == r.path.stat().st_size + r.data_size
        assert f"{name}.data" in repr(r) and f"{name}.data" in r._repr_html_()


def test_reexport_replaces_only_its_own_data(tmp_path):
    export(Mlp(1), tmp_path / "a.onnx")
    export(Mlp(2), tmp_path / "b.onnx")
    b_data = (tmp_path / "b.onnx.data").read_bytes()
    c = Mlp(3)
    export(c, tmp_path / "a.onnx")
    assert folder(tmp_path) == ["a.onnx", "a.onnx.data", "b.onnx", "b.onnx.data"]
    assert (tmp_path / "b.onnx.data").read_bytes() == b_data
    x = torch.randn(2, 64)
    with torch.no_grad():
        np.testing.assert_allclose(run_ort(tmp_path / "a.onnx", x), c(x).numpy(), atol=1e-5)


def test_reexport_inline_removes_the_replaced_models_data(tmp_path):
    export(Mlp(1), tmp_path / "a.onnx")
    r = export_onnx(Mlp(4), tmp_path / "a.onnx", ["x:2x64"], simplify="none")
    assert folder(tmp_path) == ["a.onnx"] and not r.external_data and r.data_file is None


def test_export_never_touches_files_it_did_not_write(tmp_path):
    stranger = tmp_path / "layers.0.weight"  # what a per-tensor export would have written
    stranger.write_bytes(b"someone else's")
    export(Mlp(1), tmp_path / "a.onnx")
    assert stranger.read_bytes() == b"someone else's"
    assert folder(tmp_path) == ["a.onnx", "a.onnx.data", "layers.0.weight"]


def test_a_data_file_no_model_reads_is_not_replaced(tmp_path):
    orphan = tmp_path / "a.onnx.data"  # a leftover, or someone else's: not this export's
    orphan.write_bytes(b"x" * 10)
    with pytest.raises(UsageError, match="no a.onnx reads it") as info:
        export(Mlp(1), tmp_path / "a.onnx")
    assert "delete a.onnx.data" in info.value.hint
    assert folder(tmp_path) == ["a.onnx.data"] and orphan.read_bytes() == b"x" * 10
    r = export_onnx(Mlp(1), tmp_path / "a.onnx", ["x:2x64"], simplify="none")  # inline: fine
    assert not r.external_data and orphan.read_bytes() == b"x" * 10


def test_data_name_of_another_model_is_refused_before_the_export(tmp_path):
    export(Mlp(1), tmp_path / "a.onnx")
    # b.onnx renamed by hand: it still reads a.onnx.data, so exporting a.onnx would break it
    os.replace(tmp_path / "a.onnx", tmp_path / "b.onnx")
    before = (tmp_path / "a.onnx.data").read_bytes()
    with pytest.raises(UsageError, match="holds the weights of b.onnx") as info:
        export(Mlp(2), tmp_path / "a.onnx")
    assert "move_onnx" in info.value.hint
    assert (tmp_path / "a.onnx.data").read_bytes() == before
    assert folder(tmp_path) == ["a.onnx.data", "b.onnx"]


def test_failed_publish_keeps_the_earlier_model_and_data(tmp_path, monkeypatch):
    export(Mlp(1), tmp_path / "a.onnx")
    before = {n: (tmp_path / n).read_bytes() for n in folder(tmp_path)}
    real = os.replace

    def fail_on_onnx(src, dst):
        if str(dst).endswith("a.onnx"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(external.os, "replace", fail_on_onnx)
    with pytest.raises(OSError):
        export(Mlp(2), tmp_path / "a.onnx")
    assert {n: (tmp_path / n).read_bytes() for n in folder(tmp_path)} == before


def test_per_tensor_layout_of_other_tools_is_read(tmp_path):
    """A model saved one file per tensor (onnx's all_tensors_to_one_file=False) is followed."""
    src = tmp_path / "src"
    src.mkdir()
    export(Mlp(5), src / "m.onnx", simplify="none")
    model = onnx.load(str(src / "m.onnx"))
    other = tmp_path / "other"
    other.mkdir()
    onnx.save_model(
        model, str(other / "m.onnx"), save_as_external_data=True,
        all_tensors_to_one_file=False, size_threshold=0,
    )  # fmt: skip
    files = external_data_files(other / "m.onnx")
    assert len(files) >= 4 and all((other / f).is_file() for f in files)
    x = torch.randn(2, 64)
    np.testing.assert_allclose(run_ort(other / "m.onnx", x), run_ort(src / "m.onnx", x))


def test_consolidate_streams_per_tensor_files_into_one(tmp_path):
    export(Mlp(6), tmp_path / "ref.onnx", simplify="none")
    model = onnx.load(str(tmp_path / "ref.onnx"))
    work = tmp_path / "work"
    work.mkdir()
    onnx.save_model(
        model, str(work / "m.onnx"), save_as_external_data=True,
        all_tensors_to_one_file=False, size_threshold=0,
    )  # fmt: skip
    assert external.consolidate(work / "m.onnx", external=False)
    assert folder(work) == ["m.onnx", "m.onnx.data"]
    located = onnx.load(str(work / "m.onnx"), load_external_data=False)
    offsets = [
        int(e.value)
        for t in located.graph.initializer
        for e in t.external_data
        if e.key == "offset"
    ]
    assert offsets and all(o % external.ALIGN == 0 for o in offsets)
    x = torch.randn(2, 64)
    np.testing.assert_allclose(run_ort(work / "m.onnx", x), run_ort(tmp_path / "ref.onnx", x))


def test_external_data_false_is_kept_inline(tmp_path):
    r = export_onnx(Mlp(1), tmp_path / "a.onnx", ["x:2x64"], simplify="none", external_data=False)
    assert folder(tmp_path) == ["a.onnx"] and not r.external_data


def test_move_onnx_takes_its_data_and_renames_it(tmp_path):
    from trt_magic import move_onnx

    m = Mlp(7)
    export(m, tmp_path / "a.onnx")
    export(Mlp(8), tmp_path / "b.onnx")
    new = move_onnx(tmp_path / "a.onnx", tmp_path / "sub" / "c.onnx")
    assert new == tmp_path / "sub" / "c.onnx"
    assert folder(tmp_path / "sub") == ["c.onnx", "c.onnx.data"]
    assert folder(tmp_path) == ["b.onnx", "b.onnx.data", "sub"]
    assert external_data_files(new) == ["c.onnx.data"]
    x = torch.randn(2, 64)
    with torch.no_grad():
        np.testing.assert_allclose(run_ort(new, x), m(x).numpy(), rtol=1e-5, atol=1e-5)
    kept = move_onnx(new, f"{tmp_path}/archive/")  # a new folder, said with the slash
    assert kept == tmp_path / "archive" / "c.onnx"
    assert folder(tmp_path / "archive") == ["c.onnx", "c.onnx.data"]
    back = move_onnx(kept, tmp_path)  # a folder: same name there
    assert back == tmp_path / "c.onnx" and external_data_files(back) == ["c.onnx.data"]
    assert folder(tmp_path / "sub") == [] and folder(tmp_path / "archive") == []


def test_move_onnx_refuses_to_overwrite_unless_asked(tmp_path):
    from trt_magic import move_onnx
    from trt_magic.errors import UsageError

    a, b = Mlp(1), Mlp(2)
    export(a, tmp_path / "a.onnx")
    export(b, tmp_path / "b.onnx")
    with pytest.raises(UsageError, match=r"b\.onnx.*already exist") as info:
        move_onnx(tmp_path / "a.onnx", tmp_path / "b.onnx")
    assert "overwrite=True" in info.value.hint
    assert folder(tmp_path) == ["a.onnx", "a.onnx.data", "b.onnx", "b.onnx.data"]
    move_onnx(tmp_path / "a.onnx", tmp_path / "b.onnx", overwrite=True)
    assert folder(tmp_path) == ["b.onnx", "b.onnx.data"]
    x = torch.randn(2, 64)
    with torch.no_grad():
        np.testing.assert_allclose(run_ort(tmp_path / "b.onnx", x), a(x).numpy(), atol=1e-5)


def test_move_and_remove_per_tensor_layout(tmp_path):
    from trt_magic import move_onnx, remove_onnx

    export(Mlp(5), tmp_path / "ref.onnx", simplify="none")
    model = onnx.load(str(tmp_path / "ref.onnx"))
    src = tmp_path / "src"
    src.mkdir()
    onnx.save_model(
        model, str(src / "m.onnx"), save_as_external_data=True,
        all_tensors_to_one_file=False, size_threshold=0,
    )  # fmt: skip
    files = sorted(external_data_files(src / "m.onnx"))
    (src / "unrelated.txt").write_text("keep")
    new = move_onnx(src / "m.onnx", tmp_path / "dst" / "m2.onnx")
    assert folder(tmp_path / "dst") == sorted(["m2.onnx", *files])
    assert folder(src) == ["unrelated.txt"]
    x = torch.randn(2, 64)
    np.testing.assert_allclose(run_ort(new, x), run_ort(tmp_path / "ref.onnx", x))
    removed = remove_onnx(new)
    assert sorted(p.name for p in removed) == sorted(["m2.onnx", *files])
    assert folder(tmp_path / "dst") == []


def test_remove_onnx_keeps_data_another_model_reads(tmp_path):
    from trt_magic import remove_onnx

    export(Mlp(1), tmp_path / "a.onnx")
    export(Mlp(2), tmp_path / "b.onnx")
    (tmp_path / "twin.onnx").write_bytes((tmp_path / "a.onnx").read_bytes())  # reads a.onnx.data
    assert [p.name for p in remove_onnx(tmp_path / "a.onnx")] == ["a.onnx"]
    assert folder(tmp_path) == ["a.onnx.data", "b.onnx", "b.onnx.data", "twin.onnx"]
    assert [p.name for p in remove_onnx(tmp_path / "twin.onnx")] == ["twin.onnx", "a.onnx.data"]
    assert folder(tmp_path) == ["b.onnx", "b.onnx.data"]


def test_failed_first_publish_leaves_nothing(tmp_path, monkeypatch):
    real = os.replace

    def fail_on_onnx(src, dst):
        if str(dst).endswith("a.onnx"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(external.os, "replace", fail_on_onnx)
    with pytest.raises(OSError):
        export(Mlp(2), tmp_path / "a.onnx")
    assert folder(tmp_path) == []  # neither the data nor the temporary folder


def test_engine_cache_key_follows_the_weights_in_the_data_file(tmp_path):
    """Same architecture, other weights: the .onnx bytes are equal, the data differ."""
    from trt_magic.commandline.command import plan_paths
    from trt_magic.runners.cache import run_key

    for name, seed in (("a", 1), ("b", 2), ("c", 1)):
        sub = tmp_path / name
        sub.mkdir()
        torch.manual_seed(seed)
        export(nn.Linear(64, 64, bias=False), sub / "m.onnx")  # every weight in the data file
    assert (tmp_path / "a/m.onnx").read_bytes() == (tmp_path / "b/m.onnx").read_bytes()

    def key(folder):
        args = ["--onnx=m.onnx", "--saveEngine=e.plan"]
        plan = plan_paths(args, lambda p: tmp_path / folder / p, root=None, temp_engines=False)
        return run_key(plan, args, "sha256:img", "all", "unix:///var/run/docker.sock")

    assert key("a") != key("b")
    assert key("a") == key("c")  # same weights, same engine


def test_netron_serves_the_exported_data_file_and_not_the_neighbours(tmp_path):
    import urllib.error
    import urllib.request

    from trt_magic.netron import views

    export(Mlp(1), tmp_path / "a.onnx")
    export(Mlp(2), tmp_path / "b.onnx")
    view = views.netron_view(tmp_path / "a.onnx")
    try:
        token = views._views[str(view.path)].server.token
        base = f"http://127.0.0.1:{view.port}/{token}/data/"
        with urllib.request.urlopen(base + "a.onnx.data", timeout=10) as answer:
            assert answer.read() == (tmp_path / "a.onnx.data").read_bytes()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(base + "b.onnx.data", timeout=10)
        assert info.value.code == 404  # another model's weights: not named by a.onnx
    finally:
        views.netron_stop()


def test_fp16_cast_of_an_external_data_model_keeps_one_data_file(tmp_path):
    try:
        import modelopt  # noqa: F401 - the quantize extra, part of the test install
    except ImportError:
        from conftest import missing

        missing("nvidia-modelopt is not installed (pip install 'trt_magic[quantize]')")
    from trt_magic import cast_onnx

    m = Mlp(9)
    export(m, tmp_path / "a.onnx")
    before = (tmp_path / "a.onnx.data").read_bytes()
    result = cast_onnx(tmp_path / "a.onnx", "fp16", out=tmp_path / "a16.onnx")
    assert external_data_files(result.path) == ["a16.onnx.data"]
    assert (tmp_path / "a.onnx.data").read_bytes() == before  # the source pair untouched
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "a.onnx", "a.onnx.data", "a16.onnx", "a16.onnx.data"
    ]  # fmt: skip
    # half the bytes: the FP16 weights are in the new data file, not inline
    assert (tmp_path / "a16.onnx.data").stat().st_size < len(before) * 0.75
    assert result.path.stat().st_size < 4096
    x = torch.randn(2, 64)
    with torch.no_grad():
        np.testing.assert_allclose(run_ort(result.path, x), m(x).numpy(), rtol=1e-2, atol=1e-2)


def test_replacing_a_per_tensor_model_leaves_its_files_and_says_so(tmp_path):
    export(Mlp(5), tmp_path / "ref.onnx", simplify="none")
    model = onnx.load(str(tmp_path / "ref.onnx"))
    work = tmp_path / "work"
    work.mkdir()
    onnx.save_model(
        model, str(work / "a.onnx"), save_as_external_data=True,
        all_tensors_to_one_file=False, size_threshold=0,
    )  # fmt: skip
    theirs = {n: (work / n).read_bytes() for n in external_data_files(work / "a.onnx")}
    r = export(Mlp(6), work / "a.onnx")
    assert {n: (work / n).read_bytes() for n in theirs} == theirs
    assert external_data_files(r.path) == ["a.onnx.data"]
    assert any(f"read {len(theirs)} other external-data file(s)" in n for n in r.notes)


def test_consolidate_from_a_scratch_folder_into_the_export_folder(tmp_path):
    """The TorchScript exporter's per-tensor files in RAM (/dev/shm) end as ONE file on disk."""
    export(Mlp(6), tmp_path / "ref.onnx", simplify="none")
    model = onnx.load(str(tmp_path / "ref.onnx"))
    scratch = external.scratch_dir(1 << 20)
    assert scratch is not None and scratch.parent == Path("/dev/shm")
    into = tmp_path / "into"
    into.mkdir()
    try:
        onnx.save_model(
            model, str(scratch / "m.onnx"), save_as_external_data=True,
            all_tensors_to_one_file=False, size_threshold=0,
        )  # fmt: skip
        assert external.consolidate(scratch / "m.onnx", external=True, into=into)
        assert folder(into) == ["m.onnx", "m.onnx.data"]
        assert sorted(p.name for p in scratch.iterdir()) == []  # every source copied, removed
    finally:
        shutil.rmtree(scratch)
    x = torch.randn(2, 64)
    np.testing.assert_allclose(run_ort(into / "m.onnx", x), run_ort(tmp_path / "ref.onnx", x))
    assert external.scratch_dir(1 << 60) is None  # no room: the export folder is used


def test_scratch_of_a_dead_export_is_cleared(tmp_path):
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    dead = Path("/dev/shm") / f"trt_magic-export-{child.stdout.strip()}-x"
    dead.mkdir()
    (dead / "layers.0.weight").write_bytes(b"w" * 100)
    alive = external.scratch_dir(1 << 10)
    try:
        assert not dead.exists() and alive is not None and alive.is_dir()
        assert alive.name.startswith(f"trt_magic-export-{os.getpid()}-")
        external.scratch_dir(1 << 10)  # another export of this process keeps the live one
        assert alive.is_dir()
    finally:
        shutil.rmtree(dead, ignore_errors=True)
        for d in Path("/dev/shm").glob(f"trt_magic-export-{os.getpid()}-*"):
            shutil.rmtree(d)
