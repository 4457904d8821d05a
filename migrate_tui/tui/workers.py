"""How the wizard runs engine calls off the event loop: one decorator for every worker, and
what is still running when the wizard quits (the process waits for it: say so)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from textual import work
from textual.worker import Worker

_running: dict[int, str] = {}  # thread → what its worker does, while it does it
_lock = threading.Lock()


def background(name: str, *, group: str, exclusive: bool = False
               ) -> Callable[[Callable[..., Any]], Callable[..., Worker[Any]]]:
    """A thread worker (the engine blocks), named for what it does in words the failure
    dialog can say ("Something failed while <name>"), that never ends the app when it fails
    (the app shows the failure and the ways forward instead).

    The name is also its description: without one, Textual describes a worker by the repr
    of its arguments, which for a plan of 50,000 sessions took 1.6 s on every decision."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Worker[Any]]:
        @functools.wraps(method)
        def running(*args: Any, **kwargs: Any) -> Any:
            me = threading.get_ident()
            with _lock:
                _running[me] = name
            try:
                return method(*args, **kwargs)
            finally:
                with _lock:
                    _running.pop(me, None)

        decorator: Callable[[Callable[..., Any]], Callable[..., Worker[Any]]] = work(
            thread=True, exclusive=exclusive, group=group, exit_on_error=False, name=name,
            description=name)
        return decorator(running)

    return decorate


def still_running() -> list[str]:
    """What the wizard's workers are doing right now (a thread cannot be stopped from
    outside: the process waits for them before it ends)."""
    with _lock:
        return sorted(set(_running.values()))
