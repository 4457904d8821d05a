"""The one place where the engine and the store touch the file system.

Every open, read, write, fsync, close, rename, unlink, mkdir and lock goes through this
module (a backup copy is a read and an atomic write), so a test can inject a fault at any
of them (``fault_hook``) without patching the standard library.  The rules of docs/guarantees.md live
here too: regular files only, opened without following symlinks, read with a size limit;
new files written atomically (a temporary file in the same folder, write, fsync, rename,
fsync of the folder; a batch of files synced by one syncfs where that is as safe:
docs/durability.md).

Paths resolved once: ``anchored(folder)`` opens a folder once, without following symlinks,
and for as long as it is held every call here on a path directly inside that folder (or
inside one of its sub-folders) is made relative to that descriptor (``dir_fd``).  A folder
swapped for a symlink mid-run then cannot redirect a single read or write; the fault hook
still sees the same paths.  The store library keeps the plain path API (it anchors nothing).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import os
import queue
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from migrate_tui.core.errors import LockTimeout

TEMP_SUFFIX = ".migrate_tui.tmp"
CHUNK = 1 << 20
NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, tmpfs)

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


# ---------------------------------------------------------------- folders resolved once


class _Anchor:
    """An open descriptor of a folder, and of the sub-folders reached through it."""

    def __init__(self, path: str, fd: int, st: os.stat_result) -> None:
        self.path = path
        self.fd = fd
        self.owner = (st.st_uid, st.st_gid)
        self.ids = (os.geteuid(), os.getegid())  # effective uid and gid of this command
        self.count = 1
        self.children: dict[str, int] = {}
        self.lock = threading.Lock()

    def child(self, name: str) -> int:
        """The descriptor of the sub-folder ``name`` (opened once, never through a symlink)."""
        fd = self.children.get(name)
        if fd is not None:
            return fd
        with self.lock:
            fd = self.children.get(name)
            if fd is None:
                fd = _open_dir(name, self.fd, os.path.join(self.path, name))
                self.children[name] = fd
            return fd

    def close(self) -> None:
        for fd in [*self.children.values(), self.fd]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.children.clear()


_anchors: dict[str, _Anchor] = {}
_anchors_lock = threading.Lock()


def _open_dir(name: str, dir_fd: int | None, label: str) -> int:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                       dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(label, "symlink where a folder was expected") from None
        if exc.errno == errno.ENOTDIR:
            kind = "file"
            with contextlib.suppress(OSError):
                kind = describe_mode(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            raise NotRegularFile(label, f"{kind} where a folder was expected") from None
        raise


@contextlib.contextmanager
def anchored(path: str) -> Iterator[bool]:
    """Resolve the folder ``path`` once, for the duration of the block (see the module's
    docstring).  Yields False, anchoring nothing, when the folder does not exist; raises
    ``NotRegularFile`` when a symlink or another kind of file is there.  Nested anchors of
    the same folder share the first one's descriptor."""
    path = os.path.abspath(path)
    with _anchors_lock:
        anchor = _anchors.get(path)
        if anchor is not None:
            anchor.count += 1
    if anchor is None:
        _at("open", path)
        try:
            fd = _open_dir(path, None, path)
        except FileNotFoundError:
            yield False
            return
        new = _Anchor(path, fd, os.fstat(fd))
        with _anchors_lock:
            anchor = _anchors.get(path)
            if anchor is None:
                anchor = _anchors[path] = new
            else:  # another thread anchored it meanwhile: share that one
                anchor.count += 1
                new.close()
    try:
        yield True
    finally:
        with _anchors_lock:
            anchor.count -= 1
            if anchor.count == 0:
                del _anchors[path]
                anchor.close()


def anchor_owner(path: str) -> tuple[int, int] | None:
    """(uid, gid) of the anchored folder that holds ``path`` (or is ``path``), if any."""
    found = _anchor_of(path)
    return found.owner if found is not None else None


def _anchor_of(path: str) -> _Anchor | None:
    if not _anchors:
        return None
    folder = path
    for _ in range(3):
        anchor = _anchors.get(folder)
        if anchor is not None:
            return anchor
        folder = os.path.dirname(folder)
    return None


def _where(path: str) -> tuple[int | None, str]:
    """(descriptor of the folder, name) for a path inside an anchored folder or one of its
    sub-folders; (None, path) otherwise."""
    if not _anchors:
        return None, path
    parent, name = os.path.split(path)
    anchor = _anchors.get(parent)
    if anchor is not None:
        return anchor.fd, name
    grand, sub = os.path.split(parent)
    anchor = _anchors.get(grand)
    if anchor is not None:
        return anchor.child(sub), name
    return None, path


def _folder_fd(path: str) -> int | None:
    """A descriptor of the folder ``path`` when it is anchored or a sub-folder of an anchor
    (only for calls on folders: listing one, syncing one)."""
    if not _anchors:
        return None
    anchor = _anchors.get(path)
    if anchor is not None:
        return anchor.fd
    parent, name = os.path.split(path)
    anchor = _anchors.get(parent)
    if anchor is not None:
        return anchor.child(name)
    return None


def _chown_new(fd: int, path: str, owner: tuple[int, int] | None = None) -> None:
    """Run as root, a new file gets the owner of the anchored folder it is written in (or
    the ``owner`` given), so the agent that owns the workspace can still read it."""
    owner = _new_owner(path, owner)
    if owner is not None:
        os.fchown(fd, *owner)


