"""The live log view (display/live.py) and the log sink that feeds it (runners/base.py)."""

from __future__ import annotations

import io
import sys
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
    data = "[I] première\n[04/24/2026-02:26:01] [E] deuxième\r\nfin".encode()
    for i in range(len(data)):  # one byte at a time: multibyte characters split across chunks
        sink.feed(data[i : i + 1])
    sink.close()
    assert lines == ["[I] première", "[04/24/2026-02:26:01] [E] deuxième", "fin"]
    assert sink.error_lines == ["[04/24/2026-02:26:01] [E] deuxième"]
    assert (tmp_path / "x.log").read_bytes() == data


def test_sink_without_output_writes_no_log(tmp_path):
    path = tmp_path / "old.log"
    path.write_text("previous run")
    LogSink(path).close()
    assert path.read_text() == "previous run"


FAILED_LOG = "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log"
FAILED_TITLE = (
    "trtexec --onnx=/cookbook/00-Data/model/model-addscalar.onnx --plugins=./AddScalarPlugin.so"
)


def _lines(data_dir, rel=FAILED_LOG):
    return (data_dir / rel).read_text(encoding="utf-8").splitlines()


def test_level_of_every_line_of_real_logs(data_dir):
    def marked(rel):
        return {i: level for i, line in enumerate(_lines(data_dir, rel), 1) if (level := line_level(line))}  # fmt: skip

    # [W] line 3, [E] [TRT] 134-147, [E] 149-153, &&&& FAILED 154; the untagged node dump
    # (line 148: '[6] creator && "Plugin not found..."') and "&&&& RUNNING" (line 1) are plain
    assert marked(FAILED_LOG) == {3: "warning", 134: "error", 135: "error", 146: "error",
                                  147: "error", 149: "error", 151: "error", 152: "error",
                                  153: "error", 154: "error"}  # fmt: skip
    # the Python API's "[TRT] [E]" order (line 7) and the 8.2 "&&&& FAILED" banner (line 37)
    excerpt = marked("trtexec/log-8.2-FAILED-pad-reflect-parse-excerpt.txt")
    assert sorted(excerpt) == [7, 13, 14, 15, 16, 28, 29, 32, 34, 35, 36, 37]
    assert set(excerpt.values()) == {"error"}
    passed = marked("trtexec/log-10.16.1-onnx-default-run.log")
    assert passed == {130: "warning", 132: "warning", 576: "warning", 577: "warning"}


def test_notebook_view_html_is_exact(data_dir):
    fake = FakeDisplay()
    live = LiveLog(FAILED_TITLE, max_lines=3, mode="notebook", display_fn=fake, interval=3600)
    for line in _lines(data_dir)[:148]:
        live.add(line)
    arg = '<span style="display:inline-block;word-break:break-all">'
    err = '<span style="color:#b00020;font-weight:bold">'
    head = (
        f"<div><b>{arg}trtexec</span> {arg}--onnx=/cookbook/00-Data/model/model-addscalar.onnx"
        f"</span> {arg}--plugins=./AddScalarPlugin.so</span></b> "
        "<small>(148 lines, 1 warning, 4 errors)</small>"
        "<pre style='max-height:24em;overflow:auto;font-size:85%'>"
        "<i>... 145 earlier lines not shown</i>\n"
        f"{err}[04/24/2026-02:26:01] [E] [TRT] ModelImporter.cpp:141: --- End node ---</span>\n"
        f"{err}[04/24/2026-02:26:01] [E] [TRT] ModelImporter.cpp:149: ERROR: onnxOpCheckers.cpp:923 "
        "In function checkFallbackPluginImporter:</span>\n"
        "[6] creator &amp;&amp; &quot;Plugin not found, are the plugin name, version, and "
        "namespace correct?&quot;</pre>"
    )
    assert live.to_html() == head + "</div>"  # no footer yet
    assert fake.shown[-1]._repr_html_() != live.to_html()  # throttled: line 1 is all it showed
    live.finish("trtexec FAILED after 1.2 s (exit code 1)")
    assert fake.shown[-1]._repr_html_() == head + "<div>trtexec FAILED after 1.2 s (exit code 1)</div></div>"  # fmt: skip
    assert repr(fake.shown[-1]) == "\n".join(
        [FAILED_TITLE, "... 145 earlier lines not shown", *_lines(data_dir)[145:148],
         "trtexec FAILED after 1.2 s (exit code 1)"]
    )  # fmt: skip


