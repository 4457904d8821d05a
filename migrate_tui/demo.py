"""A demo workspace in the LEGACY layout, written exactly as the old Python agent wrote it.

Tests, ``make run`` and the benchmarks use it::

    python -m migrate_tui.demo DIR [--sessions N] [--damaged] [--seed S] [--force]

The old session manager kept one file per session, ``.sessions/<session_id>.json``, made
from a pydantic ``model_dump()`` and written in place with
``json.dump(obj, f, indent=2, default=str)``; ``session_map.json`` maps session keys to
session ids.  Everything here is deterministic for a given seed: the ids come from
``random.Random(seed)``, times from a fixed base, and every file's mtime is set to its
session's ``updated_at``.

Standard library only (this module must not import Textual).
"""

from __future__ import annotations

import argparse
import base64
import codecs
import json
import os
import random
import shutil
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

UTC = UTC

# The fixed "now" the demo is generated against, unless the caller passes one.
BASE_NOW = datetime(2026, 2, 28, 18, 0, 0, tzinfo=UTC)

# The fields of the old pydantic Message model, in declaration order (model_dump order).
MESSAGE_FIELDS = ("role", "content", "timestamp", "tool_calls", "tool_call_id", "name", "images")

# A metadata value no 64-bit integer can hold, and a float whose repr is easy to break.
BIG_INT = 18446744073709551617  # 2**64 + 1
TRICKY_FLOAT = 0.30000000000000004

KEYLESS_ID = "legacy-notes"

# Damaged kinds, named after the problem codes the scanner reports.
DAMAGED_KINDS = ("invalid_json", "not_utf8", "bad_messages", "id_mismatch", "bad_updated_at", "bom")

# A 1x1 transparent PNG and a 1x1 white GIF: small, real images.
_TINY_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000b4944415478da636000020000050001e9fadcd80000000049454e44ae426082"
)).decode("ascii")
_TINY_GIF = base64.b64encode(bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"
)).decode("ascii")


@dataclass
class DemoInfo:
    """What :func:`generate_workspace` wrote."""

    root: Path
    sessions_dir: Path
    session_ids: list[str]  # the good sessions (no problem, no warning), in writing order
    damaged: dict[str, str] = field(default_factory=dict)  # kind -> file name
    session_map: dict[str, str] = field(default_factory=dict)  # as written to session_map.json
    dangling_key: str | None = None  # a session_map key whose session has no file
    keyless_id: str | None = None  # a session no session_map key points to ("legacy-notes")
    truncated_messages: int = 0  # complete messages before the damage in the truncated file


# ---------------------------------------------------------------- writing one file


def _iso(value: str | datetime) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_model_dump(message: Any) -> Any:
    """A message as ``Message.model_dump()`` gave it: every field present, ``None`` when
    unused, in declaration order, extra keys after.  Items that are not messages (no
    ``role``, not a dict) are written as given, so tests can craft damaged files."""
    if not isinstance(message, dict) or "role" not in message:
        return message
    dumped = {name: message.get(name) for name in MESSAGE_FIELDS}
    dumped.update((k, v) for k, v in message.items() if k not in dumped)
    return dumped


def _legacy_object(
    session_id: str,
    messages: Sequence[Any],
    metadata: dict[str, Any],
    created_at: str | datetime,
    updated_at: str | datetime,
) -> dict[str, Any]:
    """The dict ``Session.model_dump()`` gave, keys in field order."""
    return {
        "session_id": session_id,
        "messages": [_as_model_dump(m) for m in messages],
        "metadata": metadata,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
    }


def legacy_session_text(
    session_id: str,
    messages: Sequence[Any],
    metadata: dict[str, Any],
    created_at: str | datetime,
    updated_at: str | datetime,
) -> str:
    """The exact text the old writer produced for one session (what
    :func:`write_legacy_session` writes), for tests that damage it on purpose."""
    obj = _legacy_object(session_id, messages, metadata, created_at, updated_at)
    return json.dumps(obj, indent=2, default=str)


def _set_mtime(path: Path, *candidates: str | datetime) -> None:
    """Set ``path``'s mtime to the first candidate time that parses."""
    for candidate in candidates:
        when = candidate if isinstance(candidate, datetime) else _parse_time(candidate)
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            stamp = when.timestamp()
            os.utime(path, (stamp, stamp))
            return


