"""Transcripts and entries (docs/formats.md): each transcript line is its legacy message with
the null-valued fields left out and everything else exactly as it was; each entry carries
updated_at in integer ms UTC and the metadata SessionEntry fields; what is not carried is named."""

from __future__ import annotations

import json
import math
from string import Template
from typing import Any

import pytest

from tests.engine.engine_support import (
    CREATED_AT,
    UPDATED_MS,
    Workspace,
    canonical,
    conversation,
    message,
    read_jsonl,
    without_nulls,
)

HUGE_INT = "9" * 5000  # over Python's 4,300-digit conversion limit

# A legacy file written by hand, so the literals are exactly these: what the old writer's
# json.dump could produce (NaN/Infinity, 1E5 from a hand edit, escapes, a lone surrogate).
LOSSLESS_TEXT = Template("""{
  "session_id": "lossless",
  "messages": [
    {"role": "user", "content": "plain", "timestamp": "2026-02-11T10:00:00.708193",
     "tool_calls": null, "tool_call_id": null, "name": null, "images": null},
    {"content": "key order: content before role", "role": "assistant", "zeta": 1, "alpha": 2,
     "timestamp": null, "meta": {"b": 1, "a": null, "c": [null, false, 0, ""]}},
    {"role": "tool", "content": "numbers", "big": 18446744073709551617,
     "negbig": -340282366920938463463374607431768211457, "huge": $huge,
     "e": 1E5, "tenth": 0.10, "tiny": 5e-324, "over": 1e400, "neg0": -0.0, "plain": 0.30000000000000004,
     "nan": NaN, "inf": Infinity, "ninf": -Infinity, "zero": 0, "f": false, "empty": ""},
    {"role": "user",
     "content": "\\u00e9t\\u00e9 \\u4e2d\\u6587 \\ud83d\\ude00 caf\u00e9 \\"q\\" \\\\ \\n\\t\\u0000 \\u2028"},
    {"role": "user", "content": "lone \\ud800 and \\udfff surrogates", "name": "\\udc80x"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
     "function": {"name": "weather", "arguments": "{\\"lat\\": 48.8566}"}}]}
  ],
  "metadata": {"label": "Lossless"},
  "created_at": "2026-02-11T10:00:00.708148+00:00",
  "updated_at": "2026-02-11T12:00:00.708267+00:00"
}
""").substitute(huge=HUGE_INT)


def _source_messages() -> list[dict]:
    return json.loads(LOSSLESS_TEXT)["messages"]


def test_transcript_equals_messages_without_nulls_in_order(ws: Workspace) -> None:
    msgs = conversation("ordered", 7)
    msgs[2]["tool_calls"] = [{"id": "c1", "args": None}]  # a nested null is a value: kept
    msgs[3]["images"] = []
    msgs[4]["name"] = ""
    ws.add("ordered", msgs, keys=("agent:main:main",))

    run = ws.migrate()
    assert run.rc == 0, str(run)
    lines = ws.transcript("ordered")
    assert lines == without_nulls(msgs)
    for line, msg in zip(lines, msgs, strict=True):
        assert list(line) == [k for k, v in msg.items() if v is not None]  # key order kept
        assert None not in line.values()
    assert lines[2]["tool_calls"] == [{"id": "c1", "args": None}]
    assert lines[3]["images"] == [] and lines[4]["name"] == ""
    assert run.session("ordered")["messages"] == 7


def test_every_value_survives_exactly(ws: Workspace, unlimited_int_digits: None) -> None:
    ws.write_raw("lossless.json", LOSSLESS_TEXT)
    ws.map("agent:main:main", "lossless")

    run = ws.migrate()
    assert run.rc == 0, str(run)
    raw = (ws.sessions / "lossless.jsonl").read_bytes()
    lines = raw.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 7
    want = without_nulls(_source_messages())
    got = [json.loads(line) for line in lines[:-1]]
    assert len(got) == len(want)
    for n, (g, w) in enumerate(zip(got, want, strict=True), 1):
        assert canonical(g) == canonical(w), f"line {n}"  # value and key order, NaN == NaN
    numbers = got[2]
    assert numbers["big"] == 2**64 + 1
    assert numbers["negbig"] == -(2**128) - 1
    assert numbers["huge"] == int(HUGE_INT)
    assert math.isnan(numbers["nan"]) and numbers["inf"] == math.inf and numbers["ninf"] == -math.inf
    assert math.copysign(1, numbers["neg0"]) == -1
    assert got[3]["content"] == "été 中文 😀 café \"q\" \\ \n\t\x00 \u2028"
    assert got[4]["content"] == "lone \ud800 and \udfff surrogates" and got[4]["name"] == "\udc80x"
    assert "content" not in got[5] and got[5]["tool_calls"][0]["function"]["name"] == "weather"
    # the literals themselves, not just equal values
    line3 = lines[2]
    for literal in ('"e":1E5', '"tenth":0.10', '"over":1e400', '"neg0":-0.0', '"nan":NaN',
                    '"inf":Infinity', '"ninf":-Infinity', f'"huge":{HUGE_INT}',
                    '"big":18446744073709551617', '"plain":0.30000000000000004', '"tiny":5e-324'):
        assert literal in line3, literal
    assert "\\ud800" in lines[4] and "\\udfff" in lines[4]  # escaped: UTF-8 cannot hold them
    # and the command's own check agrees
    assert ws.cli("verify").rc == 0


