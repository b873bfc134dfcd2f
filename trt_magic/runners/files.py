"""Host file writes that follow no symlink, and the partial files of dead owners.

Every file trt_magic writes on the host (logs, staged outputs, cache entries) is first created
under a fresh name with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (``tempfile.mkstemp``) in the folder of
its destination, then renamed over the destination (``os.replace`` replaces a symlink, never
writes through it). Temporary names carry the owner (``.trt_magic-part-<host>~<pid>-...``) so the
next run, in any kernel, removes what a killed kernel left (:func:`clear_dead_partials`).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

from ..errors import RunnerError

PREFIX = ".trt_magic-part-"


def owner_tag() -> str:
    """``<host>~<pid>``: who owns a temporary file or folder."""
    return f"{socket.gethostname()}~{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_file(folder: Path, name: str = "") -> tuple[int, Path]:
    """A fresh file in ``folder`` (never an existing file or symlink): (fd, path)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(
        prefix=f"{PREFIX}{owner_tag()}-", suffix=f"-{name}"[:60], dir=folder
    )
    return fd, Path(path)


def new_folder(folder: Path, name: str = "run") -> Path:
    """A fresh private (0700) folder in ``folder``, named after its owner."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{owner_tag()}-", suffix=f"-{name}", dir=folder))


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path``: a new file in its folder, then renamed over it."""
    fd, tmp = new_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` through a new file in ``dst``'s folder (renamed at the end)."""
    fd, tmp = new_file(dst.parent, dst.name)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            _copy_file(inp, out)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def link_atomic(src: Path, dst: Path) -> None:
    """Give ``dst`` the content of ``src`` in O(1): a hard link under a new name renamed over
    ``dst``; a copy (:func:`copy_atomic`) when a link cannot be made (another filesystem)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f"{PREFIX}{owner_tag()}-{uuid.uuid4().hex[:12]}-{dst.name}"[:250]
    try:
        os.link(src, tmp)  # fails on an existing name: nothing is followed or overwritten
    except OSError:
        copy_atomic(src, dst)
        return
    try:
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy_file(inp, out) -> None:
    """Copy in the kernel (``copy_file_range``: no trip through Python), else by blocks."""
    size = os.fstat(inp.fileno()).st_size
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(inp.fileno(), out.fileno(), min(size - done, 1 << 30))
            if n == 0:
                break
            done += n
    except (AttributeError, OSError):
        if done:  # failed half-way: not a case to patch up
            raise
    if done == 0 or done < size:
        inp.seek(done)
        out.seek(done)
        shutil.copyfileobj(inp, out, 1 << 20)


def move_atomic(src: Path, dst: Path) -> None:
    """Rename ``src`` over ``dst``; across filesystems copy to a new file beside ``dst`` first."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_atomic(src, dst)
        src.unlink(missing_ok=True)


def remove_tree(path: Path) -> None:
    """Remove a file or folder (never following a symlink out of it); gone already is fine."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass


def owner_of(name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary name made by :func:`new_file` / :func:`new_folder`."""
    if not name.startswith(PREFIX):
        return None
    host, sep, rest = name[len(PREFIX) :].partition("~")
    pid = rest.split("-", 1)[0]
    return (host, int(pid)) if sep and pid.isdigit() else None


def clear_dead_partials(folder: Path) -> int:
    """Remove this host's temporary files and folders in ``folder`` whose owner died."""
    me, removed = socket.gethostname(), 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        owner = owner_of(entry.name)
        if owner is not None and owner[0] == me and not pid_alive(owner[1]):
            remove_tree(Path(entry.path))
            removed += 1
    return removed


def disk_error(exc: OSError, where: Path | str) -> RunnerError:
    """A short error for a failed host write (a full disk, a read-only or vanished folder)."""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return RunnerError(
            f"no space left on the device of {where}.",
            hint="free some space there, or write the outputs (and TrtMagic.cache_dir) elsewhere",
            detail=str(exc),
        )
    return RunnerError(
        f"could not write {where}: {exc.strerror or exc}.",
        hint="check that the folder exists and that you may write it",
        detail=str(exc),
    )
