"""Session ids and dates (docs/problems.md): file name vs content, unsafe ids (path separators, "..",
leading dash, spaces, too long) renamed to a safe id, and an unparseable updated_at."""

from __future__ import annotations

import os
import re
import unicodedata

import pytest

from tests.hostile.hostile_support import (
    CREATED_MS,
    Hostile,
    legacy,
    snapshot,
)

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # ASCII letters (not re.IGNORECASE's)


# ---------------------------------------------------------------- file name vs content


def _mismatch(hw: Hostile) -> dict:
    doc = legacy("cname", 3)
    hw.write("fname.json", doc)
    hw.map_key("agent:main:telegram:dm:12345", "fname")
    return doc


def test_file_name_and_content_disagree(hw: Hostile) -> None:
    _mismatch(hw)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("id_mismatch", "fname.json")
    assert d["fixes"] == ["use-filename", "use-content"]
    assert d["error"] == "the file name says the session id is 'fname', the content says 'cname'"
    assert not (hw.sessions / "fname.jsonl").exists() and not (hw.sessions / "cname.jsonl").exists()
    hw.check(r)


@pytest.mark.parametrize(("fix", "sid", "note"), [
    ("use-filename", "fname", "the id is taken from the file name ('fname'), not from the content ('cname')"),
    ("use-content", "cname", "the id is taken from the content ('cname'), not from the file name ('fname')"),
])
def test_id_mismatch_fixes(hw: Hostile, fix: str, sid: str, note: str) -> None:
    doc = _mismatch(hw)

    r = hw.migrate("--fix", f"fname={fix}")

    assert r.rc == 0, r
    s = r.session("fname.json")
    assert s["status"] == "migrated" and s["session_id"] == sid
    assert note in s["notes"]
    hw.assert_migrated(sid, "agent:main:telegram:dm:12345", doc["messages"])
    assert sorted(p.name for p in hw.sessions.glob("*.jsonl")) == sorted(["good-1.jsonl", f"{sid}.jsonl"])
    hw.check(r)


# ---------------------------------------------------------------- path traversal


def test_path_traversal_in_content_id_is_unsafe_and_rename_keeps_it_inside(hw: Hostile) -> None:
    doc = legacy("../../evil", 2, label="evil")
    hw.write("trav.json", doc)
    hw.map_key("agent:main:discord:group:g-77", "trav")

    # as it is: the ids disagree
    r = hw.migrate()
    assert r.rc == 1, r
    assert r.error("id_mismatch", "trav.json")["error"] == \
        "the file name says the session id is 'trav', the content says '../../evil'"

    # taking the content's id: unsafe, rename offered
    r = hw.migrate("--fix", "trav=use-content")
    assert r.rc == 1, r
    d = r.error("unsafe_id", "trav.json")
    assert d["fixes"] == ["rename"]
    m = re.fullmatch(r"the session id '\.\./\.\./evil' cannot name a file: it contains a path "
                     r"separator \(rename would make it '(evil-[0-9a-f]{8})'\)", d["error"])
    assert m, d["error"]
    renamed = m.group(1)
    hw.check(r)

    r = hw.migrate("--fix", "trav=use-content", "--fix", "trav=rename")
    assert r.rc == 0, r
    s = r.session("trav.json")
    assert s["session_id"] == renamed and s["status"] == "migrated"
    assert f"the unsafe id '../../evil' is renamed '{renamed}'" in s["notes"]
    entry = hw.assert_migrated(renamed, "agent:main:discord:group:g-77", doc["messages"])
    assert entry["label"] == "evil"
    # nothing written outside .sessions/: no "evil" anywhere above it
    hw.check(r)
    for path in hw.root.rglob("*"):
        if ".sessions" not in path.parts:
            assert "evil" not in path.name, path
    assert not os.path.lexists(hw.root / "evil.jsonl")
    assert not os.path.lexists(hw.ws / "evil.jsonl")


# ---------------------------------------------------------------- unsafe file names


UNSAFE = {
    "-dash": "it starts with a dash",
    "has space": "it contains white space",
    "a" * 129: "it is 129 characters long (128 at most)",
    ".hidden": "it starts with a dot",
    # letters that match [a-z] under re.IGNORECASE but are not ASCII: not safe, named
    "\u212aelvin": "it has KELVIN SIGN (U+212A), which is not an ASCII letter",
    "long-\u017f": "it has LATIN SMALL LETTER LONG S (U+017F), which is not an ASCII letter",
}


@pytest.mark.parametrize("sid", list(UNSAFE), ids=["leading-dash", "space", "too-long", "leading-dot",
                                                   "kelvin-sign", "long-s"])