def write_legacy_session(
    sessions_dir: str | os.PathLike[str],
    session_id: str,
    messages: Sequence[Any],
    metadata: dict[str, Any],
    created_at: str | datetime,
    updated_at: str | datetime,
    file_name: str | None = None,
) -> Path:
    """Write one legacy session file exactly as the old writer did and return its path.

    The file is ``<session_id>.json`` unless ``file_name`` is given.  Its mtime is set to
    ``updated_at`` (or ``created_at`` when ``updated_at`` does not parse)."""
    folder = Path(sessions_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (file_name or f"{session_id}.json")
    obj = _legacy_object(session_id, messages, metadata, created_at, updated_at)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, default=str)
    _set_mtime(path, updated_at, created_at)
    return path


def write_session_map(sessions_dir: str | os.PathLike[str], session_map: dict[str, str]) -> Path:
    """Write ``session_map.json`` as the old session manager did."""
    path = Path(sessions_dir) / "session_map.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(session_map, f, indent=2)
    return path


# ---------------------------------------------------------------- conversations

_USER_LINES = (
    "Can you summarise the thread from this morning?",
    "What's on my calendar tomorrow?",
    "Remind me to call the dentist on Friday at 10.",
    "Draft a short reply saying I'll be late.",
    "How long would it take to drive to the airport right now?",
    "Write a haiku about the first snow.",
    "Explain the difference between a mutex and a semaphore.",
    "Find the cheapest flight to Lisbon next month.",
    "Translate 'see you soon' into Japanese.",
    "What did we decide about the budget last week?",
    "Ça marche, merci ! On se voit à la réunion de 14h.",
    "明日の天気はどうですか？",  # noqa: RUF001  Japanese text ends with the full-width mark
    "Ship it 🚀 and let the team know 🎉",
)
_ASSISTANT_LINES = (
    "Here's a short summary: the release slipped a day, QA found two regressions, and "
    "Dana is on call tonight.",
    "You have two meetings tomorrow: stand-up at 9:30 and the design review at 15:00.",
    "Done. I'll remind you on Friday at 10:00.",
    "Sure: \"Running about fifteen minutes late, start without me.\"",
    "About 35 minutes with current traffic; leave by 17:10 to be safe.",
    "Soft first snow falls / the city forgets its noise / footprints start again",
    "A mutex has one owner who must release it; a semaphore counts permits and anyone "
    "may signal it.",
    "The cheapest I found is 89 € one way on the 14th, departing 06:40.",
    "「またね」 (mata ne) is the casual way; 「また近いうちに」 is a little more polite.",
    "You agreed to cap the budget at 12 000 € and revisit it in March.",
    "Très bien, c'est noté — à tout à l'heure !",
    "明日は晴れ、最高気温は12度の予報です ☀️",
    "Deployed ✅ and posted in #releases 🎉",
)
# (question, tool name, arguments, tool result, answer)
_TOOL_CALLS = (
    ("Find the cheapest flight to Lisbon next month.", "web_search",
     {"query": "Lisbon flights March", "max_results": 5},
     '{"results": [{"title": "LIS from 89 EUR", "url": "https://example.com/lis"}]}',
     "The cheapest I found is 89 € one way, departing 06:40."),
    ("What's on my calendar tomorrow?", "calendar_list",
     {"date": "2026-03-01", "include_declined": False},
     '[{"title": "Stand-up", "start": "09:30"}, {"title": "Design review", "start": "15:00"}]',
     "Stand-up at 9:30 and the design review at 15:00."),
    ("Do I need an umbrella in Paris today?", "weather",
     {"lat": 48.8566, "lon": 2.3522, "units": "metric"},
     '{"temp_c": 7.5, "summary": "light rain"}',
     "Yes: 7.5 °C and light rain this afternoon ☔"),
    ("What were the last three commits?", "exec",
     {"command": "git log --oneline -3", "timeout_s": 30},
     "a1b2c3d fix flaky test\n9f8e7d6 bump deps\n0badf00 release 1.4.2",
     "A flaky-test fix, a dependency bump, and the 1.4.2 release."),
    ("What's left on my todo list?", "read_file",
     {"path": "notes/todo.md", "offset": 0, "limit": 4096},
     "- call dentist\n- renew passport\n- café with Léa",
     "Three things: call the dentist, renew your passport, and coffee with Léa."),
)
_SYSTEM_LINES = (
    "You are a helpful personal assistant. Be brief.",
    "You are running a scheduled job. Report results concisely.",
    "You are a research sub-agent. Return findings to the parent session.",
)


