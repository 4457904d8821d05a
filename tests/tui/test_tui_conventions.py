"""What a Textual app is expected to do: the command palette with the screen's actions, help
from the live bindings, j/k/g/G, sortable columns, "row N of M", a visible scrollbar,
plurals and thousands separators, 80×24, and the cursor row without colour."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Static

from migrate_tui.tui.formatting import plural
from migrate_tui.tui.screens.fix import FixDialog
from migrate_tui.tui.screens.help import HelpScreen
from migrate_tui.tui.screens.plan import PlanScreen
from migrate_tui.tui.widgets.session_table import SessionTable
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, file_id, make_app, move_to, open_plan, settle


async def test_the_command_palette_runs_the_screens_actions(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        await move_to(pilot, table, "legacy-notes")
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"mark all")
        await settle(app, pilot)
        assert "Mark all listed" in screen_text(app) and "key: a" in screen_text(app)
        app.screen.query_one("CommandInput").value = "Skip"
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PlanScreen)
        assert app.state.plan.session("legacy-notes").action == "skip"


def help_of(app) -> str:
    return app.screen.query_one("#help-text", Static).content.plain


async def test_help_is_made_of_the_live_keys_and_the_steps(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = dict((d, k) for k, d in app.screen.keys)
        assert keys["Skip"] == "space" and keys["Mark all listed"] == "a"
        assert keys["Undo"] == "u" and keys["Sort by the next column"] == "s"
        assert set(keys["Down"].split(" / ")) == {"↓", "j"}
        assert set(keys["Last row"].split(" / ")) == {"end", "G"}
        text = help_of(app)
        assert "Keys on this screen (Plan)" in text and "▸ 3 Plan:" in text and "  8 Result:" in text
        assert "Scroll Left" not in text and "Focus Next" not in text  # Textual's own, everywhere
        assert text.index("Skip") < text.index("Down") < text.index("Quit")  # the screen's first
        await pilot.press("escape")
        await pilot.press("e")  # the errors review: its own keys
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        keys = dict((d, k) for k, d in app.screen.keys)
        assert "Next: backup" in keys and "Mark all listed" not in keys
        assert "▸ 4 Errors:" in help_of(app)


async def test_vim_keys_row_n_of_m_and_the_scrollbar(demo) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        await pilot.press("g")
        assert table.cursor == 0 and "row 1 of 18" in screen_text(app)
        await pilot.press("j", "j")
        assert table.cursor == 2 and "row 3 of 18" in screen_text(app)
        await pilot.press("k")
        assert table.cursor == 1
        await pilot.press("G")
        assert table.cursor == 17 and "row 18 of 18" in screen_text(app)
        assert table.show_vertical_scrollbar and table.scrollbar_size_vertical == 1
        assert table.max_scroll_y > 0 and table.scroll_y == table.max_scroll_y  # the last row in view


async def test_columns_sort(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        plan_order = [ps.file_id for ps in table.items]
        await pilot.press("s")  # status
        assert "Status ▲" in screen_text(app) and "sorted by status ▲" in screen_text(app)
        assert table.items[0].action == "blocked"
        await pilot.press("s", "s", "s", "s")  # session, keys, msgs, size
        sizes = [ps.scan.size for ps in table.items]
        assert sizes == sorted(sizes) and "Size ▲" in screen_text(app)
        await pilot.press("S")
        assert [ps.scan.size for ps in table.items] == sorted(sizes, reverse=True)
        assert "Size ▼" in screen_text(app)
        await pilot.press("s", "s")  # updated, then the plan's order again
        assert [ps.file_id for ps in table.items] == plan_order
        width = table.scrollable_content_region.width
        header = app.screen.query_one("#table-header")
        x = next(i for i in range(width) if screen_text(app).splitlines()[2][i:i + 4] == "Msgs")
        await pilot.click(header, offset=(x, 0))
        msgs = [ps.message_count for ps in table.items if ps.action == "migrate"]
        assert msgs == sorted(msgs) and "Msgs ▲" in screen_text(app)


async def test_counts_agree_and_read_well(demo) -> None:
    assert plural(1, "warning") == "1 warning" and plural(1234, "session") == "1,234 sessions"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_plan(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        text = screen_text(app)
        # the errors review and the totals count the same thing: sessions left with problems
        assert "5 sessions left with 5 problems; 1 warning" in text and "problems left 5" in text


async def test_80x24_the_fix_dialog_shows_skip(demo) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_plan(app, pilot)
        await move_to(pilot, app.screen.query_one(SessionTable), file_id(demo, "invalid_json"))
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FixDialog)
        lines = screen_text(app).splitlines()
        assert any(" skip " in line for line in lines) and any("salvage" in line for line in lines)
        assert any("enter chooses" in line for line in lines)
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert app.state.plan.session(file_id(demo, "invalid_json")).action == "skip"


async def test_the_cursor_row_is_marked_without_colour(demo, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color
        await open_plan(app, pilot)
        table = app.screen.query_one(SessionTable)
        marked = table.items[3].file_id
        await move_to(pilot, table, marked)
        await pilot.press("m")  # marks it, and the cursor goes to the next row
        rows = [line for line in screen_text(app).splitlines() if marked[:20] in line]
        assert rows and rows[0].startswith(" ●")
        cursor_rows = [line for line in screen_text(app).splitlines() if line.startswith("▸")]
        assert len(cursor_rows) == 1 and table.current.file_id[:8] in cursor_rows[0]
