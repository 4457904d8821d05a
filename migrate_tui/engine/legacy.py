"""Reading one legacy session file: bytes → checked content, with every problem named.

The same function serves the scan (to classify) and apply (to migrate), so that what the
plan shows is exactly what is written.  Content fixes (``salvage``, ``replace-bytes``,
``drop-bad-messages``) are applied here when the decision asks for them.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from migrate_tui.core import jsonio
from migrate_tui.core.entry_fields import FIELD_SET, STRUCTURAL_FIELDS
from migrate_tui.core.iso_time import iso_time
from migrate_tui.engine.model import FIXES_BY_CODE, Problem, Severity

KNOWN_TOP = ("session_id", "messages", "metadata", "created_at", "updated_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)  # a naive date means UTC
_MS = timedelta(milliseconds=1)
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(slots=True)
class LegacyContent:
    """A legacy file as read, after the requested content fixes."""

    content_id: Any = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: Any = None
    updated_at: Any = None
    has_updated_at: bool = False
    has_created_at: bool = False
    top_keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bad_messages: list[int] = field(default_factory=list)
    salvage_count: int | None = None
    salvage_missing: list[str] = field(default_factory=list)
    replaced_bytes: int = 0
    readable: bool = False  # the content could be read (maybe only thanks to a fix)
    message_count: int = 0
    messages_kept: bool = True  # False: a big file read piece by piece, ``messages`` left empty
    exact: bool = False  # read by orjson, proven to be the standard library's value


def problem(code: str, message: str, file: str, *, severity: Severity = Severity.PROBLEM,
            line: int | None = None, column: int | None = None, excerpt: str | None = None) -> Problem:
    fixes = FIXES_BY_CODE.get(code, ()) if severity is Severity.PROBLEM else ()
    return Problem(code, message, file, severity, line, column, fixes, excerpt)


def warning(code: str, message: str, file: str, **kw: Any) -> Problem:
    return problem(code, message, file, severity=Severity.WARNING, **kw)


def line_col(text: str | bytes, pos: int) -> tuple[int, int]:
    nl = "\n" if isinstance(text, str) else b"\n"
    line = text.count(nl, 0, pos) + 1  # type: ignore[arg-type]
    start = text.rfind(nl, 0, pos) + 1  # type: ignore[arg-type]
    return line, pos - start + 1


def excerpt_at(text: str, pos: int, radius: int = 2) -> str:
    """The lines around ``pos``, numbered, with a caret under the column."""
    lines = text.split("\n")
    line, col = line_col(text, pos)
    first = max(1, line - radius)
    last = min(len(lines), line + radius)
    out = []
    for n in range(first, last + 1):
        shown = lines[n - 1]
        if len(shown) > 200:
            lo = max(0, col - 100) if n == line else 0
            shown = ("…" if lo else "") + shown[lo : lo + 200] + "…"
            caret_col = col - lo + (1 if lo else 0)
        else:
            caret_col = col
        out.append(f"{n:>6} | {shown}")
        if n == line:
            out.append("       | " + " " * (caret_col - 1) + "^")
    return "\n".join(out)


# ---------------------------------------------------------------- bytes → text

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


class DecodeNotes(Protocol):
    """Where ``decode`` records what it found: a ``LegacyContent``, or a holder of the two."""

    problems: list[Problem]
    replaced_bytes: int


def decode(data: bytes, file: str, replace: bool, out: DecodeNotes) -> str | None:
    """Bytes to text.  A byte-order mark is handled without asking (a warning says so);
    bytes that are not UTF-8 are a problem unless ``replace`` turns them into U+FFFD."""
    encoding = "utf-8"
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            data = data[len(bom):]
            encoding = codec
            how = "removed" if name == "UTF-8" else f"the file was read as {name}"
            out.problems.append(warning("bom", f"starts with a {name} byte-order mark ({how})", file))
            break
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        pos = exc.start
        bad = data.decode(encoding, "surrogateescape") if encoding == "utf-8" else None
        count = (sum(1 for ch in bad if "\udc80" <= ch <= "\udcff") if bad is not None
                 else exc.end - exc.start)
        out.replaced_bytes = count
        if replace:
            out.problems.append(warning(
                "replaced_bytes",
                f"{count} byte(s) that are not {encoding.upper()} were replaced by U+FFFD", file))
            return data.decode(encoding, "replace")
        line, col = line_col(data, pos)
        hint = ""
        if encoding == "utf-8" and data[:2] in (b"{\x00", b"\x00{"):
            hint = " (it looks like UTF-16 without a byte-order mark)"
        sample = data[pos : pos + 1].hex()
        out.problems.append(problem(
            "not_utf8",
            f"not valid {encoding.upper()}: byte 0x{sample} at line {line}, column {col}; "
            f"{count} bad byte(s) in the file{hint}",
            file, line=line, column=col,
            excerpt=excerpt_at(data.decode(encoding, "replace"), min(pos, len(data) - 1))))
        return None


# ---------------------------------------------------------------- salvage


def _skip_ws(text: str, pos: int) -> int:
    """The position of the first character at or after ``pos`` that is not JSON whitespace."""
    found = _WS.match(text, pos)  # matches everywhere, if only the empty string
    return found.end() if found is not None else pos


def _salvage(text: str, dups: jsonio.DuplicateKeys) -> tuple[dict[str, Any], int, bool]:
    """Read a damaged top-level object as far as it is complete.

    Returns the complete top-level fields found before the damage, with "messages" holding
    the complete messages before it, and whether "messages" itself was complete."""
    decoder = jsonio.make_decoder(dups)
    found: dict[str, Any] = {}
    pos = _skip_ws(text, 0)
    messages_complete = False
    if not text.startswith("{", pos):
        return found, 0, False
    pos += 1
    while True:
        pos = _skip_ws(text, pos)
        try:
            key, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        if not isinstance(key, str):
            break
        pos = _skip_ws(text, pos)
        if not text.startswith(":", pos):
            break
        pos = _skip_ws(text, pos + 1)
        if key == "messages" and text.startswith("[", pos):
            messages: list[Any] = []
            found["messages"] = messages
            pos = _skip_ws(text, pos + 1)
            if text.startswith("]", pos):
                messages_complete = True
                pos += 1
            else:
                while True:
                    start = pos
                    try:
                        value, pos = decoder.raw_decode(text, pos)
                    except (ValueError, RecursionError):
                        return found, len(messages), False
                    end = pos
                    pos = _skip_ws(text, pos)
                    if text.startswith(",", pos):
                        messages.append(value)
                        pos = _skip_ws(text, pos + 1)
                        continue
                    if text.startswith("]", pos):
                        messages.append(value)
                        messages_complete = True
                        pos += 1
                        break
                    # the damage follows this message: keep it only if it closes where it
                    # opened (a deletion can make it swallow the fields after the list)
                    if _closes_in_line(text, start, end):
                        messages.append(value)
                    return found, len(messages), False
        else:
            try:
                value, pos = decoder.raw_decode(text, pos)
            except (ValueError, RecursionError):
                break
            found[key] = value
        pos = _skip_ws(text, pos)
        if text.startswith(",", pos):
            pos += 1
            continue
        break
    kept = found.get("messages")  # not a list when the damage made it something else
    return found, len(kept) if isinstance(kept, list) else 0, messages_complete


def _closes_in_line(text: str, start: int, end: int) -> bool:
    """Whether the value text[start:end] closes at the indentation it opened at, as every
    value an indenting writer (the old agent's ``json.dump(indent=2)``) wrote does.  A
    one-line value cannot tell, and is trusted."""
    if "\n" not in text[start:end]:
        return True
    open_col = start - (text.rfind("\n", 0, start) + 1)
    close_col = (end - 1) - (text.rfind("\n", 0, end - 1) + 1)
    return open_col == close_col


# ---------------------------------------------------------------- dates


def to_ms(value: Any) -> int | None:
    """An ISO 8601 date to integer milliseconds since the epoch, UTC (naive means UTC)."""
    if not isinstance(value, str) or not value:
        return None
    moment: datetime | None
    try:  # most dates: what iso_time would give, without its strip and "Z" test (0.3 us, not 0.5)
        moment = datetime.fromisoformat(value)
    except ValueError:  # white space around it, a "z", or no date: iso_time says
        moment = iso_time(value)
        if moment is None:
            return None
    # whole milliseconds, rounded down (a timedelta divided by one is an int, floored)
    if moment.tzinfo is None:
        return (moment - _NAIVE_EPOCH) // _MS
    return (moment - _EPOCH) // _MS


# ---------------------------------------------------------------- the reader


# A file at least this big is read a piece of its messages at a time when the caller does
# not keep them (the scan): its parsed messages would take several times its size.
STREAM_BYTES = 8 << 20


def read_legacy(data: bytes, file: str, fixes: frozenset[str] = frozenset(), *,
                check_duplicates: bool = True, keep_messages: bool = True) -> LegacyContent:
    """Check a legacy file's bytes and return its content and every problem found.

    ``fixes`` may hold the content fixes: ``replace-bytes``, ``salvage``,
    ``drop-bad-messages``.  Other fixes (ids, dates, keys) are the plan's business.

    A file with no content fix is parsed by orjson where that provably gives the standard
    library's value (``jsonio.exact_loads``); then ``exact`` is set.  With
    ``keep_messages=False`` a big file's messages are counted, checked and hashed a piece
    at a time and not kept (``messages_kept`` is False).  Everything else goes the standard
    library's way, which finds and words every problem; ``check_duplicates=False`` (apply,
    on bytes the scan already checked) skips its search for repeated keys.
    """
    out = LegacyContent()
    if not fixes:
        if not keep_messages and len(data) >= STREAM_BYTES and _read_streamed(data, file, out):
            return out
        exact = jsonio.exact_loads(data)
        if exact is not None:
            out.exact = True
            return _read_document(exact[0], file, fixes, out)
    text = decode(data, file, "replace-bytes" in fixes, out)
    if text is None:
        return out
    dups = jsonio.DuplicateKeys() if check_duplicates else None
    try:
        doc = jsonio.loads(text, dups)
    except RecursionError:
        out.problems.append(problem(
            "too_deep", "nested too deeply to read safely (more than about 900 levels)", file))
        return out
    except jsonio.JSONDecodeError as exc:
        found, count, complete = _salvage(text, jsonio.DuplicateKeys())
        out.salvage_count = count
        missing = [k for k in ("session_id", "messages", "metadata", "created_at", "updated_at")
                   if k not in found]
        if "messages" in found and not complete:
            missing.insert(0, "any later messages")
        out.salvage_missing = missing
        if "salvage" not in fixes:
            at_end = "\n" not in text[exc.pos:].rstrip()
            why = (f"the file ends in the middle of a value ({exc.msg}): it was probably cut "
                   "short by a crash while it was being written" if at_end else exc.msg)
            if not text.strip():
                why = "the file is empty"
            elif "\x00" in text[:64]:
                why += " (it looks like UTF-16 or UTF-32 without a byte-order mark)"
            out.problems.append(problem(
                "invalid_json",
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {why}; "
                f"salvage would keep {count} complete message(s)",
                file, line=exc.lineno, column=exc.colno, excerpt=excerpt_at(text, exc.pos)))
            return out
        doc = found
        doc.setdefault("messages", [])
        lost = ", ".join(missing) if missing else "nothing"
        out.problems.append(warning(
            "salvaged",
            f"salvaged {count} complete message(s) before the damage at line {exc.lineno}, "
            f"column {exc.colno}; missing after the damage: {lost}", file,
            line=exc.lineno, column=exc.colno))
    except ValueError as exc:  # pragma: no cover - anything else json may raise
        out.problems.append(problem("invalid_json", f"invalid JSON: {exc}", file))
        return out

    if dups is not None and dups.keys:
        names = ", ".join(sorted(set(map(repr, dups.keys)))[:5])
        out.problems.append(warning(
            "duplicate_keys",
            f"an object repeats the key(s) {names}: the last value is kept, as Python's json "
            "reads it; the file as it is stays in the backup", file))
    return _read_document(doc, file, fixes, out)


def _read_streamed(data: bytes, file: str, out: LegacyContent) -> bool:
    """A big file through ``jsonio.exact_chunks``: the top level as it is, the messages
    counted and checked piece by piece, none kept.  False (and ``out`` untouched) when
    orjson cannot be proven to read it as the standard library does."""
    bad: list[int] = []
    count = 0
    try:
        pieces = jsonio.exact_chunks(data, "messages")
        doc, _ = next(pieces)
        for items, _ in pieces:
            if not all(map(has_role, items)):
                bad.extend(count + i for i, m in enumerate(items) if not has_role(m))
            count += len(items)
    except jsonio.NotExact:
        return False
    out.exact = True
    _read_document(doc, file, frozenset(), out, streamed=(count, bad))
    return True


def has_role(message: Any) -> bool:
    return type(message) is dict and "role" in message


def exact_token(source_sha256: str) -> str:
    """What the scan leaves as a session's ``messages_digest`` when orjson provably reads
    the file with this SHA-256 exactly as the standard library does (``LegacyContent.exact``):
    apply, having checked the file's SHA-256, can then parse it with orjson unchecked."""
    return "exact:" + source_sha256