class _Conversation:
    """Builds messages with naive-UTC ``isoformat()`` timestamps, as ``utcnow()`` gave."""

    def __init__(self, rng: random.Random, start: datetime, speaker: str | None = None):
        self.rng = rng
        self.clock = start.astimezone(UTC).replace(tzinfo=None)
        self.messages: list[dict[str, Any]] = []
        self.speaker = speaker  # the user's name in group chats

    def _tick(self, low: int = 2, high: int = 600) -> str:
        self.clock += timedelta(seconds=self.rng.randint(low, high),
                                microseconds=self.rng.randint(1, 999_999))
        return self.clock.isoformat()

    def add(self, role: str, content: str, **fields: Any) -> None:
        message = {"role": role, "content": content, "timestamp": self._tick()}
        message.update(fields)
        self.messages.append(_as_model_dump(message))

    def system(self, text: str) -> None:
        self.add("system", text)

    def user(self, text: str | None = None, **fields: Any) -> None:
        if self.speaker and "name" not in fields:
            fields["name"] = self.speaker
        self.add("user", text or self.rng.choice(_USER_LINES), **fields)

    def assistant(self, text: str | None = None) -> None:
        self.add("assistant", text or self.rng.choice(_ASSISTANT_LINES))

    def chat_turn(self) -> None:
        pick = self.rng.randrange(len(_USER_LINES))
        self.user(_USER_LINES[pick])
        self.assistant(_ASSISTANT_LINES[pick])

    def tool_turn(self, which: int | None = None) -> None:
        """A question, an assistant tool call, the tool's result, the answer."""
        if which is None:
            which = self.rng.randrange(len(_TOOL_CALLS))
        question, name, arguments, result, answer = _TOOL_CALLS[which]
        call_id = "call_" + "".join(self.rng.choice("0123456789abcdef") for _ in range(24))
        self.user(question)
        self.add("assistant", self.rng.choice(("", "Let me check.")), tool_calls=[
            {"id": call_id, "type": "function",
             "function": {"name": name, "arguments": json.dumps(arguments)}},
        ])
        self.add("tool", result, tool_call_id=call_id, name=name)
        self.assistant(answer)

    def image_turn(self) -> None:
        images = [_TINY_PNG] if self.rng.random() < 0.5 else [_TINY_PNG, _TINY_GIF]
        self.user("What is in this picture?", images=images)
        self.assistant("A single pixel, mostly transparent. Did the upload get cut off?")

    def fill(self, count: int) -> None:
        """Add whole turns until there are exactly ``count`` messages."""
        while len(self.messages) < count:
            remaining = count - len(self.messages)
            pick = self.rng.random()
            if remaining >= 4 and pick < 0.25:
                self.tool_turn()
            elif remaining >= 2 and pick < 0.32:
                self.image_turn()
            elif remaining >= 2:
                self.chat_turn()
            else:
                self.user()  # the last question, still waiting for its answer


# ---------------------------------------------------------------- the workspace


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stamps(rng: random.Random, conv: _Conversation, start: datetime) -> tuple[str, str]:
    """``created_at`` just before the first message, ``updated_at`` just after the last,
    both aware (``+00:00``) as the old model's ``datetime.now(timezone.utc)`` gave."""
    created = start.astimezone(UTC)
    last = conv.clock.replace(tzinfo=UTC) if conv.messages else created
    updated = last + timedelta(microseconds=rng.randint(20, 900))
    return created.isoformat(), updated.isoformat()


# Keys and metadata for the sessions after the fixed ones (see _session_specs).
_EXTRA_CHANNELS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("slack:channel:c-ops", "slack", "channel", {"group_channel": "#ops", "space": "acme"}),
    ("whatsapp:group:120363040000000001@g.us", "whatsapp", "group", {"subject": "Family"}),
    ("signal:dm:+15550142", "signal", "direct", {}),
    ("telegram:group:-1001234567", "telegram", "group", {"subject": "Book club"}),
    ("imessage:dm:+15550177", "imessage", "direct", {}),
    ("discord:channel:c-910", "discord", "channel", {"group_channel": "#general"}),
    ("webchat:dm:browser-1", "webchat", "direct", {}),
)
_LABELS = ("Groceries", "Trip planning", "Standup notes", "Reading list", "House move",
           "Tax questions", "Recipes", "Job search", "Garden", "Side project")
