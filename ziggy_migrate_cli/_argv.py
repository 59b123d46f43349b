"""Let one flag take several values, as the Ziggy docs write them.

The docs spell selections as ``--tags 'tag1' 'tag2'`` and ``--flow-ids U1 U2``, but Click
(bundled inside Typer) gives an option exactly one value per occurrence. Rather than
teaching the parser new tricks, :func:`expand_multi_value_options` rewrites argv before
Typer sees it: ``--tags a b`` becomes ``--tags a --tags b``, which Typer already reads as
a list. The rule is deliberately simple so that it is easy to predict:

* after a multi-value flag, every following token is a value until one starts with ``-``
  (the next option) or the ``--`` terminator;
* ``--tags=a`` and repeated flags pass through unchanged;
* a flag followed by no value is an error here, instead of letting Click swallow the next
  option (``--tags --no-prompt``) as a tag; a value that itself starts with ``-`` is
  written ``--tags=-x``;
* nothing after ``--`` is touched.

Splitting a value on commas (``--tags a,b``) is not done here: it is a property of the
option's value, handled where the values are read (:func:`split_values`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "MULTI_VALUE_FLAGS",
    "ArgvError",
    "expand_multi_value_options",
    "format_in",
    "split_values",
]

MULTI_VALUE_FLAGS: Mapping[str, str] = {
    "--flow-ids": "--flow-ids",
    "-f": "--flow-ids",
    "--tags": "--tags",
    "-t": "--tags",
}
"""Every spelling of a multi-value option, mapped to the canonical long flag."""

_TERMINATOR = "--"


class ArgvError(ValueError):
    """The command line cannot be read (raised before Typer parses it)."""


def expand_multi_value_options(
    argv: Sequence[str], flags: Mapping[str, str] = MULTI_VALUE_FLAGS
) -> list[str]:
    """Return ``argv`` with every ``FLAG v1 v2 ...`` turned into ``FLAG v1 FLAG v2 ...``."""
    result: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == _TERMINATOR:
            result.append(token)
            result.extend(argv[index:])
            break
        canonical = flags.get(token)
        if canonical is None:
            result.append(token)
            continue
        values: list[str] = []
        while index < len(argv) and not argv[index].startswith("-"):
            values.append(argv[index])
            index += 1
        if not values:
            raise ArgvError(
                f"Option {token!r} needs at least one value (write {canonical}=VALUE for a "
                "value that starts with '-')."
            )
        for value in values:
            result.extend((canonical, value))
    return result


def split_values(values: Iterable[str] | None) -> list[str]:
    """Flatten option values, splitting each on commas and dropping blanks and repeats."""
    seen: dict[str, None] = {}
    for value in values or ():
        for part in value.split(","):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return list(seen)


def format_in(argv: Sequence[str]) -> str | None:
    """The value of ``--format`` in ``argv`` if it is a known format, else None.

    Read before Typer parses the line, so that an error found while parsing is already
    reported in the format asked for; the command checks the value itself.
    """
    value: str | None = None
    for index, word in enumerate(argv):
        if word == _TERMINATOR:
            break
        if word == "--format" and index + 1 < len(argv):
            value = argv[index + 1]
        elif word.startswith("--format="):
            value = word.partition("=")[2]
    if value is not None and value.lower() in ("auto", "human", "json"):
        return value.lower()
    return None
