"""What each answer must hold before a model is built from it, checked cheaply.

A server answers JSON; the models need certain fields of certain types. Each
:class:`Shape` names only the fields its model reads, and :func:`check` looks at each
with one ``isinstance``, so a flow costs a dozen checks however big its graph is (the
graph itself is the user's free-form JSON; the bundle schema checks it on export). The
first field missing or of the wrong type raises :class:`MalformedResponseError` naming
the request and the field; a broken or hostile server is one clear line, never a
traceback from deep inside the converter.

Leniency where it is safe: unknown fields are ignored (servers add fields over time), a
null where the model has a default means that default, and numbers are accepted as text
(the converter writes them as text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._vocabulary.errors import MalformedResponseError

__all__ = [
    "BACKUP",
    "CONNECTION",
    "CREATED",
    "FLOW",
    "FLOW_SUMMARY",
    "NAMED_SAVE",
    "SCHEDULE",
    "SECRET",
    "STRUCTURE",
    "VARIABLE",
    "VERSION_INFO",
    "Shape",
    "check",
    "check_list",
    "describe",
    "malformed",
]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, (int, float)) and not isinstance(value, bool)
    )


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and all(_is_text(item) for item in value)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_relations(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


_Check = tuple[Callable[[Any], bool], str]
TEXT: _Check = (_is_text, "text")
ID: _Check = (_is_id, "non-empty text")
FLAG: _Check = (_is_flag, "true or false")
COUNT: _Check = (_is_count, "a whole number")
TEXTS: _Check = (_is_texts, "a list of text")
LIST: _Check = (_is_list, "a list")
OBJECT: _Check = (_is_object, "an object")
RELATIONS: _Check = (_is_relations, "a list of objects")


@attrs.frozen
class Shape:
    """The fields one kind of answer must (``required``) or may (``optional``) hold."""

    what: str
    required: tuple[tuple[str, _Check], ...]
    optional: tuple[tuple[str, _Check], ...] = ()

    @property
    def many(self) -> str:
        return self.what[:-1] + "ies" if self.what.endswith("y") else self.what + "s"


FLOW_SUMMARY = Shape(
    "flow summary",
    required=(("uuid", ID), ("name", TEXT)),
    optional=(("listenerType", TEXT), ("isSubflow", FLAG), ("tags", TEXTS), ("updatedAt", TEXT)),
)
FLOW = Shape(
    "flow",
    required=(("uuid", ID), ("name", TEXT)),
    optional=(
        ("listenerType", TEXT),
        ("tags", TEXTS),
        ("nodes", LIST),
        ("edges", LIST),
        ("viewport", OBJECT),
        ("isSubflow", FLAG),
        ("isCommander", FLAG),
        ("isValid", FLAG),
        ("numBlocks", COUNT),
        ("info", TEXT),
        ("executionHistoryLevel", TEXT),
        ("executionHistoryMins", COUNT),
        ("timeout", COUNT),
        ("connections", RELATIONS),
        ("secrets", RELATIONS),
        ("structures", RELATIONS),
        ("variables", RELATIONS),
    ),
)
CONNECTION = Shape(
    "connection",
    required=(("uuid", ID), ("name", TEXT), ("type", TEXT)),
    optional=(
        ("description", TEXT),
        ("devValue", TEXT),
        ("prodValue", TEXT),
        ("isCorePlatform", FLAG),
    ),
)
SECRET = Shape(
    "secret",
    required=(("uuid", ID), ("name", TEXT)),
    optional=(("description", TEXT), ("type", TEXT), ("group", TEXT), ("tags", TEXTS)),
)
STRUCTURE = Shape(
    "structure",
    required=(("uuid", ID), ("name", TEXT)),
    optional=(("description", TEXT), ("value", TEXT), ("tags", TEXTS)),
)
VARIABLE = Shape(
    "variable",
    required=(("uuid", ID), ("name", TEXT)),
    optional=(("description", TEXT), ("value", TEXT)),
)
SCHEDULE = Shape(
    "schedule",
    required=(("uuid", ID), ("name", TEXT)),
    optional=(
        ("config", TEXT),
        ("isPaused", FLAG),
        ("executionMode", TEXT),
        ("flowUuid", TEXT),
    ),
)
NAMED_SAVE = Shape(
    "named save",
    required=(("uuid", ID), ("flowUUID", ID), ("saveName", TEXT)),
    optional=(("flowName", TEXT), ("createdAt", TEXT)),
)
BACKUP = Shape(
    "backup result",
    required=(("localBackupStatus", TEXT),),
    optional=(("remoteBackupStatus", TEXT), ("localBackupFile", TEXT), ("remoteBackupError", TEXT)),
)
VERSION_INFO = Shape(
    "version",
    required=(("major", COUNT), ("minor", COUNT)),
    optional=(("build", COUNT), ("info", TEXT)),
)
CREATED = Shape("created item", required=(("uuid", ID),))
"""What a create or clone answers, as far as the client reads it: the new UUID."""


def describe(value: Any) -> str:
    """What a JSON value is, in words, without showing it (it may be a secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "empty text" if value == "" else "text"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def malformed(
    where: str, base_url: str, field: str, problem: str, status: int = 200
) -> MalformedResponseError:
    """The one-line error for an answer that cannot be used."""
    subject = repr(field) if field else "it"
    return MalformedResponseError(
        f"{where}: the answer of {base_url} cannot be used: {subject} {problem}, which the "
        "Ziggy API never answers; check that this is a Ziggy server, and its logs.",
        endpoint=where,
        field=field,
        response_code=status,
    )


def check(shape: Shape, answer: Any, where: str, base_url: str, prefix: str = "") -> Any:
    """``answer`` if it has ``shape`` (with nulls of optional fields left out, so that the
    model's defaults apply); raises :class:`MalformedResponseError` otherwise."""
    if not isinstance(answer, dict):
        field = prefix.rstrip(".")
        shown = _whole(answer) if not prefix else describe(answer)
        raise malformed(where, base_url, field, f"is {shown}, not {_a(shape)}")
    for key, (test, expected) in shape.required:
        value = answer.get(key)
        if value is None:
            state = "null" if key in answer else "missing"
            raise malformed(where, base_url, prefix + key, f"is {state} (a {shape.what} needs it)")
        if not test(value):
            raise malformed(where, base_url, prefix + key, f"is {describe(value)}, not {expected}")
    cleaned = answer
    for key, (test, expected) in shape.optional:
        value = answer.get(key)
        if value is None:
            if key in answer:
                if cleaned is answer:
                    cleaned = dict(answer)
                del cleaned[key]
            continue
        if not test(value):
            raise malformed(where, base_url, prefix + key, f"is {describe(value)}, not {expected}")
    return cleaned


def check_list(shape: Shape, answer: Any, where: str, base_url: str) -> list[Any]:
    """Each item of a list answer checked against ``shape``; the answer must be a list."""
    if not isinstance(answer, list):
        raise malformed(where, base_url, "", f"is {_whole(answer)}, not a list of {shape.many}")
    return [
        check(shape, item, where, base_url, prefix=f"[{index}].")
        for index, item in enumerate(answer)
    ]


def _whole(answer: Any) -> str:
    return "empty" if answer is None else describe(answer)


def _a(shape: Shape) -> str:
    return f"a {shape.what} (an object)"
