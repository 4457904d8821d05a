"""A list that renders only the rows on screen (Textual's line API), for plans with hundreds
of thousands of sessions: ``render_line(y)`` draws row ``scroll_y + y``; the virtual height
is the number of rows; nothing is built per row in advance.

The cursor row is shown by a mark in the first column (``▸``) as well as by its colours, so
it stays visible without colour (``NO_COLOR``, a monochrome terminal); rows may be marked
(``●``) for a bulk decision.  Keys: arrows, j/k, page up/down, g/G (or home/end)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from migrate_tui.tui.formatting import column

T = TypeVar("T")

Cell = tuple[str, int, Style]  # text, width (cells), style


class RowList(ScrollView, Generic[T], can_focus=True):
    """Rows of ``T`` with a cursor.  Subclasses say how one row is drawn (``row_cells``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First row", show=False),
        Binding("end,G", "last", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"row-list--cursor", "row-list--cursor-blurred",
                                             "row-list--marked"}
    DEFAULT_CSS = """
    RowList {
        overflow-x: hidden;
        overflow-y: auto;
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-color: $primary 70%;
        scrollbar-color-hover: $primary;
        scrollbar-background: $foreground 10%;
    }
    RowList > .row-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    RowList > .row-list--cursor-blurred {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    RowList > .row-list--marked {
        text-style: bold;
    }
    """
    MARK_WIDTH = 2  # the cursor mark and the bulk mark, before the subclass's columns

    class Highlighted(Message):
        """The cursor moved to another row (or the rows changed under it)."""

        def __init__(self, row_list: RowList[Any], index: int, item: object | None) -> None:
            super().__init__()
            self.row_list = row_list
            self.index = index
            self.item = item

        @property
        def control(self) -> RowList[Any]:
            return self.row_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._items: list[T] = []
        self._cursor = 0
        self.marked: set[object] = set()  # keys (``key_of``) of the rows marked

    def key_of(self, item: T) -> object:
        """What identifies a row across refills (marks are kept by it)."""
        return item

    # ------------------------------------------------------------ data

    @property
    def items(self) -> Sequence[T]:
        return self._items

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def current(self) -> T | None:
        return self._items[self._cursor] if 0 <= self._cursor < len(self._items) else None

    def set_items(self, items: Sequence[T], cursor: int | None = None) -> None:
        """Show ``items``; the cursor stays where it was (clamped) unless given."""
        self._items = list(items)
        self.virtual_size = Size(self.size.width, len(self._items))
        self.move_cursor(self._cursor if cursor is None else cursor, announce=True)
        self.refresh()

    def replace_item(self, index: int, item: T) -> None:
        """Show ``item`` in row ``index`` instead (same place, same cursor); only that row is
        drawn again, and the cursor's row is announced again when it is the one replaced."""
        self._items[index] = item
        self.refresh_line(index)
        if index == self._cursor:
            self.post_message(self.Highlighted(self, index, item))

    def move_cursor(self, index: int, *, announce: bool = False) -> None:
        index = max(0, min(index, len(self._items) - 1)) if self._items else 0
        moved = index != self._cursor
        self._cursor = index
        self._keep_cursor_visible()
        if moved or announce:
            self.refresh()
            self.post_message(self.Highlighted(self, index, self.current))

    def _keep_cursor_visible(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False, immediate=True)

    # ------------------------------------------------------------ drawing

    def row_cells(self, item: T, width: int) -> list[Cell]:
        """The cells of one row, left to right (their widths may add up to less than
        ``width``).  Subclasses draw columns; by default a row is its item's text."""
        return [(str(item), width, Style())]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        base = self.rich_style
        if index >= len(self._items):
            return Strip.blank(width, base)
        item = self._items[index]
        overlay: Style | None = None
        at_cursor = index == self._cursor
        if at_cursor:
            overlay = self.get_component_rich_style(
                "row-list--cursor" if self.has_focus else "row-list--cursor-blurred")
        marked = bool(self.marked) and self.key_of(item) in self.marked
        lead = ("▸" if at_cursor else " ") + ("●" if marked else " ")
        lead_style = self.get_component_rich_style("row-list--marked") if marked else Style()
        segments = [Segment(lead[:width], base + lead_style + overlay if overlay else base + lead_style)]
        used = min(width, self.MARK_WIDTH)
        for text, cell_width, style in self.row_cells(item, width - used):
            cell_width = min(cell_width, width - used)
            if cell_width <= 0:
                break
            shown = column(text, cell_width)
            full = base + style + overlay if overlay is not None else base + style
            segments.append(Segment(shown, full))
            used += cell_width
        if used < width:
            segments.append(Segment(" " * (width - used), base + overlay if overlay else base))
        return Strip(segments, width)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self._items))
        self._keep_cursor_visible()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------ moving

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._items) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.move_cursor(round(self.scroll_y) + offset.y)

    # ------------------------------------------------------------ marks

    def toggle_mark(self, index: int | None = None) -> None:
        index = self._cursor if index is None else index
        if 0 <= index < len(self._items):
            key = self.key_of(self._items[index])
            if key in self.marked:
                self.marked.discard(key)
            else:
                self.marked.add(key)
            self.refresh_line(index)

    def mark(self, index: int) -> None:
        if 0 <= index < len(self._items):
            self.marked.add(self.key_of(self._items[index]))
            self.refresh_line(index)

    def mark_all(self) -> None:
        self.marked.update(self.key_of(item) for item in self._items)
        self.refresh()

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    @property
    def listed_marked(self) -> int:
        """How many of the rows listed now are marked."""
        if not self.marked:
            return 0
        key_of = self.key_of
        return sum(1 for item in self._items if key_of(item) in self.marked)
