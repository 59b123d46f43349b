"""Promote the production-tagged flows from dev to prod, reviewing the plan first.

Run against real servers by setting ZIGGY_DEV_URL / ZIGGY_DEV_PORT / ZIGGY_DEV_PASSWORD
and the same for PROD (user name in ZIGGY_*_USER, default "admin"). With none set, the
script starts two local emulators so it can be tried anywhere:

    python examples/promote_script.py
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ziggy_migrate import (
    ZiggyClient,
    ZiggyError,
    export_flows,
    import_bundle,
    load_bundle,
    plan_import,
)


@contextlib.contextmanager
def servers() -> Iterator[tuple[ZiggyClient, ZiggyClient]]:
    """Clients for dev and prod: real ones from the environment, or two emulators."""
    if os.environ.get("ZIGGY_DEV_URL"):
        with (
            _client_from_env("DEV", "dev") as dev,
            _client_from_env("PROD", "prod") as prod,
        ):
            yield dev, prod
        return
    from ziggy_migrate.testing import ZiggyEmulator  # noqa: PLC0415 - only without real servers

    with ZiggyEmulator(name="dev") as dev_server, ZiggyEmulator(name="prod") as prod_server:
        secret = dev_server.add_secret("PG_PASSWORD", prod_value="only-on-dev")
        db = dev_server.add_connection(
            "Orders DB", dev_value=f"{{ host: 'db', password: secrets.{secret['name']} }}"
        )
        dev_server.add_flow(
            "Orders",
            tags=["production"],
            nodes=[{"id": "1", "type": "sql", "data": {"connectionUuid": db["uuid"]}}],
        )
        prod_server.add_flow("Orders", nodes=[])
        with (
            ZiggyClient(dev_server.url, dev_server.port, "admin", "admin", name="dev") as dev,
            ZiggyClient(prod_server.url, prod_server.port, "admin", "admin", name="prod") as prod,
        ):
            yield dev, prod


def _client_from_env(prefix: str, name: str) -> ZiggyClient:
    env = os.environ
    return ZiggyClient(
        env[f"ZIGGY_{prefix}_URL"],
        int(env.get(f"ZIGGY_{prefix}_PORT", "443")),
        env.get(f"ZIGGY_{prefix}_USER", "admin"),
        env[f"ZIGGY_{prefix}_PASSWORD"],
        name=name,
    )


def main() -> int:
    try:
        with servers() as (dev, prod), tempfile.TemporaryDirectory() as folder:
            exported = export_flows(dev, tags=["production"], path=Path(folder) / "flows.json")
            for warning in exported.warnings:
                print("warning:", warning, file=sys.stderr)
            bundle = load_bundle(Path(folder) / "flows.json")
            print(plan_import(prod, bundle, mode="overwrite"), file=sys.stderr)
            report = import_bundle(prod, bundle, mode="overwrite")
            print(json.dumps(report.to_dict(), indent=2))
            return 0 if report.ok else 1
    except ZiggyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