def _new_owner(path: str, owner: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The owner ``_chown_new`` gives a new file at ``path``; None when it changes none."""
    anchor = _anchor_of(path)
    # who we are, as the anchor found it (no system call a file), or asked now
    euid, egid = anchor.ids if anchor is not None else (os.geteuid(), os.getegid())
    if euid != 0:
        return None
    if owner is None:
        owner = anchor.owner if anchor is not None else None
        # the folder's owner is root's own user and group: the new file has them already
        # (its group is the folder's whether or not the folder is set-group-ID)
        if owner is None or owner == (0, egid):
            return None
    return owner



# ---------------------------------------------------------------- looking


def lstat(path: str) -> os.stat_result:
    _at("stat", path)
    anchor = _anchors.get(path) if _anchors else None
    if anchor is not None:  # the anchored folder itself: what was opened
        return os.fstat(anchor.fd)
    dir_fd, name = _where(path)
    return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)


def lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return lstat(path)
    except FileNotFoundError:
        return None


def listdir(path: str) -> list[str]:
    _at("listdir", path)
    folder = _folder_fd(path)
    return os.listdir(folder if folder is not None else path)


def list_regular(path: str) -> list[tuple[str, bool]]:
    """The names in a folder, each with whether the folder says it is a regular file (not a
    symlink); False also where it cannot tell without a stat.  One pass (``scandir``): the
    file type comes with the name, so a regular file can be opened without an ``lstat``."""
    _at("listdir", path)
    folder = _folder_fd(path)
    with os.scandir(folder if folder is not None else path) as entries:
        # (a symlink is not a regular file: is_file without following says False for it)
        return [(entry.name, entry.is_file(follow_symlinks=False)) for entry in entries]


def iter_names(path: str) -> Iterator[str]:
    """``listdir``'s names one at a time (``scandir``): a folder of 200,000 files is gone
    through without holding its names (about 18 MB)."""
    _at("listdir", path)
    folder = _folder_fd(path)
    with os.scandir(folder if folder is not None else path) as entries:
        for entry in entries:
            yield entry.name


def is_real_dir(path: str) -> bool:
    """A directory that is not a symlink."""
    st = lstat_or_none(path)
    return st is not None and stat.S_ISDIR(st.st_mode)


def is_dir(path: str) -> bool:
    """A directory, or a symlink to one (a folder the user names, such as the workspace)."""
    _at("stat", path)
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def list_folders(path: str, limit: int) -> list[str]:
    """The names of the sub-folders of ``path`` (not symlinks), among its first ``limit``
    entries, in no order."""
    _at("listdir", path)
    with os.scandir(path) as entries:
        return [entry.name for _, entry in zip(range(limit), entries, strict=False)
                if entry.is_dir(follow_symlinks=False)]


def disk_free(path: str) -> int:
    """Free bytes on the file system that holds ``path``."""
    _at("stat", path)
    return shutil.disk_usage(path).free


# ---------------------------------------------------------------- reading


def _open_read(path: str) -> tuple[int, os.stat_result]:
    """An fd for reading a regular file (never through a symlink, never waiting on a FIFO),
    and its fstat."""
    _at("open", path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    dir_fd, name = _where(path)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
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


def read_pieces(path: str, limit: int | None = None,
                piece_bytes: int = CHUNK) -> Generator[bytes, None, None]:
    """``read_bytes`` a piece at a time (consecutive reads of one open file, up to
    ``piece_bytes`` each), for a caller that never holds the whole content: the same rules
    and errors, raised as the pieces are read.  The file is closed once read, or when the
    caller stops (``close()`` of the iterator, or its end)."""
    fd, st = _open_read(path)
    try:
        size = st.st_size
        if limit is not None and size > limit:
            raise FileTooLarge(path, size, limit)
        total = 0
        while True:
            _at("read", path)
            piece = os.read(fd, piece_bytes)
            if not piece:
                return
            total += len(piece)
            if limit is not None and total > limit:
                raise FileTooLarge(path, total, limit)
            yield piece
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


class FolderReader:
    """``read_regular`` of many files of one folder, by name, in fewer steps: the folder's
    descriptor (when it is anchored) is looked up once, and a file that is read whole by
    one read takes no other call than open, fstat, read and close.  The same rules and
    errors as ``read_regular`` (which it uses whenever a fault hook is installed, so the
    hook sees every operation, and for a file that grows while it is read)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._fd = _folder_fd(folder)

    def read(self, name: str, limit: int) -> tuple[bytes, os.stat_result]:
        """The bytes of the regular file ``name`` (a plain name in the folder) and its fstat."""
        if _hook is not None:
            return read_regular(os.path.join(self.folder, name), limit)
        try:
            fd = os.open(name if self._fd is not None else os.path.join(self.folder, name),
                         _READ_FLAGS, dir_fd=self._fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotRegularFile(os.path.join(self.folder, name), "symlink") from None
            raise
        try:
            st = os.fstat(fd)
            size = st.st_size
            if not stat.S_ISREG(st.st_mode) or size > limit:
                break_off = True
            else:
                data = os.read(fd, size + 1)
                break_off = len(data) > size or len(data) > limit
        finally:
            os.close(fd)
        if break_off:  # not a regular file, too large, or grown: the careful way words it
            return read_regular(os.path.join(self.folder, name), limit)
        return data, st


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


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


def _write_all(fd: int, data: bytes | bytearray | memoryview, path: str) -> None:
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
    folder = _folder_fd(path)
    if folder is not None:
        os.fsync(folder)
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# the 8 hex digits of a temporary name: a random start per process, then counted, so a
# name costs no system call (the file is created with O_EXCL: a clash fails, never clobbers)
_temp_tokens: list[Iterator[int]] = []


def _new_temp_tokens() -> None:
    _temp_tokens[:] = [itertools.count(secrets.randbits(32))]


_new_temp_tokens()
os.register_at_fork(after_in_child=_new_temp_tokens)


def temp_name(path: str) -> str:
    """``.<name>.<8 hex>.migrate_tui.tmp`` beside ``path``; a name too long for that is cut
    short (at a byte boundary), so a temporary name never exceeds ``NAME_MAX`` bytes."""
    folder, name = os.path.split(path)
    token = f"{next(_temp_tokens[0]) & 0xFFFFFFFF:08x}"
    room = NAME_MAX - len(f"..{token}{TEMP_SUFFIX}")
    raw = os.fsencode(name)
    if len(raw) > room:
        name = os.fsdecode(raw[:room])
    return os.path.join(folder, f".{name}.{token}{TEMP_SUFFIX}")


def short_name(name: str, suffix: str) -> str:
    """``name + suffix``, with ``name`` cut short (at a byte boundary) when the whole would
    exceed ``NAME_MAX`` bytes."""
    raw = os.fsencode(name)
    room = NAME_MAX - len(os.fsencode(suffix))
    return (os.fsdecode(raw[:room]) if len(raw) > room else name) + suffix


@dataclass(slots=True)
class PendingWrite:
    """One file to replace atomically: its path, content, permission bits, mtime and (run as
    root) owner; without an owner, a root process gives it the anchored folder's.  Never
    changed once made (not frozen: a frozen dataclass costs 1.3 us to make against 0.4, for
    40,000 of them on 20,000 sessions)."""

    path: str
    data: bytes | list[bytes]
    mode: int = 0o600
    mtime_ns: int | None = None
    owner: tuple[int, int] | None = None
    # read the file back through the descriptor that wrote it and compare it with ``data``
    # before it is made durable and renamed: a difference fails the write (ReadBackMismatch)
    check: bool = False
    # a new file: renamed into place only if nothing is at ``path`` (``rename_exclusive``);
    # a file another writer put there meanwhile is left as it is (``WriteBatch.finish``)
    exclusive: bool = False


class ReadBackMismatch(OSError):
    """A file just written reads back different from the bytes written to it."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EIO, "reads back different from what was written", path)


def _reads_back(fd: int, data: bytes | list[bytes], tmp: str) -> bool:
    """The file open at ``fd`` holds exactly ``data`` (read with pread, a piece at a time)."""
    if isinstance(data, bytes) and len(data) < CHUNK:  # the common case: one pread
        _at("read", tmp)
        return os.pread(fd, len(data) + 1, 0) == data
    at = 0
    for piece in data if isinstance(data, list) else (data,):
        # compared with a slice of the piece (a bytes copy of a chunk): a memoryview
        # compared with bytes goes element by element, ten times slower (92 MB: 0.16 s of
        # CPU against 0.016 s)
        done, size = 0, len(piece)
        while done < size:
            _at("read", tmp)
            got = os.pread(fd, min(size - done, CHUNK), at)
            if not got or got != piece[done:done + len(got)]:
                return False
            at += len(got)
            done += len(got)
    _at("read", tmp)
    return not os.pread(fd, 1, at)


def _write_temp(item: PendingWrite, sync: bool = True, create: int | None = None) -> str:
    """Create the temporary file for ``item`` (exclusively, never through a symlink), fill
    it, read it back if asked (``item.check``), fsync it (unless ``sync`` is false: its
    batch is made durable by ``syncfs``); return its path.  On failure nothing is left behind.
    ``create``: the mode it is created with, when that is its mode already (``_creation_modes``)."""
    tmp = temp_name(item.path)
    _at("open", tmp)
    dir_fd, name = _where(tmp)
    fd = os.open(name, (os.O_RDWR if item.check else os.O_WRONLY) | os.O_CREAT | os.O_EXCL
                 | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600 if create is None else create, dir_fd=dir_fd)
    try:
        try:
            if create is None:
                _chown_new(fd, tmp, item.owner)
                os.fchmod(fd, item.mode & 0o7777)
            for piece in item.data if isinstance(item.data, list) else (item.data,):
                _write_all(fd, piece, tmp)
            if item.check and not _reads_back(fd, item.data, tmp):
                raise ReadBackMismatch(item.path)
            if item.mtime_ns is not None:
                os.utime(fd, ns=(item.mtime_ns, item.mtime_ns))
            if sync:
                fsync_fd(fd, tmp)
        finally:
            _close(fd, tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise
    return tmp


def write_atomic(
    path: str,
    data: bytes | list[bytes],
    mode: int = 0o600,
    *,
    sync_dir: bool = True,
    mtime_ns: int | None = None,
    owner: tuple[int, int] | None = None,
) -> None:
    """Replace ``path`` with ``data``: temporary file, write, fsync, rename, fsync folder.

    The temporary file is created exclusively and without following symlinks; a symlink
    at ``path`` itself is replaced by the rename, never written through.  On any failure
    the temporary file is removed and ``path`` is left as it was.
    """
    WriteBatch([PendingWrite(path, data, mode, mtime_ns, owner)]).finish()
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


# ---------------------------------------------------------------- syncfs
#
# A batch of atomic writes is made durable by one syncfs(2) of its file system instead of
# one fsync(2) per file, where that gives the same guarantee: no file is renamed into place
# before its data and metadata are on stable storage, and a write-back error of any of
# them fails the batch (nothing renamed, temporary files removed), as a failed fsync does.
#
# * syncfs writes back and waits for every dirty page and inode of the file system, then
#   asks the file system to commit (ext4 and xfs: the journal, or a cache flush without
#   one; btrfs: the transaction): a superset of what fsync of each file does.
# * Since Linux 5.8 syncfs reports a write-back error of any file of that file system that
#   happened since the descriptor it is called on was opened (the superblock's error
#   sequence, sampled at open).  The descriptor is opened before the batch is written, so
#   an error in writing any of the batch's files is reported.  Before 5.8 syncfs returns 0
#   whatever happened: the kernel's version is checked at run time.
# * Only on local file systems whose syncfs is that (ext2/3/4, xfs, btrfs, and tmpfs,
#   which has nothing to write back); elsewhere (network file systems, FUSE, overlayfs,
#   whose syncfs does not promise as much) each file is fsynced, as before.
# * An error from syncfs may be another program's file on the same file system: each
#   temporary file is then fsynced by itself (reopened; an error not yet reported to
#   anybody is reported to the next fsync of the file), which fails the batch only for an
#   error of ours.
# * A batch of one file is fsynced (cheaper than a file system sync).
# The renames are then made durable by the caller's fsync of the folder, as before.

SYNCFS_TYPES = {0xEF53: "ext2/3/4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs"}
SYNCFS_MIN_KERNEL = (5, 8)
# Under a fault hook each file is fsynced (the fault and kill proofs go through every
# fsync); a test of the syncfs path turns this on.
SYNCFS_WHEN_HOOKED = False
_syncfs_lib: list[object] = []  # [libc] once looked up, [None] when syncfs cannot be used


def kernel_reports_syncfs_errors(release: str | None = None) -> bool:
    """Whether the running kernel (or ``release``, as ``uname -r`` says it) is at least 5.8."""
    release = os.uname().release if release is None else release
    parts = release.split(".", 2)
    try:
        minor = int("".join(c for c in parts[1][:3] if c.isdigit()) or -1)
        return (int(parts[0]), minor) >= SYNCFS_MIN_KERNEL
    except (IndexError, ValueError):
        return False


def _libc() -> object | None:
    if not _syncfs_lib:
        found = None
        if os.uname().sysname == "Linux" and kernel_reports_syncfs_errors():
            try:
                import ctypes  # only when a batch is written: not a start-up cost

                libc = ctypes.CDLL(None, use_errno=True)
                if hasattr(libc, "syncfs") and hasattr(libc, "fstatfs"):
                    libc.syncfs.argtypes = [ctypes.c_int]
                    libc.fstatfs.argtypes = [ctypes.c_int, ctypes.c_void_p]
                    found = libc
            except (ImportError, OSError):  # pragma: no cover - no ctypes, no libc
                found = None
        _syncfs_lib.append(found)
    return _syncfs_lib[0]


def fs_type(fd: int) -> int | None:
    """The file system type (``statfs``'s f_type) of an open descriptor, None if unknown."""
    libc = _libc()
    if libc is None:
        return None
    import ctypes

    buf = ctypes.create_string_buffer(256)  # struct statfs: 120 bytes on 64-bit Linux
    if libc.fstatfs(fd, buf) != 0:  # type: ignore[attr-defined]
        return None
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF  # f_type comes first


def syncfs(fd: int, path: str) -> None:
    """syncfs(2) of the file system ``fd`` is on; raises OSError as the kernel reports."""
    _at("syncfs", path)
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, "syncfs is not available", path)
    import ctypes

    if libc.syncfs(fd) != 0:  # type: ignore[attr-defined]
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)


def _syncfs_targets(items: list[PendingWrite]) -> list[tuple[int, str]] | None:
    """Descriptors of the folders ``items`` go to, one per file system, opened now (before
    any is written), when syncfs may stand in for each file's fsync; else None."""
    if (_hook is not None and not SYNCFS_WHEN_HOOKED) or _libc() is None:
        return None
    out: list[tuple[int, str]] = []
    devices = set()
    try:
        for folder in dict.fromkeys(os.path.dirname(item.path) or "." for item in items):
            anchored = _folder_fd(folder)
            if anchored is not None:  # the very folder the files are written in
                fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=anchored)
            else:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            device = os.fstat(fd).st_dev
            if device in devices:
                os.close(fd)
                continue
            out.append((fd, folder))
            devices.add(device)
            if fs_type(fd) not in SYNCFS_TYPES:
                raise OSError(errno.ENOTSUP, "not a file system syncfs is used on", folder)
    except OSError:
        for fd, _folder in out:
            os.close(fd)
        return None
    return out


