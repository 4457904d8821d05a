"""A legacy session's messages as an OpenClaw transcript (``<session-id>.jsonl``).

The first line is the session header, then one ``message`` event per legacy message, in
order.  Each event has a stable id (derived from the session id and the message's
position, so a rerun writes the same bytes) and the previous event's id as ``parentId``
(null for the first).  What each legacy message becomes:

* ``user``: text and images as content blocks;
* ``assistant``: text blocks, then one ``toolCall`` block per legacy tool call, its
  ``arguments`` parsed from the legacy JSON string when that gives an object OpenClaw
  reads exactly, otherwise the string itself, as text;
* ``tool`` (and the older ``function``): a ``toolResult`` linked to its call by
  ``toolCallId`` and ``toolName``;
* any other role (``system``, ``developer``...): a ``custom`` message of type
  ``migrate-tui.legacy-message`` that OpenClaw keeps in the history but never sends to a
  model (``excludeFromContext``), with the legacy role in ``details``.

Times: the legacy ``timestamp`` (naive means UTC) becomes the message's epoch
milliseconds and the event's ISO 8601 UTC time, which keeps every fractional digit the
legacy time had.  Every text byte is kept as read (an empty or null ``content`` makes no
block).  What has no place in the format (a user's ``name``, an assistant's images, fields
the old model did not have...) is named in ``not_carried`` and stays in the backup.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.core import jsonio
from migrate_tui.engine.targets.openclaw_numbers import Reading, losses, shown, why
from migrate_tui.engine.targets.openclaw_time import Moment, parse_time

HEADER_VERSION = 3  # keeps our event ids (OpenClaw re-numbers the events of older versions)
LEGACY_MESSAGE_TYPE = "migrate-tui.legacy-message"
API = "openai-completions"  # the shape the legacy messages had (OpenAI chat completions)
UNKNOWN = "unknown"
_ZERO_COST = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": 0}
# The legacy fields (the old pydantic Message: role, content, timestamp, tool_calls,
# tool_call_id, name, images) each kind of OpenClaw message has a place for.
_PLACES = {
    "user": frozenset({"role", "content", "timestamp", "images"}),
    "assistant": frozenset({"role", "content", "timestamp", "tool_calls"}),
    "tool": frozenset({"role", "content", "timestamp", "images", "tool_call_id", "name"}),
    "custom": frozenset({"role", "content", "timestamp", "images", "name"}),
}
_DATA_URL = re.compile(r"data:(image/[A-Za-z0-9.+-]+);base64,(.*)", re.DOTALL)
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass
class ConvertedTranscript:
    events: list[dict[str, Any]]  # the header first, then one event per legacy message
    not_carried: list[str] = field(default_factory=list)  # what stays in the backup only
    notes: list[str] = field(default_factory=list)  # what was done instead, in words

    @property
    def message_count(self) -> int:
        return len(self.events) - 1


# ---------------------------------------------------------------- ids


def event_id(session_id: str, position: int, length: int = 16) -> str:
    """The stable id of the event for the message at ``position`` (0-based)."""
    digest = hashlib.sha256(f"{session_id}\0{position}".encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:length]


# ---------------------------------------------------------------- one transcript


class _Gaps:
    """What is not carried, grouped so that a field missing from many messages is one line."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], list[int]] = {}

    def add(self, position: int, what: str, role: str) -> None:
        self.found.setdefault((what, role), []).append(position)

    def lines(self) -> list[str]:
        out = []
        for (what, role), where in self.found.items():
            if len(where) == 1:
                out.append(f"messages[{where[0]}].{what} ({role})")
            else:
                out.append(f"messages[*].{what} ({len(where)} {role} messages, the first "
                           f"messages[{where[0]}])")
        return out


