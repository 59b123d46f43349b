"""The choices shared by plans, reports and the CLI: import mode, match method, action.

They sit at the ground so that the plan, the report and the renderers can all name them
without importing one another.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Literal, TypeVar

from .errors import InvalidArgumentError

__all__ = [
    "Action",
    "ImportMode",
    "ImportModeName",
    "Layout",
    "LayoutName",
    "MatchMethod",
    "choice",
    "names_or_none",
]

ImportModeName = Literal["skip", "duplicate", "overwrite"]
"""The import modes as the strings a caller may pass instead of :class:`ImportMode`."""

LayoutName = Literal["file", "dir"]
"""The bundle layouts as the strings a caller may pass instead of :class:`Layout`."""

E = TypeVar("E", bound=enum.Enum)


class ImportMode(str, enum.Enum):
    """What to do with a bundle item that matches an item on the target."""

    SKIP = "skip"
    DUPLICATE = "duplicate"
    OVERWRITE = "overwrite"


class MatchMethod(str, enum.Enum):
    """How a bundle item was matched on the target.

    ``binding``: through the binding file, which records what each source item became on
    this target at earlier imports (so an item renamed on the source still finds its copy).
    """

    UUID = "uuid"
    BINDING = "binding"
    NAME = "name"
    UNMATCHED = "unmatched"


class Action(str, enum.Enum):
    """What the import does with one item (the report's ``result``)."""

    CREATE = "CREATE"
    LEAVE = "LEAVE"
    RENAME = "RENAME"
    OVERWRITE = "OVERWRITE"
    AMBIGUOUS = "AMBIGUOUS"

    @property
    def writes(self) -> bool:
        """Whether the action changes the target."""
        return self in (Action.CREATE, Action.RENAME, Action.OVERWRITE)


class Layout(str, enum.Enum):
    """How a bundle is laid out on disk: one file, or a folder of one file per item."""

    FILE = "file"
    DIR = "dir"


def choice(kind: type[E], value: object, what: str) -> E:
    """``kind(value)``, or :class:`InvalidArgumentError` naming the valid choices."""
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in kind)
        raise InvalidArgumentError(f"{what} must be one of {valid}, not {value!r}") from None


def names_or_none(value: Sequence[str] | None, what: str) -> tuple[str, ...] | None:
    """A sequence of UUIDs or tags as a tuple; a lone string is a caller's slip.

    ``tags="production"`` would otherwise be read as the tags "p", "r", "o"...
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} takes a list of strings, not one string: write {what}=[{value!r}]")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what} takes strings, not {type(name).__name__}: {name!r}")
    return names