def _fsync_path(path: str) -> None:
    """fsync a file we wrote and closed (a temporary file), by its name."""
    _at("open", path)
    dir_fd, name = _where(path)
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        fsync_fd(fd, path)
    finally:
        _close(fd, path)


# ---------------------------------------------------------------- unnamed new files
#
# A new file of a batch that lands early (``start_writes(..., land_early=True)``, an
# ``exclusive`` item) is created with no name (open(2) O_TMPFILE in its folder), filled, read
# back, synced with its batch (syncfs writes back every dirty inode of the file system,
# named or not), then given its name with linkat(2), which fails if anything has that name,
# as rename_exclusive does.  A crash before that leaves nothing to tidy (the kernel frees an
# unnamed inode); no temporary name is made, added to the folder and removed: 30 us of CPU
# a file here instead of 42-45 for a temporary file and its rename.  Only where the folder
# is anchored, /proc/self/fd reaches the descriptor, and a share of the process's descriptor
# limit is free (each stays open until it is named); a temporary file otherwise.

UNNAMED = "(unnamed new file)"
# Under a fault hook new files get temporary names (the fault proofs count on them); a test
# of unnamed files turns this on.
UNNAMED_WHEN_HOOKED = False
_unnamed_lock = threading.Lock()
_unnamed_open = [0, -1]  # [descriptors open now, how many may be (-1: not yet worked out)]


