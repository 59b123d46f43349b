"""The domain models: what a flow, connection, secret, structure, variable and schedule
are to us.

These classes hold the *portable* part of each item: what a bundle carries and what an
import writes. Server bookkeeping (tenant, timestamps, locks) is dropped when an answer is
parsed, which keeps bundles diff-friendly and free of instance-specific noise.

Python names are snake_case; the wire and the bundle file use camelCase. The mapping lives
in ``_convert.py`` (the package's one cattrs converter), never here.

Classes are frozen. The editor graph of a flow (``nodes``, ``edges``, ``viewport``) is
free-form JSON, kept as plain lists and dicts: it is the user's data and we only rewrite
references inside it (see ``references.py``), always on a copy.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import attrs

from . import convert as _convert
from .tables import brief

__all__ = [
    "REPORT_ORDER",
    "BackupResult",
    "Bundle",
    "Connection",
    "FetchedFlow",
    "Flow",
    "FlowRelations",
    "FlowSummary",
    "ItemKind",
    "NamedSave",
    "ProgressCallback",
    "Provenance",
    "RemoteSecret",
    "Schedule",
    "Secret",
    "Selection",
    "SourceServer",
    "Structure",
    "UnresolvedReference",
    "Variable",
    "VersionInfo",
]

JSON = Any
"""A JSON value as parsed by :mod:`json` (dict, list, str, int, float, bool or None)."""

ProgressCallback = Callable[[int, int, str], None]
"""Called as ``progress(done, total, name)`` after each item of a long phase."""


class ItemKind(str, enum.Enum):
    """The kinds of item a bundle holds, in the order an import writes them."""

    SECRET = "secret"  # noqa: S105 - a kind name, not a password
    CONNECTION = "connection"
    STRUCTURE = "structure"
    VARIABLE = "variable"
    FLOW = "flow"
    SCHEDULE = "schedule"

    @property
    def plural(self) -> str:
        """The bundle key and report prefix for this kind (``flows``, ``secrets``...)."""
        return f"{self.value}s"


REPORT_ORDER: tuple[ItemKind, ...] = (
    ItemKind.FLOW,
    ItemKind.CONNECTION,
    ItemKind.SECRET,
    ItemKind.STRUCTURE,
    ItemKind.VARIABLE,
    ItemKind.SCHEDULE,
)
"""The order reports and diffs list kinds in: Ziggy's own (flows, connections, secrets)
first, then ours."""


@attrs.frozen
class FlowSummary:
    """One row of ``GET /api/flow``: enough to select flows without loading their graphs."""

    uuid: str
    name: str
    listener_type: str = ""
    is_subflow: bool = False
    tags: tuple[str, ...] = ()
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary in the server's own camelCase shape (what ``ziggy flow list`` prints)."""
        data: dict[str, Any] = _convert.unstructure(self)
        data["tags"] = list(self.tags)
        return data


@attrs.frozen
class Flow:
    """A flow: its editor graph and the settings that travel with it between servers."""

    uuid: str
    name: str
    listener_type: str = "REST"
    tags: tuple[str, ...] = ()
    nodes: JSON = attrs.field(factory=list)
    edges: JSON = attrs.field(factory=list)
    viewport: JSON = attrs.field(factory=dict)
    is_subflow: bool = False
    is_commander: bool = False
    is_valid: bool = True
    num_blocks: int | None = None
    info: str | None = None
    execution_history_level: str | None = None
    execution_history_mins: int | None = None
    timeout: int | None = None

    def __repr__(self) -> str:
        return f"<Flow {self.name!r} {self.uuid} ({len(self.nodes)} nodes)>"


@attrs.frozen
class FlowRelations:
    """The relations the server loads with a flow (``GET /api/flow/{uuid}``).

    Only identities are kept: the items themselves are listed once per kind, which is what
    keeps an export's request count at flows + a constant.
    """

    connection_uuids: tuple[str, ...] = ()
    secret_names: tuple[str, ...] = ()
    structure_uuids: tuple[str, ...] = ()
    variable_uuids: tuple[str, ...] = ()


@attrs.frozen
class FetchedFlow:
    """A flow as read from a server, with the relations the server reported for it."""

    flow: Flow
    relations: FlowRelations = FlowRelations()


@attrs.frozen
class Connection:
    """A connection to an outside system (database, API...).

    ``dev_value``/``prod_value`` are the connection objects as JavaScript-object text; they
    should refer to secrets (``secrets.NAME``) rather than hold credentials inline. OAuth
    tokens are never part of the model: they are credentials of one instance.
    """

    uuid: str
    name: str
    type: str
    description: str = ""
    dev_value: str = ""
    prod_value: str = ""
    is_core_platform: bool = False


