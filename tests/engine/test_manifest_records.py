"""The manifest held compactly (``backup.Manifest``: a run's usual record packed in one bytes
object, anything else kept as it was) writes the same text a dict per copy would, is read
back and checked the same way, and finds the same copies."""

from __future__ import annotations

import json
from pathlib import Path

from migrate_tui.core.layout import open_layout
from migrate_tui.engine import backup

SHA = "0123456789abcdef" * 4

# every shape a record may have: a run's own (with and without owner), an original not the
# copy's name, and records a packed one could not say exactly (kept as they are)
RECORDS = {
    "a.json": {"original": "a.json", "size": 12, "sha256": SHA, "mode": 0o600,
               "mtime_ns": 1_764_000_000_123_456_789, "run": "r1", "uid": 1000, "gid": 1000},
    "b-é.json": {"original": "b-é.json", "size": 0, "sha256": "f" * 64, "mode": 0o644,
                 "mtime_ns": -5, "run": "r2"},
    "a.json.2": {"original": "a.json", "size": 13, "sha256": "e" * 64, "mode": 0o600,
                 "mtime_ns": 7, "run": "r1", "uid": 0, "gid": 0},
    "upper.json": {"original": "upper.json", "size": 1, "sha256": SHA.upper(), "mode": 0o600,
                   "mtime_ns": 1, "run": "r1"},
    "bool.json": {"original": "bool.json", "size": True, "sha256": SHA, "mode": 0o600,
                  "mtime_ns": 1, "run": "r1"},
    "huge.json": {"original": "huge.json", "size": 1, "sha256": SHA, "mode": 0o600,
                  "mtime_ns": 2 ** 70, "run": "r1"},
    "extra.json": {"original": "extra.json", "size": 1, "sha256": SHA, "mode": 0o600,
                   "mtime_ns": 1, "run": "r1", "note": ["kept"]},
    "order.json": {"size": 1, "original": "order.json", "sha256": SHA, "mode": 0o600,
                   "mtime_ns": 1, "run": "r1"},
}


def _reference_text(records: dict) -> bytes:
    lines = [json.dumps(name) + ": " + json.dumps(info) for name, info in records.items()]
    return ('{\n  "version": 1,\n  "files": {\n    ' + ",\n    ".join(lines) + "\n  }\n}\n").encode("ascii")


def test_records_are_given_back_as_they_were_added() -> None:
    manifest = backup.Manifest()
    for name, info in RECORDS.items():
        manifest.add(name, info)
    assert len(manifest.files) == len(RECORDS) and list(manifest.files) == list(RECORDS)
    for name, info in RECORDS.items():
        got = manifest.files[name]
        assert got == info and list(got) == list(info), name
        assert type(got["size"]) is type(info["size"]), name
    assert manifest.files == RECORDS
    assert manifest.to_json() == _reference_text(RECORDS)
    got = manifest.files["a.json"]
    got["size"] = 99  # a record given out is a copy
    assert manifest.files["a.json"]["size"] == 12


def test_the_compact_manifest_is_saved_read_back_and_checked(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".sessions").mkdir(parents=True)
    layout = open_layout(str(ws))
    backup.ensure_dir(layout)
    manifest = backup.Manifest()
    records = {name: info for name, info in RECORDS.items() if name != "bool.json"}  # not valid
    for n in range(3000):  # more lines than one piece of the saved text
        records[f"s{n}.json"] = {"original": f"s{n}.json", "size": n, "sha256": f"{n:064x}",
                                 "mode": 0o600, "mtime_ns": 10 ** 18 + n, "run": f"r{n % 3}"}
    for name, info in records.items():
        manifest.add(name, info)
    backup.save_manifest(layout, manifest)
    assert Path(layout.manifest).read_bytes() == _reference_text(records)
    assert backup.check_manifest(layout) is None
    again, damage = backup.read_manifest(layout)
    assert damage is None and again.files == records
    assert again.to_json() == manifest.to_json()
    assert again.find("s5.json", f"{5:064x}") == "s5.json"
    assert again.find("s5.json", "0" * 64) is None


def test_find_gives_the_first_copy_of_those_bytes() -> None:
    manifest = backup.Manifest()
    info = {"original": "x.json", "size": 1, "sha256": SHA, "mode": 0o600, "mtime_ns": 1, "run": "r"}
    manifest.add("x.json.2", info)  # a copy under another name first
    manifest.add("x.json", info)
    assert manifest.find("x.json", SHA) == "x.json.2"
    other = backup.Manifest()
    other.add("x.json", info)
    other.add("x.json.2", info)
    assert other.find("x.json", SHA) == "x.json"
    assert other.find("x.json.2", SHA) is None  # not a copy of an original of that name
    assert other.find("x.json", "f" * 64) is None
    upper = backup.Manifest()
    upper.add("y.json", {**info, "original": "y.json", "sha256": SHA.upper()})
    assert upper.find("y.json", SHA.upper()) == "y.json" and upper.find("y.json", SHA) is None