def _take_unnamed() -> bool:
    with _unnamed_lock:
        if _unnamed_open[1] < 0:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            room = 4096 if soft == resource.RLIM_INFINITY else soft // 4
            _unnamed_open[1] = room if os.path.isdir("/proc/self/fd") else 0
        if _unnamed_open[0] >= _unnamed_open[1]:
            return False
        _unnamed_open[0] += 1
        return True


def _close_unnamed(fd: int) -> None:
    with _unnamed_lock:
        _unnamed_open[0] -= 1
    with contextlib.suppress(OSError):
        os.close(fd)


def _write_unnamed(item: PendingWrite, create: int | None = None) -> int | None:
    """``item`` written, with no name yet, in its folder (read back if asked); the open
    descriptor, for ``_link_unnamed``; None where that cannot be done (not an anchored
    folder, no descriptor to spare, O_TMPFILE not supported): then a temporary file is.
    ``create``: as for ``_write_temp``."""
    dir_fd, _name = _where(item.path)
    if dir_fd is None or not _take_unnamed():
        return None
    _at("open", item.path)
    try:
        fd = os.open(".", os.O_RDWR | os.O_TMPFILE | os.O_CLOEXEC, 0o600 if create is None else create,
                     dir_fd=dir_fd)
    except OSError as exc:
        with _unnamed_lock:
            _unnamed_open[0] -= 1
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise
    try:
        if create is None:
            _chown_new(fd, item.path, item.owner)
            os.fchmod(fd, item.mode & 0o7777)
        for piece in item.data if isinstance(item.data, list) else (item.data,):
            _write_all(fd, piece, item.path)
        if item.check and not _reads_back(fd, item.data, item.path):
            raise ReadBackMismatch(item.path)
        if item.mtime_ns is not None:
            os.utime(fd, ns=(item.mtime_ns, item.mtime_ns))
    except BaseException:
        _close_unnamed(fd)
        raise
    return fd


def _link_unnamed(fd: int, path: str) -> bool:
    """Give the unnamed file open at ``fd`` the name ``path``, only if nothing (not even a
    symlink) has it: False, nothing done, when something does."""
    _at("rename", path)
    dir_fd, name = _where(path)
    try:
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
    except FileExistsError:
        return False
    return True


# Creating files in a folder and renaming files in it each take the folder's lock in the
# kernel, which spins for a while before it sleeps: two writer threads doing both at once in
# one folder burn the second core.  Batches that land early take turns instead (one creates
# its files while another waits on the disk for its sync, never while another renames; 3
# threads creating and renaming 4,000 files each here: 0.55 s of CPU with turns, 0.61 without).
_FOLDER_OPS = threading.Lock()


def _folder_ops(serialised: bool) -> contextlib.AbstractContextManager[object]:
    return _FOLDER_OPS if serialised else contextlib.nullcontext()


