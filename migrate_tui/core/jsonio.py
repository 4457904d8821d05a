"""Lossless JSON: parse and write so that every value survives exactly (docs/guarantees.md).

The standard library parses, and writes ``sessions.json``; transcript lines are written by
orjson where its bytes are the standard library's (see ``LineEncoder``).  Two gaps
of the standard library are closed here:

* a float literal whose Python ``repr`` is not the literal itself (``1E5``, ``0.10``,
  ``1e400``) is kept as a ``RawNumber`` and written back as the very same text;
* an integer of more than 4,300 digits (Python's conversion limit) is kept the same way, and
  so is the integer ``-0`` (Python's ``int`` has no negative zero).

Parsing is done by orjson where that is proven to give the very same value
(``exact_loads``, ``exact_chunks``), by the standard library otherwise.

``NaN``/``Infinity`` are read and written as Python's ``json`` does.  Strings are written
as UTF-8; a string holding a lone surrogate (legal as a JSON escape, not encodable in
UTF-8) is written with ``\\u`` escapes, which read back to the same string.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from json import encoder as _json_encoder
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - a declared dependency; the standard library suffices
    _orjson = None  # type: ignore[assignment]

# the C encoders (c_make_encoder, c_encode_basestring…) are not in the type stubs
_enc: Any = _json_encoder

JSONDecodeError = json.JSONDecodeError


class JsonFloat(float):
    """A float as read from JSON: its literal is its Python ``repr`` (or it is NaN or
    ±Infinity).  The subclass is a tag: the fast line encoder hands it back to us, so a
    float is always written as Python writes it (see ``LineEncoder``)."""

    __slots__ = ()


class RawNumber:
    """A number literal kept as text because Python would not write it back the same."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"


def _parse_float(text: str) -> JsonFloat | RawNumber:
    value = JsonFloat(text)
    if float.__repr__(value) == text:
        return value
    return RawNumber(text)


_CONSTANTS = {"NaN": JsonFloat("nan"), "Infinity": JsonFloat("inf"), "-Infinity": JsonFloat("-inf")}


_INT_DIGITS_SAFE = 4000


def _parse_int(text: str) -> int | RawNumber:
    """An integer literal: a Python int, except ``-0`` (which ``int`` would make ``0``) and
    one too long for Python's conversion limit, kept as written."""
    if len(text) <= _INT_DIGITS_SAFE and text != "-0":
        return int(text)
    return RawNumber(text)


class DuplicateKeys:
    """Collects the keys that appeared twice in one object while parsing."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def hook(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self.keys.append(key)
                seen.add(key)
        return result


def make_decoder(dups: DuplicateKeys | None = None) -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_float=_parse_float,
        parse_int=_parse_int,
        parse_constant=_CONSTANTS.__getitem__,
        object_pairs_hook=dups.hook if dups is not None else None,
    )


def loads(text: str, dups: DuplicateKeys | None = None) -> Any:
    """Parse losslessly.  Raises JSONDecodeError, RecursionError (too deep)."""
    return make_decoder(dups).decode(text)


def loads_object_in_pieces(pieces: Iterable[bytes],
                           share: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The JSON object whose UTF-8 text comes in ``pieces`` (consecutive bytes), parsed as
    ``loads`` parses it, a run of its members at a time: the text is never held whole, nor
    the parser's list of pairs for the whole object (session_map.json at 100,000 keys: an
    8 MB text, 7 MB of pairs).  Each run ends at the last ',' of what has been read, parsed
    alone as ``{run}``; that parses only when the ',' is one between two members of the
    object (inside a string or a nested value, the '}' added would be a string's character,
    or close the wrong thing), and a run that parses holds exactly those members, so the
    members met are the whole text's, in its order.  ``share``: a string value found in it
    is replaced by what it maps to (an equal string held elsewhere: the value's own is let
    go).

    None when the text cannot be read this way: not an object from its first byte (white
    space aside), a run that does not parse (a ',' inside a string, bad JSON, bytes that
    are not UTF-8, ...), an empty run (a trailing or doubled ','), or a key met twice.  The
    caller then parses the whole text with ``loads``, which finds and words what is wrong
    (the repeated keys in their order)."""
    out: dict[str, Any] | None = None  # the first run's dict, the others' members added
    held: list[bytes] = []  # what was read since the last ',' taken
    started = False
    runs = 0

    def take(run: bytes) -> bool:
        nonlocal runs, out
        found = DuplicateKeys()
        try:
            value = loads("{" + run.decode("utf-8") + "}", found)
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
            return False
        if found.keys or (not value and (runs or not last)):
            return False
        runs += 1
        if share is not None:
            values = value.values()
            try:  # (each value looked up, or itself: no Python call a member)
                shared = list(map(share.get, values, values))
            except TypeError:  # a value that is no key (a list, an object)
                shared = [share.get(item, item) if type(item) is str else item for item in values]
            value.update(zip(value, shared, strict=True))  # the same keys: in place
            del shared
        if out is None:
            out = value
            return True
        before = len(out)
        out.update(value)
        return len(out) == before + len(value)  # else a key of an earlier run met again

    last = False
    for piece in pieces:
        if not started:
            piece = piece.lstrip(b" \t\n\r")
            if not piece:
                continue
            if piece[:1] != b"{":
                return None
            piece = piece[1:]
            started = True
        cut = piece.rfind(b",")
        if cut < 0:  # (kept as it is: joined once, when a ',' comes)
            held.append(piece)
            continue
        held.append(piece[:cut])
        run = b"".join(held)
        held = [piece[cut + 1:]]
        if not take(run):
            return None
        del run
    if not started:
        return None
    # the last run: the members after the last ',', the closing '}' and white space
    end = b"".join(held).rstrip(b" \t\n\r")
    if end[-1:] != b"}":
        return None
    last = True
    return out if take(end[:-1]) else None  # (not None once a run is taken)


