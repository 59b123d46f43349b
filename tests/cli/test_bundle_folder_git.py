"""A bundle folder that is also a git repository: a re-export changes only the bundle's files.

The natural setup for reviewing flows in pull requests is a repository whose root is the
bundle folder, next to a README, a ``.gitattributes`` and a CI file. A re-export must
rewrite only what the layout owns (``index.json`` and the item files of the kind
folders), leave ``.git`` and every other file alone, and still drop the file of an item
deleted on the server, so that ``git status`` shows exactly what changed on the server,
and nothing at all when nothing changed.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from ziggy_migrate import BundleError, export_flows, load_bundle
from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, client_for
from .conftest import Cli

Exporter = Callable[[Path], None]

EXTRA_FILES = {
    "README.md": "# Our flows\n\nExported with ziggy; reviewed here.\n",
    ".gitattributes": "*.json text eol=lf\n",
    ".github/workflows/check.yml": "on: [pull_request]\njobs: {}\n",
    "docs/how-to-review.md": "Read the flows/ diff.\n",
    "flows/README.md": "One file per flow.\n",  # not an item file: *.json only are
}

RETRY = {"id": "retry", "type": "js", "data": {"code": "return retry(3);"}}


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder`` with a fixed identity; its stdout."""
    completed = subprocess.run(
        ["git", "-c", "user.name=Reviewer", "-c", "user.email=r@example.com", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(folder.parent)},
    )
    return completed.stdout


def status(folder: Path) -> set[str]:
    """``git status --porcelain`` as a set of lines (untracked files listed one by one)."""
    return set(git(folder, "status", "--porcelain", "--untracked-files=all").splitlines())


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (``.git`` included), by relative path, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def short(uuid: str) -> str:
    return uuid[:8]


@pytest.fixture
def library(dev_emulator: ZiggyEmulator) -> Exporter:
    def export(folder: Path) -> None:
        with client_for(dev_emulator) as client:
            export_flows(client, path=folder, layout="dir")

    return export


@pytest.fixture
def command(cli: Cli) -> Exporter:
    def export(folder: Path) -> None:
        result = cli(
            "flow", "export", "-s", "dev", "--layout", "dir", "-fp", str(folder), "--no-prompt"
        )
        assert result.exit_code == 0, result.stdout + result.stderr

    return export


@pytest.fixture(params=["library", "command"])
def export(request: pytest.FixtureRequest, profiles: TaggedDev) -> Exporter:
    exporter: Exporter = request.getfixturevalue(request.param)
    return exporter


def test_a_re_export_in_a_git_repo_changes_only_the_changed_items(
    export: Exporter, dev_emulator: ZiggyEmulator, profiles: TaggedDev, tmp_path: Path
) -> None:
    folder = tmp_path / "flows-repo"
    export(folder)
    git(folder, "init", "-q")
    for name, text in EXTRA_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "flows as exported")
    head = git(folder, "rev-parse", "HEAD")
    kept = {name: data for name, data in tree(folder).items() if not name.endswith(".json")}
    invoices = folder / "flows" / f"invoices--{short(profiles.invoices)}.json"
    inode = invoices.stat().st_ino

    # The server changes: one flow edited, one deleted, one added.
    with client_for(dev_emulator) as client:
        orders = client.get_flow(profiles.orders).flow
        client.update_flow(profiles.orders, attrs.evolve(orders, nodes=[*orders.nodes, RETRY]))
        client.delete_flow(profiles.sandbox)
    added = dev_emulator.add_flow("Refunds", tags=["tag1"])
    export(folder)

    # The index changes only when the export time (to the second) does.
    changed_lines = [
        line
        for line in git(folder, "diff", "--unified=0", "index.json").splitlines()
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert all('"exportedAt"' in line for line in changed_lines)
    assert status(folder) - {" M index.json"} == {
        f" M flows/sync-orders--{short(profiles.orders)}.json",
        f" D flows/sandbox--{short(profiles.sandbox)}.json",
        f"?? flows/refunds--{short(added['uuid'])}.json",
    }
    assert git(folder, "rev-parse", "HEAD") == head
    assert git(folder, "log", "--format=%s") == "flows as exported\n"
    # .git, the README, the CI file... byte for byte; an unchanged item not even rewritten
    assert {name: data for name, data in tree(folder).items() if not name.endswith(".json")} == (
        kept
    )
    assert invoices.stat().st_ino == inode
    bundle = load_bundle(folder)
    assert sorted(flow.name for flow in bundle.flows) == [
        "Format address",
        "Invoices",
        "Refunds",
        "Sync orders",
    ]
    assert bundle.flows[3].nodes[-1] == RETRY


def _as_if_exported_earlier(folder: Path, **provenance: str) -> bytes:
    """Rewrite the folder's index as an earlier export wrote it (``provenance`` fields
    changed; by default only the export time); its new bytes."""
    index = folder / "index.json"
    document = json.loads(index.read_text("utf-8"))
    document["provenance"].update({"exportedAt": "2026-01-02T03:04:05Z", **provenance})
    index.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
    return index.read_bytes()


def test_a_re_export_of_an_unchanged_server_changes_no_file(
    export: Exporter, tmp_path: Path
) -> None:
    """Not even the index: it keeps the time of the export that last changed something."""
    folder = tmp_path / "flows-repo"
    export(folder)
    git(folder, "init", "-q")
    index = _as_if_exported_earlier(folder)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "flows as exported")
    before = tree(folder)
    export(folder)
    assert status(folder) == set()
    assert (folder / "index.json").read_bytes() == index
    assert tree(folder) == before
    assert load_bundle(folder).provenance.exported_at == "2026-01-02T03:04:05Z"


