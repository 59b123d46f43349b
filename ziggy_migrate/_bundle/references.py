"""Finding and rewriting the references between items.

How Ziggy items refer to each other (from the API contract):

- a block refers to a connection by UUID in a field of its ``data`` whose name ends in
  ``connectionUuid`` (``connectionUuid``, ``modelConnectionUuid``...);
- a block calls a subflow by UUID (``flowUuid``, ``subflowUuid``, ``subFlowUuid``);
- structures and variables are referred to by UUID (``structureUuid``, ``variableUuid``);
- code and text refer to a secret by name: ``secrets.NAME`` (also inside ``{secrets.NAME}``
  in REST-call text), in flows and in connection values;
- a schedule triggers one flow, by UUID (``flowUuid``).

Export uses :func:`find_references` to compute what a flow needs; load uses it to check
that a bundle is closed; import uses :func:`rewrite` to point the references at the UUIDs
and names the items have on the target server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .._vocabulary.errors import BundleError
from .._vocabulary.models import Bundle, Flow, ItemKind, UnresolvedReference

__all__ = [
    "MAX_GRAPH_DEPTH",
    "SECRET_REFERENCE",
    "DanglingReference",
    "GraphTooDeepError",
    "References",
    "dangling_references",
    "find_references",
    "find_secret_names",
    "rewrite",
    "walk_flow",
]

SECRET_REFERENCE = re.compile(r"(?<![A-Za-z0-9_$.])secrets\.([A-Za-z_$][A-Za-z0-9_$]*)")
_UUID_TOKEN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_KEY_KINDS: tuple[tuple[re.Pattern[str], ItemKind], ...] = (
    (re.compile(r"connectionuuid$", re.IGNORECASE), ItemKind.CONNECTION),
    (re.compile(r"^(?:sub)?flowuuid$", re.IGNORECASE), ItemKind.FLOW),
    (re.compile(r"structureuuid$", re.IGNORECASE), ItemKind.STRUCTURE),
    (re.compile(r"variableuuid$", re.IGNORECASE), ItemKind.VARIABLE),
)


@attrs.frozen
class References:
    """What one flow (or connection) refers to: UUIDs per kind and secret names."""

    connection_uuids: frozenset[str] = frozenset()
    flow_uuids: frozenset[str] = frozenset()
    structure_uuids: frozenset[str] = frozenset()
    variable_uuids: frozenset[str] = frozenset()
    secret_names: frozenset[str] = frozenset()

    def uuids(self, kind: ItemKind) -> frozenset[str]:
        """The UUIDs referred to for ``kind`` (secrets are referred to by name)."""
        return {
            ItemKind.CONNECTION: self.connection_uuids,
            ItemKind.FLOW: self.flow_uuids,
            ItemKind.STRUCTURE: self.structure_uuids,
            ItemKind.VARIABLE: self.variable_uuids,
        }.get(kind, frozenset())


def find_secret_names(text: str) -> set[str]:
    """Names of the secrets referred to in a piece of code or a connection value."""
    if "secrets." not in text:
        return set()
    return set(SECRET_REFERENCE.findall(text))


class GraphTooDeepError(BundleError):
    """A flow graph nests deeper than :data:`MAX_GRAPH_DEPTH` levels."""


MAX_GRAPH_DEPTH = 150
"""Deepest nesting walked in a flow graph: far beyond any editor's, and well within what
Python's JSON encoder can write back."""


def find_references(graph: Any) -> References:
    """Walk a flow's graph (or any JSON) and collect every reference in it.

    This runs over every flow of every bundle loaded, so it is one tight recursive walk:
    exact JSON types are tested first (subclasses still count), only keys ending in
    ``uuid`` are matched against the reference patterns, and only strings that contain
    ``secrets.`` are searched for secret names. A string inside a list counts as sitting
    under the list's key. Raises :class:`GraphTooDeepError` past :data:`MAX_GRAPH_DEPTH`
    levels.
    """
    found: dict[ItemKind, set[str]] = {kind: set() for kind in ItemKind}
    if isinstance(graph, (dict, list)):
        _walk(None, graph, 0, found)
    return References(
        connection_uuids=frozenset(found[ItemKind.CONNECTION]),
        flow_uuids=frozenset(found[ItemKind.FLOW]),
        structure_uuids=frozenset(found[ItemKind.STRUCTURE]),
        variable_uuids=frozenset(found[ItemKind.VARIABLE]),
        secret_names=frozenset(found[ItemKind.SECRET]),
    )


