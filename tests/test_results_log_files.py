"""trt_magic.results.log: impossible figures, reading log files (encodings, line ends, tails).

Real logs of tests/data, one figure or the encoding changed (see data/SOURCES.md)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from data.registry import DATA

import trt_magic
from trt_magic.errors import ResultError, ResultWarning
from trt_magic.results.log import parse_lines, parse_log, parse_log_file, split_lines, tail_lines

LOG = DATA / "trtexec/log-10.16.1-onnx-default-run.log"
PROFILE_LOG = DATA / "trtexec/log-10.16.1-dumpProfile-exportProfile.log"
EXCERPT = DATA / "trtexec/log-8.2-FAILED-pad-reflect-parse-excerpt.txt"  # Chinese notes around it
# 7.x: lines ending in spaces ("Producer version: ") and in X ("Format: ONNX"), kept as written
LEGACY = DATA / "trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log"


def _edit(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _parse_warned(text: str):
    with pytest.warns(ResultWarning) as caught:
        log = parse_log(text)
    assert len(caught) == 1
    return log, str(caught[0].message)


@pytest.mark.parametrize(
    ("old", "new", "dropped"),
    [
        ("Throughput: 15374.3 qps", "Throughput: inf qps", "Throughput = inf"),
        ("Latency: min = 0.0410156 ms", "Latency: min = -1e308 ms", "Latency min = -1e+308"),
        ("percentile(99%) = 0.041748 ms", "percentile(99%) = nan ms", "GPU Compute Time p99 = nan"),
        ("Total GPU Compute Time: 1.6586 s", "Total GPU Compute Time: -1.6586 s",
         "Total GPU Compute Time = -1.6586"),
        ("Engine built in 8.09138 sec", "Engine built in -8.09138 sec", "build_time_s = -8.09138"),
        ("size: 12.5744 MiB", "size: inf MiB", "engine_size_mib = inf"),
        ("deserialized in 0.00676279 sec", "deserialized in -nan sec", "deserialize_time_s = nan"),
        ("GPU latency: 0.0363007 ms", "GPU latency: -0.0363007 ms", "Average on N runs = -0.0363007"),
    ],
)  # fmt: skip
def test_one_impossible_figure_is_missing_and_named(old, new, dropped):
    real = parse_log(LOG.read_text(encoding="utf-8"))
    log, message = _parse_warned(_edit(LOG, old, new))
    assert log.impossible == [dropped]
    assert message == (
        f"trtexec log: 1 impossible figure (negative or not finite) read as missing: {dropped}"
    )
    # that figure only is missing; every other stays as read
    changed = {
        "Throughput = inf": lambda p: p.performance.pop("Throughput"),
        "Latency min = -1e+308": lambda p: p.performance["Latency"].pop("min"),
        "GPU Compute Time p99 = nan": lambda p: p.performance["GPU Compute Time"].pop("p99"),
        "Total GPU Compute Time = -1.6586": lambda p: p.performance.pop("Total GPU Compute Time"),
        "build_time_s = -8.09138": lambda p: setattr(p, "build_time_s", None),
        "engine_size_mib = inf": lambda p: setattr(p, "engine_size_mib", None),
        "deserialize_time_s = nan": lambda p: setattr(p, "deserialize_time_s", None),
        "Average on N runs = -0.0363007": lambda p: p.trace_averages.pop(0),
    }
    changed[dropped](real)
    real.impossible = [dropped]
    assert log == real


ROW = "      31.40       0.0017       0.0018       2.1   __mye59_0_myl0_0"
WHERE = "profile row '__mye59_0_myl0_0': "


def _missing_as_none(value: float | None) -> float | None:
    """NaN (a float column's missing value) and None alike as None."""
    return None if value is None else (None if math.isnan(value) else value)


@pytest.mark.parametrize(
    ("row", "figures", "dropped"),
    [
        ("     -31.40       0.0017       0.0018       2.1", (None, 0.0017, 0.0018, 2.1), "time = -31.4"),
        ("      31.40         -inf       0.0018       2.1", (31.40, None, 0.0018, 2.1), "average = -inf"),
        ("      31.40       0.0017      -0.0018       2.1", (31.40, 0.0017, None, 2.1), "median = -0.0018"),
        # a share of the total above 100 % cannot be
        ("      31.40       0.0017       0.0018     100.5", (31.40, 0.0017, 0.0018, None), "percent = 100.5"),
    ],
)  # fmt: skip
def test_impossible_profile_figure(row, figures, dropped):
    log, message = _parse_warned(_edit(PROFILE_LOG, ROW, f"{row}   __mye59_0_myl0_0"))
    assert log.impossible == [WHERE + dropped]
    assert message.endswith(f"read as missing: {WHERE}{dropped}")
    first = log.profile[0]
    got = (first.time_ms, first.average_ms, first.median_ms, first.percent)
    # missing: NaN in the float columns, None for the median (as read from --exportProfile)
    assert tuple(map(_missing_as_none, got)) == figures
    assert all(isinstance(v, float) for v in (got[0], got[1], got[3]))
    second = log.profile[1]  # the other rows stay as printed
    assert (second.time_ms, second.average_ms, second.median_ms, second.percent) == (
        193.50, 0.0105, 0.0098, 12.7,
    )  # fmt: skip
    assert len(log.profile) == 15


def test_valid_profile_is_kept_whole():
    log = parse_log(PROFILE_LOG.read_text(encoding="utf-8"))
    assert log.impossible == []
    last = log.profile[-1]
    assert (last.time_ms, last.average_ms, last.median_ms, last.percent) == (
        65.52,
        0.0036,
        0.0036,
        4.3,
    )


def test_several_impossible_figures_in_one_warning():
    text = _edit(LOG, "Throughput: 15374.3 qps", "Throughput: inf qps")
    text = text.replace("Engine built in 8.09138 sec", "Engine built in -1 sec")
    log, message = _parse_warned(text)
    assert log.impossible == ["Throughput = inf", "build_time_s = -1.0"]
    head = "trtexec log: 2 impossible figures (negative or not finite)"
    assert message.startswith(head)


def test_the_warning_names_the_callers_line(tmp_path):
    text = _edit(LOG, "Throughput: 15374.3 qps", "Throughput: inf qps")
    path = tmp_path / "run.log"
    path.write_text(text, encoding="utf-8")
    for parse, arg, source in [
        (parse_log, text, "trtexec log"),
        (parse_lines, text.splitlines(keepends=True), "trtexec log"),
        (parse_log_file, path, str(path)),
    ]:
        with pytest.warns(ResultWarning) as caught:
            log = parse(arg)
        if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines add stack frames
            assert caught[0].filename == __file__, parse
        assert str(caught[0].message).startswith(f"{source}: 1 impossible figure ")
        assert log.impossible == ["Throughput = inf"] and "Throughput" not in log.performance
    assert parse_lines([], "x.log").line_count == 0


# ---- files ----
def test_log_file_in_another_encoding_is_read_with_replacement_characters(tmp_path):
    # the real excerpt saved as GBK (a Chinese Windows console's code page): not UTF-8
    path = tmp_path / "gbk.log"
    path.write_bytes(EXCERPT.read_text(encoding="utf-8").encode("gbk"))
    log = parse_log_file(path)
    real = parse_log(EXCERPT.read_text(encoding="utf-8"))
    assert (log.status, log.errors, log.command) == (real.status, real.errors, real.command)
    assert "\ufffd" in log.unknown[0] and len(log.unknown) == len(real.unknown)
    assert [u for u in log.unknown if u.isascii()] == [u for u in real.unknown if u.isascii()]


def test_log_file_is_utf8_whatever_the_locale():
    # a C/ASCII locale (PEP 538/540 switched off) must not change how a UTF-8 log reads
    root = Path(trt_magic.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "LC_ALL": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8"}  # fmt: skip
    code = (
        "import sys; from trt_magic.results.log import parse_log_file, tail_lines;"
        "print(parse_log_file(sys.argv[1]).unknown[0]); print(tail_lines(sys.argv[1], 38)[0][0])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(EXCERPT)], env=env, cwd=root,
                         capture_output=True, check=True, encoding="utf-8").stdout  # fmt: skip
    first = "+ 测试环境：nvcr.io/nvidia/tensorrt:22.04-py3（含 TensorRT 8.2.3）"
    assert out.splitlines() == [first, first]
    assert parse_log_file(EXCERPT).unknown[0] == first  # and here, whatever this locale is


def test_unreadable_log_is_a_result_error(tmp_path):
    with pytest.raises(ResultError) as caught:
        parse_log_file(tmp_path)  # a folder
    assert caught.value.message == f"cannot read the log {tmp_path}: Is a directory"
    hint = "check the file's permissions, or pass another log="
    assert caught.value.hint == hint
    with pytest.raises(ResultError, match="No such file or directory"):
        tail_lines(tmp_path / "missing.log", 5)


def test_tail_lines(tmp_path):
    lines = LOG.read_text(encoding="utf-8").splitlines()
    assert tail_lines(LOG, 2) == (lines[-2:], 580)
    assert tail_lines(LOG, 0) == ([], 580)
    assert tail_lines(LOG, -3) == ([], 580)
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes(LOG.read_bytes().replace(b"\n", b"\r\n"))
    assert tail_lines(crlf, 3) == (lines[-3:], 580)
    legacy = LEGACY.read_text(encoding="utf-8").splitlines()
    assert tail_lines(LEGACY, 1000) == (legacy, 241)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("path", [LOG, LEGACY], ids=["10.16.1", "7.x"])
def test_line_ends_of_any_system(newline, path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    other = text.replace("\n", newline)
    assert split_lines(other) == lines
    assert parse_log(other) == parse_log(text)


def test_split_lines_keeps_metadata_separators():
    # 8.6+ joins "[ONNX Layer: ...]" with U+001E inside one line (dumpLayerInfo log)
    text = (DATA / "trtexec/log-10.16.1-dumpLayerInfo-skipInference.log").read_text(
        encoding="utf-8"
    )
    assert "\x1e" in text
    lines = split_lines(text)
    assert len(lines) == 169 and lines == text.split("\n")[:-1]