_THINKING = ("off", "low", "medium", "high")


def _session_specs(count: int, agent_id: str) -> list[dict[str, Any]]:
    """What each good session is: its keys, its metadata, and its peculiarities."""
    a = f"agent:{agent_id}"
    fixed: list[dict[str, Any]] = [
        {"role": "main", "keys": [f"{a}:main", f"{a}:telegram:dm:12345"],
         "metadata": {"label": "Main", "display_name": "Main session", "thinking_level": "high",
                      "channel": "telegram", "chat_type": "direct", "model_provider": "anthropic",
                      "model": "claude-sonnet-4", "input_tokens": BIG_INT, "output_tokens": 5120,
                      "total_tokens": BIG_INT + 5120, "context_tokens": 200000,
                      "ui_color": "teal", "cost_usd": TRICKY_FLOAT}},
        {"role": "keyless", "id": KEYLESS_ID, "keys": [], "z_suffix": True,
         "metadata": {"label": "Notes", "display_name": "Old notes", "thinking_level": "off"}},
        {"role": "group", "keys": [f"{a}:discord:group:g-77"], "speaker": "alice",
         "metadata": {"label": "Weekend plans", "display_name": "discord:g-77",
                      "thinking_level": "low", "channel": "discord", "chat_type": "group",
                      "group_id": "g-77", "subject": "Weekend plans", "pinned": True}},
        {"role": "cron", "keys": [f"{a}:cron:daily"], "system": _SYSTEM_LINES[1],
         "metadata": {"label": "Daily digest", "display_name": "cron:daily",
                      "thinking_level": "low", "model": "claude-haiku-4",
                      "total_tokens": 48213}},
        {"role": "subagent", "keys": [f"{a}:subagent:abc"], "system": _SYSTEM_LINES[2],
         "metadata": {"label": "Research subtask", "display_name": "subagent:abc",
                      "thinking_level": "medium", "spawned_by": f"{a}:main"}},
        {"role": "session_key", "keys": [],
         "metadata": {"label": "Visitor", "display_name": "webchat visitor",
                      "thinking_level": "off", "channel": "webchat", "chat_type": "direct",
                      "session_key": f"{a}:webchat:dm:visitor-9"}},
    ]
    specs = fixed[:count]
    for i in range(len(specs), count):
        n = i - len(fixed)
        if n < len(_EXTRA_CHANNELS):
            suffix, channel, chat_type, extra = _EXTRA_CHANNELS[n]
        else:
            suffix, channel, chat_type, extra = f"telegram:dm:{100000 + n}", "telegram", "direct", {}
        metadata = {"label": _LABELS[n % len(_LABELS)],
                    "display_name": f"{channel}:{suffix.rsplit(':', 1)[1]}",
                    "thinking_level": _THINKING[n % len(_THINKING)]}
        if n % 2 == 0:  # every other one carries more SessionEntry fields
            metadata.update({"channel": channel, "chat_type": chat_type, **extra})
        specs.append({"role": "extra", "keys": [f"{a}:{suffix}"], "metadata": metadata})
    return specs


def _good_session(rng: random.Random, spec: dict[str, Any], now: datetime,
                  messages: tuple[int, int]) -> tuple[str, list[dict[str, Any]], str, str]:
    session_id = spec.get("id") or _uuid4(rng)
    start = now - timedelta(days=rng.uniform(1, 40))
    start = start.replace(microsecond=rng.randint(1, 999_999))
    conv = _Conversation(rng, start, spec.get("speaker"))
    count = rng.randint(*messages)
    if spec["role"] == "main":
        # Every kind of message, whatever ``messages`` says.
        conv.system(_SYSTEM_LINES[0])
        conv.user("Salut ! Peux-tu m'aider ? Café ☕, naïve résumé, 東京, 🎉")
        conv.assistant("Bien sûr ! 喜んで 😊 What do you need?")
        conv.tool_turn(which=2)
        conv.image_turn()
    elif spec.get("system") and count >= 1:
        conv.system(spec["system"])
    conv.fill(count)
    created, updated = _stamps(rng, conv, start)
    if spec.get("z_suffix"):
        created, updated = created.replace("+00:00", "Z"), updated.replace("+00:00", "Z")
    return session_id, conv.messages, created, updated