# ---------------------------------------------------------------- modes of new files
#
# A new file is created 0600, given its owner (run as root), then its mode (fchmod).  Where
# creating it with its mode gives it that mode exactly, the fchmod is left out (40,000 system
# calls on 20,000 sessions: a backup copy and a transcript each): open(2) gives a new file
# the mode asked for less the umask's bits, unless its folder has a default ACL (then the
# ACL's entries, masked by that mode).  So only when no owner is given to it, the mode has
# no bit the umask takes away and no set-ID or sticky bit, and the folder has no default
# ACL; otherwise as before.  The umask is read once a batch (it is the process's: were it
# changed meanwhile, open(2) could only take bits away, never make a file more readable than
# its mode).


def _umask() -> int | None:
    """The process's umask as the kernel reports it (/proc/self/status, Linux 4.7 and
    later); None when that cannot be read (a new file is then given its mode by fchmod)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _default_acl(folder: str) -> bool:
    """Whether ``folder`` may have a default ACL (False only when it provably has none)."""
    fd = _folder_fd(folder)
    try:
        os.getxattr(fd if fd is not None else folder, "system.posix_acl_default")
    except OSError as exc:
        return exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP)
    return True


def _creation_modes(items: list[PendingWrite]) -> list[int | None]:
    """Per item, the mode to create it with when that makes its mode exactly ``item.mode``
    with no owner to give it (no fchmod needed); None: created 0600, then owner and mode."""
    umask = _umask()
    if umask is None:
        return [None] * len(items)
    acl: dict[str, bool] = {}
    out: list[int | None] = []
    for item in items:
        mode = item.mode & 0o7777
        if mode & ~0o777 or mode & umask or _new_owner(item.path, item.owner) is not None:
            out.append(None)
            continue
        folder = os.path.dirname(item.path) or "."
        has = acl.get(folder)
        if has is None:
            has = acl[folder] = _default_acl(folder)
        out.append(None if has else mode)
    return out


class WriteBatch:
    """Atomic writes under way (see ``start_writes``): ``finish`` renames them into place."""

    def __init__(self, items: list[PendingWrite], before: Callable[[], None] | None = None,
                 land_early: bool = False, background: bool = False) -> None:
        self.items = items
        self._futures: list[Future[str | int | None]] = []
        # per item: its temporary file's path, or the descriptor of its unnamed file (an int)
        self._temps: list[str | int | None] = []
        self._failure: BaseException | None = None
        self._before = before
        self._done = 0  # items renamed into place (or found taken), in order
        self._taken: list[PendingWrite] = []
        self._land_early = False
        # the file systems to syncfs, opened before anything is written (see _syncfs_targets)
        self._syncs = _syncfs_targets(items) if len(items) > 1 else None
        # per item: the mode to create it with when that needs no fchmod (else None)
        self._create = _creation_modes(items)
        parallel = (_hook is None or not SEQUENTIAL_WHEN_HOOKED) and (len(items) > 1 or background)
        if self._syncs is not None:
            # no fsync to wait for: one writer thread fills the temporary files (the page
            # cache) and syncs the file system while the caller goes on; ``land_early``: it
            # renames them into place too, once synced, so the caller does not wait on the
            # folder's lock for each rename while it makes the next batch
            if parallel:
                self._land_early = land_early
                self._futures = [_writers().submit(self._write_and_sync)]
            else:
                self._write_and_sync()
            return
        if before is not None:  # raised here: nothing of the batch was started
            before()
        if parallel:
            self._futures = [_writers().submit(_write_temp, item, True, create)
                             for item, create in zip(items, self._create, strict=True)]
            return
        # one after another: a fault test's k-th operation is fixed
        for item, create in zip(items, self._create, strict=True):
            try:
                self._temps.append(_write_temp(item, True, create))
            except BaseException as exc:  # raised by finish(), after cleaning up
                self._failure = exc
                break

    def _write_and_sync(self) -> str | None:
        """``before``, write every temporary file, then sync them; a failure is kept for
        ``finish``."""
        if self._before is not None:
            try:
                self._before()
            except BaseException as exc:  # raised by finish(): nothing was written
                self._failure = exc
                return None
        unnamed = self._land_early and (_hook is None or UNNAMED_WHEN_HOOKED)
        with _folder_ops(self._land_early):
            for item, create in zip(self.items, self._create, strict=True):
                try:
                    fd = _write_unnamed(item, create) if unnamed and item.exclusive else None
                    self._temps.append(fd if fd is not None else _write_temp(item, False, create))
                except BaseException as exc:  # raised by finish(), after cleaning up
                    self._failure = exc
                    return None
        try:
            self._sync_all()
            if self._land_early:
                with _folder_ops(True):
                    self._rename_all()
        except BaseException as exc:  # raised by finish(), after cleaning up
            self._failure = exc
        return None

    def _wait(self) -> None:
        for future in self._futures:
            try:
                temp = future.result()
            except BaseException as exc:  # raised by finish(), after cleaning up
                temp = None
                self._failure = self._failure or exc
            if self._syncs is None:  # one future per file; else _write_and_sync keeps them
                self._temps.append(temp)
        self._futures = []

    def finish(self) -> list[PendingWrite]:
        """Wait until every temporary file is on disk, then rename each into place, in
        order.  If any failed, none is renamed and every temporary file is removed (with
        ``land_early``, those renamed before the failure stay in place: ``landed``).
        Returns the ``exclusive`` items that found a file at their path (put there by
        another writer since the caller looked): those are not renamed, their temporary
        files are removed, and the file there is left as it is."""
        self._wait()
        try:
            if self._failure is not None:
                raise self._failure
            self._rename_all()  # nothing left to do when the writer thread landed them
        finally:
            self._close_syncs()
            self._remove(self._temps[self._done:])
        return self._taken

    def _rename_all(self) -> None:
        """Rename the temporary files not yet renamed into place, in order."""
        temps = self._temps
        if len(temps) != len(self.items):
            raise AssertionError("a batch is renamed only once every file of it is written")
        for item, tmp in zip(self.items[self._done:], temps[self._done:], strict=True):
            assert tmp is not None
            if isinstance(tmp, int):  # an unnamed file: given its name, if nothing has it
                if not _link_unnamed(tmp, item.path):
                    self._taken.append(item)
                _close_unnamed(tmp)
            elif item.exclusive:
                if not rename_exclusive(tmp, item.path):
                    self._taken.append(item)
                    self._remove([tmp])
            else:
                rename(tmp, item.path)
            self._done += 1

    def landed(self) -> list[PendingWrite]:
        """The items renamed into place so far (not those found taken)."""
        taken = {id(item) for item in self._taken}
        return [item for item in self.items[:self._done] if id(item) not in taken]

    def _sync_all(self) -> None:
        """Every temporary file of the batch on disk: one ``syncfs`` per file system.  If
        syncfs reports an error (it may be another file's on the same file system), each
        temporary file is fsynced instead, so that an error of ours fails the batch and
        one of somebody else's does not."""
        assert self._syncs is not None
        try:
            for fd, folder in self._syncs:
                syncfs(fd, folder)
        except OSError:
            for tmp in self._temps:
                assert tmp is not None
                if isinstance(tmp, int):
                    fsync_fd(tmp, UNNAMED)
                else:
                    _fsync_path(tmp)

    def _close_syncs(self) -> None:
        for fd, _folder in self._syncs or ():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._syncs = None

    def abandon(self) -> None:
        """Wait for the writes, rename nothing more, remove every temporary file not
        renamed (with ``land_early`` some may be in place already: ``landed``)."""
        self._wait()
        self._close_syncs()
        self._remove(self._temps[self._done:])

    @staticmethod
    def _remove(temps: list[str | int | None]) -> None:
        for tmp in temps:
            if isinstance(tmp, int):  # an unnamed file goes when it is closed
                _close_unnamed(tmp)
            elif tmp is not None:
                dir_fd, name = _where(tmp)
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=dir_fd)


