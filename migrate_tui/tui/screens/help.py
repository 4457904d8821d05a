"""The help screen (? or F1): the steps, and the keys of each."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from migrate_tui.tui.parts import Parts

HELP = """\
**migrate-tui** moves an OpenClaw workspace from one JSON file per session
(`.sessions/<id>.json`) to `sessions.json` plus one JSONL transcript per session.
Nothing is written before step 7, and originals are never modified.

1. **Workspace**: the folder (→ completes a folder name) and the agent id.
   The inventory shows what is there, whether the lock is held and whether the
   agent may still be running. `enter` scans.
2. **Scan**: reads every legacy file once; `escape` stops.
3. **Plan** (dry run): every session, its status and problems.
   `↑/↓` move · `space` skips or un-skips · `f` fixes · `t` or `1`–`4` filters
   (all, problems, warnings, skipped) · `/` searches · `e` reviews errors ·
   `enter` continues · `escape` goes back.
4. **Errors review**: every problem with the source around it. `f` fixes,
   `space` skips, `escape` returns to the plan.
5. **Fix dialog**: the fixes a problem offers, each with its effect
   (e.g. *salvage*: how many messages come back), or skip. `enter` chooses.
6. **Backup**: where, how much, whether there is room. `enter` migrates;
   `b` turns the backup off (asks again first).
7. **Progress**: `escape` or `c` cancels at a safe point; run migrate again to
   finish, or roll back to undo.
8. **Result**: `r` rolls back, `c` removes the originals (after checking the
   backup), `q` quits.

`ctrl+q` quits at any step; during the migration it first stops at a safe point.
Each choice here is the same as `migrate-tui migrate --skip ID` or `--fix ID=FIX`.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
        Binding("f1", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static(Parts("Help", "bold").content(), classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Markdown(HELP)
            yield Static(Parts("escape closes", "italic $text-muted").content())

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