def _damaged_sessions(rng: random.Random, folder: Path, now: datetime, agent_id: str,
                      session_map: dict[str, str]) -> tuple[dict[str, str], int]:
    """One file per problem kind; returns {kind: file name} and the number of complete
    messages before the cut in the truncated file."""
    a = f"agent:{agent_id}"
    damaged: dict[str, str] = {}

    def conversation(turns: int) -> tuple[_Conversation, datetime]:
        start = (now - timedelta(days=rng.uniform(1, 10))).replace(microsecond=rng.randint(1, 999_999))
        conv = _Conversation(rng, start)
        for _ in range(turns):
            conv.chat_turn()
        return conv, start

    # invalid_json: the writer died mid-write, in the middle of a later message's content.
    sid = _uuid4(rng)
    conv, start = conversation(4)
    created, updated = _stamps(rng, conv, start)
    text = legacy_session_text(sid, conv.messages, {"label": "Crashed", "display_name": "Crashed",
                                                    "thinking_level": "low"}, created, updated)
    complete = 5
    role_at = -1
    for _ in range(complete + 1):
        role_at = text.index('\n      "role": ', role_at + 1)
    cut = text.index('"content": "', role_at) + len('"content": "') + 12
    path = folder / f"{sid}.json"
    path.write_bytes(text[:cut].encode("ascii"))
    _set_mtime(path, updated)
    damaged["invalid_json"] = path.name
    session_map[f"{a}:telegram:group:-1009876543"] = sid

    # not_utf8: a few Latin-1 bytes inside a message's content.
    sid = _uuid4(rng)
    conv, start = conversation(2)
    conv.messages[2]["content"] = "Lunch at the BADBYTES on Tuesday?"
    created, updated = _stamps(rng, conv, start)
    text = legacy_session_text(sid, conv.messages, {"label": "Lunch", "display_name": "Lunch",
                                                    "thinking_level": "off"}, created, updated)
    path = folder / f"{sid}.json"
    path.write_bytes(text.encode("ascii").replace(b"BADBYTES", b"caf\xe9 cr\xe8me"))
    _set_mtime(path, updated)
    damaged["not_utf8"] = path.name

    # bad_messages: one message without "role", one that is a bare string.
    sid = _uuid4(rng)
    conv, start = conversation(2)
    orphan = dict(conv.messages[1])
    del orphan["role"]
    orphan["content"] = "(a reply whose role was lost)"
    messages = [*conv.messages[:2], orphan, "stray text that is not a message", *conv.messages[2:]]
    created, updated = _stamps(rng, conv, start)
    path = write_legacy_session(folder, sid, messages, {"label": "Mixed", "display_name": "Mixed",
                                                        "thinking_level": "low"}, created, updated)
    damaged["bad_messages"] = path.name

    # id_mismatch: the file name says one id, the content another.
    sid, inner = _uuid4(rng), _uuid4(rng)
    conv, start = conversation(2)
    created, updated = _stamps(rng, conv, start)
    path = write_legacy_session(folder, inner, conv.messages,
                                {"label": "Copied", "display_name": "Copied", "thinking_level": "off"},
                                created, updated, file_name=f"{sid}.json")
    damaged["id_mismatch"] = path.name
    session_map[f"{a}:whatsapp:dm:+15550123"] = sid

    # bad_updated_at: a hand-edited time nobody can parse.
    sid = _uuid4(rng)
    conv, start = conversation(1)
    created, _ = _stamps(rng, conv, start)
    path = write_legacy_session(folder, sid, conv.messages,
                                {"label": "Weekly", "display_name": "cron:weekly", "thinking_level": "low"},
                                created, "last tuesday")
    damaged["bad_updated_at"] = path.name
    session_map[f"{a}:cron:weekly"] = sid

    # bom: a good file with a UTF-8 byte-order mark in front (a warning only).
    sid = _uuid4(rng)
    conv, start = conversation(2)
    created, updated = _stamps(rng, conv, start)
    text = legacy_session_text(sid, conv.messages, {"label": "Kiosk", "display_name": "Kiosk",
                                                    "thinking_level": "off"}, created, updated)
    path = folder / f"{sid}.json"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("ascii"))
    _set_mtime(path, updated)
    damaged["bom"] = path.name
    session_map[f"{a}:webchat:dm:kiosk"] = sid

    return damaged, complete


