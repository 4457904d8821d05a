"""Step 5: the fix dialog.  The fixes the session's problems offer, and skip; each with
its previewed effect (``preview_fix``: what the session would become)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from migrate_tui.core.ids import display
from migrate_tui.engine import MIGRATE, Decision, Plan, PlannedSession, preview_fix
from migrate_tui.tui.effects import SKIP_EFFECT, fix_effect
from migrate_tui.tui.messages import FixPreviews
from migrate_tui.tui.parts import Parts

UNDO = "undo"
SKIP = "skip"


def offered_fixes(ps: PlannedSession) -> list[str]:
    """The fixes the open problems offer, in the order they are offered, not yet chosen."""
    out: list[str] = []
    for p in ps.open_problems:
        for fix in p.fixes:
            if fix not in out and fix not in ps.decision.fixes:
                out.append(fix)
    return out


def effects_for(plan: Plan, file_id: str, fixes: list[str]) -> dict[str, PlannedSession]:
    return {fix: preview_fix(plan, file_id, fix) for fix in fixes}


class FixDialog(ModalScreen[Decision | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, file_id: str) -> None:
        super().__init__()
        self.file_id = file_id
        self.effects: dict[str, PlannedSession] = {}

    @property
    def session(self) -> PlannedSession:
        assert self.app.plan is not None
        return self.app.plan.session(self.file_id)

    def compose(self) -> ComposeResult:
        ps = self.session
        with Vertical(id="fix-dialog", classes="dialog"):
            yield Static(Parts(f"Fix {display(ps.scan.file_name)}", "bold").content(), classes="dialog-title")
            yield Static(self._problems_text(ps), id="fix-problems")
            yield OptionList(*self._options(ps), id="fix-options")
            yield Static(Parts("enter chooses · escape keeps the current decision", "italic $text-muted")
                         .content())
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        fixes = offered_fixes(self.session)
        if fixes:
            self._preview(fixes)

    @staticmethod
    def _problems_text(ps: PlannedSession):  # noqa: ANN205 - Content
        text = Parts()
        if not ps.open_problems:
            text.append("No problem is left; the fixes chosen: " + ", ".join(sorted(ps.decision.fixes)))
        for p in ps.open_problems:
            where = p.where.rsplit("/", 1)[-1]
            text.append("✗ ", "$text-error bold").append(f"{where}: {p.message}\n")
            if not p.fixes:
                text.append("  this problem offers no fix: the session can only be skipped\n", "italic")
        return text.content()

    def _options(self, ps: PlannedSession) -> list[Option]:
        options = [Option(self._prompt(fix, ["computing its effect…"]), id=f"fix:{fix}")
                   for fix in offered_fixes(ps)]
        if ps.decision.fixes:
            options.append(Option(self._prompt(
                "undo fixes", [f"back to the file as it is (drops {', '.join(sorted(ps.decision.fixes))})"]),
                id=UNDO))
        options.append(Option(self._prompt("skip", SKIP_EFFECT), id=SKIP))
        return options

    @staticmethod
    def _prompt(name: str, lines: list[str]):  # noqa: ANN205 - Content
        text = Parts(name, "bold")
        for line in lines:
            text.append("\n  → " + line)
        return text.content()

    @work(thread=True, exclusive=True, group="fix-preview", exit_on_error=False)
    def _preview(self, fixes: list[str]) -> None:
        assert self.app.plan is not None
        self.post_message(FixPreviews(self.file_id, effects_for(self.app.plan, self.file_id, fixes)))

    def on_fix_previews(self, message: FixPreviews) -> None:
        self.effects = message.effects
        options = self.query_one(OptionList)
        before = self.session
        for fix, after in message.effects.items():
            options.replace_option_prompt(f"fix:{fix}", self._prompt(fix, fix_effect(before, after)))

    @on(OptionList.OptionSelected)
    def _chosen(self, message: OptionList.OptionSelected) -> None:
        current = self.app.decisions.get(self.file_id, MIGRATE)
        choice = message.option.id or ""
        if choice == SKIP:
            self.dismiss(Decision(skip=True, fixes=current.fixes))
        elif choice == UNDO:
            self.dismiss(MIGRATE)
        else:
            self.dismiss(current.with_fix(choice.removeprefix("fix:")))

    def action_cancel(self) -> None:
        self.dismiss(None)
