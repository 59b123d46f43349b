"""The import journal: what an import is doing, so that a re-run can finish it.

Creating a flow takes two requests (an empty flow, then its content), and a killed import
can leave empty flows behind, or items the re-run would then see as "already there":
skipped in ``skip`` mode, copied again in ``duplicate`` mode. Overwriting has its own
traps: the re-run would save the half-imported target as its rollback copy ("before"),
and make a second ``Pre import`` named save of every flow. So before its first write, an
import notes on this machine, per target server:

- ``creating``: the names it is about to create, per kind. Names only ever go there when
  they were free on the target, so an item found under such a name was made by the
  interrupted import: a later import completes it instead of matching it.
- ``overwriting``: the UUIDs it is about to overwrite, each with the rollback bundle that
  holds its copy from before. A later import that overwrites one of them takes that copy
  into its own rollback bundle instead of the target's current, half-imported one.
- ``preImportSaved``: the flows whose ``Pre import`` named save it has made (noted once
  the saves are done), so that a re-run does not make them again.

Each import takes over what earlier ones left: it notes its own work beside theirs, and
when it ends it removes only what it completed. Work of an interrupted import that this
one did not touch (a subset import in between) stays noted until an import completes it.
Notes about items no longer on the target are dropped. The journal is read and written
under the server's lock (``lock.py``), so two imports on one machine never race on it.

The journal lives in the state folder (``$ZIGGY_STATE_DIR/journal``), one small file per
target server; it holds names, UUIDs and file paths, never content or secrets.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from .._vocabulary.enums import Action
from .._vocabulary.files import write_atomically
from .._vocabulary.models import ItemKind
from .._vocabulary.state_dir import server_slug, state_dir

__all__ = ["ImportJournal", "JournalState", "journal_dir"]

logger = logging.getLogger("ziggy_migrate.journal")

Interrupted = dict[ItemKind, frozenset[str]]

_CREATES = (Action.CREATE, Action.RENAME)


class _Listed(Protocol):
    """An item as read from the target (a plan's ``TargetItem``)."""

    @property
    def uuid(self) -> str: ...
    @property
    def name(self) -> str: ...


class _Planned(Protocol):
    """A plan's decision for one item (``PlannedItem``)."""

    @property
    def kind(self) -> ItemKind: ...
    @property
    def action(self) -> Action: ...
    @property
    def target_name(self) -> str: ...
    @property
    def target_uuid(self) -> str | None: ...


class _Outcome(Protocol):
    """What became of one item (``ProcessedItem``)."""

    @property
    def uuid(self) -> str | None: ...
    @property
    def is_processed(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


def journal_dir(base: str | os.PathLike[str] | None = None) -> Path:
    """``journal`` in the state folder ``base`` (default: see :func:`state_dir`)."""
    return state_dir("journal", base)


@attrs.frozen
class JournalState:
    """The unfinished work noted for one server (see the module docstring).

    ``overwriting`` maps a UUID to the rollback bundle holding its copy from before the
    import that was overwriting it (``""``: none was kept).
    """

    creating: Mapping[ItemKind, frozenset[str]] = attrs.field(factory=dict)
    overwriting: Mapping[ItemKind, Mapping[str, str]] = attrs.field(factory=dict)
    pre_import_saved: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (
            any(self.creating.values()) or any(self.overwriting.values()) or self.pre_import_saved
        )

    def on(self, target: Mapping[ItemKind, Sequence[_Listed]]) -> JournalState:
        """Only the notes about items that are on ``target`` (as read for the plan)."""
        names = {kind: {item.name for item in target.get(kind, ())} for kind in ItemKind}
        uuids = {kind: {item.uuid for item in target.get(kind, ())} for kind in ItemKind}
        return JournalState(
            creating={
                kind: frozenset(n for n in found if n in names[kind])
                for kind, found in self.creating.items()
            },
            overwriting={
                kind: {u: path for u, path in found.items() if u in uuids[kind]}
                for kind, found in self.overwriting.items()
            },
            pre_import_saved=frozenset(
                u for u in self.pre_import_saved if u in uuids[ItemKind.FLOW]
            ),
        )

    def starting(self, plan: Iterable[_Planned], rollback_path: Path | None) -> JournalState:
        """These notes plus what ``plan`` (its items) is about to create and overwrite.

        An item to be overwritten is noted with ``rollback_path`` (whose copy of it is the
        one from before any interrupted import, see :func:`rollback.write_rollback_bundle`);
        without a rollback bundle, an earlier note of it is kept as it was.
        """
        creating = {kind: set(names) for kind, names in self.creating.items()}
        overwriting = {kind: dict(found) for kind, found in self.overwriting.items()}
        for item in plan:
            if item.action in _CREATES:
                creating.setdefault(item.kind, set()).add(item.target_name)
            elif item.action is Action.OVERWRITE and item.target_uuid and rollback_path:
                overwriting.setdefault(item.kind, {})[item.target_uuid] = str(rollback_path)
        return attrs.evolve(
            self,
            creating={kind: frozenset(names) for kind, names in creating.items()},
            overwriting=overwriting,
        )

    def with_pre_import_saves(self, flow_uuids: Iterable[str]) -> JournalState:
        return attrs.evolve(self, pre_import_saved=self.pre_import_saved | frozenset(flow_uuids))

    def finished(self, plan: Sequence[_Planned], outcomes: Sequence[_Outcome]) -> JournalState:
        """What is left once an import of ``plan`` (its items) ended with ``outcomes``.

        Its completed items go; an item it created but could not complete (a failed write)
        stays, so that the next import completes it; an item it failed to overwrite keeps
        its copy from before; notes it did not touch stay as they were.
        """
        creating = {kind: set(names) for kind, names in self.creating.items()}
        overwriting = {kind: dict(found) for kind, found in self.overwriting.items()}
        saved = set(self.pre_import_saved)
        for item, outcome in zip(plan, outcomes, strict=True):
            done = outcome.error is None and outcome.is_processed
            if item.action in _CREATES and (done or not outcome.uuid):
                creating.get(item.kind, set()).discard(item.target_name)
            elif item.action is Action.OVERWRITE and done and item.target_uuid:
                overwriting.get(item.kind, {}).pop(item.target_uuid, None)
                saved.discard(item.target_uuid)
        return JournalState(
            creating={kind: frozenset(names) for kind, names in creating.items() if names},
            overwriting={kind: found for kind, found in overwriting.items() if found},
            pre_import_saved=frozenset(saved),
        )


class ImportJournal:
    """The journal file of one target server."""

    def __init__(self, target_url: str, directory: Path | None = None) -> None:
        folder = directory if directory is not None else state_dir("journal")
        self.target_url = target_url
        self.path = folder / f"{server_slug(target_url)}.json"

    def interrupted(self) -> Interrupted:
        """Names an earlier import into this server was creating when it stopped."""
        return dict(self.read().creating)

    def read(self) -> JournalState:
        """The unfinished work noted for this server (none when there is no journal)."""
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return JournalState()
        except (OSError, ValueError) as exc:
            logger.warning("ignoring the unreadable import journal %s: %s", self.path, exc)
            return JournalState()
        if not isinstance(document, dict) or document.get("targetUrl") != self.target_url:
            return JournalState()
        state = JournalState(
            creating=_per_kind(document.get("creating"), _names),
            overwriting=_per_kind(document.get("overwriting"), _paths),
            pre_import_saved=frozenset(_names(document.get("preImportSaved"))),
        )
        if any(state.creating.values()) or any(state.overwriting.values()):
            logger.warning(
                "an earlier import into %s stopped before it finished; completing what it "
                "was doing",
                self.target_url,
            )
        return state

    def write(self, state: JournalState) -> None:
        """Replace the journal with ``state`` (atomically); an empty one removes the file."""
        if state.empty:
            self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # leave no empty folder behind
                self.path.parent.rmdir()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {
            "targetUrl": self.target_url,
            "creating": {
                kind.plural: sorted(names) for kind, names in state.creating.items() if names
            },
            "overwriting": {
                kind.plural: dict(sorted(found.items()))
                for kind, found in state.overwriting.items()
                if found
            },
            "preImportSaved": sorted(state.pre_import_saved),
        }
        write_atomically(self.path, json.dumps(document, indent=2, sort_keys=True) + "\n")

    def record(self, creating: Mapping[ItemKind, Iterable[str]]) -> None:
        """Note names about to be created, beside what the journal already holds."""
        state = self.read()
        merged = {kind: set(names) for kind, names in state.creating.items()}
        for kind, names in creating.items():
            merged.setdefault(kind, set()).update(names)
        self.write(attrs.evolve(state, creating={kind: frozenset(n) for kind, n in merged.items()}))


def _per_kind(value: Any, read: Any) -> dict[ItemKind, Any]:
    if not isinstance(value, dict):
        return {}
    found = {kind: read(value.get(kind.plural)) for kind in ItemKind}
    return {kind: entries for kind, entries in found.items() if entries}


def _names(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(name for name in value if isinstance(name, str))


def _paths(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {uuid: path for uuid, path in value.items() if isinstance(path, str)}
