"""Step 1: choose the workspace and the agent id; see the inventory at a glance."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label

from migrate_tui.core.ids import is_valid_key
from migrate_tui.engine import inventory
from migrate_tui.engine.report import EXIT_OK, EXIT_USAGE
from migrate_tui.engine.wizard_support import complete_folder
from migrate_tui.tui.messages import InventoryReady
from migrate_tui.tui.widgets.inventory_panel import InventoryPanel
from migrate_tui.tui.widgets.step_header import StepHeader
from migrate_tui.tui.widgets.wizard_input import WizardInput


class FolderSuggester(Suggester):
    """Completes the path field with folder names (→ or end accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_folder, value)


def agent_id_error(agent_id: str) -> str | None:
    if not agent_id:
        return "the agent id is empty"
    if not is_valid_key(f"agent:{agent_id}:main") or ":" in agent_id:
        return "the agent id may not contain ':' or white space"
    return None


class WorkspaceScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "scan", "Scan"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StepHeader(1, "Workspace")
        with Vertical(id="workspace-form"):
            with Horizontal(classes="form-row"):
                yield Label("Workspace folder", classes="form-label")
                yield WizardInput(self.app.workspace_label, placeholder="~/.openclaw",
                                  suggester=FolderSuggester(), id="path")
            yield Label("→ completes a folder name; the sessions are in its .sessions/ folder",
                        classes="form-hint")
            with Horizontal(classes="form-row"):
                yield Label("Agent id", classes="form-label")
                yield WizardInput(self.app.agent_id, id="agent")
            yield Label("a session no key points at gets the key agent:<agent id>:<session id>",
                        classes="form-hint")
            yield InventoryPanel(id="inventory")
            with Horizontal(id="workspace-buttons"):
                yield Button("Scan", id="scan", variant="primary", disabled=True)
                yield Label("", id="scan-hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()
        self._load_inventory(self.path)

    @property
    def path(self) -> str:
        return self.query_one("#path", Input).value.strip()

    @property
    def agent_id(self) -> str:
        return self.query_one("#agent", Input).value.strip()

    @on(Input.Changed, "#path")
    def _path_changed(self) -> None:
        self.query_one("#scan", Button).disabled = True
        self.app.inventory = None
        self.query_one(InventoryPanel).show(None, self.app.show_path)
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.25, lambda: self._load_inventory(self.path))

    @on(Input.Changed, "#agent")
    def _agent_changed(self) -> None:
        self._update_scan_button()

    @work(thread=True, exclusive=True, group="inventory", exit_on_error=False)
    def _load_inventory(self, path: str) -> None:
        if not path:
            return
        self.post_message(InventoryReady(path, inventory(path)))

    def on_inventory_ready(self, message: InventoryReady) -> None:
        if message.path != self.path:
            return
        self.app.inventory = message.inventory
        self.app.workspace_label = message.path
        self.app.quit_code = EXIT_USAGE if message.inventory.error else EXIT_OK
        self.query_one(InventoryPanel).show(message.inventory, self.app.show_path)
        self._update_scan_button()

    def _update_scan_button(self) -> None:
        inv = self.app.inventory
        problem = agent_id_error(self.agent_id)
        if inv is None:
            why = "looking at the workspace…" if self.path else "type the workspace folder"
        elif inv.error:
            why = "choose another folder"
        elif not inv.sessions_dir_exists or inv.legacy_files == 0:
            why = "nothing to migrate here"
        else:
            why = problem or ""
        self.query_one("#scan", Button).disabled = bool(why)
        self.query_one("#scan-hint", Label).update(why or "enter or ctrl+s scans the workspace")

    @on(Input.Submitted)
    @on(Button.Pressed, "#scan")
    def action_scan(self) -> None:
        if self.query_one("#scan", Button).disabled:
            return
        self.app.start_scan(self.path, self.agent_id)
