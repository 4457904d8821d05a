"""The demo workspace generator writes the legacy layout exactly as the old agent did."""

from __future__ import annotations

import codecs
import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from migrate_tui.demo import (
    BIG_INT,
    DAMAGED_KINDS,
    MESSAGE_FIELDS,
    DemoInfo,
    generate_workspace,
    legacy_session_text,
    write_legacy_session,
)
from tests.support import REPO, run_command


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def good_files(info: DemoInfo) -> dict[str, dict]:
    return {sid: json.loads((info.sessions_dir / f"{sid}.json").read_bytes()) for sid in info.session_ids}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoInfo:
    return generate_workspace(tmp_path_factory.mktemp("demo"), damaged=True)


def test_same_seed_same_bytes_and_mtimes(tmp_path):
    a = generate_workspace(tmp_path / "a", damaged=True, seed=7)
    b = generate_workspace(tmp_path / "b", damaged=True, seed=7)
    c = generate_workspace(tmp_path / "c", damaged=True, seed=8)
    assert snapshot(a.sessions_dir) == snapshot(b.sessions_dir)
    assert a.session_ids == b.session_ids and a.session_map == b.session_map
    assert a.session_ids != c.session_ids


def test_damage_does_not_change_the_good_sessions(tmp_path):
    plain = generate_workspace(tmp_path / "plain")
    damaged = generate_workspace(tmp_path / "damaged", damaged=True)
    assert plain.session_ids == damaged.session_ids
    for sid in plain.session_ids:
        name = f"{sid}.json"
        assert (plain.sessions_dir / name).read_bytes() == (damaged.sessions_dir / name).read_bytes()


def test_layout_and_counts(demo):
    names = {p.name for p in demo.sessions_dir.iterdir()}
    expected = {f"{sid}.json" for sid in demo.session_ids} | set(demo.damaged.values()) | {"session_map.json"}
    assert names == expected
    assert len(demo.session_ids) == 12
    assert set(demo.damaged) == set(DAMAGED_KINDS)


def test_written_exactly_as_the_old_writer(demo):
    for sid, obj in good_files(demo).items():
        raw = (demo.sessions_dir / f"{sid}.json").read_bytes()
        assert raw.isascii()  # ensure_ascii: unicode is written as \u escapes
        assert list(obj) == ["session_id", "messages", "metadata", "created_at", "updated_at"]
        assert obj["session_id"] == sid
        text = legacy_session_text(sid, obj["messages"], obj["metadata"],
                                   obj["created_at"], obj["updated_at"])
        assert raw.decode("ascii") == text
        assert text == json.dumps(obj, indent=2, default=str)


def test_every_message_has_every_field(demo):
    for obj in good_files(demo).values():
        for message in obj["messages"]:
            assert tuple(message) == MESSAGE_FIELDS
            assert isinstance(message["role"], str) and isinstance(message["content"], str)


def test_timestamps(demo):
    z_suffix = 0
    for obj in good_files(demo).values():
        for message in obj["messages"]:
            stamp = datetime.fromisoformat(message["timestamp"])
            assert stamp.tzinfo is None
        for name in ("created_at", "updated_at"):
            assert datetime.fromisoformat(obj[name]).tzinfo is not None
            assert obj[name].endswith(("+00:00", "Z"))
        z_suffix += obj["updated_at"].endswith("Z")
        assert datetime.fromisoformat(obj["created_at"]) <= datetime.fromisoformat(obj["updated_at"])
    assert z_suffix == 1


def test_mtimes_follow_updated_at(demo):
    for sid, obj in good_files(demo).items():
        mtime = (demo.sessions_dir / f"{sid}.json").stat().st_mtime
        assert mtime == pytest.approx(datetime.fromisoformat(obj["updated_at"]).timestamp(), abs=1e-3)


def test_variety(demo):
    messages = [m for obj in good_files(demo).values() for m in obj["messages"]]
    assert {m["role"] for m in messages} == {"system", "user", "assistant", "tool"}
    calls = {c["id"]: c for m in messages if m["tool_calls"] for c in m["tool_calls"]}
    assert calls
    for call in calls.values():
        assert call["type"] == "function"
        assert isinstance(json.loads(call["function"]["arguments"]), dict)
    for m in messages:
        if m["role"] == "tool":
            assert calls[m["tool_call_id"]]["function"]["name"] == m["name"]
    assert any(m["images"] for m in messages)
    text = "".join(m["content"] for m in messages)
    assert "é" in text and "東京" in text and "🎉" in text


def test_metadata(demo):
    files = good_files(demo)
    main = files[demo.session_map["agent:main:main"]]["metadata"]
    assert main["input_tokens"] == BIG_INT and BIG_INT > 2**64
    assert isinstance(main["cost_usd"], float)
    assert main["ui_color"] == "teal"
    for obj in files.values():
        assert {"label", "display_name", "thinking_level"} <= set(obj["metadata"])
    assert any("channel" in obj["metadata"] for obj in files.values())
    with_key = [obj for obj in files.values() if "session_key" in obj["metadata"]]
    assert len(with_key) == 1
    assert with_key[0]["session_id"] not in demo.session_map.values()


