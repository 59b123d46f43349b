"""Promotion in one step: export from one server, import into another, keep the bundle.

The intermediate bundle is saved before the import starts, so there is always a record
of exactly what was promoted (and something to diff against or re-apply later).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path

import attrs

from ._state_dir import server_slug, state_dir
from .apply import import_bundle
from .client import ZiggyClient
from .export import ExportResult, ProgressCallback, export_flows
from .plan import ImportMode
from .report import ImportReport

__all__ = ["PromoteResult", "default_promotion_dir", "promote"]


@attrs.frozen
class PromoteResult:
    """The export, the import report, and where the promoted bundle was kept."""

    export: ExportResult
    report: ImportReport
    bundle_path: Path


def default_promotion_dir() -> Path:
    """``$ZIGGY_STATE_DIR/promotions`` (beside the rollback folder)."""
    return state_dir("promotions")


def promote(
    source: ZiggyClient,
    target: ZiggyClient,
    *,
    mode: ImportMode | str,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    backup: bool = True,
    dry_run: bool = False,
    strict_secrets: bool = False,
    bundle_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> PromoteResult:
    """Export the selection from ``source`` and import it into ``target``.

    The bundle is kept in ``bundle_dir`` (default: the ``promotions`` folder of the state
    directory, see ``ZIGGY_STATE_DIR``) and its path is in the result.
    """
    directory = Path(bundle_dir) if bundle_dir is not None else default_promotion_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    origin, destination = (server_slug(c.name or c.base_url) for c in (source, target))
    path = directory / f"promote-{origin}-to-{destination}-{stamp}.json"
    exported = export_flows(
        source,
        flow_ids=flow_ids,
        tags=tags,
        strict_secrets=strict_secrets,
        path=path,
        progress=progress,
    )
    report = import_bundle(
        target, exported.bundle, mode=mode, backup=backup, dry_run=dry_run, progress=progress
    )
    return PromoteResult(export=exported, report=report, bundle_path=path)
