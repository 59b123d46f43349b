"""Retries of safe requests: which failures, how long to pause, when to give up."""

from __future__ import annotations

import logging
import random
import re
import time

import attrs
import pytest

from ziggy_migrate import (
    Connection,
    RateLimitedError,
    RetryEvent,
    RetryPolicy,
    ServerError,
    ServerUnreachableError,
    Variable,
)
from ziggy_migrate._client import transport as _http
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from . import FAST, connect, fault_count


def test_gets_and_puts_survive_server_errors() -> None:
    faults = FaultPlan(error_rate=0.3, methods=frozenset({"GET", "PUT"}), seed=11)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        seeded = [ziggy.add_connection(f"c{i}", type="SMTP") for i in range(8)]
        for row in seeded:
            connection = flaky.get_connection(row["uuid"])
            flaky.update_connection(row["uuid"], attrs.evolve(connection, description="done"))
        assert [row["description"] for row in ziggy.snapshot()["connections"]] == ["done"] * 8
        assert flaky.retries > 0
        faulted = [r.fault for r in ziggy.requests if r.fault is not None]
        assert set(faulted) <= {"500", "503"}
        # each fault on a repeatable request costs exactly one retry
        assert flaky.retries == len(faulted)


def test_rate_limits_are_retried() -> None:
    faults = FaultPlan(rate_limit_rate=0.4, retry_after=0, seed=5)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as limited:
        flows = [ziggy.add_flow(f"Flow {i}") for i in range(6)]
        for row in flows:
            assert limited.get_flow(row["uuid"]).flow.name == row["name"]
        created = limited.create_connection(Connection(uuid="", name="pg", type="Postgres"))
        assert limited.retries > 0
        assert limited.retries == fault_count(ziggy)
        assert [row["uuid"] for row in ziggy.snapshot()["connections"]] == [created.uuid]


