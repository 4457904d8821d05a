"""Step 7: progress (relayed, throttled events; cancel; quitting during apply) and the exit
codes of the ways apply can end."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from conftest import SIZE, make_app, plan_to_backup, settle
from screen_text import screen_text
from textual.widgets import ProgressBar

from migrate_tui.engine import LogLine, PhaseStarted, Progress, apply_plan
from migrate_tui.tui.messages import EngineEvents
from migrate_tui.tui.overall_progress import OverallProgress
from migrate_tui.tui.relay import EventRelay
from migrate_tui.tui.screens import progress as progress_module
from migrate_tui.tui.screens.progress import ProgressScreen
from migrate_tui.tui.screens.result import ResultScreen


class Target:
    def __init__(self) -> None:
        self.posted: list[EngineEvents] = []

    def post_message(self, message: EngineEvents) -> bool:
        self.posted.append(message)
        return True


def test_the_relay_posts_once_per_batch_and_folds_progress() -> None:
    target = Target()
    now = [100.0]
    relay = EventRelay(target, max_rate=20, clock=lambda: now[0])  # type: ignore[arg-type]
    relay(PhaseStarted("transcripts", 1000))
    for n in range(1, 1001):
        relay(Progress("transcripts", n, 1000, f"s{n}"))
    relay(LogLine("warning", "careful"))
    relay(Progress("transcripts", 1000, 1000, "last"))
    assert len(target.posted) == 1  # one message for 1003 events
    events = relay.drain()
    assert events == [PhaseStarted("transcripts", 1000), Progress("transcripts", 1000, 1000, "s1000"),
                      LogLine("warning", "careful"), Progress("transcripts", 1000, 1000, "last")]
    assert abs(relay.wait_before_drain() - 0.05) < 1e-9  # at most 20 drains a second
    now[0] += 0.05
    assert relay.wait_before_drain() == 0
    relay(Progress("verify", 1, 2))
    assert len(target.posted) == 2


def test_overall_progress_spans_the_phases() -> None:
    overall = OverallProgress({"backup": 10, "transcripts": 8, "index": 1, "verify": 8})
    assert overall.total == 27 and overall.completed == 0
    overall.start("backup", 12)
    overall.advance("backup", 6, 12)
    assert overall.completed == 6 and overall.state_of("backup") == "running"
    overall.start("transcripts", 8)
    assert overall.completed == 12 and overall.state_of("backup") == "done"
    assert overall.state_of("verify") == "waiting"
    overall.advance("index", 1, 1)
    assert overall.completed == 12 + 8 + 1
    overall.finish()
    assert overall.completed == overall.total


async def open_backup(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await plan_to_backup(app, pilot)


async def test_progress_screen_draws_phase_item_and_log(demo) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        screen = ProgressScreen(autostart=False)
        await app.push_screen(screen)
        await pilot.pause()
        screen.show_events([PhaseStarted("backup", 19), Progress("backup", 19, 19, "session_map.json"),
                            PhaseStarted("transcripts", 13), Progress("transcripts", 5, 13, "legacy-notes"),
                            LogLine("warning", "something to note")])
        await pilot.pause()
        text = screen_text(app)
        assert "✓ backup" in text and "▶ transcripts" in text
        assert "transcripts: 5 of 13" in text and "legacy-notes" in text
        assert "something to note" in text
        bar = screen.query_one(ProgressBar)
        assert bar.progress == 24 and bar.total == 19 + 13 + 1 + 13
        await pilot.press("escape")
        assert app.cancel.is_set()
        assert "Cancelling" in screen_text(app)


async def test_quitting_during_apply_cancels_at_a_safe_point(demo, monkeypatch) -> None:
    started = threading.Event()

    def waiting_apply(plan, *, on_event, cancel, lock_timeout, workers):  # noqa: ANN001
        started.set()
        assert cancel.wait(20), "quitting must set the cancel flag"
        return apply_plan(plan, on_event=on_event, cancel=cancel, lock_timeout=lock_timeout,
                          workers=workers)

    monkeypatch.setattr(progress_module, "apply_plan", waiting_apply)
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert started.wait(10)
        assert isinstance(app.screen, ProgressScreen)
        await pilot.press("ctrl+q")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.cancel.is_set()
    assert app.outcome is not None and app.outcome.result is not None
    assert app.outcome.result.cancelled
    assert not (folder / "sessions.json").exists()  # the index is never half written
    assert app.return_code == app.outcome.exit_code != 0


async def test_a_held_lock_ends_with_exit_code_3(demo) -> None:
    folder = Path(demo.sessions_dir)
    (folder / "sessions.json.lock").write_text(f"{os.getpid()}\n")  # a live owner: us
    app = make_app(lock_timeout=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, ResultScreen)
        assert "held by another process" in screen_text(app)
        await pilot.press("q")
    assert app.return_code == 3
    assert not (folder / "sessions.json").exists()
