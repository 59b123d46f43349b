"""The import journal: what an import is creating, so that a re-run can finish it.

Creating a flow takes two requests (an empty flow, then its content), and a killed import
can leave empty flows behind, or items the re-run would then see as "already there":
skipped in ``skip`` mode, copied again in ``duplicate`` mode. So before its first create,
an import writes down the names it is about to create on this server, per kind, and
removes the note when it ends. A later import into the same server that finds a note
treats items of those names as its own unfinished work: it completes them instead of
matching them. Names only ever go in the journal when they were free on the target, so
an item found under such a name was made by the interrupted import.

The journal lives in the state folder (``$ZIGGY_STATE_DIR/journal``), one small file per
target server; it holds names, never content or secrets.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._vocabulary.files import write_atomically
from .._vocabulary.models import ItemKind
from .._vocabulary.state_dir import server_slug, state_dir

__all__ = ["ImportJournal", "journal_dir"]

logger = logging.getLogger("ziggy_migrate.journal")

Interrupted = dict[ItemKind, frozenset[str]]


def journal_dir(base: str | os.PathLike[str] | None = None) -> Path:
    """``journal`` in the state folder ``base`` (default: see :func:`state_dir`)."""
    return state_dir("journal", base)


class ImportJournal:
    """The journal of one target server."""

    def __init__(self, target_url: str, directory: Path | None = None) -> None:
        folder = directory if directory is not None else state_dir("journal")
        self.target_url = target_url
        self.path = folder / f"{server_slug(target_url)}.json"

    def interrupted(self) -> Interrupted:
        """Names an earlier import into this server was creating when it stopped."""
        try:
            document = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("ignoring the unreadable import journal %s: %s", self.path, exc)
            return {}
        if not isinstance(document, dict) or document.get("targetUrl") != self.target_url:
            return {}
        creating = document.get("creating")
        if not isinstance(creating, dict):
            return {}
        found: Interrupted = {}
        for kind in ItemKind:
            names = creating.get(kind.plural)
            if isinstance(names, list):
                found[kind] = frozenset(name for name in names if isinstance(name, str))
        if any(found.values()):
            logger.warning(
                "an earlier import into %s stopped before it finished; completing what it "
                "was creating",
                self.target_url,
            )
        return found

    def record(self, creating: Mapping[ItemKind, Iterable[str]]) -> None:
        """Note the names about to be created (before the first create)."""
        names = {kind.plural: sorted(set(items)) for kind, items in creating.items()}
        if not any(names.values()):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {"targetUrl": self.target_url, "creating": names}
        write_atomically(self.path, json.dumps(document, indent=2, sort_keys=True) + "\n")

    def finish(self, unfinished: Mapping[ItemKind, Iterable[str]]) -> None:
        """The import ended: keep only what exists on the server but was left incomplete
        (a failed write), so that the next import completes it; else drop the journal."""
        if any(list(names) for names in unfinished.values()):
            self.record(unfinished)
        else:
            self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # leave no empty folder behind
                self.path.parent.rmdir()
