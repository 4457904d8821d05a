"""New files created with their mode where that gives it exactly (fsio._creation_modes):
no fchmod then; with a umask that takes bits of the mode, a default ACL on the folder, or an
owner to give, created 0600 and given owner and mode as before.  Whichever way, each file
ends with exactly the mode asked for."""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate_tui.core import fsio

MODES = (0o644, 0o640, 0o600, 0o666, 0o604)


@pytest.fixture
def fchmods(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The modes fchmod was called with (the real call is made)."""
    calls: list[int] = []
    real = os.fchmod

    def counted(fd: int, mode: int) -> None:
        calls.append(mode)
        real(fd, mode)
    monkeypatch.setattr(os, "fchmod", counted)
    return calls


@pytest.fixture
def umask() -> Iterator[object]:
    """Set the process's umask for the test (``umask.set(value)``); restored after it."""
    class Setter:
        def set(self, value: int) -> None:
            os.umask(value)
    old = os.umask(0o022)
    try:
        yield Setter()
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _write(folder: Path, modes: tuple[int, ...], *, anchored: bool, exclusive: bool) -> list[Path]:
    paths = [folder / f"f{k}.jsonl" for k in range(len(modes))]
    items = [fsio.PendingWrite(str(p), f"line {k}\n".encode(), mode, check=True, exclusive=exclusive)
             for k, (p, mode) in enumerate(zip(paths, modes, strict=True))]
    if anchored:
        with fsio.anchored(str(folder)):
            fsio.start_writes(items, land_early=True).finish()
    else:
        fsio.start_writes(items).finish()
    return paths


@pytest.mark.parametrize(("anchored", "exclusive"), [(False, False), (True, False), (True, True)])
def test_modes_the_umask_keeps_need_no_fchmod(tmp_path: Path, fchmods: list[int], umask, anchored: bool,
                                              exclusive: bool) -> None:
    umask.set(0o022)
    paths = _write(tmp_path, (0o644, 0o640, 0o600, 0o604), anchored=anchored, exclusive=exclusive)
    assert [_mode(p) for p in paths] == [0o644, 0o640, 0o600, 0o604]
    assert fchmods == []  # run as root too: the folder is root's, no owner to give


@pytest.mark.parametrize("mask", [0o077, 0o027, 0o002, 0o277])
def test_a_umask_that_takes_bits_away_is_made_good_by_fchmod(tmp_path: Path, fchmods: list[int], umask,
                                                            mask: int) -> None:
    umask.set(mask)
    paths = _write(tmp_path, MODES, anchored=True, exclusive=True)
    assert [_mode(p) for p in paths] == list(MODES)
    assert sorted(fchmods) == sorted(m for m in MODES if m & mask)


def test_the_umask_is_read_for_each_batch(tmp_path: Path, umask) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    umask.set(0o022)
    first = _write(tmp_path / "a", (0o644, 0o644), anchored=False, exclusive=False)
    umask.set(0o077)  # the second batch's files would be 0600 were the first's umask kept
    second = _write(tmp_path / "b", (0o644, 0o644), anchored=False, exclusive=False)
    assert [_mode(p) for p in first + second] == [0o644] * 4


def _default_acl(user: int, group: int, other: int) -> bytes:
    """A POSIX default ACL as the kernel stores it (version 2; USER_OBJ, GROUP_OBJ, OTHER)."""
    entry = struct.Struct("<HHI")
    return struct.pack("<I", 2) + b"".join(entry.pack(tag, perm, 0xFFFFFFFF)
                                          for tag, perm in ((0x01, user), (0x04, group), (0x20, other)))


@pytest.mark.parametrize("anchored", [False, True])
def test_a_folder_with_a_default_acl_gets_each_mode_by_fchmod(tmp_path: Path, fchmods: list[int], umask,
                                                             anchored: bool) -> None:
    umask.set(0o022)
    folder = tmp_path / "acl"
    folder.mkdir()
    try:  # group and others may read nothing there, whatever mode a new file is created with
        os.setxattr(folder, "system.posix_acl_default", _default_acl(6, 0, 0))
    except OSError as exc:
        pytest.skip(f"no POSIX ACLs on this file system ({exc.strerror})")
    paths = _write(folder, (0o644, 0o640), anchored=anchored, exclusive=anchored)
    assert [_mode(p) for p in paths] == [0o644, 0o640]
    assert sorted(fchmods) == [0o640, 0o644]


def test_without_the_umask_each_mode_is_given_by_fchmod(tmp_path: Path, fchmods: list[int], umask,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    umask.set(0o022)
    monkeypatch.setattr(fsio, "_umask", lambda: None)  # /proc not mounted, say
    paths = _write(tmp_path, (0o644, 0o600), anchored=True, exclusive=True)
    assert [_mode(p) for p in paths] == [0o644, 0o600]
    assert sorted(fchmods) == [0o600, 0o644]


def test_the_umask_is_the_processes(umask) -> None:
    for mask in (0o022, 0o077, 0, 0o777):
        umask.set(mask)
        assert fsio._umask() == mask


def test_a_mode_with_a_special_bit_is_given_by_fchmod(tmp_path: Path, fchmods: list[int], umask) -> None:
    umask.set(0o022)
    paths = _write(tmp_path, (0o1644, 0o644), anchored=False, exclusive=False)
    assert [stat.S_IMODE(p.lstat().st_mode) for p in paths] == [0o1644, 0o644]
    assert fchmods == [0o1644]