def test_first_view_has_no_hidden_lines_note_and_singular_counts(data_dir):
    fake = FakeDisplay()
    live = LiveLog("trtexec", max_lines=1, mode="notebook", display_fn=fake, interval=3600)
    live.add(_lines(data_dir)[2])  # the [W] line: shown at once
    assert fake.shown[0]._repr_html_() == (
        '<div><b><span style="display:inline-block;word-break:break-all">trtexec</span></b> '
        "<small>(1 line, 1 warning, 0 errors)</small>"
        "<pre style='max-height:24em;overflow:auto;font-size:85%'>"
        '<span style="color:#a15c00">[04/24/2026-02:26:01] [W] --plugins flag has been deprecated,'
        " use --staticPlugins flag instead.</span></pre></div>"
    )
    assert repr(fake.shown[0]) == "trtexec\n" + _lines(data_dir)[2]


def test_one_hidden_line_is_singular(data_dir):
    live = LiveLog("t", max_lines=2, mode="notebook", display_fn=FakeDisplay(), interval=3600)
    for line in _lines(data_dir)[:3]:
        live.add(line)
    assert live.to_text() == "\n".join(["t", "... 1 earlier line not shown", *_lines(data_dir)[1:3]])  # fmt: skip
    assert "<pre style='max-height:24em;overflow:auto;font-size:85%'><i>... 1 earlier line not shown</i>\n" in live.to_html()  # fmt: skip


def test_print_mode_says_once_that_it_stops_before_the_next_error(data_dir):
    out = io.StringIO()
    live = LiveLog("t", max_lines=1, mode="print", stream=out)
    for line in _lines(data_dir)[131:134]:  # two plain lines, then the first [E] line (134)
        live.add(line)
    assert out.getvalue().splitlines() == [
        _lines(data_dir)[131],
        "... (more lines are not printed; errors still are)",
        _lines(data_dir)[133],
    ]


def test_big_log_counts_use_thousands_separators(data_dir):
    lines = _lines(data_dir, "trtexec/log-10.16.1-build-fp16-dynamic-skipInference-verbose.log")
    live = LiveLog("t", max_lines=2, mode="notebook", display_fn=FakeDisplay(), interval=3600)
    for line in lines:
        live.add(line)
    assert live.to_text().splitlines()[:2] == ["t", "... 4,723 earlier lines not shown"]
    assert "<small>(4,725 lines, 10 warnings, 0 errors)</small>" in live.to_html()
    assert "<i>... 4,723 earlier lines not shown</i>\n" in live.to_html()


def test_refresh_shows_only_changes_and_only_in_notebook_mode(data_dir):
    fake = FakeDisplay()
    live = LiveLog("t", mode="notebook", display_fn=fake, interval=3600)
    live.refresh()  # no line yet: nothing to show
    assert fake.shown == [] and live.footer == ""
    live.add(_lines(data_dir)[0])
    live.refresh()  # nothing new since the first view
    assert len(fake.shown) == 1 and fake.updates == 0
    live.add(_lines(data_dir)[1])  # throttled
    live.refresh()
    assert len(fake.shown) == 2 and fake.updates == 1  # the same output, updated in place
    live.finish()
    live.finish()  # finish always shows the final state
    assert fake.updates == 3 and repr(fake.shown[-1]) == "t\n" + "\n".join(_lines(data_dir)[:2])
    printed = LiveLog("t", mode="print", display_fn=fake, stream=io.StringIO())
    printed._dirty = True
    printed.refresh()  # only a notebook view has an output to update
    assert fake.updates == 3 and len(fake.shown) == 4


def test_notebook_mode_without_display_fn_uses_ipython_display(monkeypatch, data_dir):
    import IPython.display

    fake = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    live = LiveLog("trtexec", mode="notebook", interval=3600)
    live.add(_lines(data_dir)[2])
    live.finish()
    assert len(fake.shown) == 2 and fake.updates == 1  # one output, updated in place
    assert repr(fake.shown[-1]) == "trtexec\n" + _lines(data_dir)[2]


