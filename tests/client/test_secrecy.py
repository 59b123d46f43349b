"""No password, token or secret value in logs, errors or anything else the client shows."""

from __future__ import annotations

import logging

import attrs
import pytest

from ziggy_migrate import AuthenticationError, ZiggyClient
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from . import FAST, PLANTED_PASSWORD, PLANTED_SECRET_VALUE, connect, login_count


def test_no_password_or_secret_value_in_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    faults = FaultPlan(
        error_rate=0.15,
        rate_limit_rate=0.1,
        drop_before_rate=0.1,
        drop_after_rate=0.1,
        retry_after=0,
        methods=frozenset({"GET", "PUT", "PATCH"}),
        seed=9,
    )
    wrong = "wrong-Pa55word-b7e1"
    with ZiggyEmulator(password=PLANTED_PASSWORD, faults=faults) as ziggy:
        secret = ziggy.add_secret("PG")
        flow = ziggy.add_flow("Orders", nodes=[{"id": "1", "data": {"code": "secrets.PG"}}])
        connection = ziggy.add_connection("pg", dev_value="{ password: 'secrets.PG' }")
        with connect(ziggy) as flaky:
            for round_number in range(3):
                flaky.list_flows()
                flaky.get_flow(flow["uuid"])
                flaky.set_secret_value(secret["uuid"], PLANTED_SECRET_VALUE)
                flaky.list_secrets()
                current = flaky.get_connection(connection["uuid"])
                flaky.update_connection(
                    connection["uuid"], attrs.evolve(current, description=f"r{round_number}")
                )
                # both ways to renew: by refresh (expired) and by logging in (revoked)
                if round_number % 2:
                    ziggy.expire_tokens()
                else:
                    ziggy.revoke_tokens()
            assert flaky.retries > 0
            assert ziggy.request_count("POST", "/api/auth/refresh-token") >= 2
        with (
            ZiggyClient(ziggy.url, ziggy.port, "admin", wrong, retry=FAST) as bad,
            pytest.raises(AuthenticationError),
        ):
            bad.login()
        assert login_count(ziggy) >= 3  # first, after a revocation, and the wrong password
        assert ziggy.snapshot()["secrets"][0]["prodValue"] == PLANTED_SECRET_VALUE

    ours = [r for r in caplog.records if r.name.startswith("ziggy_migrate")]
    assert any(r.levelno == logging.DEBUG for r in ours), "DEBUG records must be captured"
    assert any("renewing it" in r.getMessage() for r in ours)
    assert any("retrying" in r.getMessage() for r in ours)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        text = formatter.format(record) + repr(record.args)
        for planted in (PLANTED_PASSWORD, PLANTED_SECRET_VALUE, wrong):
            assert planted not in text, f"{planted} leaked in {record.name}: {text[:200]}"
