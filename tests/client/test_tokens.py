"""The bearer token: reused, renewed by refresh or by logging in again, and given up on."""

from __future__ import annotations

import time

import pytest

from ziggy_migrate import AuthenticationError, RetryPolicy, ServerError, ZiggyClient, import_bundle
from ziggy_migrate.testing import Answer, FaultPlan, ZiggyEmulator

from ..test_reliability import big_bundle, comparable
from . import connect, login_count


def test_expired_token_is_renewed_transparently(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    flow = emulator.add_flow("Orders")
    client.login()
    emulator.expire_tokens()
    assert client.get_flow(flow["uuid"]).flow.name == "Orders"
    # renewed through the refresh endpoint: the password is not sent a second time
    assert login_count(emulator) == 1
    assert emulator.request_count("POST", "/api/auth/refresh-token") == 1
    statuses = [r.status for r in emulator.requests if r.path == f"/api/flow/{flow['uuid']}"]
    assert statuses == [401, 200]


def test_revoked_token_falls_back_to_logging_in_again(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    flow = emulator.add_flow("Orders")
    client.login()
    emulator.revoke_tokens()
    assert client.get_flow(flow["uuid"]).flow.name == "Orders"
    refreshes = [r.status for r in emulator.requests if r.path == "/api/auth/refresh-token"]
    assert refreshes == [401]
    assert login_count(emulator) == 2


def test_token_lifetime_expiry_is_renewed_transparently() -> None:
    lifetime = 0.3
    with ZiggyEmulator(token_lifetime=lifetime) as ziggy, connect(ziggy) as short:
        ziggy.add_flow("Orders")
        short.login()
        time.sleep(lifetime + 0.2)  # let the token run out (not a timing assertion)
        assert [flow.name for flow in short.list_flows()] == ["Orders"]
        assert ziggy.request_count("POST", "/api/auth/refresh-token") == 1
        assert [r.status for r in ziggy.requests if r.path == "/api/flow"] == [401, 200]


def test_token_refused_twice_raises_authentication_error() -> None:
    """A server that refuses even a fresh token ends in AuthenticationError, not a loop."""
    with ZiggyEmulator(token_lifetime=0.0) as ziggy, connect(ziggy) as doomed:
        with pytest.raises(AuthenticationError) as caught:
            doomed.list_flows()
        assert caught.value.response_code == 401
        # one login, one renewal (by refresh), one retry of the call: then it gives up
        assert login_count(ziggy) == 1
        assert ziggy.request_count("POST", "/api/auth/refresh-token") == 1
        assert ziggy.request_count("GET", "/api/flow") == 2


def test_a_token_refused_again_later_in_a_retry_sequence_is_renewed_again() -> None:
    """A server restarting behind its load balancer answers 503 and forgets every token,
    three times over while one GET is being retried: each refusal is renewed."""
    restart = Answer(status=503, expire_tokens=True)
    with ZiggyEmulator() as ziggy, connect(ziggy) as client:
        flow = ziggy.add_flow("Orders")
        client.login()
        ziggy.override("GET", "/api/flow/*", restart, None, times=6)
        assert client.get_flow(flow["uuid"]).flow.name == "Orders"
        statuses = [r.status for r in ziggy.requests if r.path.startswith("/api/flow/")]
        renewals = ziggy.request_count("POST", "/api/auth/refresh-token")
    assert statuses == [503, 401, 503, 401, 503, 401, 200]
    assert renewals == 3
    assert client.retries == 3  # the 503s; a renewal is not a retry


def test_renewals_are_bounded_by_the_retries() -> None:
    """A server that forgets every token at every other answer is given up on when the
    retries run out: a renewal is never followed by another without a failure between."""
    restart = Answer(status=503, expire_tokens=True)
    policy = RetryPolicy(attempts=4, backoff=0.0)
    with ZiggyEmulator() as ziggy, connect(ziggy, retry=policy) as client:
        flow = ziggy.add_flow("Orders")
        ziggy.override("GET", "/api/flow/*", restart, None)
        with pytest.raises(ServerError):
            client.get_flow(flow["uuid"])
        statuses = [r.status for r in ziggy.requests if r.path.startswith("/api/flow/")]
        renewals = ziggy.request_count("POST", "/api/auth/refresh-token")
    assert statuses == [503, 401, 503, 401, 503, 401, 503]
    assert renewals == 3


@pytest.mark.slow
def test_tokens_shorter_than_a_retry_sequence_converge_like_long_ones() -> None:
    """1.5 s tokens, faults on 40% of the requests and pauses of up to a second: many
    retry sequences outlive a token, some of them twice. The end state is the same as
    with tokens that never expire, and nothing failed."""
    bundle = big_bundle(12, connections=4, secrets=4)
    with ZiggyEmulator() as clean, connect(clean) as client:
        assert import_bundle(client, bundle, mode="overwrite", backup=False).ok
        reference = comparable(clean.snapshot())
    faults = FaultPlan(error_rate=0.4, retry_after=0, seed=5)
    patient = RetryPolicy(attempts=12, backoff=0.5, max_backoff=1.0, total=60.0)
    with (
        ZiggyEmulator(token_lifetime=1.5, faults=faults) as short,
        connect(short, retry=patient) as client,
    ):
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
        refused = sum(1 for r in short.requests if r.status == 401)
        state = comparable(short.snapshot())
    assert report.ok, [item.error for item in report.failed][:3]
    assert refused > 1
    assert state == reference
