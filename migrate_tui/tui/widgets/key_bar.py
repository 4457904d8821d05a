"""The keys the screen answers to now, on one line at its foot.

It shows what Textual's ``Footer(compact=True)`` shows, drawn the same way, but as one widget
that paints one line. The Footer is a widget per key. Each change of the keys shown (a
change of focus: the plan's search field hides the plan's letter keys) makes it remove and
mount them all again, then lay out the whole screen. On the plan at 200,000 sessions that
made `/` and the query's enter the slowest keys of the wizard. Here a change of the keys
repaints this line and nothing else, and only when what it shows differs.

A key is clicked as on the Footer: it is pressed (``App.simulate_key``), or the bell rings
if its action cannot run now. The pointer over a key highlights it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen

_BORDER = "▏"  # the command palette's left border ("vkey", as the Footer draws it)


class _Key(NamedTuple):
    key: str  # what is pressed when it is clicked
    shown: str  # the key as the app displays it ("^p", "esc"...)
    description: str
    enabled: bool


class _Placed(NamedTuple):
    start: int  # the first cell, from the left
    end: int  # after its last cell
    slot: int  # in KeyBar._keys (the palette's: one after the last)


class KeyBar(Widget, can_focus=False):
    """The active bindings shown (``Binding.show``), one per action, in the screen's order;
    the command palette's key on the right."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--hover",
        "key-bar--border",
    }
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .key-bar--border {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: tuple[_Key, ...] = ()
        self._palette: _Key | None = None
        self._placed: list[_Placed] = []
        self._hover: int | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys, palette = self._shown(screen)
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self._hover = None
            self.refresh()

    def _shown(self, screen: Screen[object]) -> tuple[tuple[_Key, ...], _Key | None]:
        """What the Footer would show: the first binding shown of each action, in order."""
        app = self.app
        active = screen.active_bindings
        by_action: dict[str, _Key] = {}
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = _Key(binding.key, app.get_key_display(binding),
                                                 binding.description, enabled)
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = _Key(binding.key, app.get_key_display(binding), binding.description, enabled)
        return tuple(by_action.values()), palette

    # ------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        blank = Style(bgcolor=base.bgcolor)  # between the keys (the Footer's margins)
        if y or not width:
            return Strip.blank(width, blank)
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        text_style = self.get_component_rich_style("key-bar--description", partial=True)
        hovered = base + self.get_component_rich_style("key-bar--hover", partial=True)
        dim = Style(dim=True)
        segments: list[Segment] = []
        placed: list[_Placed] = []

        def item(k: _Key, index: int, at: int, first: list[Segment]) -> int:
            """One key (and what comes before it: the palette's border) drawn at ``at``."""
            # (as the Footer's: the key's own styles over the item's, hovered or not)
            under = hovered if index == self._hover else base
            off = Style() if k.enabled else dim
            drawn = [*first, Segment(k.shown, under + key_style + off)]
            if k.description:
                drawn.append(Segment(f" {k.description}", under + text_style + off))
            segments.extend(drawn)
            end = at + sum(cell_len(s.text) for s in drawn)
            placed.append(_Placed(at, end, index))
            return end

        palette = self._palette
        palette_width = 0  # its border, key and description, and a cell after it (a margin)
        if palette is not None:
            palette_width = 1 + cell_len(palette.shown) + 1 + (
                cell_len(palette.description) + 1 if palette.description else 0)
            if palette_width > width:
                palette, palette_width = None, 0
        room = width - palette_width  # for the other keys, cut at its end
        at = 0
        for index, k in enumerate(self._keys):
            if at >= room:
                break
            at = item(k, index, at, [])
            segments.append(Segment(" ", blank))  # the Footer's margin after each key
            at += 1
        line = Strip(segments, at).crop(0, room).extend_cell_length(room, blank)
        placed = [p._replace(end=min(p.end, room)) for p in placed]
        if palette is not None:
            segments = []
            border = Segment(_BORDER, self.get_component_rich_style("key-bar--border"))
            item(palette, len(self._keys), room, [border])
            segments.append(Segment(" ", blank))
            line = Strip([*line, *segments], width)
        self._placed = placed
        return line.adjust_cell_length(width, blank)

    # ------------------------------------------------------------ the mouse

    def _at(self, x: int) -> int | None:
        for p in self._placed:
            if p.start <= x < p.end:
                return p.slot
        return None

    def _key(self, index: int) -> _Key | None:
        if index < len(self._keys):
            return self._keys[index]
        return self._palette

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hover = self._at(event.x)
        if hover != self._hover:
            self._hover = hover
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self._at(event.x)
        k = None if index is None else self._key(index)
        if k is None:
            return
        if k.enabled:
            self.app.simulate_key(k.key)
        else:
            self.app.bell()
