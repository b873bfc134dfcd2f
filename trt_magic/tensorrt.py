"""Facts about TensorRT versions: which version an image has, its opset cap, its operator table.

Everything here comes from real documents shipped as package data (``trt_magic/data/``):

- ``ngc_tensorrt_tags.csv``: NGC ``nvcr.io/nvidia/tensorrt`` tags with the TensorRT version their
  release notes state (provenance per row, see ``ngc_tensorrt_tags.SOURCES.md``);
- ``onnx_tensorrt_ops/operators-<version>.md``: ``docs/operators.md`` of onnx/onnx-tensorrt for
  TensorRT 8.6, 10.1 and 10.15 (see ``onnx_tensorrt_ops/SOURCES.md``).

Stdlib only: the export, widgets and runner code all ask these questions.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: Max ONNX opset per TensorRT release, from the header line of each branch's operators.md as
#: listed in onnx_tensorrt_ops/SOURCES.md ("TensorRT 8.6 supports operators up to Opset 17",
#: "TensorRT 10.0 ... opset 9 to opset 20", "TensorRT 10.15 ... opset 9 to opset 24").
#: Versions between two entries get the lower entry's cap: a cap known to work.
MAX_OPSET = {
    (7, 2): 13,
    (8, 0): 13,
    (8, 2): 13,
    (8, 4): 17,
    (8, 5): 17,
    (8, 6): 17,
    (9, 0): 19,
    (10, 0): 20,
    (10, 1): 20,
    (10, 15): 24,
}
#: The default image's TensorRT (nvcr.io/nvidia/tensorrt:23.04-py3) when an image is unknown.
FALLBACK_VERSION = "8.6.1"

#: TensorRT (major, minor) -> the operator table documenting it (the 10.1-GA file's header speaks
#: of 10.0, so it serves both)
OPERATOR_TABLES = {
    (8, 6): "operators-8.6.md",
    (10, 0): "operators-10.1.md",
    (10, 1): "operators-10.1.md",
    (10, 15): "operators-10.15.md",
}

_TAG_RE = re.compile(r":(?P<tag>[^:/@]+)(@.*)?$")


@dataclass(frozen=True)
class OpSupport:
    """One row of an ONNX-TensorRT operator table."""

    op: str
    supported: bool
    types: tuple[str, ...]
    restrictions: str
    table: str  # the file it came from, e.g. "operators-8.6.md"

    @property
    def restricted(self) -> bool:
        return self.supported and bool(self.restrictions)


def parse_version(version: str | None) -> tuple[int, int] | None:
    """``"8.6.1"`` -> ``(8, 6)``; None or text without a major.minor -> None."""
    if not version:
        return None
    m = re.match(r"\s*v?(\d+)\.(\d+)", str(version))
    return (int(m.group(1)), int(m.group(2))) if m else None


@functools.lru_cache(maxsize=1)
def _tag_table() -> dict[str, str]:
    text = resources.files("trt_magic").joinpath("data/ngc_tensorrt_tags.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {r["tag"].strip(): r["tensorrt_version"].strip() for r in rows if r["tensorrt_version"]}


def tensorrt_version_for_image(image: str) -> str | None:
    """The TensorRT version of a TensorRT container image, from its tag; None when unknown.

    The tag is matched against the NGC tag table whatever the registry prefix, so a mirror
    (``registry.local/nvidia/tensorrt:23.04-py3``) resolves too.
    """
    m = _TAG_RE.search(image.strip()) if image else None
    if not m:
        return None
    return _tag_table().get(m.group("tag"))


def _nearest_known(version: tuple[int, int], known) -> tuple[int, int] | None:
    lower = [k for k in known if k <= version]
    return max(lower) if lower else None


def max_opset(trt_version: str | None) -> int:
    """The highest ONNX opset ``trt_version`` parses; the default image's cap (17) when unknown."""
    parsed = parse_version(trt_version) or parse_version(FALLBACK_VERSION)
    key = _nearest_known(parsed, MAX_OPSET)
    return MAX_OPSET[key] if key else min(MAX_OPSET.values())


def operator_table_for(trt_version: str | None) -> str:
    """The operator table file that describes ``trt_version`` (nearest documented version below).

    Unknown or older versions get the 8.6 table, the oldest one shipped.
    """
    parsed = parse_version(trt_version) or parse_version(FALLBACK_VERSION)
    key = _nearest_known(parsed, OPERATOR_TABLES) or min(OPERATOR_TABLES)
    return OPERATOR_TABLES[key]


def parse_operator_table(text: str, table: str = "") -> dict[str, OpSupport]:
    """Parse the "Operator Support Matrix" of an onnx-tensorrt ``docs/operators.md``.

    Rows look like ``| Conv | Y | FP32, FP16, INT8 |`` or ``| CumSum | Y | FP32, FP16 | `axis`
    must be an initializer |`` (operators-8.6.md); unsupported ones like ``| Bernoulli | N |``,
    sometimes without the closing bar (``| Xor | Y | BOOL`` ends operators-10.15.md).
    """
    ops: dict[str, OpSupport] = {}
    in_matrix = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_matrix = line.strip() == "## Operator Support Matrix"
            continue
        if not in_matrix or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[1] not in ("Y", "N"):
            continue  # the header row and the ---- separator
        types = tuple(t.strip() for t in cells[2].split(",") if t.strip()) if len(cells) > 2 else ()
        restrictions = cells[3] if len(cells) > 3 else ""
        ops[cells[0]] = OpSupport(cells[0], cells[1] == "Y", types, restrictions, table)
    return ops


