"""The emulator's scripted misbehaviour: overrides with :class:`Answer`, leaky errors.

Tests of the client lean on these knobs to stage broken and hostile servers, so each is
pinned here over real HTTP with ``requests`` and raw sockets, independent of our client.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket

import pytest
import requests

from ziggy_migrate.testing import Answer, FaultPlan, ZiggyEmulator

TIMEOUT = 10.0
PLANTED = "planted-leaky-value-31f9"


def token_of(ziggy: ZiggyEmulator) -> str:
    body = {"username": ziggy.username, "password": ziggy.password}
    answer = requests.post(f"{ziggy.base_url}/api/auth/login", json=body, timeout=TIMEOUT)
    token: str = answer.json()["token"]
    return token


def get(ziggy: ZiggyEmulator, path: str, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{ziggy.base_url}{path}", headers=headers, timeout=TIMEOUT)


def test_an_override_answers_instead_of_the_api_and_is_logged(emulator: ZiggyEmulator) -> None:
    flow = emulator.add_flow("Orders")
    token = token_of(emulator)
    emulator.override("GET", "/api/flow/*", Answer.json({"not": "a flow"}, status=202))
    answer = get(emulator, f"/api/flow/{flow['uuid']}", token)
    assert (answer.status_code, answer.json()) == (202, {"not": "a flow"})
    listed = get(emulator, "/api/flow", token)  # one segment per *: the list is not matched
    assert [row["name"] for row in listed.json()] == ["Orders"]
    record = emulator.requests[-2]
    assert (record.path, record.status, record.fault) == (
        f"/api/flow/{flow['uuid']}",
        202,
        "override",
    )


def test_answers_are_taken_in_turn_and_times_bounds_them(emulator: ZiggyEmulator) -> None:
    token = token_of(emulator)
    emulator.add_variable("region", value="eu")
    emulator.override("GET", "/api/variable", Answer(status=503), None, times=3)
    statuses = [get(emulator, "/api/variable", token).status_code for _ in range(5)]
    assert statuses == [503, 200, 503, 200, 200]
    assert [r.fault for r in emulator.requests[1:]] == ["override", None, "override", None, None]


def test_the_first_matching_override_wins_and_clear_ends_them(emulator: ZiggyEmulator) -> None:
    token = token_of(emulator)
    emulator.override("*", "/api/**", Answer.text("first", status=418))
    emulator.override("GET", "/api/variable", Answer.text("second", status=419))
    assert get(emulator, "/api/variable", token).text == "first"
    emulator.clear_overrides()
    assert get(emulator, "/api/variable", token).json() == []


def test_a_rewritten_answer_comes_from_the_api_which_still_acts(emulator: ZiggyEmulator) -> None:
    token = token_of(emulator)
    emulator.override("POST", "/api/flow/*/*", Answer.rewritten(lambda flow: {"name": "?"}))
    headers = {"Authorization": f"Bearer {token}"}
    answer = requests.post(
        f"{emulator.base_url}/api/flow/Orders/REST", headers=headers, timeout=TIMEOUT
    )
    assert (answer.status_code, answer.json()) == (201, {"name": "?"})
    assert [flow["name"] for flow in emulator.snapshot()["flows"]] == ["Orders"]


def test_an_answer_can_make_the_server_forget_every_token(emulator: ZiggyEmulator) -> None:
    token = token_of(emulator)
    emulator.override("GET", "/api/variable", Answer(status=503, expire_tokens=True), times=1)
    assert get(emulator, "/api/variable", token).status_code == 503
    assert get(emulator, "/api/variable", token).status_code == 401


def test_a_trickled_answer_arrives_whole(emulator: ZiggyEmulator) -> None:
    emulator.override("GET", "/api/health", Answer.text("slow but sure", trickle=0.001))
    answer = requests.get(f"{emulator.base_url}/api/health", timeout=TIMEOUT)
    assert (answer.status_code, answer.text) == (200, "slow but sure")


def test_an_endless_answer_goes_on_past_its_body(emulator: ZiggyEmulator) -> None:
    emulator.override("GET", "/api/health", Answer.raw_json(b"[", endless=True))
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=TIMEOUT)
    connection.request("GET", "/api/health")
    answer = connection.getresponse()
    assert answer.getheader("Transfer-Encoding") == "chunked"
    received = answer.read(4 * 1024 * 1024)
    connection.close()
    assert received[:1] == b"["
    assert len(received) == 4 * 1024 * 1024
    assert set(received[1:]) == {ord(" ")}


def test_a_silent_answer_sends_nothing(emulator: ZiggyEmulator) -> None:
    emulator.override("POST", "/api/auth/login", Answer.no_answer())
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    assert [r.fault for r in emulator.requests] == ["override"]


def test_a_gzip_bomb_is_small_on_the_wire_and_huge_decompressed(emulator: ZiggyEmulator) -> None:
    bomb = Answer.gzip_bomb(64 * 1024 * 1024)
    assert dict(bomb.headers)["Content-Encoding"] == "gzip"
    assert len(bomb.body) < 256 * 1024
    emulator.override("GET", "/api/health", bomb)
    raw = requests.get(f"{emulator.base_url}/api/health", timeout=TIMEOUT, stream=True).raw
    wire = raw.read(decode_content=False)
    assert wire == bomb.body
    assert gzip.decompress(wire) == b" " * (64 * 1024 * 1024)


def test_the_path_patterns(emulator: ZiggyEmulator) -> None:
    emulator.override("GET", "/api/secret/get-obfuscated-by-name/**", Answer.text("a", status=299))
    emulator.override("DELETE", "/**", Answer.text("b", status=298))
    token = token_of(emulator)
    headers = {"Authorization": f"Bearer {token}"}
    base = emulator.base_url
    assert get(emulator, "/api/secret/get-obfuscated-by-name/PG", token).status_code == 299
    assert get(emulator, "/api/secret", token).status_code == 200
    deleted = requests.delete(f"{base}/api/variable/x", headers=headers, timeout=TIMEOUT)
    assert deleted.status_code == 298


def test_an_answer_is_checked_when_made() -> None:
    with pytest.raises(ValueError, match="three-digit"):
        Answer(status=42)
    with ZiggyEmulator() as ziggy, pytest.raises(ValueError, match="at least one answer"):
        ziggy.override("GET", "/api/flow")


def test_leaky_errors_quote_the_request_and_the_secret_values() -> None:
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"PUT"}))
    with ZiggyEmulator(leaky_errors=True, faults=faults) as ziggy:
        ziggy.add_secret("PG", prod_value=PLANTED)
        variable = ziggy.add_variable("region")
        token = token_of(ziggy)
        headers = {"Authorization": f"Bearer {token}"}
        answer = requests.put(
            f"{ziggy.base_url}/api/variable/{variable['uuid']}",
            json={"value": "sent-value"},
            headers=headers,
            timeout=TIMEOUT,
        )
        refused = requests.post(
            f"{ziggy.base_url}/api/auth/login",
            json={"username": "admin", "password": "wrong-password-here"},
            timeout=TIMEOUT,
        )
    message = answer.json()["message"]
    assert answer.status_code in (500, 503)
    assert PLANTED in message
    assert "sent-value" in message
    assert token in message
    assert "wrong-password-here" in json.dumps(refused.json())
