"""Official ziggy export files: read as bundles, and bundles written back in their shape.

The official Node CLI (``ziggy-cli``) writes whatever the server's
``GET /api/flow/export-tagged`` answers: an object ``{flows, connections, secrets[,
structures, variables, schedules]}`` of whole server rows, or a bare array of flow rows,
where a flow row may carry its relations nested (``connections[]``, ``secrets[]``,
``structures[]``, ``variables[]``, ``schedules[]``) as ``GET /api/flow/{uuid}`` answers.

Reading (:func:`convert_official`) turns such a document, in memory, into a bundle
document of format version 2 (the first with schedules); ``bundle.py`` then sends it
through the normal path
(upgrade to the current format, schema, structuring, meaning) and points any error
back at the official file's own JSON path (``$[3].nodes``,
``$.flows[0].connections[1].uuid``) with :func:`relocate`:

- lenient with server columns: bookkeeping (``tenantId``, ``createdAt``, ``updatedAt``,
  ``isDeleted``, ``isLocked``, ``queueUuid``...) and columns nobody documented are left
  out; ``null`` where the bundle holds text, a list, an object or a flag reads as the
  empty value;
- strict with what matters: every row is an object with a ``uuid``; a row met twice
  (top level and nested in a flow) must say the same; names, graphs and types are
  checked by the bundle schema, and names and UUIDs must be unique per kind;
- secret values (``devValue``/``prodValue`` of secret rows) and connections' OAuth
  tokens are dropped, with a warning that the file carried them;
- schedules come into the bundle like the other relations, from the top-level list and
  from the flows' nested ones (a nested row without a ``flowUuid`` is its flow's);
  :func:`schedule_rows` returns the rows as the file holds them, and
  :class:`OfficialExport` carries those beside the bundle;
- a reference to an item the file does not hold (a subflow exported without its caller,
  say) becomes a declared unresolved reference, with a warning: the same honest record
  an export makes of what its source server lacks (``bundle.py`` does that part, as it
  needs the reference walk).

The bundle's provenance says where it came from: ``toolVersion`` starts with
:data:`OFFICIAL_EXPORT_TOOL`, the source server is unknown (empty URL, no name), the
selection is empty, and ``exportedAt`` is the latest ``updatedAt`` in the file (so that
converting the same file twice gives the same bundle).

Writing (:func:`official_document`) makes the shape the server's export answers: the
five kinds of the official format as top-level lists of rows with the columns of
:data:`COLUMNS` (a bundle's schedules are not written: the server's own import takes
none). The portable columns carry the bundle's values; the server's bookkeeping, which
the bundle format does not keep, is re-created with neutral values (:data:`BOOKKEEPING`):
the tenant is ``##solo##``, both timestamps are the bundle's ``exportedAt``, ``isDeleted`` and
``isLocked`` are false, ``queueUuid`` is null. Credentials are never written, not even
as null (which an OVERWRITE import by the official CLI could take as "blank the
target's value"): secrets' ``devValue``/``prodValue``, connections' OAuth tokens; nor is
``privateFlowUUID`` (:data:`NOT_WRITTEN`).

So official -> bundle -> official keeps every column of :data:`COLUMNS`, each portable
value exactly and the bookkeeping as above; it drops the credentials, the columns nobody
documented, and the nesting (relations are written once, at the top level, as the
server's export does).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._version import __version__
from .._vocabulary import convert as _convert
from .._vocabulary.errors import BundleError
from .._vocabulary.files import write_atomically
from .._vocabulary.models import Bundle, ItemKind

__all__ = [
    "BOOKKEEPING",
    "COLUMNS",
    "NOT_WRITTEN",
    "OFFICIAL_EXPORT_TOOL",
    "Converted",
    "OfficialExport",
    "convert_official",
    "dump_official",
    "looks_official",
    "official_document",
    "relocate",
    "save_official",
    "schedule_rows",
]

OFFICIAL_EXPORT_TOOL = "official ziggy export file"
"""How a bundle read from an official export file starts its ``provenance.toolVersion``."""

SOLO_TENANT = "##solo##"
_NESTED_KINDS = ("connections", "secrets", "structures", "variables", "schedules")
_RELATION_KINDS = (ItemKind.CONNECTION, ItemKind.SECRET, ItemKind.STRUCTURE, ItemKind.VARIABLE)

_REQUIRED = object()
"""A column copied only when present, so that the schema names it when it is missing."""

# The portable columns per kind, with what a missing or null value reads as.
_PORTABLE: dict[ItemKind, tuple[tuple[str, Any], ...]] = {
    ItemKind.FLOW: (
        ("uuid", _REQUIRED),
        ("name", _REQUIRED),
        ("listenerType", "REST"),
        ("tags", ()),
        ("nodes", ()),
        ("edges", ()),
        ("viewport", {}),
        ("isSubflow", False),
        ("isCommander", False),
        ("isValid", True),
        ("numBlocks", None),
        ("info", None),
        ("executionHistoryLevel", None),
        ("executionHistoryMins", None),
        ("timeout", None),
    ),
    ItemKind.CONNECTION: (
        ("uuid", _REQUIRED),
        ("name", _REQUIRED),
        ("type", _REQUIRED),
        ("description", ""),
        ("devValue", ""),
        ("prodValue", ""),
        ("isCorePlatform", False),
    ),
    ItemKind.SECRET: (
        ("uuid", _REQUIRED),
        ("name", _REQUIRED),
        ("description", ""),
        ("type", ""),
        ("group", ""),
        ("tags", ()),
    ),
    ItemKind.STRUCTURE: (
        ("uuid", _REQUIRED),
        ("name", _REQUIRED),
        ("description", ""),
        ("value", ""),
        ("tags", ()),
    ),
    ItemKind.VARIABLE: (
        ("uuid", _REQUIRED),
        ("name", _REQUIRED),
        ("description", ""),
        ("value", ""),
    ),
    ItemKind.SCHEDULE: (
        ("uuid", _REQUIRED),
        ("name", _REQUIRED),
        ("config", ""),
        ("isPaused", False),
        ("executionMode", "DEV"),
        ("flowUuid", _REQUIRED),
    ),
}

COLUMNS: dict[ItemKind, tuple[str, ...]] = {
    ItemKind.FLOW: (
        "tenantId",
        "uuid",
        "queueUuid",
        "nodes",
        "edges",
        "viewport",
        "info",
        "executionHistoryLevel",
        "executionHistoryMins",
        "isValid",
        "name",
        "listenerType",
        "numBlocks",
        "tags",
        "isSubflow",
        "isCommander",
        "timeout",
        "createdAt",
        "updatedAt",
        "isDeleted",
        "isLocked",
    ),
    ItemKind.CONNECTION: (
        "tenantId",
        "uuid",
        "name",
        "type",
        "description",
        "isCorePlatform",
        "devValue",
        "prodValue",
        "createdAt",
        "updatedAt",
        "isDeleted",
    ),
    ItemKind.SECRET: (
        "tenantId",
        "uuid",
        "name",
        "description",
        "type",
        "group",
        "tags",
        "createdAt",
        "updatedAt",
        "isDeleted",
    ),
    ItemKind.STRUCTURE: (
        "tenantId",
        "uuid",
        "name",
        "description",
        "value",
        "tags",
        "createdAt",
        "updatedAt",
        "isDeleted",
    ),
    ItemKind.VARIABLE: (
        "tenantId",
        "uuid",
        "name",
        "description",
        "value",
        "createdAt",
        "updatedAt",
        "isDeleted",
    ),
}
"""The columns of each kind's server row, in the entities' order, as the server's export
answers them: what :func:`official_document` writes for every row. Credentials are left
out on purpose (a secret's ``devValue``/``prodValue``, a connection's OAuth tokens, as
the server's own export leaves secret values out): a key written as null could blank
the target's value when the official CLI imports the file with OVERWRITE."""

BOOKKEEPING: dict[str, Any] = {
    "tenantId": SOLO_TENANT,
    "queueUuid": None,
    "createdAt": None,  # replaced by the bundle's exportedAt when it has one
    "updatedAt": None,  # likewise
    "isDeleted": False,
    "isLocked": False,
}
"""The server columns a bundle does not keep, and the values written back for them."""

NOT_WRITTEN: frozenset[str] = frozenset({"devOAuthToken", "prodOAuthToken", "privateFlowUUID"})
"""Contract columns an official file may carry that are never written back: OAuth tokens
(credentials of one server) and ``privateFlowUUID`` (the API cannot make a variable
private, so it travels as a shared one); secrets' ``devValue``/``prodValue`` likewise."""


@attrs.frozen
class OfficialExport:
    """An official ziggy export file, read: the bundle, what reading it dropped or could
    not resolve (``warnings``, one line each, never a secret value), and the schedule
    rows it carried (``schedules``, server rows as the file holds them; the bundle holds
    them as ``bundle.schedules``)."""

    bundle: Bundle
    warnings: tuple[str, ...] = ()
    schedules: tuple[dict[str, Any], ...] = ()

    def __repr__(self) -> str:
        return (
            f"<OfficialExport {self.bundle!r}, {len(self.warnings)} warnings, "
            f"{len(self.schedules)} schedules>"
        )


@attrs.frozen
class Converted:
    """:func:`convert_official`'s result: a bundle document not yet validated, the
    official path of each of its items (by kind plural, in list order), the warnings so
    far and the schedule rows."""

    document: dict[str, Any]
    paths: Mapping[str, Sequence[str]]
    warnings: tuple[str, ...]
    schedules: tuple[dict[str, Any], ...]


# -- recognising --------------------------------------------------------------------------


def looks_official(document: Any) -> bool:
    """Whether ``document`` is shaped like an official export rather than a bundle.

    A non-empty JSON array (a bundle is always an object), or an object with a ``flows``
    key and neither ``schemaVersion`` nor ``provenance`` (which only bundles have).
    """
    if isinstance(document, list):
        return bool(document)
    return (
        isinstance(document, dict)
        and "flows" in document
        and "schemaVersion" not in document
        and "provenance" not in document
    )


# -- reading ------------------------------------------------------------------------------


@attrs.define
class _Pool:
    """One kind's rows, each once, in the order first met, with where each was met."""

    kind: ItemKind
    rows: list[dict[str, Any]] = attrs.field(factory=list)
    items: list[dict[str, Any]] = attrs.field(factory=list)
    paths: list[str] = attrs.field(factory=list)
    index: dict[str, int] = attrs.field(factory=dict)

    def add(self, row: Any, path: str) -> None:
        _check_row(row, path, self.kind)
        uuid = row["uuid"]
        seen = self.index.get(uuid)
        if seen is None:
            self.index[uuid] = len(self.items)
            self.rows.append(row)
            self.items.append(_portable(row, self.kind))
            self.paths.append(path)
            return
        if self.kind is ItemKind.FLOW:
            raise BundleError(
                f"duplicate uuid {uuid!r} (also at {self.paths[seen]})", location=f"{path}.uuid"
            )
        first = self.rows[seen]
        for key, default in _PORTABLE[self.kind]:
            if (
                key in first
                and key in row
                and _value(first[key], default) != _value(row[key], default)
            ):
                raise BundleError(
                    f"{self.kind.value} {uuid!r} differs from the row at {self.paths[seen]} "
                    f"in {key}: a row met twice must say the same",
                    location=f"{path}.{key}",
                )


def convert_official(document: Any) -> Converted:
    """The bundle document (format version 2, not yet validated) of an official export.

    Raises :class:`BundleError` naming the official file's JSON path for what cannot be
    read at all: a list that is not a list, a row that is not an object or has no
    ``uuid``, a row met twice that disagrees with itself.
    """
    if isinstance(document, list):
        flow_rows, base, top = document, "$", {}
    elif isinstance(document, dict):
        top = document
        flow_rows, base = _rows(document, "flows", "$.flows"), "$.flows"
    else:
        raise BundleError(
            f"an official export file is an object or an array, not {_json_type(document)}"
        )
    pools = {kind: _Pool(kind) for kind in ItemKind}
    for plural in _NESTED_KINDS:
        kind = _kind_of(plural)
        for index, row in enumerate(_rows(top, plural, f"$.{plural}")):
            pools[kind].add(row, f"$.{plural}[{index}]")
    for index, row in enumerate(flow_rows):
        path = f"{base}[{index}]"
        pools[ItemKind.FLOW].add(row, path)
        for plural in _NESTED_KINDS:
            kind = _kind_of(plural)
            for inner, nested in enumerate(_rows(row, plural, f"{path}.{plural}")):
                found = _of_flow(nested, row) if kind is ItemKind.SCHEDULE else nested
                pools[kind].add(found, f"{path}.{plural}[{inner}]")
    schedules = schedule_rows(document)
    bundle_document: dict[str, Any] = {
        "schemaVersion": 2,
        "provenance": {
            "source": {"url": "", "name": None},
            "toolVersion": f"{OFFICIAL_EXPORT_TOOL}, read by ziggy-migrate {__version__}",
            "exportedAt": _latest_stamp(pool.rows for pool in pools.values()),
            "selection": {"flowIds": [], "tags": []},
        },
        **{kind.plural: pools[kind].items for kind in ItemKind},
        "unresolvedReferences": [],
    }
    return Converted(
        document=bundle_document,
        paths={kind.plural: tuple(pools[kind].paths) for kind in ItemKind},
        warnings=tuple(_dropped_warnings(pools)),
        schedules=tuple(schedules),
    )


def _of_flow(schedule: Any, flow: Mapping[str, Any]) -> Any:
    """A schedule row nested in ``flow``, with the flow's UUID when it names none (a copy;
    the file is not changed)."""
    if isinstance(schedule, dict) and schedule.get("flowUuid") is None:
        return {**schedule, "flowUuid": flow.get("uuid")}
    return schedule


def schedule_rows(document: Any) -> list[dict[str, Any]]:
    """The schedule rows of an official export, each once (by ``uuid``), as the file
    holds them: the top-level ``schedules`` first, then those nested in flows, where a
    nested row without a ``flowUuid`` gets its flow's (a copy; the file is not changed).

    Rows that are not objects are skipped here (:func:`convert_official` refuses them).
    """
    found: dict[Any, dict[str, Any]] = {}
    top = document if isinstance(document, dict) else {}
    flows = document if isinstance(document, list) else top.get("flows")
    for row in top.get("schedules") or []:
        if isinstance(row, dict):
            found.setdefault(row.get("uuid") or id(row), row)
    for flow in flows if isinstance(flows, list) else []:
        nested = flow.get("schedules") if isinstance(flow, dict) else None
        for nested_row in nested if isinstance(nested, list) else []:
            if isinstance(nested_row, dict):
                row = nested_row
                if row.get("flowUuid") is None and isinstance(flow.get("uuid"), str):
                    row = {**row, "flowUuid": flow["uuid"]}
                found.setdefault(row.get("uuid") or id(row), row)
    return list(found.values())


def relocate(error: BundleError, paths: Mapping[str, Sequence[str]]) -> BundleError:
    """``error`` about the bundle document, pointed at the official file's own paths.

    ``$.flows[3].nodes`` becomes the path of that flow's row (``$[3].nodes`` in a bare
    array, ``$.flows[0].connections[1]...`` for a relation met nested first), in the
    location and in the message ("also at ...").
    """

    def official(match: re.Match[str]) -> str:
        rows = paths.get(match.group(1), ())
        index = int(match.group(2))
        return rows[index] if index < len(rows) else match.group(0)

    location = _BUNDLE_PATH.sub(official, error.location)
    reason = _BUNDLE_PATH.sub(official, error.reason)
    return type(error)(reason, location=location, file=error.file)


_BUNDLE_PATH = re.compile(r"\$\.(\w+)\[(\d+)\]")


def _rows(holder: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = holder.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BundleError(f"{key} must be a list of rows, not {_json_type(value)}", location=path)
    return value


def _check_row(row: Any, path: str, kind: ItemKind) -> None:
    if not isinstance(row, dict):
        raise BundleError(
            f"a {kind.value} row is a JSON object, not {_json_type(row)}", location=path
        )
    uuid = row.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise BundleError(
            f"a {kind.value} row needs a uuid (a non-empty string), not {_json_type(uuid)}",
            location=f"{path}.uuid",
        )


def _portable(row: Mapping[str, Any], kind: ItemKind) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for key, default in _PORTABLE[kind]:
        if default is _REQUIRED:
            if key in row:
                item[key] = row[key]
        else:
            item[key] = _value(row.get(key), default)
    return item


def _value(value: Any, default: Any) -> Any:
    """A column's value, ``null`` read as the column's empty value (a fresh copy)."""
    if value is None:
        return list(default) if isinstance(default, tuple) else _copy(default)
    return value


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _kind_of(plural: str) -> ItemKind:
    return next(kind for kind in ItemKind if kind.plural == plural)


def _latest_stamp(pools: Iterable[list[dict[str, Any]]]) -> str:
    stamps = [
        row[key]
        for rows in pools
        for row in rows
        for key in ("updatedAt", "createdAt")
        if isinstance(row.get(key), str)
    ]
    return max(stamps)[:100] if stamps else ""


def _carries(value: Any) -> bool:
    return value is not None and value not in ("", {})


def _dropped_warnings(pools: Mapping[ItemKind, _Pool]) -> Iterator[str]:
    valued = [
        str(row.get("name"))
        for row in pools[ItemKind.SECRET].rows
        if _carries(row.get("devValue")) or _carries(row.get("prodValue"))
    ]
    if valued:
        yield (
            f"the file carries values of {len(valued)} secret(s) ({_names(valued)}); they "
            "were dropped, as ziggy-migrate never keeps secret values: keep that file out "
            "of git and set the values on the target in Ziggy"
        )
    tokens = [
        str(row.get("name"))
        for row in pools[ItemKind.CONNECTION].rows
        if _carries(row.get("devOAuthToken")) or _carries(row.get("prodOAuthToken"))
    ]
    if tokens:
        yield (
            f"the file carries OAuth tokens of {len(tokens)} connection(s) ({_names(tokens)}); "
            "they were dropped (a token belongs to one server): sign in again on the target"
        )
    private = [
        str(row.get("name"))
        for row in pools[ItemKind.VARIABLE].rows
        if _carries(row.get("privateFlowUUID"))
    ]
    if private:
        yield (
            f"{len(private)} variable(s) ({_names(private)}) are private to a flow in the "
            "file; the API cannot make private variables, so they travel as shared ones"
        )


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(name[:80] for name in sorted(names)[:5])
    return shown + (", ..." if len(names) > 5 else "")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else type(value).__name__


# -- writing ------------------------------------------------------------------------------


def official_document(bundle: Bundle) -> dict[str, Any]:
    """``bundle`` as an official export file holds it (see the module docstring).

    Items keep the bundle's order; the bundle's unresolved references have no place in
    the official shape (the references stay in the graphs, as they are).
    """
    stamp = bundle.provenance.exported_at or None
    bookkeeping = {**BOOKKEEPING, "createdAt": stamp, "updatedAt": stamp}
    document: dict[str, Any] = {}
    for kind in (ItemKind.FLOW, *_RELATION_KINDS):
        rows = []
        for item in bundle.items(kind):
            portable = _convert.unstructure(item)
            rows.append(
                {
                    column: portable[column] if column in portable else bookkeeping.get(column)
                    for column in COLUMNS[kind]
                }
            )
        document[kind.plural] = rows
    return document


def dump_official(bundle: Bundle) -> str:
    """The text of the official export file of ``bundle``: ``JSON.stringify(data, null,
    2)``'s layout (columns in the server's order), with a trailing newline."""
    try:
        return (
            json.dumps(official_document(bundle), indent=2, ensure_ascii=False, allow_nan=False)
            + "\n"
        )
    except (ValueError, TypeError) as exc:  # NaN, or a value JSON cannot hold
        raise BundleError(f"cannot be written as JSON: {exc}", location="") from None


def save_official(bundle: Bundle, path: str | os.PathLike[str]) -> Path:
    """Write ``bundle`` as an official export file at ``path``, atomically; the path."""
    target = Path(path)
    write_atomically(target, dump_official(bundle))
    return target
