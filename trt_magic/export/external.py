"""An export's external data: ONE file named after its model, published with it.

ONNX keeps tensors outside the protobuf (which cannot pass 2 GiB) in files the model names by a
``location`` relative to its folder (https://onnx.ai/onnx/repo-docs/ExternalData.html). Past
2 GiB the TorchScript exporter writes one file per tensor, named after the tensor (torch 2.13
``torch/onnx/_internal/torchscript_exporter/utils.py``: ``_export`` with
``val_use_external_data_format``), so two models with the same parameter names in one folder
overwrite each other's weights. Here every exported model keeps its weights in
``<model>.onnx.data`` (the name torch's dynamo exporter and ``onnx.save_model`` examples use),
streamed tensor by tensor: never more than one tensor's bytes in memory.

Publishing moves the data file, then the ``.onnx``, out of the export's private temporary
folder; if the ``.onnx`` cannot be moved the previous data is put back (both or neither).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExportError

DATA_SUFFIX = ".data"
#: tensors smaller than this stay inline (onnx.save_model's default ``size_threshold``)
THRESHOLD = 1024
#: each tensor starts on a page boundary, so a reader can mmap it
ALIGN = 4096
_CHUNK = 16 << 20
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


def decide(needed: bool, requested: bool | None) -> bool:
    """Whether the weights go to external data: as requested, else when ``needed`` (2 GB)."""
    from ..errors import UsageError

    if requested is False and needed:
        raise UsageError(
            "external_data=False, but the weights pass what one ONNX file holds (2 GB)",
            hint="leave external_data unset: they go to <name>.onnx.data beside the model",
        )
    return needed if requested is None else bool(requested)


def data_name(model: Path) -> str:
    """The external-data file name of ``model``: ``model.onnx`` -> ``model.onnx.data``."""
    return model.name + DATA_SUFFIX


@dataclass
class Published:
    """What publishing changed beside the target."""

    data: Path | None = None  # the model's data file, when it has one
    data_size: int = 0
    size: int = 0  # the .onnx plus its data
    notes: list[str] = field(default_factory=list)


def scratch_dir(nbytes: int) -> Path | None:
    """A private folder in RAM (``/dev/shm``) for an exporter's per-tensor files, or None.

    The TorchScript exporter writes every weight once in its own file; written to RAM, they
    reach the disk once (in ``<model>.onnx.data``) instead of twice. Used only when the RAM
    file system and the free memory both have room for them with a margin.
    """
    import tempfile

    shm = Path("/dev/shm")
    _clear_dead_scratch(shm)
    try:
        free = shutil.disk_usage(shm).free
        available = _mem_available()
    except OSError:
        return None
    if free < nbytes * 1.2 or available < nbytes * 1.5:
        return None
    try:
        return Path(tempfile.mkdtemp(prefix=f"{_SCRATCH}{os.getpid()}-", dir=shm))
    except OSError:
        return None


_SCRATCH = "trt_magic-export-"


def _clear_dead_scratch(shm: Path) -> None:
    """Remove the scratch folders of exports whose process died (a kernel killed with -9).

    Only this user's folders, and only when their process is gone: RAM is not given back
    otherwise until the machine restarts.
    """
    try:
        found = list(shm.glob(f"{_SCRATCH}*-*"))
    except OSError:
        return
    for folder in found:
        pid = folder.name[len(_SCRATCH) :].split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive but another user's, or unreadable: leave it
            continue


def _mem_available() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def consolidate(path: Path, external: bool, into: Path | None = None) -> bool:
    """Store the weights of ``path`` in ``<name>.data`` (one file, streamed) in ``into``.

    ``path`` must sit in a private folder (the export's temporary one): the exporter's own data
    files there (one per tensor from the TorchScript exporter) are removed once copied. The
    model ends in ``into`` (default: its folder) beside its data file.
    With ``external`` False a model that is already all inline is left alone.
    Returns True when the model keeps external data.
    """
    import onnx

    from ..netron.external import resolve_inside

    into = path.parent if into is None else into
    model = onnx.load(str(path), load_external_data=False)
    every = list(tensors(model.graph))
    outside = [t for t in every if t.data_location == _EXTERNAL]
    name = data_name(path)
    if not outside and not external:
        if into != path.parent:
            shutil.move(path, into / path.name)
        return False
    if outside and into == path.parent and _already_one_file(outside, name, every):
        return True
    sources = {_location(t) for t in outside}
    part = into / (name + ".part")
    moved = 0
    with open(part, "wb") as out:
        for tensor in every:
            if tensor.data_location == _EXTERNAL:
                _copy_external(tensor, path.parent, out, name)
            elif len(tensor.raw_data) >= THRESHOLD:
                _move_inline(tensor, out, name)
            else:
                continue
            moved += 1
    if not moved:  # no tensor big enough to store apart: the model stays one file
        part.unlink()
        onnx.save_model(model, str(into / path.name))
        return False
    os.replace(part, into / name)
    for source in sources - ({name} if into == path.parent else set()):
        found = resolve_inside(path.parent, source)
        if found is not None:
            found.unlink()
    onnx.save_model(model, str(into / path.name))
    if into != path.parent:
        path.unlink()
    return True


def _already_one_file(outside, name: str, every) -> bool:
    big_inline = any(len(t.raw_data) >= THRESHOLD for t in every if t.data_location != _EXTERNAL)
    return not big_inline and {_location(t) for t in outside} == {name}


def tensors(graph):
    """Every TensorProto of ``graph``: initializers, sparse ones, node attributes, subgraphs."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("sparse_tensor"):
                yield attr.sparse_tensor.values
                yield attr.sparse_tensor.indices
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from tensors(sub)


def _location(tensor) -> str:
    return next((e.value for e in tensor.external_data if e.key == "location"), "")


def _info(tensor) -> dict[str, str]:
    return {e.key: e.value for e in tensor.external_data}


def _pad(out) -> int:
    offset = out.tell()
    gap = -offset % ALIGN
    if gap:
        out.write(b"\0" * gap)
    return offset + gap


def _copy_external(tensor, folder: Path, out, name: str) -> None:
    info = _info(tensor)
    source = folder / info.get("location", "")
    offset = int(info.get("offset") or 0)
    length = int(info["length"]) if info.get("length") else source.stat().st_size - offset
    start = _pad(out)
    out.flush()
    with open(source, "rb") as src:
        copied = _copy_range(src, out, offset, length)
    if copied != length:
        raise ExportError(
            f"external data {info.get('location')!r} of {tensor.name!r} is shorter than "
            f"the model says ({length} bytes from {offset})",
            hint="the exporter was interrupted or the disk is full; export again",
        )
    _point(tensor, name, start, length)


def _copy_range(src, out, offset: int, length: int) -> int:
    """Copy ``length`` bytes of ``src`` from ``offset`` to the end of ``out``; bytes copied.

    ``os.copy_file_range`` (Linux) copies in the kernel, no bytes pass through Python; else
    16 MB chunks.
    """
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < length:
                n = os.copy_file_range(src.fileno(), out.fileno(), length - done, offset + done)
                if n == 0:
                    break
                done += n
            out.seek(0, 2)
            return done
        except OSError:  # another file system or an old kernel: copy by hand from there
            out.seek(0, 2)
    src.seek(offset + done)
    while done < length:
        chunk = src.read(min(_CHUNK, length - done))
        if not chunk:
            break
        out.write(chunk)
        done += len(chunk)
    return done


def _move_inline(tensor, out, name: str) -> None:
    start = _pad(out)
    out.write(tensor.raw_data)
    length = len(tensor.raw_data)
    tensor.ClearField("raw_data")
    _point(tensor, name, start, length)


def _point(tensor, name: str, offset: int, length: int) -> None:
    del tensor.external_data[:]
    for key, value in (("location", name), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    tensor.data_location = _EXTERNAL


def owner_of(data: Path, target: Path) -> Path | None:
    """Another ``.onnx`` in ``data``'s folder that reads ``data`` (not ``target``), if any."""
    from ..runners.external_data import external_data_files

    if not data.exists():
        return None
    for other in sorted(data.parent.glob("*.onnx"))[:500]:
        if other.name != target.name and data.name in external_data_files(other):
            return other
    return None


def check_free(target: Path) -> None:
    """Refuse to write ``<target>.data`` unless it is absent or the current ``target`` reads it.

    Another model's weights are never overwritten, nor a file no model reads (this export did
    not write it: a leftover, or someone else's).
    """
    from ..errors import UsageError
    from ..runners.external_data import external_data_files

    data = target.parent / data_name(target)
    if not data.exists() or (target.is_file() and data.name in external_data_files(target)):
        return
    other = owner_of(data, target)
    if other is not None:
        raise UsageError(
            f"{data.name} in {target.parent} holds the weights of {other.name}; exporting "
            f"{target.name} would overwrite them",
            hint=f"export to another name or folder, or move {other.name} with "
            "trt_magic.move_onnx first",
        )
    raise UsageError(
        f"{data.name} is already in {target.parent} and no {target.name} reads it; "
        "it was not written by this export, so it is not replaced",
        hint=f"delete {data.name} if it is a leftover of an earlier {target.name}, or export "
        "to another name",
    )


def publish(tmpdir: Path, target: Path) -> Published:
    """Move ``tmpdir``'s data file then its ``.onnx`` onto ``target`` (both or neither)."""
    new_data = tmpdir / data_name(target)
    return replace_pair(tmpdir / target.name, new_data if new_data.exists() else None, target)


def replace_pair(new_onnx: Path, new_data: Path | None, target: Path) -> Published:
    """Move ``new_data`` onto ``<target>.data``, then ``new_onnx`` onto ``target``.

    Both files must already be in ``target``'s folder (os.replace is then atomic) and
    ``new_onnx`` must name ``<target>.data``. A data file the replaced ``target`` read under
    that name is replaced (or removed when the new model has none); if the ``.onnx`` cannot be
    moved, the previous data is put back. Other files the old model read (per-tensor layouts
    of other tools) are left where they are.
    """
    from ..runners.external_data import external_data_files

    if new_data is not None:
        check_free(target)
    dest = target.parent / data_name(target)
    old = set(external_data_files(target)) if target.exists() else set()
    done = Published()
    backup = target.parent / f".{dest.name}.{os.getpid()}-{id(done):x}.old"
    if dest.exists() and (new_data is not None or dest.name in old):
        os.replace(dest, backup)  # this model's own data: replaced or, if none now, removed
    try:
        if new_data is not None:
            os.replace(new_data, dest)
            done.data, done.data_size = dest, dest.stat().st_size
        done.size = new_onnx.stat().st_size + done.data_size
        os.replace(new_onnx, target)
    except BaseException:
        if done.data is not None and new_data is not None:
            os.replace(dest, new_data)
        if backup.exists():
            os.replace(backup, dest)
        raise
    backup.unlink(missing_ok=True)
    left = sorted(old - {dest.name})
    if left:
        done.notes.append(
            f"the previous {target.name} read {len(left)} other external-data file(s) "
            f"({', '.join(left[:3])}{', ...' if len(left) > 3 else ''}); left in place, "
            "this export did not write them"
        )
    return done


def rename_data(model: Path, names: dict[str, str], dest: Path | None = None) -> None:
    """Write ``model``'s graph to ``dest`` (default: itself) with data locations renamed.

    Only the graph is read and written (no weight); the write goes through a temporary file
    and ``os.replace``.
    """
    import onnx

    dest = model if dest is None else dest
    proto = onnx.load(str(model), load_external_data=False)
    for tensor in tensors(proto.graph):
        for entry in tensor.external_data:
            if entry.key == "location" and entry.value in names:
                entry.value = names[entry.value]
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.renamed")
    try:
        onnx.save_model(proto, str(tmp))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
