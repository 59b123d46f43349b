"""ziggy-migrate: move Ziggy flows between servers and into git.

The public face of the library. Typical use::

    from ziggy_migrate import ZiggyClient, export_flows, import_bundle, load_bundle

    with ZiggyClient("https://dev.example.com", 443, "admin", password, name="dev") as dev:
        export_flows(dev, tags=["production"], path="flows.json")
    with ZiggyClient("https://prod.example.com", 443, "admin", password, name="prod") as prod:
        report = import_bundle(prod, load_bundle("flows.json"), mode="overwrite")

The library never prints, prompts or exits: it returns values, raises the exceptions of
:mod:`ziggy_migrate.errors` (all under :class:`ZiggyError`) and logs through ``logging``
under the ``ziggy_migrate`` logger, never with a password, token or secret value.
"""

from ._version import __version__
from .apply import PRE_IMPORT_SAVE_NAME, import_bundle, rollback
from .bundle import CURRENT_SCHEMA_VERSION, Layout, dump_bundle, load_bundle, save_bundle
from .client import RetryPolicy, ZiggyClient
from .diff import BundleDiff, ItemChange, diff_bundles, diff_with_server
from .errors import (
    AuthenticationError,
    BackupFailedError,
    BadRequestError,
    BundleError,
    ExposedCredentialError,
    NotFoundError,
    PlanError,
    PlanFileError,
    RateLimitedError,
    RequestTimeoutError,
    SelectionError,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    ZiggyError,
)
from .export import ExportResult, export_flows, preview_selection
from .models import (
    BackupResult,
    Bundle,
    Connection,
    Flow,
    FlowSummary,
    ItemKind,
    NamedSave,
    Provenance,
    Secret,
    Selection,
    SourceServer,
    Structure,
    UnresolvedReference,
    Variable,
)
from .plan import Action, ImportMode, ImportPlan, MatchMethod, PlannedItem, plan_import
from .promote import PromoteResult, promote
from .report import ImportReport, ProcessedItem
from .saved_plan import load_plan, save_plan
from .subset import select_flows

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "PRE_IMPORT_SAVE_NAME",
    "Action",
    "AuthenticationError",
    "BackupFailedError",
    "BackupResult",
    "BadRequestError",
    "Bundle",
    "BundleDiff",
    "BundleError",
    "Connection",
    "ExportResult",
    "ExposedCredentialError",
    "Flow",
    "FlowSummary",
    "ImportMode",
    "ImportPlan",
    "ImportReport",
    "ItemChange",
    "ItemKind",
    "Layout",
    "MatchMethod",
    "NamedSave",
    "NotFoundError",
    "PlanError",
    "PlanFileError",
    "PlannedItem",
    "ProcessedItem",
    "PromoteResult",
    "Provenance",
    "RateLimitedError",
    "RequestTimeoutError",
    "RetryPolicy",
    "Secret",
    "Selection",
    "SelectionError",
    "ServerError",
    "ServerResponseError",
    "ServerUnreachableError",
    "SourceServer",
    "Structure",
    "UnresolvedReference",
    "Variable",
    "ZiggyClient",
    "ZiggyError",
    "__version__",
    "diff_bundles",
    "diff_with_server",
    "dump_bundle",
    "export_flows",
    "import_bundle",
    "load_bundle",
    "load_plan",
    "plan_import",
    "preview_selection",
    "promote",
    "rollback",
    "save_bundle",
    "save_plan",
    "select_flows",
]
