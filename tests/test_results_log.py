"""trt_magic.results.log.parse_log against every real trtexec log in tests/data (data/registry.py)."""

from __future__ import annotations

import pytest
from data.registry import DATA, LOGS

from trt_magic.results.log import parse_log


def _parse(rel: str):
    return parse_log((DATA / rel).read_text(encoding="utf-8"))


def test_every_log_fixture_is_in_the_registry():
    on_disk = {f"trtexec/{p.name}" for p in (DATA / "trtexec").glob("log-*")}
    assert on_disk == set(LOGS)


@pytest.mark.parametrize("rel", sorted(LOGS))
def test_log_fixture(rel):
    facts = LOGS[rel]
    log = _parse(rel)
    assert log.status == facts["status"]
    assert log.ok is (facts["status"] == "passed")
    assert log.tensorrt_version == facts["version"]
    assert log.legacy is facts.get("legacy", False)
    if "build" in facts:
        assert log.trtexec_build == facts["build"]
    if "device" in facts:
        assert log.device["name"] == facts["device"]
    if "cc" in facts:
        assert log.device["compute_capability"] == facts["cc"]
    if "memory" in facts:
        assert log.device["memory"] == facts["memory"]
    if "precision" in facts:
        assert log.precision == facts["precision"]
    if "build_time_s" in facts:
        assert log.build_time_s == facts["build_time_s"]
    if "engine_mib" in facts:
        assert (log.engine_size_mib, log.engine_size_exact) == facts["engine_mib"]
    if "command" in facts:
        assert log.command == facts["command"]
    perf = log.performance
    if facts["throughput"] is None:
        assert "Throughput" not in perf
    else:
        assert perf["Throughput"] == facts["throughput"]
    if "latency" in facts:
        assert (perf["Latency"]["median"], perf["Latency"]["p99"]) == facts["latency"]
    if "gpu" in facts:
        gpu = perf["GPU Compute Time"]
        assert (gpu["median"], gpu["p99"]) == facts["gpu"]
    if "latency_p90" in facts:
        assert perf["Latency"].get("p90") == facts["latency_p90"]
    if "totals" in facts:
        assert (perf["Total Host Walltime"], perf["Total GPU Compute Time"]) == facts["totals"]
    if "warnings" in facts:
        assert len(log.warnings) == facts["warnings"]
    if "warning" in facts:
        assert any(facts["warning"] in w for w in log.warnings)
    if facts["status"] == "failed":
        assert log.errors
    else:
        assert log.errors == []
    for key in ("error", "error2"):
        if key in facts:
            assert any(facts[key] in e for e in log.errors), log.errors
    if "errors" in facts:
        assert len(log.errors) == facts["errors"]
    if "last_error" in facts:
        assert log.errors[-1] == facts["last_error"]
    if "bindings" in facts:
        assert len(log.bindings) == facts["bindings"]
    if "unknown" in facts:
        assert any(line.startswith(facts["unknown"]) for line in log.unknown)
    if "profile_rows" in facts:
        assert len(log.profile) == facts["profile_rows"]
        assert log.profile_iterations == facts["profile_iterations"]
        name, *figures = facts["profile_row"]
        row = next(r for r in log.profile if r.name == name)
        assert [row.time_ms, row.average_ms, row.median_ms, row.percent] == figures
        assert any(r.name == facts["profile_row_spaces"] for r in log.profile)
        assert all(r.name != "Total" for r in log.profile)


def test_options_sections_keep_full_values():
    log = _parse("trtexec/log-10.16.1-onnx-default-run.log")
    build = log.sections["Build Options"]
    # TREx cuts values at the first colon ("workspace"); we keep the whole value
    assert build["Memory Pools"].startswith("workspace: default, dlaSRAM: default")
    assert log.sections["Reporting Options"]["Percentiles"] == "90,95,99"
    assert log.sections["Inference Options"]["Iterations"] == "10"


def test_legacy_7x_statistics_blocks():
    log = _parse("trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log")
    perf = log.performance
    assert perf["Latency"] == {
        "min": 2.16614, "max": 2.20166, "mean": 2.17729, "median": 2.17676, "p99": 2.19336,
    }  # fmt: skip
    assert perf["End-to-End Host Latency"]["median"] == 4.15125
    assert perf["Enqueue Time"] == {"min": 0.447021, "max": 0.669434, "median": 0.559113}


def test_trace_averages_give_a_latency_series():
    log = _parse("trtexec/log-10.16.1-onnx-default-run.log")
    assert log.trace_averages[0] == (0.0363007, 0.0442749, 0.027179)
    log7 = _parse("trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log")
    # 7.x adds "end to end" inside the parentheses before the enqueue figure
    assert log7.trace_averages[0] == (2.11589, 2.17926, 0.555537)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage\nmore garbage",
        "&&&& RUNNING TensorRT.trtexec",
        "[01/01/2024-00:00:00] [I] === Performance summary ===\n[01/01/2024-00:00:00] [I] Throughput: n/a",
    ],
)
def test_partial_or_unknown_input_never_raises(text):
    log = parse_log(text)
    assert log.status is None and log.ok is None
    assert log.errors == []


def test_cut_short_log_has_no_status_but_keeps_what_it_saw():
    text = (DATA / "trtexec/log-10.16.1-onnx-default-run.log").read_text(encoding="utf-8")
    half = parse_log(text[: len(text) // 3])
    assert half.status is None
    assert half.tensorrt_version == "10.16.1"
    assert half.build_time_s == 8.09138


@pytest.mark.parametrize("rel", sorted(LOGS))
def test_streamed_file_parse_equals_text_parse(rel):
    from trt_magic.results.log import parse_log_file

    assert parse_log_file(DATA / rel) == _parse(rel)


@pytest.mark.parametrize(
    "raw, name",
    [
        ("percentile(99%)", "p99"),
        ("percentile(99.9%)", "p99.9"),
        ("percentile(90.0%)", "p90"),
        ("median", "median"),
    ],
)
def test_statistic_names(raw, name):
    from trt_magic.results.log import _stat_name

    assert _stat_name(raw) == name
