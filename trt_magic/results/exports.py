"""Read trtexec's JSON exports and TREx's metadata files into plain records (stdlib only).

- ``--exportLayerInfo``: ``{"Layers": [...], "Bindings": [...]}``. With
  ``--profilingVerbosity=detailed`` each layer is a dict; without it, only the layer names
  (``tests/data/trtexec/layerinfo-8.6.0-names-only.json``). 8.x writes long format strings
  (``Row major linear FP32``), 10.x Myelin layers short ones (``Float``, ``Half``) and few fields
  (``layerinfo-10.16.1-detailed.json``: ``gemm``/``kgen`` layers have no ``ParameterType``).
- ``--exportProfile``: ``[{"count": N}, {name, timeMs, averageMs, medianMs, percentage}, ...]``;
  TensorRT <= 8.2 has no ``medianMs``.
- ``--exportTimes``: one dict per timed inference (``startEnqMs ... latencyMs``).
- TREx ``*.build.metadata.json`` / ``*.profile.metadata.json`` (sections parsed from the log by
  TREx's ``parse_trtexec_log.py``) and the older device ``*.metadata.json`` (a list of dicts).
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ResultError
from .figures import Dropped, number, wrong_type
from .schema import layer_ok, layer_problem

#: a token of a ``Format/Datatype`` string -> the precision it names. Long 8.x strings
#: (``Channel major FP16 format where channel % 8 == 0``) and short 10.x ones (``Half``) alike;
#: the first token that names a type wins.
_DTYPE_TOKENS = {
    "FP32": "FP32",
    "Float": "FP32",
    "FP16": "FP16",
    "Half": "FP16",
    "BFloat16": "BF16",
    "BF16": "BF16",
    "FP8": "FP8",
    "FP4": "FP4",
    "Double": "FP64",
    "Int4": "INT4",
    "INT4": "INT4",
    "Int8": "INT8",
    "INT8": "INT8",
    "UInt8": "UINT8",
    "Int16": "INT16",
    "Int32": "INT32",
    "INT32": "INT32",
    "Int64": "INT64",
    "INT64": "INT64",
    "Bool": "BOOL",
    "BOOL": "BOOL",
}
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_dtype_cache: dict[str, str | None] = {}


def dtype_of_format(fmt: str | None) -> str | None:
    """Return the precision named by a ``Format/Datatype`` string (``None`` if unknown)."""
    if not fmt:
        return None
    try:
        return _dtype_cache[fmt]
    except KeyError:
        pass
    found = next((_DTYPE_TOKENS[t] for t in _TOKEN.findall(fmt) if t in _DTYPE_TOKENS), None)
    _dtype_cache[fmt] = found
    return found


@dataclass(slots=True)
class TensorInfo:
    """One input or output of an engine layer, as ``--exportLayerInfo`` describes it."""

    name: str
    dims: list[int]
    format: str  # the ``Format/Datatype`` string as written
    dtype: str | None  # normalised precision: FP32, FP16, BF16, INT8, INT32, INT64, BOOL...


@dataclass
class LayerRecord:
    """One engine layer. ``type`` is TREx's: ``ParameterType`` when present (``Convolution``),
    else ``LayerType`` (Myelin ``gemm``/``kgen``); ``precision`` that of the first input, as in
    TREx; ``tactic`` the ``TacticName`` or else ``TacticValue``. Names-only exports give records
    with only ``name`` set."""

    name: str
    type: str | None = None
    precision: str | None = None
    tactic: str | None = None
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def layer_type(self) -> str | None:
        """The engine's own layer kind (``CaskConvolution``, ``Reformat``, ``kgen``...)."""
        return self.raw.get("LayerType")

    @property
    def metadata(self) -> str:
        """The ONNX layers this layer came from (8.6+; U+001E/U+001F separators made ``+``)."""
        text = self.raw.get("Metadata") or ""
        return text.replace("\x1e", " + ").replace("\x1f", " + ")


@dataclass(slots=True)
class ProfileRecord:
    """One layer of ``--exportProfile``: total time over all iterations and per iteration."""

    name: str
    time_ms: float
    average_ms: float
    median_ms: float | None  # absent in TensorRT <= 8.2 profiles
    percent: float


