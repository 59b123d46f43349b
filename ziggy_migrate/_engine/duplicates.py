"""After its creates, an import checks that nothing else made the same items meanwhile.

Two imports into one server from two machines do not share a lock (``lock.py`` works on
one machine only). Both plan against a target without the other's new items, and both
create them. Neither can prevent it, but each can see it afterwards: an item of the same
kind and name (a schedule's: of the same flow) as one this import created, which was not
on the target when it planned
and which it did not make itself, appeared while it ran. Such an item is reported as a
failure naming both UUIDs (a person decides which to keep), never as a success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs

from .._client.client import ZiggyClient
from .._vocabulary.enums import Action
from .._vocabulary.models import ItemKind
from .plan import ImportPlan, TargetItem
from .report import ProcessedItem

__all__ = ["flag_duplicates"]

_CREATES = (Action.CREATE, Action.RENAME)


def flag_duplicates(
    client: ZiggyClient,
    plan: ImportPlan,
    before: Mapping[ItemKind, Sequence[TargetItem]],
    outcomes: Sequence[ProcessedItem],
) -> list[ProcessedItem]:
    """``outcomes`` with every created item that now has a twin on the target failed.

    ``before`` is the target as read for the plan. One list request per kind that had
    creates; nothing is asked when nothing was created.
    """
    created = [
        index
        for index, (item, outcome) in enumerate(zip(plan.items, outcomes, strict=True))
        if item.action in _CREATES and outcome.uuid and outcome.error is None
    ]
    if not created:
        return list(outcomes)
    kinds = sorted({outcomes[i].kind for i in created}, key=list(ItemKind).index)
    with ThreadPoolExecutor(max_workers=max(1, min(len(kinds), client.max_workers))) as pool:
        listed = dict(zip(kinds, pool.map(_lister(client), kinds), strict=True))
    known = {kind: {item.uuid for item in before.get(kind, ())} for kind in ItemKind}
    ours = {(outcome.kind, outcome.uuid) for outcome in outcomes if outcome.uuid}
    scopes = {kind: {uuid: scope for uuid, _, scope in listing} for kind, listing in listed.items()}
    result = list(outcomes)
    for index in created:
        outcome = outcomes[index]
        scope = scopes[outcome.kind].get(outcome.uuid or "", "")
        twins = sorted(
            uuid
            for uuid, name, where in listed[outcome.kind]
            if name == outcome.name
            and where == scope
            and uuid not in known[outcome.kind]
            and (outcome.kind, uuid) not in ours
        )
        if twins:
            result[index] = attrs.evolve(
                outcome,
                is_processed=False,
                error=(
                    f"created twice: this import made {outcome.kind.value} {outcome.name!r} "
                    f"as {outcome.uuid}, and {', '.join(twins)} of the same name appeared on "
                    "the target while it ran (another import into this server at the same "
                    "time?); keep one of them, remove the others"
                ),
            )
    return result


def _lister(client: ZiggyClient) -> Callable[[ItemKind], list[tuple[str, str, str]]]:
    """(UUID, name, where the name is unique) of every item of a kind on the target: the
    whole server ("") for every kind but schedules, whose names are unique per flow."""

    def names(kind: ItemKind) -> list[tuple[str, str, str]]:
        if kind is ItemKind.FLOW:
            return [(f.uuid, f.name, "") for f in client.list_flows()]
        if kind is ItemKind.SECRET:
            return [(s.secret.uuid, s.secret.name, "") for s in client.list_secrets()]
        if kind is ItemKind.CONNECTION:
            return [(c.uuid, c.name, "") for c in client.list_connections()]
        if kind is ItemKind.STRUCTURE:
            return [(s.uuid, s.name, "") for s in client.list_structures()]
        if kind is ItemKind.SCHEDULE:
            return [(s.uuid, s.name, s.flow_uuid) for s in client.list_schedules()]
        return [(v.uuid, v.name, "") for v in client.list_variables()]

    return names
