"""JSON exports: the same result with and without orjson, wrongly typed fields as clean errors,
impossible figures as missing values with a warning. Every case starts from a REAL export of
tests/data (registry.py) and changes one value, as a hand edit or another tool would."""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import pytest
from data import registry

from trt_magic.errors import ResultError, ResultWarning
from trt_magic.results import exports, jsonfile
from trt_magic.results.load import load_run

DATA = registry.DATA
RECORDED = Path(exports.__file__).parent.parent / "data" / "recorded"
JSON_FILES = sorted(
    [p for p in DATA.rglob("*.json")] + [p for p in RECORDED.rglob("*.json")], key=str
)
PROFILE = DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.json"
LAYERS = DATA / "trtexec/layerinfo-10.16.1-detailed.json"
TIMES = DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32.timing.json"
PERF = DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.metadata.json"


def _both(data: bytes):
    """(result or exception type) of the orjson path and of the json path."""
    out = []
    for fast in (True, False):
        try:
            out.append(("ok", _canon(jsonfile.loads(data, fast=fast))))
        except (ValueError, RecursionError) as exc:
            out.append(
                ("error", type(exc).__name__ if not isinstance(exc, ValueError) else "ValueError")
            )
    return out


def _canon(value):
    """NaN != NaN: compare by repr, types included (an int must stay an int)."""
    return repr(value)


def test_orjson_is_installed_here():
    assert jsonfile._orjson() is not None  # else the parity tests below compare json with itself


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_every_fixture_parses_the_same_with_and_without_orjson(path):
    data = path.read_bytes()
    fast, slow = _both(data)
    assert fast == slow == ("ok", repr(json.loads(data)))


def _edited(path: Path, old: bytes, new: bytes, count: int = 1) -> bytes:
    data = path.read_bytes()
    assert old in data, old
    return data.replace(old, new, count)


EDGES = {
    "NaN literal": (PROFILE, b'"averageMs" : 0.08704', b'"averageMs" : NaN'),
    "Infinity literal": (PROFILE, b'"timeMs" : 0.08704', b'"timeMs" : Infinity'),
    "-Infinity literal": (PROFILE, b'"timeMs" : 0.08704', b'"timeMs" : -Infinity'),
    "beyond a double": (PROFILE, b'"timeMs" : 0.08704', b'"timeMs" : 1e400'),
    "int beyond 64 bits": (
        PROFILE,
        b'{ "count" : 1 }',
        b'{ "count" : 123456789012345678901234567890 }',
    ),
    "int at uint64 max": (PROFILE, b'{ "count" : 1 }', b'{ "count" : 18446744073709551615 }'),
    "duplicate key": (PROFILE, b'"averageMs" : 0.08704', b'"averageMs" : 1, "averageMs" : 0.08704'),
    "lone surrogate": (LAYERS, b'"Name": "x"', b'"Name": "x\\ud800"'),
    "BOM": (PROFILE, b"[", b"\xef\xbb\xbf["),
    "cut short": (PROFILE, b"\n]", b""),
    "invalid UTF-8": (LAYERS, b'"Name": "x"', b'"Name": "x\xff"'),
}


@pytest.mark.parametrize("case", sorted(EDGES))
def test_edge_cases_parse_the_same_with_and_without_orjson(case):
    path, old, new = EDGES[case]
    fast, slow = _both(_edited(path, old, new))
    assert fast == slow


def test_utf16_and_deep_nesting_alike():
    text = PROFILE.read_text(encoding="utf-8")
    fast, slow = _both(text.encode("utf-16"))
    assert fast == slow and fast[0] == "ok"
    deep = b"[" * 5000 + b"]" * 5000
    fast, slow = _both(deep)
    assert fast[0] == slow[0] == "error"


def _readers_agree(tmp_path, monkeypatch, name: str, data: bytes, reader):
    path = tmp_path / name
    path.write_bytes(data)
    results = []
    for absent in (False, True):
        with monkeypatch.context() as m:
            if absent:
                m.setitem(sys.modules, "orjson", None)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    results.append(repr(reader(path)))
                except ResultError as exc:
                    results.append(f"ResultError: {exc.message}")
            results.append([str(w.message) for w in caught])
    assert results[:2] == results[2:]
    return results


@pytest.mark.parametrize("case", sorted(EDGES))
def test_readers_give_the_same_records_with_and_without_orjson(case, tmp_path, monkeypatch):
    path, old, new = EDGES[case]
    reader = {PROFILE: exports.read_profile, LAYERS: exports.read_layer_info}[path]
    _readers_agree(tmp_path, monkeypatch, path.name, _edited(path, old, new), reader)


