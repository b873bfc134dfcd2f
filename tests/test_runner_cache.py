"""The engine cache and the timing-cache naming (pure file logic; the Docker tests run it for real)."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from trt_magic.commandline.command import plan_paths
from trt_magic.results.run import Run
from trt_magic.runners.cache import (
    EngineCache,
    copy_hashed,
    gpu_label,
    learn_gpu,
    run_key,
    timing_cache_path,
)


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
    (cache.entry("k2") / "1").write_bytes(b"half")
    assert cache.load("k2", plan, None) is None
    failed = Run(command=args, exit_code=1, status="failed")
    cache.store("k3", failed, plan)
    assert not cache.entry("k3").exists()
    assert not list(cache.root.glob(".tmp-*")) and not list(cache.root.glob(".trt_magic-part-*"))


def test_key_keeps_flags_after_the_timing_cache_and_other_cache_files(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    base = ["--onnx=m.onnx", "--timingCacheFile=t.cache"]
    k = _key(tmp_path, base)
    assert k != _key(tmp_path, [*base, "--fp16"])  # a flag after the timing cache still counts
    assert k != _key(tmp_path, [*base, "--calib=c.cache"])  # an INT8 calibration cache does
    assert k != _key(tmp_path, [*base, "--tuningCacheFile=u.cache"])


def test_key_tells_files_of_one_size_and_time_apart(tmp_path):
    for name, data in (("a.onnx", b"model-a"), ("b.onnx", b"model-b")):
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, ns=(5, 5))  # same size, same mtime: only the path differs
    assert _key(tmp_path, ["--onnx=a.onnx"]) != _key(tmp_path, ["--onnx=b.onnx"])


def test_cached_run_keeps_what_the_build_recorded(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    args = ["--onnx=m.onnx", "--saveEngine=e.plan"]
    plan = _plan(tmp_path, args)
    (tmp_path / "e.plan").write_bytes(b"engine")
    (tmp_path / "e.log").write_text("log\n")
    started = 1_700_000_000.0
    run = Run(command=args, exit_code=0, status="passed", backend="docker", image="img:1",
              image_id="sha256:abc", gpus="1", host="tcp://gpu:2375",
              docker_command=["docker", "run", "img:1"], started=started, duration_s=9.25,
              notes=["cached: from an older entry", "timing cache: t.cache"])  # fmt: skip
    run.files = {"engine": tmp_path / "e.plan", "log": tmp_path / "e.log"}
    cache = EngineCache(tmp_path / "cache")
    cache.store("k", run, plan)
    assert cache.entry("k") == tmp_path / "cache" / "runs" / "k"
    hit = cache.load("k", plan, None)
    kept = (
        "command",
        "exit_code",
        "backend",
        "image",
        "image_id",
        "gpus",
        "host",
        "docker_command",
    )
    assert {f: getattr(hit, f) for f in kept} == {f: getattr(run, f) for f in kept}
    assert (hit.status, hit.cached) == ("passed", True)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
    assert hit.notes == [f"cached: built {when} in 9.2 s; --no-cache rebuilds", "timing cache: t.cache"]  # fmt: skip
    assert hit.files == {"onnx": tmp_path / "m.onnx", "engine": tmp_path / "e.plan"}  # no log asked
    hit = cache.load("k", plan, tmp_path / "again.log")
    assert hit.files["log"] == tmp_path / "again.log"
    assert (tmp_path / "again.log").read_text() == "log\n"


def test_cached_run_of_an_old_entry_has_defaults(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    args = ["--onnx=m.onnx"]
    cache = EngineCache(tmp_path / "cache")
    cache.store("k", Run(command=args, exit_code=0, status="passed"), _plan(tmp_path, args))
    meta_path = cache.entry("k") / "run.json"
    meta = json.loads(meta_path.read_text())
    assert sorted(meta) == sorted(["command", "exit_code", "image", "image_id", "gpus", "host",
                                   "docker_command", "started", "duration_s", "backend", "notes",
                                   "files"])  # fmt: skip
    for key in ("backend", "notes", "started", "duration_s", "image"):
        del meta[key]  # an entry written before these were kept
    meta_path.write_text(json.dumps(meta))
    hit = cache.load("k", _plan(tmp_path, args), None)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(0))
    assert (hit.backend, hit.image, hit.notes) == (
        "files",
        None,
        [f"cached: built {when} in 0.0 s; --no-cache rebuilds"],
    )


def test_timing_cache_named_after_the_gpu_once_known(tmp_path):
    assert gpu_label(tmp_path, "unix://x", "all") == "unix://x-gpusall"
    learn_gpu(tmp_path, "unix://x", "all", "NVIDIA H100 PCIe")
    table = json.loads((tmp_path / "timing" / "gpus.json").read_text(encoding="utf-8"))
    assert table == {"unix://x|all": "NVIDIA H100 PCIe"}
    assert gpu_label(tmp_path, "unix://x", "all") == "NVIDIA H100 PCIe"
    assert gpu_label(tmp_path, "unix://x", "1") == "unix://x-gpus1"
    path = timing_cache_path(tmp_path, "sha256:img", "NVIDIA H100 PCIe")
    assert path.name.endswith("-NVIDIA_H100_PCIe.cache") and path.parent == tmp_path / "timing"
    assert path != timing_cache_path(tmp_path, "sha256:other", "NVIDIA H100 PCIe")


def _stored(tmp_path, key="k1", engine=b"engine" * 100, max_bytes=None):
    (tmp_path / "m.onnx").write_bytes(b"model")
    args = ["--onnx=m.onnx", "--saveEngine=e.plan"]
    plan = _plan(tmp_path, args)
    (tmp_path / "e.plan").write_bytes(engine)
    run = Run(command=args, exit_code=0, status="passed", backend="docker", started=1.0)
    run.files = {"engine": tmp_path / "e.plan"}
    cache = EngineCache(tmp_path / "cache", max_bytes=max_bytes)
    cache.store(key, run, plan)
    return cache, plan


def _damage_truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _damage_same_size_same_mtime(path):
    st = path.stat()
    path.write_bytes(b"X" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the bytes tell


def _damage_missing(path):
    path.unlink()


def _damage_meta(path):
    (path.parent / "run.json").write_text("{not json")


def _damage_symlink(path):
    # the stored file replaced by a symlink to the same bytes, the link itself as long as the
    # file (a symlink's size is its target's length): only "not a regular file" tells
    data = path.read_bytes()
    target = "/".join(["d" * 199, "d" * 199, "e" * (len(data) - 400)])
    (path.parent / target).parent.mkdir(parents=True)
    (path.parent / target).write_bytes(data)
    path.unlink()
    path.symlink_to(target)
    assert path.lstat().st_size == len(data) and path.read_bytes() == data


@pytest.mark.parametrize(
    "damage",
    [
        _damage_truncate,
        _damage_same_size_same_mtime,
        _damage_missing,
        _damage_meta,
        _damage_symlink,
    ],
)
def test_a_damaged_entry_is_dropped_with_a_note(tmp_path, damage):
    cache, plan = _stored(tmp_path)
    damage(cache.entry("k1") / "1")
    notes = []
    assert cache.load("k1", plan, None, notes.append) is None
    assert not cache.entry("k1").exists()
    bad = "run.json" if damage is _damage_meta else "1"
    assert notes == [f"the engine cache entry k1 is damaged ({bad}): dropped, rebuilding"]


def test_a_rewrite_with_a_new_mtime_is_checked_by_its_full_hash(tmp_path):
    cache, plan = _stored(tmp_path, engine=os.urandom(3 << 20))
    stored = cache.entry("k1") / "1"
    data = bytearray(stored.read_bytes())
    data[(1 << 20) + 12345] ^= 1  # one bit, between the sampled blocks
    stored.write_bytes(bytes(data))
    assert cache.load("k1", plan, None) is None
    cache, plan = _stored(tmp_path, key="k2", engine=os.urandom(3 << 20))
    os.utime(cache.entry("k2") / "1")  # touched, same bytes: still a hit
    assert cache.load("k2", plan, None) is not None


def test_least_recently_used_entries_go_first(tmp_path):
    cache, plan = _stored(tmp_path, key="a", max_bytes=2500)
    for key in ("b", "c"):
        time.sleep(0.02)
        _stored(tmp_path, key=key, max_bytes=2500)
    assert not cache.entry("a").exists() and cache.entry("c").exists()  # 3 x ~900 B > 2500
    time.sleep(0.02)
    assert cache.load("b", plan, None) is not None  # b used now: c is the oldest
    time.sleep(0.02)
    _stored(tmp_path, key="d", max_bytes=2500)
    assert sorted(p.name for p in cache.root.iterdir() if not p.name.startswith(".")) == ["b", "d"]


def test_old_logs_and_unused_locks_are_pruned(tmp_path, monkeypatch):
    import fcntl

    from trt_magic.runners import cache_prune

    monkeypatch.setattr(cache_prune, "KEEP_LOGS", 3)
    logs = tmp_path / "cache" / "logs"
    logs.mkdir(parents=True)
    for i in range(6):
        (logs / f"run{i}.log").write_text("x")
        os.utime(logs / f"run{i}.log", (1000 + i, 1000 + i))
    cache, _ = _stored(tmp_path)
    locks = cache.root / ".locks"
    locks.mkdir(exist_ok=True)
    for name in ("gone", "held", "k1"):
        (locks / f"{name}.lock").write_text("")
        os.utime(locks / f"{name}.lock", (0, 0))
    with open(locks / "held.lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        cache.prune()
    assert sorted(p.name for p in logs.iterdir()) == ["run3.log", "run4.log", "run5.log"]
    assert sorted(p.name for p in locks.iterdir()) == ["held.lock", "k1.lock"]


def test_the_lock_survives_its_file_being_pruned(tmp_path):
    cache = EngineCache(tmp_path / "cache")
    with cache.lock("k"):
        (cache.root / ".locks" / "k.lock").unlink()  # pruned meanwhile
    with cache.lock("k"):
        assert (cache.root / ".locks" / "k.lock").exists()


def test_a_served_engine_changed_in_place_is_caught_on_the_next_hit(tmp_path):
    cache, plan = _stored(tmp_path)
    (tmp_path / "e.plan").unlink()
    assert cache.load("k1", plan, None) is not None
    with open(tmp_path / "e.plan", "r+b") as fh:  # served as a link: this writes the entry too
        fh.write(b"X")
    assert cache.load("k1", plan, None) is None  # the mtime moved, the full hash differs


def test_key_follows_the_onnx_external_weights(tmp_path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [256])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [256])
    w = helper.make_tensor(
        "w", TensorProto.FLOAT, [256], np.ones(256, np.float32).tobytes(), raw=True
    )
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [w])
    onnx.save_model(helper.make_model(graph), str(tmp_path / "m.onnx"), save_as_external_data=True,
                    location="m.onnx.data", size_threshold=0)  # fmt: skip
    args = ["--onnx=m.onnx", "--saveEngine=e.plan"]
    k = _key(tmp_path, args)
    data = tmp_path / "m.onnx.data"
    data.write_bytes(b"\x00" * data.stat().st_size)  # new weights, same graph file
    assert _key(tmp_path, args) != k
    (tmp_path / "calib.cache").write_bytes(b"c")
    (tmp_path / "calib.cache.data").write_bytes(b"not an onnx weight file")
    with_calib = [*args, "--calib=calib.cache"]
    k2 = _key(tmp_path, with_calib)
    (tmp_path / "calib.cache.data").write_bytes(b"other")  # only --onnx has external data
    assert _key(tmp_path, with_calib) == k2


def test_a_full_disk_costs_only_the_cache_entry(tmp_path, monkeypatch):
    (tmp_path / "m.onnx").write_bytes(b"model")
    args = ["--onnx=m.onnx"]
    cache = EngineCache(tmp_path / "cache")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_store", full)
    notes: list[str] = []
    run = Run(command=args, exit_code=0, status="passed")
    cache.store("k", run, _plan(tmp_path, args), note=notes.append)
    assert notes == ["not cached (No space left on device): the run itself is complete"]
    assert run.notes == ["not cached: No space left on device"]
    cache.store("k", run, _plan(tmp_path, args))  # no note callback: still recorded on the run
    assert run.notes[-1] == "not cached: No space left on device"


def test_timing_cache_file_names_are_tidy_slugs(tmp_path):
    def name(gpu):
        return timing_cache_path(tmp_path, "sha256:img", gpu).name.split("-", 1)[1]

    assert name("NVIDIA GeForce GTX TITAN X") == "NVIDIA_GeForce_GTX_TITAN_X.cache"
    assert name("(NVIDIA H100 PCIe)") == "NVIDIA_H100_PCIe.cache"  # no "_" at either end
    assert name("") == name("???") == "default.cache"
    long = gpu_label(tmp_path, "ssh://trt@gpu-node-17.cluster.example.org", "GPU-6794f491-ac89-5cef-cdc5-a41123217fbd")  # fmt: skip
    assert name(long) == "ssh_trt_gpu-node-17.cluster.example.org-gpusGPU-6794f491-ac89-5cef-cdc5-a4112321.cache"  # fmt: skip


def test_learning_the_same_gpu_again_rewrites_nothing(tmp_path):
    learn_gpu(tmp_path, "unix://x", "all", "NVIDIA H100 PCIe")
    table = tmp_path / "timing" / "gpus.json"
    inode = table.stat().st_ino
    learn_gpu(tmp_path, "unix://x", "all", "NVIDIA H100 PCIe")
    assert table.stat().st_ino == inode  # no atomic rewrite
    learn_gpu(tmp_path, "ssh://gpu", "0", "NVIDIA RTX 6000 Ada Generation")
    assert table.stat().st_ino != inode
    assert json.loads(table.read_text(encoding="utf-8")) == {
        "unix://x|all": "NVIDIA H100 PCIe",
        "ssh://gpu|0": "NVIDIA RTX 6000 Ada Generation",
    }


def test_served_engine_is_a_new_private_copy_never_written_through_a_link(tmp_path):
    cache, plan = _stored(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    (tmp_path / "e.plan").unlink()
    assert cache.load("k1", plan, None) is not None
    assert stat.S_IMODE((tmp_path / "e.plan").stat().st_mode) == 0o644 & ~umask  # not executable
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep")
    (tmp_path / "link").symlink_to(outside)
    for dst in (tmp_path / "e.plan", tmp_path / "link"):  # an existing file or symlink
        with pytest.raises(FileExistsError):
            copy_hashed(tmp_path / "m.onnx", dst)
    assert outside.read_bytes() == b"keep"


def test_only_the_outputs_the_run_produced_are_cached_and_served(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"model")
    (tmp_path / "t.json").write_text("[] stale, from an earlier run")
    (tmp_path / "e.plan").write_bytes(b"engine")
    args = ["--onnx=m.onnx", "--saveEngine=e.plan", "--exportTimes=t.json"]
    plan = _plan(tmp_path, args)
    run = Run(command=args, exit_code=0, status="passed")
    run.files = {"onnx": tmp_path / "m.onnx", "engine": tmp_path / "e.plan"}  # no times written
    cache = EngineCache(tmp_path / "cache")
    cache.store("k", run, plan)
    assert sorted(p.name for p in cache.entry("k").iterdir()) == ["1", "run.json"]
    (tmp_path / "e.plan").unlink()
    (tmp_path / "t.json").unlink()
    hit = cache.load("k", plan, None)
    assert hit.files == {"onnx": tmp_path / "m.onnx", "engine": tmp_path / "e.plan"}
    assert (tmp_path / "e.plan").read_bytes() == b"engine" and not (tmp_path / "t.json").exists()


def test_a_rebuild_replaces_the_entry_of_its_key(tmp_path):
    cache, plan = _stored(tmp_path, engine=b"first")
    cache, plan = _stored(tmp_path, engine=b"second")  # --no-cache: the same key built again
    (tmp_path / "e.plan").unlink()
    assert cache.load("k1", plan, None) is not None
    assert (tmp_path / "e.plan").read_bytes() == b"second"
    assert [p.name for p in cache.root.iterdir() if p.name != ".locks"] == ["k1"]


def test_a_failed_store_leaves_no_partial_entry(tmp_path, monkeypatch):
    import trt_magic.runners.cache as cache_module

    def full(src, dst):
        dst.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module, "copy_hashed", full)
    notes = []
    cache, plan = _stored(tmp_path)
    cache.store("k2", Run(command=[], exit_code=0, status="passed", files={"engine": tmp_path / "e.plan"}), plan, notes.append)  # fmt: skip
    assert notes == ["not cached (No space left on device): the run itself is complete"]
    assert [p.name for p in cache.root.iterdir() if p.name != ".locks"] == []


def test_the_entry_just_stored_is_kept_even_past_the_size_limit(tmp_path):
    cache, _ = _stored(tmp_path, key="a", max_bytes=10)
    assert cache.entry("a").is_dir()  # bigger than the limit, but just built
    cache, _ = _stored(tmp_path, key="b", max_bytes=10)
    assert not cache.entry("a").exists() and cache.entry("b").is_dir()
