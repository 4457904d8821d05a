"""Planning after the scan: the plan's first rows at once, the whole plan in a worker.

At 200,000 sessions planning takes a second or more.  The plan of the first ``FIRST_ROWS``
sessions is exactly the first rows of the whole plan (ids and keys are settled in the
plan's order, first come first served), and takes milliseconds: the plan screen shows it at
once, says that the rest is being planned, and waits for it before anything is decided.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from migrate_tui.engine import Decision, Plan, Progress, ScanResult, build_plan
from migrate_tui.engine.model import Event

FIRST_ROWS = 1_000
SWITCH_INTERVAL = 0.05  # seconds the planning thread keeps the interpreter at a time


class Stopped(Exception):
    """Raised from the engine's ``on_event`` to stop planning."""


@dataclass
class Planning:
    """The whole plan being made: how far it is, and the flag that stops it."""

    total: int
    done: int = 0  # sessions planned (written by the worker, read by the screen)
    stage: str = "planning"  # what is being done: "planning", "comparing with OpenClaw's folder"
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def first_rows(scan: ScanResult, agent_id: str, decisions: Mapping[str, Decision]) -> tuple[Plan, bool]:
    """The plan of the first sessions, and whether that is the whole plan."""
    if len(scan.sessions) <= FIRST_ROWS:
        return build_plan(scan, agent_id, decisions, backup=True), True
    head = replace(scan, sessions=scan.sessions[:FIRST_ROWS])
    return build_plan(head, agent_id, decisions, backup=True), False


def plan_all(scan: ScanResult, agent_id: str, decisions: Mapping[str, Decision],
             planning: Planning) -> Plan | None:
    """The whole plan (None if stopped), counted in ``planning`` as it goes.

    Planning makes about a million objects at 200,000 sessions: the cyclic GC would walk them
    again and again while they are made (a third of the time), and afterwards on every key;
    they live until the next scan, which thaws them (navigation.py).  And the UI thread asks
    for the interpreter every 5 ms: the planning gets longer turns meanwhile."""

    def on_event(event: Event) -> None:
        if planning.stop.is_set():
            raise Stopped
        if isinstance(event, Progress):
            planning.done = event.done

    switch = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        return build_plan(scan, agent_id, decisions, backup=True, on_event=on_event)
    except Stopped:
        return None
    finally:
        sys.setswitchinterval(switch)
        gc.freeze()
        gc.enable()
