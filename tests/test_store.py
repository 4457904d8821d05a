"""The store library (docs/cli.md): sessions.json read with a cache, changed under its lock,
and transcript previews read from the tail.  Real folders, real processes, no mocks."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from migrate_tui.core import fsio, jsonio
from migrate_tui.store import (
    SESSION_ENTRY_FIELDS,
    SessionEntry,
    StoreError,
    load_session_store,
    read_transcript_preview,
    session_store,
    transcript,
    update_session_store,
)

ROOT = Path(__file__).resolve().parents[1]
SID = "c25b364a-8e88-468e-ba3c-526b48c4fcf0"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class OpLog:
    """A fault hook that only records (op, path) and lets every operation happen."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, str]] = []

    def __call__(self, op: str, path: str) -> None:
        self.ops.append((op, path))
        return None

    def count(self, op: str, path: Path | str) -> int:
        return sum(1 for o, p in self.ops if o == op and p == str(path))


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    sessions = tmp_path / ".sessions"
    sessions.mkdir()
    path = sessions / "sessions.json"
    path.write_bytes(jsonio.dumps_document({
        "agent:main:main": {
            "session_id": SID, "updated_at": 1707651600000, "session_file": f"{SID}.jsonl",
            "label": "My Session", "thinking_level": "low",
            "x_future_field": {"b": 2, "a": [1, 2.50, "é"]},
        },
        "agent:main:telegram:dm:12345": {"session_id": "legacy-notes", "updated_at": 1},
    }))
    return path


# ---------------------------------------------------------------- loading


def test_public_names() -> None:
    assert "thinking_level" in SESSION_ENTRY_FIELDS
    assert issubclass(StoreError, ValueError)


def test_import_is_light() -> None:
    code = "import sys, migrate_tui.store; assert 'textual' not in sys.modules, 'textual imported'"
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), cwd=str(ROOT))


def test_load_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_session_store(tmp_path / "sessions.json") == {}


def test_load_valid_store(store_file: Path) -> None:
    store = load_session_store(store_file)
    assert list(store) == ["agent:main:main", "agent:main:telegram:dm:12345"]
    entry = store["agent:main:main"]
    assert isinstance(entry, SessionEntry)
    assert entry.session_id == SID
    assert entry.thinking_level == "low"
    assert entry.model is None  # a SessionEntry field that is not set
    assert list(entry["x_future_field"]) == ["b", "a"]


def test_load_expands_home(store_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(store_file.parent.parent))
    assert load_session_store("~/.sessions/sessions.json")["agent:main:main"].session_id == SID


def test_invalid_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_text('{\n  "agent:main:main": {\n    "session_id": "x",\n  }\n}\n')
    with pytest.raises(StoreError) as info:
        load_session_store(path)
    err = info.value
    assert (err.line, err.column) == (4, 3)
    assert f"{path}:4:3" in str(err)