@pytest.mark.parametrize(
    ("path", "old", "new", "field"),
    [
        (PROFILE, b'"averageMs" : 0.08704', b'"averageMs" : "0.08704"', "averageMs"),
        (PROFILE, b'"percentage" : 0.70195', b'"percentage" : true', "percentage"),
        (PROFILE, b'{ "count" : 1 }', b'{ "count" : "1" }', "count"),
        (PROFILE, b'"name" : "resnet50/conv1_conv/Conv2D__6"', b'"name" : 6', "name"),
        (LAYERS, b'"Dimensions": [1,1,28,28]', b'"Dimensions": "1x1x28x28"', "Dimensions"),
        (
            LAYERS,
            b'"Dimensions": [1,1,28,28]',
            b'"Dimensions": [1,"1",28,28]',
            "Dimensions",
        ),
        (LAYERS, b'"Inputs": [', b'"Inputs": "x", "Was": [', "Inputs"),
        (TIMES, b'"latencyMs" : 13.0181', b'"latencyMs" : "13.0181"', "latencyMs"),
        (PERF, b'"Throughput": 81.9895', b'"Throughput": "81.9895"', "Throughput"),
        (PERF, b'"Latency": [12.0986', b'"Latency": ["12.0986"', "Latency[0]"),
    ],
)
def test_wrongly_typed_field_is_a_clean_error_naming_field_and_file(
    path, old, new, field, tmp_path
):
    bad = tmp_path / path.name
    bad.write_bytes(_edited(path, old, new))
    run = load_run(bad)
    read = {
        PROFILE: lambda: exports.read_profile(bad),
        LAYERS: lambda: exports.read_layer_info(bad),
        TIMES: lambda: exports.read_times(bad),
        PERF: lambda: exports.trex_performance(exports.read_trex_metadata(bad), str(bad)),
    }[path]
    with pytest.raises(ResultError) as info:
        read()
    message = info.value.message
    assert f"{field}'" in message and str(bad) in message, message
    assert "not" in message and info.value.hint and len(message) < 300
    run.summary  # noqa: B018 - the summary of a run with that file does not crash
    assert "<div" in run._repr_html_()


def test_impossible_profile_figures_become_missing_with_one_warning(tmp_path):
    data = _edited(PROFILE, b'"averageMs" : 0.08704', b'"averageMs" : -1e308')
    data = data.replace(b'"timeMs" : 0.433152', b'"timeMs" : NaN', 1)
    data = data.replace(b'"percentage" : 3.49323', b'"percentage" : 349.323', 1)
    path = tmp_path / "p.profile.json"
    path.write_bytes(data)
    with pytest.warns(ResultWarning, match=r"3 impossible figures") as caught:
        records = exports.read_profile(path)
    assert len(caught) == 1 and "-1e+308" in str(caught[0].message)
    assert math.isnan(records[0].average_ms) and records[0].time_ms == 0.08704
    assert math.isnan(records[1].time_ms) and math.isnan(records[1].percent)
    real = exports.read_profile(PROFILE)
    assert [r.name for r in records] == [r.name for r in real]
    assert records[2:] == real[2:]


def test_impossible_times_and_throughput_become_missing(tmp_path):
    times = tmp_path / "t.timing.json"
    times.write_bytes(_edited(TIMES, b'"latencyMs" : 13.0181', b'"latencyMs" : Infinity'))
    with pytest.warns(ResultWarning, match="latencyMs"):
        rows = exports.read_times(times)
    assert math.isnan(rows[0]["latencyMs"]) and rows[1]["latencyMs"] == 12.7857
    perf = tmp_path / "m.profile.metadata.json"
    perf.write_bytes(_edited(PERF, b'"Throughput": 81.9895', b'"Throughput": 1e999'))
    with pytest.warns(ResultWarning, match="Throughput"):
        out = exports.trex_performance(exports.read_trex_metadata(perf), str(perf))
    assert "Throughput" not in out and out["Latency"]["median"] == 12.1682


def test_real_exports_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultWarning)
        for path in JSON_FILES:
            name = path.name
            if name.endswith(("profile.json",)) and "metadata" not in name:
                exports.read_profile(path)
            elif name.endswith(("timing.json",)):
                exports.read_times(path)
            elif name.endswith("profile.metadata.json"):
                exports.trex_performance(exports.read_trex_metadata(path), str(path))
            elif name.endswith(
                ("graph.json", "layer_info.json", "detailed.json", "names-only.json")
            ):
                exports.read_layer_info(path)


def test_a_folder_or_unreadable_file_is_a_result_error(tmp_path):
    folder = tmp_path / "x.profile.json"
    folder.mkdir()
    with pytest.raises(ResultError, match="cannot read"):
        exports.read_profile(folder)


# ---- logs: the same rules for figures printed by trtexec (real logs, one value changed) ----
LOG = DATA / "trtexec/log-10.16.1-onnx-default-run.log"
PROFILE_LOG = DATA / "trtexec/log-10.16.1-dumpProfile-exportProfile.log"
LEGACY_LOG = DATA / "trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log"