def _read_document(doc: Any, file: str, fixes: frozenset[str], out: LegacyContent,
                   streamed: tuple[int, list[int]] | None = None) -> LegacyContent:
    """The checks on a parsed document (``streamed``: its messages were not kept, only their
    number and the positions of the bad ones)."""
    if not isinstance(doc, dict):
        out.problems.append(problem(
            "wrong_shape", f"the top level is {jsonio.kind_of(doc)}, not an object", file))
        return out
    messages = doc.get("messages")
    if not isinstance(messages, list):
        what = "missing" if "messages" not in doc else f"{jsonio.kind_of(messages)}, not a list"
        out.problems.append(problem("wrong_shape", f'"messages" is {what}', file))
        return out

    out.top_keys = list(doc)
    out.content_id = doc.get("session_id")
    out.has_updated_at = "updated_at" in doc
    out.has_created_at = "created_at" in doc
    out.updated_at = doc.get("updated_at")
    out.created_at = doc.get("created_at")
    metadata = doc.get("metadata")
    if isinstance(metadata, dict):
        out.metadata = metadata
    elif metadata is not None:
        out.problems.append(warning(
            "bad_metadata",
            f'"metadata" is {jsonio.kind_of(metadata)}, not an object: it is not carried', file))

    if streamed is not None:
        count, bad = streamed
        out.messages_kept = False
    else:
        count = len(messages)
        bad = [] if all(map(has_role, messages)) else [
            i for i, m in enumerate(messages) if not isinstance(m, dict) or "role" not in m]
    out.bad_messages = bad
    if bad:
        shown = ", ".join(str(i + 1) for i in bad[:10]) + (" …" if len(bad) > 10 else "")
        if "drop-bad-messages" in fixes:
            keep = set(range(len(messages))) - set(bad)
            messages = [m for i, m in enumerate(messages) if i in keep]
            count = len(messages)
            out.problems.append(warning(
                "dropped_messages", f"{len(bad)} message(s) dropped (number {shown}); "
                f"{len(messages)} kept", file))
        else:
            out.problems.append(problem(
                "bad_messages",
                f"{len(bad)} of {count} message(s) are not objects with a \"role\" "
                f"(message number {shown})", file))
    out.messages = messages
    out.message_count = count
    out.readable = True
    return out


_CANONICAL = {name: name for name in FIELD_SET}


def carried_fields(content: LegacyContent) -> tuple[dict[str, Any], list[str]]:
    """The metadata that goes into the entry, and the names of what the entry cannot carry."""
    carried: dict[str, Any] = {}
    not_carried: list[str] = []
    for key in content.top_keys:
        if key not in KNOWN_TOP:
            not_carried.append(key)
    if content.has_created_at:
        not_carried.append("created_at")
    for key, value in content.metadata.items():
        if key in FIELD_SET and key not in STRUCTURAL_FIELDS:
            carried[_CANONICAL[key]] = value  # one shared key string, not one per file
        else:
            not_carried.append(f"metadata.{key}")
    return carried, not_carried


def transcript_lines(messages: list[Any]) -> list[Any]:
    """Each message with its null-valued fields left out, everything else as it was.

    An item that is not an object (only in a file with bad messages, which is never written
    without ``drop-bad-messages``) is passed through as it is, so a scan or a preview of
    such a file can still compare and show it."""
    return [{k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m
            for m in messages]