def test_session_without_messages_gets_an_empty_transcript(ws: Workspace) -> None:
    ws.add("empty-one", [], keys=("agent:main:empty",))
    run = ws.migrate()
    assert run.rc == 0, str(run)
    transcript = ws.sessions / "empty-one.jsonl"
    assert transcript.is_file() and transcript.read_bytes() == b""
    assert ws.store()["agent:main:empty"]["session_file"] == "empty-one.jsonl"
    assert run.session("empty-one")["messages"] == 0
    assert ws.cli("verify").rc == 0


# ---------------------------------------------------------------- entries


@pytest.mark.parametrize("updated_at, expected", [
    ("2026-02-11T12:00:00.708267+00:00", UPDATED_MS),  # aware
    ("2026-02-11T12:00:00.708267Z", UPDATED_MS),  # Z
    ("2026-02-11T12:00:00.708267", UPDATED_MS),  # naive: UTC
    ("2026-02-11T14:00:00.708267+02:00", UPDATED_MS),  # another offset: converted to UTC
    ("2026-02-11 12:00:00.708267+00:00", UPDATED_MS),  # str(datetime), as default=str wrote it
    ("2026-02-11T12:00:00", UPDATED_MS - 708),  # no fraction
    ("1969-12-31T23:59:59.999+00:00", -1),  # before the epoch: floor, not toward zero
])
def test_updated_at_is_integer_ms_utc(ws: Workspace, updated_at: str, expected: int) -> None:
    ws.add("dated", keys=("agent:main:main",), updated_at=updated_at)
    run = ws.migrate()
    assert run.rc == 0, str(run)
    value = ws.store()["agent:main:main"]["updated_at"]
    assert type(value) is int and value == expected
    assert b'"updated_at": %d' % expected in ws.store_bytes()


def test_entry_carries_metadata_fields_and_names_what_it_does_not(ws: Workspace) -> None:
    metadata = {
        "label": "My Session", "display_name": "Test", "thinking_level": "high",
        "ui_color": "teal",  # not a SessionEntry field
        "channel": "telegram", "chat_type": "direct", "input_tokens": 18446744073709551617,
        "cli_session_ids": {"claude": "abc"}, "delivery_context": {"to": "123", "thread": None},
        "spawned_by": "agent:main:main", "system_sent": False, "queue_debounce_ms": 0,
        "session_id": "other", "updated_at": 5,  # structural: the migration sets these itself
        "pinned": True,
    }
    ws.add("carried", keys=("agent:main:main",), metadata=metadata)

    run = ws.migrate()
    assert run.rc == 0, str(run)
    entry = ws.store()["agent:main:main"]
    carried = {k: v for k, v in metadata.items()
               if k not in ("ui_color", "pinned", "session_id", "updated_at")}
    assert entry == {"session_id": "carried", "updated_at": UPDATED_MS,
                     "session_file": "carried.jsonl", **carried}
    # the structural fields first, then the metadata in its own order
    assert list(entry) == ["session_id", "updated_at", "session_file", *carried]
    not_carried = run.session("carried")["not_carried"]
    assert "created_at" in not_carried
    for name in ("metadata.ui_color", "metadata.pinned", "metadata.session_id", "metadata.updated_at"):
        assert name in not_carried, (name, not_carried)
    for name in carried:
        assert f"metadata.{name}" not in not_carried
    # the verbose results block names them too
    verbose = ws.cli("migrate", "--verbose", "--dry-run")
    assert "not carried (kept in the backup): created_at" in verbose.stdout, str(verbose)
    assert "metadata.ui_color" in verbose.stdout


def test_unknown_top_level_fields_are_named_not_carried(ws: Workspace) -> None:
    doc = {"session_id": "extra", "messages": [message("user", "hi")], "metadata": {"label": "x"},
           "created_at": CREATED_AT, "updated_at": "2026-02-11T12:00:00.708267+00:00",
           "owner": "someone", "version": 3}
    ws.write_raw("extra.json", json.dumps(doc, indent=2))
    ws.map("agent:main:main", "extra")
    run = ws.migrate()
    assert run.rc == 0, str(run)
    not_carried = run.session("extra")["not_carried"]
    assert {"owner", "version", "created_at"} <= set(not_carried)
    assert set(ws.store()["agent:main:main"]) == {"session_id", "updated_at", "session_file", "label"}


