"""Interrupted imports: the journal outlives other imports, the re-run's rollback bundle
holds the state from before the first run, and an import that wrote always reports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import (
    PRE_IMPORT_SAVE_NAME,
    Bundle,
    Connection,
    Flow,
    ImportIncompleteError,
    ImportModeName,
    PlanError,
    Provenance,
    Secret,
    ServerError,
    ServerUnreachableError,
    SourceServer,
    import_bundle,
    load_bundle,
    load_plan,
    plan_import,
    rollback,
    save_bundle,
    save_plan,
)
from ziggy_migrate._engine.server_watch import GIVE_UP_AFTER
from ziggy_migrate.testing import Answer, FaultPlan, ZiggyEmulator

from .samples import client_for
from .test_reliability import SRC, comparable

KEY_NAME = "API_KEY"


def plain_bundle(flows: int, *, version: str = "new") -> Bundle:
    """``flows`` flows that call no subflow (so any one can be imported alone), each using
    one connection, which uses one secret."""
    secret = Secret(uuid="00000000-0000-4000-8000-000000000001", name=KEY_NAME)
    connection = Connection(
        uuid="10000000-0000-4000-8000-000000000001",
        name="Warehouse",
        type="Postgres",
        dev_value=f"{{ host: '{version}-db', password: secrets.{KEY_NAME} }}",
    )
    return Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000", name="dev"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=tuple(
            Flow(
                uuid=f"20000000-0000-4000-8000-{i:012d}",
                name=f"Flow {i:03d}",
                tags=("plain",),
                nodes=[
                    {"id": "a", "type": "sql", "data": {"connectionUuid": connection.uuid}},
                    {"id": "b", "type": "js", "data": {"code": f"return '{version} {i}';"}},
                ],
            )
            for i in range(flows)
        ),
        connections=(connection,),
        secrets=(secret,),
    )


def seed_old(target: ZiggyEmulator, flows: int) -> None:
    """What the target holds before the import: the same items by name, older content."""
    target.add_secret(KEY_NAME, prod_value="kept-value")
    connection = target.add_connection("Warehouse", type="Postgres", dev_value="{ host: 'old' }")
    for i in range(flows):
        target.add_flow(
            f"Flow {i:03d}",
            nodes=[
                {"id": "a", "type": "sql", "data": {"connectionUuid": connection["uuid"]}},
                {"id": "b", "type": "js", "data": {"code": f"return 'old {i}';"}},
            ],
        )


_KILLED_IMPORT = """
import os, signal, sys
from ziggy_migrate import ZiggyClient, import_bundle, load_bundle
url, port, path, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
after = int(sys.argv[5])
written = []

def progress(done, total, what):
    # called as each item is written; flows are written last, after every shell is
    # created and every "Pre import" named save is made
    if what.startswith("flow "):
        written.append(what)
        if len(written) >= after:
            os.kill(os.getpid(), signal.SIGKILL)

with ZiggyClient(url, port, "admin", "admin", max_workers=4) as client:
    import_bundle(client, load_bundle(path), mode=mode, backup=False, progress=progress)
