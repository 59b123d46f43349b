"""Taking part of a bundle: some flows, with exactly the dependencies they need and the
schedules that trigger them.

The same selection rules as an export (UUIDs and/or tags, the union; neither means all),
applied to a bundle instead of a server, so that one bundle kept in git can feed several
partial imports.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .._bundle.references import find_references, find_secret_names
from .._vocabulary.enums import names_or_none
from .._vocabulary.errors import SelectionError
from .._vocabulary.models import Bundle, ItemKind, Selection

__all__ = ["select_flows"]


def select_flows(
    bundle: Bundle,
    *,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> Bundle:
    """The part of ``bundle`` holding the selected flows, their subflows, what they use
    and their schedules.

    Raises :class:`SelectionError` for a UUID the bundle does not hold, or when nothing
    at all is selected.
    """
    flow_ids = names_or_none(flow_ids, "flow_ids")
    tags = names_or_none(tags, "tags")
    if not flow_ids and not tags:
        return bundle
    by_uuid = {flow.uuid: flow for flow in bundle.flows}
    missing = [uuid for uuid in flow_ids or () if uuid not in by_uuid]
    if missing:
        raise SelectionError(
            f"the bundle holds no flow with UUID {', '.join(missing)}",
            missing_flow_ids=tuple(missing),
        )
    wanted_tags = set(tags or ())
    chosen = set(flow_ids or ()) | {
        flow.uuid for flow in bundle.flows if wanted_tags.intersection(flow.tags)
    }
    if not chosen:
        raise SelectionError(f"no flow in the bundle has any of the tags {sorted(wanted_tags)}")

    # subflows, transitively (cycles end because each flow is visited once)
    pending = list(chosen)
    while pending:
        refs = find_references(by_uuid[pending.pop()].nodes)
        for uuid in refs.flow_uuids:
            if uuid in by_uuid and uuid not in chosen:
                chosen.add(uuid)
                pending.append(uuid)

    flows = tuple(flow for flow in bundle.flows if flow.uuid in chosen)
    used: dict[ItemKind, set[str]] = {kind: set() for kind in ItemKind}
    for flow in flows:
        refs = find_references(flow.nodes)
        for kind in (ItemKind.CONNECTION, ItemKind.STRUCTURE, ItemKind.VARIABLE):
            used[kind] |= refs.uuids(kind)
        used[ItemKind.SECRET] |= refs.secret_names
    connections = tuple(c for c in bundle.connections if c.uuid in used[ItemKind.CONNECTION])
    for connection in connections:
        used[ItemKind.SECRET] |= find_secret_names(connection.dev_value)
        used[ItemKind.SECRET] |= find_secret_names(connection.prod_value)
    schedules = tuple(s for s in bundle.schedules if s.flow_uuid in chosen)
    kept = {flow.uuid for flow in flows} | {c.uuid for c in connections}
    kept |= {schedule.uuid for schedule in schedules}
    return attrs.evolve(
        bundle,
        flows=flows,
        connections=connections,
        secrets=tuple(s for s in bundle.secrets if s.name in used[ItemKind.SECRET]),
        structures=tuple(s for s in bundle.structures if s.uuid in used[ItemKind.STRUCTURE]),
        variables=tuple(v for v in bundle.variables if v.uuid in used[ItemKind.VARIABLE]),
        schedules=schedules,
        unresolved_references=tuple(
            ref for ref in bundle.unresolved_references if ref.item_uuid in kept
        ),
        provenance=attrs.evolve(
            bundle.provenance,
            selection=Selection(flow_ids=tuple(flow_ids or ()), tags=tuple(tags or ())),
        ),
    )