def start_writes(items: list[PendingWrite], before: Callable[[], None] | None = None,
                 land_early: bool = False, background: bool = False) -> WriteBatch:
    """Start ``write_atomic`` for several files: their temporary files are written and
    fsynced in parallel (or written and synced by one syncfs) while the caller goes on;
    ``finish()`` renames them once all are on disk.  With a fault hook installed the writes
    run at once, one after another, so that a test's k-th operation is always the same
    one.  The caller fsyncs the folder.

    ``before`` (the journal's announcement of the batch) is done before any temporary file
    is created, by the writer thread when one syncs the batch (the caller goes on
    meanwhile), else at once; if it fails, nothing of the batch is written or renamed and
    ``finish()`` (or this call) raises its error.  Either way it is done before any rename.

    ``land_early``: where one thread writes and syncs the batch (syncfs, no fault hook), it
    also renames the files into place, in order, as soon as they are synced; ``finish()``
    then only waits for that.  The caller must be ready for the files to be in place before
    it calls ``finish()`` (``abandon`` leaves those in place: ``landed``).

    ``background``: a batch of one file is written and fsynced by a writer thread too (not
    at once by the caller), so the caller goes on while it is (a huge backup copy)."""
    return WriteBatch(items, before, land_early, background)


class StreamedWrite:
    """One file replaced atomically, written a piece at a time (a transcript too big to
    hold whole): its temporary file is created as ``_write_temp`` creates one, filled as the
    pieces come and hashed on the way (``sha256``, ``size``); ``reads_back`` reads it again
    through the same descriptor and compares its SHA-256; ``finish`` fsyncs it and renames
    it into place; ``abandon`` removes it.  The caller fsyncs the folder."""

    def __init__(self, path: str, mode: int = 0o600, owner: tuple[int, int] | None = None) -> None:
        self.path = path
        self.tmp = temp_name(path)
        self.size = 0
        self._synced_at = -1  # the size when ``sync`` made it durable
        self._digest = hashlib.sha256()
        _at("open", self.tmp)
        self._dir_fd, self._name = _where(self.tmp)
        self._fd: int | None = os.open(
            self._name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
            dir_fd=self._dir_fd)
        try:
            _chown_new(self._fd, self.tmp, owner)
            os.fchmod(self._fd, mode & 0o7777)
        except BaseException:
            self.abandon()
            raise

    def write(self, piece: bytes) -> None:
        assert self._fd is not None
        _write_all(self._fd, piece, self.tmp)
        self._digest.update(piece)
        self.size += len(piece)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def reads_back(self) -> bool:
        """The file holds what was written: the same size and SHA-256, read a chunk at a time."""
        assert self._fd is not None
        digest = hashlib.sha256()
        at = 0
        while True:
            _at("read", self.tmp)
            chunk = os.pread(self._fd, CHUNK, at)
            if not chunk:
                break
            digest.update(chunk)
            at += len(chunk)
        return at == self.size and digest.hexdigest() == self.sha256

    def sync(self) -> None:
        """fsync the temporary file now (``finish`` then does not again, unless more was
        written since)."""
        assert self._fd is not None
        fsync_fd(self._fd, self.tmp)
        self._synced_at = self.size

    def set_mtime(self, mtime_ns: int) -> None:
        """Give the temporary file this modification time (set once it is filled)."""
        assert self._fd is not None
        os.utime(self._fd, ns=(mtime_ns, mtime_ns))

    def retarget(self, path: str) -> None:
        """Rename the file, once finished, to ``path`` instead: a name in the same folder
        (chosen once its content is known: a backup copy)."""
        if os.path.dirname(path) != os.path.dirname(self.path):
            raise ValueError(f"{path} is not in the folder of {self.path}")
        self.path = path

    def finish(self, exclusive: bool = False) -> bool:
        """fsync the temporary file, then rename it into place; on failure it is removed.
        ``exclusive``: only if nothing is at the path (``rename_exclusive``); False when
        something was (the temporary file is removed, what is there left as it is)."""
        assert self._fd is not None
        try:
            if self._synced_at != self.size:
                fsync_fd(self._fd, self.tmp)
            fd, self._fd = self._fd, None
            _close(fd, self.tmp)
            if not exclusive:
                rename(self.tmp, self.path)
            elif not rename_exclusive(self.tmp, self.path):
                self.abandon()
                return False
        except BaseException:
            self.abandon()
            raise
        return True

    def abandon(self) -> None:
        """Close and remove the temporary file (nothing is renamed)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(self._name, dir_fd=self._dir_fd)


class WriteBehind:
    """The pieces of a ``StreamedWrite`` written (and hashed) by a writer thread, in order,
    while the caller makes the next ones (at most ``depth`` waiting: a few pieces held, never
    the file).  ``close`` waits until every piece is written and raises the first failure;
    a failure is also raised by the ``put`` after it.  Under a fault hook each piece is
    written at once by the caller (a test's k-th operation is always the same one)."""

    def __init__(self, writer: StreamedWrite, depth: int = 4) -> None:
        self.writer = writer
        self._failure: BaseException | None = None
        self._queue: queue.Queue[bytes | None] | None = None
        self._future: Future[None] | None = None
        if _hook is None or not SEQUENTIAL_WHEN_HOOKED:
            self._queue = queue.Queue(depth)
            self._future = _writers().submit(self._run)

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            piece = self._queue.get()
            if piece is None:
                return
            if self._failure is None:
                try:
                    self.writer.write(piece)
                except BaseException as exc:  # raised to the caller by put or close
                    self._failure = exc

    def put(self, piece: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        if self._queue is None:
            self.writer.write(piece)
        else:
            self._queue.put(piece)

    def close(self) -> None:
        """Wait for every piece handed over to be written; raise the first failure."""
        if self._queue is not None:
            self._queue.put(None)
            assert self._future is not None
            self._future.result()
            self._queue = None
        if self._failure is not None:
            raise self._failure


def write_behind(writer: StreamedWrite, pieces: Iterable[bytes]) -> None:
    """Every piece of ``pieces`` written to ``writer`` (and hashed) by a writer thread while
    the next is made (``WriteBehind``); returns once all are written, raises the first
    failure (of the writing, or of making a piece)."""
    behind = WriteBehind(writer)
    try:
        for piece in pieces:
            behind.put(piece)
    finally:
        behind.close()  # every piece handed over written (or the first failure)


def copy_streamed(source: str, target: str) -> tuple[StreamedWrite, os.stat_result] | None:
    """The regular file ``source`` (never through a symlink) copied a chunk at a time into a
    temporary file beside ``target``, which is given the source's permission bits and
    modification time; never held whole.  Returns the writer (its ``sha256`` and ``size``
    are those of the bytes copied, whatever the source became since) and the source's
    fstat; the caller reads it back, then ``finish``es (or ``retarget``s) or ``abandon``s it.
    None when the source is not there or is not a regular file (nothing was created); any
    other error is raised."""
    try:
        fd, st = _open_read(source)
    except (FileNotFoundError, NotRegularFile):
        return None
    try:
        writer = StreamedWrite(target, st.st_mode & 0o777)
        try:
            while True:
                _at("read", source)
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                writer.write(chunk)
            writer.set_mtime(st.st_mtime_ns)
        except BaseException:
            writer.abandon()
            raise
    finally:
        _close(fd, source)
    return writer, st


def write_atomic_many(items: list[PendingWrite]) -> None:
    """``write_atomic`` for several files, all fsynced before any is renamed."""
    start_writes(items).finish()


def rename(src: str, dst: str) -> None:
    _at("rename", dst)
    src_fd, src_name = _where(src)
    dst_fd, dst_name = _where(dst)
    os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)


# renameat2(2)'s flag: fail with EEXIST rather than replace a file at the new name
RENAME_NOREPLACE = 1
_AT_FDCWD = -100
_renameat2: list[object] = []  # [the libc function] once looked up, [None] when there is none


def _renameat2_fn() -> object | None:
    if not _renameat2:
        found = None
        if os.uname().sysname == "Linux":
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                fn = getattr(libc, "renameat2", None)  # glibc >= 2.28
                if fn is not None:
                    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                   ctypes.c_uint]
                    fn.restype = ctypes.c_int
                    found = fn
            except (ImportError, OSError):  # pragma: no cover - no ctypes, no libc
                found = None
        _renameat2.append(found)
    return _renameat2[0]