class _SleepSpy:
    """Stands in for the ``time`` module inside ``_http`` to record the pauses asked for."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        time.sleep(seconds)

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()


def test_retry_after_is_honoured_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _SleepSpy()
    monkeypatch.setattr(_http, "time", spy)
    faults = FaultPlan(rate_limit_rate=0.5, retry_after=3, seed=2)
    policy = RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.02)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as limited:
        for _ in range(6):
            limited.list_flows()
        assert spy.pauses, "the seed must produce at least one 429"
        # Retry-After 3 s, capped by max_backoff; the exponential backoff would give less
        assert spy.pauses == [0.02] * len(spy.pauses)
        assert len(spy.pauses) == limited.retries == fault_count(ziggy)


def test_retry_after_zero_means_no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _SleepSpy()
    monkeypatch.setattr(_http, "time", spy)
    faults = FaultPlan(rate_limit_rate=0.5, retry_after=0, seed=2)
    policy = RetryPolicy(attempts=8, backoff=5.0, max_backoff=5.0)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as limited:
        for _ in range(6):
            limited.list_flows()
        assert spy.pauses
        assert spy.pauses == [0.0] * len(spy.pauses)


def test_retry_policy_pause() -> None:
    rng = random.Random(0)
    policy = RetryPolicy(backoff=0.5, max_backoff=3.0)
    assert policy.pause(1, 10.0, rng) == 3.0
    assert policy.pause(1, -1.0, rng) == 0.0
    assert 0.25 <= policy.pause(1, None, rng) <= 0.5
    assert 1.0 <= policy.pause(3, None, rng) <= 2.0
    assert 1.5 <= policy.pause(10, None, rng) <= 3.0


@pytest.mark.parametrize(
    "faults",
    [
        FaultPlan(drop_before_rate=0.35, methods=frozenset({"GET", "PUT"}), seed=7),
        FaultPlan(drop_after_rate=0.35, methods=frozenset({"GET", "PUT"}), seed=7),
        FaultPlan(cut_short_rate=0.35, methods=frozenset({"GET", "PUT"}), seed=7),
    ],
    ids=["drop_before", "drop_after", "cut_short"],
)
def test_gets_and_puts_survive_dropped_connections(faults: FaultPlan) -> None:
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        seeded = [ziggy.add_variable(f"v{i}", value="old") for i in range(6)]
        for row in seeded:
            flaky.update_variable(
                row["uuid"], Variable(uuid=row["uuid"], name=row["name"], value="new")
            )
            assert {v.uuid: v.value for v in flaky.list_variables()}[row["uuid"]] == "new"
        assert [row["value"] for row in ziggy.snapshot()["variables"]] == ["new"] * 6
        assert flaky.retries > 0
        assert flaky.retries == fault_count(ziggy)


def test_an_answer_cut_short_is_read_again_not_half_used() -> None:
    """A flow's answer broken off halfway (the head arrived, then the connection reset)
    is asked for again; the flow returned is the whole one."""
    faults = FaultPlan(cut_short_rate=0.5, methods=frozenset({"GET"}), seed=3)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        nodes = [{"id": str(i), "data": {"label": "x" * 200}} for i in range(40)]
        uuids = [ziggy.add_flow(f"f{i}", nodes=nodes)["uuid"] for i in range(6)]
        fetched = [flaky.get_flow(uuid) for uuid in uuids]
        cut = [r for r in ziggy.requests if r.fault == "cut_short"]
    assert [item.flow.nodes for item in fetched] == [nodes] * 6
    assert cut
    assert flaky.retries == len(cut)


def test_answers_always_cut_short_end_in_one_line_that_says_where_to_look() -> None:
    faults = FaultPlan(cut_short_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.0)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as flaky:
        flow = ziggy.add_flow("Orders")
        with pytest.raises(ServerUnreachableError) as caught:
            flaky.get_flow(flow["uuid"])
        attempts = ziggy.request_count("GET", "/api/flow/")
    assert attempts == 3
    message = str(caught.value)
    assert "\n" not in message
    assert f"kept breaking off its answer to GET /api/flow/{flow['uuid']}" in message
    assert "proxy or load balancer" in message


def test_retries_exhausted_raise_server_error_with_status() -> None:
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        flow = ziggy.add_flow("Orders")
        with pytest.raises(ServerError) as caught:
            broken.get_flow(flow["uuid"])
        assert caught.value.response_code in (500, 503)
        assert "after retries" in str(caught.value)
        assert ziggy.request_count("GET", "/api/flow/") == 3
        assert broken.retries == 2


def test_rate_limit_exhausted_raises_rate_limited() -> None:
    faults = FaultPlan(rate_limit_rate=1.0, retry_after=0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        with pytest.raises(RateLimitedError) as caught:
            broken.list_flows()
        assert caught.value.response_code == 429
        assert ziggy.request_count("GET", "/api/flow") == 3


def test_dropped_get_exhausted_raises_server_unreachable() -> None:
    faults = FaultPlan(drop_before_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        with pytest.raises(ServerUnreachableError) as caught:
            broken.list_flows()
        assert ziggy.base_url in str(caught.value)


def test_each_retry_is_a_warning_saying_what_and_which_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ziggy_migrate")
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        flow = ziggy.add_flow("Orders")
        with pytest.raises(ServerError):
            broken.get_flow(flow["uuid"])
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    pattern = rf"retrying GET /api/flow/{flow['uuid']}: 50[03], attempt (\d) of 3 \(in 0\.00 s\)"
    matches = [re.fullmatch(pattern, line) for line in lines]
    assert [
        match.group(1) if match else line for match, line in zip(matches, lines, strict=True)
    ] == [
        "2",
        "3",
    ]


def test_the_on_retry_hook_hears_of_every_retry() -> None:
    events: list[RetryEvent] = []
    faults = FaultPlan(error_rate=0.5, drop_before_rate=0.2, methods=frozenset({"GET"}), seed=3)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, on_retry=events.append) as flaky:
        for index in range(6):
            ziggy.add_variable(f"v{index}")
            flaky.list_variables()
    assert len(events) == flaky.retries == fault_count(ziggy) > 0
    assert {(event.method, event.path, event.attempts) for event in events} == {
        ("GET", "/api/variable", FAST.attempts)
    }
    assert {event.reason for event in events} <= {
        "500",
        "503",
        "the connection failed or was dropped",
    }
    assert all(event.attempt >= 2 for event in events)
    assert str(events[0]).startswith(f"retrying GET /api/variable: {events[0].reason}, attempt ")


def test_a_create_tried_again_is_a_retry_the_hook_hears_of() -> None:
    events: list[RetryEvent] = []
    faults = FaultPlan(drop_before_rate=1.0, methods=frozenset({"POST"}))
    with (
        ZiggyEmulator(faults=faults) as ziggy,
        connect(ziggy, on_retry=events.append) as broken,
        pytest.raises(ServerError),
    ):
        broken.create_variable(Variable(uuid="", name="region"))
    assert [event.attempt for event in events] == list(range(2, FAST.attempts + 1))
    assert {(event.method, event.path) for event in events} == {("POST", "/api/variable")}
