"""``sessions.json``: read it (cached), and change it under its lock (docs/guarantees.md, docs/store.md).

Reading goes through ``fsio`` (regular files only, never through a symlink, with a size
limit) and ``jsonio`` (lossless: unknown fields, key order and every number survive).
``update_session_store`` holds ``sessions.json.lock`` for the whole read-modify-write and
replaces the file atomically, so writers in several processes lose no update.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from migrate_tui.core import fsio, jsonio
from migrate_tui.core.errors import MigrateError
from migrate_tui.store.entry import SessionEntry

DEFAULT_STORE_PATH = "~/.openclaw/.sessions/sessions.json"
CACHE_TTL_SECONDS = 45.0
LOCK_SUFFIX = ".lock"
NEW_FILE_MODE = 0o600
MAX_STORE_BYTES = 256 * 1024 * 1024

Store = dict[str, SessionEntry]
# (mtime_ns, size, inode): when any of them changes, the cached copy is stale.
Signature = tuple[int, int, int]

_clock = time.monotonic


class StoreError(MigrateError, ValueError):
    """``sessions.json`` (or a transcript) holds something that is not what the format allows."""

    def __init__(
        self,
        message: str,
        path: str,
        *,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
        self.key = key


@dataclass
class _Cached:
    signature: Signature
    loaded_at: float
    store: Store


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def store_file_path(store_path: str | os.PathLike[str]) -> str:
    """The absolute path of a store, ``~`` expanded (pure string work, no symlink resolved)."""
    return os.path.abspath(os.path.expanduser(os.fspath(store_path)))


def lock_file_path(store_path: str | os.PathLike[str]) -> str:
    return store_file_path(store_path) + LOCK_SUFFIX


def load_session_store(store_path: str | os.PathLike[str], *, skip_cache: bool = False) -> Store:
    """``{key: SessionEntry}`` from ``sessions.json``; ``{}`` when the file does not exist.

    Cached for ``CACHE_TTL_SECONDS`` per path and re-read as soon as the file's
    (mtime_ns, size, inode) changes.  The result is the caller's own copy.
    """
    path = store_file_path(store_path)
    st = fsio.lstat_or_none(path)
    if st is None:
        _forget(path)
        return {}
    signature = _signature(st)
    if not skip_cache:
        with _cache_lock:
            cached = _cache.get(path)
        if (
            cached is not None
            and cached.signature == signature
            and _clock() - cached.loaded_at < CACHE_TTL_SECONDS
        ):
            return _copy_store(cached.store)
    store = decode_store(path, fsio.read_bytes(path, MAX_STORE_BYTES))
    _remember(path, signature, store)
    return _copy_store(store)


def update_session_store(
    store_path: str | os.PathLike[str],
    mutator: Callable[[Store], Any],
    *,
    lock_timeout: float = 10.0,
) -> Any:
    """Read ``sessions.json`` fresh, let ``mutator`` change it, write it back atomically,
    all while holding ``sessions.json.lock``; return what ``mutator`` returned.

    If ``mutator`` raises, nothing is written.  If the lock cannot be taken within
    ``lock_timeout`` seconds, ``fsio.LockTimeout`` is raised and nothing is read or written.
    """
    path = store_file_path(store_path)
    with fsio.presence_lock(lock_file_path(path), lock_timeout):
        st = fsio.lstat_or_none(path)
        old_data = fsio.read_bytes(path, MAX_STORE_BYTES) if st is not None else None
        store = decode_store(path, old_data) if old_data is not None else {}
        result = mutator(store)
        _check_shape(path, store)
        data = jsonio.dumps_document(store)
        if data != old_data:
            mode = stat.S_IMODE(st.st_mode) if st is not None else NEW_FILE_MODE
            fsio.write_atomic(path, data, mode)
        # Still under the lock, so no writer that follows the protocol can have moved it.
        written = fsio.lstat_or_none(path)
        if written is not None:
            _remember(path, _signature(written), decode_store(path, data))
    return result


def decode_store(path: str, data: bytes) -> Store:
    """Parse the bytes of ``sessions.json``: an object of key → object, else ``StoreError``."""
    text = _decode_utf8(path, data)
    dups = jsonio.DuplicateKeys()
    try:
        value = jsonio.loads(text, dups)
    except jsonio.JSONDecodeError as exc:
        raise StoreError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}",
            path, line=exc.lineno, column=exc.colno,
        ) from None
    except RecursionError:
        raise StoreError(f"{path}: nested too deeply to read safely", path) from None
    if dups.keys:
        # Writing the store back would keep only the last of them: refuse, never drop.
        key = dups.keys[0]
        raise StoreError(f"{path}: the key {key!r} appears twice in one object", path, key=key)
    if not isinstance(value, dict):
        raise StoreError(
            f"{path}: the top level is {jsonio.kind_of(value)}, not an object of key → entry", path
        )
    _check_shape(path, value)
    return {key: SessionEntry(entry) for key, entry in value.items()}


def _check_shape(path: str, store: dict[Any, Any]) -> None:
    for key, entry in store.items():
        if not isinstance(key, str):
            raise StoreError(f"{path}: the key {key!r} is not a string", path)
        if not isinstance(entry, dict):
            raise StoreError(
                f"{path}: the entry {key!r} is {jsonio.kind_of(entry)}, not an object", path, key=key
            )


def _decode_utf8(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise StoreError(
            f"{path}:{line}:{column}: not UTF-8 (byte 0x{data[exc.start]:02x})",
            path, line=line, column=column,
        ) from None


def _signature(st: os.stat_result) -> Signature:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _remember(path: str, signature: Signature, store: Store) -> None:
    with _cache_lock:
        _cache[path] = _Cached(signature, _clock(), store)


def _forget(path: str) -> None:
    with _cache_lock:
        _cache.pop(path, None)


def clear_cache() -> None:
    """Drop every cached store (the next load reads the file)."""
    with _cache_lock:
        _cache.clear()


def _copy_store(store: Store) -> Store:
    return {key: SessionEntry(_copy_value(entry)) for key, entry in store.items()}


def _copy_value(value: Any) -> Any:
    """A deep copy of a parsed JSON value (dicts and lists are the only mutable parts)."""
    if isinstance(value, dict):
        return {key: _copy_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_value(item) for item in value]
    return value
