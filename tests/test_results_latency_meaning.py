"""What each latency includes, from the run's own log, TREx metadata, or flags + version."""

from __future__ import annotations

import warnings

import pytest
from data.registry import DATA

from trt_magic.results import compare, load_run
from trt_magic.results.comparison import MeasurementWarning
from trt_magic.results.latency_meaning import (
    flags_like_your_code,
    from_flags,
    latency_meaning,
)

DEFAULT = DATA / "trtexec/log-10.16.1-onnx-default-run.log"
# --noDataTransfers --useSpinWait --useCudaGraph
TUNED = DATA / "trtexec/log-10.16.1-loadEngine-inference-verbose.log"


@pytest.mark.parametrize(
    ("rel", "settings"),
    [
        ("trtexec/log-10.16.1-onnx-default-run.log", (True, False, False, False)),
        ("trtexec/log-10.16.1-loadEngine-inference-verbose.log", (False, True, True, False)),
        # --dumpProfile --exportProfile with "Separate profiling: Disabled": profiler in timing
        ("trtexec/log-10.16.1-dumpProfile-exportProfile.log", (True, False, False, True)),
        ("trtexec/log-8.2.5-mobilenetv2-qat-int8-notebook.log", (True, False, False, False)),
        # TREx's copy of the inference options (no log)
        ("trex/A100-fp16/resnet.onnx.engine", (False, True, True, False)),
    ],
)
def test_settings_of_real_runs(rel, settings):
    m = latency_meaning(load_run(DATA / rel))
    assert (m.data_transfers, m.cuda_graph, m.spin_wait, m.profiler_in_timed_run) == settings


def test_summary_labels_every_latency():
    s = load_run(DEFAULT).summary
    assert s["latency_includes"] == (
        "GPU compute + H2D/D2H copies; no CUDA graph; blocking sync [from the log's Inference Options]"
    )
    assert s["gpu_compute_includes"].startswith("GPU compute; no CUDA graph")
    tuned = load_run(TUNED).summary["latency_includes"]
    assert tuned.startswith("GPU compute only (no H2D/D2H copies); CUDA graph launch; spin-wait")
    build_only = load_run(DATA / "trtexec/log-10.16.1-build-fp16-dynamic-skipInference-verbose.log")
    assert "latency_includes" not in build_only.summary  # nothing was timed


@pytest.mark.parametrize(
    ("command", "version", "settings"),
    [
        ([], "10.16.1", (True, False, False)),  # sampleOptions.h up to 10.x
        (["--noDataTransfers", "--useCudaGraph", "--useSpinWait"], "8.6.1", (False, True, True)),
        ([], "11.0.0", (False, True, True)),  # v11.0 sampleOptions.h: includeTransfers{false}...
        (
            ["--includeDataTransfers", "--noCudaGraph", "--noSpinWait"],
            "11.1.0",
            (True, False, False),
        ),
        (["--useCudaGraph", "--noDataTransfers"], "11.0.0", (False, True, True)),  # no-ops in 11
        ([], None, (None, None, None)),
    ],
)
def test_settings_from_flags_and_version(command, version, settings):
    m = from_flags(command, version)
    assert (m.data_transfers, m.cuda_graph, m.spin_wait) == settings
    if version is None:
        assert m.label().startswith("unknown")


def test_flags_like_your_code():
    assert flags_like_your_code("11.0.0") == "add --includeDataTransfers --noCudaGraph --noSpinWait"
    assert "leave out --noDataTransfers --useCudaGraph --useSpinWait" in flags_like_your_code(
        "10.16.1"
    )


def test_compare_warns_when_runs_timed_different_things():
    with pytest.warns(MeasurementWarning, match="data transfers, cuda graph, spin wait") as rec:
        cmp = compare(DEFAULT, TUNED, names=["default", "tuned"])
    text = str(rec[0].message)
    assert "default: GPU compute + H2D/D2H copies" in text and "tuned: GPU compute only" in text
    assert "TensorRT 10.16.1: leave out --noDataTransfers --useCudaGraph --useSpinWait" in text
    assert cmp.measurement_notes == [text]
    assert cmp.table["latency_includes"].nunique() == 2
    assert "runs measured different things" in cmp._repr_html_()


def test_compare_is_quiet_when_runs_timed_alike():
    a100 = [DATA / f"trex/A100-{p}" for p in ("fp32/resnet.onnx.engine", "fp16/resnet.onnx.engine")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MeasurementWarning)
        cmp = compare(*a100)
    assert cmp.measurement_notes == []


def test_run_report_says_what_latency_includes():
    html = load_run(TUNED)._repr_html_()
    assert "Latency includes:" in html and "CUDA graph launch" in html
