"""The wizard on a big workspace (``make bench`` calls ``measure_wizard``; 200,000 sessions
unless told otherwise): a synthetic scan (built in memory, no files; one session in 50 cut
short, one in 200 with a warning) handed to the real scan screen as if ``scan_workspace``
had just returned it, then keys pressed on the plan.

What is measured, in milliseconds of wall time:

* ``scan_end_to_plan_painted_ms``: from the scan's end to the first frame of the plan
  screen, which shows the plan's first rows while the rest is planned (tui/planning.py).
  Target: 1,000.  ``scan_end_to_whole_plan_shown_ms``: until every row, the filter counts
  and the totals are shown.
* ``keys``: each key's visible response, from the key event posted to the first frame drawn
  after the screen shows its effect (the frame times come from the app's own compositor;
  Pilot's waits for idleness are not counted).  Target: 100 each.  For a decision, the
  visible response is the row marked "… update", and "new plan shown" is until the rows,
  tabs and totals show the new plan; for a filter, a query or a sort, the tab or the sort
  mark and "listing…" are drawn at once, and "listed" is until the rows are (a worker).
* ``bulk_10000_ms``: 10,000 marked sessions skipped with one key, until the new plan is
  shown.  Target: 1,000.

Timings only; nothing is asserted.  On a machine shared with other work the figures are
noisy: run it alone, or compare runs made at the same time."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from textual import events

from migrate_tui.engine import Inventory, PhaseStarted, Progress, ScanResult, SessionScan
from migrate_tui.engine.model import ContentSummary, Problem, Severity

SIZE = (100, 32)
TARGETS = {"scan_end_to_plan_painted_ms": 1000, "key_ms": 100, "bulk_10000_ms": 1000}


def synthetic_scan(n: int) -> ScanResult:
    """``n`` sessions as a scan would describe them (one in 50 truncated, one in 200 with a
    warning), without a file on disk."""
    scan = ScanResult(workspace="/bench/workspace", sessions_dir="/bench/workspace/.sessions",
                      sessions_dir_exists=True, session_map_present=True)
    for i in range(n):
        sid = f"{i:08x}-0000-4000-8000-{i:012x}"
        name = f"{sid}.json"
        content = ContentSummary(readable=True, content_id=sid, message_count=10 + i % 30,
                                 entry_fields={"label": f"session {i}"}, not_carried=["created_at"],
                                 updated_at_ms=1_770_000_000_000 + i, created_at_ms=1_769_000_000_000)
        if i % 50 == 7:
            content = ContentSummary(problems=[Problem(
                "invalid_json", "invalid JSON at line 40, column 3: cut short", name,
                line=40, column=3, fixes=("salvage",))], salvage_count=4)
        elif i % 200 == 3:
            content.problems = [Problem("bom", "starts with a UTF-8 byte-order mark (removed)",
                                        name, Severity.WARNING)]
        key = f"agent:main:{'cron' if i % 7 == 0 else 'telegram'}:dm:{i}"
        scan.session_map[key] = sid
        scan.sessions.append(SessionScan(file_name=name, file_id=sid, size=2_000 + i % 5_000,
                                         sha256="0" * 64, content=content, keys=[key]))
    scan.total_bytes = sum(s.size for s in scan.sessions)
    return scan


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def _measure(n: int) -> dict[str, Any]:
    from migrate_tui.tui.app import MigrateApp
    from migrate_tui.tui.screens import scan as scan_module
    from migrate_tui.tui.screens import workspace as workspace_module
    from migrate_tui.tui.screens.fix import FixDialog
    from migrate_tui.tui.screens.plan import PlanScreen
    from migrate_tui.tui.settings import WizardSettings
    from migrate_tui.tui.widgets.session_table import SessionTable

    out: dict[str, Any] = {"sessions": n}
    start = time.perf_counter()
    scan = synthetic_scan(n)
    out["build_scan_ms"] = _ms(time.perf_counter() - start)
    gc.freeze()  # as the real scan's objects would be after it (the app freezes what it plans)
    scan_end: list[float] = []

    def scanned(workspace: str, *, on_event: Any, cancel: Any, workers: bool) -> ScanResult:
        on_event(PhaseStarted("scan", n))
        on_event(Progress("scan", n, n, scan.sessions[-1].file_name, scan.total_bytes))
        scan_end.append(time.perf_counter())  # here the real scan_workspace returns
        return scan

    def looked(path: str) -> Inventory:
        return Inventory(scan.workspace, scan.sessions_dir, True, legacy_files=n,
                         legacy_bytes=scan.total_bytes, session_map_keys=n)

    scan_module.scan_workspace = scanned  # type: ignore[assignment]
    workspace_module.inventory = looked  # type: ignore[assignment]
    app = MigrateApp("/bench/workspace", settings=WizardSettings(steady=True))
    frames: list[tuple[float, str]] = []
    display = app._display

    def recorded(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        frames.append((time.perf_counter(), type(screen).__name__))

    app._display = recorded  # type: ignore[method-assign]

    async def until(done: Callable[[], bool], limit: float = 60.0) -> float:
        """The time of the first frame drawn once ``done()`` holds."""
        deadline = time.perf_counter() + limit
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the wizard never got there (on {type(app.screen).__name__})")
            await asyncio.sleep(0.001)
        seen = time.perf_counter()
        while True:
            after = [t for t, _name in frames if t >= seen]
            if after:
                return after[0]
            if time.perf_counter() > deadline:
                raise TimeoutError("no frame was drawn")
            await asyncio.sleep(0.001)

    async def key(name: str, done: Callable[[], bool], character: str | None = None) -> float:
        await asyncio.sleep(0.05)  # the previous key's work has settled
        start = time.perf_counter()
        app.post_message(events.Key(name, character))
        return _ms(await until(done) - start)

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.post_message(events.Key("enter", "\r"))  # scan
        def plan_listed() -> bool:
            return isinstance(app.screen, PlanScreen) and bool(app.screen.query(SessionTable)) \
                and bool(app.screen.query_one(SessionTable).items)

        painted = await until(plan_listed)
        out["scan_end_to_plan_painted_ms"] = _ms(painted - scan_end[0])
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        table = screen.query_one(SessionTable)
        state = app.state
        whole = await until(lambda: state.planning is None and len(table.items) == n)
        out["scan_end_to_whole_plan_shown_ms"] = _ms(whole - scan_end[0])
        keys: dict[str, float] = {}

        keys["down"] = await key("down", lambda: table.cursor == 1)
        keys["j"] = await key("j", lambda: table.cursor == 2, "j")
        keys["pagedown"] = await key("pagedown", lambda: table.cursor > 5)
        keys["G (last row)"] = await key("G", lambda: table.cursor == n - 1, "G")
        keys["g (first row)"] = await key("g", lambda: table.cursor == 0, "g")
        keys["m (mark)"] = await key("m", lambda: len(table.marked) == 1, "m")
        keys["escape (marks cleared)"] = await key("escape", lambda: not table.marked)
        fid = table.current.file_id if table.current else ""
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        app.post_message(events.Key("space", " "))
        keys["space (skip: row pending)"] = _ms(await until(lambda: fid in table.pending) - start)
        keys["space: new plan shown"] = _ms(await until(
            lambda: state.plan is not None and state.plan.session(fid).action == "skip"
            and not table.pending) - start)
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        app.post_message(events.Key("u", "u"))
        keys["u (undo): new plan shown"] = _ms(await until(
            lambda: state.plan is not None and state.plan.session(fid).action != "skip"
            and not table.pending) - start)
        async def listing(name: str, character: str, shown: Callable[[], bool], label: str) -> None:
            """A key that lists the sessions again: its visible response (the tab, the sort
            mark or "listing…" drawn), then until the rows are listed (a worker)."""
            await asyncio.sleep(0.05)
            start = time.perf_counter()
            app.post_message(events.Key(name, character))
            keys[label] = _ms(await until(shown) - start)
            keys[label + ": listed"] = _ms(await until(lambda: shown() and not screen.listing) - start)

        await listing("2", "2", lambda: screen.filter == "problems", "2 (problems filter)")
        await listing("1", "1", lambda: screen.filter == "all", "1 (all)")
        await listing("s", "s", lambda: screen.view.sort == "status", "s (sort by status)")
        await listing("S", "S", lambda: screen.view.descending, "S (reverse)")
        for _ in range(6):  # back to the plan's order
            await key("s", lambda: True, "s")
        await until(lambda: not screen.listing)
        keys["slash (search field)"] = await key("slash", lambda: screen.query_one("#search").has_focus, "/")
        search = screen.query_one("#search")
        for ch in "key:*:cron:*":
            keys.setdefault("typing a query character (max)", 0.0)
            keys["typing a query character (max)"] = max(
                keys["typing a query character (max)"],
                await key(ch if ch.isalnum() else {":": "colon", "*": "asterisk"}[ch],
                          lambda c=ch: search.value.endswith(c), ch))
        await listing("enter", "\r", lambda: screen.search == "key:*:cron:*" and table.has_focus,
                      "enter (query applied)")
        keys["f (fix dialog)"] = await key("f", lambda: isinstance(app.screen, FixDialog), "f")
        keys["escape (fix dialog closed)"] = await key("escape", lambda: app.screen is screen)
        out["keys_ms"] = keys

        # a bulk decision: 10,000 marked sessions skipped with one key
        await key("slash", lambda: search.has_focus, "/")
        search.value = ""
        await key("enter", lambda: screen.search == "" and table.has_focus, "\r")
        await key("g", lambda: table.cursor == 0, "g")
        bulk = [ps.file_id for ps in table.items[:10_000]]
        table.marked = set(bulk)
        screen._marks_changed()
        start = time.perf_counter()
        app.post_message(events.Key("space", " "))
        pending = await until(lambda: bulk[-1] in table.pending)
        shown = await until(lambda: state.plan is not None and not table.pending
                            and state.plan.session(bulk[-1]).action == "skip")
        out["bulk_10000_pending_shown_ms"] = _ms(pending - start)
        out["bulk_10000_ms"] = _ms(shown - start)
        out["skipped_after_bulk"] = state.plan.totals.skipped if state.plan else None
        start = time.perf_counter()
        app.post_message(events.Key("u", "u"))
        undone = await until(lambda: state.plan is not None and not table.pending
                             and state.plan.totals.skipped == 0)
        out["bulk_10000_undo_ms"] = _ms(undone - start)
    out["slowest_key_ms"] = max(v for k, v in keys.items() if "new plan" not in k and "listed" not in k)
    out["targets"] = TARGETS
    return out


def measure_wizard(n: int = 200_000) -> dict[str, Any]:
    """Timings (milliseconds) of the wizard with ``n`` sessions."""
    return asyncio.run(_measure(n))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print(json.dumps(measure_wizard(count), indent=2))
