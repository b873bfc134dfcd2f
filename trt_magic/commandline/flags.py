"""The table of trtexec flags: which exist in which TensorRT version, which name files, what replaced
the removed ones.

Which flags exist is read from the real ``--help`` texts shipped in ``trt_magic/data/trtexec_help/``
(8.6.1, 10.0.1, 10.6.0, 10.16.1) and, for TensorRT 11.0 and 11.1, from the flag lists read off
``samples/common/sampleOptions.cpp`` at NVIDIA/TensorRT's v11.0 and v11.1 tags (provenance in its
SOURCES.md). Which flags name files, and whether
trtexec reads or writes them, is the table :data:`FILE_FLAGS` below (the help marks most of them
``=<file>``; the plugin and ``spec`` flags say it in words). Python code uses snake_case; trtexec's
camelCase names live only here and in ``command.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: help texts shipped as package data: TensorRT version -> file name
HELP_FILES = {
    "8.6.1": "help-trtexec-8.6.1.txt",
    "10.0.1": "help-trtexec-10.0.1.txt",
    "10.6.0": "help-trtexec-10.6.0.txt",
    "10.16.1": "help-trtexec-10.16.1.txt",
}
#: flag lists read off samples/common/sampleOptions.cpp at NVIDIA/TensorRT tags v11.0 / v11.1
#: (no recorded 11.x --help is public; data/trtexec_help/SOURCES.md says how they were read)
SOURCE_FILES = {
    "11.0.0": "flags-trtexec-11.0.0.txt",
    "11.1.0": "flags-trtexec-11.1.0.txt",
}
#: every version whose flags are known: TensorRT version -> file
FLAG_FILES = {**HELP_FILES, **SOURCE_FILES}


@dataclass(frozen=True)
class FileFlag:
    """A flag whose value names files.

    Attributes:
        direction: "input" (must exist), "output" (written), "inout" (read when present, then
            written: timing and calibration caches) or "dir" (a folder trtexec writes into).
        kind: the ``Run.files`` key of the file, or None when runs do not track it.
        value: how files sit in the value: "file" (the whole value), "name_file_list"
            (``name:file[,name:file]``, as ``--loadInputs``), or "plugin" (``lib.so[ns::p,...]``).
    """

    direction: str
    kind: str | None = None
    value: str = "file"


#: flag -> what its value names. ``--plugins`` is not in the 8.6.1 / 10.x help texts but trtexec
#: accepts it (log-8.6.1-segformer-build-verbose-workspace-plugin.log, log-10.16.1-plugins-deprecated-flag.log).
FILE_FLAGS: dict[str, FileFlag] = {
    "--onnx": FileFlag("input", "onnx"),
    "--uff": FileFlag("input"),
    "--model": FileFlag("input"),
    "--deploy": FileFlag("input"),
    "--loadEngine": FileFlag("input", "engine"),
    "--saveEngine": FileFlag("output", "engine"),
    "--timingCacheFile": FileFlag("inout", "timing_cache"),
    "--calib": FileFlag("inout"),  # INT8 calibration cache: read when present, else written
    "--exportTimes": FileFlag("output", "times"),
    "--exportOutput": FileFlag("output", "output"),
    "--exportProfile": FileFlag("output", "profile"),
    "--exportLayerInfo": FileFlag("output", "layer_info"),
    "--loadInputs": FileFlag("input", None, "name_file_list"),
    "--saveDebugTensors": FileFlag("output", None, "name_file_list"),
    "--plugins": FileFlag("input"),
    "--staticPlugins": FileFlag("input"),
    "--dynamicPlugins": FileFlag("input"),
    "--setPluginsToSerialize": FileFlag("input"),
    "--safetyPlugins": FileFlag("input", None, "plugin"),
    "--leanDLLPath": FileFlag("input"),
    "--tempdir": FileFlag("dir"),
    # TensorRT 11.1 (sampleOptions.cpp at v11.1: "--tuneBuildRouteFile=<f>", "--tuningCacheFile=<f>
    # JSON file to which per-iteration results are appended", "--loadRefOutputs=spec ... name:file")
    "--tuneBuildRouteFile": FileFlag("input"),
    "--tuningCacheFile": FileFlag("inout"),
    "--loadRefOutputs": FileFlag("input", None, "name_file_list"),
}

#: flags trtexec accepts although its help does not list them, with the versions a real log shows
#: them accepted in (min, max) and that log.
ACCEPTED_UNLISTED = {
    "--plugins": ("8.5", "10.16.1", "log-10.16.1-plugins-deprecated-flag.log"),
    "--explicitBatch": ("7", "7.99", "log-7.x-resnet50-onnx-explicitBatch-notebook.log"),
}


@dataclass(frozen=True)
class Replacement:
    """What to use instead of a removed or deprecated flag."""

    template: str | None  # the new argument, "{value}" is the old value; None: just drop it
    why: str

    def apply(self, value: str | None) -> str | None:
        if self.template is None:
            return None
        return self.template.format(value=value if value is not None else "N")


#: removed/deprecated flags -> replacement. Removals are read off the help texts (``--workspace``,
#: ``--maxBatch``, ``--batch``, ``--minTiming``, ``--heuristic``, UFF/Caffe are in 8.6.1, not in
#: 10.0.1); the wording of the warnings from the logs named in ACCEPTED_UNLISTED and
#: log-8.5.2-yolov8seg-fp16-workspace-deprecated.log ("--workspace flag has been deprecated by
#: --memPoolSize flag.").
REPLACEMENTS: dict[str, Replacement] = {
    "--workspace": Replacement(
        "--memPoolSize=workspace:{value}", "--workspace was replaced by --memPoolSize (MiB)"
    ),
    "--explicitBatch": Replacement(None, "explicit batch is the only mode since TensorRT 8/10"),
    "--buildOnly": Replacement("--skipInference", "--buildOnly was renamed --skipInference"),
    "--maxBatch": Replacement(
        None, "implicit batch is gone in TensorRT 10: give --minShapes/--optShapes/--maxShapes"
    ),
    "--batch": Replacement(
        None, "implicit batch is gone in TensorRT 10: give --shapes=input:NxCxHxW"
    ),
    "--minTiming": Replacement(None, "TensorRT 10 removed --minTiming; --avgTiming remains"),
    "--heuristic": Replacement(
        "--builderOptimizationLevel=1",
        "TensorRT 10 removed --heuristic; lower optimization levels build faster",
    ),
    "--plugins": Replacement(
        "--staticPlugins={value}", "--plugins is deprecated, use --staticPlugins"
    ),
    "--weightless": Replacement("--stripWeights", "--weightless is deprecated, use --stripWeights"),
    "--nvtxMode": Replacement(
        "--profilingVerbosity={value}", "--nvtxMode was replaced by --profilingVerbosity"
    ),
    "--uff": Replacement(None, "TensorRT 10 reads no UFF: export the model to ONNX (--onnx=...)"),
    "--model": Replacement(
        None, "TensorRT 10 reads no Caffe: export the model to ONNX (--onnx=...)"
    ),
    "--deploy": Replacement(
        None, "TensorRT 10 reads no Caffe: export the model to ONNX (--onnx=...)"
    ),
}

#: TensorRT 11.0 removed weak typing and implicit quantization: these 10.16 flags are gone from
#: sampleOptions.cpp at v11.0 and v11.1 (data/trtexec_help/SOURCES.md) -> what replaces each one.
#: trt_magic does the replacement itself for the precision flags (trt_magic.precision).
REMOVED_IN_11: dict[str, Replacement] = {
    **{
        flag: Replacement(
            None,
            f"TensorRT 11 removed {flag}: the precision comes from the model's own types; "
            f"rewrite the model with {how} and build it as it is",
        )
        for flag, how in (
            ("--fp16", "cast_onnx(path, 'fp16')"),
            ("--bf16", "cast_onnx(path, 'bf16')"),
            ("--int8", "quantize_onnx(path, calibration, 'int8')"),
            ("--fp8", "quantize_onnx(path, calibration, 'fp8')"),
            ("--best", "quantize_onnx(path, calibration, 'int8') (the rest in FP16)"),
            ("--int4", "ModelOpt's INT4 weight quantization"),
        )
    },
    **{
        flag: Replacement(
            None,
            f"TensorRT 11 removed calibration ({flag}): give calibration data to "
            "quantize_onnx(path, calibration), which writes explicit Q/DQ nodes",
        )
        for flag in (
            "--calib",
            "--calibProfile",
            "--minShapesCalib",
            "--optShapesCalib",
            "--maxShapesCalib",
        )
    },  # fmt: skip
    **{
        flag: Replacement(
            None,
            f"TensorRT 11 removed {flag}: a layer's precision is its type in the model; "
            "keep layers in FP32 with cast_onnx(path, keep_fp32=[...])",
        )
        for flag in ("--layerPrecisions", "--layerOutputTypes", "--precisionConstraints")
    },
    "--restricted": Replacement(None, "TensorRT 11 removed --restricted (safety restrictions)"),
    "--weightless": Replacement(
        "--stripWeights", "TensorRT 11 removed --weightless: use --stripWeights"
    ),
}

_HELP_FLAG = re.compile(r"^  (-{1,2}[A-Za-z][\w]*)(?:=\S*)?(?:, (-{1,2}[A-Za-z][\w]*))?")


def split_flag(arg: str) -> tuple[str, str | None]:
    """Split ``--name=value`` into (``--name``, ``value``); value None when there is no ``=``."""
    name, sep, value = arg.partition("=")
    return name, (value if sep else None)


@cache
def help_flags(trt_version: str) -> frozenset[str]:
    """Return the flags listed in the shipped ``--help`` text (or 11.x flag list) of
    ``trt_version`` (e.g. "10.16.1", "11.1.0")."""
    text = Path(__file__).parent.parent / "data" / "trtexec_help" / FLAG_FILES[trt_version]
    found = set()
    for line in text.read_text(encoding="utf-8").splitlines():
        m = _HELP_FLAG.match(line)
        if m:
            found.update(g for g in m.groups() if g)
    return frozenset(found)


def _version_key(version: str) -> tuple[int, ...]:
    """``"11.0"`` -> (11, 0, 0), ``"11.1.0.106"`` -> (11, 1, 0): the build number is ignored."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]] or [0]
    return tuple(parts + [0] * (3 - len(parts)))