class ProfileRecords(list):
    """``read_profile``'s result: a list of ProfileRecord plus the iteration ``count``."""

    count: int | None = None


@contextmanager
def no_gc(*, kept: bool = False) -> Iterator[None]:
    """Pause the cyclic GC while building many small objects that form no cycles.

    A big export is millions of dicts and records: each allocation burst would start a full
    collection that walks them all again, which makes loading superlinear in the layer count.

    ``kept=True``: what was built is kept (a Run caches it), so it goes to the oldest
    generation at once (``gc.freeze()`` then ``gc.unfreeze()``: two list moves) instead of
    being walked by the young collection that the first allocation after ``gc.enable()``
    would start (about 40 ms for a 10k-layer export), then by the middle one. Full
    collections still see it; whatever else was young then moves too, so a cycle dropped just
    before waits for the next full collection. Skipped when the program froze objects itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if kept and not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _load_json(path: str | Path, what: str) -> Any:
    """The parsed JSON of ``path`` (the same with and without orjson: see jsonfile.py)."""
    from .jsonfile import loads

    path = Path(path)
    hint = f"pass the file trtexec wrote as the {what}"
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ResultError(
            f"{what} file not found: {path}",
            hint="check the path, or the trtexec flag that should have written it",
        ) from None
    except OSError as exc:  # a folder, no permission, an I/O error
        raise ResultError(
            f"cannot read the {what} file {path}: {exc.strerror or exc}", hint=hint
        ) from None
    try:
        return loads(data)
    except (ValueError, RecursionError) as exc:  # json's decode errors, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ResultError(
            f"{path} is not valid JSON ({reason})",
            hint=f"{hint} (it may be cut short if trtexec was interrupted)",
        ) from None


def _tensor(raw: dict) -> TensorInfo:
    fmt = raw.get("Format/Datatype") or ""
    dims = list(raw.get("Dimensions") or [])
    return TensorInfo(str(raw.get("Name", "")), dims, fmt, dtype_of_format(fmt))


def layer_record(raw: dict | str) -> LayerRecord:
    """Make a LayerRecord from one entry of ``Layers`` (a dict, or a bare name string)."""
    if isinstance(raw, str):
        return LayerRecord(name=raw, raw={"Name": raw})
    inputs = [_tensor(t) for t in raw.get("Inputs") or ()]
    outputs = [_tensor(t) for t in raw.get("Outputs") or ()]
    first = inputs[0] if inputs else (outputs[0] if outputs else None)
    tactic = raw.get("TacticName") or raw.get("TacticValue") or None
    return LayerRecord(
        name=str(raw.get("Name", "")),
        type=raw.get("ParameterType") or raw.get("LayerType"),
        precision=first.dtype if first is not None else None,
        tactic=tactic,
        inputs=inputs,
        outputs=outputs,
        raw=raw,
    )


def layer_columns(raw_layers: list) -> dict[str, list]:
    """The per-layer columns of ``Run.layers`` straight from raw entries (no record objects),
    by the same rules as ``layer_record``: one pass, a handful of dict lookups per layer."""
    cols: dict[str, list] = {k: [] for k in ("name", "type", "layer_type", "precision", "tactic",
                                             "inputs", "output_shape", "out_dtype", "metadata")}  # fmt: skip
    name, kind, ltype, prec, tactic, n_in, shape, odt, meta = cols.values()
    for raw in raw_layers:
        if isinstance(raw, str):
            name.append(raw)
            for col in (kind, ltype, prec, tactic, shape, odt, meta):
                col.append(None)
            n_in.append(0)
            continue
        inputs, outputs = raw.get("Inputs") or (), raw.get("Outputs") or ()
        first = inputs[0] if inputs else (outputs[0] if outputs else None)
        out = outputs[0] if outputs else None
        name.append(str(raw.get("Name", "")))
        kind.append(raw.get("ParameterType") or raw.get("LayerType"))
        ltype.append(raw.get("LayerType"))
        prec.append(dtype_of_format(first.get("Format/Datatype")) if first else None)
        tactic.append(raw.get("TacticName") or raw.get("TacticValue") or None)
        n_in.append(len(inputs))
        shape.append("x".join(map(str, out.get("Dimensions") or ())) if out else None)
        odt.append(dtype_of_format(out.get("Format/Datatype")) if out else None)
        text = raw.get("Metadata")
        meta.append(text.replace("\x1e", " + ").replace("\x1f", " + ") if text else None)
    return cols


def check_layer_info(data: Any, source: str = "layer info") -> tuple[list, list]:
    """Validate loaded ``--exportLayerInfo`` JSON; return its raw (layers, bindings)."""
    if not isinstance(data, dict) or not isinstance(data.get("Layers"), list):
        raise ResultError(
            f"{source} is not trtexec --exportLayerInfo output (no 'Layers' list)",
            hint="pass the file written by --exportLayerInfo=<path> (a TREx *.graph.json works too)",
        )
    for index, raw in enumerate(data["Layers"]):  # the index as in the file
        if type(raw) is dict and not layer_ok(raw):
            raise layer_problem(raw, index, source)
    layers = [raw for raw in data["Layers"] if isinstance(raw, dict | str)]
    bindings = data.get("Bindings") or []
    if not isinstance(bindings, list):
        raise wrong_type(source, "", "Bindings", bindings, "a list")
    return layers, list(bindings)


def load_layer_info(path: str | Path) -> tuple[list, list]:
    """Read ``--exportLayerInfo`` JSON as raw (layers, bindings), validated."""
    with no_gc(kept=True):
        return check_layer_info(_load_json(path, "layer info"), str(path))


def read_layer_info_json(data: Any, source: str = "layer info") -> tuple[list[LayerRecord], list]:
    """Parse already-loaded ``--exportLayerInfo`` JSON into (layers, bindings)."""
    raw_layers, bindings = check_layer_info(data, source)
    return [layer_record(raw) for raw in raw_layers], bindings


def read_layer_info(path: str | Path) -> list[LayerRecord]:
    """Read ``--exportLayerInfo`` JSON (detailed or names-only) into LayerRecords."""
    raw_layers, _ = load_layer_info(path)
    with no_gc():
        return [layer_record(raw) for raw in raw_layers]


def read_bindings(path: str | Path) -> list[str]:
    """Return the engine's I/O tensor names listed in a ``--exportLayerInfo`` file."""
    return check_layer_info(_load_json(path, "layer info"), str(path))[1]


