"""The manifest's lines written straight from the packed records (``_Files.lines``): the
text ``json.dumps(name) + ": " + json.dumps(record)`` gives for each copy, whatever its
names, numbers, profile and shape, and however many copies share a profile."""

from __future__ import annotations

import json

from migrate_tui.engine import backup


def _manifest(records: dict) -> backup.Manifest:
    manifest = backup.Manifest()
    for name, info in records.items():
        manifest.add(name, dict(info))
    return manifest


def _reference(records: dict) -> list[str]:
    return [json.dumps(name) + ": " + json.dumps(info) for name, info in records.items()]


def test_each_line_is_json_dumps_of_its_record() -> None:
    records = {}
    for k in range(40):  # profiles shared and not: modes, owners, runs
        name = f"s{k}-\u00e9\"\\\u2028.json" if k % 7 == 0 else f"s{k}.json"
        info = {"original": name if k % 5 else f"orig-{k}\u00ff.json", "size": k * 1_000_003,
                "sha256": f"{k:064x}", "mode": (0o600, 0o644, 0o640)[k % 3],
                "mtime_ns": {3: -(1 << 63), 4: (1 << 63) - 1}.get(k, 1_764_000_000_000_000_000 + k),
                "run": f"run-{k % 2}\u0001"}
        if k % 4 == 0:
            info["uid"], info["gid"] = 1000 + k % 2, 0
        records[name] = info
    records["kept.json"] = {"original": "kept.json", "size": 1, "mtime_ns": 1, "sha256": "0" * 64,
                            "mode": 0o600, "run": "r"}  # not in the packed order: kept as it is
    records["big.json"] = {"original": "big.json", "size": 1, "sha256": "0" * 64, "mode": 0o600,
                           "mtime_ns": 1 << 64, "run": "r"}  # past 64 bits: kept as it is
    manifest = _manifest(records)
    assert list(manifest.files.lines()) == _reference(records)
    text = manifest.to_json()
    assert json.loads(text)["files"] == records
    assert text == b"".join(manifest.to_json_pieces(lines_a_piece=7))


def test_a_packed_record_is_written_from_its_parts() -> None:
    info = {"original": "a.json", "size": 5, "sha256": "ab" * 32, "mode": 0o644, "mtime_ns": 9, "run": "r"}
    manifest = _manifest({"a.json": info})
    assert type(manifest.files._held["a"]) is bytes  # packed, not a dict
    assert list(manifest.files.lines()) == [
        '"a.json": {"original": "a.json", "size": 5, "sha256": "' + "ab" * 32
        + '", "mode": 420, "mtime_ns": 9, "run": "r"}']
