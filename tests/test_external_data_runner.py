"""External data downstream of the export: trtexec in Docker (bind mount read-only and copy
mode), the engine cache, and one real model past 2 GB (``slow``).

The test image's fake trtexec (tests/docker_image.py) needs ``<model>.onnx.data`` readable beside
the model when the ONNX name contains ``withdata``, and refuses it writable for ``rodata``.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest
import torch
from conftest import tmp_settings

from trt_magic import export_onnx, trtexec

nn = torch.nn
pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    yield from tmp_settings(tmp_path, monkeypatch)


def small(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64, bias=False), nn.ReLU(), nn.Linear(64, 8, bias=False))


def test_data_file_is_mounted_read_only_and_keys_the_cache(tmp_path, trtexec_image):
    export_onnx(small(1), "m/a-withdata-rodata.onnx", ["x:2x64"], external_data=True)
    args = "--onnx=m/a-withdata-rodata.onnx --saveEngine=out/e.plan"
    first = trtexec(args, image=trtexec_image, gpus="none", display=False)
    assert first.status == "passed" and not first.cached, (first.notes, first.read_log()[-500:])
    assert trtexec(args, image=trtexec_image, gpus="none", display=False).cached
    # same graph, other weights: the .onnx bytes are equal, the engine must be built again
    export_onnx(small(2), "m/a-withdata-rodata.onnx", ["x:2x64"], external_data=True)
    again = trtexec(args, image=trtexec_image, gpus="none", display=False)
    assert again.status == "passed" and not again.cached


def test_data_file_goes_in_with_copy_transfer(tmp_path, trtexec_image):
    export_onnx(small(3), "m/b-withdata.onnx", ["x:2x64"], external_data=True)
    run = trtexec(
        "--onnx=m/b-withdata.onnx --saveEngine=out/e.plan",
        image=trtexec_image, gpus="none", transfer="copy", display=False,
    )  # fmt: skip
    assert run.status == "passed" and any("copied in and out" in n for n in run.notes)


def test_missing_data_file_fails_the_run(tmp_path, trtexec_image):
    export_onnx(small(4), "m/c-withdata.onnx", ["x:2x64"], external_data=True)
    (tmp_path / "m/c-withdata.onnx.data").unlink()
    run = trtexec(
        "--onnx=m/c-withdata.onnx --saveEngine=out/e.plan", image=trtexec_image, gpus="none",
        display=False,
    )  # fmt: skip
    assert run.status != "passed"
    assert any("external data 'c-withdata.onnx.data' is not a file" in n for n in run.notes)


class Big(nn.Module):
    """Eight 8192x8192 Linear layers: 2.15 GB of FP32 weights, past one protobuf's 2 GiB."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(8192, 8192) for _ in range(8))
        for layer in self.layers:  # small weights: the activations stay in range
            nn.init.normal_(layer.weight, std=8192**-0.5)

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x


@pytest.mark.slow
def test_real_model_past_2gb_exports_checks_mounts_and_hits_the_cache(tmp_path, trtexec_image):
    started = time.perf_counter()
    torch.manual_seed(0)
    model = Big()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    assert weights > 2**31
    r = export_onnx(model, "big/big-withdata-rodata.onnx", ["x:1x8192"])
    exported = time.perf_counter() - started
    assert r.ok and r.parity and r.external_data, r
    assert r.data_file == tmp_path / "big/big-withdata-rodata.onnx.data"
    assert r.data_size >= weights and r.path.stat().st_size < 1 << 20
    assert sorted(p.name for p in (tmp_path / "big").iterdir()) == [
        "big-withdata-rodata.onnx", "big-withdata-rodata.onnx.data"
    ]  # fmt: skip
    # simplified, xor a "not simplified: <why>" warning (export_onnx's contract)
    said_why = [w for w in r.warnings if w.startswith("not simplified: ")]
    assert (r.simplify is None) == (len(said_why) == 1), (r.simplify, r.warnings)
    args = "--onnx=big/big-withdata-rodata.onnx --saveEngine=out/big.plan"
    first = trtexec(args, image=trtexec_image, gpus="none", display=False)
    assert first.status == "passed" and not first.cached, (first.notes, first.read_log()[-500:])
    second = trtexec(args, image=trtexec_image, gpus="none", display=False)
    assert second.cached and second.status == "passed"
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"export {exported:.1f} s, all {took:.1f} s, peak RSS {peak / weights:.2f}x weights")
    assert np.isfinite(r.parity[0].max_abs)