"""


def kill_during_flows(target: ZiggyEmulator, path: Path, mode: ImportModeName, after: int) -> None:
    """Run an import in a process of its own and ``kill -9`` it once ``after`` flows'
    contents are written (the state folder is this test's, by the environment)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    address = [target.url, str(target.port)]
    process = subprocess.run(
        [sys.executable, "-c", _KILLED_IMPORT, *address, str(path), mode, str(after)],
        env=env,
        timeout=60,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL


def pre_import_saves(target: ZiggyEmulator) -> Counter[str]:
    """How many "Pre import" named saves each flow has, by flow name."""
    state = target.snapshot()
    names = {flow["uuid"]: flow["name"] for flow in state["flows"]}
    return Counter(
        names[save["flowUUID"]]
        for save in state["namedSaves"]
        if save["saveName"] == PRE_IMPORT_SAVE_NAME
    )


@pytest.fixture
def clean_result() -> dict[str, Any]:
    """What an uninterrupted skip import of ``plain_bundle(12)`` into an empty server leaves."""
    with ZiggyEmulator() as clean, client_for(clean) as client:
        assert import_bundle(client, plain_bundle(12), mode="skip", backup=False).ok
        return comparable(clean.snapshot())


def test_the_rerun_of_a_killed_overwrite_restores_what_was_there_before_the_first_run(
    tmp_path: Path,
) -> None:
    path = save_bundle(plain_bundle(12), tmp_path / "bundle.json")
    with ZiggyEmulator(latency=0.002) as target:
        seed_old(target, 12)
        before = comparable(target.snapshot())
        kill_during_flows(target, path, "overwrite", after=3)
        half = comparable(target.snapshot())
        assert half != before  # the killed run did overwrite some of it
        assert set(pre_import_saves(target).values()) == {1}  # all saves made, then killed

        with client_for(target) as client:
            rerun = import_bundle(client, load_bundle(path), mode="overwrite", backup=False)
            assert rerun.ok
            assert rerun.rollback_path is not None
            assert comparable(target.snapshot()) != before
            saves = pre_import_saves(target)
            restored = rollback(client, rerun.rollback_path, backup=False)
        assert restored.ok
        # every overwritten item is back as it was before the killed run, not half-way
        assert comparable(target.snapshot()) == before
    # and the re-run did not make a second set of "Pre import" saves
    assert saves == {f"Flow {i:03d}": 1 for i in range(12)}


def test_an_interrupted_import_survives_a_subset_import_until_it_is_completed(
    tmp_path: Path, clean_result: dict[str, Any]
) -> None:
    bundle = plain_bundle(12)
    path = save_bundle(bundle, tmp_path / "bundle.json")
    with ZiggyEmulator(latency=0.002) as target:
        kill_during_flows(target, path, "skip", after=1)  # most flows are empty shells now
        with client_for(target) as client:
            # another import into the server in between, of one flow only
            one = import_bundle(client, bundle, mode="skip", flow_ids=[bundle.flows[5].uuid])
            assert one.ok
            again = import_bundle(client, bundle, mode="skip", backup=False)
        assert again.ok
        assert any("interrupted" in warning for warning in again.warnings)
        # every empty flow the killed run left was completed, nothing was doubled
        assert comparable(target.snapshot()) == clean_result


def test_a_plan_made_after_an_interrupted_import_is_applied_not_refused(
    tmp_path: Path, clean_result: dict[str, Any]
) -> None:
    bundle = plain_bundle(12)
    path = save_bundle(bundle, tmp_path / "bundle.json")
    with ZiggyEmulator(latency=0.002) as target:
        kill_during_flows(target, path, "skip", after=1)
        with client_for(target) as client:
            plan = plan_import(client, bundle, mode="skip")
            assert "CREATE" in plan.summary()  # the empty flows are to be completed
            saved = load_plan(save_plan(plan, tmp_path / "plan.json"))
            try:
                report = import_bundle(client, bundle, plan=saved, backup=False)
            except PlanError as refused:  # pragma: no cover - the failure this test is for
                pytest.fail(f"the plan was refused: {refused}")
        assert report.ok
        assert comparable(target.snapshot()) == clean_result


def test_a_failure_after_every_write_still_delivers_the_report(tmp_path: Path) -> None:
    """The secrets' values are looked up after the writes; when that fails, the error
    carries the report of everything written, rollback bundle included."""
    bundle = plain_bundle(3)
    with ZiggyEmulator(return_secret_values=False) as target:
        seed_old(target, 3)

        def break_reads_after_the_last_write(done: int, total: int, what: str) -> None:
            if done == total:  # from here on, every read fails, every retry too
                target.faults = FaultPlan(error_rate=1.0, methods=frozenset({"GET"}))

        with client_for(target) as client, pytest.raises(ImportIncompleteError) as stopped:
            import_bundle(
                client,
                bundle,
                mode="overwrite",
                backup=False,
                progress=break_reads_after_the_last_write,
            )
        assert any(r.path.startswith("/api/secret/get-obfuscated") for r in target.requests)
    error = stopped.value
    assert isinstance(error.cause, ServerError)
    assert error.__cause__ is error.cause
    assert "5 of 5 item(s) done" in str(error)
    assert "retries.. " not in str(error)  # one sentence ends once
    report = error.report
    assert [item.is_processed for item in report.items] == [True] * 5
    assert report.rollback_path is not None
    assert [f.name for f in load_bundle(report.rollback_path).flows] == [
        "Flow 000",
        "Flow 001",
        "Flow 002",
    ]
    assert report.to_dict()["data"]["rollbackPath"] == report.rollback_path


@pytest.mark.parametrize(
    "gone", [Answer(silent=True), Answer(status=503)], ids=["silent", "gateway-503"]
)
def test_an_import_stops_sending_once_the_server_is_gone(gone: Answer) -> None:
    """A server that stops answering halfway (hung, or a gateway with nothing behind it)
    costs a few items' timeouts, not one per item left: the import stops sending, its
    report says what was written and what was not sent, and a re-run completes it."""
    flows, workers = 30, 2
    bundle = plain_bundle(flows)
    with ZiggyEmulator() as target:
        written: list[str] = []

        def go_away_after_five_flows(done: int, total: int, what: str) -> None:
            if what.startswith("flow "):
                written.append(what)
                if len(written) == 5:
                    target.override("*", "/**", gone)

        with (
            client_for(target, timeout=0.3, max_workers=workers) as client,
            pytest.raises(ImportIncompleteError) as stopped,
        ):
            import_bundle(
                client, bundle, mode="skip", backup=False, progress=go_away_after_five_flows
            )
        error = stopped.value
        assert isinstance(error.cause, ServerUnreachableError)
        assert f"{GIVE_UP_AFTER} items in a row found no server" in str(error)
        assert ".." not in str(error)
        flow_items = [item for item in error.report.items if item.kind.value == "flow"]
        failed_trying = [
            item for item in flow_items if item.error and not item.error.startswith("not imported")
        ]
        not_sent = [
            item
            for item in flow_items
            if item.error and item.error.startswith("not imported: the import stopped first")
        ]
        # only the items already on the wire when the count was reached were tried
        assert GIVE_UP_AFTER <= len(failed_trying) <= GIVE_UP_AFTER + workers - 1
        assert len(not_sent) == flows - len(written) - len(failed_trying)
        # (a write already on the wire when the server went away may still have landed)
        assert sum(1 for item in flow_items if item.is_processed) == len(written)
        assert 5 <= len(written) <= 5 + workers - 1

        target.clear_overrides()
        with client_for(target) as client:
            again = import_bundle(client, bundle, mode="skip", backup=False)
        assert again.ok
        names = sorted(flow["name"] for flow in target.snapshot()["flows"])
        assert names == sorted(flow.name for flow in bundle.flows)
