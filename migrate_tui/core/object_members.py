"""The members of a big JSON object held as its text: each value parsed when it is asked for.

``sessions.json`` at 100,000 sessions is 47 MB of text, and 127 MB once parsed into dicts
and strings (held through a whole scan, plan and verify).  ``ObjectMembers`` holds the text
and where each value starts (a read-only ``Mapping`` of key → value): a value is parsed,
losslessly (``jsonio``), each time it is looked up, and not kept.

``split`` reads the object a member at a time with the standard library's own scanner, so
every value is checked (and its repeated keys found) exactly as a whole parse would; it
gives up (None) on anything else than a well-formed object of objects, and the caller then
parses the text whole, which says what is wrong and where.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Mapping
from json import decoder as _decoder
from typing import Any

from migrate_tui.core import jsonio

# the standard library's scanners (C), not in the type stubs: a string's rest, a value at a place
_decoders: Any = _decoder
_scanstring = _decoders.scanstring
_SPACE: Any = re.compile(r"[ \t\n\r]*")  # always matches


def _scanner(dups: jsonio.DuplicateKeys | None = None) -> Any:
    decoder: Any = jsonio.make_decoder(dups)
    return decoder.scan_once


class ObjectMembers(Mapping[str, Any]):
    """Key → value of a JSON object, its values parsed on each look-up (never held)."""

    __slots__ = ("_ends", "_index", "_scan", "_starts", "_text")

    def __init__(self, text: str, index: dict[str, int], starts: array[int], ends: array[int]) -> None:
        self._index = index  # key → the number of its value, in the object's order
        if text.isascii():  # held as it is: one byte a character
            self._text: str | bytes = text
            self._starts, self._ends = starts, ends  # where each value is in the text
        else:  # a str of 2 or 4 bytes a character: held as UTF-8, where each value is in it
            self._text = text.encode("utf-8", "surrogatepass")
            self._starts, self._ends = _utf8_offsets(text, starts), _utf8_offsets(text, ends)
        self._scan = _scanner()

    @classmethod
    def split(cls, text: str, dups: jsonio.DuplicateKeys | None = None) -> ObjectMembers | None:
        """The members of ``text``, a JSON object each of whose values is an object; the
        keys repeated in any object go to ``dups`` (the outer object's last, as a whole
        parse finds them).  None when ``text`` is anything else (or too deep): parse it
        whole to know what."""
        found = jsonio.DuplicateKeys()  # given to ``dups`` only once the whole object is read
        scan = _scanner(found)
        space = _SPACE.match
        index: dict[str, int] = {}
        starts: array[int] = array("q")
        ends: array[int] = array("q")
        repeated: list[str] = []
        try:
            at = space(text, 0).end()
            if text[at:at + 1] != "{":
                return None
            at = space(text, at + 1).end()
            if text[at:at + 1] == "}":
                at += 1
            else:
                while True:
                    if text[at:at + 1] != '"':
                        return None
                    key, at = _scanstring(text, at + 1, True)
                    at = space(text, at).end()
                    if text[at:at + 1] != ":":
                        return None
                    at = space(text, at + 1).end()
                    value, end = scan(text, at)
                    if type(value) is not dict:
                        return None
                    del value
                    if key in index:
                        repeated.append(key)  # the last value counts, at the first's place
                        starts[index[key]], ends[index[key]] = at, end
                    else:
                        index[key] = len(starts)
                        starts.append(at)
                        ends.append(end)
                    at = space(text, end).end()
                    sep = text[at:at + 1]
                    at = space(text, at + 1).end()
                    if sep == "}":
                        break
                    if sep != ",":
                        return None
            if space(text, at).end() != len(text):
                return None
        except (ValueError, StopIteration, RecursionError):
            return None
        if dups is not None:
            dups.keys += found.keys + repeated
        return cls(text, index, starts, ends)

    def __getitem__(self, key: str) -> Any:
        n = self._index[key]
        text = self._text
        if isinstance(text, str):
            return self._scan(text, self._starts[n])[0]
        return self._scan(text[self._starts[n]:self._ends[n]].decode("utf-8", "surrogatepass"), 0)[0]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"<ObjectMembers: {len(self._index)} members>"


def _utf8_offsets(text: str, offsets: array[int]) -> array[int]:
    """The offsets (into ``text``) as offsets into its UTF-8 bytes."""
    out = array("q", offsets)
    at = 0  # an offset into the text, and its place in the bytes
    place = 0
    for n in sorted(range(len(offsets)), key=offsets.__getitem__):
        offset = offsets[n]
        place += len(text[at:offset].encode("utf-8", "surrogatepass"))
        at = offset
        out[n] = place
    return out
