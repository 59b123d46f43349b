"""Logging in, and the server as a whole: credentials, reachability, health, names."""

from __future__ import annotations

import pytest

from ziggy_migrate import AuthenticationError, RetryPolicy, ServerUnreachableError, ZiggyClient
from ziggy_migrate.testing import ZiggyEmulator

from . import FAST, PLANTED_PASSWORD, free_port, login_count


def test_login_succeeds_and_sends_one_login(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    client.login()
    assert login_count(emulator) == 1
    client.list_flows()
    assert login_count(emulator) == 1, "the token must be reused, not renewed per call"


def test_first_call_logs_in_without_explicit_login(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    emulator.add_flow("Orders")
    assert [flow.name for flow in client.list_flows()] == ["Orders"]
    assert login_count(emulator) == 1


def test_wrong_password_raises_authentication_error_without_the_password() -> None:
    wrong = "wrong-Pa55word-b7e1"
    with ZiggyEmulator(password=PLANTED_PASSWORD) as ziggy:
        bad = ZiggyClient(ziggy.url, ziggy.port, "admin", wrong, retry=FAST)
        with pytest.raises(AuthenticationError) as caught:
            bad.login()
        # a 401 is final: never retried
        assert login_count(ziggy) == 1
    error = caught.value
    assert error.response_code == 401
    assert "check the user name and password" in str(error)
    for text in (str(error), error.args[0], repr(error), error.response_body):
        assert wrong not in text
        assert PLANTED_PASSWORD not in text


def test_wrong_password_on_first_call_raises_authentication_error(
    emulator: ZiggyEmulator,
) -> None:
    with (
        ZiggyClient(emulator.url, emulator.port, "admin", "nope", retry=FAST) as bad,
        pytest.raises(AuthenticationError),
    ):
        bad.list_flows()
    assert emulator.request_count("GET", "/api/flow") == 0


def test_unreachable_server_raises_server_unreachable_naming_the_url() -> None:
    port = free_port()
    policy = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
    with (
        ZiggyClient("http://127.0.0.1", port, "admin", "admin", retry=policy) as lost,
        pytest.raises(ServerUnreachableError) as caught,
    ):
        lost.list_flows()
    assert f"http://127.0.0.1:{port}" in str(caught.value)
    assert lost.retries == 1


def test_health(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    assert client.health() == "OK"
    assert emulator.request_count("GET", "/api/health") == 1


def test_version_info(client: ZiggyClient) -> None:
    info = client.version_info()
    assert (info.major, info.minor, info.build) == (1, 0, 0)
    assert "emulator" in info.info


def test_base_url_and_repr_name_the_server_without_credentials() -> None:
    remote = ZiggyClient("https://prod.example.com/", 443, "admin", PLANTED_PASSWORD, name="prod")
    assert remote.base_url == "https://prod.example.com:443"
    assert "prod" in repr(remote)
    assert PLANTED_PASSWORD not in repr(remote)
    assert ZiggyClient("https://x.example.com", None, "a", "b").base_url == (
        "https://x.example.com"
    )
