"""Readable text and HTML tables for plans, reports and diffs (``repr`` and notebooks)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .diff import BundleDiff
    from .plan import ImportPlan
    from .report import ImportReport

__all__ = ["diff_html", "diff_text", "plan_html", "plan_text", "report_html", "report_text"]

_PLAN_COLUMNS = ("kind", "name", "match", "action", "target uuid", "note")
_REPORT_COLUMNS = ("kind", "name", "match", "result", "uuid", "processed", "error")


def _plan_rows(plan: ImportPlan) -> list[tuple[str, ...]]:
    return [
        (
            item.kind.value,
            item.name,
            item.match.value,
            item.action.value,
            item.target_uuid or "",
            item.error or (f"as {item.target_name!r}" if item.target_name != item.name else ""),
        )
        for item in plan.items
    ]


def _report_rows(report: ImportReport) -> list[tuple[str, ...]]:
    return [
        (
            item.kind.value,
            item.name,
            item.match_method.value,
            item.result.value,
            item.uuid or "",
            "yes" if item.is_processed else "no",
            item.error or "",
        )
        for item in report.items
    ]


def _text_table(columns: Sequence[str], rows: list[tuple[str, ...]]) -> str:
    widths = [
        max([len(column)] + [min(len(row[index]), 60) for row in rows])
        for index, column in enumerate(columns)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell[:60].ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join(
        [line(columns), line(["-" * width for width in widths])] + [line(row) for row in rows]
    )


def _html_table(caption: str, columns: Sequence[str], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _plan_caption(plan: ImportPlan) -> str:
    counts = ", ".join(f"{count} {action}" for action, count in sorted(plan.summary().items()))
    return f"Import plan into {plan.target_url} (mode {plan.mode.value}): {counts or 'nothing'}"


def plan_text(plan: ImportPlan) -> str:
    lines = [_plan_caption(plan), *plan.warnings]
    return "\n".join([*lines, _text_table(_PLAN_COLUMNS, _plan_rows(plan))])


def plan_html(plan: ImportPlan) -> str:
    return _html_table(_plan_caption(plan), _PLAN_COLUMNS, _plan_rows(plan))


def _report_caption(report: ImportReport) -> str:
    what = "Dry run of import" if report.dry_run else "Import"
    failed = len(report.failed)
    return (
        f"{what} into {report.target_url} (mode {report.mode.value}): {len(report.items)} "
        f"items, {failed} failed"
    )


def report_text(report: ImportReport) -> str:
    lines = [_report_caption(report), *report.warnings]
    if report.secrets_needing_values:
        lines.append("secrets needing values: " + ", ".join(report.secrets_needing_values))
    return "\n".join([*lines, _text_table(_REPORT_COLUMNS, _report_rows(report))])


def report_html(report: ImportReport) -> str:
    return _html_table(_report_caption(report), _REPORT_COLUMNS, _report_rows(report))


_DIFF_COLUMNS = ("kind", "name", "change", "fields")


def _diff_rows(diff: BundleDiff) -> list[tuple[str, ...]]:
    return [
        (change.kind.value, change.name, change.change.value, ", ".join(change.fields))
        for change in diff.changes
    ]


def _diff_caption(diff: BundleDiff) -> str:
    counts = diff.summary()
    return ", ".join(f"{count} {what}" for what, count in counts.items())


def diff_text(diff: BundleDiff) -> str:
    if not diff.changes:
        return f"No differences ({diff.unchanged} items unchanged)"
    return "\n".join([_diff_caption(diff), _text_table(_DIFF_COLUMNS, _diff_rows(diff))])


def diff_html(diff: BundleDiff) -> str:
    return _html_table(_diff_caption(diff), _DIFF_COLUMNS, _diff_rows(diff))
