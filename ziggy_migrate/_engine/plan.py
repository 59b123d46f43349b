"""``plan_import``: decide, per bundle item, what an import will do — without writing.

The rules (Ziggy's documented import behaviour, plus the binding file), the same for
every kind:

1. an item on the target with the same UUID is the match (``uuid``);
2. otherwise the target item the binding file binds it to, if that item still exists
   (``binding``: see ``bindings.py``); a binding whose item is gone is reported and the
   next rule applies; two source items bound to one target item are not guessed at;
3. otherwise exactly one item of the same name is the match (``name``); several are
   ambiguous and the item is not guessed at. A schedule's name counts within its flow:
   it matches a schedule of that name on the flow its own flow matched;
4. otherwise the item is new (``unmatched``) and is created (``CREATE``).

A matched item is left alone (``skip`` -> ``LEAVE``), created beside the match under a free,
predictable name (``duplicate`` -> ``RENAME``) or written over the match (``overwrite`` ->
``OVERWRITE``). A plan is plain data: showing it is a dry run, applying it is an import.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Container, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from .._bundle.bundle import dump_bundle
from .._client.client import ZiggyClient
from .._vocabulary import convert as _convert
from .._vocabulary.enums import (
    Action,
    ImportMode,
    ImportModeName,
    MatchMethod,
    choice,
    names_or_none,
)
from .._vocabulary.models import Bundle, ItemKind, Schedule
from .._vocabulary.tables import (
    Attention,
    Row,
    Table,
    a_few,
    data_frame,
    list_cell,
    uuid_cell,
)
from .bindings import Bindings, default_bindings_path, read_bindings
from .journal import ImportJournal, journal_dir
from .subset import select_flows

__all__ = ["ImportPlan", "PlannedItem", "TargetItem", "plan_import"]


_MODE_ACTION = {
    ImportMode.SKIP: Action.LEAVE,
    ImportMode.DUPLICATE: Action.RENAME,
    ImportMode.OVERWRITE: Action.OVERWRITE,
}


@attrs.frozen
class TargetItem:
    """An item as it is on the target when the plan is made.

    ``item`` is the model as listed (a :class:`FlowSummary` for flows: their graphs are
    only fetched when a rollback copy is needed).
    """

    uuid: str
    name: str
    fingerprint: str
    item: Any = attrs.field(eq=False, repr=False)
    has_value: bool | None = None


@attrs.frozen
class PlannedItem:
    """The decision for one bundle item.

    ``target_uuid`` is the matched item's UUID (None when the item will be created);
    ``target_name`` is the name the item will have on the target (a new one for RENAME);
    ``fingerprint`` identifies the matched item's state when planned, so that a stale plan
    can be detected; ``candidates`` lists the UUIDs of an ambiguous name match (for an
    ambiguous binding, ``match`` is ``binding`` and they are the source items bound to the
    same target item); ``resume_uuid`` is the item an interrupted import already created
    for this one (see ``journal.py``): it is completed rather than created again;
    ``stale_binding`` is the target UUID the binding file named for this item when that
    item is no longer on the target.
    """

    kind: ItemKind
    source_uuid: str
    name: str
    match: MatchMethod
    action: Action
    target_uuid: str | None = None
    target_name: str = ""
    fingerprint: str | None = None
    candidates: tuple[str, ...] = ()
    resume_uuid: str | None = None
    stale_binding: str | None = None

    @property
    def error(self) -> str | None:
        """Why the item cannot be imported, for an ambiguous match."""
        if self.action is not Action.AMBIGUOUS:
            return None
        if self.match is MatchMethod.BINDING:
            return (
                f"the binding file binds {len(self.candidates)} source {self.kind.value}s "
                f"({', '.join(self.candidates)}) to the same target {self.kind.value}; "
                "correct the binding file so that each is bound to its own, then import again"
            )
        return (
            f"{len(self.candidates)} {self.kind.value}s named {self.name!r} on the target "
            f"({', '.join(self.candidates)}); rename or remove all but one, then import again"
        )


@attrs.frozen
class ImportPlan:
    """What an import of ``bundle`` into one server will do, item by item."""

    mode: ImportMode
    target_url: str
    items: tuple[PlannedItem, ...]
    warnings: tuple[str, ...] = ()
    bundle_digest: str = ""
    flow_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON data (what a plan file holds), camelCase like the bundle."""
        data: dict[str, Any] = _convert.unstructure(self)
        for item, planned in zip(data["items"], self.items, strict=True):
            if planned.error is not None:
                item["error"] = planned.error
        return data

    def summary_dict(self, plan_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """What ``ziggy flow plan`` answers in ``data``: where the plan was saved, how many
        items get each action, the items and the warnings."""
        return {
            "planPath": None if plan_path is None else str(plan_path),
            "summary": self.summary(),
            "items": self.to_dict()["items"],
            "warnings": list(self.warnings),
        }

    def of_kind(self, kind: ItemKind) -> tuple[PlannedItem, ...]:
        return tuple(item for item in self.items if item.kind is kind)

    @property
    def writes(self) -> bool:
        """Whether applying the plan changes anything on the target."""
        return any(item.action.writes for item in self.items)

    def summary(self) -> dict[str, int]:
        """How many items get each action (``CREATE``: 3, ...)."""
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.action.value] = counts.get(item.action.value, 0) + 1
        return counts

    def _table(self) -> Table:
        counts = ", ".join(f"{count} {action}" for action, count in sorted(self.summary().items()))
        return Table(
            caption=f"Import plan into {self.target_url} (mode {self.mode.value}): "
            f"{counts or 'nothing'}",
            columns=("kind", "name", "match", "action", "target uuid", "note"),
            rows=tuple(_row(item) for item in self.items),
            notes=self.warnings,
            summary=("kind", "action"),
        )

    def to_dataframe(self) -> Any:
        """The plan as a ``pandas.DataFrame``, one row per item (needs the ``pandas`` extra).

        Columns: kind, name, match, action, source_uuid, target_uuid, target_name, error,
        candidates; enum values as their strings. Without pandas this raises
        :class:`MissingDependencyError`.
        """
        return data_frame(
            (
                "kind",
                "name",
                "match",
                "action",
                "source_uuid",
                "target_uuid",
                "target_name",
                "error",
                "candidates",
            ),
            (
                (
                    item.kind.value,
                    item.name,
                    item.match.value,
                    item.action.value,
                    item.source_uuid,
                    item.target_uuid,
                    item.target_name,
                    item.error,
                    item.candidates,
                )
                for item in self.items
            ),
        )

    def __str__(self) -> str:
        return self._table().to_text()

    def __repr__(self) -> str:
        counts = ", ".join(f"{count} {action}" for action, count in sorted(self.summary().items()))
        return (
            f"<ImportPlan into {self.target_url} mode={self.mode.value}: "
            f"{len(self.items)} items ({counts or 'nothing'})>"
        )

    def _repr_html_(self) -> str:
        return self._table().to_html()


