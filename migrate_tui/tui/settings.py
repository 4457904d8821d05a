"""What the wizard takes from its surroundings, replaceable for tests and screenshots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textual.clock import Clock

from migrate_tui.engine.workspace_info import disk_free


@dataclass
class WizardSettings:
    clock: Clock = field(default_factory=Clock)  # progress bars' ETA, the lock's countdown
    steady: bool = False  # no blinking cursor: every rendering of a state is the same
    lock_timeout: float = 10.0  # seconds apply waits for sessions.json.lock
    lock_retry: float = 5.0  # seconds between two looks at a held lock, before a migration
    disk_free: Callable[[str], int | None] = disk_free  # free bytes on the disk holding a path
    max_event_rate: float = 20.0  # progress updates drawn per second, at most
    doctor_timeout: float = 300.0  # seconds OpenClaw's dry run may take before it is stopped
