"""Rollback bundles: a local copy of everything an import is about to overwrite.

A server backup can fail, be turned off, or live where the operator cannot reach it. So
before the first overwrite, the import saves the target's current version of every item
it will overwrite as an ordinary bundle file (no secret values, as always). Importing
that file back with ``overwrite`` — :func:`rollback` — puts those items back as they were.
Items the import *created* are not removed by a rollback; the import report lists them.

After an interrupted import, the target holds some items half-imported. The import that
overwrites them next (the re-run) must not keep *that* as "before": the journal names the
rollback bundle of the interrupted run that holds their earlier copy, and the new rollback
bundle takes those copies from it (:func:`earlier_copies`), so restoring it puts the
target back as it was before the interrupted run.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from .._bundle.bundle import encode_flow, load_bundle, save_encoded_bundle
from .._bundle.json_text import EncodedJSON
from .._bundle.references import References, dangling_references, walk_flow
from .._client.client import ZiggyClient
from .._version import __version__
from .._vocabulary.enums import Action, Layout
from .._vocabulary.errors import ZiggyError
from .._vocabulary.models import Bundle, Flow, ItemKind, Provenance, SourceServer
from .._vocabulary.state_dir import server_slug, state_dir
from .plan import ImportPlan, TargetItem

__all__ = ["default_rollback_dir", "earlier_copies", "write_rollback_bundle"]

logger = logging.getLogger("ziggy_migrate.rollback")

Copies = dict[tuple[ItemKind, str], Any]
"""Items by (kind, UUID), as a rollback bundle holds them."""


def default_rollback_dir(base: str | os.PathLike[str] | None = None) -> Path:
    """``rollback`` in the state folder ``base`` (default: ``$ZIGGY_STATE_DIR``, else the
    platform's user state folder)."""
    return state_dir("rollback", base)


def write_rollback_bundle(
    client: ZiggyClient,
    plan: ImportPlan,
    target: dict[ItemKind, list[TargetItem]],
    directory: Path,
    earlier: Copies | None = None,
) -> Path | None:
    """Save the target's copy of every item ``plan`` overwrites; None when there is none.

    An item in ``earlier`` (its copy from before an interrupted import) is saved as that
    copy rather than as the target has it now.
    """
    earlier = earlier or {}
    overwritten = {
        kind: [
            item.target_uuid
            for item in plan.of_kind(kind)
            if item.action is Action.OVERWRITE and item.target_uuid is not None
        ]
        for kind in ItemKind
    }
    if not any(overwritten.values()):
        return None
    listed = {
        kind: {item.uuid: item.item for item in target[kind]}
        for kind in ItemKind
        if kind is not ItemKind.FLOW
    }
    for kind, uuid in earlier:
        if kind is not ItemKind.FLOW and uuid in listed[kind]:
            listed[kind][uuid] = earlier[(kind, uuid)]
    flows: dict[str, Flow] = {}
    references: dict[str, References] = {}
    encoded: dict[str, EncodedJSON] = {}
    kept = [uuid for uuid in overwritten[ItemKind.FLOW] if (ItemKind.FLOW, uuid) in earlier]
    fetch = [uuid for uuid in overwritten[ItemKind.FLOW] if (ItemKind.FLOW, uuid) not in earlier]
    with ThreadPoolExecutor(max_workers=client.max_workers) as pool:
        # each flow is walked and encoded as it arrives, while later ones are on the wire
        arriving = pool.map(client.get_flow, fetch)
        for flow in [earlier[(ItemKind.FLOW, uuid)] for uuid in kept]:
            flows[flow.uuid] = flow
            references[flow.uuid] = walk_flow(flow)
            encoded[flow.uuid] = encode_flow(flow)
        for fetched in arriving:
            flow = fetched.flow
            flows[flow.uuid] = flow
            references[flow.uuid] = walk_flow(flow)
            encoded[flow.uuid] = encode_flow(flow)
    items: dict[str, Any] = {
        kind.plural: tuple(listed[kind][uuid] for uuid in overwritten[kind])
        for kind in ItemKind
        if kind is not ItemKind.FLOW
    }
    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url=client.base_url, name=client.name),
            tool_version=__version__,
            exported_at=_now(),
        ),
        flows=tuple(flows[uuid] for uuid in overwritten[ItemKind.FLOW]),
        **items,
    )
    # The copies point at items that stay on the server; declare those references so the
    # file loads as a bundle of its own.
    dangling = dangling_references(bundle, references)
    bundle = attrs.evolve(bundle, unresolved_references=tuple(d.reference for d in dangling))
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"rollback-{server_slug(client.base_url)}-{_now(compact=True)}.json"
    return save_encoded_bundle(bundle, directory / name, layout=Layout.FILE, encoded_flows=encoded)


def earlier_copies(wanted: Mapping[tuple[ItemKind, str], str]) -> Copies:
    """The copies of ``wanted`` items (by (kind, UUID), each naming the rollback bundle
    that holds it) from those bundles.

    A bundle that cannot be read any more (removed, damaged) is warned about and skipped:
    its items are then saved as the target has them now.
    """
    paths = sorted({path for path in wanted.values() if path})
    copies: Copies = {}
    for path in paths:
        try:
            bundle = load_bundle(Path(path))
        except (ZiggyError, OSError) as exc:
            logger.warning(
                "cannot read the rollback bundle %s of an interrupted import (%s); the new "
                "rollback bundle keeps the target's current copy of its items",
                path,
                exc,
            )
            continue
        for kind in ItemKind:
            for item in bundle.items(kind):
                if wanted.get((kind, item.uuid)) == path:
                    copies[(kind, item.uuid)] = item
    return copies


def load_rollback(source: str | os.PathLike[str] | Bundle) -> Bundle:
    """A rollback bundle from a path or an already loaded bundle."""
    return source if isinstance(source, Bundle) else load_bundle(source)


def _now(*, compact: bool = False) -> str:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ" if compact else "%Y-%m-%dT%H:%M:%SZ")