def generate_workspace(
    root: str | os.PathLike[str],
    *,
    sessions: int = 12,
    messages: tuple[int, int] = (2, 40),
    damaged: bool = False,
    seed: int = 0,
    agent_id: str = "main",
    now: datetime | None = None,
) -> DemoInfo:
    """Write a legacy workspace under ``root/.sessions/`` and say what is in it.

    ``sessions`` good sessions are written (the first six have fixed roles: the main
    session with two keys, ``legacy-notes`` with no key, a Discord group, a cron job, a
    sub-agent, and a key-less session with ``metadata.session_key``); each has between
    ``messages[0]`` and ``messages[1]`` messages (the main session at least the ten that
    show every kind of message).  ``session_map.json`` also holds one dangling key.  With
    ``damaged``, one more file per kind in :data:`DAMAGED_KINDS` is written as well."""
    low, high = messages
    if sessions < 0 or low < 0 or high < low:
        raise ValueError("sessions must be >= 0 and messages a (low, high) range with 0 <= low <= high")
    now = BASE_NOW if now is None else (now if now.tzinfo else now.replace(tzinfo=UTC))
    rng = random.Random(seed)
    root_path = Path(root)
    folder = root_path / ".sessions"
    folder.mkdir(parents=True, exist_ok=True)

    info = DemoInfo(root=root_path, sessions_dir=folder, session_ids=[])
    for spec in _session_specs(sessions, agent_id):
        session_id, msgs, created, updated = _good_session(rng, spec, now, (low, high))
        write_legacy_session(folder, session_id, msgs, spec["metadata"], created, updated)
        info.session_ids.append(session_id)
        for key in spec["keys"]:
            info.session_map[key] = session_id
        if spec["role"] == "keyless":
            info.keyless_id = session_id

    info.dangling_key = f"agent:{agent_id}:signal:dm:+15550100"
    info.session_map[info.dangling_key] = _uuid4(rng)  # no file has this id

    if damaged:
        info.damaged, info.truncated_messages = _damaged_sessions(rng, folder, now, agent_id,
                                                                  info.session_map)

    map_path = write_session_map(folder, info.session_map)
    newest = max((p.stat().st_mtime for p in folder.glob("*.json") if p != map_path), default=None)
    _set_mtime(map_path, datetime.fromtimestamp(newest, UTC) if newest is not None else now)
    return info


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m migrate_tui.demo",
        description="Write a demo OpenClaw workspace in the legacy per-session JSON layout.")
    parser.add_argument("dir", metavar="DIR", help="the workspace folder (DIR/.sessions is written)")
    parser.add_argument("--sessions", type=int, default=12, help="good sessions to write (default 12)")
    parser.add_argument("--damaged", action="store_true", help="also write one damaged file per problem kind")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--agent-id", default="main", help="agent id in the session keys (default main)")
    parser.add_argument("--force", action="store_true", help="replace an existing DIR/.sessions")
    args = parser.parse_args(argv)
    if args.sessions < 0:
        parser.error("--sessions must be 0 or more")

    root = Path(args.dir)
    folder = root / ".sessions"
    if root.exists() and not root.is_dir():
        print(f"error: {root} exists and is not a folder.", file=sys.stderr)
        return 2
    if folder.exists() or folder.is_symlink():
        if not args.force:
            print(f"error: {folder} already exists; pass --force to replace it.", file=sys.stderr)
            return 2
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink()
        else:
            shutil.rmtree(folder)

    info = generate_workspace(root, sessions=args.sessions, damaged=args.damaged,
                              seed=args.seed, agent_id=args.agent_id)
    files = len(info.session_ids) + len(info.damaged) + 1
    extra = f", {len(info.damaged)} damaged" if info.damaged else ""
    print(f"Wrote {files} files to {folder} ({len(info.session_ids)} sessions{extra}, session_map.json).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
