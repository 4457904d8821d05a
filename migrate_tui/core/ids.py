"""Session ids and keys: which are safe to use, and how an unsafe id is renamed."""

from __future__ import annotations

import hashlib
import re

# ASCII letters only, spelled out: with re.IGNORECASE, [a-z] would also match U+212A KELVIN
# SIGN, U+017F LONG S, U+0130 and U+0131 (dotted and dotless I: _LOOKALIKES), which the
# ASCII pattern below does not allow (and the explicit class is twice as fast: 0.23 us a
# match, not 0.48)
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# A session key: "agent:<agent-id>:<rest>", printable, no white space.
_KEY = re.compile(r"agent:[^:\s]+:\S+")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")  # (what SAFE_ID allows, the same ASCII class)
MAX_KEY = 1024
# the letters that are no ASCII letter but match [a-z] under re.IGNORECASE (their other case
# is one): named when they make an id unsafe, since they look like the letters they are not
_LOOKALIKES = {"\u0130": "LATIN CAPITAL LETTER I WITH DOT ABOVE", "\u0131": "LATIN SMALL LETTER DOTLESS I",
               "\u017f": "LATIN SMALL LETTER LONG S", "\u212a": "KELVIN SIGN"}


def is_safe_id(value: object) -> bool:
    """docs/formats.md: an id may name a file only if it matches ``^[a-z0-9][a-z0-9._-]{0,127}$``,
    ASCII letters of either case (so no separators, no leading dot or dash, no spaces);
    ``.``/``..`` are excluded too."""
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None and value not in (".", "..")


def why_unsafe(value: str) -> str:
    if not value:
        return "it is empty"
    if "/" in value or "\\" in value:
        return "it contains a path separator"
    if ".." in value:
        return 'it contains ".."'
    if value[0] == "-":
        return "it starts with a dash"
    if value[0] == ".":
        return "it starts with a dot"
    if any(ch.isspace() for ch in value):
        return "it contains white space"
    if len(value) > 128:
        return f"it is {len(value)} characters long (128 at most)"
    for ch in value:
        if ch in _LOOKALIKES:
            return f"it has {_LOOKALIKES[ch]} (U+{ord(ch):04X}), which is not an ASCII letter"
    return "it has characters other than letters, digits, '.', '_' and '-'"


def rename_id(value: str, salt: str = "") -> str:
    """A safe id for an unsafe one: its safe characters, plus a short hash of the original
    (and of ``salt``, the file it came from) so that two files never get the same new id."""
    source = value if not salt or salt == value else f"{salt}\0{value}"
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem = _UNSAFE_RUN.sub("-", value).strip("-._")[:100]
    return f"{stem}-{digest}" if stem else f"session-{digest}"


# What _KEY and isprintable() allow together of ASCII characters: printable and not a space
# (and no colon in the agent id).  A key of ASCII characters (most keys) is checked by it in
# one pass rather than two (corpus B's 21,353 keys: 4,600 instructions a key -> 3,500)
_ASCII_KEY = re.compile(r"agent:[!-9;-~]+:[!-~]+")


def is_valid_key(value: object) -> bool:
    if type(value) is str and value.isascii():
        return len(value) <= MAX_KEY and _ASCII_KEY.fullmatch(value) is not None
    return _is_valid_key_any(value)


def _is_valid_key_any(value: object) -> bool:
    """``is_valid_key`` for any value (the way for a key with other characters)."""
    return (
        isinstance(value, str)
        and len(value) <= MAX_KEY
        and _KEY.fullmatch(value) is not None
        and value.isprintable()
    )


def fallback_key(agent_id: str, session_id: str) -> str:
    """The key of a session no key points to: the full id, never a prefix (prefixes collide)."""
    return f"agent:{agent_id}:{session_id}"


def display(name: str) -> str:
    """A file name as it can be printed: undecodable bytes and control characters escaped."""
    if name.isascii() and name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
