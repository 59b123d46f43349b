"""A broken or hostile server through the command line: one line saying what is wrong,
the documented exit code, no traceback, no secret value, and retries shown on stderr.

Exit codes (README): 1 for a server that answered but unusably or kept failing, 3 for
one that cannot be reached, does not answer in time, or is not a Ziggy API at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ziggy_migrate.testing import Answer, FaultPlan, ZiggyEmulator

from ..samples import TaggedDev, export_to
from .conftest import Cli


def _export(cli: Cli, path: Path, *extra: str) -> tuple[int, str, str]:
    result = cli("flow", "export", "--server", "dev", "--no-prompt", "-fp", str(path), *extra)
    message = result.json["data"].get("message", "")
    return result.exit_code, message, result.stderr


def _assert_one_clean_line(message: str, stderr: str) -> None:
    assert "\n" not in message
    assert "This is a bug" not in message
    assert "Traceback" not in stderr


MALFORMED = {
    "flow {}": ("GET", "/api/flow/*", Answer.json({}), "GET /api/flow/", "'uuid' is missing"),
    "flow as text": ("GET", "/api/flow/*", Answer.json("x"), "GET /api/flow/", "it is text"),
    "tags a number": (
        "GET",
        "/api/flow/*",
        Answer.rewritten(lambda flow: {**flow, "tags": 3}),
        "GET /api/flow/",
        "'tags' is a number",
    ),
    "graph 50,000 deep": (  # deeper than any supported Python's JSON parser reads
        "GET",
        "/api/flow/*",
        Answer.raw_json('{"uuid": "u", "name": "n", "nodes": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        "GET /api/flow/",
        "nests deeper",
    ),
    "summary without uuid": (
        "GET",
        "/api/flow",
        Answer.json([{"name": "x"}]),
        "GET /api/flow:",
        "'[0].uuid' is missing",
    ),
    "connections an object": (
        "GET",
        "/api/connection",
        Answer.json({"items": []}),
        "GET /api/connection:",
        "it is an object",
    ),
}


@pytest.mark.parametrize(
    ("method", "path", "answer", "endpoint", "problem"), MALFORMED.values(), ids=MALFORMED.keys()
)
def test_a_malformed_answer_is_exit_1_naming_the_request_and_field(
    cli: Cli,
    profiles: TaggedDev,
    dev_emulator: ZiggyEmulator,
    tmp_path: Path,
    method: str,
    path: str,
    answer: Answer,
    endpoint: str,
    problem: str,
) -> None:
    dev_emulator.override(method, path, answer)
    code, message, stderr = _export(cli, tmp_path / "out.json")
    assert code == 1
    assert message.startswith(endpoint)
    assert problem in message
    _assert_one_clean_line(message, stderr)
    assert not (tmp_path / "out.json").exists()


def test_a_backup_answered_as_bare_text_is_exit_1_and_nothing_is_written(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    prod.override("POST", "/api/system/backup-db", Answer.json("ok", status=201))
    result = cli("flow", "import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt")
    assert result.exit_code == 1
    assert result.message.startswith("POST /api/system/backup-db: ")
    _assert_one_clean_line(result.message, result.stderr)
    snapshot = prod.snapshot()
    assert snapshot["flows"] == snapshot["connections"] == snapshot["secrets"] == []


def test_a_graph_deeper_than_a_bundle_holds_is_refused_naming_the_flow(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    """400 levels: every supported Python parses it, the bundle format holds 150. The
    export stops at that flow with one line, the same on every interpreter."""
    deep = '{"uuid": "u", "name": "Deep one", "nodes": ' + "[" * 400 + "]" * 400 + "}"
    dev_emulator.override("GET", "/api/flow/*", Answer.raw_json(deep))
    code, message, stderr = _export(cli, tmp_path / "out.json")
    assert code == 2
    assert "'Deep one'" in message
    assert "nests more than 150 levels" in message
    _assert_one_clean_line(message, stderr)
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    "answer",
    [
        Answer.text("<html><title>Welcome to nginx!</title></html>"),
        Answer.text("<html><title>404 Not Found</title></html>", status=404),
        Answer.text("Not Implemented", status=501, content_type="text/plain"),
        Answer(status=302),
        Answer(status=300, headers=(("Location", "/one"),)),
    ],
    ids=["html page", "404 page", "501", "302 without Location", "300"],
)
def test_a_server_that_is_not_ziggy_is_exit_3_saying_so(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path, answer: Answer
) -> None:
    dev_emulator.override("*", "/**", answer)
    code, message, stderr = _export(cli, tmp_path / "out.json")
    assert code == 3
    assert message.startswith(f"This is not a Ziggy API at {dev_emulator.base_url}: ")
    assert "user name and password" not in message
    assert "hint: Check the profile's URL and port" in stderr  # the CLI's hint
    _assert_one_clean_line(message, stderr)


def test_a_trickling_server_fails_at_the_timeout(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.override("GET", "/api/flow", Answer.json([{"uuid": "x" * 300}], trickle=0.05))
    code, message, stderr = _export(cli, tmp_path / "out.json", "--timeout", "0.5")
    assert code == 3
    assert message.startswith(f"{dev_emulator.base_url} did not answer GET /api/flow in time")
    _assert_one_clean_line(message, stderr)
    assert dev_emulator.request_count("GET", "/api/flow") == 1


def test_a_login_that_never_answers_fails_once(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    prod.override("POST", "/api/auth/login", Answer.no_answer())
    plan = tmp_path / "plan.json"
    result = cli(
        "flow",
        "plan",
        "-s",
        "prod",
        "-fp",
        str(bundle),
        "--skip",
        "-o",
        str(plan),
        "--timeout",
        "0.3",
    )
    assert result.exit_code == 3
    assert "did not answer POST /api/auth/login in time" in result.message
    assert prod.request_count("POST", "/api/auth/login") == 1


def test_a_gzip_bomb_is_exit_1_at_the_answer_limit(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.override("GET", "/api/flow", Answer.gzip_bomb(256 * 1024 * 1024))
    code, message, stderr = _export(cli, tmp_path / "out.json")
    assert code == 1
    assert message.startswith("GET /api/flow: ")
    assert "answered more than 128 MiB" in message
    _assert_one_clean_line(message, stderr)


def test_retries_are_shown_on_stderr(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.faults = FaultPlan(
        error_rate=0.5, retry_after=0, methods=frozenset({"GET"}), seed=2
    )
    code, _, stderr = _export(cli, tmp_path / "out.json", "--retries", "10")
    assert code == 0
    retries = [line for line in stderr.splitlines() if line.startswith("warning: retrying GET ")]
    assert retries
    assert all(", attempt " in line and " of 11 (in " in line for line in retries)


def test_secret_values_echoed_in_server_errors_are_never_printed(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """prod holds the secret's value; its errors quote every value it holds."""
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    planted = "pg-prod-planted-value-5e1c"
    prod.add_secret("PG_PASSWORD", prod_value=planted)
    prod.leaky_errors = True
    prod.faults = FaultPlan(error_rate=1.0, methods=frozenset({"PUT"}))
    result = cli(
        "flow",
        "import",
        "-s",
        "prod",
        "-fp",
        str(bundle),
        "--overwrite",
        "--no-prompt",
        "--retries",
        "1",
    )
    assert result.exit_code == 1
    failed = [
        item
        for key, items in result.json["data"].items()
        if key.endswith("Processed")
        for item in items
        if not item["isProcessed"]
    ]
    assert "PG_PASSWORD" in [item["name"] for item in failed]
    assert any("secrets in scope: ***" in item["error"] for item in failed)
    assert planted not in result.stdout + result.stderr