def is_detailed(layers: list[LayerRecord]) -> bool:
    """True when the export has per-layer details (built with --profilingVerbosity=detailed)."""
    return any(rec.type is not None for rec in layers)


def read_profile_json(data: Any, source: str = "profile") -> ProfileRecords:
    """Parse already-loaded ``--exportProfile`` JSON (skipping its ``{"count": N}`` records)."""
    if not isinstance(data, list):
        raise ResultError(
            f"{source} is not trtexec --exportProfile output (expected a JSON list)",
            hint="pass the file written by --exportProfile=<path>",
        )
    records = ProfileRecords()
    dropped = Dropped(source)
    for index, rec in enumerate(data):
        if not isinstance(rec, dict):
            continue
        if "name" not in rec:
            if records.count is None and "count" in rec:
                count = rec["count"]
                if isinstance(count, bool) or not isinstance(count, int):
                    raise wrong_type(source, f"record {index}: ", "count", count, "a whole number")
                if count >= 0:
                    records.count = count
                else:
                    dropped.append(f"record {index}: count = {count!r}")
            continue
        if type(rec["name"]) is not str:
            raise wrong_type(source, f"record {index}: ", "name", rec["name"], "a string")
        t, a, pc = rec.get("timeMs", 0.0), rec.get("averageMs", 0.0), rec.get("percentage", 0.0)
        median = rec.get("medianMs")
        if not (
            _plain(t)
            and _plain(a)
            and _plain(pc)
            and pc <= 100.0
            and (median is None or _plain(median))
        ):
            where = f"layer {rec['name']!r}: "
            t, a = number(t, "timeMs", dropped, where), number(a, "averageMs", dropped, where)
            pc = number(pc, "percentage", dropped, where, maximum=100.0)
            median = (
                None if median is None else _or_none(number(median, "medianMs", dropped, where))
            )
        records.append(ProfileRecord(rec["name"], float(t), float(a),
                                     None if median is None else float(median), float(pc)))  # fmt: skip
    dropped.warn(stacklevel=4)
    return records


