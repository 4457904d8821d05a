"""The members of a big JSON object held as its text: each value parsed when it is asked for.

``sessions.json`` at 100,000 sessions is 47 MB of text, and 127 MB once parsed into dicts
and strings (held through a whole scan, plan and verify).  ``ObjectMembers`` holds the text
and where each value starts (a read-only ``Mapping`` of key → value): a value is parsed,
losslessly (``jsonio``), each time it is looked up, and not kept.

The keys are not held as strings either (at 100,000 sessions, 15 MB with the dict that
found them): each key's place in the text and its hash, in a table of open addressing
(arrays, 2.4 MB); a key looked up is read from the text where its hash says, and compared.

``split`` reads the object a member at a time with the standard library's own scanner, so
every value is checked (and its repeated keys found) exactly as a whole parse would; it
gives up (None) on anything else than a well-formed object of objects, and the caller then
parses the text whole, which says what is wrong and where.  It notes the few values holding
an integer Python would not write back as it is (``-0``, thousands of digits: kept as a
``jsonio.RawNumber``); any other value is parsed again with the integers read by the
scanner itself (C), not through a Python call each.
"""

from __future__ import annotations

import codecs
import re
import threading
import zlib
from array import array
from collections.abc import Callable, Collection, ItemsView, Iterable, Iterator, Mapping, ValuesView
from contextlib import contextmanager
from json import decoder as _decoder
from json import encoder as _json_encoder
from json import scanner as _json_scanner
from typing import Any

from migrate_tui.core import jsonio

# the standard library's scanners (C), not in the type stubs: a string's rest, a value at a place
_decoders: Any = _decoder
_scanstring = _decoders.scanstring
_SPACE: Any = re.compile(r"[ \t\n\r]*")  # always matches
# a string's JSON text, ASCII, as json.dumps writes it (C; not in the type stubs)
_encode_string: Any = getattr(_json_encoder, "encode_basestring_ascii")  # noqa: B009


def _scanner(dups: jsonio.DuplicateKeys | None = None) -> Any:
    decoder: Any = jsonio.make_decoder(dups)
    return decoder.scan_once


def _plain_int_scanner() -> Any:
    """The lossless scanner, its integers read as ``int`` does (in C): right for a value
    none of whose integers is ``-0`` or too long for ``int`` (``split`` notes the others)."""
    decoder: Any = jsonio.make_decoder()
    decoder.parse_int = int
    return _json_scanner.make_scanner(decoder)


def _noting_scanner(dups: jsonio.DuplicateKeys, odd: list[bool]) -> Any:
    """The lossless scanner of ``split``: sets ``odd[0]`` when an integer is read as other
    than an ``int`` (a ``RawNumber``)."""
    decoder: Any = jsonio.make_decoder(dups)
    parse_int = decoder.parse_int

    def noting(text: str) -> Any:
        value = parse_int(text)
        if type(value) is not int:
            odd[0] = True
        return value

    decoder.parse_int = noting
    return _json_scanner.make_scanner(decoder)


