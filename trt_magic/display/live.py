"""Live log streaming: a capped, throttled view of a growing log.

In a notebook the view is one ``display(..., display_id=True)`` output updated in place
(``handle.update``), as TensorBoard's notebook layer does, showing the last ``max_lines`` lines with
warnings and errors marked. Elsewhere lines are printed, up to ``max_lines``; after that only
``[E]`` lines are, so a ``--verbose`` build (hundreds of thousands of lines) never floods anything.
The full log is always on disk; the view says where. Updates are throttled by :class:`Throttle`,
whose timer shows a burst of lines followed by silence within one interval (not at the next line).
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

from .html import command_html
from .html import count as plural


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where display handles update in place)."""
    shell = sys.modules.get("IPython") and _shell()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def line_level(line: str) -> str:
    """'error', 'warning' or '' for a trtexec log line (``[E]``/``[W]`` tags, ``&&&& FAILED``).

    The tag follows the timestamp (``[04/24/2026-02:26:01] [E] ...``), as in every real log and
    as results/log.py reads it; an untagged continuation line (the ONNX node dump) is ''.
    """
    if "] [E] " in line or "&&&& FAILED" in line:
        return "error"
    if "] [W] " in line:
        return "warning"
    return ""


class Throttle:
    """Call ``flush`` at most once per ``interval``, and at the latest ``interval`` after a poke.

    The first poke flushes at once; a poke sooner than ``interval`` after the last flush arms a
    timer instead, so the lines of a burst followed by silence still show. ``lock`` (re-entrant)
    is held while ``flush`` runs: owners take it to change what ``flush`` reads.
    """

    def __init__(
        self,
        flush: Callable[[], None],
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.interval = interval
        self._clock = clock  # injectable for tests
        self.lock = threading.RLock()
        self._flush = flush
        self._last = float("-inf")
        self._timer: threading.Timer | None = None

    def poke(self) -> None:
        """Say there is something new to show."""
        with self.lock:
            wait = self._last + self.interval - self._clock()
            if wait <= 0:
                self._run()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def flush_now(self) -> None:
        """Flush at once, whatever the throttle (a pending timer is dropped)."""
        with self.lock:
            self._run()

    def _fire(self) -> None:
        with self.lock:
            if self._timer is threading.current_thread():
                self._run()

    def _run(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last = self._clock()
        self._flush()


_STYLE = {"error": "color:#b00020;font-weight:bold", "warning": "color:#a15c00"}


class LiveLog:
    """A capped live view of log lines.

    Args:
        title: first line of the view (what runs).
        max_lines: most lines shown (the tail in a notebook, the head when printing).
        mode: "notebook", "print" or "off"; None picks "notebook" inside a Jupyter kernel.
        display_fn: ``IPython.display.display`` (injectable for tests).
        interval: seconds between two notebook updates.
    """

    def __init__(
        self,
        title: str,
        *,
        max_lines: int = 200,
        mode: str | None = None,
        display_fn: Callable | None = None,
        interval: float = 0.25,
        stream=None,
    ):
        self.title = title
        self.max_lines = max(1, max_lines)
        self.mode = mode or ("notebook" if in_notebook() else "print")
        self.tail: deque[str] = deque(maxlen=self.max_lines)
        self.count = 0
        self.errors = 0
        self.warnings = 0
        self.footer = ""
        self._display_fn = display_fn
        self._handle = None
        self._throttle = Throttle(self.refresh, interval)  # the first line shows at once
        self._dirty = False
        self._stream = stream

    # -- feeding -------------------------------------------------------------------------------
    def add(self, line: str) -> None:
        """Add one log line (without its newline)."""
        self.count += 1
        level = line_level(line)
        self.errors += level == "error"
        self.warnings += level == "warning"
        if self.mode == "off":
            return
        if self.mode == "print":
            if self.count <= self.max_lines or level == "error":
                self._print(line)
            elif self.count == self.max_lines + 1:
                self._print("... (more lines are not printed; errors still are)")
            return
        with self._throttle.lock:
            self.tail.append(line)
            self._dirty = True
        self._throttle.poke()

    def note(self, text: str) -> None:
        """Show a trt_magic message (not a trtexec line) in the view."""
        self.add(f"[trt_magic] {text}")

    def finish(self, footer: str = "") -> None:
        """Show the final state (always, whatever the throttle)."""
        self.footer = footer
        if self.mode == "print" and footer:
            self._print(footer)
        elif self.mode == "notebook":
            with self._throttle.lock:
                self._dirty = True
                self._throttle.flush_now()

    # -- rendering -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the current state if it changed (the throttle calls this)."""
        with self._throttle.lock:
            if self.mode != "notebook" or not self._dirty:
                return
            self._dirty = False
            view = _HtmlText(self.to_html(), self.to_text())
            if self._handle is None:
                display = self._display_fn or _ipython_display()
                self._handle = display(view, display_id=True)
            else:
                self._handle.update(view)

    def to_text(self) -> str:
        hidden = self.count - len(self.tail)
        head = [self.title] + ([f"... {_hidden(hidden)}"] if hidden > 0 else [])
        return "\n".join(head + list(self.tail) + ([self.footer] if self.footer else []))

    def to_html(self) -> str:
        hidden = self.count - len(self.tail)
        rows = []
        for line in self.tail:
            style = _STYLE.get(line_level(line))
            text = html.escape(line)
            rows.append(f'<span style="{style}">{text}</span>' if style else text)
        counts = ", ".join(
            [
                plural(self.count, "line"),
                plural(self.warnings, "warning"),
                plural(self.errors, "error"),
            ]
        )
        head = f"<b>{command_html(self.title)}</b> <small>({counts})</small>"
        more = f"<i>... {_hidden(hidden)}</i>\n" if hidden > 0 else ""
        foot = f"<div>{html.escape(self.footer)}</div>" if self.footer else ""
        body = "\n".join(rows)
        return (
            f"<div>{head}<pre style='max-height:24em;overflow:auto;font-size:85%'>"
            f"{more}{body}</pre>{foot}</div>"
        )

    def _print(self, line: str) -> None:
        print(line, file=self._stream or sys.stdout)


def _hidden(n: int) -> str:
    """``1 earlier line not shown``, ``4,723 earlier lines not shown``."""
    return f"{plural(n, 'earlier line')} not shown"


class _HtmlText:
    """A displayable with an HTML and a plain-text form."""

    def __init__(self, html_text: str, plain: str):
        self._html, self._plain = html_text, plain

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._plain


def _ipython_display():
    from IPython.display import display

    return display
