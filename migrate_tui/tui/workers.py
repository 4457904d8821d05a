"""How the wizard runs engine calls off the event loop: one decorator for every worker, and
what is still running when the wizard quits (the process waits for it: say so)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from textual import work
from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

from migrate_tui.tui.messages import WorkerFailure

_running: dict[int, str] = {}  # thread → what its worker does, while it does it
_lock = threading.Lock()


def background(name: str, *, group: str, exclusive: bool = False
               ) -> Callable[[Callable[..., Any]], Callable[..., Worker[Any]]]:
    """A thread worker (the engine blocks), named for what it does in words the failure
    dialog can say ("Something failed while <name>"), that never ends the app when it fails:
    the exception is handed to the app (a ``WorkerFailure`` message, which shows it and the
    ways forward) and the worker ends with None.

    Handing it over from the worker's own thread, rather than ending the worker in Textual's
    ERROR state, means a failed worker is never left registered in a failed state: waiting
    for the workers (``app.workers.wait_for_complete()``) raised ``WorkerFailed`` when it
    caught one between its failure and its removal, which made the tests that inject a
    fault fail now and then.

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
            except Exception as error:  # every failure is shown, in one place
                node = args[0]
                assert isinstance(node, DOMNode)
                node.app.post_message(WorkerFailure(get_current_worker(), error))
                return None
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