def _row(item: PlannedItem) -> Row:
    """One plan row: an ambiguous match is an error, a secret created without a value a
    warning; candidates and target UUIDs show short, whole on hover."""
    notes = []
    if item.target_name and item.target_name != item.name:
        notes.append(f"as {item.target_name!r}")
    attention: Attention | None = None
    target = uuid_cell(item.target_uuid)
    if item.action is Action.AMBIGUOUS:
        attention = "error"
        if item.match is MatchMethod.BINDING:  # the candidates are source items
            notes.append(
                f"the binding file binds {len(item.candidates)} source {item.kind.value}s "
                f"({', '.join(item.candidates)}) to one target {item.kind.value}: correct it"
            )
        else:
            target = list_cell(uuid_cell(uuid) for uuid in item.candidates)
            notes.append(
                f"{len(item.candidates)} {item.kind.value}s of this name on the target: "
                "rename or remove all but one, then import again"
            )
    elif item.kind is ItemKind.SECRET and item.action in (Action.CREATE, Action.RENAME):
        attention = "warning"
        notes.append("created without a value: set one on the target")
    if item.stale_binding is not None:
        attention = attention or "warning"
        notes.append(f"bound item {item.stale_binding} gone")
    if item.resume_uuid is not None:
        notes.append("completes the copy an interrupted import created")
    return Row(
        (item.kind.value, item.name, item.match.value, item.action.value, target, "; ".join(notes)),
        attention=attention,
    )