_BOM_CODECS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def loads_document(data: bytes) -> Any:
    """A whole JSON file: UTF-8, or whatever a byte-order mark says (as the scan reads it).
    Raises ValueError (bad bytes or bad JSON) and RecursionError (too deep)."""
    for bom, codec in _BOM_CODECS:
        if data.startswith(bom):
            return loads(data[len(bom):].decode(codec))
    return loads(data.decode("utf-8"))


# ---------------------------------------------------------------- the fast exact parse
#
# orjson parses several times faster than the standard library, but not losslessly: an
# integer past 64 bits becomes a float, a float becomes a Python float however it was
# written, the integer -0 becomes 0, and a repeated key silently keeps its last value.  It
# refuses what else differs (NaN/Infinity, lone surrogates, 1e400, nesting over 1,024
# levels, bad UTF-8, a byte-order mark: checked in tests/engine/test_exact_parse.py).
# So its value is used only when it is proven to be what ``loads`` would give (``_proof``):
#
# * no float anywhere in the value (an integer past 64 bits is one): one pass over the
#   value (``_number_types``);
# * no repeated key: every string of the source is a string of the value, so the source
#   has as many '"' as orjson's compact writing of the value: a string holds a '"' as
#   ``\"`` in both, and a key or value lost to a repetition takes its quotes with it.  Only
#   a '"' written as ``\u0022`` would upset the count: such a file (or one that merely
#   holds that text) goes the standard library's way;
# * no ``-0`` (when there are integers): no "-0" in the source followed by what may follow
#   a number in a JSON text orjson accepted (white space, ",", "]", "}" or the end); a
#   "-0" in a string followed by one of those only sends the file the standard library's
#   way, and one followed by anything else, as in an id like "…-0c45…", does not;
# * nesting within what the standard library parses: orjson writes no more than 254 levels.
#
# Each check is a count or a search over bytes, or a pass over the value.

_PROOF_OPTIONS = 0 if _orjson is None else (
    _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_SUBCLASS)


_INT, _FLOAT = 1, 2


def _number_types(value: Any) -> int:
    """Which of int (``_INT``) and float (``_FLOAT``) occur in a value parsed by orjson
    (bool is not int here), as bits; stops at the first float.  A plain loop: on the values
    of a legacy file (mostly strings) it was as fast as passes in C (map, filter, compress)
    on corpus A and twice as fast on B.  Strings and nulls, most of the values, are passed
    by first (a third faster on A and B than testing them against the containers and
    numbers first)."""
    found = 0
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or item is None:
            continue
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float:
            return found | _FLOAT
        elif kind is int:
            found = _INT
    return found