def test_the_index_is_rewritten_when_more_than_the_export_time_differs(
    export: Exporter, tmp_path: Path
) -> None:
    """Made by another version of the tool, say: the index says so again, with this
    export's time, although no item changed."""
    folder = tmp_path / "bundle"
    export(folder)
    _as_if_exported_earlier(folder, toolVersion="0.9.0")
    export(folder)
    provenance = load_bundle(folder).provenance
    assert provenance.tool_version != "0.9.0"
    assert provenance.exported_at != "2026-01-02T03:04:05Z"


def test_an_index_that_is_not_json_is_rewritten(export: Exporter, tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    export(folder)
    (folder / "index.json").write_text("{ broken", "utf-8")
    export(folder)
    assert load_bundle(folder).provenance.exported_at != ""


def test_export_into_a_fresh_git_repo_or_an_empty_folder(export: Exporter, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    export(empty)
    assert (empty / "index.json").is_file()

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("*.tmp\n")
    export(repo)
    assert (repo / "index.json").is_file()
    assert (repo / ".gitignore").read_text() == "*.tmp\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all").count("flows/") == 4


def test_a_folder_that_is_not_a_bundle_is_refused_untouched(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    (folder / "flows").mkdir(parents=True)
    (folder / "flows" / "mine.json").write_text('{"not": "a bundle item"}')
    (folder / "README.md").write_text("my project")
    before = tree(folder)
    result = cli(
        "flow", "export", "-s", "dev", "--layout", "dir", "-fp", str(folder), "--no-prompt"
    )
    assert result.exit_code == 2
    assert "not a bundle folder" in result.message
    assert "choose a new or empty path" in result.message
    assert "index.json" in result.hint
    assert "Check the bundle file" not in result.hint  # what a broken file is told
    assert tree(folder) == before


def test_a_failed_write_changes_nothing(
    library: Exporter,
    dev_emulator: ZiggyEmulator,
    profiles: TaggedDev,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A disk that fills up halfway (simulated: no disk can be filled here) leaves the
    folder as it was: every new file is written in full before any replaces an old one."""
    folder = tmp_path / "bundle"
    library(folder)
    git(folder, "init", "-q")
    before = tree(folder)
    dev_emulator.add_flow("Refunds", tags=["tag1"])
    with client_for(dev_emulator) as client:
        orders = client.get_flow(profiles.orders).flow
        client.update_flow(profiles.orders, attrs.evolve(orders, nodes=[*orders.nodes, RETRY]))
    real_fsync = os.fsync
    calls = []

    def full_disk(descriptor: int) -> None:
        calls.append(descriptor)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(BundleError, match="No space left on device"):
        library(folder)
    monkeypatch.undo()
    assert len(calls) == 2
    assert tree(folder) == before  # no file changed, no temporary file left
    library(folder)  # and the next export completes
    assert "Refunds" in {flow.name for flow in load_bundle(folder).flows}


def test_a_save_stopped_halfway_is_completed_by_the_next(
    library: Exporter, profiles: TaggedDev, tmp_path: Path
) -> None:
    """What a kill leaves: temporary files beside their place, kind folders without an
    index (stopped before the first rename). The next export accepts the folder, removes
    the leftovers and leaves no stale or missing file."""
    folder = tmp_path / "bundle"
    (folder / "flows").mkdir(parents=True)
    (folder / "secrets").mkdir()
    leftover = folder / "flows" / ".sync-orders--1a2b3c4d.json.0badf00d.tmp"
    leftover.write_text('{"half": ')
    library(folder)
    assert not leftover.exists()
    assert len(load_bundle(folder).flows) == 4
    again = folder / "connections" / ".orders-db--9f8e7d6c.json.abcdef12.tmp"
    again.write_text("{")
    library(folder)
    assert not again.exists()
    assert sorted(path.name for path in folder.rglob(".*")) == []
