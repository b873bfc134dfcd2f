"""What a run may touch on the host: its inputs (read-only, file by file) and ONE fresh folder.

:class:`Stage` is the one place that decides it, for every backend that runs trtexec for real:

- ``inputs``: host files exposed read-only (each file the flags name, plus an ONNX's external-data
  files at the same relative place), as ``(host real path, container path)``;
- ``outputs``: container path -> host destination of every file trtexec writes. trtexec writes
  them in a fresh private folder (``.trt_magic-part-<host>~<pid>-...-run`` beside the first
  output, mounted at ``/trt_magic/out``); they are moved to their destinations (rename, or copy and
  rename across filesystems) only after trtexec ended and only when it passed. Caches trtexec reads
  and writes (``--timingCacheFile``, ``--calib``) are copied in first.

Nothing is started when a flag names something unsafe: an output that is an input, ``/``, a folder
or not a regular file, an input that is not a regular file, a destination the user cannot write.
"""

from __future__ import annotations

import os
import re
import stat
import time
import uuid
from pathlib import Path, PurePosixPath

from ..commandline.command import FileRef, PathPlan, plan_paths
from ..errors import RunnerError
from .external_data import external_data_files
from .files import (
    PREFIX,
    clear_dead_partials,
    copy_atomic,
    move_atomic,
    owner_of,
    owner_tag,
    pid_alive,
    remove_tree,
    write_atomic,
)

IN = PurePosixPath("/trt_magic")
OUT = PurePosixPath("/trt_magic/out")
WRITES = ("output", "inout", "dir")


