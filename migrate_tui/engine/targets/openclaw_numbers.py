"""How OpenClaw reads our numbers back.

OpenClaw is JavaScript: ``JSON.parse`` turns every number into a 64-bit float and
refuses ``NaN``/``Infinity``, which Python's ``json`` (and so the legacy files) allowed.
What we write keeps every number exactly as read (``jsonio``); this module tells which
of them OpenClaw will not read back as the same value, so the plan can say so, and
which ones must not be written at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from migrate_tui.core.jsonio import RawNumber


class Reading(StrEnum):
    EXACT = "exact"
    ROUNDED = "rounded"  # read as a nearby, different number (an integer past 2**53)
    OVERFLOW = "overflow"  # read as Infinity, which OpenClaw then stores as null
    NOT_JSON = "not_json"  # NaN or Infinity: JSON.parse refuses the whole line


def reading(number: Any) -> Reading:
    """How JavaScript reads one number written by ``jsonio`` (bool is not a number)."""
    if isinstance(number, RawNumber):
        text = number.text
        try:
            value = float(text)
        except (ValueError, OverflowError):  # pragma: no cover - jsonio made it from JSON
            return Reading.OVERFLOW
        if math.isinf(value):
            return Reading.OVERFLOW
        if any(ch in text for ch in ".eE"):
            return Reading.EXACT  # a float literal: the same correctly rounded double
        return Reading.EXACT if int(value) == int(text) else Reading.ROUNDED
    if isinstance(number, float):
        return Reading.EXACT if math.isfinite(number) else Reading.NOT_JSON
    if isinstance(number, int):
        try:
            return Reading.EXACT if float(number) == number else Reading.ROUNDED
        except OverflowError:
            return Reading.OVERFLOW
    raise TypeError(f"not a number: {type(number).__name__}")


def losses(value: Any, path: str) -> Iterator[tuple[str, Reading, Any]]:
    """Every number in ``value`` that JavaScript does not read exactly: (path, reading,
    number).  Paths look like ``origin.score`` and ``items[2]``."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{where}[{n}]", v) for n, v in reversed(list(enumerate(item))))
        else:
            found = reading(item)
            if found is not Reading.EXACT:
                yield where, found, item


def shown(number: Any) -> str:
    """A number as it is written (for messages)."""
    if isinstance(number, RawNumber):
        text = number.text
    elif isinstance(number, float) and math.isfinite(number):
        text = float.__repr__(number)
    elif isinstance(number, float):
        text = "NaN" if number != number else ("Infinity" if number > 0 else "-Infinity")
    else:
        text = str(number)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} digits)"


def why(found: Reading) -> str:
    return {
        Reading.ROUNDED: "OpenClaw reads it as a nearby, different number (JavaScript has "
                         "53-bit integers)",
        Reading.OVERFLOW: "OpenClaw reads it as Infinity and stores null",
        Reading.NOT_JSON: "NaN and Infinity are not JSON for OpenClaw, whose reader would "
                          "refuse the whole file",
        Reading.EXACT: "exact",
    }[found]
