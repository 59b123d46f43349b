"""``ziggy flow list``: a table for people, ``--json`` for scripts."""

from __future__ import annotations

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev
from .conftest import Cli


def test_table_on_stdout(cli: Cli, profiles: TaggedDev) -> None:
    result = cli("flow", "list", "--server", "dev")
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["UUID", "NAME", "LISTENER", "SUBFLOW", "TAGS"]
    assert [line.split()[1] for line in lines[1:]] == ["Format", "Invoices", "Sandbox", "Sync"]
    assert "4 flows on dev." in result.stderr


def test_json_with_the_default_server(cli: Cli, profiles: TaggedDev) -> None:
    document = cli("flow", "list", "--json").json
    assert document["status"] == 200
    assert [row["name"] for row in document["data"]] == [
        "Format address",
        "Invoices",
        "Sandbox",
        "Sync orders",
    ]
    orders = next(row for row in document["data"] if row["uuid"] == profiles.orders)
    assert orders["tags"] == ["tag1", "production"]
    assert set(orders) == {"uuid", "name", "listenerType", "isSubflow", "tags", "updatedAt"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--tags", "tag1", "tag2"], ["Invoices", "Sync orders"]),
        (["-t", "sandbox"], ["Sandbox"]),
        (["-f", "{orders}", "{sandbox}"], ["Sandbox", "Sync orders"]),
        # as export selects: flows with either the UUID or the tag
        (["-f", "{sandbox}", "-t", "tag2"], ["Invoices", "Sandbox"]),
    ],
)
def test_filters(cli: Cli, profiles: TaggedDev, args: list[str], expected: list[str]) -> None:
    args = [a.format(orders=profiles.orders, sandbox=profiles.sandbox) for a in args]
    result = cli("flow", "list", "-s", "dev", *args, "--json")
    assert result.exit_code == 0, result.stdout
    assert [row["name"] for row in result.json["data"]] == expected


def test_an_unknown_uuid_is_named_and_costs_one_request(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator
) -> None:
    dev_emulator.reset_requests()
    missing = "00000000-0000-4000-8000-000000000000"
    result = cli("flow", "list", "-s", "dev", "-f", missing, "--json")
    assert result.exit_code == 2
    assert missing in result.said
    assert dev_emulator.request_count("GET", "/api/flow") == 1
