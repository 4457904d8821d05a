"""The proof the bounds share: that orjson's value of a file is the one the lossless parser
gives.  ``benchmarks.dry_bound`` and ``benchmarks.lower_bound --proven`` use it, so that
the two bounds prove exactly the same thing of each file.

orjson parses several times faster than the standard library but is not lossless
(integers past 64 bits and every float become Python floats, a repeated key keeps its
last value silently, ``-0`` becomes ``0``); it refuses the rest (NaN, lone surrogates,
bad UTF-8, deep nesting).  The cheapest proof we know is ``migrate_tui.core.jsonio``'s,
done here in its plainest form: orjson's compact writing of the value has as many '"' as
the source (no key was lost to a repetition) and the source has no ``\\u0022``; one pass
over the value finds no float; where it finds an integer, the source has no ``-0`` token.
A file that fails the proof would go to the standard library's parser, which costs more:
on the benchmark corpora none does, so the bounds never pay for it (they raise
``Unproven`` instead).  Standard library and orjson only.
"""

from __future__ import annotations

import os
import re
from typing import Any

import orjson

_QUOTE_ESCAPE = re.compile(rb"\\u0022")
_MINUS_ZERO = re.compile(rb"-0(?=[ \t\n\r,\]}]|\Z)")


class Unproven(Exception):
    """A file a bound does not carry (raised in a worker, it reaches the caller through
    the pool: a SystemExit there left the pool waiting for a result that never came)."""


def has_float(value: object) -> tuple[bool, bool]:
    """(a float is in the value, an integer is), stopping at the first float."""
    ints = False
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or item is None:
            continue
        if kind is dict:
            extend(item.values())  # type: ignore[attr-defined]
        elif kind is list:
            extend(item)  # type: ignore[arg-type]
        elif kind is float:
            return True, ints
        elif kind is int:
            ints = True
    return False, ints


def proven(data: bytes, value: object) -> bool:
    """``value`` (orjson's parse of ``data``) is proven to be the lossless parser's."""
    text = orjson.dumps(value)
    if data.count(b'"') != text.count(b'"') or _QUOTE_ESCAPE.search(data):
        return False
    floats, ints = has_float(value)
    return not floats and not (ints and _MINUS_ZERO.search(data))


def prove(where: str, data: bytes, value: object) -> None:
    """Raise ``Unproven`` naming ``where`` unless ``proven(data, value)``."""
    if not proven(data, value):
        raise Unproven(f"{where}: orjson's value is not proven lossless; this bound does "
                       "not carry the standard library's parse")


def read_proven(path: str) -> tuple[Any, bytes]:
    """A file read whole (not through a symbolic link), parsed by orjson and proven."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        data = os.read(fd, os.fstat(fd).st_size + 1)
    finally:
        os.close(fd)
    doc = orjson.loads(data)
    prove(path, data, doc)
    return doc, data
