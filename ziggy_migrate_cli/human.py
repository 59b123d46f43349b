"""The human account of each result: what a person reads instead of the JSON document.

Every account has the same order, so the eye knows where to look: a short table (what
happened to how many items of each kind), then the items that need attention (failures
first, then ambiguous matches, then an import's stale bindings and paused schedules),
then the warnings (grouped and counted, each once), and the summary line last, where the
cursor is when the command ends. The accounts go to
stdout (they are the answer); the JSON mode's one-line summaries go to stderr
(:func:`summary_line` and friends are shared by both).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from ziggy_migrate import (
    Action,
    BundleDiff,
    ExportResult,
    FlowSummary,
    ImportPlan,
    ImportReport,
    ItemKind,
    MatchMethod,
    PromoteResult,
)

from .output import count, group_warnings, names, print_table, stdout_console, take_warnings

__all__ = [
    "export_summary",
    "import_summary",
    "import_warnings",
    "schedule_warnings",
    "secrets_warning",
    "show_diff",
    "show_export",
    "show_flows",
    "show_import",
    "show_plan",
    "show_promote",
]

_ACTION_ORDER = (Action.CREATE, Action.OVERWRITE, Action.RENAME, Action.LEAVE, Action.AMBIGUOUS)
_DONE = {
    Action.CREATE: "created",
    Action.OVERWRITE: "overwritten",
    Action.RENAME: "copied under a new name",
    Action.LEAVE: "left as they were",
    Action.AMBIGUOUS: "ambiguous",
}
_TO_DO = {
    Action.CREATE: "to create",
    Action.OVERWRITE: "to overwrite",
    Action.RENAME: "to copy under a new name",
    Action.LEAVE: "to leave as they are",
    Action.AMBIGUOUS: "ambiguous",
}
_FAILED = "failed"
_COLUMN = {  # the table's headings: short, so that the table fits a narrow terminal
    Action.CREATE: ("created", "create"),
    Action.OVERWRITE: ("overwritten", "overwrite"),
    Action.RENAME: ("copied", "copy"),
    Action.LEAVE: ("left", "leave"),
    Action.AMBIGUOUS: ("ambiguous", "ambiguous"),
}
_MAX_ROWS = 15


def _line(text: str = "") -> None:
    stdout_console().print(text, markup=False, highlight=False)


def _warnings(messages: Iterable[str]) -> None:
    for message in group_warnings([*messages, *take_warnings()]):
        stdout_console().print(f"[yellow]warning:[/] {_plain(message)}", highlight=False)


def _plain(text: str) -> str:
    return text.replace("[", r"\[")


def _kind_label(kind: ItemKind) -> str:
    return kind.plural


# -- export --------------------------------------------------------------------------------


def export_summary(result: ExportResult, server: str) -> str:
    """``Exported 3 flows (and 5 items they use) from dev into out.json.``"""
    flows = result.counts["flows"]
    if flows == 0:
        return (
            f"Nothing exported from {server}: no flow matched the selection, so the bundle "
            f"{result.path} is empty."
        )
    others = sum(result.counts.values()) - flows
    used = f" (and {count(others, 'item')} they use)" if others else ""
    return f"Exported {count(flows, 'flow')}{used} from {server} into {result.path}."


def show_export(result: ExportResult, server: str) -> None:
    rows = [(kind, str(n)) for kind, n in result.counts.items() if n]
    if rows:
        print_table(("kind", "exported"), rows)
    unresolved = len(result.unresolved_references)
    if unresolved:
        _line(f"{count(unresolved, 'reference')} to items missing on {server} (kept as is).")
    _warnings(result.warnings)
    _line(export_summary(result, server))


# -- import, dry run, rollback ---------------------------------------------------------


def _outcome(item_result: Action, error: str | None) -> str:
    if error is not None and item_result is not Action.AMBIGUOUS:
        return _FAILED
    return item_result.value


def _action_counts(pairs: Iterable[tuple[ItemKind, str]]) -> dict[ItemKind, Counter[str]]:
    table: dict[ItemKind, Counter[str]] = {}
    for kind, outcome in pairs:
        table.setdefault(kind, Counter())[outcome] += 1
    return table


def _action_table(by_kind: dict[ItemKind, Counter[str]], *, planned: bool) -> None:
    columns = [a.value for a in _ACTION_ORDER if any(c[a.value] for c in by_kind.values())]
    if any(c[_FAILED] for c in by_kind.values()):
        columns.append(_FAILED)
    if not columns:
        return
    headers = [
        "kind",
        *(_COLUMN[Action(c)][planned] if c != _FAILED else _FAILED for c in columns),
    ]
    rows = [
        (_kind_label(kind), *(str(by_kind[kind][c] or "") for c in columns))
        for kind in ItemKind
        if kind in by_kind
    ]
    print_table(headers, rows)


def _attention(rows: Sequence[tuple[str, str, str]]) -> None:
    """The items a person must act on, first the failures, then the ambiguous ones (then,
    for an import, the bindings whose item is gone and the schedules created paused): one
    entry each (kind, name, why), wrapped rather than cut, since the why is the point."""
    if not rows:
        return
    console = stdout_console()
    console.print(f"[bold]Needs attention ({len(rows)}):[/]", highlight=False)
    for kind, name, why in rows[:_MAX_ROWS]:
        console.print(f"  [red]{kind} {_plain(repr(name))}[/]: {_plain(why)}", highlight=False)
    if len(rows) > _MAX_ROWS:
        _line(f"  ... and {len(rows) - _MAX_ROWS} more (see --format json).")


def secrets_warning(secrets: Sequence[str], server: str) -> str:
    """``3 secrets have no value on prod: A, B, C; set them in Ziggy ...``, in one line."""
    have = "has" if len(secrets) == 1 else "have"
    more = " (see --format json)" if len(secrets) > 5 else ""
    return (
        f"{count(len(secrets), 'secret')} {have} no value on {server}: {names(list(secrets))}"
        f"{more}; set them in Ziggy before the flows that use them run"
    )


def schedule_warnings(report: ImportReport, server: str) -> list[str]:
    """One line per schedule created paused that runs on the source (folded into one line
    when they are many, as every warning is)."""
    return [
        f"schedule {schedule.name!r} of flow {schedule.flow_name!r} is paused on {server}: "
        "switch it on when the flow is ready there"
        for schedule in report.schedules_paused
    ]


def import_warnings(report: ImportReport, server: str) -> list[str]:
    """The warnings the JSON mode prints on stderr for an import: secrets without a value,
    schedules created paused."""
    secrets = (
        [secrets_warning(report.secrets_needing_values, server)]
        if report.secrets_needing_values
        else []
    )
    return secrets + schedule_warnings(report, server)


def import_summary(report: ImportReport, server: str, *, verb: str = "Imported into") -> str:
    """``Imported into prod: 12 items, 10 created, 2 overwritten, 1 failed.``"""
    outcomes = Counter(_outcome(item.result, item.error) for item in report.items)
    words = _TO_DO if report.dry_run else _DONE
    parts = [f"{outcomes[a.value]} {words[a]}" for a in _ACTION_ORDER if outcomes[a.value]] + (
        [f"{outcomes[_FAILED]} {_FAILED}"] if outcomes[_FAILED] else []
    )
    head = f"Dry run on {server}, nothing written: " if report.dry_run else f"{verb} {server}: "
    return (
        head + count(len(report.items), "item") + (": " + ", ".join(parts) if parts else "") + "."
    )


def _report_attention(report: ImportReport) -> list[tuple[str, str, str]]:
    failed = [
        (item.kind.value, item.name, item.error or "")
        for item in report.items
        if item.error is not None and item.result is not Action.AMBIGUOUS
    ]
    ambiguous = [
        (item.kind.value, item.name, item.error or "ambiguous")
        for item in report.items
        if item.result is Action.AMBIGUOUS
    ]
    gone = [
        (
            item.kind.value,
            item.name,
            f"the binding file bound it to {item.stale_binding}, which is gone from the "
            "target; it was matched by name or created instead",
        )
        for item in report.items
        if item.stale_binding is not None and item.error is None
    ]
    paused = [
        (
            ItemKind.SCHEDULE.value,
            schedule.name,
            f"{'to be created' if report.dry_run else 'created'} paused (it runs on the "
            f"source): switch it on when flow {schedule.flow_name!r} is ready",
        )
        for schedule in report.schedules_paused
    ]
    return failed + ambiguous + gone + paused


def show_import(report: ImportReport, server: str, *, verb: str = "Imported into") -> None:
    """The account of an import, a dry run or a rollback."""
    by_kind = _action_counts(
        (item.kind, _outcome(item.result, item.error)) for item in report.items
    )
    _action_table(by_kind, planned=report.dry_run)
    _attention(_report_attention(report))
    notes = list(report.warnings)
    if report.secrets_needing_values:
        notes.append(secrets_warning(report.secrets_needing_values, server))
    _warnings(notes)
    bound = sum(1 for item in report.items if item.match_method is MatchMethod.BINDING)
    if bound:
        where = f" ({report.bindings_path})" if report.bindings_path else ""
        _line(
            f"{count(bound, 'item')} matched through the binding file{where}: copies of "
            "earlier imports, found whatever their names on the source."
        )
    if report.rollback_path:
        _line(rollback_note(report))
    _line(import_summary(report, server, verb=verb))


def rollback_note(report: ImportReport) -> str:
    """Where the overwritten items were saved (empty when nothing was)."""
    if not report.rollback_path:
        return ""
    return (
        f"The overwritten items were saved in {report.rollback_path} "
        "('ziggy flow rollback' puts them back)."
    )


# -- plan -----------------------------------------------------------------------------------


def plan_summary(plan: ImportPlan, server: str, path: Path) -> str:
    """``Plan for prod with --overwrite saved to plan.json: 5 items, 5 to create.``"""
    outcomes = Counter(item.action.value for item in plan.items)
    parts = [f"{outcomes[a.value]} {_TO_DO[a]}" for a in _ACTION_ORDER if outcomes[a.value]]
    return (
        f"Plan for {server} with --{plan.mode.value} saved to {path}: "
        + count(len(plan.items), "item")
        + (": " + ", ".join(parts) if parts else "")
        + "."
    )


def show_plan(plan: ImportPlan, server: str, path: Path, apply_with: str) -> None:
    _action_table(_action_counts((i.kind, i.action.value) for i in plan.items), planned=True)
    _attention(
        [
            (item.kind.value, item.name, item.error or "")
            for item in plan.items
            if item.action is Action.AMBIGUOUS
        ]
    )
    _warnings(plan.warnings)
    _line(f"Apply it with: {apply_with}")
    _line(plan_summary(plan, server, path))


# -- diff -------------------------------------------------------------------------------


def diff_summary(diff: BundleDiff, new: str, base: str) -> str:
    """``flows/ against prod: 2 changed, 1 added, 10 unchanged.``"""
    if not diff.has_differences:
        return f"{new} against {base}: no differences ({count(diff.unchanged, 'item')} compared)."
    parts = [f"{n} {what}" for what, n in diff.summary().items() if n]
    return f"{new} against {base}: " + ", ".join(parts) + "."


def show_diff(diff: BundleDiff, new: str, base: str) -> None:
    rows = [
        (
            change.kind.value,
            change.name,
            change.change.value,
            names(list(change.fields), 3) if change.fields else "",
        )
        for change in diff.changes
    ]
    if rows:
        print_table(("kind", "name", "change", "fields"), rows[:_MAX_ROWS])
        if len(rows) > _MAX_ROWS:
            _line(f"... and {len(rows) - _MAX_ROWS} more (see --format json).")
    _warnings(())
    _line(diff_summary(diff, new, base))


# -- promote and list -------------------------------------------------------------------


def promote_export_line(result: PromoteResult, origin: str) -> str:
    """``Exported 3 flows from dev; the bundle is kept in PATH.``"""
    flows = count(result.export.counts["flows"], "flow")
    return f"Exported {flows} from {origin}; the bundle is kept in {result.bundle_path}."


def show_promote(result: PromoteResult, origin: str, destination: str) -> None:
    _line(promote_export_line(result, origin))
    show_import(result.report, destination)


def show_flows(summaries: Sequence[FlowSummary]) -> None:
    """``flow list``: one row per flow; plain columns, so pipes can cut them."""
    print_table(
        ("UUID", "NAME", "LISTENER", "SUBFLOW", "TAGS"),
        [
            (s.uuid, s.name, s.listener_type, "yes" if s.is_subflow else "", ", ".join(s.tags))
            for s in summaries
        ],
        plain=True,
    )
