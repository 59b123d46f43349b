"""``ziggy demo``: a whole migration between two throw-away local servers, in seconds.

It starts two emulators from ``ziggy_migrate.testing`` (imported here lazily: the only
place the CLI touches the emulator), seeds "dev" with a realistic sample and "prod" with
older copies of some of the same items under different UUIDs, then runs the library as
the CLI would, without profiles or keyring:

1. export the ``production``-tagged flows from dev into a bundle;
2. dry run: import into prod with overwrite, writing nothing;
3. import into prod with overwrite (database backup first);
4. the same import again: prod's copies still carry other UUIDs than dev's, but the first
   import recorded which prod item each dev item became, so items match by *binding*
   (they would still be found if renamed on dev); the report's ``matchMethod`` says so;
5. export those flows back from prod;
6. import that bundle into prod with skip: now every item matches by *uuid* (the round
   trip a restore from git takes).

Each step prints its JSON document on stdout (one per line when piped, in the order
above); a short account of each step goes to stderr.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ziggy_migrate import ImportMode, ZiggyClient, export_flows, import_bundle, load_bundle

from .output import configure_logging, count, emit_json, human, info, status_document

if TYPE_CHECKING:
    from ziggy_migrate.testing import ZiggyEmulator

__all__ = ["STDOUT_HELP", "demo_command"]

STDOUT_HELP = (
    "Output: six JSON documents on stdout, one per step (export, dry run, import, "
    "re-import, export from prod, import with --skip), each {status, statusText, data}; "
    "one per line when piped, indented on a terminal. A summary goes to stderr. "
    "Touches no real server and no keyring."
)

_PRODUCTION = "production"


def _node(node_id: str, block: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": block, "position": {"x": 0, "y": 0}, "data": data}


def _edges(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"id": f"{a}-{b}", "source": a, "target": b} for a, b in pairs]


def _seed_dev(dev: ZiggyEmulator) -> None:
    """A small but realistic dev server: tagged flows, a subflow, connections, secrets."""
    for name, dev_value, prod_value in (
        ("PG_PASSWORD", "dev-db-pass", "prod-db-pass"),
        ("HUBSPOT_TOKEN", "dev-hubspot", "prod-hubspot"),
        ("SLACK_WEBHOOK", "T000/B000/dev", "T000/B000/prod"),
        ("WAREHOUSE_KEY", "dev-wh", "prod-wh"),
    ):
        dev.add_secret(name, dev_value=dev_value, prod_value=prod_value, group="demo")
    orders_db = dev.add_connection(
        "Orders DB",
        type="Postgres",
        dev_value="{ host: 'db.dev.internal', user: 'app', "
        "password: 'secrets.PG_PASSWORD', port: 5432 }",
        prod_value="{ host: 'db.prod.internal', user: 'app', "
        "password: 'secrets.PG_PASSWORD', port: 5432 }",
        description="Orders database",
    )
    hubspot = dev.add_connection(
        "Hubspot CRM",
        type="Hubspot",
        dev_value="{ accessToken: 'secrets.HUBSPOT_TOKEN' }",
        prod_value="{ accessToken: 'secrets.HUBSPOT_TOKEN' }",
    )
    warehouse = dev.add_connection(
        "Marketing warehouse",
        type="Snowflake",
        dev_value="{ account: 'acme-dev', password: 'secrets.WAREHOUSE_KEY' }",
    )
    order = dev.add_structure(
        "Order", value="interface Order { id: string; total: number; }", tags=[_PRODUCTION]
    )
    region = dev.add_variable("REGION", value="eu-west-1")
    address = dev.add_flow(
        "Format address",
        is_subflow=True,
        listener_type="SUBFLOW",
        nodes=[
            _node("in", "subflowInput"),
            _node("fmt", "javascript", code="return `${input.street}, ${input.city}`;"),
        ],
        edges=_edges(("in", "fmt")),
    )
    dev.add_flow(
        "Sync orders to CRM",
        tags=[_PRODUCTION, "sales"],
        nodes=[
            _node("start", "apiListener"),
            _node(
                "query",
                "postgres",
                connectionUuid=orders_db["uuid"],
                query="select * from orders where synced = false",
            ),
            _node("address", "subflow", flowUuid=address["uuid"]),
            _node(
                "sign",
                "javascript",
                code="const token = secrets.HUBSPOT_TOKEN;\nreturn sign(input, token);",
            ),
            _node("push", "hubspot", connectionUuid=hubspot["uuid"], action="upsertDeal"),
            _node(
                "notify",
                "restCall",
                method="POST",
                url="https://hooks.slack.com/services/{secrets.SLACK_WEBHOOK}",
            ),
        ],
        edges=_edges(
            ("start", "query"),
            ("query", "address"),
            ("address", "sign"),
            ("sign", "push"),
            ("push", "notify"),
        ),
    )
    dev.add_flow(
        "Nightly invoice export",
        tags=[_PRODUCTION, "finance"],
        listener_type="SCHEDULE",
        nodes=[
            _node("cron", "scheduleListener", cron="0 2 * * *"),
            _node(
                "read",
                "postgres",
                connectionUuid=orders_db["uuid"],
                structureUuid=order["uuid"],
                query="select * from invoices",
            ),
            _node("env", "setVariable", variableUuid=region["uuid"]),
        ],
        edges=_edges(("cron", "read"), ("read", "env")),
    )
    dev.add_flow(
        "Lead scoring experiment",
        tags=["sandbox"],
        nodes=[_node("score", "snowflake", connectionUuid=warehouse["uuid"])],
    )


def _seed_prod(prod: ZiggyEmulator) -> None:
    """Prod already has older copies of some items, under UUIDs of its own."""
    prod.add_secret("PG_PASSWORD", prod_value="prod-db-pass", group="demo")
    prod.add_connection(
        "Orders DB",
        type="Postgres",
        prod_value="{ host: 'db.prod.internal', user: 'app', "
        "password: 'secrets.PG_PASSWORD', port: 5432 }",
        description="Orders database (old description)",
    )
    prod.add_flow(
        "Sync orders to CRM",
        tags=[_PRODUCTION],
        nodes=[_node("start", "apiListener"), _node("query", "postgres", query="select 1")],
    )
    prod.add_flow("Legacy report", tags=["finance"])


def _client(emulator: ZiggyEmulator, name: str) -> ZiggyClient:
    return ZiggyClient(emulator.url, emulator.port, emulator.username, emulator.password, name=name)


def _matches(document: dict[str, Any]) -> str:
    """Count how every item of an import report matched: "3 by name, 7 new"."""
    data = document["data"]
    counts: Counter[str] = Counter(
        item["matchMethod"]
        for key, items in data.items()
        if key.endswith("Processed")
        for item in items
    )
    return ", ".join(
        f"{count} by {method}" if method != "unmatched" else f"{count} new"
        for method, count in sorted(counts.items())
    )


def _flow_lines(document: dict[str, Any]) -> Iterator[str]:
    for item in document["data"]["flowsProcessed"]:
        how = "new" if item["matchMethod"] == "unmatched" else f"matched by {item['matchMethod']}"
        yield f"     flow {item['name']!r}: {item['result']} ({how})"


_SAME_SERVER = "the server it is being imported into"


@contextmanager
def _on_purpose(words: str) -> Iterator[None]:
    """Leave out the library's warnings that contain ``words`` for the block: the demo
    does on purpose what they warn about."""

    def keep(record: logging.LogRecord) -> bool:
        return words not in record.getMessage()

    logger = logging.getLogger("ziggy_migrate.import")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def _emit(document: dict[str, Any]) -> None:
    """A step's JSON document, for programs; people read the step lines on stderr."""
    if not human():
        emit_json(document)


