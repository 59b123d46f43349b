"""Saved import plans: review a plan (in a pull request, a ticket), then apply exactly it.

A plan file records, per bundle item, the action, the match and a fingerprint of the
target item as it was when planned, plus a digest of the bundle. Applying a saved plan
re-plans against the target as it is now and refuses, naming the items, when anything
the plan relied on has changed — so what was reviewed is what happens, or nothing does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._bundle.json_text import DuplicateKey, loads_strict
from .._vocabulary import convert as _convert
from .._vocabulary.errors import PlanError, PlanFileError
from .._vocabulary.files import (
    FileTooLarge,
    UnsafeFile,
    describe_size,
    open_untrusted,
    write_atomically,
)
from .._vocabulary.tables import a_few
from .plan import ImportPlan, PlannedItem

__all__ = ["PLAN_FORMAT_VERSION", "check_plan_still_holds", "load_plan", "save_plan"]

PLAN_FORMAT_VERSION = 1

MAX_PLAN_SIZE = 256 << 20
"""A plan holds a line per bundle item, never a graph: far below a bundle's limit."""


def save_plan(plan: ImportPlan, path: str | os.PathLike[str]) -> Path:
    """Write ``plan`` as canonical JSON (atomically) and return the path."""
    document = {"planFormatVersion": PLAN_FORMAT_VERSION, **plan.to_dict()}
    target = Path(path)
    write_atomically(target, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return target


def load_plan(path: str | os.PathLike[str]) -> ImportPlan:
    """Read a plan saved by :func:`save_plan`; a broken file raises :class:`PlanError`.

    The JSON is read as strictly as a bundle's: a key twice in one object is refused,
    naming its JSON path, since a reviewer and the loader would read different values.
    The file is untrusted input like a bundle: a regular file (not a FIFO or a device) of
    at most :data:`MAX_PLAN_SIZE` bytes, refused before it is read otherwise.
    """
    source = Path(path)
    try:
        with open_untrusted(source, max_size=MAX_PLAN_SIZE) as handle:
            document: Any = loads_strict(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise PlanFileError(f"no plan file at {source}") from None
    except FileTooLarge:
        raise PlanFileError(
            f"{source} is larger than a plan file can be ({describe_size(MAX_PLAN_SIZE)})"
        ) from None
    except UnsafeFile as exc:
        raise PlanFileError(f"{exc}; a plan is a file written by `ziggy flow plan`") from None
    except DuplicateKey as exc:
        raise PlanFileError(f"{source}: {exc}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PlanFileError(f"{source} is not a readable plan file ({exc})") from None
    if not isinstance(document, dict) or document.get("planFormatVersion") != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{source} is not a plan file of format {PLAN_FORMAT_VERSION}; make it again "
            "with `ziggy flow plan`"
        )
    try:
        return _convert.structure(
            {k: v for k, v in document.items() if k != "planFormatVersion"}, ImportPlan
        )
    except Exception as exc:
        raise PlanFileError(f"{source} is not a valid plan file: {exc}") from None


def _decision(item: PlannedItem) -> tuple[Any, ...]:
    return (
        item.action,
        item.match,
        item.target_uuid,
        item.target_name,
        item.fingerprint,
        item.candidates,
    )


def check_plan_still_holds(saved: ImportPlan, fresh: ImportPlan) -> None:
    """Raise :class:`PlanError` unless ``fresh`` (planned now) decides what ``saved`` did."""
    if saved.target_url.rstrip("/") != fresh.target_url.rstrip("/"):
        raise PlanError(
            f"this plan was made for {saved.target_url}, not {fresh.target_url}; make a "
            "plan for this server"
        )
    if saved.bundle_digest != fresh.bundle_digest:
        raise PlanError(
            "this plan was made for another bundle (or the bundle changed since); make the "
            "plan again from this bundle"
        )
    before = {(item.kind, item.source_uuid): item for item in saved.items}
    changed = [
        f"{item.kind.value} {item.name!r}"
        for item in fresh.items
        if (item.kind, item.source_uuid) not in before
        or _decision(before[(item.kind, item.source_uuid)]) != _decision(item)
    ]
    if changed:
        shown = a_few(changed, 10)
        raise PlanError(
            f"the target changed since the plan was made ({shown}); nothing was written. "
            "Review a new plan."
        )
