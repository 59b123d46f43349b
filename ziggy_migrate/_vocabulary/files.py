"""Atomic file writes: a crash or a full disk never leaves a truncated file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import BundleError

__all__ = ["write_atomically", "write_error", "write_private_bytes"]


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
        return 0o666 & ~_current_umask(target.parent if str(target.parent) else Path("."))


def _current_umask(directory: Path) -> int:
    """The process's umask, as the kernel applies it to a file made with mode 0o666."""
    try:
        for line in Path("/proc/self/status").read_text("ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    probe = directory / f".ziggy-umask-{os.getpid()}-{os.urandom(4).hex()}"
    descriptor = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        return 0o666 & ~os.fstat(descriptor).st_mode & 0o777
    finally:
        os.close(descriptor)
        probe.unlink(missing_ok=True)
