"""The workspace at a glance, before scanning: counts from ``inventory()``."""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content
from textual.widgets import Static

from migrate_tui.engine import Inventory
from migrate_tui.tui.formatting import human_bytes, plural
from migrate_tui.tui.parts import Parts


def _count(value: int | None, missing: str) -> str:
    if value is None:
        return missing
    if value < 0:
        return "cannot be read"
    return f"{value:,}"


def inventory_text(inv: Inventory | None, show_path: Callable[[str], str]) -> Content:
    text = Parts()
    if inv is None:
        return Parts("Looking at the workspace…", "italic $text-muted").content()
    if inv.error:
        text.append("✗ This workspace cannot be used\n", style="$text-error bold")
        text.append(inv.error)
        return text.content()
    if not inv.sessions_dir_exists:
        text.append("Nothing to migrate", style="bold")
        text.append(f": {show_path(inv.sessions_dir)} does not exist, so there are no legacy "
                    "sessions here.")
        return text.content()
    rows = [
        ("Legacy session files", f"{inv.legacy_files:,} ({human_bytes(inv.legacy_bytes)})"),
        ("Keys in session_map.json", _count(inv.session_map_keys, "no session_map.json")),
        ("Entries in sessions.json", _count(inv.store_entries, "none yet (no sessions.json)")),
        ("Transcripts (.jsonl)", f"{inv.transcripts:,}"),
        ("Earlier backups", plural(inv.backup_files, "file") + " in backup_old_format/"
         if inv.backup_present else "none"),
        ("Lock (sessions.json.lock)", "free" if inv.lock_holder is None else
         f"held by pid {inv.lock_holder}" if inv.lock_holder > 0 else "held (owner unknown)"),
    ]
    if inv.migrated_before:
        rows.append(("Earlier migration", "recorded: it can be rolled back"))
    if inv.interrupted_runs:
        rows.append(("Interrupted runs", f"{inv.interrupted_runs}: migrating again finishes them"))
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        text.append(f"{label + ':':<{width}}", style="bold")
        text.append(value + "\n")
    if inv.recently_changed:
        names = ", ".join(inv.recently_changed[:3]) + (" …" if len(inv.recently_changed) > 3 else "")
        text.append(f"! {plural(len(inv.recently_changed), 'file')} changed in the last minute "
                    f"({names}): the agent may still be running. Stop it before migrating.\n",
                    style="$text-warning bold")
    if inv.legacy_files == 0:
        text.append("Nothing to migrate: there are no legacy session files.", style="bold")
    return text.content().rstrip()


class InventoryPanel(Static):
    def show(self, inv: Inventory | None, show_path: Callable[[str], str]) -> None:
        self.update(inventory_text(inv, show_path))

    def show_stopped(self) -> None:
        self.update(Parts("Stopped looking at the workspace. ", "bold").append(
            "enter looks again (and then scans); you may also type another folder.").content())

    def show_failed(self, error: str) -> None:
        self.update(Parts("✗ The workspace could not be looked at\n", "$text-error bold").append(error)
                    .content())
