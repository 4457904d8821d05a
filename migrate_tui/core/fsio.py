"""The one place where the engine and the store touch the file system.

Every open, read, write, fsync, close, rename, unlink, mkdir and lock goes through this
module (a backup copy is a read and an atomic write), so a test can inject a fault at any
of them (``fault_hook``) without patching the standard library.  The rules of SPEC §3 live
here too: regular files only, opened without following symlinks, read with a size limit;
new files written atomically (a temporary file in the same folder, write, fsync, rename,
fsync of the folder).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from migrate_tui.core.errors import LockTimeout

TEMP_SUFFIX = ".migrate_tui.tmp"
CHUNK = 1 << 20

# A fault hook is called as hook(op, path) before each operation.  It may raise an OSError
# to make the operation fail; for "write" it may return an int n to make the write short
# (only n bytes are written by that call).
FaultHook = Callable[[str, str], "int | None"]
_hook: FaultHook | None = None
_hook_lock = threading.Lock()


@contextlib.contextmanager
def fault_hook(hook: FaultHook) -> Iterator[None]:
    """Install ``hook`` for the duration of the block (tests only)."""
    global _hook
    with _hook_lock:
        previous, _hook = _hook, hook
    try:
        yield
    finally:
        with _hook_lock:
            _hook = previous


def hooked() -> bool:
    """Whether a fault hook is installed (work must then stay in this process)."""
    return _hook is not None


def _at(op: str, path: str) -> int | None:
    hook = _hook
    if hook is not None:
        return hook(op, path)
    return None


class NotRegularFile(OSError):
    """The path is a symlink, a FIFO, a device, a socket or a directory."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({kind})", path)
        self.kind = kind


class FileTooLarge(OSError):
    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size} bytes, over the {limit}-byte limit", path)
        self.size = size
        self.limit = limit


