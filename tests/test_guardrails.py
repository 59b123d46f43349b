"""Slips a caller makes are caught early and named; results print short."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import (
    Bundle,
    Flow,
    InvalidArgumentError,
    Provenance,
    SourceServer,
    ZiggyError,
    bundle_schema,
    dump_bundle,
    export_flows,
    import_bundle,
    load_bundle,
    load_bundle_text,
    plan_import,
    save_bundle,
    select_flows,
)
from ziggy_migrate.testing import ZiggyEmulator

from .samples import DevServer, client_for


def test_a_lone_string_for_tags_or_flow_ids_is_a_type_error_with_the_fix(
    dev: tuple[ZiggyEmulator, DevServer], production_bundle: Bundle
) -> None:
    with client_for(dev[0]) as client:
        with pytest.raises(TypeError, match=r"tags=\['production'\]"):
            export_flows(client, tags="production")
        with pytest.raises(TypeError, match="flow_ids="):
            export_flows(client, flow_ids=dev[1].orders)
        with pytest.raises(TypeError, match=r"tags=\['production'\]"):
            plan_import(client, production_bundle, mode="skip", tags="production")
        with pytest.raises(TypeError, match="tags"):
            import_bundle(client, production_bundle, mode="skip", tags="production")
    with pytest.raises(TypeError, match="flow_ids"):
        select_flows(production_bundle, flow_ids="abc")


def test_a_mistyped_mode_is_a_ziggy_error_listing_the_choices(
    prod: ZiggyEmulator, production_bundle: Bundle
) -> None:
    with client_for(prod) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            import_bundle(client, production_bundle, mode="overwite")  # type: ignore[arg-type]
        assert "'skip', 'duplicate', 'overwrite'" in str(caught.value)
        assert "'overwite'" in str(caught.value)
        assert isinstance(caught.value, ZiggyError)
        assert isinstance(caught.value, ValueError)
        with pytest.raises(InvalidArgumentError, match="'skip', 'duplicate', 'overwrite'"):
            plan_import(client, production_bundle, mode="Skip")  # type: ignore[arg-type]
    assert prod.request_count("POST") <= 1  # the login at most: nothing written


def test_a_mistyped_layout_lists_the_choices(production_bundle: Bundle, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="'file', 'dir'"):
        save_bundle(production_bundle, tmp_path / "b", layout="folder")  # type: ignore[arg-type]
    assert not (tmp_path / "b").exists()


def test_an_unknown_schema_version_is_named() -> None:
    assert bundle_schema(1)["$schema"].endswith("2020-12/schema")
    with pytest.raises(InvalidArgumentError, match="version 99"):
        bundle_schema(99)


def test_load_bundle_takes_a_path_whatever_it_looks_like(
    production_bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Path or text is decided by the function called, never guessed from the string."""
    monkeypatch.chdir(tmp_path)
    text = dump_bundle(production_bundle)
    Path("[prod] x.json").write_text(text, "utf-8")
    Path("{odd}.json").write_text(text, "utf-8")
    assert load_bundle("[prod] x.json") == production_bundle
    assert load_bundle("{odd}.json") == production_bundle
    assert load_bundle(Path("[prod] x.json")) == production_bundle
    assert load_bundle_text(text) == production_bundle
    assert load_bundle_text(text.encode("utf-8")) == production_bundle
    with pytest.raises(ZiggyError, match="load_bundle_text"):
        load_bundle(text)  # JSON text handed to the path function: a one-line hint
    with pytest.raises(TypeError, match="load_bundle_text"):
        load_bundle(text.encode("utf-8"))  # type: ignore[arg-type]


def _many_flows(count: int) -> Bundle:
    graph: list[dict[str, Any]] = [{"id": str(i), "data": {"text": "x" * 200}} for i in range(50)]
    return Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev:3101"),
            tool_version="0",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=tuple(Flow(uuid=f"uuid-{i:04}", name=f"Flow {i}", nodes=graph) for i in range(count)),
    )


def test_reprs_are_short_counts_and_names_never_graphs(prod: ZiggyEmulator, tmp_path: Path) -> None:
    bundle = _many_flows(300)
    assert len(repr(bundle)) < 200
    assert "300 flows" in repr(bundle)
    assert "'Flow 0'" in repr(bundle)
    assert len(repr(bundle.flows[0])) < 100
    with client_for(prod) as client:
        plan = plan_import(client, bundle, mode="skip")
        report = import_bundle(client, bundle, mode="skip", dry_run=True)
    for result in (plan, report):
        assert len(repr(result)) < 300, repr(result)
    assert "300 items" in repr(plan)
    assert len(str(plan).splitlines()) > 300  # the whole table is one str() away


def test_export_result_repr_is_short(dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path) -> None:
    with client_for(dev[0]) as client:
        result = export_flows(client, path=tmp_path / "b.json")
    assert len(repr(result)) < 300
    assert "b.json" in repr(result)