_QUOTE_ESCAPE = re.compile(rb"\\u0022")
_MINUS_ZERO = re.compile(rb"-0(?=[ \t\n\r,\]}]|\Z)")


def _proof(source: bytes, values: list[Any], texts: list[bytes]) -> bool:
    """Whether ``values`` (orjson's reading of ``source``, in parts) and ``texts`` (its
    compact writing of them) prove that the value is the lossless one (see above)."""
    if source.count(b'"') != sum(t.count(b'"') for t in texts) or _QUOTE_ESCAPE.search(source):
        return False
    numbers = 0
    for value in values:
        numbers |= _number_types(value)
    if numbers & _FLOAT:
        return False
    return not numbers or _MINUS_ZERO.search(source) is None


def _dump(value: Any) -> bytes:
    return _orjson.dumps(value, option=_PROOF_OPTIONS)


def exact_loads(data: bytes | bytearray | memoryview) -> tuple[Any] | None:
    """orjson's value of the JSON text ``data`` (as a 1-tuple), when it is provably the one
    ``loads`` gives (same keys in the same order, same strings, integers and structure; no
    floats), else None: then only the standard library reads it right.  Raises nothing:
    orjson's refusals are the standard library's business."""
    if _orjson is None:  # pragma: no cover - a declared dependency
        return None
    source = bytes(data) if type(data) is not bytes else data
    try:
        value = _orjson.loads(source)
        text = _orjson.dumps(value, option=_PROOF_OPTIONS)
    except (_orjson.JSONDecodeError, TypeError):  # refused; or nested over 254 levels
        return None
    # _proof, for one value
    if source.count(b'"') != text.count(b'"') or _QUOTE_ESCAPE.search(source):
        return None
    numbers = _number_types(value)
    if numbers and (numbers & _FLOAT or _MINUS_ZERO.search(source) is not None):
        return None
    return (value,)


def fast_loads(data: bytes) -> Any:
    """orjson's value of ``data``, unchecked: NOT lossless in general, so only for bytes
    whose value ``exact_loads`` or ``exact_chunks`` already proved (the same SHA-256).
    Raises ValueError."""
    if _orjson is None:  # pragma: no cover - a declared dependency
        raise ValueError("orjson is not installed")
    return _orjson.loads(data)


class NotExact(Exception):
    """``exact_chunks`` found that orjson would not read the document as ``loads`` does."""


def exact_chunks(data: bytes, member: str, chunk_bytes: int = 1 << 20) -> Iterator[tuple[Any, bytes]]:
    """A big document read by orjson a piece at a time: yields first the top-level object
    with ``member`` (a list) left empty, then the list's items, a list of them at a time
    (about ``chunk_bytes`` of source each), each with its compact text (what
    ``compact_digest`` hashes, "[" and "]" included), so the whole value is never held.

    For text laid out as the legacy writer did (``json.dump(..., indent=2)``: the list at
    ``\n  "member": [``, its items at an indent of 4).  Raises ``NotExact`` before the first
    yield when the layout is not that or orjson's value is not provably the lossless one,
    and at any later point when a piece is not: the caller then reads the document with
    ``loads``.  The proof is ``exact_loads``'s, piece by piece: each piece is parsed as the
    list ``[piece]``, the pieces are cut between two items (``},\n    {``) and together are the
    member's list, and the document with that list replaced by ``[]`` (and ``[0]``) is an
    object whose member is exactly that replacement (so the list is the top-level one)."""
    if _orjson is None:  # pragma: no cover
        raise NotExact
    key = _dump(member)
    start = data.find(b"\n  " + key + b": [")
    if start < 0:
        raise NotExact
    open_at = start + len(key) + 5  # the "["
    if data.startswith(b"]", open_at + 1):
        close_at = open_at + 1
    else:
        close_at = data.find(b"\n  ]", open_at) + 3
        if close_at < 3:
            raise NotExact
    head, tail = data[:open_at], data[close_at + 1:]
    try:
        empty = _orjson.loads(head + b"[]" + tail)
        one = _orjson.loads(head + b"[0]" + tail)
    except _orjson.JSONDecodeError:
        raise NotExact from None
    if type(empty) is not dict or empty.get(member) != [] or type(one) is not dict or one.get(member) != [0]:
        raise NotExact
    rest = {k: v for k, v in empty.items() if k != member}
    try:
        texts = [_dump(rest), key]
    except TypeError:
        raise NotExact from None
    if not _proof(head + tail, [rest, member], texts):
        raise NotExact
    yield empty, b""
    pos, end = open_at + 1, close_at
    while pos < end:
        cut = data.find(b"},\n    {", min(pos + chunk_bytes, end))
        stop = cut + 1 if 0 <= cut < end else end
        piece = data[pos:stop]
        try:
            items = _orjson.loads(b"[" + piece + b"]")
            text = _dump(items)
        except (_orjson.JSONDecodeError, TypeError):
            raise NotExact from None
        if not _proof(piece, [items], [text]):
            raise NotExact
        yield items, text
        pos = stop + 1  # past the "," between two items