def _bracketing_helps(trt_version: str) -> list[str]:
    """The shipped help versions to judge ``trt_version`` by: itself, or the ones around it."""
    if trt_version in FLAG_FILES:
        return [trt_version]
    key = _version_key(trt_version)
    # a removal at a major version is sharp: 11.x is never judged by a 10.x text
    ordered = sorted(
        (v for v in FLAG_FILES if (_version_key(v)[0] >= 11) == (key[0] >= 11)), key=_version_key
    )
    same = [v for v in ordered if _version_key(v) == key]  # "11.0" or "11.0.0.114" is 11.0.0
    if same:
        return same
    below = [v for v in ordered if _version_key(v) <= key]
    above = [v for v in ordered if _version_key(v) > key]
    # a version between two help texts may know what either knows: accept both
    return [v for v in (below[-1:] + above[:1]) if v]


def flag_known(flag: str, trt_version: str | None = None) -> bool:
    """Tell whether trtexec of ``trt_version`` accepts ``flag`` (``--fp16`` or ``--fp16=...``).

    ``trt_version`` None means any shipped version. Versions between two shipped help texts accept
    what either accepts, so this only says False when the evidence says so.
    """
    name, _ = split_flag(flag)
    versions = list(FLAG_FILES) if trt_version is None else _bracketing_helps(trt_version)
    if any(name in help_flags(v) for v in versions):
        return True
    unlisted = ACCEPTED_UNLISTED.get(name)
    if unlisted is None:
        return False
    if trt_version is None:
        return True
    low, high, _ = unlisted
    return _version_key(low) <= _version_key(trt_version) <= _version_key(high)


