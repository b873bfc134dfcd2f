"""The rewrite a build does for TensorRT 11 (``commandline.precision.Rewrite``), made once.

The rewritten model sits beside the original with a ``<model>.rewrite.json`` record of what it was
made from (the source's SHA-256) and how; a later build with the same source and settings reuses
it instead of rewriting again (a sweep builds one precision many times).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from .preview import PreviewRow
from .result import RewriteResult
from .stats import GraphStats


def record_path(target: Path) -> Path:
    return target.with_name(target.name + ".rewrite.json")


def _key(rewrite) -> dict:
    digest = hashlib.sha256()
    with open(rewrite.source, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"source": str(rewrite.source), "sha256": digest.hexdigest(), "kind": rewrite.kind,
            "precision": rewrite.precision, "settings": rewrite.settings}  # fmt: skip


def apply_rewrite(rewrite, note=lambda text: None) -> RewriteResult:
    """Make ``rewrite.target`` from ``rewrite.source`` (or reuse it); return what was done."""
    key = _key(rewrite)
    reused = _reuse(rewrite.target, key)
    if reused is not None:
        note(f"reusing {rewrite.target.name}: made earlier from the same model and settings")
        return reused
    note(f"rewriting {rewrite.source.name} for {rewrite.precision}: {rewrite.describe()}")
    if rewrite.kind == "cast":
        from .api import cast_onnx

        result = cast_onnx(rewrite.source, rewrite.precision, out=rewrite.target,
                           keep_fp32=rewrite.settings.get("keep_fp32"))  # fmt: skip
    else:
        from .api import quantize_onnx

        result = quantize_onnx(
            rewrite.source, None, rewrite.precision, out=rewrite.target,
            exclude=rewrite.settings.get("exclude"),
            high_precision=rewrite.settings.get("high_precision", "fp16"),
        )  # fmt: skip
    _store(rewrite.target, key, result)
    return result


def _store(target: Path, key: dict, result: RewriteResult) -> None:
    data = asdict(result)
    data.update(source=str(result.source), path=str(result.path))
    path = record_path(target)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"key": key, "result": data}, indent=1, default=str))
        os.replace(tmp, path)
    except OSError:  # a read-only folder: the next build rewrites again
        tmp.unlink(missing_ok=True)


def _reuse(target: Path, key: dict) -> RewriteResult | None:
    try:
        stored = json.loads(record_path(target).read_text())
    except (OSError, ValueError):
        return None
    if stored.get("key") != key or not target.is_file():
        return None
    try:
        d = dict(stored["result"])
        stats = {k: GraphStats.from_report(d[k], d[k]["size"]) for k in ("before", "after")}
        d.update(stats, source=Path(d["source"]), path=Path(d["path"]), reused=True,
                 preview=[PreviewRow(**r) for r in d["preview"]])  # fmt: skip
        return RewriteResult(**d)
    except (KeyError, TypeError, ValueError):  # an older or damaged record: rewrite again
        return None
