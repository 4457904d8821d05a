"""A session entry as OpenClaw's ``sessions.json`` has it.

The default target's entry (snake_case: the fields of the Python agent's ``SessionEntry``) is
turned into OpenClaw's: every name in camelCase, nested objects included (``origin``,
``delivery_context``), except the keys of a map whose keys are data (``cli_session_ids``:
provider → id).  ``updated_at`` is already milliseconds; ``created_at`` becomes
``sessionStartedAt`` (milliseconds), which the default target cannot carry.

Values are kept exactly as read.  Two kinds of number cannot reach OpenClaw as they are:
NaN/Infinity (its JSON reader refuses them, and with them the whole file) are not carried;
an integer past 2**53 (or a literal past the float range) is written exactly, but OpenClaw
reads another value, and the result says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.engine.targets.openclaw_numbers import Reading, losses, shown, why

# Values whose keys are data, not field names: their keys are kept as they are.
MAP_FIELDS = frozenset({"cli_session_ids"})
# The names the migration sets itself, in the order they open an entry.
_STRUCTURAL = ("session_id", "updated_at", "session_file")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def camel(name: str) -> str:
    """``thinking_level`` → ``thinkingLevel``.  A name that is not plain snake_case
    (``accountId``, ``_x``, ``a__b``, ``Foo_bar``) is kept as it is."""
    if _SNAKE.fullmatch(name) is None:
        return name
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass
class ConvertedEntry:
    entry: dict[str, Any]
    not_carried: list[str] = field(default_factory=list)  # names, as the plan lists them
    rounded: list[str] = field(default_factory=list)  # written exactly; OpenClaw reads another value
    notes: list[str] = field(default_factory=list)  # why, in words


def convert_entry(legacy_entry: Mapping[str, Any], created_at_ms: int | None = None) -> ConvertedEntry:
    """OpenClaw's entry for the default target's ``legacy_entry`` (which holds
    ``session_id``, ``updated_at`` in ms, ``session_file`` and the carried metadata).
    ``created_at_ms``: the legacy ``created_at`` in ms, or None when it did not parse."""
    out = ConvertedEntry({})
    entry = out.entry
    for name in _STRUCTURAL:
        if name in legacy_entry:
            entry[camel(name)] = legacy_entry[name]
    if created_at_ms is not None:
        entry["sessionStartedAt"] = created_at_ms
    for name, value in legacy_entry.items():
        if name in _STRUCTURAL:
            continue
        where = f"metadata.{name}"
        value = _carry(value, where, name in MAP_FIELDS, out)
        if value is _DROP:
            continue
        target = camel(name)
        if target in entry:  # sessionStartedAt from the metadata, say: ours wins
            out.not_carried.append(where)
            out.notes.append(f"{where}: its name is taken by {target}, which the migration sets")
            continue
        entry[target] = value
    return out


_DROP = object()


def _carry(value: Any, where: str, is_map: bool, out: ConvertedEntry) -> Any:
    """``value`` with nested names in camelCase and NaN/Infinity left out (named)."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            inner = f"{where}.{key}"
            item = _carry(item, inner, False, out)
            if item is _DROP:
                continue
            name = key if is_map else camel(key)
            if name in result:
                out.not_carried.append(inner)
                out.notes.append(f"{inner}: becomes {name}, which the same object already has")
                continue
            result[name] = item
        return result
    if isinstance(value, list):
        items = [_carry(item, f"{where}[{n}]", False, out) for n, item in enumerate(value)]
        return [item for item in items if item is not _DROP]
    if isinstance(value, (str, bool)) or value is None:
        return value
    for path, found, number in losses(value, where):
        if found is not Reading.NOT_JSON:
            out.rounded.append(path)
            out.notes.append(f"{path}: {shown(number)} is written exactly, but {why(found)}")
            return value
        out.not_carried.append(path)
        out.notes.append(f"{path}: {shown(number)} is not carried: {why(found)}")
        return _DROP
    return value
