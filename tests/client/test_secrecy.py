"""No password, token or secret value in logs, errors or anything else the client shows."""

from __future__ import annotations

import json
import logging

import attrs
import pytest

from ziggy_migrate import (
    AuthenticationError,
    BadRequestError,
    Bundle,
    Connection,
    Flow,
    NotZiggyServerError,
    Provenance,
    Secret,
    SourceServer,
    ZiggyClient,
    import_bundle,
)
from ziggy_migrate.testing import Answer, FaultPlan, ZiggyEmulator

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


def _planted_bundle() -> Bundle:
    """A connection and a flow that exist on the target by name, to be overwritten."""
    source = SourceServer(url="http://dev.invalid:3000", name="dev")
    return Bundle(
        provenance=Provenance(source=source, tool_version="t", exported_at="2026-01-01T00:00:00Z"),
        flows=(Flow(uuid="f0000000-0000-4000-8000-000000000001", name="Orders"),),
        connections=(
            Connection(
                uuid="c0000000-0000-4000-8000-000000000001",
                name="pg",
                type="Postgres",
                dev_value="{ password: secrets.PG }",
            ),
        ),
        secrets=(Secret(uuid="50000000-0000-4000-8000-000000000001", name="PG"),),
    )


def test_secret_values_a_server_echoes_in_its_errors_are_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A careless server quotes every secret value it holds in its error messages; the
    client read those values when it listed the secrets, and shows none of them."""
    caplog.set_level(logging.DEBUG)
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"PUT"}))
    with ZiggyEmulator(password=PLANTED_PASSWORD, leaky_errors=True, faults=faults) as ziggy:
        ziggy.add_secret(
            "PG", prod_value=PLANTED_SECRET_VALUE, dev_value="dev-" + PLANTED_SECRET_VALUE
        )
        ziggy.add_connection("pg", type="Postgres")
        ziggy.add_flow("Orders")
        with connect(ziggy) as client:
            report = import_bundle(client, _planted_bundle(), mode="overwrite", backup=False)
    assert {item.kind.value for item in report.failed} == {"secret", "connection", "flow"}
    errors = [item.error or "" for item in report.failed]
    assert any("secrets in scope: ***, ***" in error for error in errors), errors
    shown = [json.dumps(report.to_dict()), repr(report), caplog.text, *errors]
    for text in shown:
        assert PLANTED_SECRET_VALUE not in text
        assert PLANTED_PASSWORD not in text


def test_a_secret_value_sent_and_echoed_back_is_masked(emulator: ZiggyEmulator) -> None:
    secret = emulator.add_secret("PG")
    value = "n3w-s3cret-value-e4d1"
    emulator.override(
        "PATCH",
        "/api/secret/update-secret-value",
        Answer.json({"statusCode": 400, "message": f"{value} is too weak"}, status=400),
    )
    with connect(emulator) as client, pytest.raises(BadRequestError) as caught:
        client.set_secret_value(secret["uuid"], value)
    error = caught.value
    assert str(error).endswith("the server refused the request (400): *** is too weak")
    assert value not in error.response_body
    assert value not in repr(error)


def test_a_password_in_a_page_that_is_not_ziggys_is_masked(emulator: ZiggyEmulator) -> None:
    emulator.override(
        "POST", "/api/auth/login", Answer.text(f"<title>Bad: {emulator.password}x</title>")
    )
    with (
        ZiggyClient(emulator.url, emulator.port, "admin", "hunter2-long") as client,
        pytest.raises(NotZiggyServerError) as caught,
    ):
        client.login()
    assert "hunter2-long" not in str(caught.value)


def test_a_value_inside_another_is_masked_whole() -> None:
    """Masking the shorter value first would leave the rest of the longer one shown."""
    with ZiggyEmulator() as ziggy:
        ziggy.add_secret("A", prod_value="abc-123")
        ziggy.add_secret("B", prod_value="abc-123-xyz-789")
        ziggy.override(
            "GET",
            "/api/variable",
            Answer.json({"statusCode": 409, "message": "clash: abc-123-xyz-789"}, status=409),
        )
        with connect(ziggy) as client:
            client.list_secrets()
            with pytest.raises(BadRequestError) as caught:
                client.list_variables()
    assert str(caught.value).endswith("(409): clash: ***")
