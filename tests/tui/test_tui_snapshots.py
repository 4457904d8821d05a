"""Snapshots (SVG) of every step at 100×32, and of the busy and the new screens at 80×24
(marks, the bulk fix dialog, a failure, the plan after a partial migration, waiting for a
lock, a rollback under way and after it), deterministic:
the demo workspace opened as ``demo``, a mock clock, no blinking cursor, fixed free space.
Update with ``pytest tests/tui/test_tui_snapshots.py --snapshot-update`` after checking
the new pictures."""

from __future__ import annotations

import pytest

from scripts.screenshots import SIZE, STEPS, screenshot_app


def run(step: str):
    return lambda pilot: STEPS[step](pilot.app, pilot)


@pytest.mark.parametrize("step", list(STEPS))
def test_step(step: str, demo, snap_compare) -> None:
    assert snap_compare(screenshot_app(), terminal_size=SIZE, run_before=run(step))


@pytest.mark.parametrize("step", ["1-workspace", "2-scan", "3-plan", "5-fix", "7-progress", "8-result",
                                  "9-help", "10-bulk", "11-bulk-fix", "12-failure", "13-continue",
                                  "14-lock-wait", "15-rolling-back", "16-rolled-back"])
def test_step_at_80x24(step: str, demo, snap_compare) -> None:
    assert snap_compare(screenshot_app(), terminal_size=(80, 24), run_before=run(step))


def test_plan_in_the_light_theme(demo, snap_compare) -> None:
    app = screenshot_app()

    async def light_plan(pilot) -> None:
        pilot.app.theme = "textual-light"
        await STEPS["3-plan"](pilot.app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=light_plan)
