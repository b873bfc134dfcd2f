"""TensorRT versions are always spelled dotted, whatever form the log used."""

from __future__ import annotations

import pytest
from data.registry import DATA

from trt_magic.results.log import parse_log, spell_version


@pytest.mark.parametrize(
    ("raw", "dotted"),
    [
        ("8003", "8.0.3"),  # MAJOR*1000 + MINOR*100 + PATCH before 10 (release/8.6 headers)
        ("8001", "8.0.1"),
        ("v8601", "8.6.1"),  # as in the banner "[TensorRT v8601]"
        ("V8601", "8.6.1"),
        ("8205", "8.2.5"),
        ("7201", "7.2.1"),
        ("101601", "10.16.1"),  # MAJOR*10000 + MINOR*100 + PATCH from 10 on
        ("100100", "10.1.0"),
        ("100000", "10.0.0"),
        ("100001", "10.0.1"),
        ("110100", "11.1.0"),
        (8502, "8.5.2"),
        ("8.6.1", "8.6.1"),  # already dotted: kept
        ("12345", "12345"),  # no TensorRT version has five digits: kept
        ("999", "999"),
        ("8.6.1.6", "8.6.1.6"),
        (" 10.16.1 ", "10.16.1"),
        ("", None),
        (None, None),
    ],
)
def test_spell_version(raw, dotted):
    assert spell_version(raw) == dotted


def test_integer_version_line_of_trtexec_8_0_is_dotted():
    # trtexec 8.0 prints `"TensorRT version: " << getInferLibVersion()` (an integer; NVIDIA/TensorRT
    # release/8.0 samples/trtexec/trtexec.cpp). No such log is stored, so the real 8.2.5 log gets
    # its dotted line replaced by the integer spelling of the same version.
    text = (DATA / "trtexec/log-8.2.5-mobilenetv2-qat-int8-notebook.log").read_text()
    assert "TensorRT version: 8.2.5\n" in text
    log = parse_log(text.replace("TensorRT version: 8.2.5\n", "TensorRT version: 8205\n"))
    assert log.tensorrt_version == "8.2.5"


@pytest.mark.parametrize(
    ("rel", "dotted"),
    [
        ("trtexec/log-8.2-FAILED-pad-reflect-parse-excerpt.txt", "8.2.4"),  # banner v8204 only
        ("trtexec/log-8.6.0-build-fp16-dynamic-skipInference-verbose.log", "8.6.0"),
        ("trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log", "10.16.0"),
    ],
)
def test_real_logs_give_dotted_versions(rel, dotted):
    assert parse_log((DATA / rel).read_text(encoding="utf-8")).tensorrt_version == dotted


def test_summary_spells_a_recorded_integer_version():
    from trt_magic.results import Recorded, Run

    run = Run(log_text="", recorded=Recorded("test", tensorrt="8601"))
    assert run.summary["tensorrt_version"] == "8.6.1"


def test_recorded_label_spells_the_version_dotted():
    from trt_magic.results import Recorded

    assert Recorded("test", gpu="A100", tensorrt="v8601").label().endswith("A100, TensorRT 8.6.1")
