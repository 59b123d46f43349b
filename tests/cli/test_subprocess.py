"""Real ``python -m ziggy_migrate_cli`` processes: the docs' command lines end to end."""

from __future__ import annotations

import json
from pathlib import Path

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev
from .conftest import add_profile, run_subprocess, subprocess_env


def test_docs_command_lines_in_real_processes(
    seeded: TaggedDev,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    add_profile("dev", dev_emulator, None, default=True)
    add_profile("prod", prod, None)
    env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin")
    out = tmp_path / "out.json"

    exported = run_subprocess(
        [
            "flow",
            "export",
            "--server",
            "dev",
            "--no-prompt",
            "--tags",
            "tag1",
            "tag2",
            "--file-path",
            str(out),
        ],
        env,
    )
    assert exported.exit_code == 0, exported.stderr
    assert exported.json["data"]["counts"]["flows"] == 3

    refused = run_subprocess(["import", "--file-path", str(out), "--overwrite"], env)
    assert refused.exit_code == 2
    assert "--server" in refused.said

    unprompted = run_subprocess(["import", "-s", "prod", "-fp", str(out), "--overwrite"], env)
    assert unprompted.exit_code == 2
    assert "--no-prompt" in unprompted.said

    imported = run_subprocess(
        ["import", "--server", "prod", "--file-path", str(out), "--overwrite", "--no-prompt"], env
    )
    assert imported.exit_code == 0, imported.stderr
    assert imported.json["status"] == 201

    usage = run_subprocess(["flow", "export", "--nope"], env)
    assert usage.exit_code == 2
    assert usage.json["status"] == 400
    assert "hint: See 'ziggy flow export --help'." in usage.stderr


def test_demo_in_a_real_process(tmp_path: Path) -> None:
    result = run_subprocess(["demo", "--keep", str(tmp_path / "kept")], subprocess_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [doc["status"] for doc in documents] == [200, 200, 201, 201, 200, 201]
    kept = sorted(p.name for p in (tmp_path / "kept").iterdir())
    # the two bundles, and the rollback bundles of the two overwrite imports
    assert [name for name in kept if not name.startswith("rollback-")] == [
        "prod-roundtrip.json",
        "production-flows.json",
    ]
    assert len([name for name in kept if name.startswith("rollback-")]) == 2
    assert "matched by name" in result.stderr
