"""trtexec argv building and host <-> container path mapping (pure: no I/O beyond ``stat``).

A runner gives the user's flags (host paths) to :func:`plan_paths`, which returns the argv to run,
the folders to mount (inputs read-only) and which host file is which. Engines are written under a
temporary name and renamed by the runner on success, so a half-written ``.plan`` never looks valid.
"""

from __future__ import annotations

import os
import re
import shlex
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import UsageError
from .flags import FILE_FLAGS, FileFlag, split_flag

#: where mounted folders appear inside the container
CONTAINER_ROOT = PurePosixPath("/trt_magic")


def split_words(text: str) -> list[str]:
    """Split a command line into words as a POSIX shell would (running nothing); backslash
    line continuations are joined.

    Raises:
        UsageError: unbalanced quotes.
    """
    try:
        return shlex.split(re.sub(r"\\\r?\n", " ", text))
    except ValueError as exc:
        raise UsageError(
            f"cannot split the trtexec flags: {exc}", hint="close the quote you opened"
        ) from None


def split_args(args: str | Sequence[str]) -> list[str]:
    """Split a pasted trtexec command into argv, like a POSIX shell would but running nothing.

    A leading ``trtexec`` (or a path ending in it) is dropped, and backslash line continuations
    are joined, so a command pasted from a tutorial works as is.

    Raises:
        UsageError: unbalanced quotes, or a token that is not a flag.
    """
    if isinstance(args, str):
        argv = split_words(args)
    else:
        argv = [os.fspath(a) for a in args]
    if argv and not argv[0].startswith("-") and Path(argv[0]).name == "trtexec":
        argv = argv[1:]
    for arg in argv:
        if not arg.startswith("-"):
            raise UsageError(
                f"{arg!r} is not a trtexec flag.",
                hint="trtexec takes --name=value (with '='), e.g. --onnx=model.onnx",
            )
    return argv


def flag_value(args: Sequence[str], flag: str) -> str | None:
    """Return the value of the last ``flag=value`` in ``args`` (trtexec keeps the last one)."""
    found = None
    for arg in args:
        name, value = split_flag(arg)
        if name == flag:
            found = value if value is not None else ""
    return found


@dataclass
class Mount:
    """A host folder made visible in the container."""

    host: Path
    container: PurePosixPath
    read_only: bool


@dataclass
class FileRef:
    """One file a flag names: where it is on the host and in the container."""

    flag: str
    host: Path
    container: str
    direction: str  # see FileFlag.direction
    kind: str | None
    temp_host: Path | None = None  # engines: written here first, renamed on success


@dataclass
class PathPlan:
    """The argv trtexec gets, the mounts it needs, and the files the run reads and writes."""

    args: list[str]  # argv for trtexec (container paths, temporary engine names)
    display_args: list[str]  # the same with the final engine names (for docker_command)
    mounts: list[Mount] = field(default_factory=list)
    refs: list[FileRef] = field(default_factory=list)

    @property
    def inputs(self) -> list[FileRef]:
        return [r for r in self.refs if r.direction == "input"]

    @property
    def outputs(self) -> list[FileRef]:
        return [r for r in self.refs if r.direction in ("output", "inout")]

    def files(self) -> dict[str, Path]:
        """``Run.files`` entries for the tracked files (later flags win, as in trtexec)."""
        return {r.kind: r.host for r in self.refs if r.kind}

    def missing_inputs(self) -> list[FileRef]:
        """Inputs that do not exist on the host (reported before any container starts)."""
        return [r for r in self.inputs if not r.host.exists()]


def _value_paths(spec: FileFlag, value: str) -> list[tuple[str, str, str]]:
    """Split a flag value into (prefix, path, suffix) pieces so paths can be swapped in place."""
    if spec.value == "name_file_list":
        pieces = []
        for i, item in enumerate(value.split(",")):
            name, sep, path = item.rpartition(":")
            pieces.append(("," * (i > 0) + name + sep, path, ""))
        return pieces
    if spec.value == "plugin":  # lib.so[ns::plugin,...]
        path, bracket, rest = value.partition("[")
        return [("", path, bracket + rest)]
    return [("", value, "")]


