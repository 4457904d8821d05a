"""Step 1: choose the workspace, the agent id and the target (this workspace's .sessions/,
or today's OpenClaw and its state folder); see the inventory at a glance.

Looking at a big workspace takes a moment: the time it has taken is shown, escape stops
waiting, and an ``enter`` pressed meanwhile is remembered (the scan starts as soon as the
workspace turns out usable).  Dismisses with a ``WorkspaceChoice``; the navigation decides
whether that means a scan, or back to a plan already made of the same folder."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker

from migrate_tui.core.ids import is_valid_key
from migrate_tui.engine import Inventory, commands, inventory
from migrate_tui.engine.targets.openclaw_layout import default_state_dir
from migrate_tui.engine.workspace_info import complete_folder
from migrate_tui.tui.messages import InventoryReady, Way, WorkspaceChoice
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.relay import Later, Poller
from migrate_tui.tui.screen_base import WizardScreen
from migrate_tui.tui.widgets.inventory_panel import InventoryPanel
from migrate_tui.tui.widgets.key_bar import KeyBar
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.widgets.wizard_input import WizardInput
from migrate_tui.tui.workers import background

TYPING_DELAY = 0.25  # seconds after the last key in the path before the folder is looked at


class FolderSuggester(Suggester):
    """Completes the path field with folder names (→ or end accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_folder, value)


TARGETS = [("this workspace's .sessions/ (default)", "default"),
           ("today's OpenClaw (its doctor imports the files)", "openclaw")]


def agent_id_error(agent_id: str) -> str | None:
    if not agent_id:
        return "the agent id is empty"
    if not is_valid_key(f"agent:{agent_id}:main") or ":" in agent_id:
        return "the agent id may not contain ':' or white space"
    return None


