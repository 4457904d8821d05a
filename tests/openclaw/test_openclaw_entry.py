"""The OpenClaw entry: camelCase names, times in ms, numbers kept, nothing dropped silently."""

from __future__ import annotations

from pathlib import Path

from migrate_tui.core import jsonio
from migrate_tui.core.entry_fields import SESSION_ENTRY_FIELDS
from migrate_tui.engine import build_plan, scan_workspace
from migrate_tui.engine.targets.openclaw_entry import camel, convert_entry
from scripts.interop.every_kind import BIG, KINDS_ID, kinds_metadata, write_every_kind
from tests.openclaw.openclaw_support import strict_json

# The entry fields OpenClaw's import knows (its own documentation and code, 2026.9.6).
OPENCLAW_FIELDS = {
    "sessionId", "updatedAt", "sessionFile", "sessionStartedAt", "lastInteractionAt", "spawnedBy",
    "systemSent", "abortedLastRun", "chatType", "channel", "groupId", "subject", "groupChannel",
    "space", "thinkingLevel", "verboseLevel", "reasoningLevel", "elevatedLevel", "ttsAuto",
    "providerOverride", "modelOverride", "authProfileOverride", "authProfileOverrideSource",
    "authProfileOverrideCompactionCount", "execHost", "execSecurity", "execAsk", "execNode",
    "responseUsage", "sendPolicy", "groupActivation", "groupActivationNeedsSystemIntro",
    "queueMode", "queueDebounceMs", "queueCap", "queueDrop", "inputTokens", "outputTokens",
    "totalTokens", "modelProvider", "model", "contextTokens", "compactionCount", "memoryFlushAt",
    "memoryFlushCompactionCount", "cliSessionIds", "claudeCliSessionId", "label", "displayName",
    "origin", "deliveryContext", "lastChannel", "lastTo", "lastAccountId", "lastThreadId",
}


def test_camel_case_names() -> None:
    assert camel("thinking_level") == "thinkingLevel"
    assert camel("auth_profile_override_compaction_count") == "authProfileOverrideCompactionCount"
    assert camel("label") == "label"
    for kept in ("accountId", "_private", "a__b", "Foo_bar", "claude-cli", "x_"):
        assert camel(kept) == kept


def test_every_session_entry_field_gets_the_name_openclaw_knows() -> None:
    legacy = {name: f"v-{name}" for name in SESSION_ENTRY_FIELDS}
    converted = convert_entry(legacy, 1_700_000_000_123)
    assert set(converted.entry) <= OPENCLAW_FIELDS
    assert len(converted.entry) == len(SESSION_ENTRY_FIELDS) + 1  # + sessionStartedAt
    assert converted.entry["thinkingLevel"] == "v-thinking_level"
    assert converted.entry["sessionStartedAt"] == 1_700_000_000_123
    assert list(converted.entry)[:4] == ["sessionId", "updatedAt", "sessionFile", "sessionStartedAt"]
    assert not converted.not_carried


def test_no_created_at_no_session_started_at() -> None:
    converted = convert_entry({"session_id": "a", "updated_at": 5, "session_file": "a.jsonl"}, None)
    assert converted.entry == {"sessionId": "a", "updatedAt": 5, "sessionFile": "a.jsonl"}


def test_nested_objects_in_camel_case_map_keys_kept() -> None:
    legacy = jsonio.loads('{"session_id": "a", "updated_at": 1, "origin": {"chat_type": "group", '
                          '"account_id": "x", "nested": [{"thread_id": 4}]}, '
                          '"cli_session_ids": {"claude_cli": "c1", "codex-cli": "c2"}}')
    entry = convert_entry(legacy).entry
    assert entry["origin"] == {"chatType": "group", "accountId": "x", "nested": [{"threadId": 4}]}
    assert entry["cliSessionIds"] == {"claude_cli": "c1", "codex-cli": "c2"}


def test_a_name_collision_is_named_not_dropped_silently() -> None:
    legacy = {"session_id": "a", "updated_at": 1, "origin": {"account_id": "snake", "accountId": "camel"}}
    converted = convert_entry(legacy)
    assert converted.entry["origin"] == {"accountId": "snake"}
    assert converted.not_carried == ["metadata.origin.accountId"]


def test_numbers_written_exactly_nan_not_carried(unlimited_int_digits) -> None:
    text = ('{"session_id": "a", "updated_at": 1, "input_tokens": 18446744073709551617, '
            '"context_tokens": 1E5, "total_tokens": 0.30000000000000004, '
            '"origin": {"score": NaN, "big": -Infinity, "thread_id": 1e400}}')
    converted = convert_entry(jsonio.loads(text))
    out = jsonio.dumps_document(converted.entry).decode()
    assert '"inputTokens": 18446744073709551617' in out
    assert '"contextTokens": 1E5' in out
    assert '"totalTokens": 0.30000000000000004' in out
    assert '"threadId": 1e400' in out
    assert "NaN" not in out and "Infinity" not in out
    strict_json(out)  # OpenClaw's reader accepts the whole file
    assert sorted(converted.not_carried) == ["metadata.origin.big", "metadata.origin.score"]
    assert sorted(converted.rounded) == ["metadata.input_tokens", "metadata.origin.thread_id"]
    assert any("18446744073709551617" in note for note in converted.notes)


def test_entries_of_a_real_workspace(tmp_path: Path) -> None:
    write_every_kind(tmp_path)
    plan = build_plan(scan_workspace(str(tmp_path)))
    ps = next(p for p in plan.sessions if p.final_id == KINDS_ID)
    assert ps.action == "migrate" and ps.entry is not None
    summary = ps.scan.summary_for(ps.decision.fixes)
    converted = convert_entry(ps.entry, summary.created_at_ms)
    entry = strict_json(jsonio.dumps_document(converted.entry))
    meta = kinds_metadata()
    assert entry["sessionId"] == KINDS_ID and entry["sessionFile"] == f"{KINDS_ID}.jsonl"
    assert entry["updatedAt"] == 1770805800500  # 2026-02-11T10:30:00.5+00:00
    assert entry["sessionStartedAt"] == 1770803999000  # 09:59:59.000001, in whole ms
    assert entry["displayName"] == meta["display_name"]
    assert entry["inputTokens"] == BIG
    assert entry["origin"] == {"provider": "telegram", "chatType": "direct", "accountId": "default",
                               "threadId": 42, "label": "Alice"}
    assert entry["deliveryContext"] == {"channel": "telegram", "to": "12345", "accountId": "default"}
    assert entry["cliSessionIds"] == {"claude-cli": "c-1", "codex_cli": "x-2"}
    assert "uiColor" not in entry and "costUsd" not in entry
    assert {"metadata.ui_color", "metadata.cost_usd"} <= set(ps.not_carried)
    assert converted.rounded == ["metadata.input_tokens"]