def kind_of(value: Any) -> str:
    """What a JSON value is, in words, for messages ("a list", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, RawNumber)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# ---------------------------------------------------------------- writing


def _make_iterencode(ensure_ascii: bool, default: Any, indent: str | None = None) -> Any:
    if indent is None and _enc.c_make_encoder is not None:
        return _enc.c_make_encoder(
            None,
            default,
            _enc.c_encode_basestring_ascii if ensure_ascii else _enc.c_encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            True,
        )
    return None


class _Raws:
    """Substitutes RawNumbers by placeholders during encoding, then puts the text back."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(8)
        self.items: list[str] = []
        self.pattern = re.compile(r'"\\u0000' + self.nonce + r':(\d+)\\u0000"')

    def default(self, obj: Any) -> Any:
        if isinstance(obj, RawNumber):
            self.items.append(obj.text)
            return f"\x00{self.nonce}:{len(self.items) - 1}\x00"
        raise TypeError(f"not JSON: {type(obj).__name__}")

    def restore(self, text: str) -> str:
        if not self.items:
            return text
        return self.pattern.sub(lambda m: self.items[int(m.group(1))], text)


def _no_default(obj: Any) -> Any:
    if isinstance(obj, RawNumber):
        raise _NeedsRaw
    raise TypeError(f"not JSON: {type(obj).__name__}")


class _NeedsRaw(Exception):
    pass


