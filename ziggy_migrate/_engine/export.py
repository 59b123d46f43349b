"""``export_flows``: select flows on a server and build a closed, secret-free bundle.

Request economy: one list of flow summaries decides the selection, the selected flows
(and the subflows they call, wave by wave) are fetched concurrently, and each other kind
is listed once — ``flows + 6`` requests for an export, however the selection is made.
The schedules of every exported flow travel with it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from .._bundle.bundle import (
    check_bundle,
    check_flow,
    decode_flow,
    encode_flow,
    save_encoded_bundle,
)
from .._bundle.json_text import EncodedJSON
from .._bundle.references import References, find_secret_names, walk_flow
from .._client.client import ZiggyClient
from .._version import __version__
from .._vocabulary.enums import Layout, LayoutName, choice, names_or_none
from .._vocabulary.errors import BundleError, ExposedCredentialError, SelectionError
from .._vocabulary.models import (
    Bundle,
    Connection,
    FetchedFlow,
    Flow,
    FlowSummary,
    ItemKind,
    ProgressCallback,
    Provenance,
    Schedule,
    Secret,
    Selection,
    SourceServer,
    Structure,
    UnresolvedReference,
    Variable,
)
from .exposure import find_inline_credentials
from .fetching import fetched_in_order

__all__ = ["ExportResult", "export_flows", "preview_selection"]

logger = logging.getLogger("ziggy_migrate.export")

"""``progress(done, total, what)``; called from worker threads."""


@attrs.frozen
class ExportResult:
    """What an export produced: the bundle, its counts, warnings and where it was saved.

    When the export saved the bundle (``path``), it no longer holds the flows' graphs,
    only their texts as written: :attr:`bundle` is then read back from those texts the
    first time it is asked for (and kept), while :attr:`counts`,
    :attr:`unresolved_references`, :meth:`to_dict` and ``repr`` never need it. So an
    export to a file costs about the file's size in memory, not the graphs' several
    times that, unless the bundle is asked for.
    """

    _bundle: Bundle = attrs.field(alias="bundle")
    warnings: tuple[str, ...] = ()
    path: Path | None = None
    requests: int = 0

    @property
    def bundle(self) -> Bundle:
        """The exported bundle (equal to ``load_bundle(path)`` when it was saved)."""
        kept = self._bundle
        return kept.decoded if isinstance(kept, _SavedBundle) else kept

    @property
    def counts(self) -> dict[str, int]:
        return self._bundle.counts

    @property
    def unresolved_references(self) -> tuple[UnresolvedReference, ...]:
        """The references the bundle declares unresolved (items missing on the source)."""
        return self._bundle.unresolved_references

    def __repr__(self) -> str:
        where = f" saved to {self.path}" if self.path is not None else ""
        return f"<ExportResult {self._bundle!r}{where}, {len(self.warnings)} warnings>"

    def to_dict(self) -> dict[str, Any]:
        """The ``data`` part of the CLI's JSON answer.

        A superset of what the official Ziggy CLI prints after an export (``message``,
        ``filePath``, ``flowCount``), so scripts written for it keep working.
        ``flowCount`` is the number of flows in the bundle, subflows included (the
        official CLI counts the UUIDs it was asked for, 0 for "all").
        """
        return {
            "message": "Export successful",
            "filePath": str(self.path) if self.path is not None else None,
            "flowCount": len(self._bundle.flows),
            "counts": self.counts,
            "warnings": list(self.warnings),
        }


@attrs.frozen(repr=False)
class _SavedBundle(Bundle):
    """A saved export's bundle as :class:`ExportResult` keeps it: every item but the
    flows' graphs (its flows hold their UUID, name and settings only), and each flow's
    text as the export encoded and wrote it, from which :attr:`decoded` reads the whole
    bundle back when it is asked for. Two are equal when their texts are too."""

    flow_texts: Mapping[str, EncodedJSON] = attrs.field(factory=dict, kw_only=True)

    @functools.cached_property
    def decoded(self) -> Bundle:
        fields = _fields_of(self)
        fields["flows"] = tuple(decode_flow(self.flow_texts[flow.uuid]) for flow in self.flows)
        return Bundle(**fields)


def export_flows(
    client: ZiggyClient,
    *,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    strict_secrets: bool = False,
    path: str | os.PathLike[str] | None = None,
    layout: Layout | LayoutName = Layout.FILE,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Export the selected flows with every connection, secret, structure, variable and
    subflow they use.

    Selection is the union of ``flow_ids`` and flows carrying any of ``tags``; neither
    selects every flow. An unknown UUID raises :class:`SelectionError`; a tag that matches
    nothing is a warning. Secrets are exported without values. Connections holding inline
    credentials are warned about (by connection and key, never the value), or refused with
    ``strict_secrets=True`` before anything is written. With ``path``, the bundle is
    saved there (``layout="dir"``: a folder with one file per item), and each flow's
    graph is let go of as soon as the flow is encoded: the result's ``bundle`` is read
    back from the saved texts only when it is asked for (see :class:`ExportResult`).
    """
    requests_before = client.requests_sent
    wanted_ids = tuple(dict.fromkeys(names_or_none(flow_ids, "flow_ids") or ()))
    wanted_tags = tuple(dict.fromkeys(names_or_none(tags, "tags") or ()))
    warnings: list[str] = []

    with ThreadPoolExecutor(max_workers=client.max_workers) as pool:
        # The flows are listed first, as everything waits for them; the other kinds are
        # listed meanwhile, and while the flows are fetched.
        listed_flows = pool.submit(client.list_flows)
        listed_connections = pool.submit(client.list_connections)
        listed_secrets = pool.submit(client.list_secrets)
        listed_structures = pool.submit(client.list_structures)
        listed_variables = pool.submit(client.list_variables)
        listed_schedules = pool.submit(client.list_schedules)
        summaries = listed_flows.result()
        selected = _select(summaries, wanted_ids, wanted_tags, warnings)
        known_flow_uuids = {summary.uuid for summary in summaries}
        # Saving: each flow's text is made as it arrives, while other requests are on the
        # wire (see EncodedJSON), not all after the last one, and its graph let go of.
        layout = choice(Layout, layout, "layout")
        fetched, references, encoded = _fetch_closure(
            pool, client, selected, known_flow_uuids, progress, keep_graphs=path is None
        )
        connections = {c.uuid: c for c in listed_connections.result()}
        secrets = {s.secret.name: s.secret for s in listed_secrets.result()}
        structures = {s.uuid: s for s in listed_structures.result()}
        variables = {v.uuid: v for v in listed_variables.result()}
        schedules = [s for s in listed_schedules.result() if s.flow_uuid in fetched]

    closure = _Closure(connections, secrets, structures, variables, known_flow_uuids)
    for item in fetched.values():
        closure.add_flow(item, references[item.flow.uuid])
    warnings.extend(closure.warnings)

    findings = [
        f"connection {connection.name!r} holds an inline credential in {where}"
        for connection in closure.collected[ItemKind.CONNECTION].values()
        for where in find_inline_credentials(connection)
    ]
    if findings and strict_secrets:
        raise ExposedCredentialError(
            f"{len(findings)} inline credential(s) in connections ({findings[0]}"
            + (", ..." if len(findings) > 1 else "")
            + "); move them into secrets and refer to them as secrets.NAME",
            findings=tuple(findings),
        )
    warnings.extend(
        finding + "; move it into a secret and refer to it as secrets.NAME" for finding in findings
    )

    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url=client.base_url, name=client.name),
            tool_version=__version__,
            exported_at=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            selection=Selection(flow_ids=wanted_ids, tags=wanted_tags),
        ),
        flows=_sorted(item.flow for item in fetched.values()),
        connections=_sorted(closure.collected[ItemKind.CONNECTION].values()),
        secrets=_sorted(closure.collected[ItemKind.SECRET].values()),
        structures=_sorted(closure.collected[ItemKind.STRUCTURE].values()),
        variables=_sorted(closure.collected[ItemKind.VARIABLE].values()),
        schedules=_sorted(schedules),
        unresolved_references=tuple(closure.unresolved),
    )
    _refuse_duplicate_names(bundle)
    check_bundle(bundle, references, checked_flows=fetched.keys())
    for warning in warnings:
        logger.warning("%s", warning)
    if path is None:
        return ExportResult(
            bundle=bundle, warnings=tuple(warnings), requests=client.requests_sent - requests_before
        )
    saved = save_encoded_bundle(bundle, path, layout=layout, encoded_flows=encoded)
    return ExportResult(
        bundle=_SavedBundle(**_fields_of(bundle), flow_texts=encoded),
        warnings=tuple(warnings),
        path=saved,
        requests=client.requests_sent - requests_before,
    )


