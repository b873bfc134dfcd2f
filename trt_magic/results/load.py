"""``load_run``: open results produced elsewhere (a colleague's trtexec, TREx's scripts) as a Run."""

from __future__ import annotations

from pathlib import Path

from ..errors import ResultError
from .run import Run

#: file kind -> suffixes after ``<prefix>``, as trtexec users and TREx's ``process_engine.py``
#: name them (``<engine>.profile.json``, ``<engine>.graph.json``, ``<engine>.timing.json``,
#: ``<engine>.metadata.json``...), first match wins
SUFFIXES = {
    "log": (".log", ".profile.log", ".build.log", ".txt"),
    "profile": (".profile.json",),
    "layer_info": (".graph.json", ".layers.json", ".layer_info.json", ".layerinfo.json"),
    "times": (".timing.json", ".times.json", ".timings.json"),
    "build_metadata": (".build.metadata.json",),
    "profile_metadata": (".profile.metadata.json",),
    "device_metadata": (".metadata.json",),
    "engine": ("", ".engine", ".plan", ".trt"),
}
#: plain names inside a folder (TREx's notebook folder has profile.json and layer_info.json)
FOLDER_NAMES = {
    "log": ("log.profile.txt", "log.build.txt", "trtexec.log"),
    "profile": ("profile.json",),
    "layer_info": ("layer_info.json", "graph.json", "layers.json"),
    "times": ("timing.json", "times.json"),
    "build_metadata": ("build.metadata.json",),
    "profile_metadata": ("profile.metadata.json",),
    "device_metadata": ("metadata.json",),
}
_ALL_SUFFIXES = sorted(
    {s for group in SUFFIXES.values() for s in group if s}, key=len, reverse=True
)


def _strip_known_suffix(prefix: Path) -> Path:
    """``x/resnet.onnx.engine.profile.json`` -> ``x/resnet.onnx.engine``: any result file names its run."""
    name = prefix.name
    for suffix in _ALL_SUFFIXES:
        if suffix.endswith(".json") and name.endswith(suffix):
            return prefix.with_name(name[: -len(suffix)])
    return prefix


def sniff_kind(path: Path) -> str | None:
    """Say which result a JSON file holds from its content (for files named freely)."""
    from .exports import _load_json

    try:
        data = _load_json(path, "result")
    except ResultError:
        return None
    if isinstance(data, dict):
        if "Layers" in data:
            return "layer_info"
        if "performance_summary" in data:
            return "profile_metadata"
        if "build_options" in data:
            return "build_metadata"
    if isinstance(data, list) and data and isinstance(data[-1], dict):
        last = data[-1]
        if "timeMs" in last:
            return "profile"
        if "latencyMs" in last:
            return "times"
        if "ComputeCapability" in last:
            return "device_metadata"
    return None


def find_files(prefix: str | Path) -> dict[str, Path]:
    """Find a run's files from ``<prefix>`` (or a folder, or one of its files)."""
    prefix = Path(prefix).expanduser()
    found: dict[str, Path] = {}
    if prefix.is_dir():
        for kind, names in FOLDER_NAMES.items():
            hit = next((prefix / n for n in names if (prefix / n).is_file()), None)
            if hit:
                found[kind] = hit
        if found:
            return found
    if not prefix.name:  # "/", "." or "..": a folder without result files names no run
        return found
    if prefix.is_file() and prefix.suffix in (".log", ".txt"):
        found["log"] = prefix
        prefix = prefix.with_suffix("")
    elif prefix.is_file() and prefix.suffix == ".json" and _strip_known_suffix(prefix) == prefix:
        kind = sniff_kind(prefix)  # a freely named export, e.g. layerinfo-10.16.1-detailed.json
        return {kind: prefix} if kind else {}
    prefix = _strip_known_suffix(prefix)
    for kind, suffixes in SUFFIXES.items():
        for suffix in suffixes:
            candidate = prefix.with_name(prefix.name + suffix)
            if kind in found:
                break
            if candidate.is_file() and candidate not in found.values():
                if kind == "engine" and candidate.suffix in (".json", ".log", ".txt"):
                    continue
                found[kind] = candidate
                break
    return found


def load_run(
    prefix: str | Path | None = None,
    *,
    log: str | Path | None = None,
    profile: str | Path | None = None,
    layer_info: str | Path | None = None,
    times: str | Path | None = None,
    build_metadata: str | Path | None = None,
    profile_metadata: str | Path | None = None,
    device_metadata: str | Path | None = None,
    engine: str | Path | None = None,
    shape_profile: int | None = None,
) -> Run:
    """Open trtexec results on disk as a Run.

    Args:
        prefix: ``<prefix>.log``, ``.profile.json``, ``.graph.json``/``.layers.json``,
            ``.timing.json`` and TREx's ``.build.metadata.json``, ``.profile.metadata.json``,
            ``.metadata.json`` are looked for; a folder or any one of those files also works.
        log, profile, layer_info, times, ...: explicit paths (they win over what ``prefix`` found).
        shape_profile: the optimization profile ``run.layers`` shows for an engine built with
            several (default: the profiled one, else 0; see ``Run.layers_for``).

    Raises:
        ResultError: no result file was found, or an explicit path does not exist.
    """
    from ..checks import check_path

    hint = "load_run('out/model') or load_run(log='out/model.log', profile=...)"
    if prefix is not None:
        check_path("prefix", prefix, hint)
    files = find_files(prefix) if prefix is not None else {}
    explicit = {"log": log, "profile": profile, "layer_info": layer_info, "times": times,
                "build_metadata": build_metadata, "profile_metadata": profile_metadata,
                "device_metadata": device_metadata, "engine": engine}  # fmt: skip
    for kind, path in explicit.items():
        if path is None:
            continue
        path = Path(check_path(kind, path, hint)).expanduser()
        if not path.is_file():
            raise ResultError(f"{kind.replace('_', ' ')} file not found: {path}",
                              hint=f"check the path given as {kind}=")  # fmt: skip
        files[kind] = path
    if not files:
        where = f"for prefix {str(prefix)!r}" if prefix is not None else "(no paths given)"
        raise ResultError(
            f"no trtexec result files found {where}",
            hint="pass the prefix the files share (e.g. 'out/model' for out/model.log, "
            "out/model.profile.json, out/model.graph.json) or explicit log=/profile=/layer_info= paths",
        )
    run = Run(files=files, backend="files", status="loaded", shape_profile=shape_profile)
    run.command = list(run.log.command)
    run.recorded = shipped_recording(files)
    return run


def shipped_recording(files: dict[str, Path]):
    """trt_magic's own recordings (package data) loaded by path stay labelled recorded."""
    from .run import Recorded

    shipped = Path(__file__).resolve().parent.parent / "data" / "recorded"
    paths = {Path(p).resolve() for p in files.values()}
    if not paths or not all(shipped in p.parents for p in paths):
        return None
    from ..runners.replay import recordings  # package data only: no backend is started

    for rec in recordings():
        if paths & {p.resolve() for p in rec.paths().values()}:
            return rec.recorded(["loaded from trt_magic's shipped recordings: no run of yours"])
    return Recorded(source=str(shipped), differences=["a file of trt_magic's shipped recordings"])
