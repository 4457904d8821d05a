"""The scan's records, one per legacy file (100,000 at a time), in 80 bytes each rather than
96: six slots a record (the folder and mode one shared pair, the file problems, the
content problems and the readable flag with the count held where most files leave them
empty), and the size, mtime and SHA-256 in one bytes object of 80 bytes.  Each value reads
back as it was set, however it was set: through the constructor, or slot by slot as the
scan sets the records a worker sends back."""

from __future__ import annotations

import pickle
import sys

import pytest

from migrate_tui.engine import scan as scan_module
from migrate_tui.engine.model import ContentSummary, Problem, SessionScan, Severity

SHA = bytes(range(32))


def _record() -> SessionScan:
    content = ContentSummary(readable=True, content_id="s1", message_count=3,
                             updated_at_ms=1_700_000_000_000)
    session = SessionScan("s1.json", "s1", size=1234, mtime_ns=1_700_000_000_123_456_789,
                          mode=0o640, content=content, keys=["agent:main:s1"], folder="/ws/.sessions")
    session.set_read(1234, 1_700_000_000_123_456_789, 0o640, SHA)
    return session


def test_a_record_and_its_summary_take_80_bytes_and_the_stat_80() -> None:
    session = _record()
    assert sys.getsizeof(session) == 80
    assert sys.getsizeof(session.content) == 80
    assert sys.getsizeof(session.stat_and_sha256) == 80  # size, mtime_ns and the SHA-256


@pytest.mark.parametrize("size", [0, 1, 2**32 - 1, 2**32, 2**48 + 5, 2**56 - 1])
def test_sizes_and_times_read_back_as_set(size: int) -> None:
    session = _record()
    for mtime_ns in (0, -1, 2**63 - 1, -(2**63), 1_700_000_000_123_456_789):
        session.set_read(size, mtime_ns, 0o600, SHA)
        assert (session.size, session.mtime_ns, session.sha256) == (size, mtime_ns, SHA.hex())
    other = size + 1 if size < 2**56 - 1 else 0
    session.size = other  # the others as they were
    assert (session.size, session.mtime_ns, session.sha256) == (other, 1_700_000_000_123_456_789, SHA.hex())


def test_a_size_past_56_bits_is_refused_rather_than_cut() -> None:
    with pytest.raises(ValueError):
        _record().set_read(2**56, 0, 0o600, SHA)


def test_folder_mode_and_problems_read_back_as_set_one_by_one() -> None:
    session = _record()
    assert (session.path, session.mode, session.file_problems) == ("/ws/.sessions/s1.json", 0o640, ())
    bad = (Problem("symlink", "a symbolic link", "s1.json"),)
    session.file_problems = bad
    session.mode = 0o600
    assert (session.file_problems, session.mode, session.path) == (bad, 0o600, "/ws/.sessions/s1.json")
    session.file_problems = ()
    assert session.file_problems == ()
    content = session.content
    warned = [Problem("bom", "a byte-order mark", "s1.json", Severity.WARNING)]
    content.problems = warned
    content.readable = False
    assert (content.problems, content.readable, content.message_count) == (warned, False, 3)
    content.message_count = 70_000
    content.readable = True
    assert (content.message_count, content.readable, content.problems) == (70_000, True, warned)
    with pytest.raises(ValueError):
        content.message_count = -1


def test_a_record_set_slot_by_slot_as_the_scan_restores_it_is_the_same() -> None:
    original = _record()
    original.file_problems = (Problem("too_large", "too large", "s1.json"),)
    original.content.problems = (Problem("bom", "a byte-order mark", "s1.json", Severity.WARNING),)
    sent = pickle.loads(pickle.dumps(scan_module._compact(original)))
    made = scan_module._restored(sent, "/ws/.sessions")
    assert made == original
    assert (made.mode, made.path, made.file_problems, made.content.problems, made.content.readable,
            made.content.message_count) == (original.mode, original.path, original.file_problems,
                                            original.content.problems, True, 3)
    assert made._place is original._place  # one shared pair (folder, mode)
    assert pickle.loads(pickle.dumps(original)) == original
