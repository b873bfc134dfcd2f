"""The editor's build panel: run trtexec in a background thread, stream its log, cancel it.

The kernel stays usable while a build runs: the runner works in a thread and reports each log
line through ``on_line``; Cancel sets the ``threading.Event`` the runner watches (it stops the
container). "Build each precision" runs one build per ticked precision, then shows
``trt_magic.results.compare`` of them.
"""

from __future__ import annotations

import html
import threading
import traceback
from collections import deque
from collections.abc import Callable

import ipywidgets as w

from ..config import get_settings
from ..display.live import Throttle
from ..errors import TrtMagicError
from ..spec import BuildSpec, Precision

#: seconds between log-box updates (a verbose build prints thousands of lines); a line shows
#: at the latest this long after it arrives, even when no other line follows
FLUSH_EVERY = 0.25


def default_runner(args, **kwargs):
    """``trt_magic.runners.trtexec`` (imported when a build starts)."""
    from ..runners import trtexec

    return trtexec(args, **kwargs)


class BuildPanel:
    """Build / Build each precision / Cancel buttons, a live log and the result."""

    def __init__(self, editor, runner: Callable | None = None):
        self.editor = editor
        self.runner = runner or default_runner
        self.build_button = w.Button(description="Build", icon="play", button_style="primary")
        self.each_button = w.Button(
            description="Build each precision", icon="forward", layout=w.Layout(width="200px")
        )
        self.each_button.tooltip = "one build per ticked precision, then a comparison"
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        for button, css in (
            (self.build_button, "trt-build"),
            (self.each_button, "trt-build-each"),
            (self.cancel_button, "trt-cancel"),
        ):
            button.add_class(css)
        self.build_button.on_click(lambda _: self.build())
        self.each_button.on_click(lambda _: self.build_each())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.status = w.HTML()
        self.log = w.Textarea(layout=w.Layout(width="100%", height="180px"), disabled=False)
        self.log.add_class("trt-build-log")
        self.log.layout.display = "none"  # shown when a build starts
        self.result = w.HTML()
        self.runs: list = []
        self.comparison = None
        self.thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lines: deque[str] = deque(maxlen=max(get_settings().log_lines, 20))
        self._throttle = Throttle(self._flush, FLUSH_EVERY)
        self.widget = w.VBox(
            [
                w.HBox([self.build_button, self.each_button, self.cancel_button]),
                self.status,
                self.log,
                self.result,
            ]
        )

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def build(self) -> threading.Thread | None:
        """Build the editor's current spec in the background."""
        spec = self._valid_spec()
        return self._start([(spec.precision_tag(), spec)]) if spec else None

    def build_each(self) -> threading.Thread | None:
        """Build each ticked precision in turn (FP32 ticked = an FP32 baseline), then compare."""
        spec = self._valid_spec()
        if spec is None:
            return None
        ticked = self.editor.options.ticked() or [Precision.FP32]
        jobs = []
        for precision in ticked:
            one = spec.with_precision(precision)
            if precision is Precision.FP32:
                one.precisions = ()
            jobs.append((one.precision_tag(), one))
        return self._start(jobs)

    def cancel(self) -> None:
        """Ask the running build to stop (the runner stops its container)."""
        if self.running:
            self._cancel.set()
            self._show_status("Cancelling…", "#b26b00")

    def _valid_spec(self) -> BuildSpec | None:
        problems = self.editor.problems
        if problems:
            self._show_status("Fix the form first: " + "; ".join(problems), "#d62728")
            return None
        if self.running:
            self._show_status("A build is already running (Cancel it first).", "#b26b00")
            return None
        return self.editor.spec

    def _start(self, jobs: list[tuple[str, BuildSpec]]) -> threading.Thread:
        self._cancel = threading.Event()
        self.runs, self.comparison = [], None
        with self._throttle.lock:
            self._lines.clear()
        self.log.value, self.result.value = "", ""
        self.log.layout.display = None
        self._set_running(True)
        self.thread = threading.Thread(target=self._run_jobs, args=(jobs,), daemon=True)
        self.thread.start()
        return self.thread

    def _run_jobs(self, jobs: list[tuple[str, BuildSpec]]) -> None:
        try:
            for number, (name, spec) in enumerate(jobs, 1):
                if self._cancel.is_set():
                    break
                self._show_status(f"Building {name} ({number}/{len(jobs)})…", "#1f77b4")
                self._line(f"$ {' '.join(self.editor.command_for(spec))}")
                run = self.runner(spec.to_args(), **self._runner_kwargs())
                self.runs.append(run)
                self._throttle.flush_now()
                self._show_run(name, run)
            if len(self.runs) > 1:
                self._show_comparison([name for name, _ in jobs][: len(self.runs)])
        except TrtMagicError as exc:
            self._show_status(exc.message + (f"\nhint: {exc.hint}" if exc.hint else ""))
        except Exception:  # a bug: keep the traceback where the user sees it
            self._line(traceback.format_exc())
            self._show_status("The build crashed (traceback in the log).", "#d62728")
        finally:
            self._throttle.flush_now()
            self._set_running(False)

    def _runner_kwargs(self) -> dict:
        return {
            "image": self.editor.options.image.value.strip() or None,
            "gpus": self.editor.gpus,
            "display": False,
            "on_line": self._line,
            "cancel": self._cancel,
        }

    def _line(self, line: str) -> None:
        with self._throttle.lock:
            self._lines.append(line.rstrip("\n"))
        self._throttle.poke()

    def _flush(self) -> None:
        self.log.value = "\n".join(self._lines)  # the throttle holds its lock

    def _show_run(self, name: str, run) -> None:
        status = getattr(run, "status", "?")
        color = "#2ca02c" if status == "passed" else "#d62728"
        engine = getattr(run, "files", {}).get("engine", "")
        recorded = getattr(run, "recorded", None)
        if recorded is not None:  # a replay: nothing was built, say so before any figure
            differs = (
                f"; differs: {'; '.join(recorded.differences)}" if recorded.differences else ""
            )
            text = f"{name}: recorded, nothing built ({status} in {recorded.label()}){differs}"
            self._show_status(text, "#b26b00")
        else:
            self._show_status(f"{name}: {status}" + (f" → {engine}" if engine else ""), color)
        try:
            body = run._repr_html_()
        except Exception as exc:  # results may not render a failed run: say so, keep going
            body = f"<pre>{html.escape(f'{type(exc).__name__}: {exc}')}</pre>"
        self.result.value += f"<h4 style='margin:6px 0'>{html.escape(name)}</h4>{body}"

    def _show_comparison(self, names: list[str]) -> None:
        from ..results import compare

        try:
            self.comparison = compare(*self.runs, names=names)
            self.result.value += "<h4>Comparison</h4>" + self.comparison._repr_html_()
        except TrtMagicError as exc:
            self.result.value += f"<p style='color:#d62728'>{html.escape(str(exc))}</p>"

    def _show_status(self, text: str, color: str = "#d62728") -> None:
        """Show plain ``text`` (escaped here; new lines kept)."""
        body = html.escape(text).replace("\n", "<br>")
        self.status.value = f"<span style='color:{color}'>{body}</span>"

    def _set_running(self, running: bool) -> None:
        self.build_button.disabled = running
        self.each_button.disabled = running
        self.cancel_button.disabled = not running