def _float_text(value: float) -> str:
    """A float as Python's ``json`` writes it."""
    if math.isfinite(value):
        return float.__repr__(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _fast_default(obj: Any) -> Any:
    if type(obj) is JsonFloat:
        return _orjson.Fragment(_float_text(obj))
    if type(obj) is RawNumber:
        return _orjson.Fragment(obj.text)
    raise TypeError(f"not JSON: {type(obj).__name__}")


# Anything but plain dict/list/str/int/bool/None goes to _fast_default, which accepts only
# the two number types our parser makes; orjson's own support for dataclasses, datetimes and
# subclasses is turned off, so it serializes nothing the standard library would refuse.
_FAST_OPTIONS = 0 if _orjson is None else (
    _orjson.OPT_APPEND_NEWLINE | _orjson.OPT_PASSTHROUGH_DATACLASS
    | _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_SUBCLASS)


class LineEncoder:
    """Compact one-line JSON for transcript lines.

    The bytes are exactly those of ``json.dumps(obj, ensure_ascii=False,
    separators=(",", ":"))`` (plus our RawNumbers and lone-surrogate escapes).  orjson
    writes them about five times faster where its output is that same text: objects,
    arrays, strings of valid Unicode, integers within 64 bits, booleans and null.  Every
    float reaches it as a ``JsonFloat`` or ``RawNumber`` (the parser tags them) and is
    written through ``_fast_default`` as Python writes it.  Whatever orjson refuses (a
    larger integer, a lone surrogate, nesting over 254 levels) is written by the standard
    library, line by line.
    ``tests/engine/test_line_encoder.py`` checks the two paths give the same bytes.

    Values must come from this module's parsers: a plain ``float`` built elsewhere would
    be written by orjson (same value, possibly other text, e.g. ``1e16`` for ``1e+16``).
    """

    def __init__(self, fast: bool = True) -> None:
        self._fast = fast and _orjson is not None
        self._utf8 = _make_iterencode(False, _no_default)
        self._ascii = _make_iterencode(True, _no_default)

    def _encode(self, obj: Any, ascii_only: bool) -> str:
        fast = self._ascii if ascii_only else self._utf8
        if fast is not None:
            try:
                return "".join(fast(obj, 0))
            except _NeedsRaw:
                pass
        raws = _Raws()
        text = json.dumps(
            obj, ensure_ascii=ascii_only, separators=(",", ":"), allow_nan=True, default=raws.default
        )
        return raws.restore(text)

    def line(self, obj: Any) -> bytes:
        """One object as one line of UTF-8 JSON, newline included."""
        if self._fast:
            try:
                return _orjson.dumps(obj, default=_fast_default, option=_FAST_OPTIONS)
            except TypeError:  # orjson.JSONEncodeError: what only the standard library writes
                pass
        text = self._encode(obj, False)
        try:
            return text.encode("utf-8") + b"\n"
        except UnicodeEncodeError:  # a lone surrogate: escape it, the value stays the same
            return self._encode(obj, True).encode("ascii") + b"\n"

    def lines(self, objs: list[Any]) -> bytes:
        """JSON Lines: each line encoded on its own (one non-ASCII character would make a
        joined str four bytes a character, for the whole transcript).

        Joined a few hundred lines at a time: a bytes object from orjson keeps the buffer it
        was written in (about 4 KB however short the line), so 200,000 lines held at once
        before one join took 800 MB."""
        if len(objs) <= _JOIN_LINES:
            return b"".join(map(self.line, objs))
        return b"".join([b"".join(map(self.line, objs[start:start + _JOIN_LINES]))
                         for start in range(0, len(objs), _JOIN_LINES)])


_JOIN_LINES = 256
JOIN_LINES = _JOIN_LINES  # lines joined at a time (transcript_encoding.message_lines too)


def fast_line_writer() -> tuple[Any, Any, int]:
    """(orjson.dumps, the default, the options) with which ``LineEncoder.line`` first tries a
    line (a TypeError: the line is for ``LineEncoder``); (None, None, 0) without orjson."""
    if _orjson is None:  # pragma: no cover - a declared dependency
        return None, None, 0
    return _orjson.dumps, _fast_default, _FAST_OPTIONS

_COMPACT_OPTIONS = _FAST_OPTIONS & ~_orjson.OPT_APPEND_NEWLINE if _orjson is not None else 0


def compact_digest(value: Any) -> str | None:
    """The SHA-256 of ``value`` written compactly by orjson as ``LineEncoder`` uses it (our
    floats as Python writes them), or None where orjson does not write it (a huge integer,
    a lone surrogate, deep nesting).

    Two lists of messages with the same digest have the same transcript lines: orjson's
    compact text is built member by member (a list or object is its members' texts,
    joined), so equal texts have equal members' texts; ``LineEncoder`` writes each line
    through this same orjson call (orjson writes every part of a value it writes), so as
    that same text; and a field is None exactly where its text is ``null``, so leaving out
    the null fields leaves out the same ones.  ``transcript_encoding`` relies on this, and
    tests/engine/test_transcript_encoding.py checks it on arbitrary JSON."""
    if _orjson is None:  # pragma: no cover - a declared dependency
        return None
    try:
        data = _orjson.dumps(value, default=_fast_default, option=_COMPACT_OPTIONS)
        return hashlib.sha256(data).hexdigest()
    except TypeError:
        return None


_DOCUMENT_OPTIONS = 0 if _orjson is None else (
    _orjson.OPT_INDENT_2 | _orjson.OPT_PASSTHROUGH_DATACLASS
    | _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_SUBCLASS)


def _fast_document(obj: Any) -> bytes | None:
    """``obj`` with indent 2 by orjson (same rules as ``LineEncoder``), or None where only
    the standard library writes it."""
    if _orjson is None:
        return None
    try:
        return _orjson.dumps(obj, default=_fast_default, option=_DOCUMENT_OPTIONS) + b"\n"
    except TypeError:
        return None


def dumps_document(obj: Any, fast: bool = True) -> bytes:
    """A whole document (sessions.json): UTF-8, indent 2, key order kept, trailing newline.
    The bytes of ``json.dumps(obj, ensure_ascii=False, indent=2)``, written by orjson where
    that is the same text (as for ``LineEncoder``; checked in tests/engine/test_line_encoder.py):
    about 10x faster, which counts at tens of thousands of entries."""
    if fast:
        out = _fast_document(obj)
        if out is not None:
            return out
    raws = _Raws()
    text = json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=True, default=raws.default)
    text = raws.restore(text) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raws = _Raws()
        text = json.dumps(obj, ensure_ascii=True, indent=2, allow_nan=True, default=raws.default)
        return (raws.restore(text) + "\n").encode("ascii")


