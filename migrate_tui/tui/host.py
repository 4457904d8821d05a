"""What a screen may ask of the app (``WizardHost``), without importing the app module.

Screens read the state, ask for decisions to be recorded and planned, and show paths as
the user typed them; everything else they need comes in their constructor, and what they
produce leaves by ``dismiss`` or by a request message (messages.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

from textual.dom import DOMNode
from textual.signal import Signal
from textual.worker import Worker

from migrate_tui.engine import Decision, Plan
from migrate_tui.tui.settings import WizardSettings
from migrate_tui.tui.state import WizardState


class WizardHost(Protocol):
    state: WizardState
    settings: WizardSettings
    plan_changed: Signal[Plan]  # a new plan is in (after decisions were planned)
    decision_pending: Signal[set[str]]  # these sessions' decisions are being planned

    def decide(self, changes: Mapping[str, Decision], label: str) -> None:
        """Record decisions (file id → decision) as one undoable step and plan them."""

    def undo(self) -> None: ...

    def redo(self) -> None: ...

    def show_path(self, path: str) -> str:
        """A path as the user knows it (under the workspace: as they typed the workspace)."""

    def worker_failed(self, worker: Worker[Any], error: BaseException | None = None) -> None:
        """Say what failed and offer the ways forward (every failed worker comes here)."""


def host_of(node: DOMNode) -> WizardHost:
    """The app a widget or screen runs in, as the wizard's host."""
    return cast(WizardHost, node.app)
