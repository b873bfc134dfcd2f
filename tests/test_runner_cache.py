"""The engine cache and the timing-cache naming (pure file logic; the Docker tests run it for real)."""

from __future__ import annotations

import os
from pathlib import Path

from trt_magic.commandline.command import plan_paths
from trt_magic.results.run import Run
from trt_magic.runners.cache import EngineCache, gpu_label, learn_gpu, run_key, timing_cache_path


def _plan(tmp_path: Path, args: list[str]):
    return plan_paths(args, lambda p: tmp_path / p, root=None, temp_engines=False)


def _key(tmp_path, args, identity="sha256:img", gpus="all", host="unix:///var/run/docker.sock"):
    return run_key(_plan(tmp_path, args), args, identity, gpus, host)


def test_key_follows_bytes_flags_image_and_gpu_not_output_paths(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model-1")
    base = ["--onnx=m.onnx", "--saveEngine=a.plan"]
    k = _key(tmp_path, base)
    assert k == _key(tmp_path, ["--onnx=m.onnx", "--saveEngine=elsewhere/b.plan"])
    assert k == _key(tmp_path, [*base, "--timingCacheFile=t.cache"])  # speeds up, same engine
    assert k != _key(tmp_path, [*base, "--fp16"])
    assert k != _key(tmp_path, base, identity="sha256:other")
    assert k != _key(tmp_path, base, gpus="1")
    assert k != _key(tmp_path, base, host="tcp://gpu-box:2375")
    (tmp_path / "m.onnx").write_bytes(b"model-2")
    os.utime(tmp_path / "m.onnx", ns=(1, 1))  # new bytes, whatever the mtime
    assert k != _key(tmp_path, base)
    assert _key(tmp_path, ["--help"]) is None  # nothing to key on: not cached


def test_key_follows_flag_values(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    base = ["--onnx=m.onnx", "--saveEngine=a.plan"]
    variants = [
        ["--builderOptimizationLevel=3"],
        ["--builderOptimizationLevel=5"],
        ["--optShapes=x:1x4"],
        ["--optShapes=x:8x4"],
        ["--memPoolSize=workspace:1024"],
        ["--memPoolSize=workspace:2048"],
        ["--device=0"],
        ["--device=1"],
    ]
    keys = [_key(tmp_path, [*base, *extra]) for extra in variants]
    assert len(set(keys)) == len(variants)  # -O3 and -O5 never share an entry
    assert _key(tmp_path, [*base, "--builderOptimizationLevel=5"]) == keys[1]  # stable


def test_store_load_round_trip_and_partial_entries_miss(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    args = ["--onnx=m.onnx", "--saveEngine=e.plan"]
    plan = _plan(tmp_path, args)
    (tmp_path / "e.plan").write_bytes(b"engine")
    (tmp_path / "e.log").write_text("log\n")
    run = Run(
        command=args, exit_code=0, status="passed", backend="docker", started=1.0, duration_s=9.0
    )
    run.files = {"engine": tmp_path / "e.plan", "log": tmp_path / "e.log"}
    cache = EngineCache(tmp_path / "cache")
    cache.store("k1", run, plan)
    (tmp_path / "e.plan").unlink()
    hit = cache.load("k1", plan, tmp_path / "again.log")
    assert hit.cached and hit.status == "passed" and hit.backend == "docker"
    assert (tmp_path / "e.plan").read_bytes() == b"engine"
    assert hit.files["log"].read_text() == "log\n"
    assert any("cached: built" in n for n in hit.notes)
    # an entry still being written (no run.json yet) is a miss, never half an engine
    (cache.entry("k2")).mkdir(parents=True)
    (cache.entry("k2") / "0").write_bytes(b"half")
    assert cache.load("k2", plan, None) is None
    failed = Run(command=args, exit_code=1, status="failed")
    cache.store("k3", failed, plan)
    assert not cache.entry("k3").exists()
    assert not list(cache.root.glob(".tmp-*")) and not list(cache.root.glob(".trt_magic-part-*"))


def test_timing_cache_named_after_the_gpu_once_known(tmp_path):
    assert gpu_label(tmp_path, "unix://x", "all") == "unix://x-gpusall"
    learn_gpu(tmp_path, "unix://x", "all", "NVIDIA H100 PCIe")
    assert gpu_label(tmp_path, "unix://x", "all") == "NVIDIA H100 PCIe"
    assert gpu_label(tmp_path, "unix://x", "1") == "unix://x-gpus1"
    path = timing_cache_path(tmp_path, "sha256:img", "NVIDIA H100 PCIe")
    assert path.name.endswith("-NVIDIA_H100_PCIe.cache") and path.parent == tmp_path / "timing"
    assert path != timing_cache_path(tmp_path, "sha256:other", "NVIDIA H100 PCIe")