@attrs.frozen
class Secret:
    """A secret's identity and metadata. There is deliberately no value field at all."""

    uuid: str
    name: str
    description: str = ""
    type: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()


@attrs.frozen
class RemoteSecret:
    """A secret as it exists on a server: metadata plus whether it holds a value.

    ``has_value`` is True when the server reported a dev or prod value, False when it
    reported none, and None when the server hid the values (so we cannot tell). The values
    themselves are discarded the moment the answer is parsed.
    """

    secret: Secret
    has_value: bool | None = None


@attrs.frozen
class Structure:
    """A named TypeScript interface used by flows."""

    uuid: str
    name: str
    description: str = ""
    value: str = ""
    tags: tuple[str, ...] = ()


@attrs.frozen
class Variable:
    """A named value used by flows."""

    uuid: str
    name: str
    description: str = ""
    value: str = ""


@attrs.frozen
class Schedule:
    """A schedule that triggers one flow (``flow_uuid``).

    ``config`` is the server's trigger configuration as text, passed on untouched;
    ``execution_mode`` is ``DEV`` or ``PROD``. The server's run counter and timestamps
    are not part of the model: they describe one instance, not the schedule.
    """

    uuid: str
    name: str
    config: str = ""
    is_paused: bool = False
    execution_mode: str = "DEV"
    flow_uuid: str = ""


@attrs.frozen
class NamedSave:
    """A named snapshot of a flow in the server's history."""

    uuid: str
    flow_uuid: str
    save_name: str
    flow_name: str = ""
    created_at: str | None = None


@attrs.frozen
class BackupResult:
    """The answer of ``POST /api/system/backup-db``."""

    local_backup_status: str
    remote_backup_status: str = "not_configured"
    local_backup_file: str | None = None
    remote_backup_error: str | None = None

    @property
    def ok(self) -> bool:
        """A backup counts as made when the server's local backup succeeded."""
        return self.local_backup_status == "success"


@attrs.frozen
class VersionInfo:
    """The server's version (``GET /api/system/version-info``)."""

    major: int
    minor: int
    build: int = 0
    info: str = ""


Item = Flow | Connection | Secret | Structure | Variable | Schedule
"""Any item a bundle holds."""


# -- the bundle ---------------------------------------------------------------------------


@attrs.frozen
class SourceServer:
    """Where a bundle came from: a profile name and the URL, never credentials."""

    url: str
    name: str | None = None


@attrs.frozen
class Selection:
    """What the export was asked for (the union of both; neither means every flow)."""

    flow_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@attrs.frozen
class UnresolvedReference:
    """A reference the source server itself could not resolve at export time.

    ``item_uuid`` is the flow or connection that holds the reference. Recorded so that a
    bundle stays loadable and honest: the item was broken on the source already, and the
    import reports it rather than guessing.
    """

    item_uuid: str
    kind: ItemKind
    reference: str


@attrs.frozen
class Provenance:
    """Who made a bundle, from what, when."""

    source: SourceServer
    tool_version: str
    exported_at: str
    selection: Selection = Selection()


@attrs.frozen
class Bundle:
    """An export: flows plus everything they need and the schedules that trigger them,
    without any secret value."""

    provenance: Provenance
    flows: tuple[Flow, ...] = ()
    connections: tuple[Connection, ...] = ()
    secrets: tuple[Secret, ...] = ()
    structures: tuple[Structure, ...] = ()
    variables: tuple[Variable, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    unresolved_references: tuple[UnresolvedReference, ...] = ()
    schema_version: int = 2  # the current bundle format (``CURRENT_SCHEMA_VERSION``)

    def items(self, kind: ItemKind) -> tuple[Item, ...]:
        """The bundle's items of one kind."""
        items: tuple[Item, ...] = getattr(self, kind.plural)
        return items

    @property
    def counts(self) -> dict[str, int]:
        """How many items of each kind, keyed by the kind's plural (``flows``...)."""
        return {kind.plural: len(self.items(kind)) for kind in ItemKind}

    def __repr__(self) -> str:
        counts = ", ".join(f"{count} {plural}" for plural, count in self.counts.items() if count)
        flows = brief([flow.name for flow in self.flows])
        return (
            f"<Bundle v{self.schema_version} from "
            f"{self.provenance.source.url or self.provenance.tool_version}: "
            f"{counts or 'empty'}{f' (flows {flows})' if flows else ''}>"
        )
