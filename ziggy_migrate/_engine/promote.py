"""Promotion in one step: export from one server, import into another, keep the bundle.

The intermediate bundle is saved before the import starts, so there is always a record
of exactly what was promoted (and something to diff against or re-apply later).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._client.client import ZiggyClient
from .._vocabulary import state_dir as _state
from .._vocabulary.enums import ImportMode, ImportModeName, choice
from .._vocabulary.models import ProgressCallback
from .apply import import_bundle
from .export import ExportResult, export_flows
from .lock import DEFAULT_LOCK_TIMEOUT
from .report import ImportReport

__all__ = ["PromoteResult", "default_promotion_dir", "promote"]


@attrs.frozen
class PromoteResult:
    """The export, the import report, and where the promoted bundle was kept."""

    export: ExportResult
    report: ImportReport
    bundle_path: Path

    def to_dict(self) -> dict[str, Any]:
        """``{"status", "statusText", "data"}``: the import's status, and in ``data`` the
        kept bundle's path, the export's data and the import report's data."""
        document = self.report.to_dict()
        return {
            "status": document["status"],
            "statusText": document["statusText"],
            "data": {
                "bundlePath": str(self.bundle_path),
                "export": self.export.to_dict(),
                "import": document["data"],
            },
        }


def default_promotion_dir(base: str | os.PathLike[str] | None = None) -> Path:
    """``promotions`` in the state folder ``base`` (beside the rollback folder)."""
    return _state.state_dir("promotions", base)


def promote(
    source: ZiggyClient,
    target: ZiggyClient,
    *,
    mode: ImportMode | ImportModeName,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    backup: bool = True,
    dry_run: bool = False,
    strict_secrets: bool = False,
    bundle_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    bindings: str | os.PathLike[str] | None = None,
    keep_schedule_state: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> PromoteResult:
    """Export the selection from ``source`` and import it into ``target``.

    The bundle is kept in ``bundle_dir`` (default: the ``promotions`` folder of the state
    folder ``state_dir``, see :func:`import_bundle`) and its path is in the result.
    ``bindings``, ``keep_schedule_state`` and ``lock_timeout`` are passed to
    :func:`import_bundle`; so is Ctrl-C during the import (``ImportInterrupted``).
    """
    choice(ImportMode, mode, "mode")
    directory = Path(bundle_dir) if bundle_dir is not None else default_promotion_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    origin, destination = (_state.server_slug(c.name or c.base_url) for c in (source, target))
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
        target,
        exported.bundle,
        mode=mode,
        backup=backup,
        dry_run=dry_run,
        progress=progress,
        state_dir=state_dir,
        bindings=bindings,
        keep_schedule_state=keep_schedule_state,
        lock_timeout=lock_timeout,
    )
    return PromoteResult(export=exported, report=report, bundle_path=path)