def test_session_map(demo):
    on_disk = json.loads((demo.sessions_dir / "session_map.json").read_text())
    assert on_disk == demo.session_map
    assert (demo.sessions_dir / "session_map.json").read_text() == json.dumps(on_disk, indent=2)
    for key in ("main", "telegram:dm:12345", "discord:group:g-77", "cron:daily", "subagent:abc"):
        assert f"agent:main:{key}" in on_disk
    ids = list(on_disk.values())
    assert any(ids.count(sid) == 2 for sid in set(ids))
    assert demo.session_map["agent:main:main"] == demo.session_map["agent:main:telegram:dm:12345"]
    dangling = on_disk[demo.dangling_key]
    assert not (demo.sessions_dir / f"{dangling}.json").exists()
    assert dangling not in demo.session_ids


def test_keyless_legacy_notes(demo):
    assert demo.keyless_id == "legacy-notes"
    assert (demo.sessions_dir / "legacy-notes.json").is_file()
    assert "legacy-notes" in demo.session_ids
    assert "legacy-notes" not in demo.session_map.values()


def test_damaged_files_are_damaged(demo):
    folder = demo.sessions_dir
    raw = {kind: (folder / name).read_bytes() for kind, name in demo.damaged.items()}

    with pytest.raises(json.JSONDecodeError):
        json.loads(raw["invalid_json"])
    head = raw["invalid_json"].decode("ascii")
    assert head.count('\n      "role": ') == demo.truncated_messages + 1 >= 4

    with pytest.raises(UnicodeDecodeError):
        raw["not_utf8"].decode("utf-8")
    assert json.loads(raw["not_utf8"].decode("latin-1"))["messages"]

    messages = json.loads(raw["bad_messages"])["messages"]
    assert any(isinstance(m, str) for m in messages)
    assert any(isinstance(m, dict) and "role" not in m for m in messages)

    name = demo.damaged["id_mismatch"]
    assert json.loads(raw["id_mismatch"])["session_id"] != name.removesuffix(".json")

    assert json.loads(raw["bad_updated_at"])["updated_at"] == "last tuesday"

    assert raw["bom"].startswith(codecs.BOM_UTF8)
    after_bom = json.loads(raw["bom"][len(codecs.BOM_UTF8):])
    assert after_bom["session_id"] == demo.damaged["bom"].removesuffix(".json")

    for kind, name in demo.damaged.items():
        if kind != "id_mismatch":
            assert name.removesuffix(".json") not in demo.session_ids
    keyed = {f"{sid}.json" for sid in demo.session_map.values()}
    assert len(keyed & set(demo.damaged.values())) >= 3


def test_write_legacy_session_fills_fields(tmp_path):
    path = write_legacy_session(
        tmp_path, "abc",
        [{"role": "user", "content": "hi", "timestamp": "2026-02-11T10:00:00.708193"}, "odd"],
        {"label": "x"}, "2026-02-11T10:00:00.708148+00:00", "2026-02-11T12:00:00.708267+00:00",
        file_name="other.json")
    assert path == tmp_path / "other.json"
    obj = json.loads(path.read_text())
    assert obj["messages"][0] == dict.fromkeys(MESSAGE_FIELDS) | {
        "role": "user", "content": "hi", "timestamp": "2026-02-11T10:00:00.708193"}
    assert obj["messages"][1] == "odd"
    assert path.stat().st_mtime == pytest.approx(datetime.fromisoformat(obj["updated_at"]).timestamp())


def test_small_and_empty_workspaces(tmp_path):
    info = generate_workspace(tmp_path / "one", sessions=1, messages=(0, 0))
    assert len(info.session_ids) == 1 and info.keyless_id is None
    info = generate_workspace(tmp_path / "none", sessions=0)
    assert info.session_ids == [] and list(info.session_map) == [info.dangling_key]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_command(*args, module="migrate_tui.demo", cwd=REPO)


def test_cli_writes_and_refuses_without_force(tmp_path):
    first = run_cli(str(tmp_path), "--sessions", "3", "--damaged")
    assert first.returncode == 0, first.stderr
    assert str(tmp_path / ".sessions") in first.stdout and "10 files" in first.stdout
    before = snapshot(tmp_path / ".sessions")

    refused = run_cli(str(tmp_path), "--sessions", "5")
    assert refused.returncode == 2
    assert "--force" in refused.stderr and refused.stdout == ""
    assert snapshot(tmp_path / ".sessions") == before

    (tmp_path / "keep.txt").write_text("mine")
    forced = run_cli(str(tmp_path), "--sessions", "5", "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(list((tmp_path / ".sessions").glob("*.json"))) == 6
    assert (tmp_path / "keep.txt").read_text() == "mine"
