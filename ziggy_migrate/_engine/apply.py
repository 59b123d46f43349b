"""``import_bundle``: apply an import plan to the target server and report each item.

Order matters because items refer to each other: secrets first, then connections,
structures and variables, then flows, then the flows' schedules. Flows are written in
three steps so that subflow calls (even cycles) resolve: create every new flow as an
empty shell, make the ``Pre import`` named save of every flow about to be overwritten,
then write every flow's content with its references pointing at the target's UUIDs and
names. A schedule is written for its flow's UUID on the target; one the import creates
is created paused (unless asked to keep the source's state), and one it overwrites keeps
the target's paused state, so an import never switches a trigger on by surprise.

Matching consults the binding file (``bindings.py``), and once the items are written the
import records in it which target item each source item became.

Within a step, independent requests run concurrently (``client.max_workers``); outcomes
are reported in bundle order whatever order they finish in.

An item that fails does not stop the others. A flow whose dependency failed is not
written at all (so nothing on the target points at something missing) and is reported
with the reason.

Around the writes: the server's lock on this machine (``lock.py``) is held from before the
target is read until the journal is written, the journal (``journal.py``) lets a re-run
finish an interrupted import, and after the creates a check (``duplicates.py``) reports
items that another import made at the same time. Once anything was written, the caller
always gets the report: returned, or carried by :class:`ImportIncompleteError` /
:class:`ImportInterrupted` (``partial.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .._bundle.references import References, find_references, find_secret_names, rewrite
from .._client.client import ZiggyClient
from .._vocabulary.enums import Action, ImportMode, ImportModeName, choice, names_or_none
from .._vocabulary.errors import BackupFailedError, PlanError, ZiggyError
from .._vocabulary.models import (
    BackupResult,
    Bundle,
    Connection,
    Flow,
    ItemKind,
    ProgressCallback,
    Schedule,
)
from .bindings import Bindings, read_bindings, write_bindings
from .duplicates import flag_duplicates
from .fetching import each_in_parallel
from .journal import ImportJournal, JournalState, journal_dir
from .lock import DEFAULT_LOCK_TIMEOUT, lock_dir, target_lock
from .partial import INTERRUPTED_NOTE, ImportIncompleteError, ImportInterrupted
from .plan import ImportPlan, PlannedItem, TargetItem, bindings_path, make_plan, read_target
from .report import ImportReport, PausedSchedule, ProcessedItem
from .rollback import default_rollback_dir, earlier_copies, load_rollback, write_rollback_bundle
from .saved_plan import check_plan_still_holds
from .server_watch import ServerWatch
from .subset import select_flows

__all__ = ["PRE_IMPORT_SAVE_NAME", "import_bundle", "rollback"]

logger = logging.getLogger("ziggy_migrate.import")

PRE_IMPORT_SAVE_NAME = "Pre import"
"""The named save made of every flow right before it is overwritten."""


T = TypeVar("T")

_CREATES = (Action.CREATE, Action.RENAME)


def import_bundle(
    client: ZiggyClient,
    bundle: Bundle,
    *,
    mode: ImportMode | ImportModeName | None = None,
    plan: ImportPlan | None = None,
    flow_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    backup: bool = True,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    keep_rollback: bool = True,
    rollback_dir: str | os.PathLike[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    bindings: str | os.PathLike[str] | None = None,
    keep_schedule_state: bool = False,
) -> ImportReport:
    """Import ``bundle`` into the server behind ``client``.

    Matching is by UUID, then by the binding file, then by name (a schedule's within its
    flow), else the item is created; ``mode`` says what happens to matched items
    (``skip``, ``duplicate`` or ``overwrite``). ``bindings`` is the binding file that
    records, for this target server, which target item each source item became: read
    before planning and updated after the import (default: ``bindings/<server>.json`` in
    the state folder; for a bundle folder kept in git, ``bindings/<server>.json`` inside
    it is the place). A schedule the import creates is created paused unless
    ``keep_schedule_state=True`` (then as on the source); the report's
    ``schedules_paused`` lists those to switch on. An overwritten schedule keeps the
    target's paused state. Unless
    ``backup=False``, the server makes a database backup before the first write, and a
    failed backup raises :class:`BackupFailedError` with nothing written. Before the first
    overwrite, the target's current copy of every item to be overwritten is saved as a
    rollback bundle (unless ``keep_rollback=False``) in ``rollback_dir``, by default
    ``rollback`` in the state folder; :func:`rollback` restores from it. With
    ``dry_run=True`` nothing is written and the report shows the plan.

    ``flow_ids``/``tags`` import only those flows of the bundle, with what they need.
    ``plan`` (a saved :class:`ImportPlan`, see :func:`save_plan`) applies exactly that plan
    and raises :class:`PlanError`, writing nothing, when the target changed since.
    ``state_dir`` is where the import keeps its journal, locks and rollback bundles
    (default: ``$ZIGGY_STATE_DIR``, else the platform's user state folder).

    One import at a time per target server and state folder: while another one runs, this
    one waits up to ``lock_timeout`` seconds (``0``: not at all), then raises
    :class:`TargetBusyError` having written nothing. Once it has written, a failure raises
    :class:`ImportIncompleteError` and Ctrl-C :class:`ImportInterrupted`, both carrying
    the report of what was done (``.report``).
    """
    return _import_bundle(
        client,
        bundle,
        mode=mode,
        plan=plan,
        flow_ids=flow_ids,
        tags=tags,
        backup=backup,
        dry_run=dry_run,
        progress=progress,
        rollback_dir=(
            None
            if not keep_rollback
            else Path(rollback_dir)
            if rollback_dir is not None
            else default_rollback_dir(state_dir)
        ),
        state_dir=state_dir,
        lock_timeout=lock_timeout,
        same_server_expected=False,
        bindings_file=bindings_path(client, bindings, state_dir),
        keep_schedule_state=keep_schedule_state,
    )


def _import_bundle(
    client: ZiggyClient,
    bundle: Bundle,
    *,
    mode: ImportMode | str | None,
    plan: ImportPlan | None,
    flow_ids: Sequence[str] | None,
    tags: Sequence[str] | None,
    backup: bool,
    dry_run: bool,
    progress: ProgressCallback | None,
    rollback_dir: Path | None,
    state_dir: str | os.PathLike[str] | None,
    lock_timeout: float,
    same_server_expected: bool,
    bindings_file: Path | None,
    keep_schedule_state: bool,
) -> ImportReport:
    """:func:`import_bundle` with the rollback folder resolved (None: no rollback copy),
    the binding file resolved (None: bindings neither used nor recorded, as for a
    rollback), and, for a rollback, the same-server import expected rather than warned
    about."""
    flow_ids = names_or_none(flow_ids, "flow_ids")
    tags = names_or_none(tags, "tags")
    retries_before = client.retries
    saved_plan = plan
    if saved_plan is not None:
        if mode is not None and choice(ImportMode, mode, "mode") is not saved_plan.mode:
            raise PlanError(
                f"the plan was made with mode {saved_plan.mode.value}, not "
                f"{choice(ImportMode, mode, 'mode').value}"
            )
        mode = saved_plan.mode
        flow_ids, tags = _selection_of(saved_plan, flow_ids, tags)
    if mode is None:
        raise TypeError("import_bundle() needs a mode (skip, duplicate or overwrite) or a plan")
    bundle = select_flows(bundle, flow_ids=flow_ids, tags=tags)
    with contextlib.ExitStack() as held:
        if not dry_run:  # a dry run only reads: it needs no lock
            held.enter_context(
                target_lock(client.base_url, lock_dir(state_dir), timeout=lock_timeout)
            )
        known_bindings = read_bindings(bindings_file) if bindings_file is not None else Bindings()
        journal = ImportJournal(client.base_url, journal_dir(state_dir))
        target = read_target(client)
        earlier = journal.read().on(target)
        plan = make_plan(
            bundle,
            target,
            mode=choice(ImportMode, mode, "mode"),
            target_url=client.base_url,
            same_server_expected=same_server_expected,
            with_digest=saved_plan is not None,
            interrupted=earlier.creating,
            bindings=known_bindings,
        )
        plan = attrs.evolve(plan, flow_ids=tuple(flow_ids or ()), tags=tuple(tags or ()))
        if saved_plan is not None:
            check_plan_still_holds(saved_plan, plan)
        secret_values = {item.uuid: item.has_value for item in target[ItemKind.SECRET]}
        for warning in plan.warnings:
            logger.warning("%s", warning)
        if dry_run:
            outcomes = [_planned_outcome(item) for item in plan.items]
            report = _report(plan, outcomes, client, secret_values, retries_before, dry_run=True)
            return attrs.evolve(
                report,
                schedules_paused=_paused_schedules(bundle, plan, outcomes, keep_schedule_state),
            )

        backup_result: BackupResult | None = None
        if backup and plan.writes:
            backup_result = client.backup_database()
            if not backup_result.ok:
                raise BackupFailedError(
                    f"the database backup on {client.base_url} failed "
                    f"(local: {backup_result.local_backup_status}); nothing was imported. Fix "
                    "the server's backup, or import with backup turned off if you accept the "
                    "risk."
                )
            logger.info("database backup made: %s", backup_result.local_backup_file or "ok")

        rollback_path: Path | None = None
        if rollback_dir is not None:
            copies = earlier_copies(_noted_copies(plan, earlier))
            rollback_path = write_rollback_bundle(client, plan, target, rollback_dir, copies)
            if rollback_path is not None:
                logger.info("rollback bundle written to %s", rollback_path)

        run = _Run(
            client,
            plan,
            target,
            journal,
            rollback_path,
            paused=lambda outcomes: _paused_schedules(bundle, plan, outcomes, keep_schedule_state),
            record=(
                None
                if bindings_file is None
                else lambda report: _record_bindings(report, bindings_file, known_bindings)
            ),
        )
        run.start(earlier.starting(plan.items, rollback_path))
        applier = _Applier(
            client,
            bundle,
            plan,
            progress,
            already_saved=earlier.pre_import_saved,
            on_pre_import_saves=run.note_pre_import_saves,
            keep_schedule_state=keep_schedule_state,
        )
        return run.apply(applier, secret_values, retries_before, backup_result)


def rollback(
    client: ZiggyClient,
    source: str | os.PathLike[str] | Bundle,
    *,
    backup: bool = True,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> ImportReport:
    """Restore the items saved in a rollback bundle (see ``ImportReport.rollback_path``).

    The bundle holds the target's own items, so they match by UUID and are overwritten
    back to their saved state. Items an import created are not removed. A rollback bundle
    saved from another server is refused (:class:`PlanError`): there it would match by
    name and overwrite the wrong items. It waits for, fails and is interrupted like
    :func:`import_bundle`.
    """
    bundle = load_rollback(source)
    saved_from = bundle.provenance.source.url.rstrip("/").lower()
    if not saved_from:
        raise PlanError(
            "this bundle names no server it was saved from, so it is not a rollback bundle; "
            "give the file an import reported as its rollbackPath"
        )
    if saved_from != client.base_url.rstrip("/").lower():
        raise PlanError(
            f"this rollback bundle was saved from {bundle.provenance.source.url}, not "
            f"{client.base_url}; restore it into the server it came from"
        )
    return _import_bundle(
        client,
        bundle,
        mode=ImportMode.OVERWRITE,
        plan=None,
        flow_ids=None,
        tags=None,
        backup=backup,
        dry_run=dry_run,
        progress=progress,
        rollback_dir=None,
        state_dir=state_dir,
        lock_timeout=lock_timeout,
        same_server_expected=True,
        bindings_file=None,
        keep_schedule_state=False,
    )


def _noted_copies(plan: ImportPlan, earlier: JournalState) -> dict[tuple[ItemKind, str], str]:
    """The items ``plan`` overwrites whose copy from before an interrupted import is in
    one of its rollback bundles: (kind, UUID) -> that bundle's path."""
    return {
        (item.kind, item.target_uuid): path
        for item in plan.items
        if item.action is Action.OVERWRITE
        and item.target_uuid is not None
        and (path := earlier.overwriting.get(item.kind, {}).get(item.target_uuid, ""))
    }


class _Run:
    """The part of an import from its first write on: the writes, the journal kept up to
    date, the check for duplicates and the report, which reaches the caller whatever
    fails on the way. ``paused`` lists the schedules created paused of a run's outcomes;
    ``record`` records a report's bindings (None: not recorded), for a stopped run too, as
    what it wrote is on the target."""

    def __init__(
        self,
        client: ZiggyClient,
        plan: ImportPlan,
        target: dict[ItemKind, list[TargetItem]],
        journal: ImportJournal,
        rollback_path: Path | None,
        *,
        paused: Callable[[Sequence[ProcessedItem]], tuple[PausedSchedule, ...]],
        record: Callable[[ImportReport], ImportReport] | None,
    ) -> None:
        self.client = client
        self.plan = plan
        self.target = target
        self.journal = journal
        self.rollback_path = rollback_path
        self.paused = paused
        self.record = record
        self.state = JournalState()

    def start(self, state: JournalState) -> None:
        """Note the work about to be done, before the first write."""
        self.state = state
        self.journal.write(state)

    def note_pre_import_saves(self, flow_uuids: Iterable[str]) -> None:
        self.state = self.state.with_pre_import_saves(flow_uuids)
        self.journal.write(self.state)

    def apply(
        self,
        applier: _Applier,
        secret_values: dict[str, bool | None],
        retries_before: int,
        backup: BackupResult | None,
    ) -> ImportReport:
        def report(outcomes: list[ProcessedItem], *, ask: bool) -> ImportReport:
            made = _report(
                self.plan,
                outcomes,
                self.client,
                secret_values,
                retries_before,
                dry_run=False,
                backup=backup,
                ask=ask,
            )
            path = str(self.rollback_path) if self.rollback_path else None
            made = attrs.evolve(made, rollback_path=path, schedules_paused=self.paused(outcomes))
            return made if self.record is None else self.record(made)

        outcomes: list[ProcessedItem] | None = None
        try:
            outcomes = applier.run()
            self.journal.write(self.state.finished(self.plan.items, outcomes))
            outcomes = flag_duplicates(self.client, self.plan, self.target, outcomes)
            return report(outcomes, ask=True)
        except KeyboardInterrupt as exc:
            reason = f"not imported: the import was interrupted first; {INTERRUPTED_NOTE}"
            stopped = applier.outcomes_so_far(reason) if outcomes is None else outcomes
            raise ImportInterrupted(report(stopped, ask=False)) from exc
        except Exception as exc:
            cause = _describe(exc).rstrip(".")  # a sentence of its own follows
            reason = f"not imported: the import stopped first ({cause})"
            stopped = applier.outcomes_so_far(reason) if outcomes is None else outcomes
            done = sum(1 for item in stopped if item.is_processed)
            remedy = "The report lists what was written" + (
                "." if outcomes is not None else "; run the same import again to complete it."
            )
            raise ImportIncompleteError(
                f"the import into {self.client.base_url} stopped after it had begun writing "
                f"({done} of {len(stopped)} item(s) done): {cause}. {remedy}",
                report=report(stopped, ask=False),
                cause=exc,
            ) from exc


def _describe(exc: BaseException) -> str:
    """One line for a failure: a library error's own message, else its type too."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ZiggyError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _selection_of(
    plan: ImportPlan, flow_ids: Sequence[str] | None, tags: Sequence[str] | None
) -> tuple[Sequence[str], Sequence[str]]:
    """The part of the bundle a saved plan covers; a different one asked for is an error."""
    asked = (tuple(flow_ids or ()), tuple(tags or ()))
    if (flow_ids or tags) and asked != (plan.flow_ids, plan.tags):
        raise PlanError(
            "the plan was made for another selection of flows "
            f"(flow ids {list(plan.flow_ids)}, tags {list(plan.tags)}); leave the selection "
            "out to use the plan's"
        )
    return plan.flow_ids, plan.tags


def _record_bindings(report: ImportReport, path: Path, known: Bindings) -> ImportReport:
    """Add what this import matched and created to the binding file.

    The items are written by now, so a file that cannot be written is a warning in the
    report, never an error that would lose it.
    """
    bound = [
        (item.kind, item.source_uuid, item.uuid)
        for item in report.items
        if item.error is None and item.uuid is not None and item.uuid != item.source_uuid
    ]
    try:
        if write_bindings(path, known.updated(bound)):
            logger.info("bindings recorded in %s", path)
    except (OSError, ZiggyError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        warning = (
            f"the binding file {path} could not be written ({reason}); the next import may "
            "not find items renamed on the source"
        )
        logger.warning("%s", warning)
        return attrs.evolve(report, warnings=(*report.warnings, warning))
    return attrs.evolve(report, bindings_path=str(path))


def _paused_schedules(
    bundle: Bundle,
    plan: ImportPlan,
    outcomes: Sequence[ProcessedItem],
    keep_schedule_state: bool,
) -> tuple[PausedSchedule, ...]:
    """The schedules created paused (or, in a dry run, to be) that run on the source:
    what to switch on once their flows are ready on the target."""
    if keep_schedule_state:
        return ()
    sources = {schedule.uuid: schedule for schedule in bundle.schedules}
    flows = {outcome.source_uuid: outcome for outcome in outcomes if outcome.kind is ItemKind.FLOW}
    paused: list[PausedSchedule] = []
    for item, outcome in zip(plan.items, outcomes, strict=True):
        source = sources.get(item.source_uuid)
        if item.kind is not ItemKind.SCHEDULE or source is None or source.is_paused:
            continue
        if item.action not in _CREATES or outcome.error is not None:
            continue
        flow = flows.get(source.flow_uuid)
        paused.append(
            PausedSchedule(
                uuid=outcome.uuid,
                name=outcome.name,
                flow_uuid=flow.uuid if flow is not None else source.flow_uuid,
                flow_name=flow.name if flow is not None else "",
                source_uuid=item.source_uuid,
            )
        )
    return tuple(paused)


def _planned_outcome(item: PlannedItem) -> ProcessedItem:
    return ProcessedItem(
        kind=item.kind,
        source_uuid=item.source_uuid,
        uuid=item.target_uuid if item.action in (Action.LEAVE, Action.OVERWRITE) else None,
        name=item.target_name,
        result=item.action,
        match_method=item.match,
        is_processed=False,
        error=item.error,
        stale_binding=item.stale_binding,
    )


def _report(
    plan: ImportPlan,
    outcomes: list[ProcessedItem],
    client: ZiggyClient,
    secret_values: dict[str, bool | None],
    retries_before: int,
    *,
    dry_run: bool,
    backup: BackupResult | None = None,
    ask: bool = True,
) -> ImportReport:
    return ImportReport(
        mode=plan.mode,
        target_url=plan.target_url,
        items=tuple(outcomes),
        dry_run=dry_run,
        backup=backup,
        secrets_needing_values=_secrets_needing_values(
            plan, outcomes, client, secret_values, ask=ask
        ),
        warnings=plan.warnings,
        retries=client.retries - retries_before,
    )


def _secrets_needing_values(
    plan: ImportPlan,
    outcomes: list[ProcessedItem],
    client: ZiggyClient,
    secret_values: dict[str, bool | None],
    *,
    ask: bool = True,
) -> tuple[str, ...]:
    """Names of the imported secrets that hold no value on the target.

    Created secrets have none; for matched ones the listing said, unless the server hides
    values, in which case the masked endpoint is asked (concurrently, once per secret).
    With ``ask=False`` (a report made after a failure) only what is known is listed.
    """
    known: dict[str, bool] = {}
    unknown: list[str] = []
    for item, outcome in zip(plan.items, outcomes, strict=True):
        if item.kind is not ItemKind.SECRET or item.action is Action.AMBIGUOUS:
            continue
        if item.action in (Action.CREATE, Action.RENAME):
            known[outcome.name] = False
            continue
        listed = secret_values.get(item.target_uuid or "")
        if listed is None:
            unknown.append(outcome.name)
        else:
            known[outcome.name] = listed
    if unknown and ask:
        with ThreadPoolExecutor(max_workers=client.max_workers) as pool:
            answers = pool.map(client.secret_has_value, unknown)
            known.update(
                (name, bool(answer)) for name, answer in zip(unknown, answers, strict=True)
            )
    return tuple(sorted(name for name, has_value in known.items() if not has_value))


@attrs.define
class _Outcome:
    """Mutable per-item state while the import runs."""

    item: PlannedItem
    target_uuid: str | None = None
    processed: bool = False
    error: str | None = None

    def freeze(self) -> ProcessedItem:
        return ProcessedItem(
            kind=self.item.kind,
            source_uuid=self.item.source_uuid,
            uuid=self.target_uuid,
            name=self.item.target_name,
            result=self.item.action,
            match_method=self.item.match,
            is_processed=self.processed,
            error=self.error,
            stale_binding=self.item.stale_binding,
        )


class _Applier:
    """Carries one import through its phases."""

    def __init__(
        self,
        client: ZiggyClient,
        bundle: Bundle,
        plan: ImportPlan,
        progress: ProgressCallback | None,
        *,
        already_saved: frozenset[str] = frozenset(),
        on_pre_import_saves: Callable[[list[str]], None] | None = None,
        keep_schedule_state: bool = False,
    ) -> None:
        self.client = client
        self.plan = plan
        self.progress = progress
        self.keep_schedule_state = keep_schedule_state
        # flows whose "Pre import" save an interrupted import made: not made twice
        self.already_saved = already_saved
        self.on_pre_import_saves = on_pre_import_saves
        self.pre_import_saved: list[str] = []
        self.outcomes = {
            (item.kind, item.source_uuid): _Outcome(item, target_uuid=item.target_uuid)
            for item in plan.items
        }
        for outcome in self.outcomes.values():
            if outcome.item.action is Action.AMBIGUOUS:
                outcome.error = outcome.item.error
                outcome.target_uuid = None
            elif outcome.item.action in (Action.CREATE, Action.RENAME):
                # a new item: its UUID comes when it is created, or is the one an
                # interrupted import already made for it
                outcome.target_uuid = outcome.item.resume_uuid
        self.sources: dict[tuple[ItemKind, str], Any] = {
            (kind, item.uuid): item for kind in ItemKind for item in bundle.items(kind)
        }
        self.secret_uuid_by_name = {secret.name: secret.uuid for secret in bundle.secrets}
        self.total = sum(1 for item in plan.items if item.action.writes)
        self.done = 0
        self._progress_lock = threading.Lock()
        # Where references point on the target; refreshed between phases (not per item),
        # as each phase's creates settle the UUIDs and names the next phase refers to.
        self.uuids: dict[str, str] = {}
        self.secret_names: dict[str, str] = {}
        self._flow_references: dict[str, References] = {}
        self._server = ServerWatch()
        self._writers: dict[ItemKind, tuple[Callable[[Any], Any], Callable[[str, Any], None]]] = {
            ItemKind.SECRET: (client.create_secret, client.update_secret),
            ItemKind.CONNECTION: (client.create_connection, client.update_connection),
            ItemKind.STRUCTURE: (client.create_structure, client.update_structure),
            ItemKind.VARIABLE: (client.create_variable, client.update_variable),
            ItemKind.SCHEDULE: (client.create_schedule, client.update_schedule),
        }

    # -- the phases -------------------------------------------------------------------------

    def run(self) -> list[ProcessedItem]:
        self._write_all(ItemKind.SECRET)
        self.secret_names = self._secret_names()
        for kind in (ItemKind.CONNECTION, ItemKind.STRUCTURE, ItemKind.VARIABLE):
            self._write_all(kind)
        self._write_flows()
        self._write_all(ItemKind.SCHEDULE)
        return [self.outcomes[(item.kind, item.source_uuid)].freeze() for item in self.plan.items]

    def outcomes_so_far(self, reason: str) -> list[ProcessedItem]:
        """The outcomes of a run that stopped early: an item that would write and is not
        done fails with ``reason``; an item left alone needed nothing done."""
        frozen = []
        for item in self.plan.items:
            outcome = self.outcomes[(item.kind, item.source_uuid)]
            if item.action is Action.LEAVE:
                outcome.processed = True
            elif not outcome.processed and outcome.error is None:
                outcome.error = reason
            frozen.append(outcome.freeze())
        return frozen

    def _write_all(self, kind: ItemKind) -> None:
        pending = [o for o in self._of_kind(kind) if o.item.action.writes and o.error is None]
        for outcome in pending:
            self._check_dependencies(outcome)
        self._parallel(self._write_item, [o for o in pending if o.error is None])
        for outcome in self._of_kind(kind):
            if outcome.item.action is Action.LEAVE:
                outcome.processed = True

    def _write_flows(self) -> None:
        flows = [o for o in self._of_kind(ItemKind.FLOW) if o.item.action.writes]
        self._fail_flows_with_missing_dependencies(flows)
        shells = [o for o in flows if o.error is None and o.target_uuid is None]
        self._parallel(self._create_shell, shells)
        # Each flow's content (references rewired to the target's UUIDs, settled once the
        # shells exist and the unused ones are removed) is made by the worker that writes
        # it, never held for all flows at once: that would be another copy of every graph.
        overwrites = [o for o in flows if o.error is None and o.item.action is Action.OVERWRITE]
        try:
            self._parallel(self._save, overwrites)
        finally:  # interrupted or not: the saves made are noted, so a re-run skips them
            if self.pre_import_saved and self.on_pre_import_saves is not None:
                self.on_pre_import_saves(list(self.pre_import_saved))
        self._fail_flows_with_missing_dependencies(flows)
        self._remove_unused_shells(shells)
        self.uuids = self._uuid_map()
        self._parallel(self._write_flow_content, [o for o in flows if o.error is None])
        for outcome in self._of_kind(ItemKind.FLOW):
            if outcome.item.action is Action.LEAVE:
                outcome.processed = True

    # -- writers (each runs in a worker thread) --------------------------------------------

    def _write_item(self, outcome: _Outcome) -> None:
        """Create or update a secret, connection, structure, variable or schedule.

        An overwrite, or an item an interrupted import already created (``resume_uuid``),
        is updated in place; anything else is created. Secrets never carry values here.
        """
        source = self.sources[(outcome.item.kind, outcome.item.source_uuid)]
        item = attrs.evolve(source, name=outcome.item.target_name)
        if isinstance(item, Connection):
            item = attrs.evolve(
                item,
                dev_value=rewrite(item.dev_value, {}, self.secret_names),
                prod_value=rewrite(item.prod_value, {}, self.secret_names),
            )
        elif isinstance(item, Schedule):
            item = self._schedule_as_written(item)
        create, update = self._writers[outcome.item.kind]
        if isinstance(item, Schedule) and outcome.item.action is Action.OVERWRITE:
            assert outcome.target_uuid is not None
            # the target's paused state stays: an import never switches a trigger on or off
            self.client.update_schedule(outcome.target_uuid, item, with_pause=False)
        elif outcome.target_uuid is not None:
            update(outcome.target_uuid, item)
        else:
            outcome.target_uuid = create(item).uuid
        self._processed(outcome)

    def _schedule_as_written(self, schedule: Schedule) -> Schedule:
        """For its flow's UUID on the target; paused unless the source's state is kept
        (which only a create, or the completion of one, sends: an overwrite leaves the
        target's state alone)."""
        flow = self.outcomes.get((ItemKind.FLOW, schedule.flow_uuid))
        # a flow outside the bundle stays where it is on the target (a rollback bundle)
        flow_uuid = flow.target_uuid if flow is not None else schedule.flow_uuid
        assert flow_uuid is not None  # a schedule whose flow was not written has failed
        paused = schedule.is_paused if self.keep_schedule_state else True
        return attrs.evolve(schedule, flow_uuid=flow_uuid, is_paused=paused)

    def _create_shell(self, outcome: _Outcome) -> None:
        flow = self._source(outcome, Flow)
        outcome.target_uuid = self.client.create_flow(outcome.item.target_name, flow.listener_type)

    def _save(self, outcome: _Outcome) -> None:
        """The "Pre import" named save of a flow to be overwritten."""
        assert outcome.target_uuid is not None
        if outcome.target_uuid not in self.already_saved:
            self.client.create_named_save(outcome.target_uuid, PRE_IMPORT_SAVE_NAME)
            self.pre_import_saved.append(outcome.target_uuid)

    def _content(self, outcome: _Outcome) -> Flow:
        """The flow as it is written: target name, references pointing at the target."""
        source = self._source(outcome, Flow)
        return attrs.evolve(
            source,
            name=outcome.item.target_name,
            nodes=rewrite(source.nodes, self.uuids, self.secret_names),
            edges=rewrite(source.edges, self.uuids, self.secret_names),
        )

    def _write_flow_content(self, outcome: _Outcome) -> None:
        assert outcome.target_uuid is not None
        self.client.update_flow(outcome.target_uuid, self._content(outcome))
        self._processed(outcome)

    # -- dependencies -----------------------------------------------------------------------

    def _check_dependencies(self, outcome: _Outcome) -> None:
        """Fail a connection whose secrets were not imported, or a schedule whose flow
        was not."""
        if outcome.item.kind is ItemKind.SCHEDULE:
            schedule = self._source(outcome, Schedule)
            flow = self.outcomes.get((ItemKind.FLOW, schedule.flow_uuid))
            if flow is not None and (flow.error is not None or flow.target_uuid is None):
                outcome.error = (
                    f"not imported: it triggers flow {flow.item.name!r}, which failed to import"
                )
            return
        if outcome.item.kind is not ItemKind.CONNECTION:
            return
        source = self._source(outcome, Connection)
        names = find_secret_names(source.dev_value) | find_secret_names(source.prod_value)
        missing = self._failed_secrets(names)
        if missing:
            outcome.error = f"not imported: it uses secrets.{missing[0]}, which failed to import"

    def _fail_flows_with_missing_dependencies(self, flows: list[_Outcome]) -> None:
        """Fail flows whose references (or subflows, transitively) failed.

        Only a failed item can fail a flow, so while none has failed no graph is walked
        (the usual import walks no flow for this at all)."""
        if not any(
            outcome.error is not None
            for (kind, _), outcome in self.outcomes.items()
            if kind is not ItemKind.SCHEDULE
        ):
            return
        changed = True
        while changed:
            changed = False
            for outcome in flows:
                if outcome.error is not None:
                    continue
                reason = self._missing_dependency(self._source(outcome, Flow))
                if reason is not None:
                    outcome.error = f"not imported: {reason}"
                    changed = True

    def _missing_dependency(self, flow: Flow) -> str | None:
        refs = self._references_of(flow)
        missing_secrets = self._failed_secrets(refs.secret_names)
        if missing_secrets:
            return f"it uses secrets.{missing_secrets[0]}, which failed to import"
        for kind in (ItemKind.CONNECTION, ItemKind.STRUCTURE, ItemKind.VARIABLE, ItemKind.FLOW):
            for uuid in sorted(refs.uuids(kind)):
                dependency = self.outcomes.get((kind, uuid))
                if dependency is not None and dependency.error is not None:
                    return f"it uses {kind.value} {dependency.item.name!r}, which failed to import"
        return None

    def _references_of(self, flow: Flow) -> References:
        """A flow's references, walked once per import (the checks above run repeatedly)."""
        refs = self._flow_references.get(flow.uuid)
        if refs is None:
            refs = self._flow_references[flow.uuid] = find_references(flow.nodes)
        return refs

    def _failed_secrets(self, names: Iterable[str]) -> list[str]:
        failed = []
        for name in sorted(names):
            uuid = self.secret_uuid_by_name.get(name)
            outcome = self.outcomes.get((ItemKind.SECRET, uuid)) if uuid else None
            if outcome is not None and outcome.error is not None:
                failed.append(name)
        return failed

    def _remove_unused_shells(self, shells: list[_Outcome]) -> None:
        """Delete shells we created for flows that will not be written after all."""
        for outcome in shells:
            if outcome.error is not None and outcome.target_uuid is not None:
                try:
                    self.client.delete_flow(outcome.target_uuid)
                except ZiggyError as exc:
                    logger.warning(
                        "could not remove the empty flow %s: %s", outcome.target_uuid, exc
                    )
                outcome.target_uuid = None

    def _uuid_map(self) -> dict[str, str]:
        """Source UUID to target UUID, for the items whose UUIDs differ: an item matched
        by its UUID needs no rewriting, and a flow whose references all stay as they are
        is written without a walk (:func:`rewrite`)."""
        return {
            outcome.item.source_uuid: outcome.target_uuid
            for outcome in self.outcomes.values()
            if outcome.item.kind not in (ItemKind.SECRET, ItemKind.SCHEDULE)
            and outcome.target_uuid is not None
            and outcome.target_uuid != outcome.item.source_uuid
        }

    def _secret_names(self) -> dict[str, str]:
        return {
            outcome.item.name: outcome.item.target_name
            for outcome in self._of_kind(ItemKind.SECRET)
            if outcome.item.target_name != outcome.item.name
        }

    # -- plumbing ---------------------------------------------------------------------------

    def _of_kind(self, kind: ItemKind) -> list[_Outcome]:
        return [o for (k, _), o in self.outcomes.items() if k is kind]

    def _source(self, outcome: _Outcome, cls: type[T]) -> T:
        item = self.sources[(outcome.item.kind, outcome.item.source_uuid)]
        assert isinstance(item, cls)
        return item

    def _processed(self, outcome: _Outcome) -> None:
        outcome.processed = True
        if self.progress is not None:
            with self._progress_lock:
                self.done += 1
                done = self.done
            self.progress(done, self.total, f"{outcome.item.kind.value} {outcome.item.name}")

    def _parallel(self, work: Callable[[_Outcome], None], outcomes: Sequence[_Outcome]) -> None:
        """Run ``work`` for each outcome concurrently; a failure marks that item only."""

        def guarded(outcome: _Outcome) -> None:
            if self._server.gone is not None:
                return  # not sent: the run stops below, and the report says so
            try:
                work(outcome)
            except ZiggyError as exc:
                logger.warning("%s %r failed: %s", outcome.item.kind.value, outcome.item.name, exc)
                outcome.error = str(exc)
                outcome.processed = False
                self._server.failed(exc)
            else:
                self._server.answered()

        # Stopped (Ctrl-C, a bug), nothing more starts, and what is on the wire finishes
        # (each request is bounded by its timeout), so that the report says exactly what
        # was written.
        each_in_parallel(self.client.max_workers, guarded, outcomes)
        self._server.raise_if_gone()
