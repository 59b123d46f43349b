"""Rollback bundles: a local copy of everything an import is about to overwrite.

A server backup can fail, be turned off, or live where the operator cannot reach it. So
before the first overwrite, the import saves the target's current version of every item
it will overwrite as an ordinary bundle file (no secret values, as always). Importing
that file back with ``overwrite`` — :func:`rollback` — puts those items back as they were.
Items the import *created* are not removed by a rollback; the import report lists them.
"""

from __future__ import annotations

import datetime as _dt
import os
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
from .._vocabulary.models import Bundle, Flow, ItemKind, Provenance, SourceServer
from .._vocabulary.state_dir import server_slug, state_dir
from .plan import ImportPlan, TargetItem

__all__ = ["default_rollback_dir", "write_rollback_bundle"]


def default_rollback_dir(base: str | os.PathLike[str] | None = None) -> Path:
    """``rollback`` in the state folder ``base`` (default: ``$ZIGGY_STATE_DIR``, else the
    platform's user state folder)."""
    return state_dir("rollback", base)


def write_rollback_bundle(
    client: ZiggyClient,
    plan: ImportPlan,
    target: dict[ItemKind, list[TargetItem]],
    directory: Path,
) -> Path | None:
    """Save the target's copy of every item ``plan`` overwrites; None when there is none."""
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
    flows: list[Flow] = []
    references: dict[str, References] = {}
    encoded: dict[str, EncodedJSON] = {}
    with ThreadPoolExecutor(max_workers=client.max_workers) as pool:
        # each flow is walked and encoded as it arrives, while later ones are on the wire
        for fetched in pool.map(client.get_flow, overwritten[ItemKind.FLOW]):
            flow = fetched.flow
            flows.append(flow)
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
        flows=tuple(flows),
        **items,
    )
    # The copies point at items that stay on the server; declare those references so the
    # file loads as a bundle of its own.
    dangling = dangling_references(bundle, references)
    bundle = attrs.evolve(bundle, unresolved_references=tuple(d.reference for d in dangling))
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"rollback-{server_slug(client.base_url)}-{_now(compact=True)}.json"
    return save_encoded_bundle(bundle, directory / name, layout=Layout.FILE, encoded_flows=encoded)


def load_rollback(source: str | os.PathLike[str] | Bundle) -> Bundle:
    """A rollback bundle from a path or an already loaded bundle."""
    return source if isinstance(source, Bundle) else load_bundle(source)


def _now(*, compact: bool = False) -> str:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ" if compact else "%Y-%m-%dT%H:%M:%SZ")