def test_mode_is_notebook_only_inside_a_jupyter_kernel(monkeypatch):
    import IPython

    from trt_magic.display import live as live_module

    class ZMQInteractiveShell:  # the kernel's shell class name
        pass

    class TerminalInteractiveShell:
        pass

    assert live_module.in_notebook() is False  # pytest: no shell at all
    assert LiveLog("t").mode == "print"
    monkeypatch.setattr(IPython, "get_ipython", ZMQInteractiveShell)
    assert live_module.in_notebook() is True
    assert LiveLog("t").mode == "notebook"
    assert LiveLog("t", mode="off").mode == "off"
    monkeypatch.setattr(IPython, "get_ipython", TerminalInteractiveShell)
    assert live_module.in_notebook() is False  # terminal IPython prints
    monkeypatch.setattr(IPython, "get_ipython", ZMQInteractiveShell)
    monkeypatch.delitem(sys.modules, "IPython")  # IPython never imported: not a kernel
    assert live_module.in_notebook() is False


def test_defaults_200_lines_printed_and_quarter_second_updates(data_dir):
    out = io.StringIO()
    live = LiveLog("t", stream=out)  # not in a kernel: print mode
    lines = _lines(data_dir, "trtexec/log-10.16.1-onnx-default-run.log")
    for line in lines:
        live.add(line)
    assert out.getvalue().splitlines() == [
        *lines[:200],
        "... (more lines are not printed; errors still are)",
    ]
    assert LiveLog("t", mode="notebook")._throttle.interval == 0.25


def test_print_mode_errors_after_the_cap_and_at_least_one_line(data_dir):
    out = io.StringIO()
    live = LiveLog("t", max_lines=0, mode="print", stream=out)  # at least one line
    for line in _lines(data_dir):
        live.add(line)
    errors = [line for line in _lines(data_dir) if line_level(line) == "error"]
    assert out.getvalue().splitlines() == [
        _lines(data_dir)[0],
        "... (more lines are not printed; errors still are)",
        *errors,
    ]
    assert (live.count, live.errors, live.warnings) == (154, 9, 1)
    notebook = LiveLog("t", max_lines=-5, mode="notebook", display_fn=FakeDisplay())
    notebook.add("a")
    notebook.add("b")
    assert list(notebook.tail) == ["b"]


def test_print_mode_goes_to_stdout_by_default(capsys):
    live = LiveLog("t", mode="print")
    live.note("image nvcr.io/nvidia/tensorrt:25.01-py3 is not here: pulling it")
    live.finish("trtexec PASSED in 3.0 s")
    assert capsys.readouterr().out == (
        "[trt_magic] image nvcr.io/nvidia/tensorrt:25.01-py3 is not here: pulling it\n"
        "trtexec PASSED in 3.0 s\n"
    )


def test_off_mode_counts_but_shows_nothing(capsys, data_dir):
    fake = FakeDisplay()
    live = LiveLog("t", mode="off", display_fn=fake)
    for line in _lines(data_dir):
        live.add(line)
    live.finish("trtexec FAILED")
    assert (live.count, live.errors, live.warnings) == (154, 9, 1)
    assert fake.shown == [] and list(live.tail) == [] and capsys.readouterr().out == ""


class Clock:
    """A clock the test moves by hand (Throttle's ``clock``)."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_throttle_arms_one_timer_for_the_rest_of_the_interval():
    clock = Clock(100.0)
    flushed_in = []
    throttle = Throttle(lambda: flushed_in.append(threading.current_thread()), 60.0, clock)
    me = threading.current_thread()
    throttle.poke()
    assert flushed_in == [me]  # the first poke flushes at once, in the caller
    clock.now = 100.25
    throttle.poke()
    timer = throttle._timer
    assert flushed_in == [me] and timer.interval == 59.75  # the rest of the interval
    assert timer.daemon  # a pending update never keeps the interpreter alive
    clock.now = 159.0
    throttle.poke()
    assert throttle._timer is timer and flushed_in == [me]  # one timer for the whole burst
    throttle.flush_now()
    assert flushed_in == [me, me] and throttle._timer is None
    timer.join(5)  # cancelled: ends now, not in a minute
    assert not timer.is_alive()
    timer.function()  # a timer that fired while flush_now held the lock: no second flush
    assert flushed_in == [me, me]


def test_throttle_flushes_at_once_when_exactly_one_interval_passed():
    clock = Clock(5.0)
    flushed_in = []
    throttle = Throttle(lambda: flushed_in.append(threading.current_thread()), 0.5, clock)
    throttle.poke()
    clock.now = 5.5
    throttle.poke()  # no timer: flushed in the caller
    assert flushed_in == [threading.current_thread()] * 2 and throttle._timer is None
    clock.now = 5.75
    throttle.poke()
    assert len(flushed_in) == 2 and throttle._timer.interval == 0.25
    throttle.flush_now()
