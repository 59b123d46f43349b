"""The package's public face is deliberate: this pins what ``ziggy_migrate`` exports."""

from __future__ import annotations

import subprocess
import sys

import ziggy_migrate
import ziggy_migrate.testing

EXPECTED = {
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
}


def test_exported_names_are_exactly_the_public_api() -> None:
    assert set(ziggy_migrate.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(ziggy_migrate, name), name


def test_every_error_is_a_ziggy_error() -> None:
    errors = [
        getattr(ziggy_migrate, name)
        for name in EXPECTED
        if name.endswith("Error") and name != "ZiggyError"
    ]
    assert errors
    assert all(issubclass(error, ziggy_migrate.ZiggyError) for error in errors)


def test_emulator_public_face() -> None:
    assert set(ziggy_migrate.testing.__all__) == {"FaultPlan", "RecordedRequest", "ZiggyEmulator"}


def test_engine_and_cli_never_import_the_emulator_at_module_level() -> None:
    code = (
        "import sys, ziggy_migrate, ziggy_migrate_cli.main; "
        "print('ziggy_migrate.testing' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
