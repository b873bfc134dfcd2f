"""Parse a trtexec console log (stdlib only, one pass, tolerant of lines it does not know).

Layouts seen in the real logs of tests/data/trtexec/:

- 8.x/10.x: ``&&&& RUNNING TensorRT.trtexec [TensorRT v101601] [b11] # trtexec ...`` banner,
  ``=== Build Options ===``-style sections of ``key: value`` lines, ``=== Performance summary ===``
  with ``Latency: min = ... ms, ..., percentile(99%) = ... ms`` lines, ``&&&& PASSED``/``FAILED``.
- 7.x (log-7.x-resnet50-onnx-explicitBatch-notebook.log): no version in the banner, and instead of
  a performance summary ``Host Latency`` / ``min: ... ms (end to end ... ms)`` blocks.
- Mixed text (log-8.2-FAILED-pad-reflect-parse-excerpt.txt): a log pasted inside notes, with the
  Python API's ``[TRT] [E]`` tag order and untagged ``ERROR:`` / ``Error Code`` lines.
- A shell prompt before the banner (log-8.5.2-yolov8seg-fp16-workspace-deprecated.log).
"""

from __future__ import annotations

import io
import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exports import ProfileRecord

# "[07/07/2026-02:10:45] [I] [TRT] message"; the Python API writes "[date] [TRT] [E] message".
# Severities (samples/common/logging.h severityPrefix): [F] kINTERNAL_ERROR, [E] kERROR, [W], [I], [V]
_LINE = re.compile(
    r"^\[(\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d)\] (?:\[TRT\] )?\[([IWEVF])\](?: (?:\[TRT\] )?(.*))?$"
)
_BANNER = re.compile(
    r"&&&& (RUNNING|PASSED|FAILED) TensorRT\.trtexec(?: \[TensorRT v(\d+)\])?(?: \[(b\d+)\])? # (.*)$"
)
_SECTION = re.compile(r"^=== (.+?) ===$")
# "=== Profile (18362 iterations ) ===" (--dumpProfile, log-10.16.1-dumpProfile-exportProfile.log)
_PROFILE_HEADER = re.compile(r"Profile \((\d+) iterations \)")
_PROFILE = "Profile"  # the section name kept while reading the --dumpProfile table
# a printed float; C++ streams print impossible ones as inf, -inf, nan, -nan: parsed, then refused
# by _Parser.finish (figures.measured), never silently skipped
_NUMBER = r"([-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|inf(?:inity)?|nan))"
_STAT = re.compile(rf"(\w+(?:\(\d+(?:\.\d+)?%\))?) = {_NUMBER} ms")
_PROFILE_ROW = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}\s+(?:{_NUMBER}\s+)?{_NUMBER}\s+(\S.*)$")
_TRACE_AVG = re.compile(
    rf"Average on \d+ runs - GPU latency: {_NUMBER} ms - Host latency: {_NUMBER} ms"
    rf".*?enqueue {_NUMBER} ms"
)
# "[TRT] Total Weights Memory: 13100672 bytes" (log-10.16.1-*), "Total Scratch Memory: 0" (8.x)
_MEMORY = re.compile(
    r"^Total (Weights|Activation|Host Persistent|Device Persistent|Scratch) Memory: (\d+)(?: bytes)?$"
)
_BINDING = re.compile(
    r"^(Input|Output) binding for (.+) with dimensions (\S+) and type (\S+) is created"
)
# error text found in untagged lines (mixed text, continuation lines)
_UNTAGGED_ERROR = re.compile(r"\bERROR:|\bError\[\d+\]|\bError Code \d+|\bINVALID_NODE\b")
# the 7.x statistics block (log-7.x-...-notebook.log)
_LEGACY_STAT = re.compile(rf"^(min|max|mean|median|percentile): {_NUMBER} ms(?: at (\d+)%)?")
_LEGACY_E2E = re.compile(rf"end to end {_NUMBER} ms")
_LEGACY_BLOCKS = {
    "Host Latency": "Latency",
    "Enqueue Time": "Enqueue Time",
    "GPU Compute": "GPU Compute Time",
}
# sections whose lines are not key: value settings
_NOT_SETTINGS = ("Trace details", "Explanations of the performance metrics")


