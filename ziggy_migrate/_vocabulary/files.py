"""File helpers: atomic writes, and guarded reads of files that are untrusted input.

Writes: a crash or a full disk never leaves a truncated file behind (a temporary file
beside the target, renamed over it).

Reads (:func:`open_untrusted`): a bundle or plan file may come from a pull request, so it
is opened as input that may be hostile. What is not a regular file (a FIFO, a device such
as ``/dev/zero``, a socket) is refused before a byte is read, a symbolic link is refused
where the caller says none may be, and reading stops with :class:`FileTooLarge` past a
size limit, so no file can make a read hang or fill memory.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import BundleError

__all__ = [
    "FileTooLarge",
    "UnsafeFile",
    "current_umask",
    "open_untrusted",
    "stage_file",
    "write_atomically",
    "write_error",
    "write_private_bytes",
]


def write_error(exc: BaseException, target: Path) -> BundleError | None:
    """The one-line error for a failed bundle write, or None for what is not ours to
    explain (an interrupt, a bug)."""
    if isinstance(exc, UnicodeEncodeError):
        return BundleError(
            f"cannot write {target}: the content holds text that is not valid Unicode",
            location="",
        )
    if isinstance(exc, OSError):
        return BundleError(f"cannot write {target}: {exc.strerror}", location="")
    if isinstance(exc, (ValueError, TypeError)):
        return BundleError(f"cannot be written as JSON: {exc}", location="")
    return None


def write_atomically(target: Path, text: str | Iterable[str]) -> None:
    """Replace ``target`` with ``text`` in one rename; on any failure the old file stays.

    ``text`` may come in pieces (a bundle's, from ``canonical_parts``): they are encoded
    and written about a MiB at a time, so a large bundle's text is never in memory a
    second time, joined, nor a third time, encoded. Bytes are written as they are: line
    breaks stay ``\\n`` on every system.
    """
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed after
            "wb",
            dir=directory,
            prefix=f".{target.name}.",
            suffix=".tmp",
            delete=False,
        )
    except FileNotFoundError:
        raise BundleError(f"the folder {directory} does not exist", location="") from None
    except OSError as exc:
        raise BundleError(f"cannot write in {directory}: {exc.strerror}", location="") from None
    try:
        with handle:
            for chunk in _utf8_chunks([text] if isinstance(text, str) else text):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, _mode_for(target))
        os.replace(handle.name, target)
    except BaseException as exc:
        Path(handle.name).unlink(missing_ok=True)
        error = write_error(exc, target)
        if error is None:
            raise
        raise error from None


def write_private_bytes(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` in one rename, owner-only (0600) whatever was there.

    For files that hold secrets (a database dump): the temporary file is created 0600 and
    stays so. A failure leaves the old file in place and raises the ``OSError``.
    """
    directory = target.parent if str(target.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_WRITE_CHUNK = 1 << 20


def _utf8_chunks(parts: Iterable[str]) -> Iterator[bytes]:
    """The UTF-8 bytes of the joined ``parts``, in chunks of about ``_WRITE_CHUNK``."""
    batch: list[str] = []
    size = 0
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= _WRITE_CHUNK:
            yield "".join(batch).encode("utf-8")
            batch.clear()
            size = 0
    if batch:
        yield "".join(batch).encode("utf-8")


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual umask-based ones.

    The umask is read, never set: setting it (even to put it back) is process-wide and
    races with other threads creating files.
    """
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~current_umask(target.parent if str(target.parent) else Path("."))


def current_umask(directory: Path) -> int:
    """The process's umask, read without setting it (from ``/proc``, else as the kernel
    applies it to a folder made in ``directory`` with mode 0o777, removed at once)."""
    try:
        for line in Path("/proc/self/status").read_text("ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    probe = directory / f".ziggy-umask-{os.getpid()}-{os.urandom(4).hex()}"
    probe.mkdir(0o777)
    try:
        return 0o777 & ~probe.stat().st_mode
    finally:
        probe.rmdir()


def stage_file(target: Path, data: bytes) -> Path:
    """Write ``data`` to a new hidden file beside ``target`` and return its path.

    The file is flushed to disk and has the mode ``target`` has (a regular file) or
    would get (the umask's), so ``os.replace(staged, target)`` then puts the whole of it
    in place in one step. Its name is ``.<target name>.<8 hex>.tmp``, never ``*.json``.
    On failure nothing is left behind and the ``OSError`` propagates.
    """
    try:
        found = os.lstat(target)
        mode: int | None = found.st_mode & 0o777 if stat.S_ISREG(found.st_mode) else None
    except OSError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        staged = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
        try:
            descriptor = os.open(staged, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits taken already
            continue
        break
    try:
        with open(descriptor, "wb", closefd=True) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(staged, mode)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


# -- guarded reads -----------------------------------------------------------------------


class UnsafeFile(Exception):
    """A file that is not read: a link where none may be, or not a regular file.

    ``str()`` is one line naming the path; callers wrap it in their own error type.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path
        self.reason = reason


class FileTooLarge(UnsafeFile):
    """A file larger than the limit the caller set (``limit``, in bytes)."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(path, f"is larger than the limit of {describe_size(limit)}")
        self.limit = limit


def describe_size(size: int) -> str:
    """``1 GiB``, ``300 MiB``, ``1536 bytes``: a byte count as people read it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a FIFO (named pipe)"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
    (stat.S_ISSOCK, "is a socket"),
    (stat.S_ISLNK, "is a symbolic link"),
)


def _not_regular(mode: int) -> str | None:
    """Why a file of ``mode`` is not read (its kind), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, reason in _KINDS:
        if test(mode):
            return f"{reason}, not a regular file"
    return "is not a regular file"


def open_untrusted(path: Path, *, max_size: int, follow_links: bool = True) -> io.BufferedReader:
    """Open ``path`` for reading as untrusted input; the caller closes what it returns.

    Raises :class:`UnsafeFile` for what is not a regular file (checked before opening,
    and again on the opened file, so a swap in between is caught) and, when
    ``follow_links`` is false, for a symbolic link; :class:`FileTooLarge` when the file
    is, or grows while read to be, larger than ``max_size`` bytes. ``OSError`` (a
    missing file, no permission) propagates.
    """
    found = os.stat(path) if follow_links else os.lstat(path)
    reason = _not_regular(found.st_mode)
    if reason is not None:
        raise UnsafeFile(path, reason)
    if found.st_size > max_size:
        raise FileTooLarge(path, max_size)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if not follow_links and os.path.islink(path):  # swapped for a link since lstat
            raise UnsafeFile(path, "is a symbolic link, not a regular file") from None
        raise exc from None
    try:
        opened = os.fstat(descriptor)
        reason = _not_regular(opened.st_mode)
        if reason is not None:
            raise UnsafeFile(path, reason)
        if (opened.st_dev, opened.st_ino) != (found.st_dev, found.st_ino):
            raise UnsafeFile(path, "was replaced while being opened")
        raw = _BoundedFile(io.FileIO(descriptor, "rb", closefd=True), path, max_size)
    except BaseException:
        os.close(descriptor)
        raise
    return io.BufferedReader(raw, buffer_size=1 << 16)


class _BoundedFile(io.RawIOBase):
    """A file read no further than ``limit`` bytes: past it, :class:`FileTooLarge`."""

    def __init__(self, raw: io.FileIO, path: Path, limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._limit = limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        room = self._limit + 1 - self._raw.tell()
        with memoryview(buffer) as view:
            read = self._raw.readinto(view[: max(1, min(len(view), room))])
        if read and self._raw.tell() > self._limit:
            raise FileTooLarge(self._path, self._limit)
        return read or 0

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        self._raw.close()
        super().close()