def plan_import(
    client: ZiggyClient,
    bundle: Bundle,
    *,
    mode: ImportMode | ImportModeName,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    bindings: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> ImportPlan:
    """Read the target and decide what importing ``bundle`` would do. Writes nothing.

    ``flow_ids``/``tags`` plan only those flows of the bundle, with what they need.
    ``bindings`` is the binding file the import would use (see :func:`import_bundle`;
    default: the target server's in the state folder). Like an import, the plan
    completes what an interrupted import into this server was creating, by the journal
    in the state folder ``state_dir`` (default: ``$ZIGGY_STATE_DIR``, else the platform's
    user state folder), so that the import of a saved plan decides the same.
    """
    flow_ids = names_or_none(flow_ids, "flow_ids")
    tags = names_or_none(tags, "tags")
    bundle = select_flows(bundle, flow_ids=flow_ids, tags=tags)
    known = read_bindings(bindings_path(client, bindings, state_dir))
    journal = ImportJournal(client.base_url, journal_dir(state_dir))
    target = read_target(client)
    plan = make_plan(
        bundle,
        target,
        mode=choice(ImportMode, mode, "mode"),
        target_url=client.base_url,
        interrupted=journal.read().on(target).creating,
        bindings=known,
    )
    return attrs.evolve(plan, flow_ids=tuple(flow_ids or ()), tags=tuple(tags or ()))


def bindings_path(
    client: ZiggyClient,
    path: str | os.PathLike[str] | None,
    state_dir: str | os.PathLike[str] | None,
) -> Path:
    """The binding file given, else the target server's in the state folder."""
    return Path(path) if path is not None else default_bindings_path(client.base_url, state_dir)


def read_target(client: ZiggyClient) -> dict[ItemKind, list[TargetItem]]:
    """The target's items of every kind: one list request per kind, all at once."""
    with ThreadPoolExecutor(max_workers=min(6, client.max_workers)) as pool:
        flows = pool.submit(client.list_flows)
        connections = pool.submit(client.list_connections)
        secrets = pool.submit(client.list_secrets)
        structures = pool.submit(client.list_structures)
        variables = pool.submit(client.list_variables)
        schedules = pool.submit(client.list_schedules)
        return {
            ItemKind.FLOW: [_target_item(s, s.uuid, s.name) for s in flows.result()],
            ItemKind.CONNECTION: [_target_item(c, c.uuid, c.name) for c in connections.result()],
            ItemKind.SECRET: [
                _target_item(s.secret, s.secret.uuid, s.secret.name, s.has_value)
                for s in secrets.result()
            ],
            ItemKind.STRUCTURE: [_target_item(s, s.uuid, s.name) for s in structures.result()],
            ItemKind.VARIABLE: [_target_item(v, v.uuid, v.name) for v in variables.result()],
            ItemKind.SCHEDULE: [_target_item(s, s.uuid, s.name) for s in schedules.result()],
        }


def bundle_digest(bundle: Bundle) -> str:
    """A hash of a bundle's canonical text: ties a saved plan to the bundle it was made for."""
    return hashlib.sha256(dump_bundle(bundle).encode("utf-8")).hexdigest()


def fingerprint(item: Any) -> str:
    """A short, stable hash of a model's content."""
    text = json.dumps(_convert.unstructure(item), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _target_item(item: Any, uuid: str, name: str, has_value: bool | None = None) -> TargetItem:
    return TargetItem(
        uuid=uuid, name=name, fingerprint=fingerprint(item), item=item, has_value=has_value
    )


def make_plan(
    bundle: Bundle,
    target: dict[ItemKind, list[TargetItem]],
    *,
    mode: ImportMode,
    target_url: str,
    same_server_expected: bool = False,
    with_digest: bool = True,
    interrupted: Mapping[ItemKind, frozenset[str]] | None = None,
    bindings: Bindings | None = None,
) -> ImportPlan:
    """The pure part of planning: bundle + target state (+ bindings) -> plan.

    ``with_digest=False`` skips hashing the bundle (a full serialisation), which only a
    plan that is saved or checked against a saved one needs. Kinds are planned in write
    order, so the schedules' flows are decided before the schedules.
    """
    bindings = bindings or Bindings()
    items: list[PlannedItem] = []
    for kind in ItemKind:
        ours = (interrupted or {}).get(kind, frozenset())
        scope = _NameScope.for_kind(kind, items)
        items.extend(
            _plan_kind(
                kind,
                bundle.items(kind),
                target[kind],
                mode,
                ours=ours,
                bindings=bindings,
                scope=scope,
            )
        )
    warnings = _subflow_warnings(bundle, items, target[ItemKind.FLOW])
    warnings.extend(_stale_binding_warnings(items))
    resumed = [item for item in items if item.resume_uuid is not None]
    if resumed:
        warnings.append(
            f"an earlier import into {target_url} was interrupted; {len(resumed)} item(s) it "
            "created are completed now instead of being matched"
        )
    if not same_server_expected and _same_server(bundle.provenance.source.url, target_url):
        warnings.append(
            f"this bundle was exported from {target_url}, the server it is being imported "
            "into; check that this is the server you meant"
        )
    return ImportPlan(
        mode=mode,
        target_url=target_url,
        items=tuple(items),
        warnings=tuple(warnings),
        bundle_digest=bundle_digest(bundle) if with_digest else "",
    )


def _subflow_warnings(
    bundle: Bundle, items: list[PlannedItem], target_flows: list[TargetItem]
) -> list[str]:
    """Name the flows whose subflow flag the API cannot carry over.

    ``isSubflow`` is not part of the server's UpdateFlowDto, so an import cannot set it:
    a subflow created by an import arrives as an ordinary flow until fixed in the editor.
    """
    is_subflow = {flow.uuid: flow.is_subflow for flow in bundle.flows}
    on_target = {item.uuid: bool(getattr(item.item, "is_subflow", False)) for item in target_flows}
    names = [
        item.name
        for item in items
        if item.kind is ItemKind.FLOW
        and item.action.writes
        and is_subflow.get(item.source_uuid, False)
        != (
            on_target.get(item.target_uuid or "", False)
            if item.action is Action.OVERWRITE
            else False
        )
    ]
    if not names:
        return []
    return [
        "the Ziggy API cannot set a flow's subflow flag, so these flows will not be marked "
        f"as subflows on the target (set it in the editor): {', '.join(sorted(names))}"
    ]


def _stale_binding_warnings(items: Iterable[PlannedItem]) -> list[str]:
    stale = [item for item in items if item.stale_binding is not None]
    if not stale:
        return []
    shown = a_few([f"{item.kind.value} {item.name!r}" for item in stale], 10)
    return [
        f"the binding file binds {shown} to items that are no longer on the target; "
        "they are matched by name, else created (the binding file is updated by the import)"
    ]


@attrs.frozen
class _NameScope:
    """Where a name must be unique, and so where the name rule looks.

    Every kind's names are unique on the whole server but for schedules, whose names
    are unique per flow: a schedule matches by name only among the schedules of the
    target flow its own flow is imported as (``flows``: source flow UUID -> that flow's
    UUID on the target, None for a flow the import will create).
    """

    flows: Mapping[str, str | None] | None = None

    @classmethod
    def for_kind(cls, kind: ItemKind, planned: Sequence[PlannedItem]) -> _NameScope:
        if kind is not ItemKind.SCHEDULE:
            return cls()
        flows: dict[str, str | None] = {}
        for item in planned:
            if item.kind is ItemKind.FLOW:
                flows[item.source_uuid] = (
                    item.target_uuid
                    if item.action in (Action.LEAVE, Action.OVERWRITE)
                    else item.resume_uuid
                )
        return cls(flows)

    def of_source(self, item: Any) -> Hashable:
        if self.flows is None or not isinstance(item, Schedule):
            return ""
        if item.flow_uuid not in self.flows:  # a flow staying on the target (rollback)
            return item.flow_uuid
        target = self.flows[item.flow_uuid]
        return target if target is not None else ("new flow", item.flow_uuid)

    def of_target(self, item: TargetItem) -> Hashable:
        if self.flows is None or not isinstance(item.item, Schedule):
            return ""
        return item.item.flow_uuid


def _plan_kind(
    kind: ItemKind,
    bundle_items: Sequence[Any],
    target_items: list[TargetItem],
    mode: ImportMode,
    *,
    ours: frozenset[str],
    bindings: Bindings,
    scope: _NameScope,
) -> list[PlannedItem]:
    by_uuid = {item.uuid: item for item in target_items}
    claimed = {item.uuid for item in bundle_items if item.uuid in by_uuid}
    bound, stale, contested = _bound_targets(kind, bundle_items, by_uuid, claimed, bindings)
    # a target item the binding file gives to a bundle item is not matched by name, even
    # when that binding is refused as contested
    entries = bindings.of_kind(kind)
    taken_by_match = claimed | {
        entries[item.uuid]
        for item in bundle_items
        if item.uuid not in claimed and entries.get(item.uuid) in by_uuid
    }
    by_name: dict[tuple[Hashable, str], list[TargetItem]] = {}
    for item in target_items:
        if item.uuid not in taken_by_match:
            by_name.setdefault((scope.of_target(item), item.name), []).append(item)
    # Items an interrupted import created (by the journal): exactly one of that name.
    unfinished = {
        key: items[0] for key, items in by_name.items() if key[1] in ours and len(items) == 1
    }
    taken_names: dict[Hashable, set[str]] = {}
    for item in target_items:
        key = (scope.of_target(item), item.name)
        if key not in unfinished:
            taken_names.setdefault(key[0], set()).add(item.name)
    for item in bundle_items:
        taken_names.setdefault(scope.of_source(item), set()).add(item.name)
    planned: list[PlannedItem] = []
    for item in bundle_items:
        space = scope.of_source(item)
        stale_binding = stale.get(item.uuid)
        if item.uuid in contested:
            planned.append(
                PlannedItem(
                    kind=kind,
                    source_uuid=item.uuid,
                    name=item.name,
                    match=MatchMethod.BINDING,
                    action=Action.AMBIGUOUS,
                    target_name=item.name,
                    candidates=contested[item.uuid],
                )
            )
            continue
        match, found, candidates = _match(item.uuid, (space, item.name), by_uuid, bound, by_name)
        if (
            found is not None
            and match is MatchMethod.NAME
            and unfinished.get((space, found.name)) is found
        ):
            planned.append(
                PlannedItem(
                    kind,
                    item.uuid,
                    item.name,
                    MatchMethod.UNMATCHED,
                    Action.CREATE,
                    target_name=item.name,
                    resume_uuid=found.uuid,
                    stale_binding=stale_binding,
                )
            )
            continue
        if candidates:
            planned.append(
                PlannedItem(
                    kind=kind,
                    source_uuid=item.uuid,
                    name=item.name,
                    match=MatchMethod.NAME,
                    action=Action.AMBIGUOUS,
                    target_name=item.name,
                    candidates=candidates,
                    stale_binding=stale_binding,
                )
            )
            continue
        if found is None:
            planned.append(
                PlannedItem(
                    kind,
                    item.uuid,
                    item.name,
                    MatchMethod.UNMATCHED,
                    Action.CREATE,
                    target_name=item.name,
                    stale_binding=stale_binding,
                )
            )
            continue
        action = _MODE_ACTION[mode]
        if action is Action.RENAME:
            names = taken_names.setdefault(space, set())
            new_name = free_name(item.name, names, identifier=kind is ItemKind.SECRET)
            names.add(new_name)
            resumed = unfinished.get((space, new_name))
            planned.append(
                PlannedItem(
                    kind,
                    item.uuid,
                    item.name,
                    match,
                    action,
                    target_name=new_name,
                    fingerprint=found.fingerprint,
                    target_uuid=found.uuid,
                    resume_uuid=resumed.uuid if resumed is not None else None,
                    stale_binding=stale_binding,
                )
            )
            continue
        planned.append(
            PlannedItem(
                kind,
                item.uuid,
                item.name,
                match,
                action,
                target_uuid=found.uuid,
                target_name=item.name if action is Action.OVERWRITE else found.name,
                fingerprint=found.fingerprint,
                stale_binding=stale_binding,
            )
        )
    return planned


def _bound_targets(
    kind: ItemKind,
    bundle_items: Sequence[Any],
    by_uuid: Mapping[str, TargetItem],
    claimed: set[str],
    bindings: Bindings,
) -> tuple[dict[str, TargetItem], dict[str, str], dict[str, tuple[str, ...]]]:
    """What the binding file says for the items the UUID rule leaves: the target item
    each is bound to (source UUID -> item), the bindings whose item is gone (source UUID
    -> target UUID), and the items refused because their target item is contested:
    bound to several source items, or matched by UUID to another one (source UUID -> the
    source items involved)."""
    entries = bindings.of_kind(kind)
    shared = bindings.shared_targets(kind)
    bound: dict[str, TargetItem] = {}
    stale: dict[str, str] = {}
    contested: dict[str, tuple[str, ...]] = {}
    for item in bundle_items:
        target_uuid = entries.get(item.uuid)
        if item.uuid in claimed or target_uuid is None:
            continue
        found = by_uuid.get(target_uuid)
        if found is None:
            stale[item.uuid] = target_uuid
        elif target_uuid in shared:
            contested[item.uuid] = shared[target_uuid]
        elif target_uuid in claimed:  # another bundle item has that very UUID
            contested[item.uuid] = tuple(sorted((item.uuid, target_uuid)))
        else:
            bound[item.uuid] = found
    return bound, stale, contested


def _match(
    uuid: str,
    name: tuple[Hashable, str],
    by_uuid: Mapping[str, TargetItem],
    bound: Mapping[str, TargetItem],
    by_name: Mapping[tuple[Hashable, str], list[TargetItem]],
) -> tuple[MatchMethod, TargetItem | None, tuple[str, ...]]:
    if uuid in by_uuid:
        return MatchMethod.UUID, by_uuid[uuid], ()
    if uuid in bound:
        return MatchMethod.BINDING, bound[uuid], ()
    same_name = by_name.get(name, [])
    if len(same_name) == 1:
        return MatchMethod.NAME, same_name[0], ()
    if len(same_name) > 1:
        return MatchMethod.NAME, None, tuple(sorted(item.uuid for item in same_name))
    return MatchMethod.UNMATCHED, None, ()


def free_name(name: str, taken: Container[str], *, identifier: bool = False) -> str:
    """The first free name of the series ``NAME (imported)``, ``NAME (imported 2)``...

    Secrets need JavaScript identifiers, so their series is ``NAME_imported``,
    ``NAME_imported2``... ``taken`` is only asked whether a candidate is in it (a set:
    one look-up per candidate), never copied or walked, so planning stays linear in the
    number of items.
    """
    number = 1
    while True:
        if identifier:
            candidate = f"{name}_imported" + (str(number) if number > 1 else "")
        else:
            candidate = f"{name} (imported" + (f" {number}" if number > 1 else "") + ")"
        if candidate not in taken:
            return candidate
        number += 1


def _same_server(source_url: str, target_url: str) -> bool:
    return source_url.rstrip("/").lower() == target_url.rstrip("/").lower()