@dataclass
class ParsedLog:
    """What a trtexec log says. Fields are None/empty when the log does not say it."""

    status: str | None = None  # "passed" | "failed" (from the &&&& line) | None
    command: list[str] = field(default_factory=list)  # trtexec argv after "trtexec"
    command_line: str = ""
    tensorrt_version: str | None = None  # "10.16.1" (version line, else the banner)
    trtexec_build: str | None = None  # "b11"
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    build_time_s: float | None = None
    engine_size_mib: float | None = None
    engine_size_exact: bool = True  # False when only the rounded "Loaded engine size: N MiB"
    deserialize_time_s: float | None = None
    performance: dict[str, Any] = field(default_factory=dict)
    profile: list[ProfileRecord] = field(default_factory=list)  # --dumpProfile table
    profile_iterations: int | None = None
    trace_averages: list[tuple[float, float, float]] = field(default_factory=list)
    bindings: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # untagged lines not understood, kept raw
    legacy: bool = False  # the 7.x layout (no performance summary)
    memory: dict[str, int] = field(default_factory=dict)  # "Total Weights Memory" ... in bytes
    impossible: list[str] = field(default_factory=list)  # figures read as missing (see finish)
    line_count: int = 0

    @property
    def ok(self) -> bool | None:
        return None if self.status is None else self.status == "passed"

    @property
    def device(self) -> dict[str, str]:
        """GPU name, compute capability, memory, SMs as printed in ``=== Device Information ===``."""
        info = self.sections.get("Device Information", {})
        keys = {"name": "Selected Device", "compute_capability": "Compute Capability",
                "memory": "Device Global Memory", "sms": "SMs"}  # fmt: skip
        return {k: info[v] for k, v in keys.items() if info.get(v)}

    @property
    def precision(self) -> str | None:
        """The ``Precision`` build option, e.g. ``FP32+FP16`` (None for --loadEngine runs)."""
        return self.sections.get("Build Options", {}).get("Precision") or None

    @property
    def precisions(self) -> list[str]:
        return self.precision.split("+") if self.precision else []


def spell_version(text: str | int | None) -> str | None:
    """Spell a TensorRT version dotted: ``8003`` -> ``8.0.3``, ``v8601`` -> ``8.6.1``,
    ``101601`` -> ``10.16.1``; a dotted ``8.6.1.6`` or ``10.16.1`` is kept as written.

    The integer is ``NV_TENSORRT_VERSION``: ``MAJOR*1000 + MINOR*100 + PATCH`` before 10
    (NVIDIA/TensorRT release/8.6 include/NvInferRuntimeBase.h), ``MAJOR*10000 + MINOR*100 + PATCH``
    from 10 on (release/10.0 include/NvInferRuntimeBase.h ``NV_TENSORRT_VERSION_INT``). trtexec
    8.0 prints ``TensorRT version: `` followed by that integer (``getInferLibVersion()``,
    release/8.0 samples/trtexec/trtexec.cpp); every banner ``[TensorRT vN]`` holds it too.
    Returns None for empty input; text that is neither form is returned stripped.
    """
    if text is None:
        return None
    raw = str(text).strip()
    digits = raw[1:] if raw[:1] in ("v", "V") else raw
    if not digits.isdigit():
        return raw or None
    number = int(digits)
    if len(digits) >= 6:  # 10.x and later
        return f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    if len(digits) == 4:  # 5.x-9.x
        return f"{number // 1000}.{number // 100 % 10}.{number % 100}"
    return raw


def _stat_name(raw: str) -> str:
    """``percentile(99%)`` -> ``p99``, ``percentile(99.9%)`` -> ``p99.9``; ``min`` stays ``min``."""
    m = re.match(r"percentile\((\d+(?:\.\d+)?)%\)", raw)
    # trtexec prints the percentile with 6 significant digits at most, as :g does
    return raw if m is None else f"p{float(m.group(1)):g}"


def _perf_value(value: str) -> Any:
    """Turn one ``Performance summary`` value into a float or a dict of statistics in ms."""
    stats = _STAT.findall(value)
    if stats:
        return {_stat_name(name): float(number) for name, number in stats}
    m = re.match(_NUMBER, value.strip())
    return float(m.group(1)) if m else value