class WorkspaceScreen(WizardScreen[WorkspaceChoice]):
    STEP = 1
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "scan", "Scan"),
        Binding("escape", "stop", "Stop looking, or back to the plan", show=False),
    ]

    def __init__(self, workspace: str, agent_id: str, known: Inventory | None = None,
                 *, plan_kept: bool = False) -> None:
        super().__init__()
        self.initial = workspace
        self.initial_agent = agent_id
        self.inventory: Inventory | None = known
        self.inventory_path: str | None = workspace if known is not None else None
        self.plan_kept = plan_kept  # a scan and plan of (initial, initial_agent) are kept
        self.enter_pending = False  # enter was pressed while the folder was being looked at
        self.loading_since: float | None = None
        self._typing: Later | None = None
        self._ticker: Poller | None = None
        self._looking_at: str | None = None

    def compose(self) -> ComposeResult:
        yield StepHeader(1, "Workspace")
        with Vertical(id="workspace-form"):
            with Horizontal(classes="form-row"):
                yield Label("Workspace folder", classes="form-label")
                yield WizardInput(self.initial, placeholder="~/.openclaw", suggester=FolderSuggester(),
                                  id="path", select_on_focus=False)
            yield Label("→ completes a folder name; the sessions are in its .sessions/ folder",
                        classes="form-hint")
            with Horizontal(classes="form-row"):
                yield Label("Agent id", classes="form-label")
                yield WizardInput(self.initial_agent, id="agent", select_on_focus=False)
            yield Label("a session no key points at gets the key agent:<agent id>:<session id>",
                        classes="form-hint")
            target = self.wizard.state.target
            with Horizontal(classes="form-row"):
                yield Label("Target", classes="form-label")
                yield Select(TARGETS, value="default" if target is None else "openclaw",
                             allow_blank=False, compact=True, id="target")
            with Horizontal(classes="form-row", id="openclaw-row"):
                yield Label("OpenClaw state", classes="form-label")
                yield WizardInput(default_state_dir() if target is None else target.state_dir,
                                  id="openclaw-state", select_on_focus=False)
            yield Label("files go to <state>/agents/<agent id>/sessions/, for "
                        "`openclaw doctor --session-sqlite import`", classes="form-hint",
                        id="openclaw-hint")
            yield Static(id="looking")
            yield InventoryPanel(id="inventory")
            with Horizontal(id="workspace-buttons"):
                yield Button("Scan", id="scan", variant="primary", disabled=True)
                yield Label("", id="scan-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._show_target_rows()
        self._typing = Later(self, TYPING_DELAY, lambda: self._look(self.path), time.monotonic)
        self._ticker = Poller(self, self._draw_looking, 4)
        path = self.query_one("#path", Input)
        path.focus()
        path.cursor_position = len(path.value)
        if self.inventory is not None:
            self.query_one(InventoryPanel).show(self.inventory, self.wizard.show_path)
            self._update_scan_button()
        self._look(self.path)  # again: the folder may have changed since

    @property
    def path(self) -> str:
        return self.query_one("#path", Input).value.strip()

    @property
    def agent_id(self) -> str:
        return self.query_one("#agent", Input).value.strip()

    # ------------------------------------------------------------ looking at the folder

    @on(Input.Changed, "#path")
    def _path_changed(self) -> None:
        if self.inventory_path == self.path or (self.loading_since is not None
                                                 and self._looking_at == self.path):
            return
        self.query_one("#scan", Button).disabled = True
        self.inventory = None
        self.inventory_path = None
        self.query_one(InventoryPanel).show(None, self.wizard.show_path)
        self._update_scan_button()
        if self._typing is not None:
            self._typing.poke()

    @on(Input.Changed, "#agent")
    @on(Input.Changed, "#openclaw-state")
    def _agent_changed(self) -> None:
        self._update_scan_button()

    @on(Select.Changed, "#target")
    def _target_changed(self) -> None:
        self._show_target_rows()
        self._update_scan_button()

    def _show_target_rows(self) -> None:
        openclaw = self.query_one("#target", Select).value == "openclaw"
        self.query_one("#openclaw-row").display = openclaw
        self.query_one("#openclaw-hint").display = openclaw

    def target(self) -> tuple[Any, str | None]:
        """(the OpenClaw target or None, why the choice cannot be used)."""
        if self.query_one("#target", Select).value != "openclaw":
            return None, None
        state = self.query_one("#openclaw-state", Input).value.strip()
        if not state:
            return None, "type OpenClaw's state folder"
        found = commands.openclaw_target(state, self.agent_id)
        if isinstance(found, commands.Refusal):
            return None, found.message
        return found, None

    def _look(self, path: str) -> None:
        if not path:
            return
        self._looking_at = path
        self.loading_since = time.monotonic()
        if self._ticker is not None:
            self._ticker.start()
        self._draw_looking()
        self._load_inventory(path)

    @background("looking at the workspace", group="inventory", exclusive=True)
    def _load_inventory(self, path: str) -> None:
        self.post_message(InventoryReady(path, inventory(path)))

    def on_inventory_ready(self, message: InventoryReady) -> None:
        if message.path != self.path or self.loading_since is None:
            message.stop()  # an answer nobody waits for any more: the app does not keep it
            return
        self._stop_looking()
        self.inventory = message.inventory
        self.inventory_path = message.path
        self.query_one(InventoryPanel).show(message.inventory, self.wizard.show_path)
        self._update_scan_button()
        if self.enter_pending:
            self.enter_pending = False
            self.action_scan()

    def _stop_looking(self) -> None:
        self.loading_since = None
        if self._ticker is not None:
            self._ticker.stop()
        self._draw_looking()

    def _draw_looking(self) -> None:
        widget = self.query_one("#looking", Static)
        if self.loading_since is None:
            widget.display = False
            return
        widget.display = True
        waited = time.monotonic() - self.loading_since
        text = Parts("Looking at the workspace", "bold")
        if not self.wizard.settings.steady:
            text.append(f" · {waited:.1f} s")
        text.append(" · escape stops", "$text-muted")
        if self.enter_pending:
            text.append(" · the scan starts as soon as this is done", "$text-accent")
        widget.update(text.content())

    def action_stop(self) -> None:
        if self.loading_since is None:
            if self.plan_kept:  # back to the plan kept, whatever was typed meanwhile
                self.finish(WorkspaceChoice(self.initial, self.initial_agent, self.wizard.state.target))
            return
        self.workers.cancel_group(self, "inventory")
        self.enter_pending = False
        self._stop_looking()
        self.query_one(InventoryPanel).show_stopped()
        self._update_scan_button()

    def ways_forward(self, worker: Worker[Any], error: BaseException) -> list[Way]:
        self._stop_looking()
        self.enter_pending = False
        self.query_one(InventoryPanel).show_failed(str(error))
        return [Way("r", "Look again", lambda: self._look(self.path)),
                Way("o", "Choose another folder", lambda: self.query_one("#path", Input).focus())]

    # ------------------------------------------------------------ on to the scan

    def _update_scan_button(self) -> None:
        inv = self.inventory
        problem = agent_id_error(self.agent_id)
        if inv is None:
            why = ("looking at the workspace…" if self.loading_since is not None
                   else "enter looks at the folder" if self.path else "type the workspace folder")
        elif inv.error:
            why = "choose another folder"
        elif not inv.sessions_dir_exists or inv.legacy_files == 0:
            why = "nothing to migrate here"
        else:
            why = problem or self.target()[1] or ""
        self.query_one("#scan", Button).disabled = bool(why)
        if why:
            hint = why
        elif self.plan_kept and self.path == self.initial and self.agent_id == self.initial_agent:
            hint = "enter returns to the plan (your decisions are kept)"
        else:
            hint = "enter or ctrl+s scans the workspace"
        self.query_one("#scan-hint", Label).update(hint)

    @on(Input.Submitted)
    @on(Button.Pressed, "#scan")
    def action_scan(self) -> None:
        if self.loading_since is not None or (self.inventory is None and self.path):
            self.enter_pending = True  # remembered: scan once the folder has been looked at
            if self.loading_since is None:
                self._look(self.path)
            self._draw_looking()
            return
        if self.query_one("#scan", Button).disabled:
            return
        self.finish(WorkspaceChoice(self.path, self.agent_id, self.target()[0]))
