"""The manifest holds a copy named ``<stem>.json`` under its stem, the very string the caller
hands over (the scan's file id: no name string of its own a copy), any other name under a
key no ``.json`` name can have; what it reads and writes is the same whatever the key."""

from __future__ import annotations

import json

import pytest

from migrate_tui.engine import backup

SHA = "ab" * 32


def _info(original: str, size: int = 1) -> dict[str, object]:
    return {"original": original, "size": size, "sha256": SHA, "mode": 420, "mtime_ns": 5, "run": "r"}


NAMES = ["a.json", "a", "a.jsonl", "a.json.2", ".json", "json", "sessions.json", "b.JSON"]


def test_every_name_is_kept_apart_in_order_and_read_back() -> None:
    manifest = backup.Manifest()
    for n, name in enumerate(NAMES):
        manifest.add(name, _info(name if name != "a.json.2" else "a.json", n))
    assert list(manifest.files) == NAMES and len(manifest.files) == len(NAMES)
    for n, name in enumerate(NAMES):
        assert name in manifest.files and manifest.files[name]["size"] == n
    assert "a.jso" not in manifest.files and "/a" not in manifest.files and 3 not in manifest.files
    with pytest.raises(KeyError, match=r"'nope\.json'"):
        manifest.files["nope.json"]
    assert manifest.files.get("nope") is None
    assert manifest.find("a.json", SHA) == "a.json"
    del manifest.files["a"]
    assert "a" not in manifest.files and "a.json" in manifest.files
    with pytest.raises(KeyError):
        del manifest.files["a"]
    # the text is that of the records in order, each under its name
    doc = json.loads(manifest.to_json())
    assert list(doc["files"]) == [n for n in NAMES if n != "a"]
    assert doc["files"]["a.json.2"] == _info("a.json", 3)


def test_a_stem_handed_over_is_the_key_itself() -> None:
    stem = "".join(["c25b364a-8e88-468e-ba3c-", "000000000001"])  # a string of its own
    manifest = backup.Manifest()
    manifest.add(stem + ".json", _info(stem + ".json"), stem)
    manifest.add("other.json", _info("other.json"), stem)  # not its stem: not taken
    keys = list(manifest.files._held)
    assert keys[0] is stem and keys[1] == "other"
    assert list(manifest.files) == [stem + ".json", "other.json"]
    assert manifest.files[stem + ".json"] == _info(stem + ".json")


def test_backed_up_copies_are_keyed_by_the_scans_file_ids(tmp_path: object) -> None:
    from pathlib import Path

    from migrate_tui.engine import apply, build_plan, scan_workspace
    from tests.engine.engine_support import Workspace, conversation

    ws = Workspace(Path(str(tmp_path)) / "ws")
    ids = [f"c25b364a-8e88-468e-ba3c-{n:012x}" for n in range(3)]
    for sid in ids:
        ws.add(sid, conversation(sid[-4:], 2))
    plan = build_plan(scan_workspace(str(ws.root)), "main")
    run = apply.Run(plan, lambda event: None, apply.NeverCancel(), 5.0)
    run.backup_phase()
    held = run.manifest.files._held
    scan_ids = {id(s.file_id) for s in plan.scan.sessions}
    assert sum(id(key) in scan_ids for key in held) == len(ids)
    assert sorted(run.manifest.files) == sorted([f"{sid}.json" for sid in ids])
    assert json.loads((ws.backup / "manifest.json").read_bytes())["files"].keys() == set(run.manifest.files)
