"""How the wizard runs engine calls off the event loop: one decorator for every worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.worker import Worker


def background(name: str, *, group: str, exclusive: bool = False
               ) -> Callable[[Callable[..., Any]], Callable[..., Worker[Any]]]:
    """A thread worker (the engine blocks), named for what it does in words the failure
    dialog can say ("Something failed while <name>"), that never ends the app when it fails
    (the app shows the failure and the ways forward instead).

    The name is also its description: without one, Textual describes a worker by the repr
    of its arguments, which for a plan of 50,000 sessions took 1.6 s on every decision."""
    decorator: Callable[[Callable[..., Any]], Callable[..., Worker[Any]]] = work(
        thread=True, exclusive=exclusive, group=group, exit_on_error=False, name=name,
        description=name)
    return decorator
