"""Binding files: which source item became which item on one target server.

A server chooses every UUID, so a flow imported from dev gets a new UUID on prod; the
next import finds it again by name. Once the flow is renamed on dev, neither rule finds
it, and it would be created a second time. So every import records, per target server,
the target UUID each source item became (or was matched to), and matching consults that
record between the UUID and the name rule: an item renamed on the source still finds
(and, in ``overwrite`` mode, renames) its copy.

A binding file is small canonical JSON, meant to be committed beside the bundle (for a
bundle folder: ``bindings/<server>.json`` inside it), so that every machine, CI included,
matches the same way::

    {
      "bindingFormatVersion": 1,
      "flows": {"<source uuid>": "<target uuid>", ...},
      "connections": {...}, "secrets": {...}, "structures": {...},
      "variables": {...}, "schedules": {...}
    }

The record is one-to-one per kind: binding a source item to a target item drops any other
source item's binding to it. A file edited or merged by hand may still bind two source
items to one target item; the import then refuses those items (as it refuses a name that
several target items share) rather than guess. A file that is not exactly this shape
(a key twice in one object included: the strict JSON reader refuses it) is refused with a
:class:`BundleError` naming the file, before anything is written. Like a bundle, the file
may come from a pull request: it is read only if it is a regular file (a FIFO or a device
is refused before it is read) of at most :data:`MAX_BINDINGS_SIZE` bytes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .._bundle.json_text import JSONRejected, dumps_canonical, loads_strict
from .._vocabulary.errors import BundleError
from .._vocabulary.files import (
    FileTooLarge,
    UnsafeFile,
    describe_size,
    open_untrusted,
    write_atomically,
)
from .._vocabulary.models import ItemKind
from .._vocabulary.state_dir import server_slug, state_dir

__all__ = [
    "BINDING_FORMAT_VERSION",
    "MAX_BINDINGS_SIZE",
    "Bindings",
    "default_bindings_path",
    "read_bindings",
    "write_bindings",
]

logger = logging.getLogger("ziggy_migrate.bindings")

BINDING_FORMAT_VERSION = 1
_VERSION_KEY = "bindingFormatVersion"
_KINDS_BY_KEY = {kind.plural: kind for kind in ItemKind}
_MAX_UUID_LENGTH = 200
MAX_BINDINGS_SIZE = 64 << 20
"""The most a binding file may hold, in bytes: some hundred thousand bindings."""


@attrs.frozen
class Bindings:
    """Source UUID -> target UUID, per kind, for one target server."""

    by_kind: Mapping[ItemKind, Mapping[str, str]] = attrs.field(factory=dict)

    def of_kind(self, kind: ItemKind) -> Mapping[str, str]:
        return self.by_kind.get(kind, {})

    def shared_targets(self, kind: ItemKind) -> dict[str, tuple[str, ...]]:
        """Target UUIDs that several source items are bound to, with those sources."""
        sources: dict[str, list[str]] = {}
        for source, target in self.of_kind(kind).items():
            sources.setdefault(target, []).append(source)
        return {t: tuple(sorted(s)) for t, s in sources.items() if len(s) > 1}

    def updated(self, bound: Iterable[tuple[ItemKind, str, str]]) -> Bindings:
        """These bindings with ``(kind, source uuid, target uuid)`` recorded; a target
        item bound anew is no longer bound to any other source item."""
        merged = {kind: dict(self.of_kind(kind)) for kind in ItemKind}
        # the source items bound to each target item, per kind: one look-up per binding
        # recorded rather than a scan of all of them (an import records thousands)
        holders: dict[ItemKind, dict[str, set[str]]] = {}
        for kind, source, target in bound:
            entries = merged[kind]
            held = holders.get(kind)
            if held is None:
                held = holders[kind] = {}
                for key, value in entries.items():
                    held.setdefault(value, set()).add(key)
            for other in held.pop(target, ()):
                del entries[other]
            previous = entries.get(source)
            if previous is not None:
                held[previous].discard(source)
            entries[source] = target
            held[target] = {source}
        return Bindings({kind: entries for kind, entries in merged.items() if entries})

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {_VERSION_KEY: BINDING_FORMAT_VERSION}
        document.update({kind.plural: dict(self.of_kind(kind)) for kind in ItemKind})
        return document

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.by_kind.values())


def default_bindings_path(target_url: str, base: str | os.PathLike[str] | None = None) -> Path:
    """Where an import records its bindings when no binding file is given:
    ``bindings/<server>.json`` in the state folder ``base`` (see ``state_dir``)."""
    return state_dir("bindings", base) / f"{server_slug(target_url)}.json"


def read_bindings(path: Path) -> Bindings:
    """The bindings in the file at ``path``; none when there is no file yet."""
    try:
        if path.is_dir():
            raise _error(path, "is a folder, not a binding file")
        with open_untrusted(path, max_size=MAX_BINDINGS_SIZE) as handle:
            raw = handle.read()
    except FileNotFoundError:
        return Bindings()
    except FileTooLarge:
        raise _error(path, f"is larger than {describe_size(MAX_BINDINGS_SIZE)}") from None
    except UnsafeFile as exc:
        raise _error(path, str(exc.reason)) from None
    except OSError as exc:
        raise _error(path, f"cannot be read: {exc.strerror}") from None
    try:
        document = loads_strict(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise _error(path, "is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _error(
            path, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except JSONRejected as exc:
        raise _error(path, f"is not a binding file: the JSON {exc}") from None
    return _parse(path, document)


def write_bindings(path: Path, bindings: Bindings) -> bool:
    """Write ``bindings`` canonically and atomically (creating the folder); False when
    the file already says exactly that."""
    text = dumps_canonical(bindings.to_document())
    try:
        if path.read_text("utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)
    return True


def _parse(path: Path, document: Any) -> Bindings:
    if not isinstance(document, dict):
        raise _error(path, "is not a binding file: it must hold a JSON object")
    if document.get(_VERSION_KEY) != BINDING_FORMAT_VERSION:
        raise _error(
            path,
            f"is not a binding file of format {BINDING_FORMAT_VERSION} "
            f"({_VERSION_KEY} is {document.get(_VERSION_KEY)!r})",
            location=f"$.{_VERSION_KEY}",
        )
    by_kind: dict[ItemKind, dict[str, str]] = {}
    for key, entries in document.items():
        if key == _VERSION_KEY:
            continue
        kind = _KINDS_BY_KEY.get(key)
        if kind is None:
            known = ", ".join(sorted(_KINDS_BY_KEY))
            raise _error(path, f"unknown key {key[:80]!r} (known: {known})", location="$")
        if not isinstance(entries, dict):
            raise _error(path, "must map source UUIDs to target UUIDs", location=f"$.{key}")
        for source, target in entries.items():
            if not _is_uuid_text(source) or not _is_uuid_text(target):
                raise _error(
                    path,
                    "must map source UUIDs to target UUIDs (non-empty strings)",
                    location=f"$.{key}",
                )
        if entries:
            by_kind[kind] = dict(entries)
    return Bindings(by_kind)


def _is_uuid_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_UUID_LENGTH


def _error(path: Path, reason: str, *, location: str = "") -> BundleError:
    return BundleError(f"binding file {reason}", location=location, file=str(path))