def _safe(name: str) -> str:
    """A container file name trtexec parses safely (no ``,`` ``:`` or shell text in it)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("_") or "file"


class Stage:
    """The per-run staging of one trtexec call (see module docstring)."""

    def __init__(self, args: list[str], resolve, cache_dir: Path, *, container: bool = True):
        self.container = container
        self.cache_dir = Path(cache_dir)
        self.inputs: list[tuple[Path, str]] = []
        self.outputs: dict[str, Path] = {}
        self.notes: list[str] = []
        self._raw: dict[int, str] = {}
        self._in_dirs: dict[Path, PurePosixPath] = {}
        self._in_files: dict[Path, str] = {}
        self._names: set[str] = set()
        self._staged: dict[str, Path] = {}  # container path -> staged host path
        self._cpath: dict[int, str] = {}  # id(ref) -> its container path
        self.plan: PathPlan = plan_paths(args, resolve, place=self._place)  # no mounts, no temp
        outs = sorted((r for r in self.plan.refs if r.direction in ("output", "inout")),
                      key=lambda r: r.kind != "engine")  # fmt: skip
        first = outs[0].host.parent if outs else self.cache_dir / "staging"
        self.first_output = outs[0].host if outs else None
        self.folder = first / f"{PREFIX}{owner_tag()}-{uuid.uuid4().hex[:12]}-run"
        for cpath in list(self.outputs):
            self._staged[cpath] = self.folder / "out" / PurePosixPath(cpath).relative_to(OUT)
        if not container:  # local: trtexec writes the staged host paths themselves
            staged = f"{self.folder}/out/"
            self.plan.args = [a.replace(f"{OUT}/", staged) for a in self.plan.args]
            self.plan.display_args = list(self.plan.args)
        self.log = self.folder / "trtexec.log"  # host-written, not visible to the container
        self.opened = False

    # ----- planning (pure: no writes) -----

    def _place(self, ref: FileRef, raw: str) -> str:
        self._raw[id(ref)] = raw
        if ref.direction in WRITES:
            name = "tempdir" if ref.direction == "dir" else _safe(ref.host.name)
            while name in self._names:
                name = f"{len(self._names)}-{name}"
            self._names.add(name)
            cpath = self._cpath[id(ref)] = str(OUT / name)
            self.outputs[cpath] = ref.host
            return cpath
        return self._expose(ref)

    def _expose(self, ref: FileRef) -> str:
        host = ref.host
        if not self.container:
            return str(host)
        cpath = self._mount(host, _safe(host.name))
        if ref.flag == "--onnx" and host.is_file():
            for loc in external_data_files(host):  # where trtexec looks: beside the model it reads
                self._external(host, PurePosixPath(cpath).parent, loc)
        return cpath

    def _mount(self, host: Path, name: str) -> str:
        real = Path(os.path.realpath(host))
        if real in self._in_files:
            return self._in_files[real]
        folder = self._in_dirs.setdefault(host.parent, IN / f"in{len(self._in_dirs)}")
        cpath, n = str(folder / name), len(self._in_files)
        taken = {c for _, c in self.inputs}
        while cpath in taken:  # "x y.bin" beside "x_y.bin" (and "1-x_y.bin"...)
            cpath, n = str(folder / f"{n}-{name}"), n + 1
        self._in_files[real] = cpath
        self.inputs.append((real, cpath))
        return cpath

    def _external(self, onnx: Path, folder: PurePosixPath, loc: str) -> None:
        rel = PurePosixPath(loc)
        path = onnx.parent / rel
        if rel.is_absolute() or ".." in rel.parts or not path.is_file():
            self.notes.append(
                f"{onnx.name}: external data {loc!r} is not a file beside the model; not exposed"
            )
            return
        real = Path(os.path.realpath(path))
        cpath = str(folder / rel)
        mounted = {c: r for r, c in self.inputs}
        if cpath not in mounted:  # a file flagged too keeps its own place as well
            self._in_files.setdefault(real, cpath)
            self.inputs.append((real, cpath))
        elif mounted[cpath] != real:  # another input took the place the model needs
            raise RunnerError(f"{onnx.name} reads external data {loc!r} at {cpath}, where "
                              f"trtexec would see another input ({mounted[cpath]}).",
                              hint="rename that input file; nothing was started")  # fmt: skip

    # ----- checks (before anything starts) -----

    def check(self) -> None:
        """Refuse unsafe paths before anything starts (see module docstring)."""
        reads = {str(real): None for real, _ in self.inputs}  # None: external data
        reads |= {os.path.realpath(r.host): r for r in self.plan.inputs}
        for ref in self.plan.inputs:
            _check_input(ref)
        seen: dict[str, FileRef] = {}
        for ref in self.plan.refs:
            if ref.direction not in WRITES:
                continue
            if ref.direction != "dir":
                _check_output(ref, self._raw[id(ref)])
            real = os.path.realpath(ref.host)
            if real in reads:
                by = reads[real]
                what = (
                    f"{by.flag}={by.host}"
                    if by is not None
                    else "an external-data file of the model"
                )
                raise RunnerError(f"{ref.flag}={ref.host} names an input ({what}): the run would overwrite it.",
                                  hint="write the output to a new file name; nothing was started")  # fmt: skip
            if real in seen and ref.direction != "dir":
                raise RunnerError(f"{ref.flag} and {seen[real].flag} both write {ref.host}.",
                                  hint="give each output its own file; nothing was started")  # fmt: skip
            seen[real] = ref
            _check_writable(ref.host.parent if ref.direction != "dir" else self.folder.parent)
        _check_writable(self.folder.parent)

    # ----- the run -----

    def open(self) -> None:
        """Create the fresh folder (0700) and copy in the caches trtexec reads and writes."""
        for folder in {self.folder.parent, self.cache_dir / "staging", self.cache_dir / "logs"}:
            clear_dead_partials(folder)
        _clear_dead_registered(self.cache_dir / "active")
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(self.folder, 0o700)
        self.opened = True
        try:  # a record for the next run to clear the folder if this kernel dies (best effort)
            write_atomic(self.cache_dir / "active" / self.folder.name, os.fsencode(self.folder))
        except OSError:
            pass
        (self.folder / "out").mkdir(0o700)
        for ref in self.plan.refs:
            if ref.direction == "inout" and ref.host.is_file():
                copy_atomic(ref.host, self.staged(ref))
            elif ref.direction == "dir":
                self.staged(ref).mkdir(0o700)

    def staged(self, ref: FileRef) -> Path:
        return self._staged[self.container_path(ref)]

    def container_path(self, ref: FileRef) -> str:
        return self._cpath[id(ref)]

    def grant(self, uid: int, gid: int) -> None:
        """Give the folder and the copied-in caches to ``uid:gid`` (a root kernel running the
        container as another user)."""
        for path in [self.folder, self.folder / "out", *self._staged.values()]:
            if path.exists() and not path.is_symlink():
                os.chown(path, uid, gid)

    def settle(self, ok: bool) -> dict[str, Path]:
        """Move what trtexec wrote to its destinations (only when ``ok``); return kind -> path of
        the files this run produced, "log" included. The folder is removed."""
        produced: dict[str, Path] = {}
        if ok:
            for ref in self.plan.refs:
                if ref.direction not in ("output", "inout"):
                    continue
                src = self.staged(ref)
                if src.is_file() and not src.is_symlink():
                    move_atomic(src, ref.host)
                    if ref.kind:
                        produced[ref.kind] = ref.host
        log = self.log_destination(ok)
        if self.log.is_file():
            move_atomic(self.log, log)
            produced["log"] = log
        self.close()
        return produced

    def log_destination(self, ok: bool) -> Path:
        """``<engine>.log`` beside a passed run's first output; else a fresh name in the cache's
        logs folder (a failed run never replaces the log of an earlier run)."""
        if ok and self.first_output is not None:
            return self.first_output.with_name(self.first_output.name + ".log")
        stem = self.first_output.name if self.first_output is not None else "trtexec"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return self.cache_dir / "logs" / f"{_safe(stem)}-{stamp}-{uuid.uuid4().hex[:8]}.log"

    def close(self) -> None:
        """Remove the folder and everything left in it (idempotent)."""
        if self.opened:
            remove_tree(self.folder)
            remove_tree(self.cache_dir / "active" / self.folder.name)  # the record: best effort

    def docker_args(self) -> list[str]:
        """``-v`` options that reproduce the mounts by hand (outputs into the first one's folder)."""
        out = [f"{h}:{c}:ro" for h, c in self.inputs]
        if self.first_output is not None:
            out.append(f"{self.first_output.parent}:{OUT}")
        return [x for v in out for x in ("-v", v)]


def _check_input(ref: FileRef) -> None:
    try:
        st = os.stat(ref.host)
    except OSError:
        return  # reported as missing by the caller
    if not stat.S_ISREG(st.st_mode):
        raise RunnerError(f"{ref.flag}={ref.host} is not a regular file.",
                          hint="name the file itself; nothing was started")  # fmt: skip
    if not os.access(ref.host, os.R_OK):
        raise RunnerError(f"you cannot read {ref.flag}={ref.host}.",
                          hint="check its permissions; nothing was started")  # fmt: skip


def _check_output(ref: FileRef, raw: str) -> None:
    host = ref.host
    if (
        raw.endswith("/")  # POSIX hosts: os.sep is "/"
        or raw in ("", ".", "..", "~")
        or host == Path(host.anchor)
        or host.is_dir()
    ):
        raise RunnerError(f"{ref.flag}={raw or host} names a folder, not a file.",
                          hint=f"give a file name, e.g. {ref.flag}={host / 'model.plan'}; nothing was started")  # fmt: skip
    try:
        st = os.stat(host)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RunnerError(f"cannot look at {ref.flag}={host}: {exc.strerror}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise RunnerError(f"{ref.flag}={host} exists and is not a regular file (a socket, device or pipe).",
                          hint="write the output to a new file name; nothing was started")  # fmt: skip
    folder = os.stat(host.parent)
    mine = os.geteuid() in (0, st.st_uid, folder.st_uid)
    if folder.st_mode & stat.S_ISVTX and not mine:  # a sticky folder (/tmp): not ours to replace
        raise RunnerError(f"{ref.flag}={host} belongs to another user in a sticky folder.",
                          hint="write the output to a new file name; nothing was started")  # fmt: skip


def _check_writable(folder: Path) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise RunnerError(f"you cannot write into {existing}.",
                          hint="choose a folder you may write (check its owner, group and mode); "
                          "nothing was started")  # fmt: skip


def _clear_dead_registered(active: Path) -> None:
    """Remove run folders registered in ``active`` by kernels that died (on this host)."""
    try:
        entries = list(os.scandir(active))
    except OSError:
        return
    for entry in entries:
        owner = owner_of(entry.name)
        if owner is None or pid_alive(owner[1]) or owner[0] != owner_tag().split("~")[0]:
            continue
        try:
            folder = Path(os.fsdecode(Path(entry.path).read_bytes().strip()))
        except OSError:  # unreadable: the record alone goes
            folder = None
        if folder is not None and folder.name == entry.name:  # never a folder it does not name
            remove_tree(folder)
        remove_tree(Path(entry.path))