def _log(path: Path, *edits: tuple[str, str]) -> str:
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.mark.parametrize(
    ("edit", "missing", "kept"),
    [
        (("Throughput: 15374.3 qps", "Throughput: inf qps"), "throughput_qps", "latency_median_ms"),
        (("Latency: min = 0.0410156 ms", "Latency: min = -1e308 ms"), "latency_min_ms", "latency_max_ms"),
        (("mean = 0.0441053 ms", "mean = nan ms"), "latency_mean_ms", "latency_median_ms"),
        (("mean = 0.0441053 ms", "mean = -nan ms"), "latency_mean_ms", "throughput_qps"),
        (("Engine built in 8.09138 sec", "Engine built in -8.09138 sec"), "build_time_s", "engine_size_mib"),
        (("size: 12.5744 MiB", "size: inf MiB"), "engine_size_mib", "build_time_s"),
    ],
)  # fmt: skip
def test_impossible_log_figures_become_missing_with_a_warning(edit, missing, kept, tmp_path):
    from trt_magic.results.log import parse_log

    real = load_run(LOG).summary
    assert missing in real and kept in real  # the real log has both
    path = tmp_path / "edited.log"
    path.write_text(_log(LOG, edit), encoding="utf-8")
    with pytest.warns(ResultWarning, match=r"1 impossible figure \(") as caught:
        summary = load_run(path).summary
    assert str(path) in str(caught[0].message)
    assert missing not in summary and summary[kept] == real[kept]
    with pytest.warns(ResultWarning):
        page = load_run(path)._repr_html_()
    assert "1 impossible figure(s) in the log" in page  # the run's view says so too
    with pytest.warns(ResultWarning):
        assert parse_log(_log(LOG, edit)).impossible


def test_impossible_profile_rows_and_trace_in_a_log(tmp_path):
    from trt_magic.results.log import parse_log

    text = _log(
        PROFILE_LOG,
        ("      31.40       0.0017", "      31.40      -0.0017"),
        ("2.1   __mye59_0_myl0_0", "210.0   __mye59_0_myl0_0"),
    )
    with pytest.warns(ResultWarning, match="2 impossible figures"):
        log = parse_log(text)
    first = log.profile[0]
    assert first.name == "__mye59_0_myl0_0" and first.time_ms == 31.40
    assert math.isnan(first.average_ms) and math.isnan(first.percent)
    assert log.profile[1].average_ms == 0.0105
    trace = _log(LOG, ("GPU latency: 0.0363007 ms", "GPU latency: inf ms"))
    with pytest.warns(ResultWarning, match="Average on N runs"):
        log = parse_log(trace)
    real = parse_log(LOG.read_text(encoding="utf-8"))
    assert log.trace_averages == real.trace_averages[1:]


def test_legacy_log_figures_alike():
    from trt_magic.results.log import parse_log

    text = _log(
        LEGACY_LOG,
        (
            "median: 2.17676 ms (end to end 4.15125 ms)",
            "median: -2.17676 ms (end to end 4.15125 ms)",
        ),
    )
    with pytest.warns(ResultWarning):
        log = parse_log(text)
    assert "median" not in log.performance["Latency"]
    assert log.performance["End-to-End Host Latency"]["median"] == 4.15125


@pytest.mark.parametrize("path", sorted(DATA.glob("trtexec/log-*")), ids=lambda p: p.name)
def test_real_logs_have_no_impossible_figures(path):
    from trt_magic.results.log import parse_log_file

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultWarning)
        assert parse_log_file(path).impossible == []


def test_long_digit_runs_are_found_across_scan_chunks():
    data = PROFILE.read_bytes() * 200  # > 1 MiB: several chunks
    assert len(data) > 2 * jsonfile._CHUNK and not jsonfile.has_long_digits(data)
    for at in (0, 5000, jsonfile._CHUNK - 5, jsonfile._CHUNK - 18, 2 * jsonfile._CHUNK - 1):
        edited = data[:at] + b" 1234567890123456789" + data[at:]
        assert jsonfile.has_long_digits(edited), at
    assert not jsonfile.has_long_digits(data[:100] + b" 123456789012345678 " + data[100:])
    assert jsonfile.has_long_digits(b"12345678901234567890")  # at the very start


def test_long_fractions_are_not_big_integers():
    # a float's fraction may run past 19 digits (repr of a small share: 0.00012345678901234568);
    # orjson reads it as json does, so the fast parser is kept
    text = b'[{"name": "a", "percentage": 0.00012345678901234568, "x": 1.5e-05}]'
    assert not jsonfile.has_long_digits(text)
    assert not jsonfile.has_long_digits(b"[1.12345678901234567890e-7]")
    assert jsonfile.has_long_digits(b"[12345678901234567890.5]")  # the integer part: json reads it
    assert jsonfile.loads(text) == json.loads(text)


def test_a_negative_iteration_count_is_missing(tmp_path):
    path = tmp_path / "p.profile.json"
    path.write_bytes(_edited(PROFILE, b'{ "count" : 1 }', b'{ "count" : -3 }'))
    with pytest.warns(ResultWarning, match="count = -3"):
        records = exports.read_profile(path)
    assert records.count is None and len(records) == len(exports.read_profile(PROFILE))
