"""Two imports into one server at once: one waits for the other on one machine; across
machines, an item made twice is reported as a failure naming both UUIDs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import (
    Action,
    ImportReport,
    ItemKind,
    TargetBusyError,
    ZiggyError,
    import_bundle,
    save_bundle,
)
from ziggy_migrate.testing import ZiggyEmulator

from .samples import client_for
from .test_interrupted_runs import plain_bundle
from .test_reliability import SRC

WAIT = 60  # seconds: a bound for threads that must end, never a measurement


def duplicated_names(target: ZiggyEmulator) -> dict[str, list[str]]:
    state = target.snapshot()
    return {
        kind.plural: sorted(
            name
            for name, count in Counter(row["name"] for row in state[kind.plural]).items()
            if count > 1
        )
        for kind in ItemKind
    }


NO_DUPLICATES: dict[str, list[str]] = {kind.plural: [] for kind in ItemKind}


class Paused:
    """A progress callback that holds the import (and so its lock) at its first write
    until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, done: int, total: int, what: str) -> None:
        self.reached.set()
        assert self.release.wait(WAIT)


class Waiting(logging.Handler):
    """Notices an import saying that it waits for another one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting" in record.getMessage():
            self.seen.set()


@pytest.fixture
def waiting() -> Iterator[Waiting]:
    handler = Waiting()
    logger = logging.getLogger("ziggy_migrate")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def in_thread(work: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["report"] = work()
        except BaseException as exc:  # handed to the test to assert on
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_a_second_import_into_the_same_server_waits_for_the_first(waiting: Waiting) -> None:
    bundle = plain_bundle(6)
    with ZiggyEmulator() as target:
        first_held = Paused()
        with client_for(target) as one, client_for(target) as two:
            first, first_result = in_thread(
                lambda: import_bundle(one, bundle, mode="overwrite", progress=first_held)
            )
            assert first_held.reached.wait(WAIT)  # the first is writing, lock held
            second, second_result = in_thread(
                lambda: import_bundle(two, bundle, mode="overwrite", backup=False)
            )
            # the second must wait (and say so) rather than plan against a half-written
            # target; without a lock it would simply run to its end
            while not (waiting.seen.is_set() or not second.is_alive()):
                second.join(0.01)
            first_held.release.set()
            first.join(WAIT)
            second.join(WAIT)
        assert not first.is_alive() and not second.is_alive()
        assert "error" not in first_result and "error" not in second_result
        one_report: ImportReport = first_result["report"]
        two_report: ImportReport = second_result["report"]
        assert one_report.ok and two_report.ok
        assert duplicated_names(target) == NO_DUPLICATES
    assert waiting.seen.is_set()
    # the second planned after the first was done: it found everything, created nothing
    assert {item.result for item in one_report.items} == {Action.CREATE}
    assert {item.result for item in two_report.items} == {Action.OVERWRITE}


def test_with_no_wait_the_second_import_refuses_in_one_line_and_writes_nothing() -> None:
    bundle = plain_bundle(2)
    with ZiggyEmulator() as target:
        first_held = Paused()
        with client_for(target) as one, client_for(target) as two:
            first, first_result = in_thread(
                lambda: import_bundle(one, bundle, mode="skip", progress=first_held)
            )
            assert first_held.reached.wait(WAIT)
            try:
                with pytest.raises(TargetBusyError) as refused:
                    import_bundle(two, bundle, mode="skip", lock_timeout=0)
            finally:
                first_held.release.set()
                first.join(WAIT)
        assert first_result["report"].ok
        assert duplicated_names(target) == NO_DUPLICATES
    message = str(refused.value)
    assert "\n" not in message
    assert f"another import into {target.base_url} is running" in message
    assert f"process {os.getpid()}" in message  # the holder: this test's own process
    assert refused.value.holder.startswith(f"process {os.getpid()} on ")
    assert isinstance(refused.value, ZiggyError)


def test_another_state_folder_has_its_own_lock(tmp_path: Path) -> None:
    """The lock is per server and per state folder: a second folder is another machine."""
    bundle = plain_bundle(1)
    with ZiggyEmulator() as target, ZiggyEmulator() as other:
        first_held = Paused()
        with client_for(target) as one, client_for(other) as two, client_for(target) as three:
            first, _ = in_thread(
                lambda: import_bundle(one, bundle, mode="skip", progress=first_held)
            )
            assert first_held.reached.wait(WAIT)
            try:
                # another server: not blocked
                assert import_bundle(two, bundle, mode="skip", lock_timeout=0).ok
                # the same server from another state folder: not blocked either
                elsewhere = import_bundle(
                    three, bundle, mode="skip", lock_timeout=0, state_dir=tmp_path / "b"
                )
                assert elsewhere.ok
            finally:
                first_held.release.set()
                first.join(WAIT)


_HOLD_THEN_DIE = """
import os, signal, sys
from ziggy_migrate import ZiggyClient, import_bundle, load_bundle
url, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def die(done, total, what):  # the lock is held while the import writes
    os.kill(os.getpid(), signal.SIGKILL)