def test_transcripts_read_back_with_the_test_reader(ws: Workspace) -> None:
    """read_jsonl sanity: a transcript is newline-terminated JSON, one message a line."""
    ws.add("simple", conversation("s", 2), keys=("agent:main:main",))
    assert ws.migrate().rc == 0
    assert read_jsonl(ws.sessions / "simple.jsonl") == without_nulls(conversation("s", 2))


def test_metadata_numbers_reach_sessions_json_exactly(ws: Workspace, unlimited_int_digits: None) -> None:
    text = json.dumps({"session_id": "nums", "messages": [], "metadata": {"label": "n"},
                       "created_at": CREATED_AT, "updated_at": "2026-02-11T12:00:00.708267+00:00"},
                      indent=2)
    text = text.replace('"label": "n"', '"label": "n", "context_tokens": 1E5, "queue_cap": 0.10, '
                        f'"input_tokens": {HUGE_INT}, "total_tokens": 18446744073709551617, '
                        '"compaction_count": NaN, "subject": "\\ud800 \\u00e9"')
    ws.write_raw("nums.json", text)
    ws.map("agent:main:main", "nums")
    run = ws.migrate()
    assert run.rc == 0, str(run)
    raw = ws.store_bytes().decode("utf-8")
    for literal in ('"context_tokens": 1E5', '"queue_cap": 0.10', f'"input_tokens": {HUGE_INT}',
                    '"total_tokens": 18446744073709551617', '"compaction_count": NaN'):
        assert literal in raw, literal
    entry = json.loads(raw)["agent:main:main"]
    assert entry["subject"] == "\ud800 \u00e9"
    assert entry["input_tokens"] == int(HUGE_INT)


@pytest.mark.parametrize("listed", [True, False], ids=["one-listing", "one-lstat-each"])
def test_a_transcript_gone_before_the_check_is_found_missing(ws: Workspace, listed: bool,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The check after the index looks for every transcript written (many: in one listing
    of the folder; a few: one lstat each); one removed meanwhile is a difference, and the run
    is not committed."""
    import os

    from migrate_tui.core import fsio
    from migrate_tui.engine import apply, apply_plan, build_plan, scan_workspace

    monkeypatch.setattr(apply, "VERIFY_LISTING", 1 if listed else 1 << 30)
    for sid in ("s1", "s2", "s3"):
        ws.add(sid, keys=(f"agent:main:{sid}",))
    victim = ws.sessions / "s2.jsonl"

    def hook(op: str, path: str) -> None:
        if op == "lock" and victim.exists():  # sessions.json's lock: the transcripts are in place
            os.unlink(victim)

    plan = build_plan(scan_workspace(str(ws.root)), "main")
    with fsio.fault_hook(hook):
        result = apply_plan(plan, lock_timeout=5)
    assert "s2.jsonl is missing" in result.verify_problems
    assert not result.verified and not result.committed
    assert sorted(result.migrated) == ["s1", "s3"]


def _rewrite_store_before_the_check(ws: Workspace, change: Any) -> Any:
    """A hook: once sessions.json is renamed into place (and its lock let go), the next time
    it is opened (the check after the index) another writer has rewritten it with
    ``change(store)`` applied."""
    import os

    path = str(ws.sessions / "sessions.json")
    state = {"renamed": False, "done": False}

    def hook(op: str, where: str) -> None:
        if op == "rename" and where == path:
            state["renamed"] = True
        elif op == "open" and where == path and state["renamed"] and not state["done"]:
            state["done"] = True
            store = json.loads(ws.store_bytes())
            change(store)
            tmp = path + ".other-writer"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(store, f, indent=2)
            os.replace(tmp, path)

    return hook


@pytest.mark.parametrize("change", ["entry", "repointed", "none"])
def test_the_check_after_the_index_reads_what_another_writer_left(ws: Workspace, change: str) -> None:
    """sessions.json as the merge wrote it passes the check on its bytes alone; one another
    writer changed before the check is read and compared entry by entry, and a difference
    keeps the run from being committed."""
    from migrate_tui.core import fsio
    from migrate_tui.engine import apply_plan, build_plan, scan_workspace

    ws.add("s1", keys=("agent:main:one",))
    ws.add("s2", keys=("agent:main:two",))

    def edit(store: dict[str, Any]) -> None:
        if change == "entry":
            store["agent:main:one"]["thinking_level"] = "changed by the agent"
        elif change == "repointed":
            store["agent:main:two"] = dict(store["agent:main:two"], session_id="someone-else")

    plan = build_plan(scan_workspace(str(ws.root)), "main")
    with fsio.fault_hook(_rewrite_store_before_the_check(ws, edit)):
        result = apply_plan(plan, lock_timeout=5)
    if change == "none":  # rewritten with the same values, other bytes: compared, all equal
        assert result.verified and result.committed and not result.verify_problems
    elif change == "entry":
        assert result.verify_problems == ["sessions.json: the entry 'agent:main:one' is not what was written"]
        assert not result.committed
    else:
        assert "s2.json: no key in sessions.json points at 's2'" in result.verify_problems
        assert not result.committed
