"""A legacy workspace with every kind of message and metadata the OpenClaw target maps.

Written the way the old Python agent wrote its files (``migrate_tui.demo``), so the
migration reads it as it would read a real one.  Used by ``make interop`` and by the
tests under tests/openclaw/.

    python scripts/interop/every_kind.py DIR
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from migrate_tui.demo import write_legacy_session, write_session_map

BIG = 18446744073709551617  # 2**64 + 1: no JavaScript number holds it
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000b4944415478da636000020000050001e9fadcd80000000049454e44ae426082")).decode()
GIF = base64.b64encode(bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")).decode()
JPEG_URL = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0fake-jpeg").decode()

KINDS_ID = "7f0c2f4e-9a51-4d7b-8f43-3c1e2a9b6d10"
EMPTY_ID = "0d9e51b2-55aa-4c43-9a0e-8b7f6f2c1a77"
DOTTED_ID = "legacy.notes-2024"
LONG_ID = "3b8a1c62-0f4d-4e59-b1a7-92c6d5e4f308"
SURROGATE_ID = "5a4c3e2b-1d0f-4a9b-8c7d-6e5f4a3b2c1d"


def _t(second: int, micro: int = 123456) -> str:
    """A naive UTC time, as datetime.utcnow().isoformat() wrote it."""
    return f"2026-02-11T10:{second // 60:02d}:{second % 60:02d}.{micro:06d}"


def _call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def kinds_messages() -> list[dict[str, Any]]:
    """One conversation holding every kind of message the old agent wrote, and odd ones."""
    return [
        {"role": "system", "content": "You are a helpful assistant. Be brief.", "timestamp": _t(0)},
        {"role": "user",
         "content": "Salut ! Café ☕, naïve résumé, 東京, 🎉 — \"quotes\" \\ back\\slash\n\ttab",
         "timestamp": _t(1)},
        {"role": "assistant", "content": "Bien sûr ! 喜んで 😊", "timestamp": _t(2, 0)},
        {"role": "user", "content": "Weather in Paris, and my calendar?", "timestamp": _t(3),
         "name": "alice"},
        {"role": "assistant", "content": "", "timestamp": _t(4), "tool_calls": [
            _call("call_weather_1", "weather",
                  json.dumps({"lat": 48.8566, "lon": 2.3522, "units": "metric",
                              "ratio": 0.30000000000000004})),
            _call("call_cal_2", "calendar_list",
                  '{"date": "2026-03-01", "limit": 1E2, "note": "caf\\u00e9"}'),
        ]},
        {"role": "tool", "content": '{"temp_c": 7.5, "summary": "light rain"}', "timestamp": _t(5),
         "tool_call_id": "call_weather_1", "name": "weather"},
        {"role": "tool", "content": "[{\"title\": \"Stand-up\", \"start\": \"09:30\"}]", "timestamp": _t(6),
         "tool_call_id": "call_cal_2"},  # no name: taken from the call
        {"role": "assistant", "content": "7.5 °C and light rain; stand-up at 9:30.", "timestamp": _t(7)},
        {"role": "user", "content": "What is in these pictures?", "timestamp": _t(8),
         "images": [PNG, GIF, JPEG_URL, "not-an-image"]},
        {"role": "assistant", "content": "Two single pixels and a broken JPEG.", "timestamp": _t(9),
         "images": [PNG]},  # an assistant's image has no place
        {"role": "assistant", "content": None, "timestamp": _t(10), "tool_calls": [
            _call("call_raw_3", "exec", "ls -la /tmp"),  # not JSON: kept as text
            _call("call_big_4", "lookup", f'{{"chat_id": {BIG}, "n": 1}}'),  # kept as text
            _call("call_nan_5", "stats", '{"mean": NaN}'),  # Python json accepted NaN
            _call("call_list_6", "multi", "[1, 2, 3]"),  # JSON, not an object
        ]},
        {"role": "tool", "content": "total 0", "timestamp": _t(11), "tool_call_id": "call_raw_3",
         "name": "exec"},
        {"role": "tool", "content": "", "timestamp": _t(12), "tool_call_id": "call_big_4",
         "name": "lookup"},
        {"role": "tool", "content": "mean: NaN", "timestamp": _t(13), "tool_call_id": "call_nan_5",
         "name": "stats"},
        {"role": "tool", "content": "done", "timestamp": _t(14), "tool_call_id": "call_list_6",
         "name": "multi", "images": [GIF]},
        {"role": "function", "content": "legacy function result", "timestamp": _t(15), "name": "old_fn"},
        {"role": "developer", "content": "Developer note: prefer metric units.", "timestamp": _t(16)},
        {"role": "user", "content": "", "timestamp": _t(17)},  # empty content
        {"role": "user", "content": "odd fields", "timestamp": _t(18),
         "reasoning": "kept in the backup", "meta": {"n": BIG, "f": 1.5}, "empty": None},
        {"role": "user", "content": "offset time", "timestamp": "2026-02-11T12:19:00.5+02:00"},
        {"role": "assistant", "content": "Z time", "timestamp": "2026-02-11T10:20:00Z"},
        {"role": "user", "content": "no time at all"},
        {"role": "user", "content": "bad time", "timestamp": "yesterday"},
        {"role": "assistant", "content": "The end.", "timestamp": _t(23)},
    ]


def kinds_metadata() -> dict[str, Any]:
    return {
        "label": "Every kind", "display_name": "Every kind — 東京", "thinking_level": "high",
        "verbose_level": "on", "reasoning_level": "stream", "elevated_level": "off",
        "channel": "telegram", "chat_type": "direct", "model_provider": "anthropic",
        "model": "claude-sonnet-4", "input_tokens": BIG, "output_tokens": 5120, "total_tokens": 48213,
        "context_tokens": 200000, "compaction_count": 2, "system_sent": True, "aborted_last_run": False,
        "queue_mode": "collect", "queue_debounce_ms": 1500, "queue_cap": 20, "queue_drop": "old",
        "send_policy": "allow", "group_activation": "mention", "response_usage": "tokens",
        "origin": {"provider": "telegram", "chat_type": "direct", "account_id": "default",
                   "thread_id": 42, "label": "Alice"},
        "delivery_context": {"channel": "telegram", "to": "12345", "account_id": "default"},
        "cli_session_ids": {"claude-cli": "c-1", "codex_cli": "x-2"},
        "last_channel": "telegram", "last_to": "12345",
        "ui_color": "teal", "cost_usd": 0.30000000000000004,  # no SessionEntry fields: not carried
    }


def write_every_kind(root: str | Path, agent_id: str = "main") -> dict[str, str]:
    """Write the workspace under ``root/.sessions/``; returns its session_map."""
    folder = Path(root) / ".sessions"
    a = f"agent:{agent_id}"
    write_legacy_session(folder, KINDS_ID, kinds_messages(), kinds_metadata(),
                         "2026-02-11T09:59:59.000001+00:00", "2026-02-11T10:30:00.5+00:00")
    write_legacy_session(folder, EMPTY_ID, [], {"label": "Empty", "thinking_level": "off"},
                         "2026-02-10T08:00:00+00:00", "2026-02-10T08:00:00Z")
    write_legacy_session(folder, DOTTED_ID, [
        {"role": "user", "content": "A session with a free-form id", "timestamp": _t(30)},
        {"role": "assistant", "content": "Noted.", "timestamp": _t(31)},
    ], {"label": "Notes", "display_name": "Old notes"}, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    long_messages = []
    for n in range(120):
        long_messages.append({"role": "user" if n % 2 == 0 else "assistant",
                              "content": f"message {n}: {'é' * (n % 7)}", "timestamp": _t(n, 1000 + n)})
    write_legacy_session(folder, LONG_ID, long_messages, {"label": "Long", "thinking_level": "low"},
                         _t(0) + "+00:00", _t(119) + "+00:00")
    write_legacy_session(folder, SURROGATE_ID, [
        {"role": "user", "content": "a lone surrogate: \ud800 (JSON allowed it)", "timestamp": _t(40)},
        {"role": "assistant", "content": "ok", "timestamp": _t(41)},
    ], {"label": "Surrogate"}, _t(40) + "+00:00", _t(41) + "+00:00")
    session_map = {
        f"{a}:main": KINDS_ID,
        f"{a}:telegram:dm:12345": KINDS_ID,
        f"{a}:cron:empty": EMPTY_ID,
        f"{a}:discord:group:g-long": LONG_ID,
        f"{a}:webchat:dm:surrogate": SURROGATE_ID,
    }  # DOTTED_ID has no key: it gets agent:<id>:legacy.notes-2024
    write_session_map(folder, session_map)
    return session_map


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: every_kind.py DIR")
    write_every_kind(sys.argv[1])
