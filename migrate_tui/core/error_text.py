"""An exception in the words the program reports it with."""

from __future__ import annotations


def describe_error(exc: BaseException) -> str:
    """An I/O error as its reason and, when known, its file (``Permission denied
    (/ws/.sessions/a.json)``); any other exception as its own sentence."""
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc)
