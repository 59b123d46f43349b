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
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from .._bundle.bundle import encode_flow, load_bundle, save_streamed_bundle
from .._bundle.references import References, dangling_references, walk_flow
from .._client.client import ZiggyClient
from .._version import __version__
from .._vocabulary.enums import Action
from .._vocabulary.errors import ZiggyError
from .._vocabulary.models import Bundle, Flow, ItemKind, Provenance, SourceServer
from .._vocabulary.state_dir import server_slug, state_dir
from .fetching import each_in_parallel
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
    listed: dict[ItemKind, dict[str, Any]] = {
        kind: {item.uuid: item.item for item in target[kind]}
        for kind in ItemKind
        if kind is not ItemKind.FLOW
    }
    for kind, uuid in earlier:
        if kind is not ItemKind.FLOW and uuid in listed[kind]:
            listed[kind][uuid] = earlier[(kind, uuid)]
    # Each flow is walked and encoded by the worker that fetched it, and its text goes to
    # a spool file at once; what stays in memory is what it refers to and a stub without
    # its graph (name and UUID, for the file's order), and no answer waits for another
    # thread to take it. The file is then written from the spool, in the plan's order, one
    # flow's text at a time.
    flows: dict[str, Flow] = {}
    references: dict[str, References] = {}
    with tempfile.TemporaryFile(dir=_spool_dir(directory)) as spool:
        spooled = _Spool(spool)
        kept_lock = threading.Lock()

        def keep(flow: Flow) -> None:
            walked = walk_flow(flow)
            text = encode_flow(flow)
            stub = attrs.evolve(flow, nodes=[], edges=[], viewport={})
            with kept_lock:
                references[flow.uuid] = walked
                spooled.add(flow.uuid, text)
                flows[flow.uuid] = stub

        for uuid in overwritten[ItemKind.FLOW]:
            if (ItemKind.FLOW, uuid) in earlier:
                keep(earlier[(ItemKind.FLOW, uuid)])
        fetch = [
            uuid for uuid in overwritten[ItemKind.FLOW] if (ItemKind.FLOW, uuid) not in earlier
        ]
        each_in_parallel(client.max_workers, lambda uuid: keep(client.get_flow(uuid).flow), fetch)
        return _save(
            client,
            overwritten,
            listed,
            flows=flows,
            references=references,
            directory=directory,
            flow_text=spooled.text,
        )


def _save(
    client: ZiggyClient,
    overwritten: dict[ItemKind, list[str]],
    listed: dict[ItemKind, dict[str, Any]],
    *,
    flows: dict[str, Flow],
    references: dict[str, References],
    directory: Path,
    flow_text: Callable[[str], str],
) -> Path:
    """The rollback bundle written: the flows' texts from ``flow_text``, the rest here."""
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
    name = f"rollback-{server_slug(client.base_url)}-{_now(compact=True)}.json"
    return save_streamed_bundle(bundle, directory / name, flow_text)


def _spool_dir(directory: Path) -> Path:
    """The rollback folder, made if need be: the spool lives beside the file it becomes
    (the same disk, and the same permissions: a flow holds no secret value, but it is
    the target's)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


class _Spool:
    """Flow texts in a temporary file, by UUID, read back one at a time."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._where: dict[str, tuple[int, int]] = {}
        self._end = 0

    def add(self, uuid: str, text: str) -> None:
        data = text.encode("utf-8")
        self._handle.seek(self._end)
        self._handle.write(data)
        self._where[uuid] = (self._end, len(data))
        self._end += len(data)

    def text(self, uuid: str) -> str:
        offset, size = self._where[uuid]
        self._handle.seek(offset)
        return self._handle.read(size).decode("utf-8")


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