def _walk(key: Any, current: Any, depth: int, found: dict[ItemKind, set[str]]) -> None:
    """One container of :func:`find_references`' walk.

    Module-level, with the state passed in: a closure calling itself would be a reference
    cycle per call, left for the garbage collector that bulk operations pause. Strings are
    the bulk of a graph, so the common case (no secret, a key that refers to nothing) is
    handled inline, and dicts and lists get loops of their own.
    """
    if depth > MAX_GRAPH_DEPTH:
        raise GraphTooDeepError(f"the flow graph nests more than {MAX_GRAPH_DEPTH} levels")
    if isinstance(current, dict):
        for entry_key, value in current.items():
            kind = type(value)
            if kind is str:
                if "secrets." in value:
                    _text(entry_key, value, found)
                elif value:
                    referred = _KEY_REFERS.get(entry_key)
                    if referred is None:
                        referred = _remember_key(entry_key)
                    for referred_kind in referred:
                        found[referred_kind].add(value)
            elif kind is dict or kind is list:
                _walk(entry_key, value, depth + 1, found)
            elif isinstance(value, str):
                _text(entry_key, value, found)
            elif isinstance(value, (dict, list)):
                _walk(entry_key, value, depth + 1, found)
    else:
        key_refers = _refers(key)
        for value in current:
            kind = type(value)
            if kind is str:
                if key_refers or "secrets." in value:
                    _text(key, value, found)
            elif kind is dict or kind is list:
                _walk(key, value, depth + 1, found)
            elif isinstance(value, str):
                _text(key, value, found)
            elif isinstance(value, (dict, list)):
                _walk(key, value, depth + 1, found)


_KEY_REFERS: dict[Any, tuple[ItemKind, ...]] = {}
"""The kinds a key's text refers to (none for most keys), by key: graphs repeat a few
keys thousands of times, and a lookup is cheaper than slicing, lowering and matching
each time."""
_KEY_REFERS_LIMIT = 4096


def _refers(key: Any) -> tuple[ItemKind, ...]:
    """The kinds of item text under ``key`` refers to: a key ending in "uuid" (any
    case) that matches a reference pattern."""
    referred = _KEY_REFERS.get(key)
    return _remember_key(key) if referred is None else referred


def _remember_key(key: Any) -> tuple[ItemKind, ...]:
    referred: tuple[ItemKind, ...] = ()
    if isinstance(key, str) and key[-4:].lower() == "uuid":
        referred = tuple(kind for pattern, kind in _KEY_KINDS if pattern.search(key))
    if len(_KEY_REFERS) < _KEY_REFERS_LIMIT:
        _KEY_REFERS[key] = referred
    return referred


def _text(key: Any, value: str, found: dict[ItemKind, set[str]]) -> None:
    """The references in one string of a graph, sitting under ``key``."""
    if "secrets." in value:
        found[ItemKind.SECRET].update(SECRET_REFERENCE.findall(value))
    if value:
        for referred in _refers(key):
            found[referred].add(value)


def walk_flow(flow: Flow) -> References:
    """What a flow's blocks refer to, with its whole graph walked for the depth bound.

    References live in the nodes; the edges and viewport hold none but are walked too, so
    that a graph too deep to write back is refused wherever a flow is first looked at.
    """
    found = find_references(flow.nodes)
    find_references([flow.edges, flow.viewport])
    return found


def rewrite(
    value: Any,
    uuids: Mapping[str, str],
    secret_names: Mapping[str, str],
) -> Any:
    """``value`` with UUIDs and secret names replaced by their target's.

    A string equal to a mapped UUID is replaced whole; UUID-shaped tokens inside longer
    strings (a URL, a script) are replaced too. ``secrets.OLD`` becomes ``secrets.NEW``
    where a secret was imported under another name. Unmapped text is left as it is, and
    keys are never changed. ``value`` itself is never changed: a container holding
    something to replace is copied, and what holds nothing to replace is shared with
    ``value`` (so the result is for reading, as every caller uses it).

    This runs over every flow an import writes, so, like :func:`find_references`, it is a
    tight walk: exact JSON types first (subclasses still count), and a string is only
    searched for tokens when it could hold one (36 characters or more with a ``-``, or
    ``secrets.`` with secrets renamed), and only substituted when a token it holds is
    mapped. With nothing mapped at all, ``value`` is answered as it is, unwalked.
    """
    if not uuids and not secret_names:
        return value
    if isinstance(value, dict):
        return _rewrite_container(value, value.items(), uuids, secret_names)
    if isinstance(value, list):
        return _rewrite_container(value, enumerate(value), uuids, secret_names)
    if isinstance(value, str):
        return _rewrite_text(value, uuids, secret_names)
    return value


_UUID_LENGTH = 36
"""The length of a UUID token: shorter text cannot hold one."""