def preview_selection(
    client: ZiggyClient,
    *,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> list[FlowSummary]:
    """The flows an export with this selection would start from (before subflows), in
    one request: what ``ziggy flow list`` shows. Same rules and errors as the export."""
    warnings: list[str] = []
    summaries = client.list_flows()
    wanted_ids = names_or_none(flow_ids, "flow_ids") or ()
    wanted_tags = names_or_none(tags, "tags") or ()
    chosen = set(_select(summaries, wanted_ids, wanted_tags, warnings))
    for warning in warnings:
        logger.warning("%s", warning)
    return [summary for summary in summaries if summary.uuid in chosen]


def _refuse_duplicate_names(bundle: Bundle) -> None:
    """A bundle needs one name per item of a kind (per flow, for schedules); a server may
    hold several."""
    for kind in ItemKind:
        seen: dict[tuple[str, str], str] = {}
        for item in bundle.items(kind):
            key = (item.flow_uuid if isinstance(item, Schedule) else "", item.name)
            if key in seen:
                of_flow = f" of flow {key[0]}" if key[0] else ""
                raise SelectionError(
                    f"two {kind.plural}{of_flow} named {item.name!r} ({seen[key]}, "
                    f"{item.uuid}) would be exported; a bundle needs unique names: rename one "
                    "on the server or leave one out of the selection"
                )
            seen[key] = item.uuid


def _select(
    summaries: list[FlowSummary],
    flow_ids: tuple[str, ...],
    tags: tuple[str, ...],
    warnings: list[str],
) -> list[str]:
    """UUIDs of the selected flows, in server order, without repeats."""
    by_uuid = {summary.uuid: summary for summary in summaries}
    missing = [uuid for uuid in flow_ids if uuid not in by_uuid]
    if missing:
        raise SelectionError(
            f"no flow with UUID {', '.join(missing)} on the server; check the UUIDs "
            "(ziggy flow list shows them)",
            missing_flow_ids=tuple(missing),
        )
    if not flow_ids and not tags:
        return [summary.uuid for summary in summaries]
    wanted_tags = set(tags)
    for tag in tags:
        if not any(tag in summary.tags for summary in summaries):
            warnings.append(f"no flow has the tag {tag!r}")
    chosen = set(flow_ids) | {
        summary.uuid for summary in summaries if wanted_tags.intersection(summary.tags)
    }
    return [summary.uuid for summary in summaries if summary.uuid in chosen]


def _fetch_closure(
    pool: ThreadPoolExecutor,
    client: ZiggyClient,
    selected: list[str],
    known_flow_uuids: set[str],
    progress: ProgressCallback | None,
    *,
    keep_graphs: bool,
) -> tuple[dict[str, FetchedFlow], dict[str, References], dict[str, EncodedJSON]]:
    """Fetch the selected flows and, wave by wave, every subflow they call.

    Returns the flows, the references found in each (walked once per flow) and, unless
    ``keep_graphs``, each flow's canonical text: then the flows returned are without
    their graphs (nodes, edges, viewport), each let go of once walked, checked and
    encoded, so that an export to a file never holds every graph at once. Every flow is
    checked against the bundle schema here, so ``check_bundle`` need not walk or check
    them again. The workers only fetch, at most twice as many flows ahead as there can
    be requests in flight; this thread does that work on each flow as it arrives, while
    the later ones are still on the wire. (Not in the workers: threads taking turns at
    the same CPU work run it on colder caches; ``benchmarks/README.md`` has the figures.)
    """
    fetched: dict[str, FetchedFlow] = {}
    references: dict[str, References] = {}
    encoded: dict[str, EncodedJSON] = {}
    wave = list(selected)
    total = len(wave)
    ahead = 2 * client.max_workers
    while wave:
        for flow in fetched_in_order(pool, client.get_flow, wave, ahead=ahead):
            uuid = flow.flow.uuid
            fetched[uuid] = flow
            with _exporting(flow.flow):
                references[uuid] = walk_flow(flow.flow)
                if keep_graphs:
                    check_flow(flow.flow)
                else:
                    encoded[uuid] = encode_flow(flow.flow, check=True)
                    fetched[uuid] = attrs.evolve(flow, flow=_without_graph(flow.flow))
            if progress is not None:
                progress(len(fetched), total, f"flow {flow.flow.name}")
        called = {uuid for uuid in wave for uuid in references[uuid].flow_uuids}
        wave = sorted(called & known_flow_uuids - fetched.keys())
        total += len(wave)
    return fetched, references, encoded


def _without_graph(flow: Flow) -> Flow:
    """The flow's identity and settings, without what takes the memory."""
    return attrs.evolve(flow, nodes=[], edges=[], viewport={})


def _fields_of(bundle: Bundle) -> dict[str, Any]:
    """The keyword arguments that make ``bundle`` again (its fields have no aliases)."""
    return {field.name: getattr(bundle, field.name) for field in attrs.fields(Bundle)}


@contextmanager
def _exporting(flow: Flow) -> Iterator[None]:
    """Name the flow in a :class:`BundleError` raised about it (a graph too deep, a field
    the schema refuses): the user finds it on the server by name and UUID, and the file,
    never written, has no place to point at."""
    try:
        yield
    except BundleError as exc:
        error = type(exc).__new__(type(exc))
        BundleError.__init__(
            error,
            f"flow {flow.name[:80]!r} ({flow.uuid}) cannot be exported: {exc.reason}",
            location="",
        )
        raise error from None


class _Closure:
    """Collects what the fetched flows need, once each, and what cannot be found."""

    def __init__(
        self,
        connections: dict[str, Connection],
        secrets: dict[str, Secret],
        structures: dict[str, Structure],
        variables: dict[str, Variable],
        flow_uuids: set[str],
    ) -> None:
        self._available: dict[ItemKind, dict[str, Any]] = {
            ItemKind.CONNECTION: connections,
            ItemKind.SECRET: secrets,
            ItemKind.STRUCTURE: structures,
            ItemKind.VARIABLE: variables,
        }
        self._flow_uuids = flow_uuids
        self.collected: dict[ItemKind, dict[str, Any]] = {kind: {} for kind in self._available}
        self.unresolved: list[UnresolvedReference] = []
        self._unresolved_seen: set[UnresolvedReference] = set()
        self.warnings: list[str] = []

    def add_flow(self, fetched: FetchedFlow, refs: References) -> None:
        flow = fetched.flow
        relations = fetched.relations
        self._need(
            flow, ItemKind.CONNECTION, refs.connection_uuids | set(relations.connection_uuids)
        )
        self._need(flow, ItemKind.STRUCTURE, refs.structure_uuids | set(relations.structure_uuids))
        self._need(flow, ItemKind.VARIABLE, refs.variable_uuids | set(relations.variable_uuids))
        self._need(flow, ItemKind.SECRET, refs.secret_names | set(relations.secret_names))
        for uuid in sorted(refs.flow_uuids - self._flow_uuids):
            self._unresolved(flow.uuid, flow.name, "flow", ItemKind.FLOW, uuid)

    def _need(self, flow: Flow, kind: ItemKind, keys: Iterable[str]) -> None:
        for key in sorted(keys):
            item = self._available[kind].get(key)
            if item is None:
                self._unresolved(flow.uuid, flow.name, "flow", kind, key)
                continue
            if key in self.collected[kind]:
                continue  # already collected, with what it needs
            self.collected[kind][key] = item
            if isinstance(item, Connection):
                self._need_connection_secrets(item)

    def _need_connection_secrets(self, connection: Connection) -> None:
        names = find_secret_names(connection.dev_value) | find_secret_names(connection.prod_value)
        for name in sorted(names):
            secret = self._available[ItemKind.SECRET].get(name)
            if secret is None:
                self._unresolved(
                    connection.uuid, connection.name, "connection", ItemKind.SECRET, name
                )
            else:
                self.collected[ItemKind.SECRET][name] = secret

    def _unresolved(
        self, holder_uuid: str, holder_name: str, holder_kind: str, kind: ItemKind, ref: str
    ) -> None:
        entry = UnresolvedReference(item_uuid=holder_uuid, kind=kind, reference=ref)
        if entry in self._unresolved_seen:
            return
        self._unresolved_seen.add(entry)
        self.unresolved.append(entry)
        shown = f"secrets.{ref}" if kind is ItemKind.SECRET else f"{kind.value} {ref}"
        self.warnings.append(
            f"{holder_kind} {holder_name!r} refers to {shown}, which does not exist on the "
            "source server; it is exported as an unresolved reference"
        )


def _sorted(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda item: (item.name, item.uuid)))
