"""The naive baseline: the migration as a quick script would do it, and the ``cp -r`` floor.

    python -m benchmarks.naive WORKSPACE            the naive migration
    python -m benchmarks.naive WORKSPACE --dry-run  the same reading and parsing, nothing written
    python -m benchmarks.naive WORKSPACE --cp       cp -r .sessions .sessions_cp (the floor)

Standalone on purpose (standard library only, no engine import): per legacy file
``json.load``; one ``json.dump`` per transcript line into a file opened with
``open(..., "w")``; the index written with ``json.dump(index, f, indent=2)``; the backup
made with ``shutil.copy2``.  No lock, no fsync, no verification, no problem handling
beyond what it takes to produce the same files for a clean workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime


def _ms(value: str) -> int:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def naive_migrate(workspace: str, agent_id: str = "main", dry_run: bool = False) -> int:
    """The migration; with ``dry_run`` every file is read and parsed and every entry built
    as in the migration, and nothing is copied or written."""
    sessions_dir = os.path.join(workspace, ".sessions")
    backup_dir = os.path.join(sessions_dir, "backup_old_format")
    if not dry_run:
        os.makedirs(backup_dir, exist_ok=True)
    map_path = os.path.join(sessions_dir, "session_map.json")
    store_path = os.path.join(sessions_dir, "sessions.json")
    session_map: dict[str, str] = {}
    if os.path.exists(map_path):
        with open(map_path, encoding="utf-8") as f:
            session_map = json.load(f)
        if not dry_run:
            shutil.copy2(map_path, os.path.join(backup_dir, "session_map.json"))
    keys_by_id: dict[str, list[str]] = {}
    for key, sid in session_map.items():
        keys_by_id.setdefault(sid, []).append(key)
    index: dict[str, dict] = {}
    if os.path.exists(store_path):
        with open(store_path, encoding="utf-8") as f:
            index = json.load(f)
    migrated = 0
    for name in sorted(os.listdir(sessions_dir)):
        if not name.endswith(".json") or name in ("session_map.json", "sessions.json"):
            continue
        path = os.path.join(sessions_dir, name)
        if not dry_run:
            shutil.copy2(path, os.path.join(backup_dir, name))
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        sid = doc["session_id"]
        if not dry_run:
            with open(os.path.join(sessions_dir, f"{sid}.jsonl"), "w", encoding="utf-8") as out:
                for message in doc["messages"]:
                    json.dump({k: v for k, v in message.items() if v is not None}, out, ensure_ascii=False)
                    out.write("\n")
        entry = {"session_id": sid, "updated_at": _ms(doc["updated_at"]), "session_file": f"{sid}.jsonl"}
        entry.update(doc.get("metadata") or {})
        for key in keys_by_id.get(sid) or [f"agent:{agent_id}:{sid}"]:
            index[key] = entry
        migrated += 1
    if not dry_run:
        with open(store_path, "w", encoding="utf-8") as f:
            json.dump(index, f, indent=2)
    return migrated


def cp_floor(workspace: str) -> int:
    """``cp -r`` of the .sessions folder: the least any migration that copies it must cost."""
    src = os.path.join(workspace, ".sessions")
    return subprocess.run(["cp", "-r", src, os.path.join(workspace, ".sessions_cp")]).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    if "--cp" in argv[1:]:
        return cp_floor(argv[0])
    count = naive_migrate(argv[0], dry_run="--dry-run" in argv[1:])
    print(json.dumps({"migrated": count}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
