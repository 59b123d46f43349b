"""How many requests a client keeps in flight: adaptive by default, pinned by max_workers.

The limiter's rules are checked on their own with a clock the test moves (no sleeps,
no timing): widening while answers stay fast, narrowing once per overload, narrowing on
climbing latency but never below the start. Then, over real HTTP, the emulator counts
what a server sees: a server at its capacity (429 above N in flight) is not hammered, a
fast one gets near its limit, one with N workers (the rest wait) is not flooded, and a
pinned client never has more in flight than asked.
Requests and 429s are counted, never timed.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ziggy_migrate import RetryPolicy, ZiggyClient, export_flows, import_bundle
from ziggy_migrate._client.concurrency import ConcurrencyLimit, Outcome, Ticket
from ziggy_migrate.testing import ZiggyEmulator

from . import connect

KIND = "GET /api/flow 3"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Traffic:
    """Requests that find the limit binding, one at a time: every other slot is held by a
    request still on the wire (``held``), and each answer frees the last slot taken."""

    def __init__(self, limit: ConcurrencyLimit, clock: _Clock) -> None:
        self.limit = limit
        self.clock = clock
        self.held: list[Ticket] = []

    def answer(self, seconds: float, kind: str = KIND) -> None:
        """One saturated request of ``kind`` answered healthily after ``seconds``."""
        level = self.limit.level
        while len(self.held) > level - 1:  # narrowed: the requests beyond it come back
            self.limit.release(self.held.pop(), Outcome.HEALTHY)
        while len(self.held) < level - 1:
            self.held.append(self.limit.acquire(kind))
        ticket = self.limit.acquire(kind)
        assert ticket.saturated
        self.clock.now += seconds
        self.limit.release(ticket, Outcome.HEALTHY)


# ---------------------------------------------------------------- the rules, step by step


def test_widens_one_per_fast_answer_up_to_the_ceiling() -> None:
    clock = _Clock()
    limit = ConcurrencyLimit(start=8, ceiling=20, clock=clock)
    traffic = _Traffic(limit, clock)
    assert limit.level == 8
    for expected in range(9, 21):
        traffic.answer(0.025)
        assert limit.level == expected
    traffic.answer(0.025)
    assert (limit.level, limit.peak) == (20, 20)


def test_an_idle_limit_does_not_widen() -> None:
    """Answers to requests that did not find the limit binding say nothing about it."""
    clock = _Clock()
    limit = ConcurrencyLimit(start=8, clock=clock)
    for _ in range(50):
        ticket = limit.acquire(KIND)  # one at a time: 1 of 8 slots in use
        assert not ticket.saturated
        clock.now += 0.025
        limit.release(ticket, Outcome.HEALTHY)
    assert limit.level == 8


def test_overload_narrows_once_per_event() -> None:
    limit = ConcurrencyLimit(start=10, clock=_Clock())
    sent = [limit.acquire(KIND) for _ in range(10)]
    for ticket in sent:  # ten 429s to requests sent at the same limit: one event
        limit.release(ticket, Outcome.OVERLOADED)
    assert limit.level == 7
    again = [limit.acquire(KIND) for _ in range(7)]
    limit.release(again[0], Outcome.OVERLOADED)
    assert limit.level == 4  # 7 x 0.7
    for ticket in again[1:]:
        limit.release(ticket, Outcome.OVERLOADED)
    assert limit.level == 4


def test_overload_can_narrow_to_one_request() -> None:
    limit = ConcurrencyLimit(start=8, clock=_Clock())
    for _ in range(20):
        limit.release(limit.acquire(KIND), Outcome.OVERLOADED)
    assert limit.level == 1


def test_after_an_overload_widening_is_one_per_window() -> None:
    clock = _Clock()
    limit = ConcurrencyLimit(start=10, clock=clock)
    limit.release(limit.acquire(KIND), Outcome.OVERLOADED)
    assert limit.level == 7
    traffic = _Traffic(limit, clock)
    for _ in range(6):  # a window is 7 answers: not yet
        traffic.answer(0.025)
    assert limit.level == 7
    traffic.answer(0.025)
    assert limit.level == 8


def test_climbing_latency_narrows_but_never_below_the_start() -> None:
    clock = _Clock()
    limit = ConcurrencyLimit(start=8, ceiling=64, clock=clock)
    traffic = _Traffic(limit, clock)
    for _ in range(12):
        traffic.answer(0.025)
    assert limit.level == 20
    levels = []
    for _ in range(400):  # answers now take three times the fastest
        traffic.answer(0.075)
        levels.append(limit.level)
    assert levels[0] == 20
    assert 8 in levels
    assert min(levels) == 8
    assert levels == sorted(levels, reverse=True)  # only narrowing while it stays slow


def test_answers_within_a_fifth_of_the_fastest_keep_widening() -> None:
    """Ordinary jitter (up to 1.2x the fastest) is not taken for queueing."""
    clock = _Clock()
    limit = ConcurrencyLimit(start=8, ceiling=64, clock=clock)
    traffic = _Traffic(limit, clock)
    for index in range(56):
        traffic.answer((0.025, 0.030, 0.027, 0.029)[index % 4])
    assert limit.level == 64


def test_a_slow_kind_of_request_is_not_mistaken_for_climbing_latency() -> None:
    """Lists are slower than single items by nature: each kind has its own fastest."""
    clock = _Clock()
    limit = ConcurrencyLimit(start=8, ceiling=64, clock=clock)
    traffic = _Traffic(limit, clock)
    for index in range(40):
        if index % 2:
            traffic.answer(0.025)
        else:
            traffic.answer(0.4, "GET /api/flow 2")
    assert limit.level == 48


def test_a_pinned_limit_never_changes() -> None:
    clock = _Clock()
    limit = ConcurrencyLimit(fixed=4, clock=clock)
    _Traffic(limit, clock).answer(0.025)
    limit.release(limit.acquire(KIND), Outcome.OVERLOADED)
    assert (limit.adaptive, limit.level, limit.peak) == (False, 4, 4)


def test_changes_of_level_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    limit = ConcurrencyLimit(start=8, name="https://ziggy.example.com", clock=clock)
    with caplog.at_level(logging.DEBUG, logger="ziggy_migrate.http"):
        _Traffic(limit, clock).answer(0.025)
        limit.release(limit.acquire(KIND), Outcome.OVERLOADED)
    assert [record.getMessage() for record in caplog.records] == [
        "concurrency with https://ziggy.example.com: 8 -> 9 requests in flight (answers stay fast)",
        "concurrency with https://ziggy.example.com: 9 -> 6 requests in flight "
        "(the server is overloaded)",
    ]


# ---------------------------------------------------------------- against a server


def _seed(ziggy: ZiggyEmulator, flows: int) -> None:
    for index in range(flows):
        ziggy.add_flow(f"Flow {index:03d}", nodes=[{"id": "n1", "type": "x", "data": {}}])


def _turned_away(ziggy: ZiggyEmulator) -> int:
    return sum(1 for record in ziggy.requests if record.fault == "capacity")


def _fetched_all_at_once(client: ZiggyClient, uuids: list[str]) -> list[str]:
    """Each flow fetched by a thread of its own, all sent at the same moment."""
    barrier = threading.Barrier(len(uuids))

    def fetch(uuid: str) -> str:
        barrier.wait()
        return client.get_flow(uuid).flow.uuid

    with ThreadPoolExecutor(max_workers=len(uuids)) as pool:
        return list(pool.map(fetch, uuids))


PATIENT = RetryPolicy(attempts=40, backoff=0.01, max_backoff=0.05, total=120.0)
"""Retries enough for a client that ignores a server's capacity to finish anyway."""