def flag_versions(flag: str) -> list[str]:
    """Return the shipped help versions that list ``flag``."""
    name, _ = split_flag(flag)
    return [v for v in FLAG_FILES if name in help_flags(v)]


def all_flags() -> frozenset[str]:
    """Every flag of every shipped help text."""
    return frozenset().union(*(help_flags(v) for v in FLAG_FILES))


def is_11(trt_version: str | None) -> bool:
    """True for TensorRT 11 and later (strongly typed only: no precision flags)."""
    return bool(trt_version) and _version_key(trt_version)[0] >= 11


def replacement_for(arg: str, trt_version: str | None = None) -> tuple[str | None, str] | None:
    """Return (new argument or None to drop it, why) for a removed/deprecated flag, else None.

    The TensorRT 11 removals (:data:`REMOVED_IN_11`) count only when ``trt_version`` is 11.x.
    """
    name, value = split_flag(arg)
    rep = REMOVED_IN_11.get(name) if is_11(trt_version) else None
    rep = rep or REPLACEMENTS.get(name)
    if rep is None:
        return None
    return rep.apply(value), rep.why


def suggest(flag: str) -> str | None:
    """The closest known flag to an unknown one ("did you mean"), or None."""
    import difflib

    name, _ = split_flag(flag)
    close = difflib.get_close_matches(name, sorted(all_flags()), n=1, cutoff=0.75)
    return close[0] if close else None


def check_flags(args: list[str], trt_version: str | None) -> list[str]:
    """Return one message per flag ``trt_version``'s trtexec does not know or has deprecated."""
    notes = []
    for arg in args:
        if not arg.startswith("-"):
            continue
        name, _ = split_flag(arg)
        rep = replacement_for(arg, trt_version)
        known = flag_known(name, trt_version)
        where = f"TensorRT {trt_version}" if trt_version else "any known TensorRT"
        if rep is not None and (not known or name in ("--plugins", "--weightless", "--workspace")):
            new, why = rep
            use = f"use {new}" if new else "drop it"
            notes.append(
                f"{name}: {why}; {use}" + ("" if known else f" ({where} does not know it)")
            )
        elif not known:
            guess = suggest(name)
            notes.append(
                f"{name} is not an option of {where}"
                + (f"; did you mean {guess}?" if guess else "")
            )
    return notes
