"""The live log view (display/live.py) and the log sink that feeds it (runners/base.py)."""

from __future__ import annotations

import io
import threading

from trt_magic.display.live import LiveLog, Throttle, line_level
from trt_magic.runners.base import LogSink


class FakeDisplay:
    def __init__(self):
        self.shown = []
        self.updates = 0
        self.changed = threading.Event()  # set on every display or update

    def __call__(self, obj, display_id=False):
        assert display_id is True
        self.shown.append(obj)
        self.changed.set()
        return self

    def update(self, obj):
        self.updates += 1
        self.shown.append(obj)
        self.changed.set()


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
    assert "&lt;" not in log  # the real log has no markup: the escaping test is the next one


def test_notebook_view_escapes_log_lines_and_title():
    fake = FakeDisplay()
    live = LiveLog("<b>t</b>", mode="notebook", display_fn=fake, interval=3600)
    live.add("[I] <img src=x onerror=alert(1)> & done")
    live.add("[01/01/2026-00:00:00] [E] <script>x</script>")
    live.finish("<i>end</i>")
    html = fake.shown[-1]._repr_html_()
    assert "<img" not in html and "<script>" not in html and "<b>t</b>" not in html
    assert "[I] &lt;img src=x onerror=alert(1)&gt; &amp; done" in html
    assert '<span style="color:#b00020;font-weight:bold">' in html
    assert "[E] &lt;script&gt;x&lt;/script&gt;</span>" in html
    assert "&lt;b&gt;t&lt;/b&gt;" in html and "<div>&lt;i&gt;end&lt;/i&gt;</div>" in html
    assert repr(fake.shown[-1]).splitlines()[1] == "[I] <img src=x onerror=alert(1)> & done"


def test_notebook_view_shows_a_burst_then_silence_within_one_interval():
    fake = FakeDisplay()
    live = LiveLog("t", mode="notebook", display_fn=fake, interval=0.5)
    for i in range(5):  # the first line shows at once, the others wait for the throttle
        live.add(f"[I] line {i}")
    assert "[I] line 0" in fake.shown[0]._repr_html_()
    while True:  # no more lines come: the throttle's timer must show the last ones
        fake.changed.clear()
        if "[I] line 4" in fake.shown[-1]._repr_html_():
            break
        assert fake.changed.wait(5), "the burst's last lines never showed"
    assert len(fake.shown) <= 3


def test_throttle_flushes_first_poke_at_once_then_once_per_interval():
    flushed = threading.Event()
    calls = []
    throttle = Throttle(lambda: (calls.append(1), flushed.set()), interval=0.5)
    throttle.poke()
    assert calls == [1]  # at once
    flushed.clear()
    throttle.poke()
    throttle.poke()
    throttle.poke()
    assert calls == [1]  # throttled: one timer armed for the three
    assert flushed.wait(5)
    assert calls == [1, 1]
    throttle.flush_now()
    assert calls == [1, 1, 1]


def test_throttle_flush_now_drops_the_pending_timer():
    calls = []
    throttle = Throttle(lambda: calls.append(1), interval=0.5)
    throttle.poke()
    throttle.poke()  # arms a timer
    timer = throttle._timer
    assert timer is not None
    throttle.flush_now()
    timer.join(5)
    assert not timer.is_alive() and calls == [1, 1] and throttle._timer is None


def test_print_mode_caps_but_keeps_errors():
    out = io.StringIO()
    live = LiveLog("t", max_lines=3, mode="print", stream=out)
    for i in range(10):
        live.add(f"[I] line {i}")
    live.add("[01/01/2026-00:00:00] [E] boom")
    printed = out.getvalue().splitlines()
    assert printed[:3] == ["[I] line 0", "[I] line 1", "[I] line 2"]
    assert printed[3] == "... (more lines are not printed; errors still are)"
    assert printed[-1].endswith("[E] boom") and len(printed) == 5
    live.finish("trtexec PASSED in 3 s")
    live.finish("")  # no footer: nothing more
    assert out.getvalue().splitlines()[5:] == ["trtexec PASSED in 3 s"]
    assert (live.count, live.errors, live.warnings) == (11, 1, 0)


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