class _Parser:
    """One pass over the lines; ``feed`` each line, then read ``log``."""

    section: str | None = None  # the "=== name ===" section being read (_PROFILE: the table)
    legacy_block: str | None = None  # the 7.x statistics block being read
    continue_error = False  # the last error line ends with ":": an untagged line continues it

    def __init__(self) -> None:
        self.log = ParsedLog()

    def feed(self, line: str) -> None:
        m = _LINE.match(line)
        if m is None:
            self._untagged(line)
            return
        severity, message = m.group(2), (m.group(3) or "").rstrip()
        error = severity in ("E", "F")
        self.continue_error = error and message.endswith(":")
        if error:
            self._add_error(message)
        elif severity == "W":
            self.log.warnings.append(message)
        elif severity == "I":
            self._info(message)

    def _add_error(self, message: str) -> None:
        if message and message not in self.log.errors:
            self.log.errors.append(message)

    def _untagged(self, line: str) -> None:
        text = line.strip()
        banner = _BANNER.search(text)
        if banner:
            self._banner(*banner.groups())
        elif self.continue_error and text:
            # "ERROR: onnxOpCheckers.cpp:923 In function ...:" continues on the next line
            # (log-10.16.0-FAILED-custom-op-plugin-not-found.log)
            self.log.errors[-1] = f"{self.log.errors[-1]} {text}"
            self.continue_error = False
        elif _UNTAGGED_ERROR.search(text):
            self._add_error(text)
        elif text:
            self.log.unknown.append(line)

    def _banner(self, state: str, digits: str | None, build: str | None, command: str) -> None:
        if state != "RUNNING":
            self.log.status = state.lower()
        if not self.log.command_line:
            self.log.command_line = command.strip()
            # the banner prints argv joined by spaces: argv[0] is the program ("trtexec",
            # "/usr/src/tensorrt/bin/trtexec", "trtexec.exe"), never an option
            self.log.command = command.split()[1:]
        # the "TensorRT version:" line, read later, wins: the banner is for logs without one
        self.log.tensorrt_version = self.log.tensorrt_version or spell_version(digits)
        self.log.trtexec_build = self.log.trtexec_build or build

    def _info(self, message: str) -> None:
        if message.startswith("Total ") and (mem := _MEMORY.match(message)):
            key = mem.group(1).lower().replace(" ", "_") + "_bytes"
            self.log.memory[key] = int(mem.group(2))  # the last build step's figure wins
            return
        header = _SECTION.match(message)
        if header:
            self._enter_section(header.group(1))
            return
        if not message:
            self.section, self.legacy_block = None, None
            return
        if self.section == _PROFILE:
            self._profile_row(message)
            return
        if self.section is not None and self.section not in _NOT_SETTINGS:
            key, sep, value = message.partition(":")
            if sep:
                self.log.sections[self.section][key.strip()] = value.strip()
                return
        self._facts(message)

    def _enter_section(self, name: str) -> None:
        profile = _PROFILE_HEADER.fullmatch(name)
        if profile:
            self.log.profile_iterations = int(profile.group(1))
            self.section = _PROFILE
            return
        self.section = name
        self.log.sections.setdefault(name, {})

    def _profile_row(self, message: str) -> None:
        """One row of the --dumpProfile table; the header row (``Time(ms) ...``) matches none."""
        m = _PROFILE_ROW.match(message)
        if not m:
            return
        total, avg, median, pct, name = m.groups()
        if name.strip() != "Total":
            self.log.profile.append(
                ProfileRecord(
                    name.strip(),
                    float(total),
                    float(avg),
                    None if median is None else float(median),
                    float(pct),
                )  # fmt: skip
            )

    def _facts(self, message: str) -> None:
        """Single-line facts outside the sections."""
        log = self.log
        if m := re.match(r"TensorRT version: (.*)", message):
            log.tensorrt_version = spell_version(m.group(1))
        elif m := re.match(rf"Engine built in {_NUMBER} sec", message):
            log.build_time_s = float(m.group(1))
        elif m := re.match(rf"Created engine with size: {_NUMBER} MiB", message):
            log.engine_size_mib, log.engine_size_exact = float(m.group(1)), True
        elif m := re.match(rf"Loaded engine size: {_NUMBER} MiB", message):
            if log.engine_size_mib is None:  # 8.x prints only this rounded figure
                log.engine_size_mib, log.engine_size_exact = float(m.group(1)), False
        elif m := re.match(rf"Engine deserialized in {_NUMBER} sec", message):
            log.deserialize_time_s = float(m.group(1))
        elif m := _TRACE_AVG.match(message):
            log.trace_averages.append(tuple(float(g) for g in m.groups()))
        elif m := _BINDING.match(message):
            kind, name, dims, dtype = m.groups()
            log.bindings.append({"kind": kind.lower(), "name": name, "dims": dims, "dtype": dtype})
        else:
            self._legacy(message)

    def _legacy(self, message: str) -> None:
        """The 7.x statistics blocks (``Host Latency`` then ``min: 2.16614 ms (end to end ...)``)."""
        if message in _LEGACY_BLOCKS:
            self.legacy_block = _LEGACY_BLOCKS[message]
            self.log.legacy = True
            return
        if self.legacy_block is None:
            return
        perf = self.log.performance
        m = _LEGACY_STAT.match(message)
        if m:
            stat, value, pct = m.groups()
            name = f"p{pct}" if pct else stat  # "percentile: 2.19336 ms at 99%"
            perf.setdefault(self.legacy_block, {})[name] = float(value)
            e2e = _LEGACY_E2E.search(message)  # in the Host Latency block only
            if e2e:
                perf.setdefault("End-to-End Host Latency", {})[name] = float(e2e.group(1))
        elif m := re.match(rf"throughput: {_NUMBER} qps", message):
            perf["Throughput"] = float(m.group(1))
        elif m := re.match(rf"walltime: {_NUMBER} s", message):
            perf["Total Host Walltime"] = float(m.group(1))
        elif m := re.match(rf"total compute time: {_NUMBER} s", message):
            perf["Total GPU Compute Time"] = float(m.group(1))

    def finish(self) -> ParsedLog:
        summary = self.log.sections.pop("Performance summary", None)
        if summary:
            self.log.performance = {k: _perf_value(v) for k, v in summary.items()}
        _drop_impossible(self.log)
        return self.log


