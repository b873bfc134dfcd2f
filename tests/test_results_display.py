"""The HTML views of runs (trt_magic.display.run_view, page) on the real fixtures."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from data.registry import DATA
from data.scaled import scale_export

from trt_magic.results import Recorded, Run, load_run


class _Checker(HTMLParser):
    """Collects text and checks the markup is well nested (void elements aside)."""

    VOID = {"br", "meta", "rect", "line", "polyline", "input", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.text, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _check(html: str) -> str:
    checker = _Checker()
    checker.feed(html)
    assert checker.errors == [] and checker.stack == []
    return " ".join(checker.text)


def test_trex_run_view_shows_summary_top_layers_and_groups():
    run = load_run(DATA / "trex/A100-qat/resnet-qat.onnx.engine")
    html = run._repr_html_()
    text = _check(html)
    assert "loaded from files" in text
    assert "1,130" in text  # throughput 1130.01 qps from the profile metadata
    assert "NVIDIA A100 80GB PCIe" in text
    assert "Slowest layers (top 15 of 37" in text
    assert "conv1.weight + QuantizeLinear_7 + Conv_9" in text
    assert "Time by layer type" in text and "Time by precision" in text
    assert "INT8" in text
    # share-of-time bar of the slowest layer: 0.201728 of 1.09568 ms = 18.4%
    assert "18.4%" in text and 'style="width:18.4%"' in html


def test_failed_run_lifts_errors_out_of_the_folded_log():
    run = load_run(DATA / "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log")
    html = run._repr_html_()
    text = _check(html)
    assert "FAILED" in text and "Errors (8)" in text
    head, _, log_part = html.partition("<details><summary><b>Log</b>")
    assert "Plugin not found, are the plugin name" in head  # lifted out, before the log
    assert log_part and "&amp;&amp;&amp;&amp; FAILED" in log_part  # the log itself, folded
    assert "trtexec --onnx=/cookbook/00-Data/model/model-addscalar.onnx" in text


def test_log_run_shows_performance_and_latency_trace():
    run = load_run(DATA / "trtexec/log-10.16.1-onnx-default-run.log")
    text = _check(run._repr_html_())
    assert "PASSED" in text and "15,374" in text
    assert "0.04407" in text  # median latency 0.0440674 ms
    assert "GPU latency over the run (400 windows" in text
    assert "last 200 of 580 lines" in text


def test_timings_give_a_latency_histogram():
    run = load_run(DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32")
    html = run._repr_html_()
    text = _check(html)
    assert "Latency over 263 inferences" in text
    # histogram + series of the latencies (the third chart: time by layer type and precision)
    assert html.count('aria-label="latency (ms)') == 2 and "n=263" in text
    assert html.count("<svg") == 3 and 'aria-label="time by layer type and precision"' in html


def test_recorded_and_cached_badges():
    text = (DATA / "trtexec/log-10.16.1-onnx-default-run.log").read_text(encoding="utf-8")
    run = Run(command=["--onnx=model.onnx"], exit_code=0, status="passed", backend="replay",
              cached=True, log_text=text, recorded=Recorded("cookbook result-01.log", "H100 PCIe", "10.16.1"))  # fmt: skip
    out = _check(run._repr_html_())
    assert "recorded: cookbook result-01.log, H100 PCIe, TensorRT 10.16.1" in out
    assert "cached engine" in out
    assert "trtexec --onnx=model.onnx" in " ".join(out.split())  # one box per argument


def test_user_text_is_escaped():
    run = Run(command=["--onnx=<script>alert(1)</script>.onnx"], status="failed", exit_code=1,
              log_text="[01/01/2024-00:00:00] [E] bad <b>tag</b> & more\n")  # fmt: skip
    html = run._repr_html_()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<b>tag</b>" not in html
    _check(html)


def test_ten_thousand_layer_engine_renders_under_300_kb(tmp_path):
    run = load_run(scale_export(10_000, tmp_path))
    html = run._repr_html_()
    assert len(html.encode()) < 300 * 1024
    text = _check(html)
    assert "top 15 of 10000" in text and "all 10000 layers" in text


def test_to_html_writes_a_standalone_page_with_the_full_table(tmp_path):
    run = load_run(DATA / "trtexec/trex-tf-resnet50-rtx3090-fp32")
    path = run.to_html(tmp_path / "report")
    assert path.name == "report.html" and path.is_file()
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'name="color-scheme" content="light dark"' in page
    assert "All 103 layers" in page
    assert len(re.findall(r"<tr>", page)) > 103
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temp file, nothing left behind


@pytest.mark.parametrize(
    "prefix", ["trtexec/layerinfo-10.16.1-detailed.json", "trex/notebook-yolo-orin"]
)
def test_layer_info_without_profile_or_names_only_still_renders(prefix):
    run = load_run(DATA / prefix)
    text = _check(run._repr_html_())
    assert "layers" in text


def test_a_broken_file_shows_a_note_and_the_rest_still_renders(tmp_path):
    log = tmp_path / "m.log"
    log.write_bytes((DATA / "trtexec/log-10.16.1-onnx-default-run.log").read_bytes())
    (tmp_path / "m.profile.json").write_text('[{"count": 1}, {"name": "a", "timeMs"')  # cut short
    run = load_run(tmp_path / "m")
    html = run._repr_html_()
    text = _check(html)
    assert "is not valid JSON" in text
    assert "15,374" in text  # the performance summary from the log is still there


def test_views_follow_a_log_that_grows(tmp_path):
    full = (DATA / "trtexec/log-10.16.1-onnx-default-run.log").read_text(encoding="utf-8")
    log = tmp_path / "live.log"
    log.write_text(full[:2000], encoding="utf-8")
    run = Run(files={"log": log}, status="running", backend="docker")
    assert run.log.status is None
    log.write_text(full, encoding="utf-8")
    assert run.log.status == "passed" and run.summary["throughput_qps"] == 15374.3


def test_counts_are_singular_for_one():
    from trt_magic.display.html import count
    from trt_magic.display.live import LiveLog

    assert count(1, "layer") == "1 layer" and count(2, "line") == "2 lines"
    assert count(0, "error") == "0 errors" and count(12345, "line") == "12,345 lines"
    live = LiveLog("trtexec --onnx=a.onnx", mode="off")
    live.add("[I] one line")
    assert "(1 line, 0 warnings, 0 errors)" in live.to_html()


def test_command_wraps_between_arguments_only():
    """Each argument is one inline box: a browser cannot break a line right after its "--"."""
    from trt_magic.display.html import command_html

    out = command_html("trtexec --onnx=<a>.onnx --fp16")
    boxes = re.findall(r'<span style="display:inline-block;[^"]*">([^<]*)</span>', out)
    assert boxes == ["trtexec", "--onnx=&lt;a&gt;.onnx", "--fp16"]
    assert re.sub(r"<[^>]+>", "", out) == "trtexec --onnx=&lt;a&gt;.onnx --fp16"  # copies as typed
