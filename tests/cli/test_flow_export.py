"""``ziggy flow export`` (and ``ziggy export``) with the docs' exact spellings."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from ..samples import TaggedDev
from .conftest import Cli


def _bundle_flow_names(path: Path) -> list[str]:
    return sorted(flow["name"] for flow in json.loads(path.read_text())["flows"])


def test_docs_spelling_with_two_tags(
    cli: Cli, profiles: TaggedDev, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = "ziggy flow export --server dev --no-prompt --tags 'tag1' 'tag2' --file-path out.json"
    result = cli(*shlex.split(line)[1:])
    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json
    assert document["status"] == 200
    assert document["statusText"] == "OK"
    assert Path(document["data"]["filePath"]).resolve() == tmp_path / "out.json"
    assert document["data"]["counts"]["flows"] == 3  # two tagged + the subflow they call
    # the official CLI's keys too, so its scripts keep working
    assert document["data"]["message"] == "Export successful"
    assert document["data"]["flowCount"] == 3
    assert _bundle_flow_names(tmp_path / "out.json") == [
        "Format address",
        "Invoices",
        "Sync orders",
    ]


@pytest.mark.parametrize(
    "spelling",
    [
        "flow export -s dev --no-prompt -t tag1 -fp {out}",
        "flow export --server dev --no-prompt --tags tag1 --save-path {out}",
        "flow export --no-prompt --tags tag1 --file-path {out}",  # the default server
        "export --server dev --no-prompt --tags tag1 --file-path {out}",  # docs' shortcut
        "flow export --server=dev --no-prompt --tags=tag1 --file-path={out}",
    ],
)
def test_every_spelling_of_server_tags_and_path(
    cli: Cli, profiles: TaggedDev, tmp_path: Path, spelling: str
) -> None:
    out = tmp_path / "bundle.json"
    result = cli(*shlex.split(spelling.format(out=out)))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json["data"]["counts"]["flows"] == 2
    assert _bundle_flow_names(out) == ["Format address", "Sync orders"]


@pytest.mark.parametrize(
    "flow_args",
    [
        ["--flow-ids", "{orders}", "{invoices}"],
        ["-f", "{orders}", "{invoices}"],
        ["-f", "{orders}", "-f", "{invoices}"],
        ["--flow-ids", "{orders},{invoices}"],
    ],
)
def test_flow_ids_several_ways(
    cli: Cli, profiles: TaggedDev, tmp_path: Path, flow_args: list[str]
) -> None:
    out = tmp_path / "bundle.json"
    args = [a.format(orders=profiles.orders, invoices=profiles.invoices) for a in flow_args]
    result = cli("flow", "export", "-s", "dev", "--no-prompt", *args, "-fp", str(out))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert _bundle_flow_names(out) == ["Format address", "Invoices", "Sync orders"]


def test_flow_ids_and_tags_together_select_the_union(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    out = tmp_path / "b.json"
    result = cli(
        "export", "-s", "dev", "--no-prompt", "-f", profiles.sandbox, "-t", "tag2", "-fp", str(out)
    )
    assert result.exit_code == 0, result.stdout
    assert _bundle_flow_names(out) == ["Invoices", "Sandbox"]


def test_an_unknown_flow_id_is_bad_input(cli: Cli, profiles: TaggedDev, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    unknown = "00000000-0000-4000-8000-000000000000"
    result = cli("flow", "export", "-s", "dev", "--no-prompt", "-f", unknown, "-fp", str(out))
    assert result.exit_code == 2
    assert result.json["status"] == 400
    assert unknown in result.said
    assert not out.exists()


def test_without_a_terminal_it_refuses_to_prompt_and_contacts_nobody(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.reset_requests()
    result = cli("flow", "export", "-s", "dev", "-t", "tag1", "-fp", str(tmp_path / "b.json"))
    assert result.exit_code == 2
    assert "--no-prompt" in result.said
    assert dev_emulator.request_count() == 0


def test_confirmation_on_a_terminal(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "b.json"
    args = ("flow", "export", "-s", "dev", "-t", "tag1", "-fp", str(out))
    declined = cli(*args, input="n\n", terminal=True)
    assert declined.exit_code == 1
    assert "Cancelled" in declined.said
    assert f"Export flows tagged 'tag1' from dev ({dev_emulator.base_url})" in declined.stderr
    assert not out.exists()
    accepted = cli(*args, input="y\n", terminal=True)
    assert accepted.exit_code == 0, accepted.stdout
    assert out.exists()


def test_no_server_and_no_default(cli: Cli, tmp_path: Path) -> None:
    result = cli("flow", "export", "--no-prompt", "-t", "x", "-fp", str(tmp_path / "b.json"))
    assert result.exit_code == 2
    assert "ziggy auth use NAME" in result.said


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["flow", "export", "-s", "dev", "--no-prompt", "--bogus"], "No such option: --bogus"),
        (["flow", "export", "-s", "dev", "--no-prompt"], "--file-path"),
        (["flow", "export", "--tags", "--no-prompt", "-fp", "x.json"], "needs at least one value"),
        (["flow", "export", "--concurrency", "0", "-fp", "x.json"], "--concurrency"),
        (["flow"], "Missing command"),
        (["flow", "exprot"], "No such command"),
    ],
)
def test_usage_errors_are_json_with_exit_2(
    cli: Cli, profiles: TaggedDev, args: list[str], needle: str
) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.json["status"] == 400
    assert result.json["statusText"] == "Bad Request"
    assert needle in result.said


def test_wrong_password_is_exit_3(
    cli: Cli, profiles: TaggedDev, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIGGY_PASSWORD_DEV", "not-the-password")
    result = cli("export", "-s", "dev", "--no-prompt", "-t", "tag1", "-fp", str(tmp_path / "b"))
    assert result.exit_code == 3
    assert result.json["status"] == 401
    assert "not-the-password" not in result.stdout + result.stderr


def test_unreachable_server_is_exit_3(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.stop()
    result = cli(
        "export",
        "-s",
        "dev",
        "--no-prompt",
        "-t",
        "tag1",
        "-fp",
        str(tmp_path / "b"),
        "--timeout",
        "2",
        "--retries",
        "0",
    )
    assert result.exit_code == 3
    assert result.json["status"] in (502, 504)
    assert result.json["statusText"] in ("Bad Gateway", "Gateway Timeout")


def test_verbose_logs_requests_to_stderr_only(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    result = cli(
        "export", "-s", "dev", "--no-prompt", "-t", "tag1", "-v", "-fp", str(tmp_path / "b.json")
    )
    assert result.exit_code == 0
    assert "DEBUG" in result.stderr
    assert result.json["status"] == 200


def test_insecure_is_warned_about_on_stderr(cli: Cli, profiles: TaggedDev) -> None:
    result = cli("flow", "list", "-s", "dev", "--json", "--insecure")
    assert result.exit_code == 0
    assert "TLS certificate verification is OFF" in result.stderr
    assert result.json["status"] == 200


def test_a_missing_ca_bundle_is_a_usage_error(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    result = cli("flow", "list", "-s", "dev", "--ca-bundle", str(tmp_path / "none.pem"))
    assert result.exit_code == 2
    assert "--ca-bundle" in result.said


def test_connection_options_reach_the_client(tmp_path: Path) -> None:
    from ziggy_migrate_cli.options import ConnectionSettings  # noqa: PLC0415
    from ziggy_migrate_cli.profiles import Profile  # noqa: PLC0415

    profile = Profile(name="dev", url="https://ziggy.example.com", port=443, username="u")
    with ConnectionSettings(concurrency=3, timeout=5.0).client(profile, "pw") as client:
        assert client.max_workers == 3
        assert not client.adaptive
        assert client.base_url == "https://ziggy.example.com:443"
        assert client.name == "dev"
    # without --concurrency the client adapts to the server, from 8 up to 64
    with ConnectionSettings().client(profile, "pw") as client:
        assert (client.adaptive, client.concurrency, client.max_workers) == (True, 8, 64)


def test_retries_bound_the_attempts(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator
) -> None:
    dev_emulator.faults = FaultPlan(error_rate=1.0, methods=frozenset({"GET"}))
    for retries, attempts in ((0, 1), (1, 2)):
        dev_emulator.reset_requests()
        result = cli("flow", "list", "-s", "dev", "--json", "--retries", str(retries))
        assert result.exit_code == 1
        assert result.json["status"] in (500, 503)
        assert dev_emulator.request_count("GET") == attempts


def test_an_unknown_server_is_bad_input_naming_the_known_ones(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    out = tmp_path / "b.json"
    result = cli("flow", "export", "-s", "staging", "--no-prompt", "-fp", str(out))
    assert result.exit_code == 2
    assert result.json["status"] == 400
    assert "staging" in result.said
    assert "dev" in result.said
    assert not out.exists()


def test_an_unwritable_destination_is_bad_input_and_leaves_nothing(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-folder" / "b.json"
    result = cli("flow", "export", "-s", "dev", "--no-prompt", "-fp", str(out))
    assert result.exit_code == 2
    assert "\n" not in result.said
    assert "no-such-folder" in result.said
    assert not out.parent.exists()
    occupied = tmp_path / "a-file"
    occupied.write_text("keep me", "utf-8")
    result = cli(
        "flow", "export", "-s", "dev", "--no-prompt", "--layout", "dir", "-fp", str(occupied)
    )
    assert result.exit_code == 2
    assert occupied.read_text("utf-8") == "keep me"
