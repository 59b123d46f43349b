"""``--layout dir``: one file per item on export; the folder works wherever a file does."""

from __future__ import annotations

import json
from pathlib import Path

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev
from .conftest import Cli


def _names(folder: Path, kind: str) -> list[str]:
    return sorted(json.loads(path.read_text())["name"] for path in (folder / kind).glob("*.json"))


def test_export_a_folder_then_plan_import_and_diff_from_it(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    exported = cli(
        "flow",
        "export",
        "-s",
        "dev",
        "-t",
        "tag1",
        "--layout",
        "dir",
        "-fp",
        str(folder),
        "--no-prompt",
    )
    assert exported.exit_code == 0, exported.stdout + exported.stderr
    assert exported.json["data"]["filePath"] == str(folder)
    assert (folder / "index.json").is_file()
    assert _names(folder, "flows") == ["Format address", "Sync orders"]
    assert _names(folder, "connections") == ["Orders DB"]
    assert _names(folder, "secrets") == ["CRM_TOKEN", "PG_PASSWORD"]
    assert "flows" not in json.loads((folder / "index.json").read_text())

    plan = tmp_path / "plan.json"
    planned = cli("flow", "plan", "-s", "prod", "-fp", str(folder), "--skip", "--out", str(plan))
    assert planned.exit_code == 0, planned.stdout
    imported = cli(
        "flow", "import", "-s", "prod", "-fp", str(folder), "--plan", str(plan), "--no-prompt"
    )
    assert imported.exit_code == 0, imported.stdout
    assert sorted(flow["name"] for flow in prod.snapshot()["flows"]) == [
        "Format address",
        "Sync orders",
    ]
    against_itself = cli("flow", "diff", "-fp", str(folder), "--against", str(folder))
    assert against_itself.json["data"]["changes"] == []
    with_server = cli("flow", "diff", "-fp", str(folder), "-s", "prod")
    assert with_server.exit_code == 0, with_server.stdout
    # The one difference is a known limit of the Ziggy API: it cannot set isSubflow.
    assert [(c["name"], c["fields"]) for c in with_server.json["data"]["changes"]] == [
        ("Format address", ["isSubflow"])
    ]


def test_a_folder_is_written_canonically_and_replaced_whole(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    base = ("export", "-s", "dev", "--layout", "dir", "-fp", str(folder), "--no-prompt")
    assert cli(*base).exit_code == 0
    assert len(list((folder / "flows").glob("*.json"))) == 4
    assert cli(*base, "-t", "tag2").exit_code == 0  # a smaller export: no stale files left
    assert _names(folder, "flows") == ["Invoices"]


def test_the_layout_is_checked(cli: Cli, profiles: TaggedDev, tmp_path: Path) -> None:
    taken = tmp_path / "taken.json"
    taken.write_text("{}")
    onto_a_file = cli("export", "-s", "dev", "--layout", "dir", "-fp", str(taken), "--no-prompt")
    assert onto_a_file.exit_code == 2
    assert "not a bundle folder" in onto_a_file.said
    assert taken.read_text() == "{}"
    unknown = cli("export", "-s", "dev", "--layout", "zip", "-fp", str(taken), "--no-prompt")
    assert unknown.exit_code == 2
    assert "--layout" in unknown.said


def test_a_folder_without_an_index_is_not_read_as_a_bundle(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    (folder / "flows").mkdir(parents=True)
    (folder / "README.md").write_text("my project")
    result = cli("flow", "diff", "-fp", str(folder), "--against", str(folder))
    assert result.exit_code == 2
    assert "not a bundle folder" in result.message
    assert result.hint == "Give a bundle file, or a folder 'ziggy flow export --layout dir' wrote."
