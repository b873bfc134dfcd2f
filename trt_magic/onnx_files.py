"""Move or delete an ONNX model together with its external-data files.

A model past 2 GB keeps its weights in files its tensors name by a path relative to the model's
folder (https://onnx.ai/onnx/repo-docs/ExternalData.html): moving only the ``.onnx`` breaks it,
deleting only the ``.onnx`` leaves gigabytes behind. trt_magic names an exported model's data
``<model>.onnx.data``; :func:`move_onnx` renames that file with the model (rewriting the names in
the ``.onnx``, no weight is read) and carries other layouts (one file per tensor, from other
tools) along under their own names. A data file that another model of the same folder also reads
is copied, not moved, and never deleted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .checks import check_path
from .errors import UsageError

_SUFFIX = ".data"  # as trt_magic.export.external.DATA_SUFFIX (not imported: it needs nothing)


def move_onnx(src: str | os.PathLike, dst: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Move the model ``src`` and its external data to ``dst`` (a file name or a folder).

    Its own data file (``<src>.data``) becomes ``<dst>.data``; other data files keep their
    names beside the new ``.onnx``. Returns the new path.

    Raises:
        UsageError: ``src`` is missing or reads a missing data file; a destination file exists
            (``overwrite=True`` replaces a model there, with its own data).
    """
    source, target = _model(src, "src"), _resolve(check_path("dst", dst))
    if target.is_dir() or os.fspath(dst).endswith(("/", os.sep)):  # "archive/": a folder
        target = target / source.name
    if target.exists() and target.samefile(source):
        return target
    plan = _plan(source, target)
    _check_free(plan, target, overwrite)
    if overwrite and target.exists():
        remove_onnx(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shared = _shared(source)
    for old, new in plan.items():
        if old.name in shared:
            shutil.copy2(old, new)
        else:
            shutil.move(old, new)
    own = source.name + _SUFFIX
    if source.parent / own in plan and own != target.name + _SUFFIX:
        from .export.external import rename_data

        rename_data(source, {own: target.name + _SUFFIX}, target)
        source.unlink()
    else:
        shutil.move(source, target)
    return target


def remove_onnx(path: str | os.PathLike) -> list[Path]:
    """Delete the model ``path`` and the external-data files only it reads; return what went.

    A data file another ``.onnx`` of the same folder reads is kept; files outside the model's
    folder are never touched.
    """
    source = _model(path, "path")
    shared = _shared(source)
    removed = []
    for data in _data_files(source, missing_ok=True):
        if data.name not in shared:
            data.unlink(missing_ok=True)
            removed.append(data)
    source.unlink()
    return [source, *removed]


def _resolve(path) -> Path:
    from .config import get_settings

    return get_settings().resolve_path(path)


def _model(path, name: str) -> Path:
    model = _resolve(check_path(name, path, hint=f"{name}='model.onnx'"))
    if not model.is_file():
        raise UsageError(f"no ONNX file at {model}", hint="check the path (or the workdir setting)")
    return model


def _data_files(model: Path, missing_ok: bool = False) -> list[Path]:
    """The external-data files ``model`` reads, each inside its folder."""
    from .netron.external import resolve_inside
    from .runners.external_data import external_data_files

    out = []
    for location in external_data_files(model):
        found = resolve_inside(model.parent, location)
        if found is None and not missing_ok:
            raise UsageError(
                f"{model.name} reads external data {location!r}, which is not a file in "
                f"{model.parent}",
                hint="put the data file back beside the model, or export it again",
            )
        if found is not None and found.parent == model.parent.resolve():
            out.append(model.parent / found.name)
    return out


def _plan(source: Path, target: Path) -> dict[Path, Path]:
    """Data file -> where it goes (its own data renamed after ``target``)."""
    own = source.name + _SUFFIX
    plan = {}
    for data in _data_files(source):
        name = target.name + _SUFFIX if data.name == own else data.name
        new = target.parent / name
        if new.resolve() != data.resolve():
            plan[data] = new
    return plan


def _check_free(plan: dict[Path, Path], target: Path, overwrite: bool) -> None:
    replaced = set(_data_files(target, missing_ok=True)) if target.exists() and overwrite else set()
    taken = [p for p in [target, *plan.values()] if p.exists() and p not in replaced]
    if overwrite and target in taken:
        taken.remove(target)
    if taken:
        raise UsageError(
            f"{', '.join(p.name for p in taken[:3])} already exist(s) in {target.parent}",
            hint="choose another name or folder"
            + ("" if overwrite else ", or pass overwrite=True to replace that model"),
        )


def _shared(model: Path) -> set[str]:
    """Names of ``model``'s data files that another ``.onnx`` in its folder also reads."""
    from .runners.external_data import external_data_files

    mine = set(external_data_files(model))
    if not mine:
        return set()
    others = [p for p in sorted(model.parent.glob("*.onnx"))[:500] if p.name != model.name]
    return {name for p in others for name in external_data_files(p) if name in mine}
