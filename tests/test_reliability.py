"""Imports under faults: retries, no duplicates, token expiry, kills, rollback, no leaks."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ziggy_migrate
from ziggy_migrate import (
    AuthenticationError,
    Bundle,
    Connection,
    Flow,
    ImportModeName,
    ItemKind,
    Provenance,
    Secret,
    SourceServer,
    ZiggyClient,
    dump_bundle,
    export_flows,
    import_bundle,
    load_bundle,
    rollback,
    save_bundle,
)
from ziggy_migrate._bundle.references import rewrite
from ziggy_migrate._engine.journal import ImportJournal
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from .samples import FAST_RETRY, HUBSPOT_KEY_VALUE, PG_PASSWORD_VALUE, client_for, seed_dev

SRC = Path(ziggy_migrate.__file__).resolve().parents[1]  # where the tested package is


def big_bundle(flows: int, connections: int = 30, secrets: int = 30) -> Bundle:
    """``flows`` flows, each using two connections (which use secrets) and a subflow."""
    rng = random.Random(7)
    secret_items = tuple(
        Secret(uuid=f"00000000-0000-4000-8000-{i:012d}", name=f"SECRET_{i}") for i in range(secrets)
    )
    connection_items = tuple(
        Connection(
            uuid=f"10000000-0000-4000-8000-{i:012d}",
            name=f"Connection {i}",
            type="Postgres",
            dev_value=f"{{ host: 'h{i}', password: secrets.SECRET_{i % secrets} }}",
        )
        for i in range(connections)
    )
    flow_uuids = [f"20000000-0000-4000-8000-{i:012d}" for i in range(flows)]
    flow_items = tuple(
        Flow(
            uuid=flow_uuids[i],
            name=f"Flow {i:04d}",
            tags=("bulk",),
            nodes=[
                {
                    "id": "a",
                    "type": "sql",
                    "data": {"connectionUuid": rng.choice(connection_items).uuid},
                },
                {
                    "id": "b",
                    "type": "ai",
                    "data": {"modelConnectionUuid": rng.choice(connection_items).uuid},
                },
                {"id": "c", "type": "call", "data": {"subflowUuid": flow_uuids[(i + 1) % flows]}},
                {"id": "d", "type": "js", "data": {"code": f"return secrets.SECRET_{i % secrets}"}},
            ],
            edges=[{"id": "e", "source": "a", "target": "b"}],
        )
        for i in range(flows)
    )
    return Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000", name="dev"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=flow_items,
        connections=connection_items,
        secrets=secret_items,
    )


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A server's state with UUIDs replaced by the names of what they point at.

    Two servers that hold the same things under different UUIDs compare equal; any
    duplicate, missing item or broken reference makes them differ.
    """
    names = {
        row["uuid"]: f"<{kind.value}:{row['name']}>"
        for kind in ItemKind
        for row in state[kind.plural]
    }
    keep = {
        ItemKind.FLOW: ("name", "tags", "nodes", "edges", "listenerType"),
        ItemKind.CONNECTION: ("name", "type", "description", "devValue", "prodValue"),
        ItemKind.SECRET: ("name", "description", "devValue", "prodValue", "tags"),
        ItemKind.STRUCTURE: ("name", "description", "value", "tags"),
        ItemKind.VARIABLE: ("name", "description", "value"),
    }
    return {
        kind.plural: sorted(
            (
                json.dumps(rewrite({k: row[k] for k in keep[kind]}, names, {}), sort_keys=True)
                for row in state[kind.plural]
            ),
        )
        for kind in ItemKind
    }


@pytest.fixture
def reference_state() -> dict[str, Any]:
    """What a fault-free import of ``big_bundle(300)`` into an empty server leaves."""
    with ZiggyEmulator() as clean, client_for(clean) as client:
        report = import_bundle(client, big_bundle(300), mode="overwrite", backup=False)
        assert report.ok
        return comparable(clean.snapshot())


