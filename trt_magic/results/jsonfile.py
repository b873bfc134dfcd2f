"""Read a JSON file the same way with and without ``orjson`` (stdlib only; orjson when installed).

The stdlib ``json`` module is the reference. orjson (``trt_magic[fast]``, about twice as fast on
big exports) is used only where it gives the same result: it refuses ``NaN``/``Infinity``
literals, UTF-16 text, lone surrogates and numbers beyond a double, which ``json`` accepts, so
those files are parsed again by ``json``; and it silently turns integers beyond 64 bits into
floats, so a file with such digits goes to ``json`` at once. A UTF-8 byte order mark (editors
add one) is skipped by both. Duplicate keys: both keep the last.
"""

from __future__ import annotations

import json
from typing import Any

_BOM = b"\xef\xbb\xbf"
#: digits to b"0", the bytes that make a number a float (``.``, ``e``, ``E``) to b"1", every other
#: byte to b" ": a space then 19 zeros then mark an integer orjson may read as a float (beyond
#: int64/uint64), while a long fraction (``0.00012345678901234568``, ``.`` before it) is not one.
#: translate + ``in`` scan 12 MB in ~20 ms (a regex: 2 s).
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x31 if b in b".eE" else 0x20 for b in range(256))
_RUN = b" " + b"0" * 19


_CHUNK = 1 << 20


def has_long_digits(data: bytes) -> bool:
    """True when ``data`` has 19 or more digits in a row that do not follow a ``.``, ``e`` or
    ``E`` (an integer, or a float's integer part: orjson reads both; the json fallback for such a
    float is only slower). Scanned 1 MiB at a time: no copy of a big file, and the chunks stay in
    the CPU cache."""
    if data[:19].isdigit():
        return True
    view = memoryview(data)
    step, overlap = _CHUNK, len(_RUN) - 1
    for start in range(0, len(data), step):
        if _RUN in bytes(view[max(start - overlap, 0) : start + step]).translate(_DIGITS):
            return True
    return False


def _orjson():
    try:
        import orjson
    except ImportError:
        return None
    return orjson


def loads(data: bytes, *, fast: bool = True) -> Any:
    """Parse JSON bytes as ``json.loads`` does (orjson's speed when installed and ``fast``).

    Raises:
        ValueError: the text is not JSON (json's JSONDecodeError or UnicodeDecodeError).
        RecursionError: nesting deeper than the interpreter allows.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    orjson = _orjson() if fast else None
    if orjson is not None and not has_long_digits(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # json's rules decide (NaN literals, UTF-16...); a real error is raised there
    return json.loads(data)
