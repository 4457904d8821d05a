"""A long operation at a glance: its phases, one bar for all of them, how much is done, the
measured speed (files/s, MB/s), the time spent and the time left (throughput.py)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import ProgressBar, Static

from migrate_tui.tui.formatting import human_bytes
from migrate_tui.tui.parts import Parts
from migrate_tui.tui.throughput import Meter, duration, speed

PHASE_MARKS = {"done": ("✓", "$text-success"), "running": ("▶", "bold"), "waiting": ("·", "$text-muted")}
SCALE = 1000


class ProgressPanel(Vertical):
    DEFAULT_CSS = """
    ProgressPanel { height: auto; }
    ProgressPanel > #progress-phases { height: 1; }
    ProgressPanel > ProgressBar { margin: 1 0 0 0; width: 100%; }
    ProgressPanel > ProgressBar > Bar { width: 1fr; }
    ProgressPanel > #progress-figures { height: auto; }
    ProgressPanel > #progress-item { height: 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.meter: Meter | None = None
        self.item = ""
        self.note = ""  # e.g. "cancelling…"

    def compose(self) -> ComposeResult:
        yield Static(id="progress-phases")
        yield ProgressBar(total=SCALE, show_eta=False, id="progress-bar")
        yield Static(id="progress-figures")
        yield Static(id="progress-item")

    def follow(self, meter: Meter) -> None:
        self.meter = meter
        self.draw()

    def draw(self) -> None:
        meter = self.meter
        if meter is None:
            return
        text = Parts("Phase: ")
        for n, name in enumerate(meter.order):
            mark, style = PHASE_MARKS[meter.state_of(name)]
            if n:
                text.append("  ")
            text.append(f"{mark} {name}", style)
        self.query_one("#progress-phases", Static).update(text.content())
        self.query_one(ProgressBar).update(total=SCALE, progress=round(meter.fraction() * SCALE))
        self.query_one("#progress-figures", Static).update(figures_text(meter, self.note))
        self.query_one("#progress-item", Static).update(self.item)


def figures_text(meter: Meter, note: str = "") -> Content:
    """``transcripts: 12,345 of 50,000 files · 123 MB of 500 MB`` / speed, time spent, time left."""
    text = Parts()
    phase = meter.phases.get(meter.current or "")
    if phase is not None:
        text.append(f"{phase.name}: ", "bold").append(f"{phase.files_done:,} of {phase.files:,} files")
        if phase.bytes:
            text.append(f" · {human_bytes(phase.bytes_done)} of {human_bytes(phase.bytes)}")
        text.append("\n")
    text.append(speed(meter.rates()) if meter.ended is None else "done")
    text.append(f" · {duration(meter.elapsed)} spent")
    left = meter.seconds_left()
    if meter.ended is None:
        text.append(" · " + (f"about {duration(left)} left" if left is not None
                             else "estimating the time left…"))
    if note:
        text.append("\n" + note, "$text-warning")
    return text.content()
