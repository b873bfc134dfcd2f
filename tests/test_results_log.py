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
    assert log.sections["Model Options"]["Format"] == "ONNX"
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


# ---- every figure of a log, exactly as printed (a wrong key, name or number fails) ----
def _stats(*values: float) -> dict[str, float]:
    """A summary line's statistics, in the order trtexec prints them (5 before 8.5, 7 after)."""
    names = ("min", "max", "mean", "median", "p90", "p95", "p99") if len(values) == 7 else (
        "min", "max", "mean", "median", "p99")  # fmt: skip
    return dict(zip(names, values, strict=True))


def test_performance_summary_of_10_16_1_exactly():
    log = _parse("trtexec/log-10.16.1-onnx-default-run.log")
    assert log.performance == {
        "Throughput": 15374.3,
        "Latency": _stats(0.0410156, 0.14917, 0.0441053, 0.0440674, 0.0450439, 0.0458984, 0.0512695),
        "Enqueue Time": _stats(0.0247803, 0.137939, 0.0271685, 0.0267334, 0.0283203, 0.0299072, 0.0357666),
        "H2D Latency": _stats(0.00341797, 0.108398, 0.00395853, 0.00378418, 0.00439453, 0.00488281, 0.00537109),
        "GPU Compute Time": _stats(0.0331421, 0.140381, 0.0359588, 0.0361328, 0.0368652, 0.0371094, 0.041748),
        "D2H Latency": _stats(0.00390625, 0.0341797, 0.00418773, 0.00415039, 0.00421143, 0.00427246, 0.00512695),
        "Total Host Walltime": 3.00013,
        "Total GPU Compute Time": 1.6586,
    }  # fmt: skip
    assert "Performance summary" not in log.sections


def test_performance_summary_of_8_2_5_has_end_to_end_latency():
    perf = _parse("trtexec/log-8.2.5-mobilenetv2-qat-int8-notebook.log").performance
    assert perf["End-to-End Host Latency"] == _stats(4.64392, 5.64146, 4.71364, 4.70197, 4.88013)
    assert perf["D2H Latency"] == _stats(0.00561523, 0.0319824, 0.0139259, 0.0134277, 0.0289307)


def test_legacy_7x_blocks_exactly():
    log = _parse("trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log")
    assert log.performance == {
        "Latency": {"min": 2.16614, "max": 2.20166, "mean": 2.17729, "median": 2.17676, "p99": 2.19336},
        "End-to-End Host Latency": {"min": 2.19995, "max": 4.19275, "mean": 4.14859,
                                    "median": 4.15125, "p99": 4.18213},
        "Throughput": 0.0,
        "Total Host Walltime": 3.00755,
        "Enqueue Time": {"min": 0.447021, "max": 0.669434, "median": 0.559113},
        "GPU Compute Time": {"min": 2.10223, "max": 2.13513, "mean": 2.11412, "median": 2.11353,
                             "p99": 2.12988},
        "Total GPU Compute Time": 2.97245,
    }  # fmt: skip
    assert len(log.trace_averages) == 140
    assert log.trace_averages[-1] == (2.11191, 2.17317, 0.491797)


# "Total ... Memory" lines; the verbose build prints them once per optimization profile build
# step (lines 3001, 4436, 4660): the last one is the engine's
MEMORY = {
    "trtexec/log-10.16.1-onnx-default-run.log": {
        "host_persistent_bytes": 18896, "device_persistent_bytes": 0,
        "activation_bytes": 125440, "weights_bytes": 13100672,
    },
    "trtexec/log-10.16.1-build-fp16-dynamic-skipInference-verbose.log": {
        "host_persistent_bytes": 21136, "device_persistent_bytes": 0,
        "activation_bytes": 2007552, "weights_bytes": 6553216,
    },
    "trtexec/log-8.2.5-mobilenetv2-qat-int8-notebook.log": {  # no " bytes" before 8.6
        "host_persistent_bytes": 82480, "device_persistent_bytes": 2413056,
        "scratch_bytes": 0, "activation_bytes": 130056192,
    },
    # activation printed twice (8946481152, then 722982912): the last wins
    "trtexec/log-8.5.2-yolov8seg-fp16-workspace-deprecated.log": {
        "activation_bytes": 722982912, "host_persistent_bytes": 215472,
        "device_persistent_bytes": 877568, "scratch_bytes": 675865600,
    },
    "trtexec/log-10.16.1-dumpOutput.log": {},  # --loadEngine: no build
}  # fmt: skip


@pytest.mark.parametrize("rel", sorted(MEMORY))
def test_memory_figures(rel):
    assert _parse(rel).memory == MEMORY[rel]


