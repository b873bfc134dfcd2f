"""The engine cache and the automatic timing cache (under ``Settings.cache_dir``).

Engine cache: a run is keyed by the bytes of every input file (ONNX and its external data,
calibration cache, plugins...),
the flags (output paths reduced to their flag), the image id and the GPU request and host. An entry
is a folder written under a temporary name and renamed into place, so readers never see half an
entry; a per-key file lock makes a second kernel building the same engine wait and then hit.
Each stored file records its size, mtime and blake2b (plus a hash of 16 sampled blocks); a hit
checks size and samples, and the full hash when the mtime moved, before serving the files as hard
links (O(1); a copy across filesystems). A damaged entry is dropped with a note and rebuilt. The
cache is bounded (``Settings.cache_size_mb``, least recently used first; cache_prune.py).
Timing cache: one ``--timingCacheFile`` per (image, GPU), passed unless the user gives one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time
from pathlib import Path

from ..commandline.command import PathPlan
from ..commandline.flags import FILE_FLAGS, split_flag
from ..results.run import Run
from .base import shielded
from .cache_prune import prune_cache
from .external_data import external_data_files
from .files import link_atomic, new_folder, remove_tree, write_atomic

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
    parts += [f"{r.flag}+{loc}:{file_digest(data)}" for r in inputs for loc, data in _data(r)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _data(ref) -> list[tuple[str, Path]]:
    """An ONNX input's external-data files: its weights are part of what is built."""
    if ref.flag != "--onnx":
        return []
    files = [(loc, ref.host.parent / loc) for loc in external_data_files(ref.host)]
    return [(loc, path) for loc, path in files if path.is_file()]


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
    write_atomic(path, json.dumps(table, indent=1))


class EngineCache:
    """Cached runs under ``<cache_dir>/runs/<key>/`` (see module docstring)."""

    def __init__(self, cache_dir: Path, max_bytes: int | None = None):
        self.root = Path(cache_dir) / "runs"
        self.cache_dir = Path(cache_dir)
        self.max_bytes = max_bytes

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
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        while True:
            fd = os.open(path, flags, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:  # the lock file may have been pruned while we waited: then lock the new one
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def load(self, key: str, plan: PathPlan, log_path: Path | None, note=None) -> Run | None:
        """The cached run of ``key`` with its files verified and copied to where ``plan`` wants
        them, or None (a missing or bad entry: a bad one is dropped, with a ``note``)."""
        entry = self.entry(key)
        try:
            meta = json.loads((entry / "run.json").read_text(encoding="utf-8"))
            records = meta["files"]
            bad = next((n for n, rec in records.items() if not verify(entry / n, rec)), None)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            bad = "run.json"
        if bad is not None:
            if note is not None:
                note(f"the engine cache entry {entry.name} is damaged ({bad}): dropped, rebuilding")
            remove_tree(entry)
            return None
        files: dict[str, Path] = {}
        for i, ref in enumerate(plan.refs):
            if ref.direction == "output" and str(i) in records:
                link_atomic(entry / str(i), ref.host)  # verified above; a change shows next time
                if ref.kind:
                    files[ref.kind] = ref.host
            elif ref.direction == "input" and ref.kind:
                files[ref.kind] = ref.host
        if log_path is not None and "log" in records:
            link_atomic(entry / "log", log_path)
            files["log"] = log_path
        os.utime(entry / "run.json")  # least recently used goes first
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(meta.get("started") or 0))
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
                f"cached: built {when} in {meta.get('duration_s') or 0:.1f} s; --no-cache rebuilds",
                *meta.get("notes", []),
            ],
        )

    def store(self, key: str, run: Run, plan: PathPlan, note=None) -> None:
        """Keep a passed run's outputs and log with their size and hash (written aside, then
        renamed into place). A failure (a full disk) only costs the cache entry, with a ``note``."""
        if run.status != "passed":
            return
        try:
            self._store(key, run, plan)
        except OSError as exc:
            if note is not None:
                note(f"not cached ({exc.strerror or exc}): the run itself is complete")
            run.notes.append(f"not cached: {exc.strerror or exc}")
        self.prune(keep=key)

    def _store(self, key: str, run: Run, plan: PathPlan) -> None:
        produced = {Path(p) for p in run.files.values()}
        tmp = new_folder(self.root, "entry")
        try:
            records = {}
            for i, ref in enumerate(plan.refs):
                if ref.direction == "output" and ref.host in produced and ref.host.is_file():
                    records[str(i)] = copy_hashed(ref.host, tmp / str(i))
            log = run.files.get("log")
            if log is not None and Path(log).is_file():
                records["log"] = copy_hashed(Path(log), tmp / "log")
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
                files=records,
            )
            (tmp / "run.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            entry = self.entry(key)
            if entry.exists():
                remove_tree(entry)
            os.rename(tmp, entry)
        finally:
            shielded(lambda: remove_tree(tmp))

    def prune(self, keep: str | None = None) -> None:
        """Evict least recently used entries past ``max_bytes``; drop logs and locks of the past."""
        prune_cache(self, keep)


def copy_hashed(src: Path, dst: Path) -> dict:
    """Copy ``src`` to the new file ``dst`` in one pass; return its size, mtime and blake2b."""
    h = hashlib.blake2b()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with open(src, "rb") as inp, open(os.open(dst, flags, 0o644), "wb") as out:
        for block in iter(lambda: inp.read(1 << 20), b""):
            h.update(block)
            out.write(block)
    st = os.stat(dst)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "blake2b": h.hexdigest(),
            "sample": sample_digest(dst)}  # fmt: skip


def sample_digest(path: Path, pieces: int = 16, size: int = 1 << 16) -> str:
    """blake2b of ``pieces`` blocks spread over the file (a cheap check on every hit)."""
    h = hashlib.blake2b()
    total = os.path.getsize(path)
    with open(path, "rb") as fh:
        for k in range(pieces):
            fh.seek(total * k // pieces)
            h.update(fh.read(size))
    return h.hexdigest()


def verify(path: Path, rec: dict) -> bool:
    """Does the stored file still hold what was stored? Size and sampled blocks always; the full
    hash when its mtime changed since (a rewrite of the same size)."""
    try:
        st = os.stat(path, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_size != rec["size"]:
            return False
        if sample_digest(path) != rec["sample"]:
            return False
        if st.st_mtime_ns == rec["mtime_ns"]:
            return True
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "blake2b").hexdigest() == rec["blake2b"]
    except (OSError, KeyError, TypeError):
        return False