def test_a_server_at_its_capacity_is_not_hammered() -> None:
    flows = 150
    with ZiggyEmulator(capacity=6, latency=0.05) as ziggy:
        _seed(ziggy, flows)
        with connect(ziggy, retry=PATIENT) as client:
            client.login()
            ziggy.reset_requests()
            result = export_flows(client)
            adaptive = _turned_away(ziggy)
            assert len(result.bundle.flows) == flows
            served = [record for record in ziggy.requests if record.fault is None]
            assert sum(1 for record in served if record.path.startswith("/api/flow/")) == flows
            assert len(ziggy.requests) == result.requests  # each 429 asked once more
            assert ziggy.peak_in_flight <= 6
            # it ends on its sawtooth: between 0.7x and 1x the level a 429 comes back at,
            # which can be one widening past the capacity + 1 (CI once saw 8)
            assert client.concurrency <= 8
        # the same export from a client pinned far above the capacity, for contrast
        with connect(ziggy, retry=PATIENT, max_workers=32) as pinned:
            pinned.login()
            ziggy.reset_requests()
            export_flows(pinned)
            hammering = _turned_away(ziggy)
    assert adaptive <= 0.15 * flows
    assert hammering > 3 * adaptive


def test_a_fast_server_gets_near_its_capacity() -> None:
    with ZiggyEmulator(capacity=16, latency=0.05) as ziggy:
        _seed(ziggy, 300)
        with connect(ziggy, retry=PATIENT) as client:
            client.login()
            ziggy.reset_requests()
            export_flows(client)
            assert client.concurrency_peak >= 14
    assert ziggy.peak_in_flight >= 14


