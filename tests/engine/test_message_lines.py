"""The transcript's lines made in one pass (``transcript_encoding.message_lines``) are the
bytes ``LineEncoder.lines(transcript_lines(...))`` makes; and ``_proven_pieces``, which
looks for the end of the messages from the end of the file, never hands out an item that
is not one of the messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from migrate_tui.core import jsonio
from migrate_tui.engine.legacy import transcript_lines
from migrate_tui.engine.transcript_encoding import _proven_pieces, message_lines

ENCODER = jsonio.LineEncoder()


def _reference(messages: list[Any]) -> bytes:
    return ENCODER.lines(transcript_lines(messages))


def _messages(n: int) -> list[Any]:
    out: list[Any] = []
    for k in range(n):
        out.append({"role": "user" if k % 2 else "assistant", "content": f"m{k} é 漢 \U0001f600",
                    "tool_calls": None if k % 3 else [{"id": k, "args": {"x": None, "y": [1.5, -2]}}],
                    "name": None, "images": [] if k % 5 else None, "n": k * 10**12})
    return out


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 1000])
def test_the_same_bytes_as_the_encoder_in_two_passes(n: int) -> None:
    msgs = _messages(n)
    assert message_lines(msgs) == _reference(msgs)


def test_items_that_are_not_objects_pass_through() -> None:
    msgs: list[Any] = [1, "text", None, [None, {"a": None}], {"a": None, "b": 0}]
    assert message_lines(msgs) == _reference(msgs) == b'1\n"text"\nnull\n[null,{"a":null}]\n{"b":0}\n'


def test_what_orjson_refuses_is_written_as_the_encoder_writes_it() -> None:
    # the lossless parser's values: a 70-bit integer, float literals kept as written, a
    # lone surrogate, among plain lines in the same group and in the next one
    doc = jsonio.loads_document(
        b'[{"a": 1180591620717411303424, "b": null}, {"f": 1.50, "g": 1E+2}, {"s": "\\ud800"}]')
    msgs = doc * 100
    assert message_lines(msgs) == _reference(msgs)
    head = b'{"a":1180591620717411303424}\n{"f":1.50,"g":1E+2}\n{"s":"\\ud800"}\n'
    assert message_lines(msgs).startswith(head)


def _layout(doc: dict[str, Any]) -> bytes:
    """A document laid out as the legacy writer lays it out (json.dump, indent 2)."""
    return json.dumps(doc, indent=2, ensure_ascii=False).encode()


@pytest.mark.parametrize("chunk", [1, 40, 1 << 20])
def test_a_list_after_the_messages_is_never_taken_for_messages(chunk: int) -> None:
    msgs = [{"role": "user", "content": f"m{k}"} for k in range(12)]
    data = _layout({"session_id": "x", "messages": msgs, "later": [{"role": "not a message"}] * 3})
    pieces = _proven_pieces(data, chunk)
    assert pieces is not None
    got: list[Any] = []
    with pytest.raises(jsonio.NotExact):  # the caller then encodes the file whole
        for piece in pieces:
            got += piece
    assert got == msgs[:len(got)]  # what came before the refusal: messages, in order


@pytest.mark.parametrize("chunk", [1, 40, 1 << 20])
def test_messages_last_or_followed_by_no_list_are_read_whole(chunk: int) -> None:
    msgs = [{"role": "user", "content": f"m{k} ]", "x": [[1], {"y": []}]} for k in range(12)]
    for doc in ({"session_id": "x", "messages": msgs},
                {"session_id": "x", "messages": msgs, "metadata": {"tags": {"a": 1}}, "n": 3}):
        pieces = _proven_pieces(_layout(doc), chunk)
        assert pieces is not None
        assert [item for piece in pieces for item in piece] == msgs
