"""The engine cache and the automatic timing cache (under ``Settings.cache_dir``).

Engine cache: a run is keyed by the bytes of every input file (ONNX, calibration cache, plugins...),
the flags (output paths reduced to their flag), the image id and the GPU request and host. An entry
is a folder written under a temporary name and renamed into place, so readers never see half an
entry; a per-key file lock makes a second kernel building the same engine wait and then hit.
Timing cache: one ``--timingCacheFile`` per (image, GPU), passed unless the user gives one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from ..commandline.command import PathPlan
from ..commandline.flags import FILE_FLAGS, split_flag
from ..results.run import Run

_hashes: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so a cache hit does not re-read it."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _hashes.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = _hashes[key] = h.hexdigest()
    return digest


def run_key(plan: PathPlan, args: list[str], identity: str, gpus: str, host: str) -> str | None:
    """The cache key of a run, or None when it cannot be cached (no input files)."""
    inputs = [r for r in plan.inputs if r.host.is_file()]
    if not inputs:
        return None
    parts = [f"identity={identity}", f"gpus={gpus}", f"host={host}"]
    for arg in args:
        name, value = split_flag(arg)
        spec = FILE_FLAGS.get(name)
        if spec is not None and spec.direction == "inout" and name == "--timingCacheFile":
            continue  # a timing cache speeds a build up; it does not change what is built
        parts.append(name if spec is not None else arg)
    parts += [f"{r.flag}:{file_digest(r.host)}" for r in inputs]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "default"


def timing_cache_path(cache_dir: Path, identity: str, gpu: str) -> Path:
    """The persistent timing cache file of (image or trtexec identity, GPU)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return cache_dir / "timing" / f"{digest}-{_slug(gpu)}.cache"


def _gpu_table(cache_dir: Path) -> Path:
    return cache_dir / "timing" / "gpus.json"


def gpu_label(cache_dir: Path, host: str, gpus: str) -> str:
    """The GPU model a (host, --gpus) pair was last seen to select, else a name for the pair.

    A timing cache is valid per GPU model, so once a log said which GPU trtexec selected, the
    cache file is named after the model and shared by every host with that GPU.
    """
    try:
        table = json.loads(_gpu_table(cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    return table.get(f"{host}|{gpus}") or f"{host}-gpus{gpus}"


def learn_gpu(cache_dir: Path, host: str, gpus: str, device: str) -> None:
    """Remember the GPU model of (host, --gpus) (atomic rewrite of a small JSON table)."""
    path = _gpu_table(cache_dir)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    if table.get(f"{host}|{gpus}") == device:
        return
    table[f"{host}|{gpus}"] = device
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".gpus-{uuid.uuid4().hex[:8]}.json")
    tmp.write_text(json.dumps(table, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class EngineCache:
    """Cached runs under ``<cache_dir>/runs/<key>/`` (see module docstring)."""

    def __init__(self, cache_dir: Path):
        self.root = Path(cache_dir) / "runs"

    def entry(self, key: str) -> Path:
        return self.root / key

    @contextlib.contextmanager
    def lock(self, key: str, on_wait=None):
        """Hold the key's lock across processes (fcntl); calls ``on_wait()`` when it must wait."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process lock
            yield
            return
        path = self.root / ".locks" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self, key: str, plan: PathPlan, log_path: Path | None) -> Run | None:
        """The cached run of ``key`` with its files copied to where ``plan`` wants them, or None."""
        entry = self.entry(key)
        meta_path = entry / "run.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files: dict[str, Path] = {}
        for i, ref in enumerate(plan.refs):
            stored = entry / f"{i}"
            if ref.direction in ("output",) and stored.exists():
                _copy_atomic(stored, ref.host)
            if ref.kind:
                files[ref.kind] = ref.host
        if log_path is not None and (entry / "log").exists():
            _copy_atomic(entry / "log", log_path)
            files["log"] = log_path
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(meta.get("started", 0)))
        return Run(
            command=meta["command"],
            exit_code=meta["exit_code"],
            status="passed",
            files=files,
            image=meta.get("image"),
            image_id=meta.get("image_id"),
            gpus=meta.get("gpus"),
            host=meta.get("host"),
            docker_command=meta.get("docker_command"),
            backend=meta.get("backend", "files"),
            cached=True,
            notes=[
                f"cached: built {when} in {meta.get('duration_s', 0):.1f} s; --no-cache rebuilds",
                *meta.get("notes", []),
            ],
        )

    def store(self, key: str, run: Run, plan: PathPlan) -> None:
        """Keep a passed run's outputs and log (written aside, then renamed into place)."""
        if run.status != "passed":
            return
        entry = self.entry(key)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            for i, ref in enumerate(plan.refs):
                if ref.direction == "output" and ref.host.is_file():
                    shutil.copyfile(ref.host, tmp / f"{i}")
            log = run.files.get("log")
            if log is not None and Path(log).is_file():
                shutil.copyfile(log, tmp / "log")
            meta = {
                k: getattr(run, k)
                for k in ("command", "exit_code", "image", "image_id", "gpus", "host")
            }
            meta.update(
                docker_command=run.docker_command,
                started=run.started,
                duration_s=run.duration_s,
                backend=run.backend,
                notes=[n for n in run.notes if not n.startswith("cached")],
            )
            (tmp / "run.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            if entry.exists():
                shutil.rmtree(entry, ignore_errors=True)
            os.rename(tmp, entry)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.cache-{uuid.uuid4().hex[:8]}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
