"""Creates are never repeated blindly: under every fault, exactly one item or none."""

from __future__ import annotations

import pytest

from ziggy_migrate import PRE_IMPORT_SAVE_NAME, Connection, Secret, ServerError, Structure, Variable
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from . import connect, fault_count

POST_DROPPED_AFTER = FaultPlan(drop_after_rate=1.0, methods=frozenset({"POST"}))
POST_CUT_SHORT = FaultPlan(cut_short_rate=1.0, methods=frozenset({"POST"}))


def test_create_whose_answer_is_cut_short_creates_exactly_one() -> None:
    """The server created the connection, but its answer (with the new UUID) broke off:
    the client finds it by name instead of creating a second one."""
    with ZiggyEmulator(faults=POST_CUT_SHORT) as ziggy, connect(ziggy) as flaky:
        created = flaky.create_connection(Connection(uuid="", name="Warehouse", type="Postgres"))
        rows = ziggy.snapshot()["connections"]
        faulted = [r.fault for r in ziggy.requests if r.fault]
    assert [(row["uuid"], row["name"]) for row in rows] == [(created.uuid, "Warehouse")]
    assert faulted == ["cut_short"]


def test_create_flow_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        uuid = flaky.create_flow("Orders — EU", "API")
        flows = ziggy.snapshot()["flows"]
        assert [(flow["uuid"], flow["name"]) for flow in flows] == [(uuid, "Orders — EU")]
        assert ziggy.request_count("POST", "/api/flow/") == 1


def test_create_connection_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        ziggy.add_connection("Other")
        created = flaky.create_connection(Connection(uuid="", name="Warehouse", type="Postgres"))
        rows = [row for row in ziggy.snapshot()["connections"] if row["name"] == "Warehouse"]
        assert [row["uuid"] for row in rows] == [created.uuid]
        assert created.type == "Postgres"
        assert ziggy.request_count("POST", "/api/connection") == 1


def test_create_secret_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        created = flaky.create_secret(Secret(uuid="", name="PG_PASSWORD"))
        rows = ziggy.snapshot()["secrets"]
        assert [(row["uuid"], row["name"]) for row in rows] == [(created.uuid, "PG_PASSWORD")]
        assert ziggy.request_count("POST", "/api/secret") == 1


def test_create_structure_and_variable_under_drop_after_create_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        structure = flaky.create_structure(Structure(uuid="", name="Order"))
        variable = flaky.create_variable(Variable(uuid="", name="region"))
        snapshot = ziggy.snapshot()
        assert [row["uuid"] for row in snapshot["structures"]] == [structure.uuid]
        assert [row["uuid"] for row in snapshot["variables"]] == [variable.uuid]


def test_named_save_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        flow = ziggy.add_flow("Orders", nodes=[{"id": "1", "data": {}}])
        flaky.create_named_save(flow["uuid"], PRE_IMPORT_SAVE_NAME)
        saves = ziggy.snapshot()["namedSaves"]
        assert [save["saveName"] for save in saves] == [PRE_IMPORT_SAVE_NAME]
        assert ziggy.request_count("POST", "/api/ziggy/history-named-save/") == 1


def test_create_under_server_errors_retries_and_creates_one() -> None:
    faults = FaultPlan(error_rate=0.5, methods=frozenset({"POST"}), seed=4)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        made = [
            flaky.create_connection(Connection(uuid="", name=f"c{i}", type="SMTP"))
            for i in range(4)
        ]
        rows = ziggy.snapshot()["connections"]
        assert sorted(row["uuid"] for row in rows) == sorted(c.uuid for c in made)
        assert fault_count(ziggy) > 0


def test_create_that_always_fails_raises_server_error_and_creates_nothing() -> None:
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"POST"}))
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as broken:
        with pytest.raises(ServerError) as caught:
            broken.create_connection(Connection(uuid="", name="pg", type="Postgres"))
        assert caught.value.response_code == 503
        assert "Could not create connection 'pg'" in str(caught.value)
        assert ziggy.snapshot()["connections"] == []
        posts = ziggy.request_count("POST", "/api/connection")
        assert posts >= 2
        # every POST after the first is a counted retry, each after a lookup that found nothing
        assert broken.retries == posts - 1
        assert ziggy.request_count("GET", "/api/connection") == posts


def test_create_dropped_before_every_time_creates_nothing() -> None:
    faults = FaultPlan(drop_before_rate=1.0, methods=frozenset({"POST"}))
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as broken:
        with pytest.raises(ServerError):
            broken.create_flow("Orders", "API")
        assert ziggy.snapshot()["flows"] == []