def test_a_fast_server_without_a_limit_gets_the_ceiling() -> None:
    with ZiggyEmulator(latency=0.1) as ziggy:
        _seed(ziggy, 200)
        with connect(ziggy, max_concurrency=24) as client:
            assert (client.adaptive, client.concurrency, client.max_workers) == (True, 8, 24)
            client.login()
            ziggy.reset_requests()
            export_flows(client)
            assert client.concurrency_peak == 24
    assert ziggy.peak_in_flight >= 20
    assert ziggy.peak_in_flight <= 24


def test_a_server_that_queues_beyond_its_workers_is_not_flooded() -> None:
    """A server with 20 workers answers the 21st request in flight only when one is
    free, so answers take longer the more are in flight: the client settles not far
    above 20, well under its ceiling of 64 (a limit that ignored latency stays there)."""
    with ZiggyEmulator(workers=20, latency=0.05) as ziggy:
        _seed(ziggy, 1000)
        with connect(ziggy) as client:
            result = export_flows(client)
            assert len(result.bundle.flows) == 1000
            assert 16 <= client.concurrency <= 36


def test_the_emulator_serves_no_more_requests_at_once_than_its_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ZiggyEmulator(workers=3, latency=0.05) as ziggy:
        rows = [ziggy.add_flow(f"Flow {index:02d}") for index in range(12)]
        served_at_once: list[int] = []
        served = ziggy._served

        def watched(*args: Any) -> Any:
            served_at_once.append(ziggy._busy_workers)
            return served(*args)

        monkeypatch.setattr(ziggy, "_served", watched)  # the workers' inside, watched
        with connect(ziggy, max_workers=12) as client:
            client.login()
            fetched = _fetched_all_at_once(client, [row["uuid"] for row in rows])
        assert fetched == [row["uuid"] for row in rows]
    assert ziggy.peak_in_flight == 12  # all of them in flight: 3 worked on, 9 waiting
    assert max(served_at_once) == 3


def test_a_pinned_client_never_has_more_in_flight_than_asked() -> None:
    with ZiggyEmulator(latency=0.05) as ziggy:
        rows = [ziggy.add_flow(f"Flow {index:02d}") for index in range(24)]
        with connect(ziggy, max_workers=4) as client:
            client.login()
            ziggy.reset_requests()
            fetched = _fetched_all_at_once(client, [row["uuid"] for row in rows])
            assert fetched == [row["uuid"] for row in rows]
            assert (client.adaptive, client.concurrency, client.max_workers) == (False, 4, 4)
    assert ziggy.peak_in_flight == 4


def test_creates_stay_once_at_a_server_at_its_capacity() -> None:
    """429 means not applied: each item is created exactly once, however often refused."""
    with ZiggyEmulator(name="dev") as dev:
        _seed(dev, 60)
        with connect(dev) as source:
            bundle = export_flows(source).bundle
    with ZiggyEmulator(name="prod", capacity=3, latency=0.02) as prod:
        with connect(prod, retry=PATIENT) as client:
            report = import_bundle(client, bundle, mode="skip", backup=False)
        assert report.ok
        assert _turned_away(prod) > 0
        snapshot = prod.snapshot()
    assert sorted(flow["name"] for flow in snapshot["flows"]) == [
        f"Flow {index:03d}" for index in range(60)
    ]
