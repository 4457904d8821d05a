"""Run the real OpenClaw on a migrated state folder and check that everything arrived.

``openclaw doctor --session-sqlite dry-run --json`` then ``import --json`` then
``openclaw sessions --json``, always with HOME and OPENCLAW_STATE_DIR in a throwaway
folder, automatic update checks off, and (where the machine allows) in a network
namespace of its own, so it cannot reach the network.  Then the agent's SQLite database
is read and compared, event by event, with what the migration wrote (numbers compared as
JavaScript reads them), and with the legacy messages themselves (every text, tool call
and tool result).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from convert import Migrated

from migrate_tui.engine.targets.openclaw_layout import openclaw_layout


class Failed(Exception):
    pass


def _unshare_works() -> bool:
    tool = shutil.which("unshare")
    if tool is None:
        return False
    try:
        return subprocess.run([tool, "--net", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


_ISOLATE = _unshare_works()
ISOLATE = ("unshare", "--net", "--") if _ISOLATE else ()  # the command prefix that isolates


def run_openclaw(openclaw: str, node_dir: str, home: str, state: str, *args: str) -> Any:
    """One openclaw command with --json; its parsed stdout."""
    env = {"PATH": f"{node_dir}{os.pathsep}/usr/bin:/bin", "HOME": home, "OPENCLAW_STATE_DIR": state,
           "OPENCLAW_NO_AUTO_UPDATE": "1", "NO_COLOR": "1", "LANG": "C.UTF-8", "TMPDIR": home}
    command = [openclaw, *args]
    command = [*ISOLATE, *command]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise Failed(f"`openclaw {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise Failed(f"`openclaw {' '.join(args)}` printed no JSON:\n{proc.stdout[-2000:]}") from None


def js(value: Any) -> Any:
    """A value as JavaScript holds it: every number a 64-bit float."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [js(v) for v in value]
    return {k: js(v) for k, v in value.items()}


def _loads_strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise Failed(f"{name} is not JSON for OpenClaw")
    return json.loads(text, parse_constant=refuse)


def _texts(message: dict[str, Any]) -> list[str]:
    return [b["text"] for b in message.get("content", []) if isinstance(b, dict) and b.get("type") == "text"]


def check_legacy(session_id: str, legacy: list[dict[str, Any]], events: list[dict[str, Any]]) -> int:
    """Every legacy text, tool call and tool result is in the events written for it."""
    messages = [e["message"] for e in events[1:]]
    if len(messages) != len(legacy):
        raise Failed(f"{session_id}: {len(legacy)} legacy messages, {len(messages)} events")
    checked = 0
    for n, (old, new) in enumerate(zip(legacy, messages, strict=True)):
        where = f"{session_id} message {n}"
        content = old.get("content")
        if isinstance(content, str) and content and content not in _texts(new):
            raise Failed(f"{where}: the text {content[:60]!r} did not arrive")
        role = old.get("role")
        if role == "assistant":
            calls = [b for b in new["content"] if b.get("type") == "toolCall"]
            old_calls = old.get("tool_calls") or []
            if len(old_calls) != len(calls):
                raise Failed(f"{where}: {len(old_calls)} tool calls, {len(calls)} arrived")
            for old_call, new_call in zip(old_calls, calls, strict=True):
                function = old_call["function"]
                if new_call["id"] != old_call["id"] or new_call["name"] != function["name"]:
                    raise Failed(f"{where}: tool call {old_call['id']} did not arrive")
                arguments = new_call["arguments"]
                if isinstance(arguments, str):
                    if arguments != function["arguments"]:
                        raise Failed(f"{where}: the arguments of {old_call['id']} changed")
                elif js(arguments) != js(_loads_strict(function["arguments"])):
                    raise Failed(f"{where}: the arguments of {old_call['id']} changed")
                checked += 1
            if len(calls) != len(old.get("tool_calls") or []):
                raise Failed(f"{where}: {len(old.get('tool_calls') or [])} tool calls, {len(calls)} arrived")
        elif role in ("tool", "function"):
            if new["role"] != "toolResult" or new["toolCallId"] != (old.get("tool_call_id") or ""):
                raise Failed(f"{where}: the tool result for {old.get('tool_call_id')} did not arrive")
            checked += 1
        elif role not in ("user",) and new.get("details", {}).get("role") != role:
            raise Failed(f"{where}: the {role} message did not arrive as one")
        checked += 1
    return checked