def test_unsafe_id_is_reported_and_rename_gives_a_safe_one(hw: Hostile, sid: str) -> None:
    doc = legacy(sid, 2, label="unsafe")
    hw.write(f"{sid}.json", doc)

    r = hw.migrate()
    assert r.rc == 1, r
    d = r.error("unsafe_id", f"{sid}.json")
    assert d["fixes"] == ["rename"]
    m = re.fullmatch(rf"the session id '{re.escape(sid)}' cannot name a file: "
                     rf"{re.escape(UNSAFE[sid])} \(rename would make it '([^']+)'\)", d["error"])
    assert m, d["error"]
    renamed = m.group(1)
    assert SAFE.fullmatch(renamed) and renamed not in (".", "..")
    before = snapshot(hw.sessions)
    assert [n for n in before if n.endswith(".jsonl") and "/" not in n] == ["good-1.jsonl"]
    hw.check(r)

    r = hw.migrate(f"--fix={sid}=rename")  # "=" form: an id may start with a dash
    assert r.rc == 0, r
    s = r.session(f"{sid}.json")
    assert s["session_id"] == renamed and s["status"] == "migrated"
    hw.assert_migrated(renamed, f"agent:main:{renamed}", doc["messages"])
    assert not os.path.lexists(hw.sessions / f"{sid}.jsonl")
    hw.check(r)


# ---------------------------------------------------------------- dates


def _bad_date(hw: Hostile, created: str | None = "keep", mtime_ns: int = 1_700_000_000_123_456_789) -> dict:
    doc = legacy("baddate", 2)
    doc["updated_at"] = "yesterday-ish"
    if created is None:
        del doc["created_at"]
    elif created != "keep":
        doc["created_at"] = created
    path = hw.write("baddate.json", doc)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    hw.map_key("agent:main:subagent:abc", "baddate")
    return doc


def test_unparseable_updated_at(hw: Hostile) -> None:
    _bad_date(hw)

    r = hw.migrate()

    assert r.rc == 1, r
    d = r.error("bad_updated_at", "baddate.json")
    assert d["fixes"] == ["use-created-at", "use-file-mtime"]
    assert d["error"] == "has an updated_at that is not a date: 'yesterday-ish'"
    hw.check(r)


@pytest.mark.parametrize(("fix", "expected", "note"), [
    ("use-created-at", CREATED_MS, "updated_at is taken from created_at"),
    ("use-file-mtime", 1_700_000_000_123, "updated_at is taken from the file's modification time"),
])
def test_updated_at_fixes(hw: Hostile, fix: str, expected: int, note: str) -> None:
    doc = _bad_date(hw)

    r = hw.migrate("--fix", f"baddate={fix}")

    assert r.rc == 0, r
    assert note in r.session("baddate.json")["notes"]
    hw.assert_migrated("baddate", "agent:main:subagent:abc", doc["messages"], updated_at=expected)
    hw.check(r)


def test_unusable_created_at_too_offers_only_the_file_mtime(hw: Hostile) -> None:
    doc = _bad_date(hw, created="not a date either")

    r = hw.migrate()
    assert r.rc == 1, r
    d = r.error("bad_updated_at", "baddate.json")
    assert d["fixes"] == ["use-file-mtime"]
    assert d["error"] == ("has an updated_at that is not a date: 'yesterday-ish'; "
                          "created_at is not usable either")

    r = hw.migrate("--fix", "baddate=use-file-mtime")
    assert r.rc == 0, r
    hw.assert_migrated("baddate", "agent:main:subagent:abc", doc["messages"], updated_at=1_700_000_000_123)
    hw.check(r)


@pytest.mark.parametrize("ch", ["\u212a", "\u017f", "\u0130", "\u0131"])
def test_letters_only_ignorecase_takes_for_ascii_are_not_safe(ch: str) -> None:
    """U+212A KELVIN SIGN, U+017F LONG S and the dotted and dotless I match [a-z] under
    re.IGNORECASE (one of their cases is ASCII); the safe pattern is ASCII: an id with one is
    renamed, the reason names it, and the new id is safe."""
    from migrate_tui.core import ids

    sid = f"ab{ch}c"
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,127}", sid, re.IGNORECASE)  # (what it was)
    assert not ids.is_safe_id(sid)
    assert ids.why_unsafe(sid) == (f"it has {unicodedata.name(ch)} (U+{ord(ch):04X}), "
                                   "which is not an ASCII letter")
    renamed = ids.rename_id(sid)
    assert ids.is_safe_id(renamed) and SAFE.fullmatch(renamed) and renamed.startswith("ab-c-")
    assert ids.why_unsafe("a\u00e9") == "it has characters other than letters, digits, '.', '_' and '-'"


def test_an_ascii_key_is_judged_as_the_general_way_judges_it() -> None:
    """``is_valid_key``'s one pattern for a key of ASCII characters allows exactly what the
    general way (the key pattern and ``isprintable``) allows: every ASCII character in each
    part of a key, and the length limit."""
    from migrate_tui.core import ids

    cases = ["agent::x", "agent:x:", "agent:x", "agent:a:b:c", "agent:a:b c", "",
             "agent:a:" + "b" * (ids.MAX_KEY - 8), "agent:a:" + "b" * (ids.MAX_KEY - 7)]
    for ch in map(chr, range(128)):
        for template in ("agent:a{c}b:main", "agent:{c}:m", "agent:x:m{c}n", "agent:x:{c}",
                         "{c}agent:x:y", "agent:x:y{c}", "agent{c}x:y", "agent:x{c}y"):
            cases.append(template.format(c=ch))
    for key in cases:
        assert ids.is_valid_key(key) == ids._is_valid_key_any(key), repr(key)
    assert ids.is_valid_key("agent:main:telegram:dm:12345")
