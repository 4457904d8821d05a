"""Plain words for what a fix would do to a session (the fix dialog's previews)."""

from __future__ import annotations

from migrate_tui.engine import PlannedSession
from migrate_tui.tui.formatting import plural


def fix_effect(before: PlannedSession, after: PlannedSession) -> list[str]:
    """Lines saying what choosing the fix changes, most important first."""
    lines: list[str] = []
    if after.action == "migrate":
        line = f"migrates with {plural(after.message_count, 'message')}"
        gained = after.message_count - before.message_count
        if before.action != "migrate" and gained > 0:
            line += f": {plural(gained, 'message')} come back"
        elif gained < 0:
            line += f" ({plural(-gained, 'message')} fewer)"
        lines.append(line)
    elif after.action == "blocked":
        first = after.open_problems[0] if after.open_problems else None
        lines.append("still needs a decision" + (f": {first.message}" if first else ""))
    elif after.action == "done":
        lines.append("nothing to write: it is already migrated")
    lines += [note for note in after.notes if note not in before.notes]
    return lines


SKIP_EFFECT = ["not migrated: the file stays in .sessions/ (and in the backup); "
               "the agent will not see this session"]
