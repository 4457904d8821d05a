"""Step 7 and every long operation: events relayed from worker threads and drawn on a
repeating timer (the cause of the frozen progress, and its fix), the time left from the
measured speed, cancel, quitting during apply, and the exit codes of the ways apply ends."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from textual import _time as textual_time
from textual.app import App
from textual.clock import Clock, MockClock

from migrate_tui.engine import LogLine, PhaseStarted, Progress, commands
from migrate_tui.tui.relay import EventRelay
from migrate_tui.tui.screens.lock_wait import LockWaitScreen
from migrate_tui.tui.screens.progress import ProgressScreen
from migrate_tui.tui.screens.result import ResultScreen
from migrate_tui.tui.throughput import Meter, Phase, duration
from tests.tui.screen_text import screen_text
from tests.tui.tui_support import SIZE, held_until_cancelled, make_app, plan_to_backup, settle


def test_the_relay_folds_progress_and_keeps_everything_else() -> None:
    relay = EventRelay()
    relay(PhaseStarted("transcripts", 1000))
    for n in range(1, 1001):
        relay(Progress("transcripts", n, 1000, f"s{n}"))
    relay(LogLine("warning", "careful"))
    relay(Progress("transcripts", 1000, 1000, "last"))
    assert relay.drain() == [PhaseStarted("transcripts", 1000), Progress("transcripts", 1000, 1000, "s1000"),
                             LogLine("warning", "careful"), Progress("transcripts", 1000, 1000, "last")]
    assert relay.drain() == []


async def test_a_one_shot_timer_that_starts_late_never_fires_a_repeating_one_does(monkeypatch) -> None:
    """The cause of the progress that stood still for 80 s: Textual skips a one-shot timer
    whose deadline has passed when its task first reads the clock (here the clock jumps, as
    when the UI thread loses the processor for longer than the delay), and never fires it.
    The screens now draw on a repeating timer, which only skips a tick."""
    real = textual_time.get_time
    reads: dict[int, int] = {}  # timer task frame → clock reads

    def late_clock() -> float:
        """From its second read on, a timer's task sees the clock 1 s late."""
        frame = sys._getframe(1)
        if frame.f_code.co_name != "_run":
            return real()
        reads[id(frame)] = reads.get(id(frame), 0) + 1
        return real() + (1.0 if reads[id(frame)] >= 2 else 0.0)

    fired = {"once": 0, "repeating": 0}
    app = App()
    async with app.run_test() as pilot:
        monkeypatch.setattr(textual_time, "get_time", late_clock)
        app.set_timer(0.01, lambda: fired.__setitem__("once", fired["once"] + 1))
        await pilot.pause(0.3)
        timer = app.set_interval(0.01, lambda: fired.__setitem__("repeating", fired["repeating"] + 1))
        await pilot.pause(0.3)
        timer.stop()
        monkeypatch.setattr(textual_time, "get_time", real)
    assert fired["once"] == 0 and fired["repeating"] > 0