@pytest.mark.slow
def test_faulty_network_ends_like_a_fault_free_run(reference_state: dict[str, Any]) -> None:
    faults = FaultPlan(
        error_rate=0.10,
        drop_before_rate=0.025,
        drop_after_rate=0.025,
        rate_limit_rate=0.02,
        cut_short_rate=0.02,
        retry_after=0,
    )
    with ZiggyEmulator(faults=faults, seed=11) as flaky, client_for(flaky) as client:
        report = import_bundle(client, big_bundle(300), mode="overwrite")
        state = flaky.snapshot()
        injected = {r.fault for r in flaky.requests if r.fault}
    assert injected == {"500", "503", "429", "drop_before", "drop_after", "cut_short"}
    assert report.ok, [i.error for i in report.failed][:3]
    assert all(item.is_processed for item in report.items)
    assert len(report.items) == 360
    assert report.retries > 0
    assert report.to_dict()["data"]["retries"] == report.retries
    for kind in ItemKind:
        names = [row["name"] for row in state[kind.plural]]
        assert len(names) == len(set(names)), f"duplicate {kind.plural}"
    assert comparable(state) == reference_state
    # every reported UUID is real on the target
    target_uuids = {row["uuid"] for kind in ItemKind for row in state[kind.plural]}
    assert {item.uuid for item in report.items} <= target_uuids


def test_token_expiring_mid_run_is_renewed(reference_state: dict[str, Any]) -> None:
    # 5 ms a request: the import's 900-odd requests over 4 workers take over a second,
    # so tokens living 0.3 s expire during it however fast the machine is.
    target_server = ZiggyEmulator(token_lifetime=0.3, latency=0.005)
    with target_server as target, client_for(target, max_workers=4) as client:
        report = import_bundle(client, big_bundle(300), mode="overwrite", backup=False)
        renewals = target.request_count("POST", "/api/auth/refresh-token")
        refused = [r for r in target.requests if r.status == 401]
        assert report.ok
        assert comparable(target.snapshot()) == reference_state
    assert renewals >= 1
    assert refused  # the server really did refuse expired tokens along the way


