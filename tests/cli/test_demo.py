"""``ziggy demo``: two emulators, a real migration, honest about how items matched."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keyring

from .conftest import Cli, fail_backend


def _match_methods(document: dict[str, Any]) -> set[str]:
    return {
        item["matchMethod"]
        for key, items in document["data"].items()
        if key.endswith("Processed")
        for item in items
    }


def test_demo_runs_every_step_without_profiles_or_keyring(cli: Cli, config_dir: Path) -> None:
    keyring.set_keyring(fail_backend())  # the demo must not need one
    result = cli("demo")
    assert result.exit_code == 0, result.stdout + result.stderr
    export, dry_run, first, again, back, skip = (
        json.loads(line) for line in result.stdout.splitlines()
    )
    assert export["data"]["counts"]["flows"] == 3  # two production flows and their subflow
    assert export["data"]["counts"]["secrets"] >= 2
    assert dry_run["data"]["dryRun"] is True
    assert first["data"]["backup"]["localBackupStatus"] == "success"
    assert _match_methods(first) == {"name", "unmatched"}
    assert _match_methods(again) == {"binding"}
    assert back["status"] == 200
    assert _match_methods(skip) == {"uuid"}
    assert "dev at http://127.0.0.1:" in result.stderr
    assert not config_dir.exists()  # no profile was written
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(set(warnings)) == 1  # the subflow flag, once for four imports
    assert "1 structure, 1 variable" in result.stderr
    state = Path(os.environ["ZIGGY_STATE_DIR"])
    assert not state.exists() or not any(state.rglob("*"))  # nor any rollback bundle


def test_demo_keep_keeps_the_bundles(cli: Cli, tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    result = cli("demo", "--keep", str(kept))
    assert result.exit_code == 0
    bundle = json.loads((kept / "production-flows.json").read_text())
    assert {flow["name"] for flow in bundle["flows"]} == {
        "Sync orders to CRM",
        "Nightly invoice export",
        "Format address",
    }
    assert "prod-db-pass" not in (kept / "production-flows.json").read_text()
