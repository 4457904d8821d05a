"""How the plan screen copes with a big workspace: a synthetic 50,000-session plan (built in
memory, no files), first paint, cursor moves, a page down, the jump to the end, a filter,
and the plan shown again after one decision: through Pilot (``skip_until_new_plan_shown_ms``,
which includes Pilot's idle waits) and directly from the key's action to the rows, tabs and
totals drawn again (``skip_direct_ms``, ``fix_direct_ms``, ``skip_in_problems_filter_direct_ms``).
``make bench`` calls ``measure_wizard``.  Timings only; nothing is asserted."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from migrate_tui.engine import MIGRATE, SKIP, ScanResult, SessionScan, build_plan
from migrate_tui.engine.model import ContentSummary, Problem, Severity
from migrate_tui.engine.plan import with_decision

SIZE = (100, 32)


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
        key = f"agent:main:telegram:dm:{i}"
        scan.session_map[key] = sid
        scan.sessions.append(SessionScan(file_name=name, file_id=sid, size=2_000 + i % 5_000,
                                         sha256="0" * 64, content=content, keys=[key]))
    scan.total_bytes = sum(s.size for s in scan.sessions)
    return scan


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


async def _measure(n: int) -> dict[str, Any]:
    from migrate_tui.tui.app import MigrateApp
    from migrate_tui.tui.screens.plan import PlanScreen
    from migrate_tui.tui.settings import WizardSettings
    from migrate_tui.tui.widgets.session_table import SessionTable

    out: dict[str, Any] = {"sessions": n}
    start = time.perf_counter()
    scan = synthetic_scan(n)
    out["build_scan_ms"] = _ms(start)
    start = time.perf_counter()
    plan = build_plan(scan, "main")
    out["build_plan_ms"] = _ms(start)
    start = time.perf_counter()
    with_decision(plan, scan.sessions[n // 2].file_id, SKIP)
    out["with_decision_ms"] = _ms(start)

    app = MigrateApp("/bench/workspace", settings=WizardSettings(steady=True))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        app.scan_done(scan, plan)  # what the scan screen calls when the scan is over
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        out["first_paint_ms"] = _ms(start)
        table = app.screen.query_one(SessionTable)

        height = table.scrollable_content_region.height
        start = time.perf_counter()
        for _ in range(500):  # what a cursor key costs the widget: move, then redraw the page
            table.action_cursor_down()
            for y in range(height):
                table.render_line(y)
        out["cursor_move_and_redraw_ms"] = round(_ms(start) / 500, 3)

        start = time.perf_counter()
        for _ in range(10):
            await pilot.press("down")
        # includes Pilot's own wait for the app to go idle (~80 ms a key, whatever the size)
        out["key_roundtrip_via_pilot_ms"] = round(_ms(start) / 10, 1)

        start = time.perf_counter()
        await pilot.press("pagedown")
        out["page_down_via_pilot_ms"] = _ms(start)

        start = time.perf_counter()
        await pilot.press("end")
        out["end_via_pilot_ms"] = _ms(start)
        out["cursor_at_end"] = table.cursor == n - 1

        start = time.perf_counter()
        await pilot.press("2")
        out["filter_problems_via_pilot_ms"] = _ms(start)
        out["problems_listed"] = len(table.items)
        await pilot.press("1")

        start = time.perf_counter()
        await pilot.press("space")  # the plan is rebuilt in a thread worker
        await app.workers.wait_for_complete()
        await pilot.pause()
        out["skip_until_new_plan_shown_ms"] = _ms(start)
        out["skipped_after"] = app.plan.totals.skipped

        # The same without Pilot's idle waits (~50-100 ms a key at any size): from the key's
        # action to the new plan in the table, filter tabs and totals, the page drawn again.
        screen = app.screen
        assert isinstance(screen, PlanScreen)

        async def shown(decide: Any) -> float:
            start = time.perf_counter()
            decide()
            await app.workers.wait_for_complete()  # the replan, then the screen's update
            for y in range(height):
                table.render_line(y)
            screen.query_one("#filter-tabs").render()
            screen.query_one("#totals").render()
            return _ms(start)

        await pilot.press("home")
        out["skip_direct_ms"] = await shown(screen.action_toggle_skip)
        fid = table.current.file_id
        out["fix_direct_ms"] = await shown(  # what the fix dialog's choice does
            lambda: app.decide(fid, app.decisions.get(fid, MIGRATE).with_fix("salvage")))
        await pilot.press("2")  # problems; skipping one takes it out of the filter
        fid = table.current.file_id
        out["skip_in_problems_filter_direct_ms"] = await shown(screen.action_toggle_skip)
        out["skipped_row_kept_in_filter"] = (table.current.file_id == fid
                                             and table.current.action == "skip")
        await pilot.press("1")
    return out


def measure_wizard(n: int = 200_000) -> dict[str, Any]:
    """Timings (milliseconds) of the plan screen with ``n`` sessions."""
    return asyncio.run(_measure(n))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    print(json.dumps(measure_wizard(count), indent=2))
