"""How numbers, sizes and paths are written on the wizard's screens."""

from __future__ import annotations

import os

from rich.cells import cell_len, set_cell_size


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def shown_path(path: str, workspace_abs: str, workspace_label: str) -> str:
    """``path`` as the user knows it: under the workspace it starts with the workspace as it
    was typed (``~/.openclaw/.sessions/...``), so screens do not depend on temp folder names."""
    if not workspace_abs or not workspace_label:
        return path
    if path == workspace_abs:
        return workspace_label
    root = workspace_abs.rstrip(os.sep) + os.sep
    if path.startswith(root):
        return workspace_label.rstrip(os.sep) + os.sep + path[len(root):]
    return path


def one_line(text: str) -> str:
    """``text`` with line breaks, tabs and other control characters shown as spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def fit(text: str, width: int) -> str:
    """``text`` on one line, exactly ``width`` cells wide: padded, or cut with an ellipsis."""
    if width <= 0:
        return ""
    text = one_line(text)
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def column(text: str, width: int) -> str:
    """A table cell: ``text`` fitted to ``width - 1`` cells plus one space before the next."""
    return fit(text, width - 1) + " " if width > 1 else fit(text, width)