def _rewrite_container(
    value: dict[Any, Any] | list[Any],
    entries: Iterable[tuple[Any, Any]],
    uuids: Mapping[str, str],
    secret_names: Mapping[str, str],
) -> Any:
    """A dict's or a list's rewrite, given its ``(key or index, item)`` entries."""
    copy: Any = None
    for key, item in entries:
        kind = type(item)
        if kind is str:
            if not (
                item in uuids
                or (len(item) >= _UUID_LENGTH and "-" in item)
                or (secret_names and "secrets." in item)
            ):
                continue
            new: Any = _rewrite_text(item, uuids, secret_names)
        elif kind is dict:
            new = _rewrite_container(item, item.items(), uuids, secret_names)
        elif kind is list:
            new = _rewrite_container(item, enumerate(item), uuids, secret_names)
        elif item is None or kind is int or kind is bool or kind is float:
            continue
        else:
            new = rewrite(item, uuids, secret_names)
        if new is not item and new != item:  # a UUID mapped to itself changes nothing
            if copy is None:
                copy = dict(value) if isinstance(value, dict) else list(value)
            copy[key] = new
    return value if copy is None else copy


def _rewrite_text(text: str, uuids: Mapping[str, str], secret_names: Mapping[str, str]) -> str:
    if text in uuids:
        return uuids[text]
    # most UUIDs in a graph are not mapped (block and edge ids): finding them is cheap,
    # substituting them one callback at a time is not
    if (
        uuids
        and len(text) >= _UUID_LENGTH
        and "-" in text
        and any(token in uuids for token in _UUID_TOKEN.findall(text))
    ):
        text = _UUID_TOKEN.sub(lambda match: uuids.get(match.group(0), match.group(0)), text)
    if secret_names and "secrets." in text:
        text = SECRET_REFERENCE.sub(
            lambda match: "secrets." + secret_names.get(match.group(1), match.group(1)), text
        )
    return text


@attrs.frozen
class DanglingReference:
    """A reference that nothing in the bundle answers, and where it sits."""

    reference: UnresolvedReference
    holder: str
    location: str

    def describe(self) -> str:
        ref = self.reference
        shown = repr(ref.reference[:80])[1:-1] + ("..." if len(ref.reference) > 80 else "")
        target = f"secrets.{shown}" if ref.kind is ItemKind.SECRET else f"{ref.kind.value} {shown}"
        return f"{self.holder} refers to {target}, which is not in the bundle"


def dangling_references(
    bundle: Bundle, known_references: Mapping[str, References] | None = None
) -> list[DanglingReference]:
    """Every reference in ``bundle`` to an item it does not hold, in bundle order.

    ``known_references`` (flow UUID -> what :func:`find_references` found in its nodes,
    for flows whose nodes, edges and viewport were all walked) spares walking graphs again,
    as an export has walked them already.
    """
    known_references = known_references or {}
    known = {
        kind: {item.uuid for item in bundle.items(kind)}
        for kind in (ItemKind.CONNECTION, ItemKind.FLOW, ItemKind.STRUCTURE, ItemKind.VARIABLE)
    }
    secret_names = {secret.name for secret in bundle.secrets}
    dangling: list[DanglingReference] = []
    for index, flow in enumerate(bundle.flows):
        holder, location = f"flow {flow.name!r}", f"$.flows[{index}].nodes"
        try:
            known_refs = known_references.get(flow.uuid)
            refs = walk_flow(flow) if known_refs is None else known_refs
        except GraphTooDeepError as exc:
            raise GraphTooDeepError(
                f"{holder}: {exc.reason}", location=f"$.flows[{index}]"
            ) from None
        for kind, uuids in known.items():
            for uuid in sorted(refs.uuids(kind) - uuids):
                entry = UnresolvedReference(item_uuid=flow.uuid, kind=kind, reference=uuid)
                dangling.append(DanglingReference(entry, holder, location))
        for name in sorted(refs.secret_names - secret_names):
            entry = UnresolvedReference(item_uuid=flow.uuid, kind=ItemKind.SECRET, reference=name)
            dangling.append(DanglingReference(entry, holder, location))
    for index, connection in enumerate(bundle.connections):
        used = find_secret_names(connection.dev_value) | find_secret_names(connection.prod_value)
        for name in sorted(used - secret_names):
            entry = UnresolvedReference(
                item_uuid=connection.uuid, kind=ItemKind.SECRET, reference=name
            )
            dangling.append(
                DanglingReference(
                    entry, f"connection {connection.name!r}", f"$.connections[{index}]"
                )
            )
    for index, schedule in enumerate(bundle.schedules):
        if schedule.flow_uuid not in known[ItemKind.FLOW]:
            entry = UnresolvedReference(
                item_uuid=schedule.uuid, kind=ItemKind.FLOW, reference=schedule.flow_uuid
            )
            dangling.append(
                DanglingReference(
                    entry, f"schedule {schedule.name!r}", f"$.schedules[{index}].flowUuid"
                )
            )
    return dangling
