"""describe_error: the words an exception is reported with (the refusals, apply's error,
rollback's "stopped" sentence all use them)."""

from __future__ import annotations

import errno

from migrate_tui.core.error_text import describe_error
from migrate_tui.core.errors import BackupError


def test_an_io_error_names_its_reason_and_file() -> None:
    exc = OSError(errno.EACCES, "Permission denied", "/ws/.sessions/a.json")
    assert describe_error(exc) == "Permission denied (/ws/.sessions/a.json)"


def test_an_io_error_without_a_file_or_a_reason() -> None:
    assert describe_error(OSError(errno.EIO, "Input/output error")) == "Input/output error"
    assert describe_error(OSError("disk on fire")) == "disk on fire"


def test_any_other_error_is_its_own_sentence() -> None:
    assert describe_error(BackupError("the copy a.json does not match")) == \
        "the copy a.json does not match"
