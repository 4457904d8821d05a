"""The OpenClaw transcript of real legacy files: every kind of message, losslessly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrate_tui.core import fsio, jsonio
from migrate_tui.demo import generate_workspace, write_legacy_session
from migrate_tui.engine.legacy import read_legacy, to_ms
from migrate_tui.engine.targets.openclaw_transcript import (
    LEGACY_MESSAGE_TYPE,
    convert_transcript,
    event_id,
    image_block,
    not_json,
    parse_time,
    transcript_bytes,
)
from scripts.interop.every_kind import BIG, GIF, JPEG_URL, KINDS_ID, PNG, kinds_messages, write_every_kind
from tests.openclaw.openclaw_support import strict_json


def _read(path: Path) -> Any:
    return read_legacy(fsio.read_bytes(str(path)), str(path))


def _convert(path: Path) -> tuple[Any, list[dict[str, Any]]]:
    content = _read(path)
    converted = convert_transcript(
        content.content_id, content.messages, created_at=content.created_at,
        updated_at=content.updated_at, provider=content.metadata.get("model_provider"),
        model=content.metadata.get("model"))
    lines = transcript_bytes(converted).decode("utf-8").splitlines()
    return converted, [strict_json(line) for line in lines]


@pytest.fixture
def kinds(tmp_path: Path) -> tuple[Any, list[dict[str, Any]]]:
    write_every_kind(tmp_path)
    return _convert(tmp_path / ".sessions" / f"{KINDS_ID}.json")


def _texts(event: dict[str, Any]) -> list[str]:
    return [b["text"] for b in event["message"]["content"] if b["type"] == "text"]


def test_header_then_one_event_per_message_chained(kinds) -> None:
    converted, events = kinds
    header = events[0]
    assert header == {"type": "session", "version": 3, "id": KINDS_ID,
                      "timestamp": "2026-02-11T09:59:59.000001Z", "cwd": ""}
    assert len(events) == len(kinds_messages()) + 1 == converted.message_count + 1
    previous = None
    for n, event in enumerate(events[1:]):
        assert event["type"] == "message"
        assert event["id"] == event_id(KINDS_ID, n)
        assert event["parentId"] == previous
        previous = event["id"]
    assert len({e["id"] for e in events}) == len(events)  # the header's id is the session id


def test_the_same_file_gives_the_same_bytes(tmp_path: Path) -> None:
    write_every_kind(tmp_path)
    path = tmp_path / ".sessions" / f"{KINDS_ID}.json"
    content = _read(path)
    created = content.created_at
    first = transcript_bytes(convert_transcript(KINDS_ID, content.messages, created_at=created))
    again = transcript_bytes(convert_transcript(KINDS_ID, _read(path).messages, created_at=created))
    assert first == again


def test_user_and_assistant_text_every_byte(kinds) -> None:
    _, events = kinds
    legacy = kinds_messages()
    for n, (old, event) in enumerate(zip(legacy, events[1:], strict=True)):
        content = old.get("content")
        if isinstance(content, str) and content:
            assert _texts(event) == [content], n
        elif old["role"] != "tool":
            assert _texts(event) == [], n  # empty or null content makes no block
    assert events[2]["message"]["content"] == [
        {"type": "text",
         "text": "Salut ! Café ☕, naïve résumé, 東京, 🎉 — \"quotes\" \\ back\\slash\n\ttab"}]
    assert events[18]["message"] == {"role": "user", "content": [],
                                     "timestamp": events[18]["message"]["timestamp"]}


def test_assistant_message_shape(kinds) -> None:
    _, events = kinds
    message = events[3]["message"]
    assert message["role"] == "assistant"
    assert message["api"] == "openai-completions"
    assert (message["provider"], message["model"]) == ("anthropic", "claude-sonnet-4")
    assert message["stopReason"] == "stop"
    assert message["usage"]["cost"]["total"] == 0
    assert events[5]["message"]["stopReason"] == "toolUse"


def test_tool_calls_with_parsed_arguments_and_linked_results(kinds) -> None:
    _, events = kinds
    calls = events[5]["message"]["content"]
    assert [c["type"] for c in calls] == ["toolCall", "toolCall"]  # "" content: no text block
    assert calls[0] == {"type": "toolCall", "id": "call_weather_1", "name": "weather", "arguments": {
        "lat": 48.8566, "lon": 2.3522, "units": "metric", "ratio": 0.30000000000000004}}
    assert calls[1]["arguments"] == {"date": "2026-03-01", "limit": 100.0, "note": "café"}
    result = events[6]["message"]
    assert result == {"role": "toolResult", "toolCallId": "call_weather_1", "toolName": "weather",
                      "content": [{"type": "text", "text": '{"temp_c": 7.5, "summary": "light rain"}'}],
                      "isError": False, "timestamp": result["timestamp"]}
    # a result without a name gets its call's
    unnamed = events[7]["message"]
    assert (unnamed["toolCallId"], unnamed["toolName"]) == ("call_cal_2", "calendar_list")


def test_numbers_in_arguments_are_written_as_read(kinds) -> None:
    converted, _ = kinds
    line = transcript_bytes(converted).decode().splitlines()[5]
    assert '"ratio":0.30000000000000004' in line
    assert '"limit":1E2' in line  # the literal as written; the same value for JavaScript


def test_arguments_kept_as_text_when_an_object_would_lose_something(kinds) -> None:
    converted, events = kinds
    calls = {c["id"]: c["arguments"] for c in events[11]["message"]["content"]}
    assert calls == {
        "call_raw_3": "ls -la /tmp",  # not JSON
        "call_big_4": f'{{"chat_id": {BIG}, "n": 1}}',  # a number JavaScript rounds
        "call_nan_5": '{"mean": NaN}',  # NaN, which JSON for OpenClaw does not have
        "call_list_6": "[1, 2, 3]",  # JSON, but not an object
    }
    assert events[11]["message"]["content"][0]["type"] == "toolCall"  # null content: calls only
    assert sum("kept as text" in note for note in converted.notes) == 4
    assert not not_json(converted.events)


def test_images(kinds) -> None:
    converted, events = kinds
    blocks = events[9]["message"]["content"]
    assert blocks[1:] == [
        {"type": "image", "data": PNG, "mimeType": "image/png"},
        {"type": "image", "data": GIF, "mimeType": "image/gif"},
        {"type": "image", "data": JPEG_URL.split(",", 1)[1], "mimeType": "image/jpeg"},
    ]
    assert "messages[8].images[3] (user)" in converted.not_carried  # "not-an-image"
    assert "messages[9].images (assistant)" in converted.not_carried  # no place for it
    assert events[15]["message"]["content"][1] == {"type": "image", "data": GIF, "mimeType": "image/gif"}


def test_system_and_other_roles_kept_out_of_model_context(kinds) -> None:
    _, events = kinds
    system = events[1]["message"]
    assert system == {"role": "custom", "customType": LEGACY_MESSAGE_TYPE,
                      "content": [{"type": "text", "text": "You are a helpful assistant. Be brief."}],
                      "display": False, "excludeFromContext": True, "details": {"role": "system"},
                      "timestamp": system["timestamp"]}
    assert events[17]["message"]["details"] == {"role": "developer"}
    function = events[16]["message"]
    assert (function["role"], function["toolName"], function["toolCallId"]) == ("toolResult", "old_fn", "")


def test_what_has_no_place_is_named(kinds) -> None:
    converted, events = kinds
    assert "messages[3].name (user)" in converted.not_carried
    assert "messages[18].reasoning (user)" in converted.not_carried
    assert "messages[18].meta (user)" in converted.not_carried
    assert not any("empty" in name for name in converted.not_carried)  # null: nothing to carry
    assert set(events[4]["message"]) == {"role", "content", "timestamp"}


def test_times_naive_means_utc(kinds) -> None:
    converted, events = kinds
    legacy = kinds_messages()
    first = events[1]
    assert first["timestamp"] == "2026-02-11T10:00:00.123456Z"  # every digit kept
    assert first["message"]["timestamp"] == to_ms(legacy[0]["timestamp"])
    assert events[3]["timestamp"] == "2026-02-11T10:00:02.000Z"
    assert events[20]["timestamp"] == "2026-02-11T10:19:00.500Z"  # +02:00, in UTC
    assert events[21]["timestamp"] == "2026-02-11T10:20:00.000Z"
    assert events[22]["timestamp"] == events[21]["timestamp"]  # none: the time before it
    assert events[23]["message"]["timestamp"] == events[22]["message"]["timestamp"]
    assert "messages[22].timestamp (not a date) (user)" in converted.not_carried
    for event in events[1:]:
        assert parse_time(event["timestamp"]).ms == event["message"]["timestamp"]


def test_parse_time() -> None:
    assert parse_time("1970-01-01T00:00:00") .iso == "1970-01-01T00:00:00.000Z"
    assert parse_time("1969-12-31T23:59:59.9995").ms == -1  # floor, as legacy.to_ms
    assert parse_time("2026-02-11T10:00:00.7z").iso == "2026-02-11T10:00:00.700Z"
    for bad in (None, "", "  ", "tuesday", 5, "2026-13-01T00:00:00"):
        assert parse_time(bad) is None


def test_image_block() -> None:
    assert image_block(PNG)["mimeType"] == "image/png"
    assert image_block("data:image/webp;base64,UklGRg==") == {
        "type": "image", "data": "UklGRg==", "mimeType": "image/webp"}
    for bad in ("", "aGVsbG8gd29ybGQ=", "!!!!", None, 3, "http://example.com/a.png"):
        assert image_block(bad) is None


def test_unicode_and_a_lone_surrogate_survive(tmp_path: Path) -> None:
    folder = tmp_path / ".sessions"
    write_legacy_session(folder, "s1", [
        {"role": "user", "content": "lone \ud800 surrogate, emoji 👩‍👩‍👧, RTL שלום, NUL \x00 end",
         "timestamp": "2026-01-01T00:00:00"}], {}, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    converted, events = _convert(folder / "s1.json")
    assert _texts(events[1]) == ["lone \ud800 surrogate, emoji 👩‍👩‍👧, RTL שלום, NUL \x00 end"]
    assert b"\\ud800" in transcript_bytes(converted)  # escaped: the file is valid UTF-8


def test_an_empty_session_is_a_header_alone(tmp_path: Path) -> None:
    folder = tmp_path / ".sessions"
    write_legacy_session(folder, "empty", [], {}, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")
    converted, events = _convert(folder / "empty.json")
    assert events == [{"type": "session", "version": 3, "id": "empty",
                       "timestamp": "2026-01-01T00:00:00.000Z", "cwd": ""}]
    assert converted.not_carried == [] and converted.message_count == 0


def test_odd_content_shapes(tmp_path: Path) -> None:
    folder = tmp_path / ".sessions"
    path = folder / "odd.json"
    folder.mkdir(parents=True)
    path.write_text(json.dumps({"session_id": "odd", "messages": [
        {"role": "user", "content": ["a", {"type": "text", "text": "b", "x": 1},
                                     {"type": "image_url", "image_url": {"url": JPEG_URL}},
                                     {"type": "audio"}]},
        {"role": "assistant", "content": 42, "tool_calls": [
            {"type": "function", "function": {"arguments": {"k": [1, 2]}}}, "junk"]},
        {"role": "tool", "content": "r", "tool_call_id": 7},
        {"role": 5, "content": "numbered role", "name": "x"},
    ], "metadata": {}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}))
    converted, events = _convert(path)
    user = events[1]["message"]["content"]
    assert user[:2] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert user[2]["mimeType"] == "image/jpeg"
    call = events[2]["message"]["content"][0]
    assert call == {"type": "toolCall", "id": f"{events[2]['id']}-call-0", "name": "unknown",
                    "arguments": {"k": [1, 2]}}
    assert events[3]["message"]["toolCallId"] == "" and events[3]["message"]["toolName"] == "unknown"
    assert events[4]["message"]["details"] == {"role": 5, "name": "x"}
    assert set(converted.not_carried) >= {
        "messages[0].content[1].x (user)", "messages[0].content[3] (user)",
        "messages[1].content (as a number) (assistant)", "messages[1].tool_calls[1] (assistant)",
        "messages[2].tool_call_id (as a number) (tool)"}


def test_many_messages_missing_a_field_make_one_line(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": f"m{n}", "name": "bob", "timestamp": "2026-01-01T00:00:00"}
                for n in range(50)]
    converted = convert_transcript("s", messages)
    assert converted.not_carried == ["messages[*].name (50 user messages, the first messages[0])"]


def test_the_demo_workspace_converts_whole(tmp_path: Path) -> None:
    generate_workspace(tmp_path, sessions=20)
    for path in sorted((tmp_path / ".sessions").glob("*.json")):
        if path.name == "session_map.json":
            continue
        content = _read(path)
        converted, events = _convert(path)
        assert len(events) == len(content.messages) + 1
        assert not not_json(converted.events)
        for old, event in zip(content.messages, events[1:], strict=True):
            if isinstance(old.get("content"), str) and old["content"]:
                assert old["content"] in _texts(event)


def test_not_json_finds_nan() -> None:
    assert not_json([{"a": [jsonio.loads("NaN")]}]) == ["events[0].a[0]"]