with ZiggyClient(url, port, "admin", "admin") as client:
    import_bundle(client, load_bundle(path), mode="skip", backup=False, progress=die)
"""


def test_the_lock_of_a_killed_import_does_not_block_the_next(tmp_path: Path) -> None:
    path = save_bundle(plain_bundle(3), tmp_path / "bundle.json")
    with ZiggyEmulator() as target:
        killed = subprocess.run(
            [sys.executable, "-c", _HOLD_THEN_DIE, target.url, str(target.port), str(path)],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            timeout=60,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL
        assert list((Path(os.environ["ZIGGY_STATE_DIR"]) / "locks").iterdir())  # it was held
        with client_for(target) as client:
            report = import_bundle(client, plain_bundle(3), mode="skip", lock_timeout=0)
        assert report.ok
        assert duplicated_names(target) == NO_DUPLICATES


def test_items_made_twice_by_imports_on_two_machines_are_failures_naming_both(
    tmp_path: Path,
) -> None:
    """The first import (state folder A) plans an empty target; before it creates
    anything, a second one (folder B: another machine, another lock) imports the same
    bundle completely. The first then creates its own copies: each is reported as a
    failure naming both UUIDs, never as a success."""
    bundle = plain_bundle(3)
    with ZiggyEmulator() as target, client_for(target) as one, client_for(target) as two:
        others: list[ImportReport] = []

        def other_machine_imports_meanwhile(done: int, total: int, what: str) -> None:
            if not others:
                others.append(
                    import_bundle(two, bundle, mode="skip", state_dir=tmp_path / "machine-b")
                )

        first = import_bundle(
            one,
            bundle,
            mode="skip",
            state_dir=tmp_path / "machine-a",
            progress=other_machine_imports_meanwhile,
            # the callback runs on the first write, while the first secret is created
        )
        state = target.snapshot()
    (second,) = others
    assert second.ok  # it finished before the first made its copies: it saw none
    assert not first.ok
    assert first.to_dict()["status"] == 207
    uuids: dict[tuple[str, str], list[str]] = {}
    for kind in ItemKind:
        for row in state[kind.plural]:
            uuids.setdefault((kind.value, row["name"]), []).append(row["uuid"])
    doubled = {key: sorted(found) for key, found in uuids.items() if len(found) > 1}
    assert set(doubled) == {("connection", "Warehouse")} | {
        ("flow", f"Flow {i:03d}") for i in range(3)
    }
    # each item made twice is a failure of the first import, naming both UUIDs
    assert {(item.kind.value, item.name) for item in first.failed} == set(doubled)
    for item in first.failed:
        assert item.error is not None and "created twice" in item.error
        assert not item.is_processed
        assert all(uuid in item.error for uuid in doubled[(item.kind.value, item.name)])
