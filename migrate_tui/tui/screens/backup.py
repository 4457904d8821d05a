"""Step 6: confirm the backup: where, how many files and bytes, whether there is room.
Originals are never modified; turning the backup off takes a second confirmation.
Dismisses with True/False (migrate, with or without the backup) or None (back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import Worker

from migrate_tui.engine import Plan
from migrate_tui.engine.workspace_info import BackupEstimate, backup_estimate
from migrate_tui.tui.formatting import human_bytes, plural
from migrate_tui.tui.messages import Ask, Way
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.widgets.totals_bar import TotalsBar
from migrate_tui.tui.workers import background


def backup_text(plan: Plan, estimate: BackupEstimate | None, show_path: Callable[[str], str]) -> Parts:
    t = plan.totals
    text = Parts()
    text.append("The migration will write ")
    text.append(plural(t.to_migrate, "transcript"), "bold")
    text.append(f" ({plural(t.messages, 'message')}) and merge their entries into sessions.json")
    if t.fixed:
        text.append(f"; {t.fixed:,} of them with fixes")
    text.append(".\n")
    if t.skipped or t.blocked:
        text.append(f"Not migrated: {t.skipped:,} skipped by you, {plural(t.blocked, 'session')} "
                    "with problems left.\n", "$text-warning")
    text.append("\n")
    if estimate is None:
        text.append("Measuring the backup…", "italic $text-muted")
        return text
    width = 8
    if estimate.enabled:
        text.append(f"{'Where:':<{width}}", "bold").append(show_path(estimate.backup_dir) + "\n")
        text.append(f"{'What:':<{width}}", "bold").append(
            f"{plural(estimate.files, 'file')}, {human_bytes(estimate.bytes)}: every legacy file "
            "read, session_map.json and sessions.json, copied byte for byte and checked "
            "(size and SHA-256) before the first new file is written\n")
    else:
        text.append("Backup: OFF. ", "$text-error bold").append(
            "Only sessions.json (if it exists) is copied before it is replaced; the legacy "
            "files are not copied.\n")
    text.append(f"{'Room:':<{width}}", "bold")
    if estimate.free_bytes is None:
        text.append("unknown (the free space could not be read)\n")
    else:
        text.append(f"{human_bytes(estimate.free_bytes)} free; the backup and the new files need "
                    f"about {human_bytes(2 * estimate.bytes)} — ")
        if estimate.enough_room:
            text.append("enough\n", "$text-success bold")
        else:
            text.append("NOT enough: free some space first\n", "$text-error bold")
    text.append("\nOriginals are never modified or deleted by the migration. ", "bold")
    text.append("Removing them later is a separate clean-up that first checks the backup byte "
                "for byte; rollback restores everything the migration changed.\n")
    return text


class BackupScreen(WizardScreen[bool | None]):
    STEP = 6
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "migrate", "Migrate now"),
        Binding("b", "toggle_backup", "Backup on/off"),
        Binding("escape", "back", "Back to plan"),
    ]

    def __init__(self, backup: bool = True) -> None:
        super().__init__()
        self.backup = backup
        self.estimate: BackupEstimate | None = None

    @property
    def plan(self) -> Plan:
        assert self.state.shown is not None
        return self.state.shown

    def compose(self) -> ComposeResult:
        yield StepHeader(6, "Backup", self.state.workspace)
        with Vertical(id="backup-body"):
            yield Static(id="backup-info")
            yield Static(id="backup-action")
        yield TotalsBar(id="totals")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(TotalsBar).show(self.plan.totals)
        self._draw()
        self._measure(self.backup)

    @background("measuring the backup and the free space", group="backup-estimate", exclusive=True)
    def _measure(self, backup: bool) -> None:
        estimate = backup_estimate(replace(self.plan, backup=backup), self.wizard.settings.disk_free)
        self.app.call_from_thread(self._measured, estimate)

    def _measured(self, estimate: BackupEstimate) -> None:
        if estimate.enabled == self.backup:
            self.estimate = estimate
            self._draw()

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        return [Way("r", "Measure again", lambda: self._measure(self.backup)),
                Way("m", "Migrate without knowing the free space", self._without_estimate)]

    def _without_estimate(self) -> None:
        self.estimate = BackupEstimate("", 0, 0, None, self.backup)
        self._draw()

    def _draw(self) -> None:
        self.query_one("#backup-info", Static).update(
            backup_text(self.plan, self.estimate, self.wizard.show_path).content())
        action = Parts()
        if self.plan.nothing_to_do:
            action.append("Nothing to migrate: ", "bold").append(
                "every session is skipped, blocked or already migrated. escape goes back.")
        else:
            action.append("enter", "bold reverse").append(
                f" migrates {plural(self.plan.totals.to_migrate, 'session')} "
                + ("with the backup" if self.backup else "WITHOUT a backup") + ";  ")
            action.append("b", "bold reverse").append(
                " turns the backup " + ("off" if self.backup else "on again"))
        self.query_one("#backup-action", Static).update(action.content())

    def action_toggle_backup(self) -> None:
        if not self.backup:
            self._set_backup(True)
            return
        body = Parts("Without a backup, the legacy files are not copied before migrating. ")
        body.append("They are still never modified, but a later clean-up cannot remove them "
                    "(it needs a checked backup) and nothing protects you from a mistake in them.\n\n")
        body.append("Migrate without a backup?", "bold")

        def answered(yes: bool) -> None:
            if yes:
                self._set_backup(False)

        self.post_message(Ask("Turn the backup off?", body.content(), "Turn it off", answered,
                              no="Keep the backup", danger=True))

    def _set_backup(self, on: bool) -> None:
        self.backup = on
        self.estimate = None
        self._draw()
        self._measure(on)

    def action_migrate(self) -> None:
        if self.plan.nothing_to_do:
            self.notify("Nothing to migrate.", timeout=3)
            return
        if self.estimate is not None and self.estimate.enough_room is False:
            self.notify("There is not enough free space for the backup and the new files.",
                        severity="error", timeout=5)
            return
        self.finish(self.backup)

    def action_back(self) -> None:
        self.finish(None)
