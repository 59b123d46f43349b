"""export_flows against a seeded emulator: selection, closure, secrets, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ziggy_migrate import (
    BundleError,
    ExposedCredentialError,
    RequestTimeoutError,
    SelectionError,
    dump_bundle,
    export_flows,
    load_bundle,
    save_bundle,
)
from ziggy_migrate._bundle.references import MAX_GRAPH_DEPTH
from ziggy_migrate._vocabulary.models import Bundle
from ziggy_migrate.testing import Answer, ZiggyEmulator

from .samples import HUBSPOT_KEY_VALUE, PG_PASSWORD_VALUE, DevServer, client_for


def _flow_names(bundle: Bundle) -> list[str]:
    return [flow.name for flow in bundle.flows]


def test_tags_select_tagged_flows_with_their_whole_closure(
    dev: tuple[ZiggyEmulator, DevServer],
) -> None:
    ziggy, ids = dev
    with client_for(ziggy, "dev") as client:
        result = export_flows(client, tags=["production"])
    bundle = result.bundle
    # Orders calls Enrich order, which calls Score order, which calls Enrich order (a cycle).
    assert _flow_names(bundle) == ["Enrich order", "Invoices", "Orders", "Score order"]
    assert [c.name for c in bundle.connections] == ["CRM", "Orders DB"]
    assert [s.name for s in bundle.secrets] == ["HUBSPOT_KEY", "PG_PASSWORD"]
    assert [s.uuid for s in bundle.structures] == [ids.structure]
    assert [v.uuid for v in bundle.variables] == [ids.variable]
    assert result.counts == {
        "secrets": 2,
        "connections": 2,
        "structures": 1,
        "variables": 1,
        "flows": 4,
        "schedules": 0,
    }
    assert result.warnings == ()
    assert bundle.provenance.selection.tags == ("production",)
    assert bundle.provenance.source.name == "dev"
    assert bundle.provenance.source.url == f"{ziggy.url}:{ziggy.port}"


def test_ids_only_select_exactly_those_flows_and_their_needs(
    dev: tuple[ZiggyEmulator, DevServer],
) -> None:
    ziggy, ids = dev
    with client_for(ziggy) as client:
        bundle = export_flows(client, flow_ids=[ids.untagged]).bundle
    assert _flow_names(bundle) == ["Scratch"]
    assert [c.uuid for c in bundle.connections] == [ids.pg]
    assert [s.name for s in bundle.secrets] == ["PG_PASSWORD"]


def test_ids_and_tags_select_the_union(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    ziggy, ids = dev
    with client_for(ziggy) as client:
        bundle = export_flows(client, flow_ids=[ids.untagged], tags=["marketing"]).bundle
    assert _flow_names(bundle) == ["Newsletter", "Scratch"]
    assert bundle.provenance.selection.flow_ids == (ids.untagged,)


def test_no_selection_exports_every_flow(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    ziggy, _ = dev
    with client_for(ziggy) as client:
        bundle = export_flows(client).bundle
    assert len(bundle.flows) == 6
    # Only what flows use travels: the unused connection and secret stay behind.
    assert "Unused" not in [c.name for c in bundle.connections]
    assert "UNUSED_SECRET" not in [s.name for s in bundle.secrets]


def test_unknown_uuid_is_an_error_naming_it(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    ziggy, ids = dev
    missing = "00000000-0000-4000-8000-000000000000"
    with client_for(ziggy) as client, pytest.raises(SelectionError) as caught:
        export_flows(client, flow_ids=[ids.orders, missing])
    assert missing in str(caught.value)
    assert caught.value.missing_flow_ids == (missing,)


def test_tag_matching_nothing_is_a_warning(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    ziggy, _ = dev
    with client_for(ziggy) as client:
        result = export_flows(client, tags=["production", "nope"])
    assert any("'nope'" in warning for warning in result.warnings)
    assert len(result.bundle.flows) == 4


def test_shared_dependencies_are_exported_once(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    ziggy, ids = dev
    with client_for(ziggy) as client:
        bundle = export_flows(client, flow_ids=[ids.orders, ids.invoices, ids.untagged]).bundle
    assert [c.uuid for c in bundle.connections].count(ids.pg) == 1
    assert [s.name for s in bundle.secrets].count("PG_PASSWORD") == 1


def test_secret_values_never_reach_the_file(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    ziggy, _ = dev
    assert ziggy.return_secret_values  # the server hands out values: we must drop them
    path = tmp_path / "bundle.json"
    with client_for(ziggy) as client:
        export_flows(client, path=path)
    text = path.read_text("utf-8")
    assert PG_PASSWORD_VALUE not in text
    assert HUBSPOT_KEY_VALUE not in text
    for secret in json.loads(text)["secrets"]:
        assert set(secret) == {"uuid", "name", "description", "type", "group", "tags"}


def test_inline_credentials_are_warned_about_by_name_never_value(
    dev: tuple[ZiggyEmulator, DevServer],
) -> None:
    ziggy, _ = dev
    flat = ziggy.add_connection(
        "Legacy FTP", type="SFTP", dev_value="{ host: 'ftp', user: 'u', password: 'Hunter2!' }"
    )
    ziggy.add_flow(
        "Legacy", nodes=[{"id": "1", "type": "ftp", "data": {"connectionUuid": flat["uuid"]}}]
    )
    with client_for(ziggy) as client:
        result = export_flows(client)
    exposure = [w for w in result.warnings if "inline credential" in w]
    assert len(exposure) == 1
    assert "'Legacy FTP'" in exposure[0] and "'password'" in exposure[0]
    assert "Hunter2!" not in " ".join(result.warnings)


def test_strict_secrets_refuses_before_writing(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    ziggy, _ = dev
    flat = ziggy.add_connection("Mail", type="SMTP", prod_value="{ user: 'a', pass: 'x1y2z3' }")
    ziggy.add_flow(
        "Mailer", nodes=[{"id": "1", "type": "mail", "data": {"connectionUuid": flat["uuid"]}}]
    )
    path = tmp_path / "bundle.json"
    with client_for(ziggy) as client, pytest.raises(ExposedCredentialError) as caught:
        export_flows(client, strict_secrets=True, path=path)
    assert "'Mail'" in str(caught.value)
    assert "x1y2z3" not in str(caught.value)
    assert not path.exists()


@pytest.mark.parametrize("to_file", [True, False])
@pytest.mark.parametrize(
    ("name", "tags", "expected"),
    [
        ("N" * 1001, [], "name: the value is too long (at most 1000 characters)"),
        ("Broken", ["ok", "t" * 1001], "tags[1]: the value is too long (at most 1000 characters)"),
    ],
)
def test_a_flow_the_bundle_format_cannot_hold_is_refused_by_name(
    tmp_path: Path, to_file: bool, name: str, tags: list[str], expected: str
) -> None:
    """A server can hold what a bundle cannot. Each flow is checked as it arrives: the
    one-line error names the flow and the field, and nothing is written."""
    with ZiggyEmulator() as ziggy:
        ziggy.add_flow("Fine")
        broken = ziggy.add_flow(name, tags=tags)
        path = tmp_path / "bundle.json"
        with client_for(ziggy) as client, pytest.raises(BundleError) as caught:
            export_flows(client, path=path if to_file else None)
    message = str(caught.value)
    assert message.startswith(f"flow {broken['name'][:80]!r} ({broken['uuid']}) cannot be exported")
    assert message.endswith(expected)
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_flow_graph_too_deep_to_write_back_is_refused_by_name(tmp_path: Path) -> None:
    deep: object = {"leaf": True}
    for _ in range(MAX_GRAPH_DEPTH + 5):
        deep = {"data": deep}
    with ZiggyEmulator() as ziggy:
        flow = ziggy.add_flow("Deep", nodes=[deep])  # type: ignore[list-item]
        with client_for(ziggy) as client, pytest.raises(BundleError) as caught:
            export_flows(client, path=tmp_path / "bundle.json")
    assert str(caught.value) == (
        f"flow 'Deep' ({flow['uuid']}) cannot be exported: "
        f"the flow graph nests more than {MAX_GRAPH_DEPTH} levels"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_reference_missing_on_the_source_is_recorded_and_the_bundle_loads(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    ziggy, _ = dev
    gone = "0badc0de-0000-4000-8000-000000000000"
    ziggy.add_flow(
        "Broken",
        nodes=[
            {"id": "1", "type": "sql", "data": {"connectionUuid": gone, "code": "secrets.NOPE"}}
        ],
    )
    with client_for(ziggy) as client:
        result = export_flows(client, path=tmp_path / "b.json")
    assert any(gone in w for w in result.warnings)
    assert any("secrets.NOPE" in w for w in result.warnings)
    refs = {(r.kind.value, r.reference) for r in result.bundle.unresolved_references}
    assert refs == {("connection", gone), ("secret", "NOPE")}
    assert load_bundle(tmp_path / "b.json") == result.bundle


def test_saved_bundle_round_trips(dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path) -> None:
    ziggy, _ = dev
    with client_for(ziggy) as client:
        result = export_flows(client, tags=["production"], path=tmp_path / "b.json")
    assert result.path == tmp_path / "b.json"
    # flows are encoded as they arrive; the file is still the canonical text
    assert (tmp_path / "b.json").read_text("utf-8") == dump_bundle(result.bundle)
    assert load_bundle(tmp_path / "b.json") == result.bundle
    save_bundle(load_bundle(tmp_path / "b.json"), tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_re_export_of_an_unchanged_server_differs_only_in_export_time(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    ziggy, _ = dev
    with client_for(ziggy) as client:
        export_flows(client, path=tmp_path / "one.json")
        export_flows(client, path=tmp_path / "two.json")
    one = (tmp_path / "one.json").read_text("utf-8").splitlines()
    two = (tmp_path / "two.json").read_text("utf-8").splitlines()
    differing = [(a, b) for a, b in zip(one, two, strict=True) if a != b]
    assert all('"exportedAt"' in a and '"exportedAt"' in b for a, b in differing)


def test_export_requests_stay_at_flows_plus_six(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    ziggy, _ = dev
    with client_for(ziggy) as client:
        client.login()
        ziggy.reset_requests()
        result = export_flows(client, tags=["production"])
    # the flows, then one list per kind: flows, connections, secrets, structures,
    # variables, schedules
    assert ziggy.request_count() == len(result.bundle.flows) + 6
    assert result.requests == ziggy.request_count()


@pytest.mark.parametrize("to_file", [False, True], ids=["in-memory", "to-a-file"])
def test_an_export_from_a_server_that_stops_answering_fails_after_a_few_requests(
    to_file: bool, tmp_path: Path
) -> None:
    """Not one timeout per flow left: the flows not yet asked for are never asked for."""
    with ZiggyEmulator() as ziggy:
        for number in range(40):
            ziggy.add_flow(f"flow {number}")
        ziggy.override("GET", "/api/flow/*", *([None] * 5), *([Answer(silent=True)] * 100))
        path = tmp_path / "bundle.json" if to_file else None
        with (
            client_for(ziggy, timeout=0.3, max_workers=2) as client,
            pytest.raises(RequestTimeoutError),
        ):
            export_flows(client, path=path)
        # the five answered, and at most the few asked for ahead of the first silence
        assert ziggy.request_count("GET", "/api/flow/") <= 5 + 2 * 2 + 1
    assert not (tmp_path / "bundle.json").exists()