def _drop_impossible(log: ParsedLog) -> None:
    """Negative or non-finite times, sizes and rates become missing (listed in ``impossible``)."""
    from .figures import measured

    dropped = log.impossible
    for key, value in list(log.performance.items()):
        if isinstance(value, dict):
            kept = {
                s: v for s, v in value.items() if measured(v, f"{key} {s}", dropped) is not None
            }
            log.performance[key] = kept
        elif isinstance(value, float) and measured(value, key, dropped) is None:
            del log.performance[key]
    for name in ("build_time_s", "engine_size_mib", "deserialize_time_s"):
        value = getattr(log, name)
        if value is not None:
            setattr(log, name, measured(value, name, dropped))
    log.trace_averages = [t for t in log.trace_averages
                          if all(measured(v, "Average on N runs", dropped) is not None for v in t)]  # fmt: skip
    # a row keeps its place: an impossible figure in it becomes NaN (None for the median), as
    # when read from --exportProfile (exports.read_profile)
    for p in log.profile:
        where = f"profile row {p.name!r}: "
        p.time_ms = _or_nan(measured(p.time_ms, where + "time", dropped))
        p.average_ms = _or_nan(measured(p.average_ms, where + "average", dropped))
        p.percent = _or_nan(measured(p.percent, where + "percent", dropped, maximum=100.0))
        if p.median_ms is not None:
            p.median_ms = measured(p.median_ms, where + "median", dropped)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def parse_lines(lines: Iterable[str], source: str = "trtexec log") -> ParsedLog:
    """Parse a trtexec log given line by line (streamed: the log is never held twice).

    Impossible figures (negative or non-finite) are left out, listed in ``impossible`` and
    reported with one :class:`~trt_magic.errors.ResultWarning`.
    """
    return _parse(lines, source)


def _parse(lines: Iterable[str], source: str) -> ParsedLog:
    """parse_lines; called by each public function itself, so that the warning names the line
    that called it (stacklevel 4: Dropped.warn, _parse, the public function, its caller)."""
    parser = _Parser()
    count = 0
    for line in lines:
        parser.feed(line.rstrip("\r\n"))
        count += 1
    log = parser.finish()
    log.line_count = count
    if log.impossible:
        from .figures import Dropped

        report = Dropped(source)
        report.extend(log.impossible)
        report.warn(stacklevel=4)
    return log


def parse_log(text: str) -> ParsedLog:
    """Parse the text of a trtexec log. Never raises on unknown or partial input."""
    # split as a file read would (not str.splitlines, which also splits at U+001E/U+001F, the
    # separators 8.6+ writes inside layer Metadata: log-10.16.1-dumpLayerInfo-skipInference.log)
    return _parse(io.StringIO(text, newline=None), "trtexec log")


def split_lines(text: str) -> list[str]:
    """Lines as a file read gives them (see parse_log on why not str.splitlines)."""
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline=None)]


def parse_log_file(path: str | Path) -> ParsedLog:
    """Parse a trtexec log file, streaming it (a --verbose log can be hundreds of MB)."""
    with _open_log(path) as fh:
        return _parse(fh, str(path))


def _open_log(path: str | Path):
    """The log opened for reading, or a ResultError saying why it cannot be (a folder, no
    permission, an I/O error): never a raw OSError from a view."""
    from ..errors import ResultError

    try:
        return open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - the caller's with
    except OSError as exc:
        raise ResultError(f"cannot read the log {path}: {exc.strerror or exc}",
                          hint="check the file's permissions, or pass another log=") from None  # fmt: skip


def tail_lines(path: str | Path, count: int) -> tuple[list[str], int]:
    """The last ``count`` lines of a file and its number of lines, streaming it."""
    tail: deque[str] = deque(maxlen=max(count, 0))
    total = 0
    with _open_log(path) as fh:
        for line in fh:
            tail.append(line.rstrip("\r\n"))
            total += 1
    return list(tail), total