def _bindings(*rows: str) -> list[dict[str, str]]:
    return [dict(zip(("kind", "name", "dims", "dtype"), row.split(), strict=True)) for row in rows]


@pytest.mark.parametrize(
    ("rel", "bindings"),
    [
        ("trtexec/log-10.16.1-onnx-default-run.log",
         _bindings("input x 1x1x28x28 fp32", "output y 1x10 fp32", "output z 1 int64")),
        ("trtexec/log-10.16.1-loadEngine-inference-verbose.log",
         _bindings("input x 4x1x28x28 fp32", "output y 4x10 fp32", "output z 4 int64")),
        ("trtexec/log-10.16.1-plugins-deprecated-flag.log",
         _bindings("input inputT0 1 fp32", "output CustomOpModel-V-0-AddScalar-0 1 fp32")),
        ("trtexec/log-8.5.2-yolov8seg-fp16-workspace-deprecated.log", []),
    ],
)  # fmt: skip
def test_bindings(rel, bindings):
    assert _parse(rel).bindings == bindings


@pytest.mark.parametrize(
    ("rel", "deserialize", "lines", "traces"),
    [
        ("trtexec/log-10.16.1-onnx-default-run.log", 0.00676279, 580, 400),
        ("trtexec/log-10.16.1-dumpOutput.log", 0.0241994, 508, 400),
        ("trtexec/log-8.5.2-yolov8seg-fp16-workspace-deprecated.log", 0.0285541, 220, 59),
        ("trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log", None, 241, 140),
        ("trtexec/log-8.2-FAILED-pad-reflect-parse-excerpt.txt", None, 38, 0),
    ],
)
def test_deserialize_time_line_count_and_trace(rel, deserialize, lines, traces):
    log = _parse(rel)
    assert log.deserialize_time_s == deserialize
    assert log.line_count == lines
    assert len(log.trace_averages) == traces


def test_command_line_and_sections_exactly():
    log = _parse("trtexec/log-10.16.1-onnx-default-run.log")
    onnx = "--onnx=/work/trt-samples-for-hackathon-cn/cookbook/00-Data/model/model-trained.onnx"
    assert log.command_line == f"trtexec {onnx}"
    assert list(log.sections) == ["Model Options", "Build Options", "System Options",
                                  "Inference Options", "Reporting Options", "Device Information",
                                  "Trace details"]  # fmt: skip
    assert log.sections["Reporting Options"]["Export profile to JSON file"] == ""
    assert log.sections["Trace details"] == {}  # its lines are not settings
    assert log.warnings[2:] == [
        "* GPU compute time is unstable, with coefficient of variance = 6.58751%.",
        "  If not already in use, locking GPU clock frequency or adding --useSpinWait may improve the stability.",
    ]  # fmt: skip


def test_program_path_is_not_an_option():
    # argv[0] as typed: trtexec.exe on Windows, a full path in containers (banner = argv joined)
    text = (DATA / "trtexec/log-10.16.1-onnx-default-run.log").read_text(encoding="utf-8")
    for program in ("trtexec.exe", "/usr/src/tensorrt/bin/trtexec"):
        log = parse_log(text.replace("# trtexec --onnx", f"# {program} --onnx"))
        assert log.command == LOGS["trtexec/log-10.16.1-onnx-default-run.log"]["command"]
        assert log.command_line.startswith(f"{program} --onnx=")


ERRORS_10_16_0 = [
    'ModelImporter.cpp:138: While parsing node number 0 [AddScalar -> "CustomOpModel-V-0-AddScalar-0"]:',
    "ModelImporter.cpp:140: --- Begin node ---",
    "ModelImporter.cpp:141: --- End node ---",
    # the untagged next line continues the error line ending with ":"
    "ModelImporter.cpp:149: ERROR: onnxOpCheckers.cpp:923 In function checkFallbackPluginImporter:"
    ' [6] creator && "Plugin not found, are the plugin name, version, and namespace correct?"',
    "Failed to parse onnx file",
    "Parsing model failed",
    "Failed to create engine from model or file.",
    "Engine set up failed",
]  # fmt: skip
SHUFFLE = (
    "[shuffleNode.cpp::symbolicExecute::387] Error Code 4: Internal Error (Reshape_3: "
    "IShuffleLayer applied to shape tensor must have 0 or 1 reshape dimensions: dimensions were [-1,2])"
)
ERRORS_8_2 = [
    SHUFFLE,  # the Python API's "[TRT] [E]" line; the same text untagged later is not repeated
    "In node 13 (parseGraph): INVALID_NODE: Invalid Node - Pad_13",  # untagged, in the notes
    f"Error[4]: {SHUFFLE}",
    'parsers/onnx/ModelImporter.cpp:780: While parsing node number 13 [Pad -> "output"]:',
    "parsers/onnx/ModelImporter.cpp:781: --- Begin node ---",
    'parsers/onnx/ModelImporter.cpp:782: input: "input"',
    "parsers/onnx/ModelImporter.cpp:783: --- End node ---",
    "parsers/onnx/ModelImporter.cpp:785: ERROR: parsers/onnx/ModelImporter.cpp:179 In function"
    " parseGraph: [6] Invalid Node - Pad_13",
    "Failed to parse onnx file",
    "Parsing model failed",
    "Failed to create engine from model.",
    "Engine set up failed",
]