@contextmanager
def _bundle_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    directory = Path(tempfile.mkdtemp(prefix="ziggy-demo-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def demo_command(
    *,
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep",
            metavar="DIR",
            file_okay=False,
            help="Keep the bundle files in DIR instead of a temporary directory.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every request.")] = False,
) -> None:
    """Migrate flows between two local emulated servers, step by step."""
    # Lazily: the emulator is a test tool, loaded only when the demo runs.
    from ziggy_migrate.testing import ZiggyEmulator  # noqa: PLC0415

    configure_logging(verbose)
    with ExitStack() as stack:
        dev = stack.enter_context(ZiggyEmulator(name="dev"))
        prod = stack.enter_context(ZiggyEmulator(name="prod"))
        _seed_dev(dev)
        _seed_prod(prod)
        directory = stack.enter_context(_bundle_dir(keep))
        # the demo's import journal lives and dies with the demo, never in the user's state
        state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ziggy-demo-")))
        dev_client = stack.enter_context(_client(dev, "dev"))
        prod_client = stack.enter_context(_client(prod, "prod"))
        info(f"Started two emulated servers: dev at {dev.base_url}, prod at {prod.base_url}.")

        bundle_path = directory / "production-flows.json"
        exported = export_flows(dev_client, tags=[_PRODUCTION], path=bundle_path)
        _emit(status_document(200, exported.to_dict()))
        counts = ", ".join(count(n, kind.rstrip("s")) for kind, n in exported.counts.items() if n)
        info(f"1. export from dev, tag {_PRODUCTION!r}: {counts} -> {bundle_path}")
        info("   (the subflow came along because a block calls it; secrets without values)")

        bundle = load_bundle(bundle_path)
        steps = (
            ("2. dry run into prod, --overwrite (nothing written)", ImportMode.OVERWRITE, True),
            ("3. import into prod, --overwrite, backup first", ImportMode.OVERWRITE, False),
            ("4. the same import again", ImportMode.OVERWRITE, False),
        )
        for title, mode, dry_run in steps:
            document = import_bundle(
                prod_client,
                bundle,
                mode=mode,
                dry_run=dry_run,
                rollback_dir=directory,  # kept beside the bundles (with --keep)
                state_dir=state,
            ).to_dict()
            _emit(document)
            info(f"{title}: {_matches(document)}")
            for line in _flow_lines(document):
                info(line)
        info(
            "   prod keeps its own UUIDs: the first import matched by name and recorded what "
            "each item became, the second matched by that binding."
        )

        round_trip = directory / "prod-roundtrip.json"
        back = export_flows(prod_client, tags=[_PRODUCTION], path=round_trip)
        _emit(status_document(200, back.to_dict()))
        info(f"5. export from prod -> {round_trip}")
        with _on_purpose(_SAME_SERVER):  # the demo does what that warning is about
            document = import_bundle(
                prod_client, load_bundle(round_trip), mode=ImportMode.SKIP, state_dir=state
            ).to_dict()
        _emit(document)
        info(f"6. import that bundle into prod, --skip: {_matches(document)}")
        info("   a bundle exported from the same server matches by uuid.")
        if keep is not None:
            info(f"Bundles kept in {keep}.")