async def test_events_from_a_worker_thread_are_drawn_without_any_message(demo) -> None:
    """A thread calls the relay and nothing else: the screen's repeating timer draws it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        screen = ProgressScreen(app.state.plan, app.state.cancel, autostart=False)
        await app.push_screen(screen)
        await pilot.pause()
        relay = screen.start_drawing()
        thread = threading.Thread(target=lambda: [relay(PhaseStarted("backup", 19)),
                                                  relay(Progress("backup", 11, 19, "session_map.json"))])
        thread.start()
        thread.join()
        for _ in range(20):
            await pilot.pause(0.05)
            if "11 of 19 files" in screen_text(app):
                break
        assert "backup: 11 of 19 files" in screen_text(app)
        screen.stop_drawing()


def meter(clock: MockClock) -> Meter:
    return Meter([Phase("backup", 100, 100_000_000, 1.0), Phase("transcripts", 100, 100_000_000, 2.0),
                  Phase("verify", 100, 0, 0.1)], lambda: clock.time)


def test_the_time_left_comes_from_the_measured_speed_of_what_is_left() -> None:
    clock = MockClock()
    m = meter(clock)
    m.start("backup", 100, 100_000_000)
    clock.set_time(1.0)
    m.advance("backup", 40, 1_000_000)
    assert m.seconds_left() is None  # not before the warm-up: the first guess was hours off
    clock.set_time(4.0)
    m.advance("backup", 50, 10_000_000)  # 50 files/4 s, 10 MB/4 s: the bytes are what binds
    left = m.seconds_left()
    assert left is not None
    backup_left = 90_000_000 / (10_000_000 / 4)  # 36 s by bytes (50 files would take 4 s)
    transcripts_left = 100_000_000 / (10_000_000 / 4 / 2)  # not started: twice as dear
    verify_left = 100 / (50 / 4 / 0.1)  # counted in files
    assert abs(left - (backup_left + transcripts_left + verify_left)) < 1e-6
    rates = m.rates()
    assert rates is not None and rates[0] == 12.5 and rates[1] == 2_500_000
    fraction = m.fraction()
    assert abs(fraction - 4 / (4 + left)) < 1e-9  # the bar says what the estimate says
    clock.set_time(5.0)
    m.advance("backup", 50, 10_000_000)  # stalled: the estimate grows, the bar stays
    assert m.fraction() == fraction
    m.start("transcripts", 100, 100_000_000)
    assert m.state_of("backup") == "done" and m.state_of("transcripts") == "running"
    m.finish()
    assert m.fraction() == 1.0 and m.seconds_left() == 0.0


def test_durations_read_well() -> None:
    assert duration(0.42) == "0.4 s" and duration(12.4) == "12 s"
    assert duration(185) == "3 min 05 s" and duration(3720) == "1 h 02 min"


async def open_backup(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await plan_to_backup(app, pilot)


async def test_progress_screen_draws_phases_speed_time_left_and_log(demo) -> None:
    app = make_app()
    clock = app.settings.clock
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        screen = ProgressScreen(app.state.plan, app.state.cancel, autostart=False)
        await app.push_screen(screen)
        await pilot.pause()
        screen.show_events([PhaseStarted("backup", 19), Progress("backup", 19, 19, "session_map.json"),
                            PhaseStarted("transcripts", 13, 130_000)])
        clock.set_time(3.0)
        screen.show_events([Progress("transcripts", 5, 13, "legacy-notes", 50_000),
                            LogLine("warning", "something to note")])
        await pilot.pause()
        text = screen_text(app)
        assert "✓ backup" in text and "▶ transcripts" in text
        assert "transcripts: 5 of 13 files · 50.0 kB of 130.0 kB" in text
        assert "1.7 files/s · 16.7 kB/s" in text  # 5 files and 50 kB in 3 s
        assert "3.0 s spent" in text and "left" in text
        assert "legacy-notes" in text and "something to note" in text
        await pilot.press("escape")
        assert app.state.cancel.is_set()
        assert "Cancelling" in screen_text(app)


async def test_quitting_during_apply_says_what_it_waits_for_and_stops_safely(demo, monkeypatch) -> None:
    started = threading.Event()
    release = threading.Event()

    real_migrate = commands.migrate

    waiting_migrate = held_until_cancelled(
        real_migrate, [PhaseStarted("backup", 19), Progress("backup", 4, 19, "session_map.json")],
        started, release, "quitting must set the cancel flag")

    monkeypatch.setattr(commands, "migrate", waiting_migrate)
    folder = Path(demo.sessions_dir)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        await pilot.press("enter")
        assert started.wait(10)
        await pilot.pause(0.2)
        assert isinstance(app.screen, ProgressScreen)
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "Quitting: waiting for the backup copies in hand to be checked (4 of 19)" in text
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.state.cancel.is_set()
    assert app.state.outcome is not None and app.state.outcome.result is not None
    assert app.state.outcome.result.cancelled
    assert not (folder / "sessions.json").exists()  # the index is never half written
    assert app.return_code == app.state.outcome.exit_code == 5  # cancelled (EXIT_CANCELLED), not 1


async def test_a_lock_taken_after_the_look_is_waited_for_and_ends_with_exit_code_3(demo, monkeypatch) -> None:
    """The wizard looks at the locks before it starts; one taken right after is met by
    apply before it writes anything: back to waiting, not a failed run."""
    folder = Path(demo.sessions_dir)
    real_migrate = commands.migrate

    def lock_taken_first(plan, **options):
        (folder / "sessions.json.lock").write_text(f"{os.getpid()}\n")  # a live owner: us
        return real_migrate(plan, **options)

    monkeypatch.setattr(commands, "migrate", lock_taken_first)
    app = make_app(lock_timeout=0.3, lock_retry=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        assert isinstance(app.screen, LockWaitScreen), type(app.screen).__name__
        assert "sessions.json.lock is held by another process" in screen_text(app)
        assert app.state.outcome is None  # no result: the run did not start
        await pilot.press("ctrl+q")
    assert app.return_code == 3
    assert not (folder / "sessions.json").exists()
    assert not list(folder.glob("*.jsonl"))  # no transcript written


async def test_the_result_says_how_long_it_took(demo) -> None:
    app = make_app(clock=Clock())  # the real one
    async with app.run_test(size=SIZE) as pilot:
        await open_backup(app, pilot)
        begun = time.monotonic()
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        took = time.monotonic() - begun
        assert isinstance(app.screen, ResultScreen)
        outcome = app.state.outcome
        assert outcome is not None and outcome.elapsed is not None and 0 < outcome.elapsed < took
        assert f"Took:             {duration(outcome.elapsed)}" in screen_text(app)