@pytest.mark.parametrize(
    ("rel", "errors"),
    [
        ("trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log", ERRORS_10_16_0),
        ("trtexec/log-8.2-FAILED-pad-reflect-parse-excerpt.txt", ERRORS_8_2),
    ],
)
def test_errors_exactly(rel, errors):
    assert _parse(rel).errors == errors


@pytest.mark.parametrize(
    ("rel", "unknown"),
    [
        ("trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log",
         ['input: "inputT0"', 'output: "CustomOpModel-V-0-AddScalar-0"',
          'name: "CustomOpModel-N-0-AddScalar"', 'op_type: "AddScalar"', "attribute {",
          '  name: "scalar"', "  f: 1", "  type: FLOAT", "}"]),
        # the 7.x parser prints the model header untagged; lines kept as written (spaces too)
        ("trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log",
         ["-" * 64, "Input filename:   resnet50/model.onnx", "ONNX IR version:  0.0.3",
          "Opset version:    8", "Producer name:    onnx-caffe2", "Producer version: ",
          "Domain:           ", "Model version:    0", "Doc string:       ", "-" * 64]),
        ("trtexec/log-10.16.1-onnx-default-run.log", []),
    ],
)  # fmt: skip
def test_unknown_lines_exactly(rel, unknown):
    assert _parse(rel).unknown == unknown


def test_internal_error_lines_are_errors():
    # "[F]" is kINTERNAL_ERROR (NVIDIA/TensorRT samples/common/logging.h severityPrefix); the
    # real failed log, its "[E]" tags made "[F]": the same errors, continuation included
    text = (DATA / "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log").read_text()
    log = parse_log(text.replace("] [E] ", "] [F] "))
    assert log.errors == ERRORS_10_16_0
    assert log.status == "failed"


def test_profile_table_exactly():
    log = _parse("trtexec/log-10.16.1-dumpProfile-exportProfile.log")
    rows = [(r.name, r.time_ms, r.average_ms, r.median_ms, r.percent) for r in log.profile]
    assert rows[:2] == [("__mye59_0_myl0_0", 31.40, 0.0017, 0.0018, 2.1),
                        ("node_conv2d_myl0_1", 193.50, 0.0105, 0.0098, 12.7)]  # fmt: skip
    assert rows[-1] == ("__myl_Cast_myl5_7", 65.52, 0.0036, 0.0036, 4.3)
    assert "Profile" not in log.sections
    assert log.unknown == []


# ---- a log cut anywhere (a live tail, a pasted excerpt) keeps what its lines say ----
def _lines(rel: str) -> list[str]:
    return (DATA / rel).read_text(encoding="utf-8").splitlines(keepends=True)


def test_middle_of_a_log_without_banners():
    lines = _lines("trtexec/log-10.16.1-onnx-default-run.log")
    log = parse_log("".join(lines[1:-1]))  # no &&&& RUNNING / PASSED lines
    assert log.status is None and log.command == [] and log.trtexec_build is None
    assert log.tensorrt_version == "10.16.1"  # from "TensorRT version: 10.16.1" alone
    assert log.performance["Throughput"] == 15374.3


def test_tail_that_starts_after_the_sections():
    lines = _lines("trtexec/log-10.16.1-onnx-default-run.log")
    # from "Created engine with size: 12.5744 MiB" (line 148): figures outside any section
    tail = parse_log("".join(lines[147:]))
    assert (tail.engine_size_mib, tail.engine_size_exact) == (12.5744, True)
    assert tail.build_time_s == 8.09138
    assert tail.deserialize_time_s == 0.00676279
    assert list(tail.sections) == ["Trace details"]
    assert tail.status == "passed"


def test_tail_that_starts_inside_the_profile_table():
    lines = _lines("trtexec/log-10.16.1-dumpProfile-exportProfile.log")
    tail = parse_log("".join(lines[90:]))  # rows without their "=== Profile ===" header
    assert tail.profile == [] and tail.profile_iterations is None
    assert tail.status == "passed" and tail.errors == [] and tail.unknown == []
