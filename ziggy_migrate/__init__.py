r"""ziggy-migrate: move Ziggy flows between servers and into git.

The public face of the library. Typical use::

    from ziggy_migrate import ZiggyClient, export_flows, import_bundle, load_bundle

    with ZiggyClient("https://dev.example.com", 443, "admin", password, name="dev") as dev:
        export_flows(dev, tags=["production"], path="flows.json")
    with ZiggyClient("https://prod.example.com", 443, "admin", password, name="prod") as prod:
        report = import_bundle(prod, load_bundle("flows.json"), mode="overwrite")

The library never prints, prompts, exits or changes process-wide state: it returns
values, raises exceptions (all under :class:`ZiggyError`) and logs through ``logging``
under the ``ziggy_migrate`` logger, never with a password, token or secret value.
:func:`bulk_mode` is the one explicit, process-wide opt-in, for applications.

Everything importable is here; the layers behind it are private and import only
downwards (a test enforces it)::

    _engine       export, plan, apply, report, diff, rollback, journal, bindings, promote
    _client       transport (sessions, retries, timeouts), typed endpoints   \ side by
    _bundle       load, check, upgrade, save; JSON readers and writers      / side
    _vocabulary   models, converter, enums, errors, tables, atomic files

``ziggy_migrate.testing`` (the emulator) stands apart: nothing here imports it.
"""

from ._bundle.bundle import (
    CURRENT_SCHEMA_VERSION,
    bundle_schema,
    dump_bundle,
    load_bundle,
    load_bundle_text,
    load_official,
    load_official_text,
    save_bundle,
)
from ._bundle.official import OfficialExport, dump_official, save_official
from ._bundle.references import GraphTooDeepError
from ._client.client import ZiggyClient
from ._client.transport import RetryCallback, RetryEvent, RetryPolicy
from ._engine.apply import PRE_IMPORT_SAVE_NAME, import_bundle, rollback
from ._engine.diff import BundleDiff, Change, ItemChange, diff_bundles, diff_with_server
from ._engine.export import ExportResult, export_flows, preview_selection
from ._engine.lock import DEFAULT_LOCK_TIMEOUT
from ._engine.partial import ImportIncompleteError, ImportInterrupted
from ._engine.plan import ImportPlan, PlannedItem, plan_import
from ._engine.promote import PromoteResult, promote
from ._engine.report import ImportReport, PausedSchedule, ProcessedItem
from ._engine.saved_plan import load_plan, save_plan
from ._engine.subset import select_flows
from ._engine.transfer import download_backup
from ._version import __version__
from ._vocabulary.bulk import bulk_mode
from ._vocabulary.enums import Action, ImportMode, ImportModeName, Layout, LayoutName, MatchMethod
from ._vocabulary.errors import (
    AuthenticationError,
    BackupFailedError,
    BadRequestError,
    BundleError,
    ExposedCredentialError,
    InvalidArgumentError,
    MalformedResponseError,
    MissingDependencyError,
    NotFoundError,
    NotZiggyServerError,
    PlanError,
    PlanFileError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    SelectionError,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    TargetBusyError,
    ZiggyError,
)
from ._vocabulary.models import (
    BackupResult,
    Bundle,
    Connection,
    FetchedFlow,
    Flow,
    FlowRelations,
    FlowSummary,
    ItemKind,
    NamedSave,
    ProgressCallback,
    Provenance,
    RemoteSecret,
    Schedule,
    Secret,
    Selection,
    SourceServer,
    Structure,
    UnresolvedReference,
    Variable,
    VersionInfo,
)

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "DEFAULT_LOCK_TIMEOUT",
    "PRE_IMPORT_SAVE_NAME",
    "Action",
    "AuthenticationError",
    "BackupFailedError",
    "BackupResult",
    "BadRequestError",
    "Bundle",
    "BundleDiff",
    "BundleError",
    "Change",
    "Connection",
    "ExportResult",
    "ExposedCredentialError",
    "FetchedFlow",
    "Flow",
    "FlowRelations",
    "FlowSummary",
    "GraphTooDeepError",
    "ImportIncompleteError",
    "ImportInterrupted",
    "ImportMode",
    "ImportModeName",
    "ImportPlan",
    "ImportReport",
    "InvalidArgumentError",
    "ItemChange",
    "ItemKind",
    "Layout",
    "LayoutName",
    "MalformedResponseError",
    "MatchMethod",
    "MissingDependencyError",
    "NamedSave",
    "NotFoundError",
    "NotZiggyServerError",
    "OfficialExport",
    "PausedSchedule",
    "PlanError",
    "PlanFileError",
    "PlannedItem",
    "ProcessedItem",
    "ProgressCallback",
    "PromoteResult",
    "Provenance",
    "RateLimitedError",
    "RemoteSecret",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryCallback",
    "RetryEvent",
    "RetryPolicy",
    "Schedule",
    "Secret",
    "Selection",
    "SelectionError",
    "ServerError",
    "ServerResponseError",
    "ServerUnreachableError",
    "SourceServer",
    "Structure",
    "TargetBusyError",
    "UnresolvedReference",
    "Variable",
    "VersionInfo",
    "ZiggyClient",
    "ZiggyError",
    "__version__",
    "bulk_mode",
    "bundle_schema",
    "diff_bundles",
    "diff_with_server",
    "download_backup",
    "dump_bundle",
    "dump_official",
    "export_flows",
    "import_bundle",
    "load_bundle",
    "load_bundle_text",
    "load_official",
    "load_official_text",
    "load_plan",
    "plan_import",
    "preview_selection",
    "promote",
    "rollback",
    "save_bundle",
    "save_official",
    "save_plan",
    "select_flows",
]
