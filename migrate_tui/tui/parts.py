"""Build styled text piece by piece (Textual ``Content``, so theme colours like
``$text-error`` follow the dark or light theme)."""

from __future__ import annotations

from textual.content import Content


class Parts:
    def __init__(self, text: str = "", style: str = "") -> None:
        self._parts: list[tuple[str, str]] = []
        if text:
            self.append(text, style)

    def append(self, text: str, style: str = "") -> Parts:
        self._parts.append((text, style))
        return self

    def content(self) -> Content:
        return Content.assemble(*self._parts)
