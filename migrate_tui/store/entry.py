"""SessionEntry: one value of ``sessions.json``, as the Python agent reads it (docs/formats.md)."""

from __future__ import annotations

from typing import Any

from migrate_tui.core.entry_fields import FIELD_SET, SESSION_ENTRY_FIELDS, STRUCTURAL_FIELDS

__all__ = ["FIELD_SET", "SESSION_ENTRY_FIELDS", "STRUCTURAL_FIELDS", "SessionEntry"]


class SessionEntry(dict):
    """A ``sessions.json`` entry: a dict (so unknown fields survive a round trip) with
    attribute access to the SessionEntry fields (``entry.thinking_level = "high"``)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name in self:
            return self[name]
        if name in FIELD_SET:
            return None
        raise AttributeError(f"SessionEntry has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(name)
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        return dict(self)
