"""Figures read from results: a number where one belongs, and impossible values made missing.

A time, size or throughput that cannot be (negative, NaN, infinite) is read as missing and
reported once per file with a :class:`~trt_magic.errors.ResultWarning`; a field holding a string
(or a bool, a list...) where trtexec writes a number is a :class:`~trt_magic.errors.ResultError`
naming the field and the file: the file is not what trtexec wrote.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..errors import ResultError, ResultWarning

#: most impossible values listed in one warning
SHOWN = 5


class Dropped(list):
    """Impossible figures met while reading one source (``"averageMs of 'conv1' = -1e308"``)."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def warn(self, stacklevel: int = 3) -> None:
        """Warn once for everything dropped (nothing when nothing was)."""
        if not self:
            return
        shown = "; ".join(self[:SHOWN]) + (
            f"; and {len(self) - SHOWN} more" if len(self) > SHOWN else ""
        )
        warnings.warn(
            ResultWarning(
                f"{self.source}: {len(self)} impossible figure{'s' * (len(self) != 1)} "
                f"(negative or not finite) read as missing: {shown}"
            ),
            stacklevel=stacklevel,
        )


def wrong_type(source: str, where: str, field: str, value: Any, expected: str) -> ResultError:
    """The error for a field of the wrong JSON type."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return ResultError(
        f"{source}: {where}field {field!r} is a {_json_type(value)} ({shown}), not {expected}",
        hint="this is not the file trtexec wrote (edited or made by another tool?): "
        "re-export it with trtexec",
    )


def number(
    value: Any, field: str, dropped: Dropped, where: str = "", *, maximum: float | None = None
) -> float:
    """A non-negative finite float, or NaN (recorded in ``dropped``) for an impossible one.

    ``None`` (JSON null) is missing without a warning. Raises ResultError for a non-number.
    """
    if value is None:
        return math.nan
    if type(value) is not float and (type(value) is not int):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong_type(dropped.source, where, field, value, "a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond a double
        number = math.inf
    if number >= 0.0 and number != math.inf and (maximum is None or number <= maximum):
        return number
    dropped.append(f"{where}{field} = {value!r}")
    return math.nan


def measured(
    value: float, field: str, dropped: Dropped, *, maximum: float | None = None
) -> float | None:
    """A figure parsed from log text: itself, or None (recorded) when negative or not finite."""
    if 0.0 <= value < math.inf and (maximum is None or value <= maximum):
        return value
    dropped.append(f"{field} = {value!r}")
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return "number" if isinstance(value, int | float) else type(value).__name__