def test_truncated_store_names_position(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_text('{\n  "agent:main:main": {"session_id": "x"')
    with pytest.raises(StoreError, match=re.escape(f"{path}:2:")) as info:
        load_session_store(path)
    assert info.value.line == 2


def test_not_utf8_names_position(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_bytes(b'{\n  "k": {"label": "caf\xe9"}\n}\n')
    with pytest.raises(StoreError, match=re.escape(f"{path}:2:22")):
        load_session_store(path)


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "null", "5"])
def test_top_level_not_an_object(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sessions.json"
    path.write_text(text)
    with pytest.raises(StoreError, match=re.escape(str(path))):
        load_session_store(path)


def test_entry_not_an_object_names_key(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_text('{"agent:main:ok": {"session_id": "a"}, "agent:main:bad": [1]}')
    with pytest.raises(StoreError, match="agent:main:bad") as info:
        load_session_store(path)
    assert info.value.key == "agent:main:bad"
    assert str(path) in str(info.value)


def test_duplicate_key_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_text('{"agent:main:a": {"session_id": "a"}, "agent:main:a": {"session_id": "b"}}')
    with pytest.raises(StoreError, match="agent:main:a"):
        load_session_store(path)


def test_symlinked_store_is_not_followed(tmp_path: Path, store_file: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(store_file)
    with pytest.raises(fsio.NotRegularFile):
        load_session_store(link)


# ---------------------------------------------------------------- the cache


def test_cache_hit_within_ttl_reads_nothing(store_file: Path) -> None:
    first = load_session_store(store_file)
    log = OpLog()
    with fsio.fault_hook(log):
        second = load_session_store(store_file)
    assert second == first
    assert log.count("open", store_file) == 0
    assert log.count("read", store_file) == 0
    assert log.count("stat", store_file) == 1  # only the change check


def test_skip_cache_reads_the_file(store_file: Path) -> None:
    load_session_store(store_file)
    log = OpLog()
    with fsio.fault_hook(log):
        load_session_store(store_file, skip_cache=True)
    assert log.count("read", store_file) >= 1


def test_cache_expires_after_ttl(store_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(session_store, "_clock", lambda: now[0])
    load_session_store(store_file)
    now[0] += session_store.CACHE_TTL_SECONDS - 1
    log = OpLog()
    with fsio.fault_hook(log):
        load_session_store(store_file)
    assert log.count("read", store_file) == 0
    now[0] += 2
    with fsio.fault_hook(log):
        load_session_store(store_file)
    assert log.count("read", store_file) >= 1
    assert session_store.CACHE_TTL_SECONDS == 45


def test_cache_invalidated_when_size_changes(store_file: Path) -> None:
    load_session_store(store_file)
    store_file.write_text('{"agent:main:other": {"session_id": "other"}}')
    assert list(load_session_store(store_file)) == ["agent:main:other"]


def test_cache_invalidated_when_only_mtime_changes(store_file: Path) -> None:
    load_session_store(store_file)
    data = store_file.read_bytes()
    changed = data.replace(b'"thinking_level": "low"', b'"thinking_level": "mid"')
    assert len(changed) == len(data)
    st = store_file.stat()
    with open(store_file, "r+b") as fh:  # same inode, same size
        fh.write(changed)
    os.utime(store_file, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert store_file.stat().st_ino == st.st_ino
    assert load_session_store(store_file)["agent:main:main"].thinking_level == "mid"


def test_cache_invalidated_when_file_removed(store_file: Path) -> None:
    load_session_store(store_file)
    store_file.unlink()
    assert load_session_store(store_file) == {}


def test_cache_updated_by_our_own_write(store_file: Path) -> None:
    load_session_store(store_file)
    update_session_store(store_file, lambda s: setattr(s["agent:main:main"], "label", "Renamed"))
    log = OpLog()
    with fsio.fault_hook(log):
        store = load_session_store(store_file)
    assert store["agent:main:main"].label == "Renamed"
    assert log.count("read", store_file) == 0  # served from the refreshed cache


def test_returned_copies_are_independent(store_file: Path) -> None:
    first = load_session_store(store_file)
    first["agent:main:main"].label = "changed"
    first["agent:main:main"]["x_future_field"]["a"].append("junk")
    first["agent:main:main"]["x_future_field"]["b"] = 99
    del first["agent:main:telegram:dm:12345"]
    second = load_session_store(store_file)
    assert second["agent:main:main"].label == "My Session"
    assert second["agent:main:main"]["x_future_field"] == {"b": 2, "a": [1, 2.50, "é"]}
    assert "agent:main:telegram:dm:12345" in second
    second["agent:main:main"].label = "again"
    assert load_session_store(store_file)["agent:main:main"].label == "My Session"


# ---------------------------------------------------------------- updating


def test_update_sets_field_as_in_spec(store_file: Path) -> None:
    update_session_store(
        store_file, lambda store: setattr(store["agent:main:main"], "thinking_level", "high"))
    on_disk = json.loads(store_file.read_text())
    assert on_disk["agent:main:main"]["thinking_level"] == "high"
    assert load_session_store(store_file, skip_cache=True)["agent:main:main"].thinking_level == "high"


def test_update_returns_mutator_value(store_file: Path) -> None:
    assert update_session_store(store_file, lambda store: len(store)) == 2


def test_update_keeps_everything_untouched_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    tricky = (
        '{\n  "agent:main:z": {\n    "zz_unknown": 1E5,\n    "session_id": "z",\n'
        '    "big": 123456789012345678901234567890,\n    "ratio": 0.10,\n'
        '    "nan": NaN,\n    "inf": -Infinity,\n    "text": "caf\u00e9 \\ud83d\\ude00 \\u0000",\n'
        '    "thinking_level": "low",\n    "nested": {"y": [1, 2], "x": null}\n  },\n'
        '  "agent:main:a": {\n    "session_id": "a",\n    "updated_at": 1\n  }\n}\n'
    )
    path.write_text(tricky, encoding="utf-8")
    # The file as our writer formats it: the same values, the same order.
    original = jsonio.dumps_document(jsonio.loads(tricky))
    path.write_bytes(original)

    update_session_store(path, lambda s: setattr(s["agent:main:z"], "thinking_level", "high"))

    expected = original.replace(b'"thinking_level": "low"', b'"thinking_level": "high"')
    assert expected != original
    assert path.read_bytes() == expected
    store = load_session_store(path)
    assert list(store) == ["agent:main:z", "agent:main:a"]
    assert list(store["agent:main:z"])[:2] == ["zz_unknown", "session_id"]


def test_update_keeps_unknown_fields(store_file: Path) -> None:
    update_session_store(store_file, lambda s: s["agent:main:main"].pop("label"))
    entry = load_session_store(store_file)["agent:main:main"]
    assert entry["x_future_field"] == {"b": 2, "a": [1, 2.50, "é"]}
    assert "label" not in entry


def test_update_adds_entry_and_creates_file_0600(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"

    def add(store: dict) -> None:
        store["agent:main:new"] = SessionEntry(session_id="new", updated_at=5)

    update_session_store(path, add)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == jsonio.dumps_document(
        {"agent:main:new": {"session_id": "new", "updated_at": 5}})


def test_update_keeps_existing_permission_bits(store_file: Path) -> None:
    os.chmod(store_file, 0o640)
    update_session_store(store_file, lambda s: setattr(s["agent:main:main"], "label", "x"))
    assert stat.S_IMODE(store_file.stat().st_mode) == 0o640


def test_update_writes_atomically_through_fsio(store_file: Path) -> None:
    log = OpLog()
    with fsio.fault_hook(log):
        update_session_store(store_file, lambda s: setattr(s["agent:main:main"], "label", "x"))
    ops = [op for op, _ in log.ops]
    assert "rename" in ops and "fsync" in ops and "fsync_dir" in ops
    assert ops.index("lock") < ops.index("read") < ops.index("rename")
    assert [p.name for p in store_file.parent.iterdir()] == ["sessions.json"]


def test_update_reads_fresh_not_from_cache(store_file: Path) -> None:
    load_session_store(store_file)
    # Another writer replaces the file with the same size and a restored mtime.
    data = store_file.read_bytes().replace(b'"low"', b'"mid"')
    st = store_file.stat()
    with open(store_file, "r+b") as fh:
        fh.write(data)
    os.utime(store_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    seen = update_session_store(store_file, lambda s: s["agent:main:main"].thinking_level)
    assert seen == "mid"


def test_mutator_error_writes_nothing(store_file: Path) -> None:
    before = store_file.read_bytes()

    def boom(store: dict) -> None:
        store["agent:main:main"].label = "half done"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        update_session_store(store_file, boom)
    assert store_file.read_bytes() == before
    assert not Path(str(store_file) + ".lock").exists()


def test_mutator_leaving_a_non_object_writes_nothing(store_file: Path) -> None:
    before = store_file.read_bytes()

    def bad(store: dict) -> None:
        store["agent:main:main"] = "oops"

    with pytest.raises(StoreError, match="agent:main:main"):
        update_session_store(store_file, bad)
    assert store_file.read_bytes() == before


def test_update_refuses_an_invalid_store(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_text('{"agent:main:main": {"session_id": "x",}}')
    before = path.read_bytes()
    called = []
    with pytest.raises(StoreError):
        update_session_store(path, called.append)
    assert called == []
    assert path.read_bytes() == before
    assert not Path(str(path) + ".lock").exists()


def test_lock_exists_during_mutator_and_is_gone_after(store_file: Path) -> None:
    lock = store_file.parent / "sessions.json.lock"
    seen = {}

    def look(store: dict) -> None:
        seen["exists"] = lock.exists()
        seen["pid"] = fsio.lock_holder(str(lock))

    update_session_store(store_file, look)
    assert seen == {"exists": True, "pid": os.getpid()}
    assert not lock.exists()


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from filelock import SoftFileLock
    lock = SoftFileLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(60)
""")


def test_lock_held_by_another_process_times_out(store_file: Path) -> None:
    lock = str(store_file) + ".lock"
    before = store_file.read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, lock],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        called = []
        started = time.monotonic()
        with pytest.raises(fsio.LockTimeout) as info:
            update_session_store(store_file, called.append, lock_timeout=0.5)
        elapsed = time.monotonic() - started
        assert 0.4 <= elapsed < 3.0
        assert info.value.holder == holder.pid
        assert called == []
        assert store_file.read_bytes() == before
        assert os.path.exists(lock)  # the other process's lock is left alone
    finally:
        holder.kill()
        holder.wait()
    # Its owner is gone, so the lock it left behind is reclaimed.
    update_session_store(store_file, lambda s: setattr(s["agent:main:main"], "label", "after"),
                         lock_timeout=5)
    assert load_session_store(store_file)["agent:main:main"].label == "after"
    assert not os.path.exists(lock)


INCREMENT = textwrap.dedent("""
    import os, sys, time
    from migrate_tui.store import update_session_store
    path, go, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    while not os.path.exists(go):
        time.sleep(0.001)

    def bump(store):
        entry = store["agent:main:main"]
        value = entry.get("counter", 0)
        time.sleep(0.002)  # widen the read-modify-write window
        entry["counter"] = value + 1
        entry["by_" + str(os.getpid())] = entry.get("by_" + str(os.getpid()), 0) + 1

    for _ in range(rounds):
        update_session_store(path, bump, lock_timeout=60)
""")


def test_concurrent_processes_lose_no_update(store_file: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    workers, rounds = 4, 25
    procs = [
        subprocess.Popen([sys.executable, "-c", INCREMENT, str(store_file), str(go), str(rounds)],
                         env=_env(), cwd=str(ROOT))
        for _ in range(workers)
    ]
    try:
        time.sleep(0.5)  # let every worker start and wait at the gate
        go.touch()
        for proc in procs:
            assert proc.wait(timeout=120) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    entry = load_session_store(store_file)["agent:main:main"]
    assert entry["counter"] == workers * rounds
    for proc in procs:
        assert entry[f"by_{proc.pid}"] == rounds
    assert entry["x_future_field"] == {"b": 2, "a": [1, 2.50, "é"]}
    assert not os.path.exists(str(store_file) + ".lock")


# ---------------------------------------------------------------- transcript preview


def _write_transcript(path: Path, count: int, pad: int = 60) -> None:
    lines = [json.dumps({"role": "user" if i % 2 == 0 else "assistant",
                         "content": f"message {i} " + "x" * pad, "n": i})
             for i in range(count)]
    path.write_text("\n".join(lines) + "\n")


def test_preview_returns_last_n_of_a_large_file_reading_only_the_tail(store_file: Path) -> None:
    path = store_file.parent / f"{SID}.jsonl"
    _write_transcript(path, 50_000)
    size = path.stat().st_size
    log = OpLog()
    before = _bytes_read_by_this_process()
    with fsio.fault_hook(log):
        messages = read_transcript_preview(SID, store_path=store_file, limit=10)
    read = _bytes_read_by_this_process() - before
    assert [m["n"] for m in messages] == list(range(49_990, 50_000))
    assert messages[-1]["role"] == "assistant"
    # Few reads, each of at most one chunk, and few bytes in all (measured by the kernel).
    assert 1 <= log.count("read", path) <= 2
    assert log.count("open", store_file) == 1  # the store, for the entry's session_file
    assert read < size / 20, (read, size)


def _bytes_read_by_this_process() -> int:
    """Bytes this process has read through read()/pread() so far (Linux /proc/self/io)."""
    io = Path("/proc/self/io")
    if not io.exists():
        pytest.skip("needs /proc/self/io to count the bytes read")
    fields = dict(line.split(": ") for line in io.read_text().splitlines())
    return int(fields["rchar"])


def test_preview_of_more_lines_than_one_chunk(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    _write_transcript(path, 3000, pad=200)
    messages = read_transcript_preview("s1", tmp_path / "sessions.json", limit=1000)
    assert [m["n"] for m in messages] == list(range(2000, 3000))


def test_preview_of_a_short_file_and_a_long_line(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    big = {"role": "assistant", "content": "y" * (3 * transcript.CHUNK_BYTES + 7)}
    path.write_text(json.dumps({"role": "user", "content": "hi"}) + "\n" + json.dumps(big) + "\n")
    messages = read_transcript_preview("s1", tmp_path / "sessions.json", limit=10)
    assert messages == [{"role": "user", "content": "hi"}, big]


def test_preview_keeps_values_losslessly(tmp_path: Path) -> None:
    (tmp_path / "s1.jsonl").write_text('{"role":"user","n":1E5,"big":123456789012345678901234567890}\n')
    (message,) = read_transcript_preview("s1", tmp_path / "sessions.json")
    assert message["big"] == 123456789012345678901234567890
    assert jsonio.LineEncoder().line(message) == \
        b'{"role":"user","n":1E5,"big":123456789012345678901234567890}\n'


def test_preview_tolerates_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    _write_transcript(path, 5)
    with open(path, "a") as fh:
        fh.write('{"role": "user", "content": "cut off in the mid')
    messages = read_transcript_preview("s1", tmp_path / "sessions.json", limit=3)
    assert [m["n"] for m in messages] == [2, 3, 4]


def test_preview_keeps_complete_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    path.write_text('{"role": "user", "n": 0}\n{"role": "assistant", "n": 1}')
    assert [m["n"] for m in read_transcript_preview("s1", tmp_path / "x.json")] == [0, 1]


def test_preview_reports_a_corrupt_line_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    path.write_text('{"role": "user", "n": 0}\nnot json\n{"role": "assistant", "n": 1}\n')
    assert [m["n"] for m in read_transcript_preview("s1", tmp_path / "x.json", limit=1)] == [1]
    with pytest.raises(StoreError, match="byte 25"):
        read_transcript_preview("s1", tmp_path / "x.json", limit=2)


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", "-rf", ".hidden", "", "with space",
                                 "..", "x" * 129, "a\\b"])
def test_preview_refuses_unsafe_id(tmp_path: Path, bad: str) -> None:
    log = OpLog()
    with fsio.fault_hook(log), pytest.raises(ValueError, match="safe"):
        read_transcript_preview(bad, tmp_path / "sessions.json")
    assert log.ops == []  # not a single path was built or looked at


def test_preview_missing_transcript_is_empty(store_file: Path) -> None:
    assert read_transcript_preview(SID, store_file) == []
    assert read_transcript_preview("nobody", store_file) == []


def test_preview_empty_transcript_and_zero_limit(tmp_path: Path) -> None:
    (tmp_path / "s1.jsonl").write_bytes(b"")
    assert read_transcript_preview("s1", tmp_path / "sessions.json") == []
    _write_transcript(tmp_path / "s2.jsonl", 3)
    assert read_transcript_preview("s2", tmp_path / "sessions.json", limit=0) == []


def test_preview_uses_session_file_from_store(tmp_path: Path) -> None:
    store = tmp_path / "sessions.json"
    store.write_bytes(jsonio.dumps_document({
        "agent:main:main": {"session_id": "s1", "session_file": "renamed-s1.jsonl"}}))
    (tmp_path / "s1.jsonl").write_text('{"role": "user", "content": "wrong file"}\n')
    (tmp_path / "renamed-s1.jsonl").write_text('{"role": "user", "content": "right file"}\n')
    assert read_transcript_preview("s1", store)[0]["content"] == "right file"


@pytest.mark.parametrize("session_file", ["../outside.jsonl", "/etc/passwd", "sub/s1.jsonl", ".."])
def test_preview_ignores_unsafe_session_file(tmp_path: Path, session_file: str) -> None:
    sessions = tmp_path / ".sessions"
    sessions.mkdir()
    (tmp_path / "outside.jsonl").write_text('{"role": "user", "content": "outside"}\n')
    store = sessions / "sessions.json"
    store.write_bytes(jsonio.dumps_document({
        "agent:main:main": {"session_id": "s1", "session_file": session_file}}))
    (sessions / "s1.jsonl").write_text('{"role": "user", "content": "inside"}\n')
    assert read_transcript_preview("s1", store) == [{"role": "user", "content": "inside"}]


def test_preview_with_explicit_transcript_path(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.jsonl"
    _write_transcript(path, 4)
    messages = read_transcript_preview("s1", limit=2, transcript_path=path)
    assert [m["n"] for m in messages] == [2, 3]


def test_preview_does_not_follow_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target.jsonl"
    _write_transcript(target, 2)
    (tmp_path / "s1.jsonl").symlink_to(target)
    with pytest.raises(fsio.NotRegularFile):
        read_transcript_preview("s1", tmp_path / "sessions.json")
