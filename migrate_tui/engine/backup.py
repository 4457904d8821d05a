"""The backup: byte-identical copies of every file the migration reads or replaces, and
a manifest of their sizes and SHA-256, written and checked before anything new is written.

A later run never overwrites an earlier, different backup: a changed file is kept beside
the first copy as ``<name>.2``, ``<name>.3`` ...
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from migrate_tui.engine import fsio
from migrate_tui.engine.layout import JOURNAL, MANIFEST, REPORT, Layout, check_backup_dir


class BackupError(Exception):
    """The backup could not be written or did not check out; nothing new was written."""


@dataclass
class Manifest:
    # backup name → {"original", "size", "sha256", "mode", "mtime_ns", "run"}
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    _by_content: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, info in self.files.items():
            self._by_content.setdefault((info["original"], info["sha256"]), name)

    def add(self, name: str, info: dict[str, Any]) -> None:
        self.files[name] = info
        self._by_content.setdefault((info["original"], info["sha256"]), name)

    def find(self, original: str, sha256: str) -> str | None:
        """The backup copy of ``original`` with these bytes, if there is one."""
        return self._by_content.get((original, sha256))

    def to_json(self) -> bytes:
        """One line per copy: readable, and written by the C encoder at any size."""
        lines = [json.dumps(name) + ": " + json.dumps(info) for name, info in self.files.items()]
        body = ",\n    ".join(lines)
        return (f'{{\n  "version": 1,\n  "files": {{\n    {body}\n  }}\n}}\n' if lines
                else '{\n  "version": 1,\n  "files": {}\n}\n').encode("ascii")


def load_manifest(layout: Layout) -> Manifest:
    if fsio.lstat_or_none(layout.manifest) is None:
        return Manifest()
    try:
        data = json.loads(fsio.read_bytes(layout.manifest))
        return Manifest(dict(data["files"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{layout.manifest} is damaged ({exc}); the backup cannot be trusted") from None


def save_manifest(layout: Layout, manifest: Manifest) -> None:
    fsio.write_atomic(layout.manifest, manifest.to_json(), 0o600)


def ensure_dir(layout: Layout) -> None:
    check_backup_dir(layout)
    fsio.mkdir(layout.backup_dir, 0o700)


def _free_name(manifest: Manifest, layout: Layout, original: str, size: int, sha: str) -> str:
    """The first name not used by another copy.  A copy an interrupted run wrote before it
    could record it in the manifest is taken over when it holds the same bytes."""
    candidates = itertools.chain([original], (f"{original}.{n}" for n in itertools.count(2)))
    for name in itertools.islice(candidates, 10_000):
        if name in manifest.files or name in (MANIFEST, JOURNAL, REPORT):
            continue
        if fsio.lstat_or_none(layout.in_backup(name)) is None or _copy_ok(layout, name, size, sha):
            return name
    raise BackupError(f"no free backup name for {original}")


def back_up(layout: Layout, manifest: Manifest, original: str, data: bytes, mode: int,
            mtime_ns: int, run: str) -> str:
    """Copy ``data`` (the bytes of .sessions/``original``) into the backup unless an identical
    copy is there already; return the backup's name.  The copy is re-read and checked."""
    sha = fsio.sha256_bytes(data)
    existing = manifest.find(original, sha)
    if existing is not None and _copy_ok(layout, existing, len(data), sha):
        return existing
    name = existing or _free_name(manifest, layout, original, len(data), sha)
    path = layout.in_backup(name)
    fsio.write_atomic(path, data, mode, sync_dir=False, mtime_ns=mtime_ns)
    if not _copy_ok(layout, name, len(data), sha):
        raise BackupError(f"the backup copy {path} does not match {original} after writing it")
    manifest.add(name, {"original": original, "size": len(data), "sha256": sha, "mode": mode,
                        "mtime_ns": mtime_ns, "run": run})
    return name


def _copy_ok(layout: Layout, name: str, size: int, sha: str) -> bool:
    try:
        got_size, got_sha = fsio.sha256_file(layout.in_backup(name))
    except OSError:
        return False
    return got_size == size and got_sha == sha


def check_copy(layout: Layout, manifest: Manifest, name: str) -> str | None:
    """None if the backup copy ``name`` matches the manifest, else what is wrong."""
    info = manifest.files.get(name)
    if info is None:
        return f"{name} is not in the manifest"
    try:
        size, sha = fsio.sha256_file(layout.in_backup(name))
    except FileNotFoundError:
        return f"the backup copy {name} is missing"
    except OSError as exc:
        return f"the backup copy {name} cannot be read: {exc.strerror or exc}"
    if size != info["size"] or sha != info["sha256"]:
        return f"the backup copy {name} differs from its manifest entry"
    return None


def read_copy(layout: Layout, manifest: Manifest, name: str) -> bytes:
    problem = check_copy(layout, manifest, name)
    if problem:
        raise BackupError(problem)
    return fsio.read_bytes(layout.in_backup(name))