class ObjectMembers(Mapping[str, Any]):
    """Key → value of a JSON object, its values parsed on each look-up (never held)."""

    __slots__ = ("_careful", "_ends", "_hashes", "_keys", "_plain_scan", "_scan", "_slots",
                 "_starts", "_text", "_thin", "_whole")

    def __init__(self, text: str, index: dict[str, int], starts: array[int], ends: array[int],
                 keys: array[int], careful: frozenset[int] | None = None, *,
                 table: tuple[array[int], array[int]] | None = None) -> None:
        """``index``: key → the number of its value, in the object's order; ``starts``,
        ``ends``: where each value is in ``text``; ``keys``: where its key is (its quote);
        ``careful``: the numbers of the values holding an integer ``int`` would not read as
        written (None: any may); ``table``: the keys' hashes and table, when made already
        (by another ``ObjectMembers`` of the same keys: ``index`` is then not read)."""
        if text.isascii():  # held as it is: one byte a character
            self._text: str | bytes = text
            self._starts, self._ends, self._keys = starts, ends, keys
        else:  # a str of 2 or 4 bytes a character: held as UTF-8, where each value is in it
            self._text = text.encode("utf-8", "surrogatepass")
            self._starts, self._ends = _utf8_offsets(text, starts), _utf8_offsets(text, ends)
            self._keys = _utf8_offsets(text, keys)
        self._scan = _scanner()
        self._plain_scan = _plain_int_scanner()
        self._careful = careful
        self._whole: bytes | None = None  # thinned at split (thinning_at_split): the whole text
        self._thin = False  # thinned at split
        self._hashes: array[int]
        self._slots: array[int]
        if table is not None:
            self._hashes, self._slots = table
            return
        # each key's hash, by its number; the table: number + 1 at the first free place from
        # its hash on (0: free), twice as many places as keys
        self._hashes = array("q", map(hash, index))
        self._slots = _slots_of(self._hashes)

    def _key(self, n: int) -> str:
        """The key of value number ``n``, read from the text."""
        text = self._text
        if isinstance(text, str):
            key: str = _scanstring(text, self._keys[n] + 1, True)[0]
            return key
        piece = text[self._keys[n]:self._starts[n]].decode("utf-8", "surrogatepass")
        key = _scanstring(piece, 1, True)[0]
        return key

    def _number(self, key: object) -> int:
        """The number of ``key``'s value; -1 when it has none."""
        h = hash(key)  # an unhashable key raises, as with a dict
        if not isinstance(key, str):
            return -1
        slots, hashes, text = self._slots, self._hashes, self._text
        plain = type(text) is str and '"' not in key and "\\" not in key
        mask = len(slots) - 1
        place = h & mask
        while True:
            n = slots[place]
            if not n:
                return -1
            n -= 1
            if hashes[n] == h:
                # the key, compared where the text holds it as it is (no escape in it);
                # else read
                at = self._keys[n] + 1
                if plain and isinstance(text, str) and text.startswith(key, at) \
                        and text.startswith('"', at + len(key)):
                    return n
                if self._key(n) == key:
                    return n
            place = (place + 1) & mask

    def _value(self, n: int) -> Any:
        text = self._text
        careful = self._careful
        scan = self._scan if careful is None or n in careful else self._plain_scan
        if isinstance(text, str):
            return scan(text, self._starts[n])[0]
        return scan(text[self._starts[n]:self._ends[n]].decode("utf-8", "surrogatepass"), 0)[0]

    def items(self) -> ItemsView[str, Any]:
        return _Items(self)

    def _raw(self, start: int, end: int) -> str:
        text = self._text
        if isinstance(text, str):
            return text[start:end]
        return text[start:end].decode("utf-8", "surrogatepass")

    def thinned(self, names: Collection[str]) -> ObjectMembers:
        """The same keys, each value (an object) with only its members named in ``names``
        (in the order of ``names``): for a caller that reads only those, in a fraction of the text
        (sessions.json at 100,000 sessions: 47 MB, 12 MB with only two members).  A value
        whose wanted members are not all strings, integers read as ints, booleans or null is
        kept whole, as written."""
        chunks: list[str] = []  # the text made, joined a few thousand members at a time (a
        pieces = ["{"]  # piece each member's key and value: 500,000 small strings at once)
        at = 1
        starts: array[int] = array("q")
        ends: array[int] = array("q")
        keys: array[int] = array("q")
        careful = set()
        wanted = {name: _encode_string(name) for name in names}
        for n in range(len(self._hashes)):
            if n:
                pieces.append(", ")
                at += 2
            between = self._raw(self._keys[n], self._starts[n]).rstrip()  # '"key" :'
            key = between[:-1].rstrip()
            value = _thin_text(self._value(n), wanted)
            if value is None:
                value = self._raw(self._starts[n], self._ends[n])
                if self._careful is None or n in self._careful:
                    careful.add(n)
            keys.append(at)
            pieces += (key, ": ", value)
            at += len(key) + 2
            starts.append(at)
            at += len(value)
            ends.append(at)
            if len(pieces) >= 16_384:
                chunks.append("".join(pieces))
                pieces = []
        pieces.append("}")
        chunks.append("".join(pieces))
        del pieces
        return ObjectMembers("".join(chunks), {}, starts, ends, keys, frozenset(careful),
                             table=(self._hashes, self._slots))

    def values(self) -> ValuesView[Any]:
        return _Values(self)

    @classmethod
    def split(cls, text: str, dups: jsonio.DuplicateKeys | None = None) -> ObjectMembers | None:
        """The members of ``text``, a JSON object each of whose values is an object; the
        keys repeated in any object go to ``dups`` (the outer object's last, as a whole
        parse finds them).  None when ``text`` is anything else (or too deep): parse it
        whole to know what."""
        found = jsonio.DuplicateKeys()  # given to ``dups`` only once the whole object is read
        odd = [False]  # an integer of the value at hand is no ``int``
        scan = _noting_scanner(found, odd)
        careful: set[int] = set()
        space = _SPACE.match
        index: dict[str, int] = {}
        starts: array[int] = array("q")
        ends: array[int] = array("q")
        keys: array[int] = array("q")
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
                    key_at = at
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
                        n = index[key]
                        starts[n], ends[n], keys[n] = at, end, key_at
                        careful.discard(n)
                    else:
                        n = index[key] = len(starts)
                        starts.append(at)
                        ends.append(end)
                        keys.append(key_at)
                    if odd[0]:
                        careful.add(n)
                        odd[0] = False
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
        members = cls(text, index, starts, ends, keys, frozenset(careful))
        names = getattr(_thinning, "names", None)
        if names is None:
            return members
        del index, starts, ends, keys
        thin = members.thinned(names)
        thin._whole = _compressed(members._text)
        thin._thin = True
        return thin

    @classmethod
    def split_thinned(cls, pieces: Iterable[bytes], dups: jsonio.DuplicateKeys | None = None,
                      whole_if: Callable[[dict[str, Any]], bool] | None = None) -> ObjectMembers | None:
        """``split`` of the UTF-8 text that comes in ``pieces`` (consecutive bytes), thinned as
        it is read (``thinning_at_split``, which must be on), the whole text never held:
        at 100,000 sessions, sessions.json's bytes and its text (47 MB each) were held at
        once, then the text beside its thinned members.  The members are read one at a time
        as ``split`` reads them (the same scanner, the same checks); a member the text read
        so far ends inside is read again once more of it is there.  The bytes are
        compressed as they come (``whole``); with ``whole_if`` they are not: a member (an
        object) it is true of is kept whole, as written, the others thinned, and ``whole``
        gives the members as held (for a reader that asks only those whole: at 100,000
        sessions, 8 MB of compressed text less).

        None when thinning is off, and when the text cannot be read this way: anything
        ``split`` gives up on, bytes that are not UTF-8 (or a byte-order mark), a key of the
        object met twice.  The caller then reads the text whole, which says what is wrong."""
        names = getattr(_thinning, "names", None)
        if names is None:
            return None
        wanted = {name: _encode_string(name) for name in names}
        found = jsonio.DuplicateKeys()
        odd = [False]
        scan = _noting_scanner(found, odd)
        space = _SPACE.match
        decode = codecs.getincrementaldecoder("utf-8")().decode  # strict, as ``decode`` is
        packer = zlib.compressobj(1) if whole_if is None else None
        packed: list[bytes] = []
        source = iter(pieces)
        ended = False  # every piece read
        text, at = "", 0  # what is held of the text; where the member at hand starts in it
        chunks: list[str] = []  # the thinned text, joined a few thousand members at a time
        parts = ["{"]
        length = 1
        starts: array[int] = array("q")
        ends: array[int] = array("q")
        keys: array[int] = array("q")
        hashes: array[int] = array("q")
        careful = set()

        def more() -> bool:
            """The text from the member at hand on, with at least as much again read after
            it (a member longer than a piece is read again a few times, not once a piece);
            False when there is no more."""
            nonlocal text, at, ended
            if ended:
                return False
            got = []
            need = max(len(text) - at, 1 << 16)
            while need > 0:
                piece = next(source, None)
                if piece is None:
                    ended = True
                    got.append(decode(b"", True))  # a character cut at the end: ValueError
                    break
                if packer is not None:
                    packed.append(packer.compress(piece))
                got.append(decode(piece))
                need -= len(piece)
            text, at = text[at:] + "".join(got), 0
            return True

        try:
            while True:  # the opening brace, after white space
                at = space(text, at).end()
                if at < len(text) or not more():
                    break
            if text[at:at + 1] != "{":
                return None
            at += 1
            first = True
            while True:
                mark = len(found.keys)
                odd[0] = False
                try:
                    go = space(text, at).end()
                    if first and text[go:go + 1] == "}":
                        at = go + 1
                        break
                    if text[go:go + 1] != '"':
                        raise ValueError
                    key, key_end = _scanstring(text, go + 1, True)
                    value_at = space(text, key_end).end()
                    if text[value_at:value_at + 1] != ":":
                        raise ValueError
                    value_at = space(text, value_at + 1).end()
                    value, value_end = scan(text, value_at)
                    after = space(text, value_end).end()
                    sep = text[after:after + 1]
                    if sep not in ("}", ","):
                        raise ValueError
                except (ValueError, StopIteration):  # (JSONDecodeError is a ValueError)
                    del found.keys[mark:]
                    if more():
                        continue  # the member again, with more of the text
                    return None
                if type(value) is not dict:
                    return None
                thin = None if whole_if is not None and whole_if(value) else _thin_text(value, wanted)
                del value
                if thin is None:  # kept whole, as written
                    thin = text[value_at:value_end]
                    if odd[0]:
                        careful.add(len(starts))
                if not first:
                    parts.append(", ")
                    length += 2
                first = False
                key_text = text[go:key_end]
                keys.append(length)
                parts += (key_text, ": ", thin)
                length += len(key_text) + 2
                starts.append(length)
                length += len(thin)
                ends.append(length)
                hashes.append(hash(key))
                if len(parts) >= 16_384:
                    chunks.append("".join(parts))
                    parts = []
                at = after + 1
                if sep == "}":
                    break
            while True:  # nothing but white space after it
                at = space(text, at).end()
                if at < len(text):
                    return None
                if not more():
                    break
        except (ValueError, RecursionError):  # (UnicodeDecodeError: not UTF-8)
            return None
        if len(set(hashes)) != len(hashes):  # a key met twice (or two keys of one hash, never
            return None  # seen): read whole, where the last one counts at the first's place
        del text
        if dups is not None:
            dups.keys += found.keys
        parts.append("}")
        chunks.append("".join(parts))
        del parts
        members = cls("".join(chunks), {}, starts, ends, keys, frozenset(careful),
                      table=(hashes, _slots_of(hashes)))
        members._thin = True
        if packer is not None:
            packed.append(packer.flush())
            members._whole = b"".join(packed)
        return members

    def whole(self) -> ObjectMembers:
        """Itself; when thinned at ``split`` (``thinning_at_split``), the object as it was
        read, every member whole (parsed again from the text held compressed); itself
        when thinned in pieces with ``whole_if`` (the members kept whole are)."""
        if self._whole is None:
            return self
        members = _split_whole(zlib.decompress(self._whole).decode("utf-8", "surrogatepass"))
        assert members is not None  # the text split once already
        return members

    def is_thinned_at_split(self) -> bool:
        return self._thin

    def drop_whole(self) -> None:
        """``whole`` is not asked for again: its compressed text goes (``whole`` then gives
        the thinned members)."""
        self._whole = None

    def __getitem__(self, key: str) -> Any:
        n = self._number(key)
        if n < 0:
            raise KeyError(key)
        return self._value(n)

    def __contains__(self, key: object) -> bool:
        return self._number(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return map(self._key, range(len(self._hashes)))

    def __len__(self) -> int:
        return len(self._hashes)

    def __repr__(self) -> str:
        return f"<ObjectMembers: {len(self._hashes)} members>"


_thinning = threading.local()  # names: what split keeps of each member, in this thread


def thinning() -> bool:
    """``thinning_at_split`` is on (in this thread)."""
    return getattr(_thinning, "names", None) is not None


@contextmanager
def thinning_at_split(names: Collection[str]) -> Iterator[None]:
    """While in it, ``split`` (in this thread) gives each member (an object) with only its
    members named in ``names`` (``thinned``), the whole text held compressed (``whole``): a
    reader that reads little of each entry, and the rest of a few, need not hold the whole
    text (sessions.json at 100,000 sessions: 47 MB; 12 MB thinned, 8 MB compressed)."""
    before = getattr(_thinning, "names", None)
    _thinning.names = tuple(names)
    try:
        yield
    finally:
        _thinning.names = before


def _split_whole(text: str) -> ObjectMembers | None:
    before = getattr(_thinning, "names", None)
    _thinning.names = None
    try:
        return ObjectMembers.split(text)
    finally:
        _thinning.names = before


def _compressed(text: str | bytes) -> bytes:
    """``text`` as UTF-8, compressed (zlib, fastest level: 47 MB of sessions.json in 0.2 s,
    to 8 MB), a piece at a time (never a whole copy of it at once)."""
    packer = zlib.compressobj(1)
    parts = []
    step = 1 << 20
    for at in range(0, len(text), step):
        piece = text[at:at + step]
        parts.append(packer.compress(piece if isinstance(piece, bytes)
                                     else piece.encode("utf-8", "surrogatepass")))
    parts.append(packer.flush())
    return b"".join(parts)


def _thin_text(value: dict[str, Any], names: dict[str, str]) -> str | None:
    """The JSON text of the members of ``value`` named in ``names`` (name → its JSON text),
    an object read back to the same values; None when one is not a string, an int, a
    boolean or null."""
    parts = []
    for name, name_text in names.items():
        if name not in value:
            continue
        held = value[name]
        if type(held) is str:
            text = _encode_string(held)  # ASCII; a lone surrogate escaped, read back the same
        elif held is None or type(held) is bool:
            text = "null" if held is None else "true" if held else "false"
        elif type(held) is int:
            text = str(held)  # a plain int (-0 and huge ones are RawNumbers, not ints)
        else:
            return None
        parts.append(f"{name_text}: {text}")
    return "{" + ", ".join(parts) + "}"


class MemberIndex:
    """The keys of an ``ObjectMembers`` by a string each value gives (``of``: a value → its
    string, or None): ``get(s)`` lists the keys of the members whose value gives ``s``, in
    the object's order, as a dict of lists would.  The strings are not held (at 100,000
    members such a dict took 30 MB): each one's hash, the member's number and a table of
    open addressing (arrays, about 2 MB); a member whose hash matches is parsed again and
    ``of`` asked, so a look-up finds exactly what the dict would."""

    __slots__ = ("_hashes", "_members", "_numbers", "_of", "_slots")

    def __init__(self, members: ObjectMembers, of: Callable[[Any], str | None]) -> None:
        self._members, self._of = members, of
        self._hashes: array[int] = array("q")
        self._numbers: array[int] = array("q")
        for n in range(len(members)):
            found = of(members._value(n))
            if found is not None:
                self._hashes.append(hash(found))
                self._numbers.append(n)
        self._slots = _slots_of(self._hashes)

    def get(self, wanted: str, default: Any = None) -> list[str] | Any:
        h = hash(wanted)
        slots, hashes, members, of = self._slots, self._hashes, self._members, self._of
        mask = len(slots) - 1
        place = h & mask
        found: list[int] = []
        while True:
            at = slots[place]
            if not at:
                break
            at -= 1
            if hashes[at] == h:
                n = self._numbers[at]
                if of(members._value(n)) == wanted:
                    found.append(n)
            place = (place + 1) & mask
        if not found:
            return default
        found.sort()
        return [members._key(n) for n in found]

    def __len__(self) -> int:
        return len(self._hashes)


class _Items(ItemsView[str, Any]):
    """The members in order, each read once (not looked up again by its key)."""

    _mapping: ObjectMembers

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        members = self._mapping
        for n in range(len(members)):
            yield members._key(n), members._value(n)


class _Values(ValuesView[Any]):
    _mapping: ObjectMembers

    def __iter__(self) -> Iterator[Any]:
        return map(self._mapping._value, range(len(self._mapping)))


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


def _slots_of(hashes: array[int]) -> array[int]:
    """An open-addressing table of ``hashes``: twice as many places as hashes (a power of
    two), each holding 1 + the number of the hash placed there (0: free), found from the
    hash's low bits and the places after it."""
    size = 8
    while size < 2 * len(hashes):
        size *= 2
    slots: array[int] = array("i", bytes(4 * size))
    mask = size - 1
    for n, h in enumerate(hashes, 1):
        place = h & mask
        while slots[place]:
            place = (place + 1) & mask
        slots[place] = n
    return slots
