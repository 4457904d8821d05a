"""The key bar at the foot of every step: the keys the screen answers to now, as Textual's
Footer shows them (the snapshots are the Footer's, unchanged), painted as one line that a
change of focus repaints without mounting anything."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input

from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.widgets.key_bar import KeyBar
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, make_app, open_plan, settle


def bar_text(app: App[object]) -> str:
    return screen_text(app).rstrip("\n").rsplit("\n", 1)[-1]


async def test_the_plan_search_field_shows_its_keys_and_mounts_nothing(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        line = bar_text(app)
        assert "space Skip" in line and "/ Search" in line and "^p palette" in line, line
        widgets = len(list(screen.walk_children()))
        await pilot.press("slash")
        await settle(app, pilot)
        assert screen.query_one("#search", Input).has_focus
        line = bar_text(app)
        assert "/ Search esc Back" in line and "space Skip" not in line, line
        assert len(list(screen.walk_children())) == widgets  # nothing mounted or removed
        await pilot.press("escape")
        await settle(app, pilot)
        assert "space Skip" in bar_text(app)


class _Keys(App[None]):
    """A screen with three keys shown, one of them not available now, and a field whose
    focus hides the letter keys (as the plan's search field does)."""

    AUTO_FOCUS = None  # the field takes the focus when the test gives it
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "count('a')", "Add"),
        Binding("r", "count('r')", "Remove"),
        Binding("x", "count('x')", "Export"),
        Binding("z", "count('z')", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        yield Input(id="field")
        yield KeyBar()

    def action_count(self, name: str) -> None:
        self.ran.append(name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if parameters == ("x",) else True  # shown, but not available now

    def bell(self) -> None:
        self.bells += 1


def _cell_of(app: App[object], text: str) -> int:
    at = bar_text(app).find(text)
    assert at >= 0, bar_text(app)
    return at


async def test_keys_shown_clicked_hovered_and_refused() -> None:
    app = _Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = bar_text(app)
        assert line.startswith("a Add r Remove x Export"), line
        assert "Hidden" not in line and line.rstrip().endswith("^p palette"), line
        bar = app.query_one(KeyBar)

        await pilot.click(KeyBar, offset=(_cell_of(app, "Remove"), 0))
        await pilot.pause()
        assert app.ran == ["r"]

        await pilot.click(KeyBar, offset=(_cell_of(app, "Export"), 0))  # not available now
        await pilot.pause()
        assert app.ran == ["r"] and app.bells == 1
        strip = bar.render_line(0)
        export = _cell_of(app, "x Export")
        dimmed = [seg.style for seg in strip.crop(export, export + 8) if seg.text.strip()]
        assert dimmed and all(style is not None and style.dim for style in dimmed)

        add = _cell_of(app, "a Add")
        before = bar.render_line(0).crop(add, add + 1)
        await pilot.hover(KeyBar, offset=(add, 0))
        await pilot.pause()
        hovered = bar.render_line(0).crop(add, add + 1)
        assert [s.style.bgcolor for s in hovered] != [s.style.bgcolor for s in before]

        app.query_one("#field", Input).focus()  # the field takes the letter keys
        await pilot.pause()
        await pilot.pause()
        line = bar_text(app)
        assert "Add" not in line and "Remove" not in line and "^p palette" in line, line


async def test_a_narrow_bar_cuts_the_keys_before_the_palette_then_drops_it() -> None:
    app = _Keys()
    async with app.run_test(size=(14, 5)) as pilot:
        await pilot.pause()
        assert bar_text(app) == "a ▏^p palette "
        await pilot.click(KeyBar, offset=(1, 0))  # what is left of "a Add", cut
        await pilot.pause()
        assert app.ran == ["a"]
        await pilot.resize_terminal(10, 5)
        await pilot.pause()
        assert bar_text(app) == "a Add r Re"  # no room for the palette: the keys, cut
        await pilot.click(KeyBar, offset=(9, 0))
        await pilot.pause()
        assert app.ran == ["a", "r"]