@functools.lru_cache(maxsize=8)
def _load_table(name: str) -> dict[str, OpSupport]:
    path = resources.files("trt_magic").joinpath(f"data/onnx_tensorrt_ops/{name}")
    return parse_operator_table(path.read_text("utf-8"), name)


def operator_support(trt_version: str | None) -> dict[str, OpSupport]:
    """ONNX operator -> :class:`OpSupport` for ``trt_version`` (see :func:`operator_table_for`)."""
    return dict(_load_table(operator_table_for(trt_version)))


# ----- the TensorRT version of an image, for real: its environment, then trtexec's banner -----

#: environment variables NVIDIA's TensorRT images set to their TensorRT version (either one)
VERSION_ENV_VARS = ("TRT_VERSION", "TENSORRT_VERSION")
#: trtexec's first log line: ``[TensorRT v101601] [b11] # trtexec ...`` (log-10.16.1-*.log),
#: ``[TensorRT v8601] # trtexec ...`` (log-8.6.1-segformer-*.log)
_BANNER = re.compile(r"\[TensorRT v(\d{4,6})\]")


@dataclass(frozen=True)
class ImageTensorRT:
    """An image's TensorRT version and where that came from (shown in notes)."""

    version: str | None
    source: str  # "image environment TRT_VERSION=11.1.0", "trtexec banner [TensorRT v110100]", ...

    @property
    def major(self) -> int | None:
        parsed = parse_version(self.version)
        return parsed[0] if parsed else None


def version_from_banner(text: str) -> str | None:
    """``[TensorRT v110100]`` -> ``"11.1.0"``; ``[TensorRT v8601]`` -> ``"8.6.1"``; else None.

    The number is NV_TENSORRT_VERSION: major*10000 + minor*100 + patch from TensorRT 10 on
    (``v101601`` is 10.16.1 in log-10.16.1-onnx-default-run.log), major*1000 + minor*100 + patch
    before (``v8601`` is 8.6.1, ``v8502`` 8.5.2 in log-8.5.2-yolov8seg-*.log).
    """
    m = _BANNER.search(text or "")
    if not m:
        return None
    n = int(m.group(1))
    major, rest = (n // 10000, n % 10000) if n >= 100000 else (n // 1000, n % 1000)
    return f"{major}.{rest // 100}.{rest % 100}"


def version_from_env(env) -> tuple[str, str] | None:
    """The (variable, version) an image's environment states; ``env`` is Docker's
    ``Config.Env`` list (``["TRT_VERSION=11.1.0.106", ...]``) or a mapping."""
    pairs = env.items() if isinstance(env, dict) else (e.partition("=")[::2] for e in env or ())
    found = dict(pairs)
    for name in VERSION_ENV_VARS:
        value = str(found.get(name) or "").strip()
        if parse_version(value):
            return name, value
    return None


_banner_lock = threading.Lock()
_banners: dict[str, str] = {}  # image id or name -> version learned (this process)


def remember_banner(image_id: str | None, log_text: str, cache_dir: str | None = None) -> None:
    """Learn ``image_id``'s TensorRT from the banner of a run's log (kept in ``cache_dir``)."""
    version = version_from_banner(log_text[:4096] if log_text else "")
    if image_id and version:
        remember_version(image_id, version, cache_dir)


def remember_version(key: str, version: str, cache_dir: str | None = None) -> None:
    """Remember that image ``key`` (an id or a name) has TensorRT ``version``."""
    with _banner_lock:
        _banners[key] = version
        if cache_dir:
            _write_banners(Path(cache_dir) / _BANNER_FILE, key, version)


_BANNER_FILE = "tensorrt_versions.json"


def _write_banners(path: Path, image_id: str, version: str) -> None:
    import json
    import os
    import tempfile

    known = _read_banners(path)
    if known.get(image_id) == version:
        return
    known[image_id] = version
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tensorrt_versions.")
        with os.fdopen(fd, "w") as f:
            json.dump(known, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:  # a read-only cache folder: the in-memory answer still holds
        pass


def _read_banners(path: Path) -> dict[str, str]:
    import json

    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def image_tensorrt(
    image: str,
    *,
    image_id: str | None = None,
    env=None,
    cache_dir: str | None = None,
) -> ImageTensorRT:
    """The TensorRT version of ``image``: its environment (``TRT_VERSION`` / ``TENSORRT_VERSION``),
    else the banner of an earlier run of the same image id, else the NGC tag table, else unknown.
    """
    stated = version_from_env(env)
    if stated:
        return ImageTensorRT(stated[1], f"image environment {stated[0]}={stated[1]}")
    for key in (k for k in (image_id, image) if k):
        with _banner_lock:
            learned = _banners.get(key)
        if learned is None and cache_dir:
            learned = _read_banners(Path(cache_dir) / _BANNER_FILE).get(key)
        if learned:
            return ImageTensorRT(learned, f"an earlier run of {key[:40]} (banner or environment)")
    tagged = tensorrt_version_for_image(image)
    if tagged:
        return ImageTensorRT(tagged, "NGC tag table (data/ngc_tensorrt_tags.csv)")
    return ImageTensorRT(None, f"unknown: {image} states no TensorRT version and has not run yet")
