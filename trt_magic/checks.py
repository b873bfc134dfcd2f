"""Argument checks where values enter trt_magic: short errors that name the argument.

Every public function checks its arguments with these helpers before doing any work, so a wrong
type or value ends in one ``UsageError`` line naming the argument (never a traceback from deep
inside pandas, Docker or the file system). Stdlib only; the runner and the settings use them too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from typing import Any

from .errors import UsageError

#: a Docker image reference: [registry[:port]/]path[:tag][@digest] (docker/distribution's grammar:
#: lowercase path components, tags of word characters, dots and dashes, up to 128)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:\d))"  # dot, port or localhost
_IMAGE = re.compile(
    rf"^(?:{_DOMAIN}(?::\d+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def type_names(types: type | tuple[type, ...]) -> str:
    """``(str, os.PathLike)`` -> ``"str or PathLike"``."""
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def check_type(name: str, value: Any, types: type | tuple[type, ...], hint: str | None = None):
    """Return ``value`` when it is an instance of ``types`` (bool is never a number here).

    Raises:
        UsageError: naming ``name``, the types it takes and the type it got.
    """
    numeric = types in (int, float) or (isinstance(types, tuple) and set(types) <= {int, float})
    if isinstance(value, types) and not (numeric and isinstance(value, bool)):
        return value
    raise UsageError(
        f"{name} must be a {type_names(types)}, not {type(value).__name__} ({_short(value)}).",
        hint=hint,
    )


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    positive: bool = False,
    integer: bool = False,
    hint: str | None = None,
) -> float | int:
    """A finite number (an int when ``integer``), ``> 0`` when ``positive``, ``>= minimum``.

    Raises:
        UsageError: a non-number, NaN or infinity, or a value out of range, naming ``name``.
    """
    check_type(name, value, int if integer else (int, float), hint)
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, not {value!r}.", hint=hint)
    if positive and value <= 0:
        raise UsageError(f"{name} must be greater than 0, not {value!r}.", hint=hint)
    if minimum is not None and value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, not {value!r}.", hint=hint)
    return value


def check_choice(name: str, value: Any, choices: Iterable[str], hint: str | None = None) -> str:
    """``value`` when it is one of ``choices`` (a did-you-mean hint otherwise)."""
    import difflib

    choices = list(choices)
    if isinstance(value, str) and value in choices:
        return value
    close = difflib.get_close_matches(str(value), choices, n=1)
    listing = "one of: " + ", ".join(choices)
    hint = hint or (f"did you mean {close[0]!r}? ({listing})" if close else listing)
    if len(choices) > 5:  # a long list goes in the hint, the message stays one short line
        raise UsageError(f"{name} {_short(value)} is not a known {name}.", hint=hint)
    raise UsageError(f"{name} {_short(value)} is not one of {', '.join(choices)}.", hint=hint)


def check_path(name: str, value: Any, hint: str | None = None) -> str | os.PathLike:
    """A file name: a non-empty str or PathLike without NUL bytes."""
    check_type(name, value, (str, os.PathLike), hint)
    text = os.fspath(value)
    if isinstance(text, bytes) or not text.strip() or "\x00" in text:
        raise UsageError(f"{name} {_short(value)} is not a usable file name.", hint=hint)
    return value


def check_image(name: str, value: Any) -> str:
    """A Docker image reference (``nvcr.io/nvidia/tensorrt:24.05-py3``)."""
    hint = "e.g. nvcr.io/nvidia/tensorrt:24.05-py3 (lowercase name, optional :tag)"
    check_type(name, value, str, hint)
    if not _IMAGE.match(value.strip()) or len(value) > 512:
        raise UsageError(f"{name} {_short(value)} is not a Docker image name.", hint=hint)
    return value.strip()


def gpus_problem(value: str) -> str | None:
    """Why ``value`` is not a GPU request ('all', 'none', '2', '0,1'), or None when it is."""
    text = value.strip().replace(" ", "")
    parts = text.split(",")
    if text in ("all", "none") or all(p.isdigit() for p in parts):
        if len(set(parts)) != len(parts):
            return f"{value!r} names a GPU twice"
        return None
    return f"{value!r} is not 'all', 'none', a GPU index or a list like '0,1'"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
