"""``ziggy flow import`` that does not run to its end still tells what it did: Ctrl-C, a
failure after the writes, another import running, items made twice meanwhile."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import (
    ItemKind,
    RetryPolicy,
    ZiggyClient,
    ZiggyError,
    import_bundle,
    save_bundle,
)
from ziggy_migrate._engine.lock import lock_dir, target_lock
from ziggy_migrate.testing import Answer, FaultPlan, ZiggyEmulator

from ..samples import TaggedDev, export_to
from ..test_interrupted_runs import kill_during_flows, plain_bundle
from ..test_reliability import comparable
from .conftest import Cli, MemoryKeyring, add_profile, subprocess_env

DEADLINE = 60  # seconds: a bound on waiting for a process, never a measurement


def processed_items(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for kind in ItemKind for item in document["data"][f"{kind.plural}Processed"]]


def ziggy(*args: str) -> list[str]:
    return [sys.executable, "-m", "ziggy_migrate_cli", *args]


_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('ziggy_migrate_cli', run_name='__main__', alter_sys=True)"
)


def start_interruptible(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """``command`` (a ``python -m ziggy_migrate_cli`` line) started so that Ctrl-C
    (SIGINT) reaches it as from a terminal.

    A shell without job control starts a background job with SIGINT ignored, a child
    inherits that, and Python then installs no KeyboardInterrupt handler: under such a
    runner (``.ci/run &``) the import would ignore the signal and run to its end. So the
    child turns the handler on itself before it runs the command line."""
    assert command[1:3] == ["-m", "ziggy_migrate_cli"]
    return subprocess.Popen(
        [command[0], "-c", _WITH_CTRL_C, *command[3:]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt_after(
    process: subprocess.Popen[str], server: ZiggyEmulator, method: str, path: str, count: int
) -> tuple[str, str]:
    """Ctrl-C to ``process`` once ``server`` has had ``count`` requests ``method`` under
    ``path``, sent while ``server`` answers slowly, so that the import cannot finish
    before the signal lands however fast the machine is; then the server's own pace
    again. What the process printed."""
    deadline = time.monotonic() + DEADLINE
    while server.request_count(method, path) < count and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
    pace = server.latency
    server.latency = 0.5
    try:
        process.send_signal(signal.SIGINT)
        return process.communicate(timeout=DEADLINE)
    finally:
        server.latency = pace


def test_ctrl_c_during_an_import_prints_what_was_written_and_exits_130(
    config_dir: Path, tmp_path: Path
) -> None:
    bundle = plain_bundle(300)
    path = save_bundle(bundle, tmp_path / "bundle.json")
    with ZiggyEmulator() as clean, ZiggyClient(clean.url, clean.port, "admin", "admin") as c:
        import_bundle(c, bundle, mode="skip", backup=False)
        expected = comparable(clean.snapshot())
    with ZiggyEmulator(name="prod", latency=0.005) as prod:
        add_profile("prod", prod, None)
        env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin")
        command = ziggy("flow", "import", "-s", "prod", "-fp", str(path), "--skip", "--no-prompt")
        process = start_interruptible(command, env)
        # interrupt once the flows are being created (the secret and connection are done)
        stdout, stderr = interrupt_after(process, prod, "POST", "/api/flow/", 20)
        assert process.returncode == 130, stderr
        assert len(stdout.splitlines()) == 1, stdout
        document = json.loads(stdout)
        assert document["status"] == 499
        assert "run the same command again to complete it" in document["data"]["message"]
        items = processed_items(document)
        assert len(items) == 302
        done = [item for item in items if item["isProcessed"]]
        assert [item["name"] for item in done] == [plain_bundle(1).secrets[0].name, "Warehouse"]
        assert all("interrupted" in item["error"] for item in items if not item["isProcessed"])
        assert document["data"]["rollbackPath"] is None  # nothing was to be overwritten
        assert "Traceback" not in stderr

        again = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=DEADLINE, check=False
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert json.loads(again.stdout)["status"] == 201
        # the re-run completed the interrupted import: no empty flow, nothing doubled
        assert comparable(prod.snapshot()) == expected


def test_ctrl_c_during_a_promote_prints_what_was_written_and_exits_130(
    config_dir: Path, tmp_path: Path
) -> None:
    with ZiggyEmulator(name="dev") as dev, ZiggyEmulator(name="prod", latency=0.005) as prod:
        for index in range(300):
            dev.add_flow(f"Flow {index}", tags=["production"])
        add_profile("dev", dev, None)
        add_profile("prod", prod, None)
        env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin")
        command = ziggy(
            "flow",
            "promote",
            "--from",
            "dev",
            "--to",
            "prod",
            "--skip",
            "--no-prompt",
            "--bundle-dir",
            str(tmp_path / "promoted"),
        )
        process = start_interruptible(command, env)
        # interrupt once flows are being filled in (their empty shells are made first)
        stdout, stderr = interrupt_after(process, prod, "PUT", "/api/flow/", 20)
        assert process.returncode == 130, stderr
        document = json.loads(stdout)
        assert document["status"] == 499
        assert "run the same command again to complete it" in document["data"]["message"]
        flows = document["data"]["flowsProcessed"]
        assert len(flows) == 300
        assert any(item["isProcessed"] for item in flows)
        assert all("interrupted" in item["error"] for item in flows if not item["isProcessed"])
        assert "Traceback" not in stderr


_NOT_SECRETS = (
    "/api/auth/login",
    "/api/auth/refresh-token",
    "/api/health",
    "/api/system",
    "/api/flow",
    "/api/connection",
    "/api/structure",
    "/api/variable",
    "/api/ziggy",
)


def reads_of_secrets_failing_after_the_first(secrets: int) -> FaultPlan:
    """A fault plan under which, of the reads of secrets, the first (the listing an import
    plans with) succeeds and one of the next ``secrets`` (the value look-ups after its
    writes) fails; no other request is ever faulted.

    The emulator draws its faults from a seeded generator, the same requests in the same
    order drawing the same faults, so the seed is found by trying that order on a probe.
    """
    for seed in range(500):
        plan = FaultPlan(
            error_rate=0.5, methods=frozenset({"GET"}), exempt_paths=_NOT_SECRETS, seed=seed
        )
        with (
            ZiggyEmulator(faults=plan) as probe,
            ZiggyClient(
                probe.url, probe.port, "admin", "admin", retry=RetryPolicy(attempts=1)
            ) as client,
        ):
            try:
                client.list_secrets()
            except ZiggyError:
                continue
            try:
                for _ in range(secrets):
                    client.secret_has_value("ANY")
            except ZiggyError:
                return plan
    raise AssertionError("no seed gives that order of faults")  # pragma: no cover


def test_a_failure_after_the_writes_prints_the_report_and_the_error(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    args = ("flow", "import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt")
    assert cli(*args).exit_code == 0  # prod has every item now: the next import overwrites
    prod.return_secret_values = False  # so the import asks for the values after writing
    prod.faults = reads_of_secrets_failing_after_the_first(2)
    before = len(prod.snapshot()["namedSaves"])
    result = cli(*args, "--retries", "0")
    assert len(prod.snapshot()["namedSaves"]) == before + 2  # it did write
    assert result.exit_code == 1, result.stdout + result.stderr
    document = result.json
    assert document["status"] in (500, 503)
    message = document["data"]["message"]
    assert "stopped after it had begun writing (5 of 5 item(s) done)" in message
    assert "get-obfuscated-by-name" in message  # the failed request is named
    items = processed_items(document)
    assert len(items) == 5 and all(item["isProcessed"] for item in items)
    assert document["data"]["rollbackPath"]
    assert Path(document["data"]["rollbackPath"]).is_file()
    assert "Traceback" not in result.stderr


def test_while_another_import_runs_an_import_refuses_in_one_line(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    args = ("flow", "import", "-s", "prod", "-fp", str(bundle), "--skip", "--no-prompt")
    with target_lock(prod.base_url, lock_dir(), timeout=0):  # another import holds it
        refused = cli(*args, "--lock-timeout", "0")
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert refused.json["status"] == 409
    assert f"another import into {prod.base_url} is running" in refused.message
    assert prod.snapshot()["flows"] == []
    assert [r for r in prod.requests if not r.path.startswith("/api/auth/")] == []
    assert cli(*args).exit_code == 0  # once it is done, the import runs


@pytest.fixture
def slow_prod(memory_keyring: MemoryKeyring) -> Iterator[ZiggyEmulator]:
    with ZiggyEmulator(name="prod", latency=0.05) as ziggy:
        yield ziggy


def test_an_item_made_twice_meanwhile_fails_the_import_naming_both(
    seeded: TaggedDev,
    dev_emulator: ZiggyEmulator,
    slow_prod: ZiggyEmulator,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    """Someone else (another machine: another lock) creates "Sync orders" on prod after
    this import planned it as new; the import creates its own, then sees two."""
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    add_profile("prod", slow_prod, None)
    env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin")
    command = ziggy("flow", "import", "-s", "prod", "-fp", str(bundle), "--skip", "--no-prompt")
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + DEADLINE
    # the backup comes after the plan and before the first write
    while slow_prod.request_count("POST", "/api/system/backup-db") == 0:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.001)
    theirs = slow_prod.add_flow("Sync orders")["uuid"]
    stdout, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 1, stdout + stderr
    document = json.loads(stdout)
    assert document["status"] == 207
    (flow,) = [f for f in document["data"]["flowsProcessed"] if f["name"] == "Sync orders"]
    assert flow["isProcessed"] is False
    assert theirs in flow["error"] and flow["uuid"] in flow["error"]
    assert theirs != flow["uuid"]
    others = [item for item in processed_items(document) if item is not flow]
    assert all(item["isProcessed"] for item in others)


def test_flow_plan_after_an_interrupted_import_is_applied_not_refused(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    path = save_bundle(plain_bundle(12), tmp_path / "bundle.json")
    kill_during_flows(prod, path, "skip", after=1)  # kill -9 while writing the flows
    out = tmp_path / "plan.json"
    planned = cli("flow", "plan", "-s", "prod", "-fp", str(path), "--skip", "--out", str(out))
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert "CREATE" in planned.json["data"]["summary"]  # the empty flows get completed
    applied = cli(
        "flow", "import", "-s", "prod", "-fp", str(path), "--plan", str(out), "--no-prompt"
    )
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert applied.json["status"] == 201
    flows = prod.snapshot()["flows"]
    assert sorted(flow["name"] for flow in flows) == [f"Flow {i:03d}" for i in range(12)]
    assert all(flow["nodes"] for flow in flows)  # no empty flow left behind


def test_a_server_that_stops_answering_ends_the_import_in_one_line_with_its_report(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """Hung after five flows: a few timeouts, then the report, exit 3 (the server's
    fault), the error and its hint; not one timeout per flow left."""
    path = save_bundle(plain_bundle(30), tmp_path / "bundle.json")
    prod.override("PUT", "/api/flow/*", *([None] * 5), *([Answer(silent=True)] * 40))
    args = ("flow", "import", "-s", "prod", "-fp", str(path), "--skip", "--no-prompt")
    result = cli(*args, "--timeout", "0.3", "--concurrency", "2", "--no-backup")
    assert result.exit_code == 3, result.stdout + result.stderr
    document = result.json
    assert "items in a row found no server" in document["data"]["message"]
    flows = document["data"]["flowsProcessed"]
    assert sum(1 for item in flows if item["isProcessed"]) == 5
    not_sent = [f for f in flows if f.get("error", "").startswith("not imported: the import")]
    assert len(not_sent) >= 30 - 5 - 4
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "items in a row found no server" in errors[0]
    assert "Traceback" not in result.stderr