def dumps_report(obj: Any) -> bytes:
    """One of our own files (the report): indent 2, UTF-8, trailing newline; a lone
    surrogate (from a file name that is not UTF-8) as a backslash escape."""
    out = _fast_document(obj)
    if out is not None:
        return out
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n"


def first_difference(jsonl: bytes, values: list[Any], encoder: LineEncoder | None = None) -> int | None:
    """Parse JSON Lines and compare them with ``values``: None when every line holds the
    same value (key order included), else the number of the first line that does not."""
    lines = jsonl.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        return len(lines)  # the last line is not terminated
    if len(lines) != len(values):
        return min(len(lines), len(values)) + 1
    enc = encoder or LineEncoder()
    for start in range(0, len(lines), _CHUNK_LINES):  # a chunk at a time: bounded memory
        chunk, wanted = lines[start:start + _CHUNK_LINES], values[start:start + _CHUNK_LINES]
        try:
            parsed = loads("[" + ",".join(line.decode("utf-8") for line in chunk) + "]")
        except (ValueError, RecursionError):
            parsed = None
        if parsed is not None and parsed == wanted and all(
                list(p) == list(v) for p, v in zip(parsed, wanted, strict=True)
                if isinstance(p, dict) and isinstance(v, dict)):
            continue
        for n, (line, want) in enumerate(zip(chunk, wanted, strict=False), start + 1):
            # NaN, or a nested key order: compare line by line, as text
            try:
                got = loads(line.decode("utf-8"))
            except (ValueError, RecursionError):
                return n
            if enc.line(got) != enc.line(want):
                return n
    return None


_CHUNK_LINES = 4096


def same_value(a: Any, b: Any, encoder: LineEncoder | None = None) -> bool:
    """Equal values with equal key order (NaN equals NaN here)."""
    enc = encoder or LineEncoder()
    return enc.line(a) == enc.line(b)


# ---------------------------------------------------------------- a document a member at a time


class NeedsAscii(Exception):
    """``document_pieces`` met a member that UTF-8 cannot hold (a lone surrogate): the whole
    document is then written with every non-ASCII character escaped, as ``dumps_document``
    writes it; start again with ``ascii_only=True``."""


_MEMBERS_A_PIECE = 256


def _member(key: str, value: Any, ascii_only: bool, fast: bool) -> bytes:
    """``key: value`` as it stands in an indent-2 document: two spaces, the key, the value
    indented one level, no separator."""
    one = {key: value}
    if fast and not ascii_only:
        out = _fast_document(one)
        if out is not None:
            return out[2:-3]  # b'{\n' ... b'\n}\n'
    raws = _Raws()
    text = json.dumps(one, ensure_ascii=ascii_only, indent=2, allow_nan=True, default=raws.default)
    text = raws.restore(text)[2:-2]
    if ascii_only:
        return text.encode("ascii")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NeedsAscii from None


def document_pieces(members: Iterable[tuple[str, Any]], ascii_only: bool = False,
                    fast: bool = True) -> Iterator[bytes]:
    """The bytes of ``dumps_document(dict(members))``, a few hundred members at a time, so a
    document of 100,000 entries is never held whole (nor as one dict): each member is
    written as it stands in the whole document, by orjson where that is the same text and
    by the standard library otherwise, exactly as ``dumps_document`` chooses for the whole.
    ``members``: (key, value) pairs with distinct keys, in the document's order.  Raises
    ``NeedsAscii`` (pieces already yielded are then wrong) when a member holds a lone
    surrogate and ``ascii_only`` is false: the caller starts again with ``ascii_only``.
    tests/engine/test_document_pieces.py checks the bytes are ``dumps_document``'s."""
    group: list[bytes] = []
    opening = b"{\n"  # before the first group; a comma before the others
    for key, value in members:
        group.append(_member(key, value, ascii_only, fast))
        if len(group) >= _MEMBERS_A_PIECE:
            yield opening + b",\n".join(group)
            group, opening = [], b",\n"
    if group:
        yield opening + b",\n".join(group)
        opening = b",\n"
    yield b"{}\n" if opening == b"{\n" else b"\n}\n"