_IMPORT_SCRIPT = """
import sys
from ziggy_migrate import ZiggyClient, import_bundle, load_bundle
url, port, path, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with ZiggyClient(url, port, "admin", "admin", max_workers=4) as client:
    import_bundle(client, load_bundle(path), mode=mode, backup=False)
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["overwrite", "skip", "duplicate"])
def test_killed_import_converges_on_rerun(
    reference_state: dict[str, Any], tmp_path: Path, mode: ImportModeName
) -> None:
    """Into an empty server every mode creates everything; killed anywhere and run
    again with the same mode, it must end exactly there: no empty flows left behind,
    nothing skipped or copied twice."""
    path = save_bundle(big_bundle(300), tmp_path / "bundle.json")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    rng = random.Random(f"2026-{mode}")
    for _ in range(2):
        with ZiggyEmulator(latency=0.002) as target:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _IMPORT_SCRIPT,
                    target.url,
                    str(target.port),
                    str(path),
                    mode,
                ],
                env=env,
            )
            deadline = time.monotonic() + 20
            # kill at a random point of the writes, counted, not timed: a pause after the
            # writes began could outlast a fast import, and then nothing was interrupted
            writes_before_kill = rng.randint(2, 400)  # of the ~660 the import makes
            while (
                target.request_count("POST") + target.request_count("PUT") < writes_before_kill
                and process.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            partial = target.snapshot()
            with client_for(target) as client:
                report = import_bundle(client, load_bundle(path), mode=mode, backup=False)
            assert report.ok
            assert comparable(target.snapshot()) == reference_state
            assert comparable(partial) != reference_state or process.returncode == 0


def test_an_interrupted_import_is_completed_not_matched(tmp_path: Path) -> None:
    """What a kill between a flow's two requests leaves (an empty flow, and a journal
    naming it) is finished by the next import, in skip and in duplicate mode alike."""
    bundle = big_bundle(3)
    for mode in ("skip", "duplicate"):
        with ZiggyEmulator() as target, client_for(target) as client:
            target.add_flow("Flow 0000")  # the user's own flow: duplicate mode copies it
            first = import_bundle(client, bundle, mode=mode, backup=False)
            expected = comparable(target.snapshot())
        with ZiggyEmulator() as target, client_for(target) as client:
            target.add_flow("Flow 0000")
            copy_name = "Flow 0000 (imported)" if mode == "duplicate" else None
            # the interrupted run: it had created one empty flow (and noted it) when killed
            interrupted = {ItemKind.FLOW: ["Flow 0001"] + ([copy_name] if copy_name else [])}
            ImportJournal(client.base_url).record(interrupted)
            target.add_flow("Flow 0001")
            if copy_name:
                target.add_flow(copy_name)
            again = import_bundle(client, bundle, mode=mode, backup=False)
            assert comparable(target.snapshot()) == expected
        assert again.ok
        assert [i.result for i in again.items] == [i.result for i in first.items]
        assert any("interrupted" in warning for warning in again.warnings)
        assert not ImportJournal(client.base_url).path.exists()


def test_rollback_restores_what_an_import_overwrote(tmp_path: Path) -> None:
    with ZiggyEmulator() as dev, ZiggyEmulator() as prod:
        seed_dev(dev)
        prod.add_flow("Orders", tags=["keep"], nodes=[{"id": "old", "data": {"n": 1}}])
        prod.add_connection("Orders DB", dev_value="{ host: 'old-db' }")
        prod.add_secret("PG_PASSWORD", prod_value="prod-value", description="prod")
        before = comparable(prod.snapshot())
        with client_for(dev) as source:
            bundle = export_flows(source, tags=["production"]).bundle
        with client_for(prod) as client:
            report = import_bundle(
                client, bundle, mode="overwrite", backup=False, rollback_dir=tmp_path
            )
            assert report.rollback_path is not None
            saved = load_bundle(report.rollback_path)
            assert [f.name for f in saved.flows] == ["Orders"]
            assert [c.name for c in saved.connections] == ["Orders DB"]
            assert "prod-value" not in Path(report.rollback_path).read_text("utf-8")
            # flows are encoded as they are fetched; the file is still the canonical text
            assert Path(report.rollback_path).read_text("utf-8") == dump_bundle(saved)
            assert comparable(prod.snapshot()) != before
            restored = rollback(client, report.rollback_path, backup=False)
        assert restored.ok
        assert restored.warnings == ()
        after = comparable(prod.snapshot())
    # the overwritten items are back; items the import created remain (by design)
    for kind in ItemKind:
        assert set(before[kind.plural]) <= set(after[kind.plural])


def test_no_rollback_file_when_nothing_is_overwritten(tmp_path: Path) -> None:
    with ZiggyEmulator() as prod, client_for(prod) as client:
        report = import_bundle(client, big_bundle(3), mode="skip", rollback_dir=tmp_path)
    assert report.rollback_path is None
    assert list(tmp_path.iterdir()) == []


def test_default_rollback_folder_is_the_state_dir() -> None:
    with ZiggyEmulator() as prod, client_for(prod) as client:
        prod.add_flow("Flow 0000")
        report = import_bundle(client, big_bundle(3), mode="overwrite", backup=False)
    assert report.rollback_path is not None
    assert Path(report.rollback_path).parent == Path(os.environ["ZIGGY_STATE_DIR"]) / "rollback"


# -- leaks -------------------------------------------------------------------------------------

PASSWORD = "pw-Very-Secret-4711"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_no_secret_or_password_in_any_output(
    debug_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    planted = (PG_PASSWORD_VALUE, HUBSPOT_KEY_VALUE, PASSWORD)
    outputs: list[str] = []
    with (
        ZiggyEmulator(password=PASSWORD, faults=FaultPlan(error_rate=0.2, retry_after=0)) as dev,
        ZiggyEmulator(password=PASSWORD, token_lifetime=0.05) as prod,
    ):
        seed_dev(dev)
        prod.add_secret("PG_PASSWORD", prod_value=PG_PASSWORD_VALUE)
        prod.add_flow("Orders")
        with ZiggyClient(dev.url, dev.port, "admin", PASSWORD, retry=FAST_RETRY) as source:
            result = export_flows(source, path=tmp_path / "b.json")
        with ZiggyClient(prod.url, prod.port, "admin", PASSWORD, retry=FAST_RETRY) as target:
            report = import_bundle(
                target, result.bundle, mode="overwrite", rollback_dir=tmp_path / "rb"
            )
        with ZiggyClient(prod.url, prod.port, "admin", "wrong-" + PASSWORD) as wrong:
            with pytest.raises(AuthenticationError) as refused:
                wrong.login()
            outputs += [str(refused.value), repr(refused.value), refused.value.response_body]
    assert debug_logs.records  # debug logging really was on
    outputs += [
        debug_logs.text,
        (tmp_path / "b.json").read_text("utf-8"),
        json.dumps(report.to_dict()),
        repr(report),
        repr(result),
        *(p.read_text("utf-8") for p in (tmp_path / "rb").iterdir()),
    ]
    for text in outputs:
        for value in planted:
            assert value not in text
