"""Corrupt or foreign files given to load_run: every view ends in a short TrtMagicError (or
shows what it can), never a raw traceback. Every REAL JSON export of tests/data is cut short,
emptied, or replaced by valid JSON of the wrong shape under its own name (issue 14)."""

from __future__ import annotations

import warnings

import pytest
from data.registry import DATA

import trt_magic
from trt_magic.errors import TrtMagicError

FILES = sorted(DATA.rglob("*.json"))

CORRUPTIONS = {
    "cut in half": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "binary": lambda data: bytes(range(256)),
    "null": lambda data: b"null",
    "a number": lambda data: b"42",
    "a string": lambda data: b'"x"',
    "numbers": lambda data: b"[1,2,3]",
    "empty object": lambda data: b"{}",
    "Layers a string": lambda data: b'{"Layers": "x"}',
    "Layers numbers": lambda data: b'{"Layers": [1, 2]}',
    "Layers null name": lambda data: b'{"Layers": [{"Name": null}]}',
    "profile null name": lambda data: b'[{"count": 1}, {"name": null, "timeMs": 1}]',
    "summary a list": lambda data: b'{"performance_summary": [1, 2]}',
    "summary nested": lambda data: b'{"performance_summary": {"Latency": [[1]]}}',
    "empty list": lambda data: b"[]",
    "list of strings": lambda data: b'["x"]',
    "section a string": lambda data: b'{"build_options": "x"}',
}

VIEWS = {
    "summary": lambda run: run.summary,
    "ok": lambda run: run.ok,
    "layers": lambda run: run.layers,
    "timings": lambda run: run.timings,
    "html": lambda run: run._repr_html_(),
    "repr": repr,
    "compare": lambda run: trt_magic.compare(run, run).table,
    "engine graph": lambda run: trt_magic.engine_graph(run),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_exports_give_short_errors(corruption, tmp_path):
    raw = []
    for path in FILES:
        bad = tmp_path / path.parent.name / path.name
        bad.parent.mkdir(exist_ok=True)
        bad.write_bytes(CORRUPTIONS[corruption](path.read_bytes()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                run = trt_magic.load_run(bad)
            except TrtMagicError:
                continue
            for view, show in VIEWS.items():
                try:
                    show(run)
                except TrtMagicError as exc:
                    assert len(exc.message.splitlines()) <= 2, exc.message
                except Exception as exc:  # noqa: BLE001 - what the test looks for
                    raw.append(f"{view} of {path.name}: {type(exc).__name__}: {exc}")
    assert raw == []
