"""Keep the engine cache bounded: least recently used entries go first, old logs and unused
locks are removed (``Settings.cache_size_mb``; an entry's last use is its ``run.json`` mtime)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .files import clear_dead_partials, remove_tree

#: how many logs of failed runs and runs without outputs ``<cache_dir>/logs`` keeps
KEEP_LOGS = 200
#: a lock file unused this long (seconds) with no entry behind it is removed
LOCK_AGE = 60.0


def entry_size(entry: Path) -> int:
    total = 0
    for f in entry.iterdir():
        try:
            total += f.stat(follow_symlinks=False).st_size
        except OSError:
            pass
    return total


def prune_cache(cache, keep: str | None = None) -> list[str]:
    """Evict entries past ``cache.max_bytes`` (never ``keep``); return the evicted keys."""
    root: Path = cache.root
    clear_dead_partials(root)
    evicted: list[str] = []
    if cache.max_bytes is not None and root.is_dir():
        entries = []
        for e in root.iterdir():
            if e.name.startswith(".") or not e.is_dir() or e.is_symlink():
                continue
            try:
                used = (e / "run.json").stat().st_mtime
            except OSError:
                used = 0.0
            entries.append((used, e.name, entry_size(e)))
        total = sum(size for _, _, size in entries)
        for _, key, size in sorted(entries):
            if total <= cache.max_bytes:
                break
            if key == keep or not _remove_unlocked(cache, key):
                continue
            total -= size
            evicted.append(key)
    _prune_locks(cache)
    _prune_logs(Path(cache.cache_dir) / "logs")
    return evicted


def _remove_unlocked(cache, key: str) -> bool:
    """Remove an entry nobody holds the lock of (a kernel may be copying from it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        remove_tree(cache.entry(key))
        return True
    lock = cache.root / ".locks" / f"{key}.lock"
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        remove_tree(cache.entry(key))
        return True
    finally:
        os.close(fd)


def _prune_locks(cache) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    folder = cache.root / ".locks"
    now = time.time()
    for lock in folder.glob("*.lock") if folder.is_dir() else []:
        try:
            if cache.entry(lock.stem).exists() or now - lock.stat().st_mtime < LOCK_AGE:
                continue
            fd = os.open(lock, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock.unlink(missing_ok=True)  # held: whoever opened it meanwhile re-checks the inode
        except OSError:
            pass
        finally:
            os.close(fd)


def _prune_logs(folder: Path) -> None:
    clear_dead_partials(folder)
    try:
        logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in logs[KEEP_LOGS:]:
        old.unlink(missing_ok=True)
