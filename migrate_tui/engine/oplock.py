"""The operation lock: one writing migrate-tui command at a time on a workspace.

``migrate``, ``rollback`` and ``cleanup`` (from the command line or the wizard) each hold
``.sessions/migrate-tui.lock`` for their whole run; a second one refuses at once
(``OperationBusy``, exit code 3), naming the holder's pid, its command and since when.  It is
separate from ``sessions.json.lock``, which the agent's writers share and which we hold only
for the merge.  The lock file records its holder and is held with flock(2) while it exists;
it is removed on release, so after a rollback nothing of ours remains outside the backup
folder.  A lock file whose holder is gone (killed, however) is reclaimed: the kernel dropped
its flock with it, which proves it.

Read-only commands (``verify``, a dry run, the wizard's first screen) ask
``operation_holder`` instead: the holder, or None.

Holding the lock also anchors ``.sessions/`` (``fsio.anchored``): every path inside it is
resolved through one descriptor for as long as the operation runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from migrate_tui.core import fsio
from migrate_tui.core.errors import OperationBusy, WorkspaceError
from migrate_tui.core.layout import Layout
from migrate_tui.engine.journal import now


@dataclass(frozen=True)
class OperationHolder:
    """Who holds the operation lock, as its record says."""

    command: str
    pid: int | None = None
    since: str | None = None
    host: str | None = None

    def describe(self) -> str:
        who = f"process {self.pid}" if self.pid else "a process"
        if self.host and self.host != socket.gethostname():
            who += f" on {self.host}"
        since = f", since {self.since}" if self.since else ""
        return f"{self.command} ({who}{since})"

    def busy_message(self, layout: Layout, what: str = "nothing was changed") -> str:
        return (f"another migrate-tui command is running on {layout.workspace}: "
                f"{self.describe()}; {what}. Run again when it has finished.")


_held = threading.local()  # this thread's holds: lock path → [fd, depth]


def _record(command: str) -> bytes:
    pid = os.getpid()
    return (json.dumps({"pid": pid, "host": socket.gethostname(), "start": fsio.process_start(pid),
                        "command": command, "since": now()}) + "\n").encode("ascii")


def _parse(record: bytes | None) -> tuple[OperationHolder, int | None] | None:
    if not record:
        return None
    try:
        value = json.loads(record)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("command"), str):
        return None
    pid = value.get("pid") if isinstance(value.get("pid"), int) else None
    start = value.get("start") if isinstance(value.get("start"), int) else None
    since = value.get("since") if isinstance(value.get("since"), str) else None
    host = value.get("host") if isinstance(value.get("host"), str) else None
    return OperationHolder(value["command"][:40], pid, since, host), start


def _not_a_lock(layout: Layout, exc: fsio.NotRegularFile) -> WorkspaceError:
    return WorkspaceError(f"{layout.oplock} is a {exc.kind}, not a lock file; it is not followed "
                          "or touched. Move it away and run again.")


@contextlib.contextmanager
def operation_lock(layout: Layout, command: str) -> Iterator[None]:
    """Hold the workspace's operation lock (and anchor ``.sessions/``) for the block.

    Raises ``OperationBusy`` at once when another command holds it, ``WorkspaceError`` when
    something else than a lock file is at its path.  Re-entrant within one thread (a command
    line that holds it around scan and apply); another thread of this process is refused
    like another process.  Without a ``.sessions`` folder there is nothing to protect: the
    block runs without a lock."""
    with fsio.anchored(layout.sessions_dir) as present:
        if not present:
            yield
            return
        holds: dict[str, list[int]] = _held.__dict__.setdefault("holds", {})
        mine = holds.get(layout.oplock)
        if mine is not None:
            mine[1] += 1
            try:
                yield
            finally:
                mine[1] -= 1
            return
        try:
            fd = fsio.hold_lock_file(layout.oplock, _record(command))
        except fsio.HeldLock as held:
            parsed = _parse(held.record)
            holder = parsed[0] if parsed else OperationHolder("another command")
            raise OperationBusy(holder.busy_message(layout), holder) from None
        except fsio.NotRegularFile as exc:
            raise _not_a_lock(layout, exc) from None
        holds[layout.oplock] = [fd, 1]
        try:
            yield
        finally:
            del holds[layout.oplock]
            # a lock file that cannot be removed is left behind, and reclaimed next time
            with contextlib.suppress(OSError):
                fsio.release_lock_file(layout.oplock, fd)


def holding(layout: Layout) -> bool:
    """Whether this very thread holds the workspace's operation lock."""
    return layout.oplock in _held.__dict__.get("holds", {})


def operation_holder(layout: Layout) -> OperationHolder | None:
    """The command holding the operation lock, or None (no lock, or one left by a process
    that is provably gone: its flock went with it).  Never waits and changes nothing.
    ``WorkspaceError`` when something else than a lock file is at its path; an I/O error is
    raised as it is."""
    try:
        found = fsio.lock_file_held(layout.oplock)
    except fsio.NotRegularFile as exc:
        raise _not_a_lock(layout, exc) from None
    except FileNotFoundError:
        return None
    if found is None or not found[0]:
        return None  # no lock, or one whose holder is gone (its flock went with it)
    if holding(layout):
        return None  # this very thread holds it
    parsed = _parse(found[1])
    return parsed[0] if parsed else OperationHolder("another command")


def refuse_if_busy(layout: Layout, what: str = "nothing was changed") -> None:
    """``OperationBusy`` when another command holds the operation lock: for what must not
    read a workspace another command is changing (a plan, verify)."""
    holder = operation_holder(layout)
    if holder is not None:
        raise OperationBusy(holder.busy_message(layout, what), holder)