def describe_mode(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISREG(mode):
        return "regular file"
    return "special file"


# ---------------------------------------------------------------- looking


def lstat(path: str) -> os.stat_result:
    _at("stat", path)
    return os.lstat(path)


def lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return lstat(path)
    except FileNotFoundError:
        return None


def listdir(path: str) -> list[str]:
    _at("listdir", path)
    return os.listdir(path)


def list_regular(path: str) -> list[tuple[str, bool]]:
    """The names in a folder, each with whether the folder says it is a regular file (not a
    symlink); False also where it cannot tell without a stat.  One pass (``scandir``): the
    file type comes with the name, so a regular file can be opened without an ``lstat``."""
    _at("listdir", path)
    with os.scandir(path) as entries:
        return [(entry.name, entry.is_file(follow_symlinks=False) and not entry.is_symlink())
                for entry in entries]


def is_real_dir(path: str) -> bool:
    """A directory that is not a symlink."""
    st = lstat_or_none(path)
    return st is not None and stat.S_ISDIR(st.st_mode)


# ---------------------------------------------------------------- reading


def _open_read(path: str) -> tuple[int, os.stat_result]:
    """An fd for reading a regular file (never through a symlink), and its fstat."""
    _at("open", path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(path, "symlink") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(path, describe_mode(st.st_mode))
    return fd, st


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """The whole content of a regular file, never through a symlink, at most ``limit`` bytes."""
    fd, st = _open_read(path)
    try:
        size = st.st_size
        if limit is not None and size > limit:
            raise FileTooLarge(path, size, limit)
        chunks = []
        total = 0
        while True:
            _at("read", path)
            chunk = os.read(fd, max(CHUNK, size - total + 1))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:
                raise FileTooLarge(path, total, limit)
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]
    finally:
        _close(fd, path)


def read_regular(path: str, limit: int | None = None) -> tuple[bytes, os.stat_result]:
    """``read_bytes``, and the file's ``fstat``, in the fewest system calls: open, fstat,
    one read of the whole file (a read shorter than asked is the end of a regular file),
    close."""
    fd, st = _open_read(path)
    try:
        size = st.st_size
        if limit is not None and size > limit:
            raise FileTooLarge(path, size, limit)
        chunks = []
        total = 0
        want = size + 1  # one more than fstat said: a full read means the file grew
        while True:
            _at("read", path)
            chunk = os.read(fd, want)
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:
                raise FileTooLarge(path, total, limit)
            if len(chunk) < want:
                break
            want = CHUNK
        return (b"".join(chunks) if len(chunks) != 1 else chunks[0]), st
    finally:
        _close(fd, path)


def read_range(path: str, start: int, length: int) -> bytes:
    """``length`` bytes from ``start`` (negative: from the end) of a regular file."""
    fd, st = _open_read(path)
    try:
        size = st.st_size
        if start < 0:
            start = max(0, size + start)
        _at("read", path)
        return os.pread(fd, length, start)
    finally:
        _close(fd, path)


def sha256_file(path: str, limit: int | None = None) -> tuple[int, str]:
    """(size, sha256 hex) of a regular file, streamed."""
    fd, _ = _open_read(path)
    try:
        digest = hashlib.sha256()
        size = 0
        while True:
            _at("read", path)
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise FileTooLarge(path, size, limit)
        return size, digest.hexdigest()
    finally:
        _close(fd, path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- writing


def _close(fd: int, path: str) -> None:
    try:
        _at("close", path)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes | memoryview, path: str) -> None:
    view = memoryview(data)
    while view:
        short = _at("write", path)
        piece = view if short is None else view[: max(0, short)]
        written = os.write(fd, piece)
        if written == 0:  # the OS (or a fault hook returning 0) took none of what is left
            raise OSError(errno.EIO, "write made no progress", path)
        view = view[written:]


def fsync_fd(fd: int, path: str) -> None:
    _at("fsync", path)
    os.fsync(fd)


def fsync_dir(path: str) -> None:
    _at("fsync_dir", path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


@dataclass(frozen=True)
class PendingWrite:
    """One file to replace atomically: its path, content, permission bits and mtime."""

    path: str
    data: bytes | list[bytes]
    mode: int = 0o600
    mtime_ns: int | None = None


def _write_temp(item: PendingWrite) -> str:
    """Create the temporary file for ``item`` (exclusively, never through a symlink), fill
    it, fsync it; return its path.  On failure nothing is left behind."""
    tmp = temp_name(item.path)
    _at("open", tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, item.mode & 0o7777)
            for piece in item.data if isinstance(item.data, list) else (item.data,):
                _write_all(fd, piece, tmp)
            if item.mtime_ns is not None:
                os.utime(fd, ns=(item.mtime_ns, item.mtime_ns))
            fsync_fd(fd, tmp)
        finally:
            _close(fd, tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_atomic(
    path: str,
    data: bytes | list[bytes],
    mode: int = 0o600,
    *,
    sync_dir: bool = True,
    mtime_ns: int | None = None,
) -> None:
    """Replace ``path`` with ``data``: temporary file, write, fsync, rename, fsync folder.

    The temporary file is created exclusively and without following symlinks; a symlink
    at ``path`` itself is replaced by the rename, never written through.  On any failure
    the temporary file is removed and ``path`` is left as it was.
    """
    WriteBatch([PendingWrite(path, data, mode, mtime_ns)]).finish()
    if sync_dir:
        fsync_dir(os.path.dirname(path) or ".")


# fsync waits on the disk, not the CPU: several in flight at once finish several times
# sooner than one after another (measured here: 16 at once, 8x the throughput).
WRITERS = 16
# Under a fault hook a batch is written one file after another, so that a test's k-th
# operation is always the same one; a test of the parallel path itself turns this off.
SEQUENTIAL_WHEN_HOOKED = True
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="migrate-tui-write")
        return _pool


def _forget_writers() -> None:
    """In a child made by fork: the pool's threads were not copied, so a batch given to the
    inherited pool would wait for ever; the child makes its own pool when it needs one."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_writers)


class WriteBatch:
    """Atomic writes under way (see ``start_writes``): ``finish`` renames them into place."""

    def __init__(self, items: list[PendingWrite]) -> None:
        self.items = items
        self._futures: list[Future[str]] = []
        self._temps: list[str | None] = []
        self._failure: BaseException | None = None
        if (_hook is None or not SEQUENTIAL_WHEN_HOOKED) and len(items) > 1:
            self._futures = [_writers().submit(_write_temp, item) for item in items]
            return
        for item in items:  # one after another: a fault test's k-th operation is fixed
            try:
                self._temps.append(_write_temp(item))
            except BaseException as exc:  # noqa: BLE001 - raised by finish(), after cleaning up
                self._failure = exc
                break

    def _wait(self) -> None:
        for future in self._futures:
            try:
                self._temps.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - raised by finish(), after cleaning up
                self._temps.append(None)
                self._failure = self._failure or exc
        self._futures = []

    def finish(self) -> None:
        """Wait until every temporary file is on disk, then rename each into place, in
        order.  If any failed, none is renamed and every temporary file is removed."""
        self._wait()
        done = 0
        try:
            if self._failure is not None:
                raise self._failure
            for item, tmp in zip(self.items, self._temps):
                assert tmp is not None
                rename(tmp, item.path)
                done += 1
        finally:
            self._remove(self._temps[done:])

    def abandon(self) -> None:
        """Wait for the writes, rename nothing, remove every temporary file."""
        self._wait()
        self._remove(self._temps)

    @staticmethod
    def _remove(temps: list[str | None]) -> None:
        for tmp in temps:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def start_writes(items: list[PendingWrite]) -> WriteBatch:
    """Start ``write_atomic`` for several files: their temporary files are written and
    fsynced in parallel while the caller goes on; ``finish()`` renames them once all are on
    disk.  With a fault hook installed the writes run at once, one after another, so that a
    test's k-th operation is always the same one.  The caller fsyncs the folder."""
    return WriteBatch(items)


def write_atomic_many(items: list[PendingWrite]) -> None:
    """``write_atomic`` for several files, all fsynced before any is renamed."""
    start_writes(items).finish()


def rename(src: str, dst: str) -> None:
    _at("rename", dst)
    os.rename(src, dst)


def unlink(path: str) -> None:
    _at("unlink", path)
    os.unlink(path)


def unlink_if_exists(path: str) -> bool:
    try:
        unlink(path)
        return True
    except FileNotFoundError:
        return False


def mkdir(path: str, mode: int = 0o700) -> bool:
    """Create a directory (not through a symlink).  False if it already exists as a real one."""
    st = lstat_or_none(path)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            return False
        raise NotRegularFile(path, describe_mode(st.st_mode) + " where a folder was expected")
    _at("mkdir", path)
    os.mkdir(path, mode)
    fsync_dir(os.path.dirname(path) or ".")
    return True


def create_exclusive(path: str, data: bytes, mode: int = 0o600) -> os.stat_result:
    """Create ``path`` only if nothing is there (``O_EXCL``, never through a symlink),
    write ``data`` and fsync it; return its stat.  Raises FileExistsError when anything,
    a symlink included, is already at ``path``.  On any other failure nothing is left."""
    _at("open", path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, mode & 0o7777)
            _write_all(fd, data, path)
            fsync_fd(fd, path)
            st = os.fstat(fd)
        finally:
            _close(fd, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return st


def append_durable(path: str, data: bytes, mode: int = 0o600) -> None:
    """Append to a log file and fsync it (the journal).  Never through a symlink."""
    existed = lstat_or_none(path) is not None
    _at("open", path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        _write_all(fd, data, path)
        fsync_fd(fd, path)
    finally:
        _close(fd, path)
    if not existed:
        fsync_dir(os.path.dirname(path) or ".")


def remove_temp_files(folder: str) -> list[str]:
    """Remove temporary files an interrupted write of ours left in ``folder``."""
    removed: list[str] = []
    if not is_real_dir(folder):  # a symlink to a folder elsewhere is never listed through
        return removed
    with contextlib.suppress(FileNotFoundError):
        for name in listdir(folder):
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                path = os.path.join(folder, name)
                st = lstat_or_none(path)
                if st is not None and stat.S_ISREG(st.st_mode):
                    unlink_if_exists(path)
                    removed.append(path)
    return removed


# ---------------------------------------------------------------- the lock


@contextlib.contextmanager
def presence_lock(lock_path: str, timeout: float) -> Iterator[None]:
    """Hold ``sessions.json.lock`` the way the agent's own writers do (SPEC §3).

    The lock file is created with O_EXCL and records the owner's pid; it is removed on
    release and reclaimed only when its owner is provably gone.  ``filelock.SoftFileLock``
    implements exactly that protocol, so we speak it through the library itself.
    """
    from filelock import SoftFileLock, Timeout

    _at("lock", lock_path)
    lock = SoftFileLock(lock_path, timeout=timeout, thread_local=False, poll_interval=0.05)
    try:
        lock.acquire()
    except Timeout:
        raise LockTimeout(lock_path, timeout, lock.pid) from None
    try:
        yield
    finally:
        lock.release()


def lock_holder(lock_path: str) -> int | None:
    """The pid recorded in a presence lock file, if one is there."""
    from filelock import SoftFileLock

    if lstat_or_none(lock_path) is None:
        return None
    return SoftFileLock(lock_path).pid or -1


def lock_left_behind(lock_path: str) -> bool:
    """A lock file whose recorded owner is provably gone (no such process here)."""
    holder = lock_holder(lock_path)
    if holder is None or holder <= 0:
        return False
    try:
        os.kill(holder, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