def _or_none(value: float) -> float | None:
    return None if value != value else value


def _plain(value: Any) -> bool:
    """A non-negative finite JSON number (the fast path; ``figures.number`` says why not)."""
    return (type(value) is float or type(value) is int) and 0.0 <= value < math.inf


def read_profile(path: str | Path) -> ProfileRecords:
    """Read ``--exportProfile`` JSON into ProfileRecords (``.count``: profiled iterations)."""
    with no_gc(kept=True):
        return read_profile_json(_load_json(path, "profile"), str(path))


def read_times(path: str | Path) -> list[dict[str, float]]:
    """Read ``--exportTimes`` JSON: one dict per timed inference, keys as trtexec wrote them."""
    data = _load_json(path, "times")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ResultError(
            f"{path} is not trtexec --exportTimes output (expected a list of objects)",
            hint="pass the file written by --exportTimes=<path>",
        )
    dropped = Dropped(str(path))
    for index, rec in enumerate(data):
        for key, value in rec.items():
            if type(value) is float or type(value) is int:
                if 0.0 <= value < math.inf:  # the common case: no call
                    continue
            rec[key] = number(value, key, dropped, f"inference {index}: ")
    dropped.warn(stacklevel=3)
    return data


def read_trex_metadata(path: str | Path) -> dict[str, dict]:
    """Read a TREx ``*.build.metadata.json`` or ``*.profile.metadata.json`` (its sections)."""
    data = _load_json(path, "metadata")
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ResultError(
            f"{path} is not a TREx metadata file (expected an object of sections)",
            hint="pass a *.build.metadata.json or *.profile.metadata.json made by TREx",
        )
    return data


def read_device_metadata(path: str | Path, device: int = 0) -> dict:
    """Read TREx's older device file ``*.metadata.json`` (a list of per-GPU dicts)."""
    data = _load_json(path, "device metadata")
    if isinstance(data, dict):
        return data
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise ResultError(
            f"{path} is not a TREx device metadata file (expected a list of objects)",
            hint="pass the *.metadata.json TREx wrote next to the engine",
        )
    if not 0 <= device < len(data):
        raise ResultError(
            f"{path} has no device {device} (it lists {len(data)})",
            hint=f"pick a device from 0 to {len(data) - 1}",
        )
    return data[device]


#: statistics in TREx's 5- and 7-value lists, in the order trtexec prints them. The 5-value
#: form has one percentile: 99%, trtexec's default before 8.5 (log-8.2.5-...-notebook.log prints
#: ``Percentile: 99``); the 7-value form has 8.5+'s default 90,95,99 (log-10.16.1-onnx-default-run).
_STAT_KEYS = {
    4: ("min", "max", "mean", "median"),
    5: ("min", "max", "mean", "median", "p99"),
    7: ("min", "max", "mean", "median", "p90", "p95", "p99"),
}


def trex_performance(profile_metadata: dict, source: str = "profile metadata") -> dict[str, Any]:
    """Turn TREx's ``performance_summary`` into the shape ``parse_log`` gives.

    Returns ``{"Throughput": qps, "Latency": {"min": ms, ...}, ..., "Total Host Walltime": s}``.
    """
    section = profile_metadata.get("performance_summary", profile_metadata)
    if not isinstance(section, dict):
        raise wrong_type(source, "", "performance_summary", section, "an object")
    dropped = Dropped(source)
    out: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, list):
            names = _STAT_KEYS.get(len(value)) or tuple(f"stat{i}" for i in range(len(value)))
            stats = {n: number(value[i], f"{key}[{i}]", dropped) for i, n in enumerate(names)}
            out[key] = {n: v for n, v in stats.items() if v == v}
        elif isinstance(value, str) and key in _SUMMARY_NUMBERS:
            raise wrong_type(source, "", key, value, "a number")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            figure = number(value, key, dropped)
            if figure == figure:
                out[key] = figure
    dropped.warn(stacklevel=3)
    return out


#: performance_summary keys TREx writes as numbers (trex-tf-resnet50-rtx3090-fp32.profile.metadata.json)
_SUMMARY_NUMBERS = ("Throughput", "Total Host Walltime", "Total GPU Compute Time")
