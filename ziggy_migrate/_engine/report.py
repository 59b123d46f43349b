"""``ImportReport``: what an import did (or, for a dry run, would do), item by item.

``to_dict()`` is the shape Ziggy's own import answers with (``FlowImportResponseDto``
wrapped as the official CLI prints it), so scripts written for the official tool keep
working; the extra keys (structures, variables, schedules, secrets needing values,
schedules left paused, the binding file, the backup) are additions, never changes.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._vocabulary import convert as _convert
from .._vocabulary.enums import Action, ImportMode, MatchMethod
from .._vocabulary.models import REPORT_ORDER, BackupResult, ItemKind
from .._vocabulary.tables import Attention, Row, Table, brief, data_frame, uuid_cell

__all__ = ["ImportReport", "PausedSchedule", "ProcessedItem"]


@attrs.frozen
class ProcessedItem:
    """The outcome for one bundle item.

    ``uuid`` and ``name`` are the item's identity on the target (None for an item that
    was not created); ``is_processed`` is True only when the action really happened;
    ``stale_binding`` is the target UUID the binding file named for the item when that
    item was gone (it was then matched by name, or created).
    """

    kind: ItemKind
    source_uuid: str
    uuid: str | None
    name: str
    result: Action
    match_method: MatchMethod
    is_processed: bool
    error: str | None = None
    stale_binding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Ziggy's report knows LEAVE / OVERWRITE / RENAME (+ CREATE); an ambiguous item
        # leaves the target untouched and says why in ``error``.
        result = Action.LEAVE if self.result is Action.AMBIGUOUS else self.result
        data: dict[str, Any] = {
            "uuid": self.uuid,
            "name": self.name,
            "result": result.value,
            "matchMethod": self.match_method.value,
            "isProcessed": self.is_processed,
            "sourceUuid": self.source_uuid,
        }
        if self.error is not None:
            data["error"] = self.error
        if self.stale_binding is not None:
            data["staleBinding"] = self.stale_binding
        return data


@attrs.frozen
class PausedSchedule:
    """A schedule the import created paused although it runs on the source: switch it on
    on the target once the flow is ready there (``uuid`` is None in a dry run;
    ``source_uuid`` is the schedule's UUID in the bundle)."""

    uuid: str | None
    name: str
    flow_uuid: str | None
    flow_name: str
    source_uuid: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "flowUuid": self.flow_uuid,
            "flowName": self.flow_name,
            "sourceUuid": self.source_uuid,
        }


@attrs.frozen
class ImportReport:
    """The result of :func:`~ziggy_migrate.import_bundle`."""

    mode: ImportMode
    target_url: str
    items: tuple[ProcessedItem, ...]
    dry_run: bool = False
    backup: BackupResult | None = None
    secrets_needing_values: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    retries: int = 0
    rollback_path: str | None = None
    schedules_paused: tuple[PausedSchedule, ...] = ()
    bindings_path: str | None = None

    @property
    def ok(self) -> bool:
        """True when every item was processed (or, in a dry run, could be)."""
        return not self.failed

    @property
    def failed(self) -> tuple[ProcessedItem, ...]:
        """Items that were not imported because of an error."""
        return tuple(item for item in self.items if item.error is not None)

    def of_kind(self, kind: ItemKind) -> tuple[ProcessedItem, ...]:
        return tuple(item for item in self.items if item.kind is kind)

    def to_dict(self) -> dict[str, Any]:
        """``{"status", "statusText", "data"}`` as the official CLI prints an import."""
        if self.dry_run:
            status, text = 200, "OK"
        elif self.failed:
            status, text = 207, "Multi-Status"
        else:
            status, text = 201, "Created"
        data: dict[str, Any] = {
            f"{kind.plural}Processed": [item.to_dict() for item in self.of_kind(kind)]
            for kind in REPORT_ORDER
        }
        data.update(
            {
                "secretsNeedingValues": list(self.secrets_needing_values),
                "schedulesPaused": [schedule.to_dict() for schedule in self.schedules_paused],
                "bindingsPath": self.bindings_path,
                "bindingsGone": [
                    item.to_dict() for item in self.items if item.stale_binding is not None
                ],
                "backup": _convert.unstructure(self.backup) if self.backup else None,
                "mode": self.mode.value,
                "dryRun": self.dry_run,
                "warnings": list(self.warnings),
                "retries": self.retries,
                "rollbackPath": self.rollback_path,
            }
        )
        return {"status": status, "statusText": text, "data": data}

    def _caption(self) -> str:
        what = "Dry run of import" if self.dry_run else "Import"
        return (
            f"{what} into {self.target_url} (mode {self.mode.value}): {len(self.items)} "
            f"items, {len(self.failed)} failed"
        )

    def _table(self) -> Table:
        notes = list(self.warnings)
        if self.secrets_needing_values:
            notes.append("secrets needing values: " + ", ".join(self.secrets_needing_values))
        if self.schedules_paused:
            notes.append(
                "schedules created paused (switch them on when ready): "
                + ", ".join(f"{s.name} ({s.flow_name})" for s in self.schedules_paused)
            )
        needing = set(self.secrets_needing_values)
        paused = {schedule.source_uuid for schedule in self.schedules_paused}
        rows = []
        for item in self.items:
            attention: Attention | None = None
            notes_of_item = [item.error] if item.error is not None else []
            if item.error is not None:
                attention = "error"
            elif item.kind is ItemKind.SECRET and item.name in needing:
                attention = "warning"
                notes_of_item.append("has no value on the target: set one")
            elif item.kind is ItemKind.SCHEDULE and item.source_uuid in paused:
                attention = "warning"
                notes_of_item.append("created paused: switch it on when its flow is ready")
            if item.stale_binding is not None:
                attention = attention or "warning"
                notes_of_item.append(f"bound item {item.stale_binding} gone")
            rows.append(
                Row(
                    (
                        item.kind.value,
                        item.name,
                        item.match_method.value,
                        item.result.value,
                        uuid_cell(item.uuid),
                        "yes" if item.is_processed else "no",
                        "; ".join(notes_of_item),
                    ),
                    attention=attention,
                )
            )
        return Table(
            caption=self._caption(),
            columns=("kind", "name", "match", "result", "uuid", "processed", "note"),
            rows=tuple(rows),
            notes=tuple(notes),
            summary=("kind", "result"),
        )

    def to_dataframe(self) -> Any:
        """The report as a ``pandas.DataFrame``, one row per item (needs the ``pandas`` extra).

        Columns: kind, name, match_method, result, source_uuid, uuid, is_processed, error,
        needs_value (a secret left without a value on the target); enum values as their
        strings. Without pandas this raises :class:`MissingDependencyError`.
        """
        needing = set(self.secrets_needing_values)
        return data_frame(
            (
                "kind",
                "name",
                "match_method",
                "result",
                "source_uuid",
                "uuid",
                "is_processed",
                "error",
                "needs_value",
            ),
            (
                (
                    item.kind.value,
                    item.name,
                    item.match_method.value,
                    item.result.value,
                    item.source_uuid,
                    item.uuid,
                    item.is_processed,
                    item.error,
                    item.kind is ItemKind.SECRET and item.name in needing,
                )
                for item in self.items
            ),
        )

    def __str__(self) -> str:
        return self._table().to_text()

    def __repr__(self) -> str:
        failed = brief([item.name for item in self.failed])
        return f"<ImportReport {self._caption()}{f': {failed}' if failed else ''}>"

    def _repr_html_(self) -> str:
        return self._table().to_html()
