"""Working through items on as many threads as the client's concurrency level allows.

Barriers prove how many run at once (too few threads and a barrier breaks); counts under
a lock prove how many ever did. No sleeps, no timing.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ziggy_migrate._engine.fetching import each_in_parallel, fetched_in_order

BARRIER_SECONDS = 10.0


class _Running:
    """How many calls run at once, at most and as each one starts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.at_start: dict[int, int] = {}

    def enter(self, key: int) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.at_start[key] = self.now

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class _Limit:
    """What a client says of its requests in flight; a test moves ``concurrency``."""

    def __init__(self, concurrency: int, max_workers: int = 8) -> None:
        self.concurrency = concurrency
        self.max_workers = max_workers
        self.holding = False
        self.said: list[bool] = []

    def held_back(self, holding: bool) -> None:
        assert holding != self.holding  # each True matched by one False
        self.holding = holding
        self.said.append(holding)


def _workers_alive() -> int:
    return sum(thread.name == "ziggy-migrate-worker" for thread in threading.enumerate())


def test_runs_every_key_once_with_as_many_at_once_as_the_level() -> None:
    running = _Running()
    barrier = threading.Barrier(3, timeout=BARRIER_SECONDS)
    done: list[int] = []

    def work(key: int) -> None:
        running.enter(key)
        if key < 3:
            barrier.wait()  # the first three run at once
        with running.lock:
            done.append(key)
        running.leave()

    limit = _Limit(3)
    each_in_parallel(work, list(range(40)), limit)
    assert sorted(done) == list(range(40))
    assert running.most == 3
    assert _workers_alive() == 0
    assert limit.said == [True, False]  # held back by the level while keys were left


def test_a_run_at_the_most_workers_is_not_held_back_by_the_level() -> None:
    limit = _Limit(8, max_workers=8)
    each_in_parallel(lambda key: None, list(range(40)), limit)
    assert limit.said == []


def test_a_level_that_falls_leaves_fewer_threads_taking_keys() -> None:
    running = _Running()
    limit = _Limit(4)

    def fall() -> None:
        limit.concurrency = 1

    barrier = threading.Barrier(4, timeout=BARRIER_SECONDS, action=fall)

    def work(key: int) -> None:
        running.enter(key)
        if key < 4:
            barrier.wait()  # four at once, then the level falls to one
        running.leave()

    each_in_parallel(work, list(range(20)), limit)
    assert running.most == 4
    assert all(running.at_start[key] == 1 for key in range(4, 20))


def test_a_level_that_rises_starts_more_threads() -> None:
    limit = _Limit(1)
    barrier = threading.Barrier(3, timeout=BARRIER_SECONDS)

    def work(key: int) -> None:
        if key == 0:
            limit.concurrency = 3
        elif key <= 3:
            barrier.wait()  # keys 1 to 3 at once: two threads were started for them

    each_in_parallel(work, list(range(10)), limit)


def test_the_first_failure_is_raised_and_nothing_starts_after_it() -> None:
    started: list[int] = []

    def work(key: int) -> None:
        started.append(key)
        if key == 2:
            raise ValueError("key 2")

    with pytest.raises(ValueError, match="key 2"):
        each_in_parallel(work, list(range(10)), _Limit(1, max_workers=4))
    assert started == [0, 1, 2]
    assert _workers_alive() == 0


def test_the_calls_on_the_wire_end_before_the_failure_is_raised() -> None:
    barrier = threading.Barrier(2, timeout=BARRIER_SECONDS)
    ended: list[int] = []

    def work(key: int) -> None:
        if key == 0:
            barrier.wait()
            raise ValueError("key 0")
        if key == 1:
            barrier.wait()  # on the wire when key 0 fails
            ended.append(key)

    with pytest.raises(ValueError, match="key 0"):
        each_in_parallel(work, list(range(10)), _Limit(2, max_workers=2))
    assert ended == [1]


def test_fetched_in_order_answers_in_order_and_never_too_far_ahead() -> None:
    lock = threading.Lock()
    counts = {"started": 0, "taken": 0, "most_ahead": 0}

    def fetch(key: int) -> int:
        with lock:
            counts["started"] += 1
            counts["most_ahead"] = max(counts["most_ahead"], counts["started"] - counts["taken"])
        return key * 10

    answers = []
    for answer in fetched_in_order(fetch, list(range(200)), _Limit(8), ahead=5):
        answers.append(answer)
        with lock:
            counts["taken"] += 1
    assert answers == [key * 10 for key in range(200)]
    # five ahead of what this loop took, and one more: the answer being handed to it
    assert counts["most_ahead"] <= 6


def test_a_run_waiting_for_its_caller_is_not_held_back_by_the_level() -> None:
    """Fetched as far ahead as allowed, the workers wait for the caller: more slots would
    not help, so the limit is told the run is no longer held back by it."""
    released = threading.Event()

    class _Watched(_Limit):
        def held_back(self, holding: bool) -> None:
            super().held_back(holding)
            if not holding:
                released.set()

    limit = _Watched(2)
    answers = fetched_in_order(lambda key: key, list(range(30)), limit, ahead=4)
    assert next(answers) == 0
    # the caller takes nothing more until the workers, four ahead, wait for it
    assert released.wait(BARRIER_SECONDS)
    assert limit.said == [True, False]
    assert list(answers) == list(range(1, 30))


def test_fetched_in_order_raises_where_the_failed_answer_would_be() -> None:
    def fetch(key: int) -> int:
        if key == 5:
            raise KeyError(key)
        return key

    answers: list[int] = []

    def take_all() -> None:
        answers.extend(fetched_in_order(fetch, list(range(50)), _Limit(4), ahead=4))

    with pytest.raises(KeyError):
        take_all()
    assert answers == [0, 1, 2, 3, 4]
    assert _workers_alive() == 0


def test_a_caller_that_stops_taking_leaves_no_thread_behind() -> None:
    def fetch(key: int) -> Any:
        return key

    for answer in fetched_in_order(fetch, list(range(100)), _Limit(4), ahead=3):
        if answer == 10:
            break
    assert _workers_alive() == 0
