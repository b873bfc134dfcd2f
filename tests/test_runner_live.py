"""The live log view (display/live.py) and the log sink that feeds it (runners/base.py)."""

from __future__ import annotations

import io

from trt_magic.display.live import LiveLog, line_level
from trt_magic.runners.base import LogSink


class FakeDisplay:
    def __init__(self):
        self.shown = []
        self.updates = 0

    def __call__(self, obj, display_id=False):
        assert display_id is True
        self.shown.append(obj)
        return self

    def update(self, obj):
        self.updates += 1
        self.shown.append(obj)


def test_levels_from_real_lines(data_dir):
    log = (data_dir / "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log").read_text()
    levels = [line_level(line) for line in log.splitlines()]
    assert levels.count("error") >= 8 and levels[-1] == "error"  # [E] lines and &&&& FAILED
    assert line_level("[07/07/2026-02:10:59] [W] --plugins flag has been deprecated") == "warning"
    assert line_level("[07/07/2026-02:10:45] [I] Device: 0") == ""


def test_notebook_view_is_capped_throttled_and_marks_levels(data_dir):
    fake = FakeDisplay()
    live = LiveLog("trtexec", max_lines=50, mode="notebook", display_fn=fake, interval=3600)
    log = (data_dir / "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log").read_text()
    for line in log.splitlines():
        live.add(line)
    assert len(fake.shown) == 1  # first line displayed, the rest throttled
    live.finish("trtexec FAILED")
    html = fake.shown[-1]._repr_html_()
    assert len(live.tail) == 50 and live.count == len(log.splitlines())
    assert "earlier lines not shown" in html and "color:#b00020" in html and "FAILED" in html
    assert "&lt;" not in log or "&lt;" in html  # escaped


def test_print_mode_caps_but_keeps_errors():
    out = io.StringIO()
    live = LiveLog("t", max_lines=3, mode="print", stream=out)
    for i in range(10):
        live.add(f"[I] line {i}")
    live.add("[01/01/2026-00:00:00] [E] boom")
    printed = out.getvalue().splitlines()
    assert printed[:3] == ["[I] line 0", "[I] line 1", "[I] line 2"]
    assert printed[-1].endswith("[E] boom") and len(printed) == 5


def test_sink_splits_chunks_and_utf8_anywhere(tmp_path):
    lines = []
    sink = LogSink(tmp_path / "x.log", None, lines.append)
    data = "[I] première\n[E] deuxième\r\nfin".encode()
    for i in range(len(data)):  # one byte at a time: multibyte characters split across chunks
        sink.feed(data[i : i + 1])
    sink.close()
    assert lines == ["[I] première", "[E] deuxième", "fin"]
    assert sink.error_lines == ["[E] deuxième"]
    assert (tmp_path / "x.log").read_bytes() == data


def test_sink_without_output_writes_no_log(tmp_path):
    path = tmp_path / "old.log"
    path.write_text("previous run")
    LogSink(path).close()
    assert path.read_text() == "previous run"