def check(migrated: Migrated, openclaw: str, node_dir: str, home: str, state: str,
          agent_id: str = "main") -> dict[str, Any]:
    """Dry run, import, list; compare.  Returns the figures (raises Failed on a difference)."""
    keys = migrated.entries
    events = {sid: [_loads_strict(line) for line in data.decode("utf-8").splitlines()]
              for sid, data in migrated.transcripts.items()}
    by_key_events = sum(len(events[e["sessionId"]]) for e in keys.values())
    sessions_with_keys = {e["sessionId"] for e in keys.values()}

    # another agent than the default one is named (it need not be configured for the import)
    agent = () if agent_id == "main" else ("--session-sqlite-agent", agent_id)
    dry = run_openclaw(openclaw, node_dir, home, state, "doctor", "--session-sqlite", "dry-run", *agent,
                       "--json")
    totals = dry["totals"]
    want = {"issues": 0, "legacyEntries": len(keys), "validatedEntries": len(keys),
            "validatedTranscriptEvents": by_key_events}
    wrong = {k: (totals.get(k), v) for k, v in want.items() if totals.get(k) != v}
    if wrong:
        issues = [i for t in dry["targets"] for i in t.get("issues", [])]
        raise Failed(f"dry run: (got, wanted) {wrong}; issues {issues[:10]}")

    imported = run_openclaw(openclaw, node_dir, home, state, "doctor", "--session-sqlite", "import", *agent,
                            "--json")
    totals = imported["totals"]
    want = {"issues": 0, "legacyEntries": len(keys), "importedEntries": len(keys),
            "importedTranscriptEvents": sum(len(events[s]) for s in sessions_with_keys),
            "sqliteEntries": len(keys)}
    wrong = {k: (totals.get(k), v) for k, v in want.items() if totals.get(k) != v}
    if wrong:
        issues = [i for t in imported["targets"] for i in t.get("issues", [])]
        raise Failed(f"import: (got, wanted) {wrong}; issues {issues[:10]}")

    database = openclaw_layout(state, agent_id).database
    db = sqlite3.connect(f"{Path(database).as_uri()}?mode=ro", uri=True)
    try:
        nodes = dict(db.execute("SELECT session_key, current_session_id FROM session_nodes "
                                "WHERE entry_valid = 1"))
        if nodes != {k: e["sessionId"] for k, e in keys.items()}:
            raise Failed(f"session_nodes holds {nodes}, not the migrated keys")
        stored: dict[str, list[Any]] = {}
        for sid, text in db.execute("SELECT session_id, event_json FROM transcript_events "
                                    "ORDER BY session_id, seq"):
            stored.setdefault(sid, []).append(json.loads(text))
        index = {row[0]: row[1:] for row in db.execute(
            "SELECT session_id, active_event_count, active_message_count "
            "FROM session_transcript_index_state")}
        fts = Counter(row[0] for row in db.execute("SELECT session_id FROM session_transcript_fts"))
    finally:
        db.close()
    checked = 0
    for sid in sessions_with_keys:
        mine, theirs = events[sid], stored.get(sid, [])
        if len(mine) != len(theirs):
            raise Failed(f"{sid}: {len(mine)} events written, {len(theirs)} in transcript_events")
        for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            if js(a) != js(b):
                raise Failed(f"{sid} event {n} differs in OpenClaw:\n  ours   {a}\n  theirs {b}")
        if index.get(sid, (None,))[0] != len(mine) - 1:
            raise Failed(f"{sid}: active_event_count {index.get(sid)}, wanted {len(mine) - 1}")
        searchable = sum(1 for e in mine[1:] if e["message"]["role"] in ("user", "assistant")
                         and any(t.strip() for t in _texts(e["message"])))
        if fts.get(sid, 0) != searchable:
            raise Failed(f"{sid}: {fts.get(sid, 0)} messages indexed for search, wanted {searchable}")
        checked += check_legacy(sid, migrated.legacy[sid], mine)

    if agent_id != "main":  # `openclaw sessions --agent ID` lists configured agents only
        return {"entries": len(keys), "sessions": len(sessions_with_keys),
                "events": sum(len(events[s]) for s in sessions_with_keys),
                "checked_items": checked, "indexed_for_search": sum(fts.values())}
    listed = run_openclaw(openclaw, node_dir, home, state, "sessions", "--json")
    rows = {s["key"]: s for s in listed["sessions"]}
    for key, entry in keys.items():
        row = rows.get(key)
        if row is None or row.get("sessionId") != entry["sessionId"]:
            raise Failed(f"`openclaw sessions --json` does not list {key!r} for {entry['sessionId']}")
        for name in ("label", "thinkingLevel", "updatedAt", "sessionStartedAt"):
            if name in entry and js(row.get(name)) != js(entry[name]):
                raise Failed(f"{key}: {name} is {row.get(name)!r} in OpenClaw, {entry[name]!r} migrated")
    return {"entries": len(keys), "sessions": len(sessions_with_keys),
            "events": sum(len(events[s]) for s in sessions_with_keys),
            "checked_items": checked, "indexed_for_search": sum(fts.values())}
