"""Progress across the phases of a long operation (scan → plan; backup → transcripts → index
→ verify): how much is done, how fast it goes (files/s and MB/s, measured over the last
seconds), and how long the rest will take.

The remaining time of a phase is its remaining files at the measured files/s or its
remaining bytes at the measured bytes/s, whichever is longer (a phase is bound by one or
the other).  A phase that has not started yet is estimated from the rates of the phase
before it and how much dearer a file of it is (``cost``); once it runs, its own rates
replace the guess.  No estimate is given before a phase has run for ``WARM_UP`` seconds:
the first seconds (worker processes starting, caches filling) say little, and an early
guess from them was off by hours.  The fraction shown is the time spent over the time spent
plus the time left, so the bar and the estimate always agree, and it never goes back.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

from migrate_tui.tui.formatting import human_bytes

WINDOW = 15.0  # seconds of samples the rates are measured over
WARM_UP = 2.0  # seconds a phase runs before its rates are trusted
MIN_SPAN = 0.5  # seconds between the samples a rate is measured from, at least


@dataclass
class Phase:
    name: str
    files: int = 0  # items in the phase
    bytes: int = 0  # their size (0: the phase is counted in files only)
    cost: float = 1.0  # how long a file takes, relative to the first phase (a guess)
    files_done: int = 0
    bytes_done: int = 0
    started: float | None = None
    ended: float | None = None
    samples: collections.deque[tuple[float, int, int]] = field(default_factory=collections.deque)

    @property
    def files_left(self) -> int:
        return max(0, self.files - self.files_done)

    @property
    def bytes_left(self) -> int:
        return max(0, self.bytes - self.bytes_done)

    def rates(self, now: float) -> tuple[float, float] | None:
        """(files/s, bytes/s) over the last ``WINDOW`` seconds; None until measurable."""
        if self.started is None or not self.samples or now - self.started < WARM_UP:
            return None
        t1, f1, b1 = self.samples[-1]
        t0, f0, b0 = self.samples[0]
        if t1 - t0 < MIN_SPAN or f1 == f0:
            return None
        return (f1 - f0) / (t1 - t0), (b1 - b0) / (t1 - t0)

    def seconds_left(self, rates: tuple[float, float]) -> float:
        files_per_s, bytes_per_s = rates
        by_files = self.files_left / files_per_s if files_per_s > 0 else 0.0
        by_bytes = self.bytes_left / bytes_per_s if self.bytes and bytes_per_s > 0 else 0.0
        return max(by_files, by_bytes)


class Meter:
    """The phases of one operation, in order; times come from ``clock`` (a mock in tests)."""

    def __init__(self, phases: list[Phase], clock: Callable[[], float]) -> None:
        self.phases = {p.name: p for p in phases}
        self.order = [p.name for p in phases]
        self.clock = clock
        self.started = clock()
        self.ended: float | None = None
        self.current: str | None = None
        self._shown_fraction = 0.0

    # ------------------------------------------------------------ events

    def start(self, name: str, files: int, bytes_: int | None = None) -> None:
        now = self.clock()
        if name not in self.phases:
            self.phases[name] = Phase(name)
            self.order.append(name)
        for earlier in self.order[: self.order.index(name)]:  # a phase that started the next is over
            self._close(self.phases[earlier], now)
        phase = self.phases[name]
        phase.files = files
        if bytes_ is not None:
            phase.bytes = bytes_
        phase.files_done = phase.bytes_done = 0
        phase.started = now
        phase.samples.clear()
        phase.samples.append((now, 0, 0))
        self.current = name

    def advance(self, name: str, files_done: int, bytes_done: int | None = None,
                files: int | None = None) -> None:
        phase = self.phases.get(name)
        if phase is None or phase.started is None or name != self.current:
            self.start(name, files if files is not None else 0)
            phase = self.phases[name]
        now = self.clock()
        if files is not None:
            phase.files = files
        phase.files_done = min(files_done, phase.files) if phase.files else files_done
        if bytes_done is not None:
            phase.bytes_done = min(bytes_done, phase.bytes) if phase.bytes else bytes_done
        phase.samples.append((now, phase.files_done, phase.bytes_done))
        while len(phase.samples) > 2 and now - phase.samples[1][0] > WINDOW:
            phase.samples.popleft()

    def finish(self) -> None:
        now = self.clock()
        for phase in self.phases.values():
            if phase.started is not None:
                self._close(phase, now)
        self.ended = now

    @staticmethod
    def _close(phase: Phase, now: float) -> None:
        if phase.ended is None:
            phase.files_done, phase.bytes_done = phase.files, phase.bytes
            phase.ended = now if phase.started is not None else None

    # ------------------------------------------------------------ figures

    def state_of(self, name: str) -> str:
        """``done``, ``running`` or ``waiting``."""
        phase = self.phases[name]
        if phase.ended is not None or (self.ended is not None and phase.started is not None):
            return "done"
        return "running" if name == self.current else "waiting"

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else self.clock()) - self.started

    def rates(self) -> tuple[float, float] | None:
        """files/s and bytes/s of the phase running now (None until measured)."""
        if self.current is None:
            return None
        return self.phases[self.current].rates(self.clock())

    def seconds_left(self) -> float | None:
        """The time the rest will take; None while it cannot be estimated yet."""
        if self.ended is not None:
            return 0.0
        if self.current is None:
            return None
        now = self.clock()
        at = self.order.index(self.current)
        known: tuple[float, float, float] | None = None  # (files/s, bytes/s, cost) last measured
        total = 0.0
        for name in self.order[at:]:
            phase = self.phases[name]
            rates = phase.rates(now) if phase.started is not None else None
            if rates is not None:
                known = (*rates, phase.cost)
                total += phase.seconds_left(rates)
            elif known is not None:
                factor = known[2] / phase.cost if phase.cost > 0 else 1.0
                total += phase.seconds_left((known[0] * factor, known[1] * factor))
            elif phase.files_left or phase.bytes_left:
                return None
        return total

    def count_fraction(self) -> float:
        """Done over total, each phase weighted by its cost, files only (before any estimate)."""
        done = sum(p.files_done * p.cost for p in self.phases.values())
        total = sum(p.files * p.cost for p in self.phases.values())
        return done / total if total else 0.0

    def fraction(self) -> float:
        """How far along (0-1): time spent over time spent plus time left, never going back."""
        if self.ended is not None:
            value = 1.0
        else:
            left = self.seconds_left()
            spent = self.elapsed
            value = spent / (spent + left) if left is not None and spent + left > 0 else self.count_fraction()
            value = min(value, 0.999)
        self._shown_fraction = max(self._shown_fraction, value)
        return self._shown_fraction


def duration(seconds: float) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``12 s``, ``0.4 s``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def speed(rates: tuple[float, float] | None) -> str:
    """``1,234 files/s · 12.3 MB/s`` (nothing yet: ``measuring…``)."""
    if rates is None:
        return "measuring…"
    files_per_s, bytes_per_s = rates
    text = f"{files_per_s:,.0f} files/s" if files_per_s >= 10 else f"{files_per_s:.1f} files/s"
    if bytes_per_s > 0:
        text += f" · {human_bytes(round(bytes_per_s))}/s"
    return text