class _Builder:
    def __init__(self, session_id: str, provider: str, model: str) -> None:
        self.session_id = session_id
        self.provider = provider
        self.model = model
        self.gaps = _Gaps()
        self.notes: list[str] = []
        self.calls: dict[str, str] = {}  # tool call id → tool name, for the results
        self.ids: set[str] = {session_id}

    def new_id(self, position: int) -> str:
        length = 16
        candidate = event_id(self.session_id, position, length)
        while candidate in self.ids:  # never in practice; still never two events with one id
            length += 8
            candidate = (event_id(self.session_id, position, length) if length < 64
                         else f"{candidate}-{position}")
        self.ids.add(candidate)
        return candidate

    # ------------------------------------------------------------ content

    def text_blocks(self, n: int, role: str, content: Any, images_allowed: bool) -> list[dict[str, Any]]:
        if content is None or content == "":
            return []
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        if not isinstance(content, list):
            self.gaps.add(n, f"content (as {jsonio.kind_of(content)})", role)
            return []
        blocks: list[dict[str, Any]] = []
        for k, part in enumerate(content):
            if isinstance(part, str):
                if part:
                    blocks.append({"type": "text", "text": part})
                continue
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                if part["text"]:
                    blocks.append({"type": "text", "text": part["text"]})
                for extra in part:
                    if extra not in ("type", "text") and part[extra] is not None:
                        self.gaps.add(n, f"content[{k}].{extra}", role)
                continue
            is_image = isinstance(part, dict) and part.get("type") == "image_url"
            url = part.get("image_url") if is_image else None
            url = url.get("url") if isinstance(url, dict) else url
            image = image_block(url) if images_allowed and isinstance(url, str) else None
            if image is not None:
                blocks.append(image)
            else:
                self.gaps.add(n, f"content[{k}]", role)
        return blocks

    def image_blocks(self, n: int, role: str, images: Any) -> list[dict[str, Any]]:
        if images is None:
            return []
        if not isinstance(images, list):
            self.gaps.add(n, f"images (as {jsonio.kind_of(images)})", role)
            return []
        blocks = []
        for k, value in enumerate(images):
            block = image_block(value)
            if block is None:
                self.gaps.add(n, f"images[{k}]", role)
                self.notes.append(f"messages[{n}].images[{k}]: not a base64 image OpenClaw can "
                                  "show (PNG, JPEG, GIF, WebP, or a data: URL)")
            else:
                blocks.append(block)
        return blocks

    # ------------------------------------------------------------ tool calls

    def tool_call_blocks(self, n: int, event: str, calls: Any) -> list[dict[str, Any]]:
        if calls is None:
            return []
        if not isinstance(calls, list):
            self.gaps.add(n, f"tool_calls (as {jsonio.kind_of(calls)})", "assistant")
            return []
        blocks = []
        for k, call in enumerate(calls):
            where = f"messages[{n}].tool_calls[{k}]"
            if not isinstance(call, dict):
                self.gaps.add(n, f"tool_calls[{k}]", "assistant")
                continue
            function = call.get("function")
            source = function if isinstance(function, dict) else call
            places = ("id", "type", "function") if source is function else ("id", "type", "name", "arguments")
            for extra in call:
                if extra not in places and call[extra] is not None:
                    self.gaps.add(n, f"tool_calls[].{extra}", "assistant")
            if isinstance(function, dict):
                for extra in function:
                    if extra not in ("name", "arguments") and function[extra] is not None:
                        self.gaps.add(n, f"tool_calls[].function.{extra}", "assistant")
            call_id = call.get("id")
            if not isinstance(call_id, str) or not call_id:
                call_id = f"{event}-call-{k}"
                self.notes.append(f"{where} has no id: it gets {call_id!r}")
            name = source.get("name")
            if not isinstance(name, str) or not name:
                name = UNKNOWN
                self.notes.append(f"{where} has no function name: it is called {UNKNOWN!r}")
            arguments = self.arguments(where, source.get("arguments"))
            self.calls.setdefault(call_id, name)
            blocks.append({"type": "toolCall", "id": call_id, "name": name, "arguments": arguments})
        return blocks

    def arguments(self, where: str, raw: Any) -> Any:
        """An object OpenClaw reads exactly, or the legacy text itself."""
        if raw is None:
            return {}
        if isinstance(raw, str):
            try:
                parsed = jsonio.loads(raw)
            except (ValueError, RecursionError):
                if raw.strip():
                    self.notes.append(f"{where}: the arguments are not JSON; they are kept as text")
                return raw
            if not isinstance(parsed, dict):
                self.notes.append(f"{where}: the arguments are {jsonio.kind_of(parsed)}, not "
                                  "an object; they are kept as text")
                return raw
            lost = next(losses(parsed, "arguments"), None)
            if lost is not None:
                path, found, number = lost
                self.notes.append(f"{where}: {path} = {shown(number)}: {why(found)}; the "
                                  "arguments are kept as text")
                return raw
            return parsed
        lost = next(losses(raw, "arguments"), None)
        if isinstance(raw, dict) and lost is None:
            return raw
        text = jsonio.LineEncoder(fast=False).line(raw).decode("utf-8").rstrip("\n")
        self.notes.append(f"{where}: the arguments are {jsonio.kind_of(raw)}"
                          f"{' with a number OpenClaw cannot read exactly' if lost else ''}; "
                          "they are kept as their JSON text")
        return text

    # ------------------------------------------------------------ messages

    def message(self, n: int, event: str, m: dict[str, Any], ms: int) -> dict[str, Any]:
        role = m.get("role")
        kind = role if role in ("user", "assistant") else "tool" if role in ("tool", "function") else "custom"
        shown_role = role if isinstance(role, str) else jsonio.kind_of(role)
        places = _PLACES[kind]
        for key, value in m.items():
            if value is not None and key not in places:
                self.gaps.add(n, key, shown_role)
        content = m.get("content")
        if kind == "user":
            blocks = self.text_blocks(n, shown_role, content, True)
            blocks += self.image_blocks(n, shown_role, m.get("images"))
            return {"role": "user", "content": blocks, "timestamp": ms}
        if kind == "assistant":
            blocks = self.text_blocks(n, shown_role, content, False)
            calls = self.tool_call_blocks(n, event, m.get("tool_calls"))
            return {"role": "assistant", "content": blocks + calls, "api": API,
                    "provider": self.provider, "model": self.model,
                    "usage": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                              "totalTokens": 0, "cost": dict(_ZERO_COST)},
                    "stopReason": "toolUse" if calls else "stop", "timestamp": ms}
        if kind == "tool":
            blocks = self.text_blocks(n, shown_role, content, True)
            blocks += self.image_blocks(n, shown_role, m.get("images"))
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str):
                if call_id is not None:
                    self.gaps.add(n, f"tool_call_id (as {jsonio.kind_of(call_id)})", shown_role)
                call_id = ""
                self.notes.append(f"messages[{n}] is a tool result with no tool_call_id: it is "
                                  "linked to no call")
            name = m.get("name")
            if not isinstance(name, str) or not name:
                if name is not None:
                    self.gaps.add(n, f"name (as {jsonio.kind_of(name)})", shown_role)
                name = self.calls.get(call_id, UNKNOWN)
                self.notes.append(f"messages[{n}] is a tool result with no tool name: "
                                  f"{name!r} is used" + (" (from its call)" if name != UNKNOWN else ""))
            return {"role": "toolResult", "toolCallId": call_id, "toolName": name,
                    "content": blocks, "isError": False, "timestamp": ms}
        blocks = self.text_blocks(n, shown_role, content, True)
        blocks += self.image_blocks(n, shown_role, m.get("images"))
        details: dict[str, Any] = {"role": role}
        if m.get("name") is not None:
            details["name"] = m["name"]
        return {"role": "custom", "customType": LEGACY_MESSAGE_TYPE, "content": blocks,
                "display": False, "excludeFromContext": True, "details": details, "timestamp": ms}