# errors saying "this kernel or file system cannot do that", not "that failed"
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}


def rename_exclusive(src: str, dst: str) -> bool:
    """Rename ``src`` to ``dst`` only if nothing (not even a symlink) is at ``dst``, in one
    atomic step: False, ``src`` left where it is, when something is.  So a file another
    writer created since we looked is never replaced.  ``renameat2(RENAME_NOREPLACE)`` on
    Linux; where the kernel, the C library or the file system cannot do that, a hard link
    (which fails if the name exists) then the removal of ``src``; where neither can be
    done, a look (lstat) then a rename."""
    _at("rename", dst)
    src_fd, src_name = _where(src)
    dst_fd, dst_name = _where(dst)
    fn = _renameat2_fn()
    if fn is not None:
        import ctypes

        result = fn(_AT_FDCWD if src_fd is None else src_fd, os.fsencode(src_name),  # type: ignore[operator]
                    _AT_FDCWD if dst_fd is None else dst_fd, os.fsencode(dst_name), RENAME_NOREPLACE)
        if result == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        if err not in _UNSUPPORTED:
            raise OSError(err, os.strerror(err), dst)
    try:
        os.link(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        if lstat_or_none(dst) is not None:
            return False
        os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        return True
    os.unlink(src_name, dir_fd=src_fd)
    return True


def unlink(path: str) -> None:
    _at("unlink", path)
    dir_fd, name = _where(path)
    os.unlink(name, dir_fd=dir_fd)


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
    dir_fd, name = _where(path)
    os.mkdir(name, mode, dir_fd=dir_fd)
    if os.geteuid() == 0:
        owner = anchor_owner(os.path.dirname(path))
        if owner is not None:
            os.chown(name, *owner, dir_fd=dir_fd, follow_symlinks=False)
    fsync_dir(os.path.dirname(path) or ".")
    return True


def create_exclusive(path: str, data: bytes, mode: int = 0o600) -> os.stat_result:
    """Create ``path`` only if nothing is there (``O_EXCL``, never through a symlink),
    write ``data`` and fsync it; return its stat.  Raises FileExistsError when anything,
    a symlink included, is already at ``path``.  On any other failure nothing is left."""
    _at("open", path)
    dir_fd, name = _where(path)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                 dir_fd=dir_fd)
    try:
        try:
            _chown_new(fd, path)
            os.fchmod(fd, mode & 0o7777)
            _write_all(fd, data, path)
            fsync_fd(fd, path)
            st = os.fstat(fd)
        finally:
            _close(fd, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise
    return st


def _open_write(path: str, flags: int, mode: int) -> int:
    """Open a file for writing without following a symlink or waiting on a FIFO; anything
    but a regular file is refused (``NotRegularFile``)."""
    dir_fd, name = _where(path)
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as exc:
        kinds = {errno.ELOOP: "symlink", errno.ENXIO: "FIFO", errno.EISDIR: "directory"}
        if exc.errno in kinds:
            raise NotRegularFile(path, kinds[exc.errno]) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(path, describe_mode(st.st_mode))
    return fd


def append_durable(path: str, data: bytes, mode: int = 0o600) -> None:
    """Append to a log file and fsync it (the journal).  Never through a symlink, never
    into a FIFO or anything else that is not a regular file."""
    append_durable_pieces(path, (data,), mode)


def append_durable_pieces(path: str, pieces: Iterable[bytes | bytearray], mode: int = 0o600) -> None:
    """``append_durable`` for data made a piece at a time (a journal record of 100,000
    sessions): each piece is written as it comes, the file fsynced once at the end.  Killed
    before that, the file ends with a record cut short, as it may in the middle of one big
    write; the reader and the next append expect that (``journal.append_lines``)."""
    existed = lstat_or_none(path) is not None
    _at("open", path)
    fd = _open_write(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        if not existed:
            _chown_new(fd, path)
        for piece in pieces:
            _write_all(fd, piece, path)
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


# ---------------------------------------------------------------- the locks


def _through_anchor(path: str) -> str:
    """The path a library that works with paths (filelock) should use for ``path``: inside
    an anchored folder, one that reaches it through the open descriptor
    (``/proc/self/fd/N/name``), so a folder swapped since it was anchored is not followed."""
    dir_fd, name = _where(path)
    if dir_fd is None:
        return path
    via = f"/proc/self/fd/{dir_fd}"
    return os.path.join(via, name) if os.path.isdir(via) else path


@contextlib.contextmanager
def presence_lock(lock_path: str, timeout: float) -> Iterator[None]:
    """Hold ``sessions.json.lock`` the way the agent's own writers do (docs/guarantees.md).

    The lock file is created with O_EXCL and records the owner's pid; it is removed on
    release and reclaimed only when its owner is provably gone.  ``filelock.SoftFileLock``
    implements exactly that protocol, so we speak it through the library itself.
    """
    from filelock import SoftFileLock, Timeout

    _at("lock", lock_path)
    lock = SoftFileLock(_through_anchor(lock_path), timeout=timeout, thread_local=False,
                        poll_interval=0.05)
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
    if lstat_or_none(lock_path) is None:
        return None  # the usual case: no need to import filelock (about 20 ms) to know it
    from filelock import SoftFileLock

    return SoftFileLock(_through_anchor(lock_path)).pid or -1


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


def wait_lock_free(lock_path: str, timeout: float) -> int | None:
    """Wait up to ``timeout`` seconds for a presence lock held by a live process to go,
    without taking it (a dry run must not keep the agent waiting); the holder's pid (-1 when
    unknown) if it is still held then, else None."""
    deadline = time.monotonic() + timeout
    while True:
        holder = lock_holder(lock_path)
        if holder is None or lock_left_behind(lock_path):
            return None
        if time.monotonic() >= deadline:
            return holder
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), None if unknown.
    With the pid it tells a process from a later one that was given the same pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


class HeldLock(Exception):
    """``hold_lock_file``: another live process holds the lock; ``record`` is what it wrote."""

    def __init__(self, path: str, record: bytes) -> None:
        super().__init__(path)
        self.path = path
        self.record = record


LOCK_RECORD_MAX = 4096
_YOUNG_EMPTY_LOCK = 2.0  # seconds: an empty lock file this young may still be being written


def hold_lock_file(path: str, record: bytes, attempts: int = 6) -> int:
    """Take a lock file of our own (the operation lock), holding it for as long as the
    returned descriptor is open (``release_lock_file``).

    The file is written whole under a temporary name, locked with flock(2), then hard-linked
    into place, so it never exists without its record.  The kernel drops a flock when its
    holder dies, however it dies (SIGKILL, the OOM killer): a lock file whose flock can be
    taken is provably left behind, and is reclaimed.  Raises ``HeldLock`` when a live process
    holds it, ``NotRegularFile`` when something else (a symlink, a folder...) is there."""
    _at("oplock", path)
    held = b""
    for attempt in range(attempts):
        # first look (read only): a refusal leaves no trace, not even a temporary file
        found = _reclaim_if_left(path)
        if found is not None:
            held = found
            # a reader (lock_file_held) may hold a shared flock for an instant: look again
            time.sleep(0.01 * (attempt + 1))
            continue
        fd = _publish_lock(path, record)
        if fd is not None:
            return fd
    raise HeldLock(path, held)


def _publish_lock(path: str, record: bytes) -> int | None:
    dir_fd, name = _where(path)
    tmp = temp_name(path)
    tmp_fd, tmp_name = _where(tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp_name, flags, 0o600, dir_fd=tmp_fd)
    linked = False
    try:
        _chown_new(fd, tmp)
        _write_all(fd, record, tmp)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            os.link(tmp_name, name, src_dir_fd=tmp_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            linked = True
        except FileExistsError:
            pass
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name, dir_fd=tmp_fd)
        if not linked:
            os.close(fd)
    return fd if linked else None


def _reclaim_if_left(path: str) -> bytes | None:
    """The record of a live holder of the lock file at ``path``; None once a lock file left
    behind was removed (or it went meanwhile): try again."""
    dir_fd, name = _where(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(path, "symlink") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, describe_mode(st.st_mode))
        content = os.read(fd, LOCK_RECORD_MAX)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return content
        if not content and time.time() - st.st_mtime < _YOUNG_EMPTY_LOCK:
            return content  # not one of ours, or a writer without hard links still writing it
        try:
            now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
            _at("oplock", path)
            os.unlink(name, dir_fd=dir_fd)
        return None
    finally:
        os.close(fd)


def release_lock_file(path: str, fd: int) -> None:
    """Remove a lock file taken by ``hold_lock_file`` (if it is still ours), then let go."""
    try:
        _at("oplock", path)
        dir_fd, name = _where(path)
        st = os.fstat(fd)
        now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
            os.unlink(name, dir_fd=dir_fd)
    finally:
        os.close(fd)


def lock_file_held(path: str) -> tuple[bool, bytes] | None:
    """Whether a live process holds the lock file at ``path`` (taken by ``hold_lock_file``),
    and what it records; None when there is no lock file.  Read only: a shared flock is
    tried for an instant (it fails while the holder has it), never waited for.  Raises
    ``NotRegularFile`` for anything but a regular file, never follows a symlink."""
    fd, _st = _open_read(path) if lstat_or_none(path) is not None else (None, None)
    if fd is None:
        return None
    try:
        _at("read", path)
        record = os.read(fd, LOCK_RECORD_MAX)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, record
        return False, record
    finally:
        _close(fd, path)
