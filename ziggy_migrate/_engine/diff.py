"""What differs between two bundles, or between a bundle and a server.

Items are paired by the import's rules (UUID, then a unique name; a schedule's name
within its flow's). Their content is
compared with volatile parts set aside: item UUIDs, and UUIDs inside flows, which are
replaced by the name of what they point at — the same flow on two instances has
different UUIDs, and that is not a difference worth reporting. What is left is shown as
JSON paths (``nodes[2].data.query``) so one edit shows as one changed field.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import attrs

from .._bundle.references import rewrite
from .._client.client import ZiggyClient
from .._vocabulary import convert as _convert
from .._vocabulary.models import (
    REPORT_ORDER,
    Bundle,
    ItemKind,
    Provenance,
    Schedule,
    SourceServer,
)
from .._vocabulary.tables import Table, brief, data_frame, list_cell, uuid_cell
from .export import export_flows

__all__ = ["BundleDiff", "Change", "ItemChange", "diff_bundles", "diff_with_server"]

_MAX_PATHS = 50


class Change(str, enum.Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@attrs.frozen
class ItemChange:
    """One item that differs: added (only in the new side), removed, or changed fields."""

    kind: ItemKind
    name: str
    change: Change
    fields: tuple[str, ...] = ()
    old_uuid: str | None = None
    new_uuid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "change": self.change.value,
            "fields": list(self.fields),
            "oldUuid": self.old_uuid,
            "newUuid": self.new_uuid,
        }


@attrs.frozen
class BundleDiff:
    """The differences from ``old`` to ``new``, item by item, in kind then name order."""

    changes: tuple[ItemChange, ...]
    unchanged: int = 0

    @property
    def has_differences(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[str, int]:
        counts = {change.value: 0 for change in Change}
        for item in self.changes:
            counts[item.change.value] += 1
        counts["unchanged"] = self.unchanged
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "changes": [change.to_dict() for change in self.changes],
        }

    def _caption(self) -> str:
        if not self.changes:
            return f"No differences ({self.unchanged} items unchanged)"
        return ", ".join(f"{count} {what}" for what, count in self.summary().items())

    def _table(self) -> Table:
        return Table(
            caption=self._caption(),
            columns=("kind", "name", "change", "old uuid", "new uuid", "fields"),
            rows=tuple(
                (
                    change.kind.value,
                    change.name,
                    change.change.value,
                    uuid_cell(change.old_uuid),
                    uuid_cell(change.new_uuid),
                    list_cell(change.fields),
                )
                for change in self.changes
            ),
            summary=("kind", "change"),
        )

    def to_dataframe(self) -> Any:
        """The differences as a ``pandas.DataFrame``, one row per item that differs (needs
        the ``pandas`` extra).

        Columns: kind, name, change, fields (a tuple of JSON paths), old_uuid, new_uuid.
        Without pandas this raises :class:`MissingDependencyError`.
        """
        return data_frame(
            ("kind", "name", "change", "fields", "old_uuid", "new_uuid"),
            (
                (c.kind.value, c.name, c.change.value, c.fields, c.old_uuid, c.new_uuid)
                for c in self.changes
            ),
        )

    def __str__(self) -> str:
        return self._table().to_text() if self.changes else self._caption()

    def __repr__(self) -> str:
        names = brief([f"{change.change.value} {change.name}" for change in self.changes])
        return f"<BundleDiff {self._caption()}{f': {names}' if names else ''}>"

    def _repr_html_(self) -> str:
        return self._table().to_html()


def diff_bundles(old: Bundle, new: Bundle) -> BundleDiff:
    """Compare two bundles (``old`` is the base, e.g. what is in git or on the server)."""
    old_names, new_names = _reference_names(old), _reference_names(new)
    changes: list[ItemChange] = []
    unchanged = 0
    for kind in REPORT_ORDER:
        pairs, added, removed = _pair(
            old.items(kind), new.items(kind), _name_key(old_names), _name_key(new_names)
        )
        for before, after in pairs:
            fields = tuple(_paths(_comparable(before, old_names), _comparable(after, new_names)))
            if fields:
                changes.append(
                    ItemChange(kind, after.name, Change.CHANGED, fields, before.uuid, after.uuid)
                )
            else:
                unchanged += 1
        changes += [ItemChange(kind, i.name, Change.ADDED, new_uuid=i.uuid) for i in added]
        changes += [ItemChange(kind, i.name, Change.REMOVED, old_uuid=i.uuid) for i in removed]
    changes.sort(key=lambda c: (REPORT_ORDER.index(c.kind), c.name, c.change.value))
    return BundleDiff(changes=tuple(changes), unchanged=unchanged)


def diff_with_server(client: ZiggyClient, bundle: Bundle) -> BundleDiff:
    """Compare the server (the base) with what importing ``bundle`` would bring.

    The server side is an export of the server's flows that match the bundle's flows,
    with their dependencies; the server's other flows are not part of the comparison.
    """
    summaries = client.list_flows()
    by_uuid = {s.uuid: s for s in summaries}
    names: dict[str, list[str]] = {}
    for summary in summaries:
        names.setdefault(summary.name, []).append(summary.uuid)
    matched = []
    for flow in bundle.flows:
        if flow.uuid in by_uuid:
            matched.append(flow.uuid)
        elif len(names.get(flow.name, [])) == 1:
            matched.append(names[flow.name][0])
    if matched:
        server = export_flows(client, flow_ids=sorted(set(matched))).bundle
    else:
        server = Bundle(
            provenance=Provenance(
                source=SourceServer(url=client.base_url, name=client.name),
                tool_version="",
                exported_at="",
            )
        )
    return diff_bundles(server, bundle)


def _name_key(names: dict[str, str]) -> Callable[[Any], Hashable]:
    """An item's name for pairing: a schedule's within its flow (named, as UUIDs differ
    between servers)."""

    def key(item: Any) -> Hashable:
        if isinstance(item, Schedule):
            return (names.get(item.flow_uuid, item.flow_uuid), item.name)
        name: str = item.name
        return name

    return key


def _pair(
    old: tuple[Any, ...],
    new: tuple[Any, ...],
    old_key: Callable[[Any], Hashable] = lambda item: item.name,
    new_key: Callable[[Any], Hashable] = lambda item: item.name,
) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:
    """Pair items by UUID, then by a name unique on both sides."""
    old_by_uuid = {item.uuid: item for item in old}
    pairs: list[tuple[Any, Any]] = []
    unpaired_new = []
    for item in new:
        if item.uuid in old_by_uuid:
            pairs.append((old_by_uuid.pop(item.uuid), item))
        else:
            unpaired_new.append(item)
    old_by_name: dict[Hashable, list[Any]] = {}
    for item in old_by_uuid.values():
        old_by_name.setdefault(old_key(item), []).append(item)
    added = []
    for item in unpaired_new:
        candidates = old_by_name.get(new_key(item), [])
        if len(candidates) == 1:
            pairs.append((candidates.pop(), item))
        else:
            added.append(item)
    removed = [item for items in old_by_name.values() for item in items]
    return pairs, added, removed


def _reference_names(bundle: Bundle) -> dict[str, str]:
    return {
        item.uuid: f"<{kind.value}:{item.name}>"
        for kind in ItemKind
        if kind is not ItemKind.SECRET
        for item in bundle.items(kind)
    }


def _comparable(item: Any, names: dict[str, str]) -> Any:
    data = _convert.unstructure(item)
    data.pop("uuid", None)
    return rewrite(data, names, {})


def _paths(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """JSON paths where ``old`` and ``new`` differ (a list of another length: the list)."""
    yield from itertools.islice(_walk_differences(old, new, prefix), _MAX_PATHS)


def _walk_differences(old: Any, new: Any, prefix: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                yield path
            else:
                yield from _walk_differences(old[key], new[key], path)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _walk_differences(a, b, f"{prefix}[{index}]")
    elif old != new or type(old) is not type(new):
        yield prefix or "$"
