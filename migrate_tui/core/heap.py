"""The C heap of this process (glibc's malloc), for a command that holds much for long.

A block freed in glibc's heap stays resident until the memory above it is freed too; a
command that reads big files, then holds many small records for long (verify at 100,000
sessions: sessions.json, the listing, the journal's biggest records) keeps those holes
through its peak.  ``give_back`` returns the free pages of the heap to the system
(``malloc_trim``: a few milliseconds).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked = False


def give_back() -> bool:
    """Return the heap's free pages to the system; False where there is no glibc (nothing
    is done)."""
    global _trim, _looked
    if not _looked:
        _looked = True
        if sys.platform.startswith("linux"):
            try:
                import ctypes  # here: an import of this module costs nothing until it is used

                # the process's own symbols, which hold the C library's (ctypes.util's
                # find_library would cost 7 ms of imports and a subprocess)
                trim = ctypes.CDLL(None).malloc_trim
                trim.argtypes = (ctypes.c_size_t,)
                trim.restype = ctypes.c_int
                _trim = trim
            except (OSError, AttributeError):
                _trim = None
    if _trim is None:
        return False
    _trim(0)
    return True
