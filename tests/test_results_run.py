"""Run's parsed views and load_run, on the real fixtures in tests/data."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from data.registry import DATA, LAYER_INFO, LOGS, PROFILE, PROFILE_METADATA

from trt_magic.errors import ResultError
from trt_magic.results import Recorded, Run, load_run
from trt_magic.results.exports import LayerRecord, ProfileRecord
from trt_magic.results.tables import layers_frame, timings_frame, trace_frame

TREX_PREFIXES = {
    "trex/A100-fp16/resnet.onnx.engine": "trex/A100-fp16/resnet.onnx.engine.profile.metadata.json",
    "trex/A100-fp32/resnet.onnx.engine": "trex/A100-fp32/resnet.onnx.engine.profile.metadata.json",
    "trex/A100-qat/resnet-qat.onnx.engine": "trex/A100-qat/resnet-qat.onnx.engine.profile.metadata.json",
    "trtexec/trex-tf-resnet50-rtx3090-fp32": "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.metadata.json",
    "trtexec/fuzzylabs-10.x-alexnet-fp16": "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.metadata.json",
}


def test_importing_results_does_not_import_pandas():
    code = "import sys, trt_magic.results as r; r.load_run; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("prefix", sorted(TREX_PREFIXES))
def test_trex_prefix_without_log_takes_summary_from_profile_metadata(prefix):
    facts = PROFILE_METADATA[TREX_PREFIXES[prefix]]
    run = load_run(DATA / prefix)
    assert run.backend == "files" and run.status == "loaded"
    assert run.ok is True
    s = run.summary
    assert s["throughput_qps"] == facts["throughput"]
    assert s["latency_median_ms"] == facts["latency_median_ms"]
    assert s["latency_p99_ms"] == facts["latency_p99_ms"]
    assert s["device"] == facts["device"]
    frame = run.summary_frame
    assert frame.shape[0] == 1 and frame.loc[0, "throughput_qps"] == facts["throughput"]


@pytest.mark.parametrize("rel", sorted(PROFILE))
def test_layers_join_profile_and_layer_info(rel):
    facts = PROFILE[rel]
    run = load_run(profile=DATA / rel, layer_info=DATA / facts["matches_layer_info"])
    layers = run.layers
    assert len(layers) == facts["records"] == LAYER_INFO[facts["matches_layer_info"]]["layers"]
    assert layers["time_ms"].notna().all()
    name, total_ms, percent = facts["slowest"]
    row = layers.loc[layers["total_ms"].idxmax()]
    assert (row["name"], row["total_ms"], row["percent"]) == (name, total_ms, percent)
    # engine order is kept: the first row is the first layer of the layer info
    assert layers.loc[0, "name"] == run.layer_records[0].name


def test_named_layer_precision_and_time_in_the_joined_table():
    run = load_run(DATA / "trex/A100-qat/resnet-qat.onnx.engine")
    row = run.layers.set_index("name").loc["conv1.weight + QuantizeLinear_7 + Conv_9"]
    assert (row["type"], row["precision"], row["time_ms"]) == ("Convolution", "INT8", 0.201728)
    assert row["tactic"] == "ampere_fp32_icudnn_int8x4_128x64_relu_medium_nn_v1"


def test_repeated_layer_names_join_one_to_one():
    layers = [
        LayerRecord("dup", "Reformat"),
        LayerRecord("x", "Convolution"),
        LayerRecord("dup", "NoOp"),
    ]
    profile = [ProfileRecord("dup", 1.0, 0.1, 0.1, 10.0), ProfileRecord("x", 5.0, 0.5, 0.5, 50.0),
               ProfileRecord("dup", 4.0, 0.4, 0.4, 40.0), ProfileRecord("only-profiled", 0.0, 0.0, 0.0, 0.0)]  # fmt: skip
    frame = layers_frame(layers, profile)
    assert list(frame["name"]) == ["dup", "x", "dup", "only-profiled"]
    assert list(frame["type"].iloc[:3]) == ["Reformat", "Convolution", "NoOp"]
    assert list(frame["time_ms"]) == [0.1, 0.5, 0.4, 0.0]


@pytest.mark.parametrize("raw", [False, True], ids=["records", "raw-names"])
def test_layer_missing_from_the_profile_gets_nan_not_another_layers_time(raw):
    names = ["first", "missing", "last"]
    layers = names if raw else [LayerRecord(n, "Convolution") for n in names]
    # profile in another order than the engine, and without "missing"
    profile = [ProfileRecord("last", 30.0, 3.0, 2.5, 75.0), ProfileRecord("first", 10.0, 1.0, 0.5, 25.0)]  # fmt: skip
    frame = layers_frame(layers, profile).set_index("name")
    assert list(frame.index) == names  # engine order, no profile-only rows
    assert frame.loc["first", ["total_ms", "time_ms", "median_ms", "percent"]].tolist() == [10.0, 1.0, 0.5, 25.0]  # fmt: skip
    assert frame.loc["last", ["total_ms", "time_ms", "median_ms", "percent"]].tolist() == [30.0, 3.0, 2.5, 75.0]  # fmt: skip
    missing = frame.loc["missing", ["total_ms", "time_ms", "median_ms", "percent"]]
    assert missing.isna().all(), missing.to_dict()


def test_profile_without_layer_info_keeps_every_profiled_layer():
    profile = [ProfileRecord("a", 2.0, 0.2, None, 40.0), ProfileRecord("b", 3.0, 0.3, 0.3, 60.0)]
    frame = layers_frame([], profile)
    assert list(frame["name"]) == ["a", "b"] and list(frame["time_ms"]) == [0.2, 0.3]
    assert frame["median_ms"].isna().tolist() == [True, False]
    assert frame["type"].isna().all()


def test_timings_from_export_times():
    run = load_run(DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32")
    t = run.timings
    assert len(t) == 263
    assert t["latency_ms"].iloc[0] == 13.0181
    assert {"start_enq_ms", "compute_ms", "h2d_ms"} <= set(t.columns)


def test_timing_and_trace_frames_are_named():
    t = timings_frame(
        [{"startEnqMs": 1.0, "latencyMs": 2.5}, {"startEnqMs": 3.0, "latencyMs": 2.0}]
    )
    assert list(t.columns) == ["start_enq_ms", "latency_ms"] and t.index.name == "inference"
    trace = trace_frame([(1.0, 1.5, 0.1), (2.0, 2.5, 0.2)])
    assert list(trace.columns) == ["gpu_latency_ms", "host_latency_ms", "enqueue_ms"]
    assert trace.index.name == "window" and trace.loc[1, "host_latency_ms"] == 2.5


def test_failed_build_log_gives_a_failed_run_with_its_errors():
    run = load_run(log=DATA / "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log")
    assert run.ok is False
    assert run.summary["status"] == "failed"
    assert run.errors[-1] == "Engine set up failed"
    assert any("Plugin not found" in e for e in run.errors)
    assert run.command == [
        "--onnx=/cookbook/00-Data/model/model-addscalar.onnx",
        "--plugins=./AddScalarPlugin.so",
    ]


@pytest.mark.parametrize("rel", sorted(LOGS))
def test_every_log_loads_as_a_run(rel):
    run = load_run(DATA / rel)
    assert run.ok is (LOGS[rel]["status"] == "passed")
    s = run.summary
    if LOGS[rel]["throughput"] is not None:
        assert s["throughput_qps"] == LOGS[rel]["throughput"]
    if "build_time_s" in LOGS[rel] and LOGS[rel]["build_time_s"] is not None:
        assert s["build_time_s"] == LOGS[rel]["build_time_s"]


def test_runner_style_run_with_log_text_and_exit_code():
    text = (DATA / "trtexec/log-10.16.1-onnx-default-run.log").read_text(encoding="utf-8")
    run = Run(command=["--onnx=m.onnx"], exit_code=0, status="passed", backend="replay",
              log_text=text, recorded=Recorded("cookbook result-01.log", "H100 PCIe", "10.16.1"))  # fmt: skip
    assert run.ok is True
    assert run.summary["throughput_qps"] == 15374.3
    assert run.summary["recorded"].startswith("recorded: cookbook result-01.log")
    assert run.trace["gpu_latency_ms"].iloc[0] == 0.0363007
    failed = Run(exit_code=1, status="failed", log_text=text)
    assert failed.ok is False
    assert Run(status="interrupted").ok is False


def test_views_follow_files_added_after_first_use(tmp_path):
    run = Run(files={})
    assert run.layers.empty and run.summary.get("layers") is None
    shutil.copy(DATA / "trtexec/layerinfo-10.16.1-detailed.json", tmp_path / "m.graph.json")
    run.files["layer_info"] = tmp_path / "m.graph.json"
    assert len(run.layers) == 9 and run.summary["layers"] == 9


def test_prefix_may_be_a_folder_or_any_of_its_files():
    folder = load_run(DATA / "trex/notebook-yolo-orin")
    assert set(folder.files) == {"profile", "layer_info"}
    assert len(folder.layers) == 86
    one = load_run(DATA / "trex/A100-fp32/resnet.onnx.engine.graph.json")
    assert {
        "profile",
        "layer_info",
        "profile_metadata",
        "build_metadata",
        "device_metadata",
    } <= set(one.files)


def test_load_run_errors_are_short_and_say_what_to_do(tmp_path):
    with pytest.raises(ResultError, match="no trtexec result files") as info:
        load_run(tmp_path / "nothing")
    assert "prefix" in info.value.hint
    with pytest.raises(ResultError, match="profile file not found"):
        load_run(profile=tmp_path / "missing.json")
    with pytest.raises(ResultError):
        load_run()


@pytest.mark.parametrize("rel", sorted(LAYER_INFO))
def test_fast_raw_path_and_record_path_give_the_same_table(rel):
    from trt_magic.results.exports import load_layer_info, read_layer_info

    raw, _ = load_layer_info(DATA / rel)
    fast = layers_frame(raw, [])
    slow = layers_frame(read_layer_info(DATA / rel), [])
    assert fast.equals(slow)


def test_repr_is_short_even_with_a_huge_log():
    text = (DATA / "trtexec/log-8.6.1-segformer-build-verbose-workspace-plugin.log").read_text(
        encoding="utf-8"
    )
    run = Run(command=["--onnx=m.onnx"], exit_code=0, status="passed", log_text=text)
    assert len(text) > 2_000_000
    assert len(repr(run)) < 300 and "--onnx=m.onnx" in repr(run)


def test_changing_a_returned_table_leaves_the_run_alone():
    run = load_run(DATA / "trex/A100-fp16/resnet.onnx.engine")
    mine = run.layers
    mine["time_ms"] = 0.0
    mine.loc[0, "name"] = "changed"
    mine["extra"] = 1
    again = run.layers
    assert again.loc[0, "name"] != "changed" and again["time_ms"].sum() > 0
    assert "extra" not in again


def test_engine_file_size_wins_over_the_log_figure(tmp_path):
    shutil.copy(DATA / "trtexec/log-10.16.1-onnx-default-run.log", tmp_path / "m.log")
    (tmp_path / "m.plan").write_bytes(b"\0" * 2**20)
    run = load_run(tmp_path / "m")
    assert run.files["engine"] == tmp_path / "m.plan"
    assert run.summary["engine_size_mib"] == 1.0
    assert run.log.engine_size_mib == 12.5744