class _Mounter:
    """Assigns container folders to host folders: inputs read-only, outputs read-write."""

    def __init__(self, root: PurePosixPath | None):
        self.root = root
        self.mounts: dict[tuple[Path, bool], Mount] = {}

    def container_path(self, host: Path, read_only: bool) -> str:
        if self.root is None:  # local runner: no mapping
            return str(host)
        key = (host.parent, read_only)
        if key not in self.mounts:
            sub = ("in" if read_only else "out") + str(len(self.mounts))
            self.mounts[key] = Mount(host.parent, self.root / sub, read_only)
        return str(self.mounts[key].container / host.name)


def _mapped(
    mounter: _Mounter, name: str, spec: FileFlag, host: Path, temp_engines: bool
) -> tuple[FileRef, str]:
    """The ref of one host file seen through the mounts, and the container path to show for it
    (the final engine name where trtexec gets a temporary one)."""
    read_only = spec.direction == "input"
    folder = spec.direction == "dir"
    if folder:
        host = host / "_"  # mount the folder itself
    temp = None
    if temp_engines and name == "--saveEngine":
        temp = host.with_name(f".{host.name}.partial-{uuid.uuid4().hex[:8]}")
    container = mounter.container_path(temp or host, read_only)
    shown = mounter.container_path(host, read_only)
    if folder:
        host, container, shown = host.parent, container[:-2], shown[:-2]
    return FileRef(name, host, container, spec.direction, spec.kind, temp), shown


def plan_paths(
    args: Sequence[str],
    resolve: Callable[[str], Path],
    *,
    root: PurePosixPath | None = CONTAINER_ROOT,
    temp_engines: bool = True,
    place: Callable[[FileRef, str], str] | None = None,
) -> PathPlan:
    """Map every host path in ``args`` to a container path under ``root``.

    Args:
        args: trtexec flags with host paths (relative ones go through ``resolve``).
        resolve: turns a user path into an absolute host path (``Settings.resolve_path``).
        root: container folder for mounts; None keeps host paths (the local runner).
        temp_engines: write ``--saveEngine`` to a temporary name first (renamed on success).
        place: ``place(ref, raw value) -> path trtexec gets`` instead of folder mounts (the
            runners' per-run staging, runners/staging.py); ``ref.host`` is the host path.
    """
    mounter = _Mounter(root)
    out_args, shown_args, refs = [], [], []
    for arg in args:
        name, value = split_flag(arg)
        spec = FILE_FLAGS.get(name)
        if spec is None or not value:
            out_args.append(arg)
            shown_args.append(arg)
            continue
        new_value, shown_value = "", ""
        for prefix, raw, suffix in _value_paths(spec, value):
            host = Path(os.path.abspath(resolve(raw)))
            if place is not None:  # place() sees the flag and host path; it returns the container's
                ref = FileRef(name, host, "", spec.direction, spec.kind)
                ref.container = shown = place(ref, raw)
            else:
                ref, shown = _mapped(mounter, name, spec, host, temp_engines)
            refs.append(ref)
            new_value += prefix + ref.container + suffix
            shown_value += prefix + shown + suffix
        out_args.append(f"{name}={new_value}")
        shown_args.append(f"{name}={shown_value}")
    return PathPlan(out_args, shown_args, list(mounter.mounts.values()), refs)


def docker_run_command(
    image: str,
    plan: PathPlan,
    *,
    gpus: str,
    user: str | None,
    docker_host: str | None = None,
) -> list[str]:
    """Return the ``docker run ...`` argv that reproduces the run by hand (bind-mount form)."""
    cmd = ["docker"]
    if docker_host:
        cmd += ["-H", docker_host]
    cmd += ["run", "--rm", "--network", "none"]
    if gpus and gpus != "none":
        cmd += ["--gpus", "all" if gpus == "all" else f'"device={gpus}"']
    if user:
        cmd += ["--user", user]
    for m in plan.mounts:
        cmd += ["-v", f"{m.host}:{m.container}" + (":ro" if m.read_only else "")]
    return cmd + [image, "trtexec", *plan.display_args]


def format_command(argv: Sequence[str]) -> str:
    """Quote an argv for a POSIX shell (to copy and paste)."""
    return shlex.join(argv)