def convert_transcript(
    session_id: str,
    messages: Sequence[Any],
    *,
    created_at: Any = None,
    updated_at: Any = None,
    provider: Any = None,
    model: Any = None,
    cwd: str = "",
) -> ConvertedTranscript:
    """The OpenClaw transcript of one legacy session.

    ``messages``: the legacy messages as read (``read_legacy``: objects with a ``role``);
    ``created_at``/``updated_at``: the legacy values; ``provider``/``model``: the session's
    ``model_provider``/``model`` metadata, recorded on the assistant messages (OpenClaw
    requires both; "unknown" when the legacy session does not say)."""
    builder = _Builder(session_id, provider if isinstance(provider, str) and provider else UNKNOWN,
                       model if isinstance(model, str) and model else UNKNOWN)
    times = [parse_time(m.get("timestamp")) if isinstance(m, dict) else None for m in messages]
    start = parse_time(created_at) or next((t for t in times if t is not None), None) \
        or parse_time(updated_at)
    header = {"type": "session", "version": HEADER_VERSION, "id": session_id,
              "timestamp": start.iso if start is not None else "", "cwd": cwd}
    events: list[dict[str, Any]] = [header]
    previous: str | None = None
    last = start or Moment(0, "1970-01-01T00:00:00.000Z")
    for n, (m, moment) in enumerate(zip(messages, times, strict=True)):
        if not isinstance(m, dict):
            raise ValueError(f"message {n + 1} is {jsonio.kind_of(m)}, not an object")
        if moment is None:
            raw = m.get("timestamp")
            if raw is not None:
                builder.gaps.add(n, "timestamp (not a date)", str(m.get("role")))
            builder.notes.append(f"messages[{n}] has no usable timestamp: it gets "
                                 f"{last.iso} (the time before it)")
            moment = last
        last = moment
        ident = builder.new_id(n)
        events.append({"type": "message", "id": ident, "parentId": previous,
                       "timestamp": moment.iso, "message": builder.message(n, ident, m, moment.ms)})
        previous = ident
    return ConvertedTranscript(events, builder.gaps.lines(), builder.notes)


_encoder = jsonio.LineEncoder()


def transcript_bytes(converted: ConvertedTranscript) -> bytes:
    """The ``.jsonl`` file: one compact UTF-8 JSON object per line."""
    return _encoder.lines(converted.events)


def image_block(value: Any) -> dict[str, Any] | None:
    """An OpenClaw image block for a legacy image (base64, or a ``data:`` URL), keeping its
    text exactly; None when it is not an image OpenClaw can show."""
    if not isinstance(value, str):
        return None
    match = _DATA_URL.fullmatch(value)
    if match is not None:
        return {"type": "image", "data": match.group(2), "mimeType": match.group(1)}
    try:
        head = base64.b64decode(value[:64], validate=True) if len(value) >= 8 else b""
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return {"type": "image", "data": value, "mimeType": mime}
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return {"type": "image", "data": value, "mimeType": "image/webp"}
    return None


def not_json(events: list[dict[str, Any]]) -> list[str]:
    """Paths of NaN/Infinity in ``events`` (there must be none: OpenClaw would refuse the
    line).  A check for tests and for the writer."""
    return [path for path, found, _ in losses(events, "events") if found is Reading.NOT_JSON]
