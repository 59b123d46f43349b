"""The bearer token: reused, renewed by refresh or by logging in again, and given up on."""

from __future__ import annotations

import time

import pytest

from ziggy_migrate import AuthenticationError, ZiggyClient
from ziggy_migrate.testing import ZiggyEmulator

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
