"""The directory layout of a bundle: one canonical file per item, for readable git diffs.

::

    bundle/
      index.json                       schemaVersion, provenance, unresolvedReferences
      flows/orders--1a2b3c4d.json      one file per flow, named by slug + short UUID
      connections/orders-db--9f8e7d6c.json
      secrets/ structures/ variables/ schedules/
      bindings/prod.json               not the bundle: what imports into prod matched

The folder is assembled into the same JSON document as a single-file bundle, items in the
same order (by name, then UUID), so loading validates it exactly the same way and gives
the same :class:`Bundle`.

What the layout owns. A bundle folder is often the root of a git repository, beside a
README, a CI file or other folders. The layout owns ``index.json`` and the ``*.json``
files directly inside the kind folders (the item files), nothing else: saving writes and
removes only those (and its own temporary files), so ``.git`` and every other file or
folder stay as they are, and no file of a deleted item stays behind. A save goes into a
new folder, an empty one, one holding only hidden entries (what ``git init`` leaves), or a
bundle folder (one with ``index.json``); any other folder is refused untouched.

What a save guarantees. A new folder is built under a hidden name beside it and renamed
into place: it appears whole or not at all. Over an existing folder, every new or changed
file is first written in full beside its place (flushed to disk) and only then renamed
over the old one, one rename per file, the index first; unchanged files are not touched,
and neither is the index when nothing else changed (it keeps the export time of the last
export that changed something, so an unchanged server changes no file).
So no file is ever half-written, and a failure while the new files are written (a full
disk, a refused permission) changes nothing. A crash during the renames (a kill, a power
cut) can leave some items new and some old; saving again repairs that (the folder is a
bundle folder from the first rename on), and removes the hidden temporary files a crash
leaves.

What a load trusts. A folder may come from a pull request, so nothing in it is followed
out of it: the index, the kind folders and the item files may not be symbolic links (any
link, even one that points inside: simplest to review), and must be a regular file or a
folder; a FIFO or a device is refused before it is read. Entries the layout does not read
(``README.md``, ``.git``, other folders) are never opened, links among them included. All
files read together may hold at most the bundle size limit.

File names come from server data, which may be anything: the name's slug keeps only
``a-z``, ``0-9`` and ``-`` and the UUID part only ``A-Za-z0-9-``, so a name never holds a
separator, a dot other than the ``.json`` suffix, a control character or a space, never
starts with ``.`` or ``-``, is never a name Windows reserves (``CON``, ``NUL``, ``COM1``...:
every stem holds ``--``), and stays under 100 characters. See :func:`item_file_names` for
how names stay unique and stable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._vocabulary.errors import BundleError
from .._vocabulary.files import (
    FileTooLarge,
    UnsafeFile,
    current_umask,
    describe_size,
    open_untrusted,
    stage_file,
    write_error,
)
from .json_text import DuplicateKey, EncodedJSON, JSONRejected, dumps_canonical, loads_strict

__all__ = [
    "INDEX_FILE",
    "KIND_FOLDERS",
    "item_file_names",
    "read_directory",
    "write_directory",
]

INDEX_FILE = "index.json"
KIND_FOLDERS = ("flows", "connections", "secrets", "structures", "variables", "schedules")
_INDEX_KEYS = ("schemaVersion", "provenance", "unresolvedReferences")
_ITEM_SUFFIX = ".json"
_PLAIN_UUID = re.compile(r"[A-Za-z0-9-]+")
_LEFTOVER = re.compile(r"\..+\.json\.[a-z0-9_]{8}\.tmp")
"""A temporary file of an interrupted save (``stage_file``'s or ``write_atomically``'s)."""


# -- file names ---------------------------------------------------------------------------


def _slug(name: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:60] or "item"


def _digest(uuid: str) -> str:
    return hashlib.sha256(uuid.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def item_file_names(items: Sequence[dict[str, Any]]) -> list[str]:
    """The file name of each item of one kind, in order: ``orders-db--9f8e7d6c.json``.

    A name is the slug of the item's name and the first 8 characters of its UUID. A UUID
    with any other character than ``A-Za-z0-9-`` (so its prefix alone could be another's)
    adds 16 hex digits of its SHA-256. Names that still coincide, compared without case
    as Windows and macOS do, all take those digits (never just the second one met, so a
    name does not depend on the order of items), and a last counter settles what even
    that leaves equal. An item keeps its name from one export to the next unless another
    item comes to share its slug and UUID prefix.
    """
    bases: list[str] = []
    for item in items:
        uuid = str(item["uuid"])
        plain = _PLAIN_UUID.fullmatch(uuid) is not None
        base = f"{_slug(item['name'])}--{re.sub(r'[^A-Za-z0-9-]', '', uuid)[:8]}"
        bases.append(base if plain else f"{base}-{_digest(uuid)}")
    counts: dict[str, int] = {}
    for base in bases:
        counts[base.lower()] = counts.get(base.lower(), 0) + 1
    stems = [
        f"{base}-{_digest(str(item['uuid']))}" if counts[base.lower()] > 1 else base
        for base, item in zip(bases, items, strict=True)
    ]
    taken: set[str] = set()
    names: list[str] = []
    for stem in stems:
        name, number = stem, 1
        while name.lower() in taken:
            number += 1
            name = f"{stem}-{number}"
        taken.add(name.lower())
        names.append(name + _ITEM_SUFFIX)
    return names


# -- writing ------------------------------------------------------------------------------


def write_directory(
    document: dict[str, Any],
    target: Path,
    flow_texts: Mapping[str, EncodedJSON] | None = None,
) -> None:
    """Write ``document`` (a canonical bundle document) as a bundle folder at ``target``,
    as the module's docstring says: only the files the layout owns, each whole.

    ``flow_texts`` holds flows' texts made ahead (``encode_flow``), by UUID: a flow of
    ``document`` found there needs only its ``uuid`` and ``name`` (its file's name), and
    its file is that text. The files are made one at a time as they are written, so the
    folder's text is never all in memory a second time."""
    try:
        files = _FileSet(document, flow_texts or {})
        if os.path.lexists(target):
            _update(target, files)
        else:
            _create(target, files)
    except BaseException as exc:
        if isinstance(exc, BundleError):
            raise
        error = write_error(exc, target)
        if error is None:
            raise
        raise error from None


class _FileSet:
    """Every file the folder holds, by path relative to it (``flows/x--1a2b3c4d.json``):
    the paths at once, each file's bytes only when iterated to."""

    def __init__(self, document: dict[str, Any], flow_texts: Mapping[str, EncodedJSON]) -> None:
        self._document = document
        self._flow_texts = flow_texts
        # First: once anything of the layout is renamed into a folder, so is the index,
        # and the folder is a bundle folder that the next save accepts, whenever a crash
        # came.
        self._items: dict[str, Any] = {INDEX_FILE: {key: document[key] for key in _INDEX_KEYS}}
        for folder in KIND_FOLDERS:
            items = document[folder]
            for item, name in zip(items, item_file_names(items), strict=True):
                self._items[f"{folder}/{name}"] = item

    def __contains__(self, relative: str) -> bool:
        return relative in self._items

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for relative, item in self._items.items():
            text = self._flow_texts.get(item["uuid"]) if relative.startswith("flows/") else None
            made = dumps_canonical(item) if text is None else text.at("") + "\n"
            yield relative, made.encode("utf-8")


def _create(target: Path, files: _FileSet) -> None:
    """A new folder: built under a hidden name beside ``target``, then renamed into place."""
    parent = target.parent if str(target.parent) else Path(".")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    except FileNotFoundError:
        raise BundleError(f"the folder {parent} does not exist", location="") from None
    except OSError as exc:
        raise BundleError(f"cannot write in {parent}: {exc.strerror}", location="") from None
    try:
        os.chmod(staging, 0o777 & ~current_umask(staging))  # mkdtemp's is owner-only
        for folder in KIND_FOLDERS:
            (staging / folder).mkdir()
        for relative, data in files:
            os.replace(stage_file(staging / relative, data), staging / relative)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _update(target: Path, files: _FileSet) -> None:
    """An existing folder: stage every new or changed file, rename them in, prune.

    The index is rewritten only when something else changes with it: an export that finds
    every item as it was keeps the old index, export time and all, so an unchanged server
    changes no file (``git status`` stays clean)."""
    _check_target(target)
    made_folders = [folder for folder in KIND_FOLDERS if not (target / folder).exists()]
    staged: list[tuple[Path, Path]] = []
    try:
        for folder in made_folders:
            (target / folder).mkdir()
        for folder in KIND_FOLDERS:
            _remove_leftovers(target / folder)
        gone = [
            Path(entry.path)
            for folder in KIND_FOLDERS
            for entry in os.scandir(target / folder)
            if _is_item_file(entry) and f"{folder}/{entry.name}" not in files
        ]
        index: bytes = b""
        for relative, data in files:
            final = target / relative
            if relative == INDEX_FILE:
                index = data  # staged below, once it is known whether anything changed
            elif not _holds(final, data):
                staged.append((stage_file(final, data), final))
        final = target / INDEX_FILE
        changed = bool(staged or gone)
        if not _holds(final, index) and (changed or not _same_but_export_time(final, index)):
            staged.insert(0, (stage_file(final, index), final))  # renamed first, as it was
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        for folder in made_folders:
            _remove_if_empty(target / folder)
        raise
    try:
        for temporary, final in staged:
            os.replace(temporary, final)
    except BaseException as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        error = write_error(exc, target)
        if error is None:
            raise
        raise BundleError(
            f"{error.reason}; some files of the folder may be new and some old: export "
            "again to complete it",
            location="",
        ) from None
    for path in gone:
        path.unlink(missing_ok=True)


def _check_target(target: Path) -> None:
    """Refuse a folder the layout may not write in, before anything is written."""
    if not target.is_dir():
        raise BundleError(
            f"{target} exists and is not a bundle folder; choose a new or empty path",
            location="",
        )
    index = target / INDEX_FILE
    if os.path.islink(index):
        raise BundleError(_link_refused(index), location="")
    if not index.is_file():
        visible = sorted(
            name
            for name in os.listdir(target)
            if not name.startswith(".") and not _is_empty_kind_folder(target / name)
        )
        if visible:
            raise BundleError(
                f"{target} exists and is not a bundle folder (it holds {visible[0]!r} but "
                f"no {INDEX_FILE}); choose a new or empty path",
                location="",
            )
    for folder in KIND_FOLDERS:
        path = target / folder
        if os.path.islink(path):
            raise BundleError(_link_refused(path), location="")
        if os.path.lexists(path) and not path.is_dir():
            raise BundleError(
                f"cannot write {path}: it is a file, where a bundle folder has a folder",
                location="",
            )


def _is_empty_kind_folder(path: Path) -> bool:
    """A kind folder holding nothing but hidden files: what a save that was stopped
    before its first rename leaves."""
    if path.name not in KIND_FOLDERS or os.path.islink(path) or not path.is_dir():
        return False
    return all(name.startswith(".") for name in os.listdir(path))


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a regular file (not a link) that holds exactly ``data``."""
    try:
        found = os.lstat(path)
        if not stat.S_ISREG(found.st_mode) or found.st_size != len(data):
            return False
        with open_untrusted(path, max_size=len(data), follow_links=False) as handle:
            return handle.read() == data
    except (OSError, UnsafeFile):
        return False


def _same_but_export_time(path: Path, data: bytes) -> bool:
    """Whether the index at ``path`` says what ``data`` says, but for ``exportedAt``."""
    try:
        with open_untrusted(path, max_size=2 * len(data), follow_links=False) as handle:
            found = json.loads(handle.read())
        wanted = json.loads(data)
        for document in (found, wanted):
            document["provenance"].pop("exportedAt", None)
    except (OSError, UnsafeFile, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return False
    return bool(found == wanted)


def _is_item_file(entry: os.DirEntry[str]) -> bool:
    """An entry the layout owns: a ``*.json`` file or link (the link, never its target)."""
    return entry.name.endswith(_ITEM_SUFFIX) and (
        entry.is_symlink() or not entry.is_dir(follow_symlinks=False)
    )


def _remove_leftovers(folder: Path) -> None:
    """Remove the temporary files an interrupted save left in a kind folder."""
    for entry in os.scandir(folder):
        if _LEFTOVER.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


# -- reading ------------------------------------------------------------------------------


def _link_refused(path: Path) -> str:
    return (
        f"{path} is a symbolic link; a bundle folder's index, kind folders and item files "
        "may not be links (replace it with the file or folder itself)"
    )


class _Budget:
    """What is left of the size limit for the files of one folder still to be read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def refusal(self, source: Path) -> BundleError:
        return BundleError(
            f"the bundle folder {source} holds more than the bundle size limit of "
            f"{describe_size(self.limit)}; to read it anyway, raise the limit "
            "(ZIGGY_MAX_BUNDLE_SIZE or max_size=)",
            location="",
        )


def read_directory(source: Path, *, max_size: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The bundle document held by a folder, and the file behind each item (for errors).

    Refuses links, what is not a regular file, and more than ``max_size`` bytes in all,
    as the module's docstring says, each before the file concerned is read.
    """
    index_path = source / INDEX_FILE
    if os.path.islink(index_path):
        raise BundleError(_link_refused(index_path), location="")
    if not os.path.lexists(index_path):
        raise BundleError(
            f"{source} is a folder without {INDEX_FILE}; not a bundle folder", location=""
        )
    budget = _Budget(max_size)
    document = _read_json(index_path, budget, source)
    if not isinstance(document, dict):
        raise BundleError(f"{index_path}: a bundle index is a JSON object", location="")
    for folder in KIND_FOLDERS:
        if folder in document:
            raise BundleError(
                f"the index holds {folder!r}, which a bundle folder keeps in {folder}/ "
                "(one file per item); remove it from the index",
                location=f"$.{folder}",
                file=str(index_path),
            )
    files: dict[str, list[str]] = {}
    for folder in KIND_FOLDERS:
        read = [
            (_read_json(source / folder / name, budget, source), f"{folder}/{name}")
            for name in _item_names(source / folder)
        ]
        read.sort(key=lambda pair: _canonical_order(pair[0]))  # as a bundle file holds them
        document[folder] = [item for item, _ in read]
        files[folder] = [name for _, name in read]
    return document, files


def _canonical_order(item: Any) -> tuple[str, str]:
    """Items sort by name then UUID in a bundle; what is not an item yet sorts first, for
    the schema to refuse."""
    if not isinstance(item, dict):
        return ("", "")
    name, uuid = item.get("name"), item.get("uuid")
    return (name if isinstance(name, str) else "", uuid if isinstance(uuid, str) else "")


def _item_names(folder: Path) -> list[str]:
    """The item files of a kind folder, sorted (none when the folder is missing)."""
    if os.path.islink(folder):
        raise BundleError(_link_refused(folder), location="")
    if not os.path.lexists(folder):
        return []
    if not folder.is_dir():
        raise BundleError(
            f"{folder} is not a folder; a bundle folder keeps its {folder.name} in a "
            f"folder of that name",
            location="",
        )
    try:
        return sorted(name for name in os.listdir(folder) if name.endswith(_ITEM_SUFFIX))
    except OSError as exc:
        raise BundleError(f"cannot read {folder}: {exc.strerror}", location="") from None


def _read_json(path: Path, budget: _Budget, source: Path) -> Any:
    """One file of the folder as JSON: a regular file, not a link, within the budget."""
    try:
        with open_untrusted(path, max_size=budget.left, follow_links=False) as handle:
            raw = handle.read()
    except FileTooLarge:
        raise budget.refusal(source) from None
    except UnsafeFile as exc:
        if exc.reason.startswith("is a symbolic link"):
            raise BundleError(_link_refused(path), location="") from None
        raise BundleError(
            f"{exc}; a bundle folder's index and item files are files", location=""
        ) from None
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}", location="") from None
    budget.left -= len(raw)
    try:
        return loads_strict(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise BundleError(f"{path}: not UTF-8 text", location="") from None
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            location="",
        ) from None
    except DuplicateKey as exc:
        raise BundleError(exc.reason, location=exc.path, file=str(path)) from None
    except JSONRejected as exc:
        raise BundleError(f"{path}: the JSON {exc}", location="") from None
