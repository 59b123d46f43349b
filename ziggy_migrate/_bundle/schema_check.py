"""The bundle schema compiled into plain Python checks, to say quickly that a document
is valid; ``jsonschema`` still says what is wrong with one that is not.

``jsonschema`` walks its validators keyword by keyword through generators and
references for every instance: checking one exported flow against the flow definition
costs about a tenth of a millisecond, as much as fetching it. The bundle schema uses a
small part of JSON Schema (``type``, ``required``, ``properties``,
``additionalProperties: false``, ``items``, ``minItems``/``maxItems``,
``minLength``/``maxLength``, ``pattern``, ``enum``/``const`` of text or whole numbers,
``$ref`` into ``$defs``, and annotations), so :func:`compile_schema` turns each of those
into a closure with the same meaning as draft 2020-12 gives it, and gives up (None) on
anything else: the schema file stays the one definition of the format, whatever it
grows into. A document the compiled check accepts is valid; one it refuses goes to
``jsonschema`` for the message.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Check", "compile_schema"]

Check = Callable[[Any], bool]
"""True when the value is valid."""

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default"}
)


class _Unsupported(Exception):
    """A keyword (or a form of one) this compiler does not know: no compiled check."""


def compile_schema(
    schema: Mapping[str, Any] | bool, root: Mapping[str, Any] | None = None
) -> Check | None:
    """A check with the meaning of ``schema`` (draft 2020-12; ``$ref`` resolved in
    ``root``, by default the schema itself), or None if it uses anything else."""
    if root is None:
        root = schema if isinstance(schema, Mapping) else {}
    try:
        return _Compiler(root).compile(schema)
    except _Unsupported:
        return None


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._defs: dict[str, Check] = {}
        self._keywords: dict[str, Callable[[Any, Mapping[str, Any]], Check]] = {
            "$ref": self._ref,
            "type": self._type,
            "enum": self._enum,
            "const": self._const,
            "pattern": self._pattern,
            "minLength": self._min_length,
            "maxLength": self._max_length,
            "minItems": self._min_items,
            "maxItems": self._max_items,
            "items": self._items,
            "required": self._required,
            "properties": self._properties,
        }

    def compile(self, node: Any) -> Check:
        if node is True:
            return lambda value: True
        if node is False:
            return lambda value: False
        if not isinstance(node, Mapping):
            raise _Unsupported(node)
        checks: list[Check] = []
        for key, argument in node.items():
            if key in _ANNOTATIONS or key == "additionalProperties":
                continue
            maker = self._keywords.get(key)
            if maker is None:
                raise _Unsupported(key)
            checks.append(maker(argument, node))
        if "additionalProperties" in node:
            checks.append(self._additional(node["additionalProperties"], node))
        return _all_of(checks)

    # -- keywords (each returns the check of one keyword) ------------------------------

    def _ref(self, argument: Any, node: Mapping[str, Any]) -> Check:
        prefix = "#/$defs/"
        if not isinstance(argument, str) or not argument.startswith(prefix):
            raise _Unsupported(argument)
        name = argument[len(prefix) :]
        defs = self._root.get("$defs", {})
        if name not in defs or "/" in name or "~" in name:
            raise _Unsupported(argument)
        if name not in self._defs:
            self._defs[name] = lambda value: True  # a placeholder while it compiles
            self._defs[name] = self.compile(defs[name])
        compiled = self._defs
        # looked up when called: the definition may still be compiling (a recursive one)
        return lambda value: compiled[name](value)  # noqa: PLW0108

    def _type(self, argument: Any, node: Mapping[str, Any]) -> Check:
        names = [argument] if isinstance(argument, str) else argument
        if not isinstance(names, list) or not all(name in _TYPES for name in names):
            raise _Unsupported(argument)
        tests = [_TYPES[name] for name in names]
        if len(tests) == 1:
            return tests[0]
        return lambda value: any(test(value) for test in tests)

    def _enum(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if not isinstance(argument, list) or not all(type(item) is str for item in argument):
            raise _Unsupported(argument)
        allowed = frozenset(argument)
        return lambda value: isinstance(value, str) and value in allowed

    def _const(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if type(argument) is str:
            return lambda value: isinstance(value, str) and value == argument
        if type(argument) is int:
            return lambda value: _is_number(value) and value == argument
        raise _Unsupported(argument)

    def _pattern(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if not isinstance(argument, str):
            raise _Unsupported(argument)
        search = re.compile(argument).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def _min_length(self, argument: Any, node: Mapping[str, Any]) -> Check:
        least = _count(argument)
        return lambda value: not isinstance(value, str) or len(value) >= least

    def _max_length(self, argument: Any, node: Mapping[str, Any]) -> Check:
        most = _count(argument)
        return lambda value: not isinstance(value, str) or len(value) <= most

    def _min_items(self, argument: Any, node: Mapping[str, Any]) -> Check:
        least = _count(argument)
        return lambda value: not isinstance(value, list) or len(value) >= least

    def _max_items(self, argument: Any, node: Mapping[str, Any]) -> Check:
        most = _count(argument)
        return lambda value: not isinstance(value, list) or len(value) <= most

    def _items(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if isinstance(argument, list):  # draft 2020-12 spells tuples prefixItems
            raise _Unsupported(argument)
        each = self.compile(argument)

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            return all(each(item) for item in value)

        return check

    def _required(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if not isinstance(argument, list) or not all(isinstance(name, str) for name in argument):
            raise _Unsupported(argument)
        names = tuple(argument)
        return lambda value: not isinstance(value, dict) or all(name in value for name in names)

    def _properties(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if not isinstance(argument, Mapping):
            raise _Unsupported(argument)
        members = tuple((name, self.compile(sub)) for name, sub in argument.items())

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, sub in members:  # noqa: SIM110 - a loop: no generator per call
                if name in value and not sub(value[name]):
                    return False
            return True

        return check

    def _additional(self, argument: Any, node: Mapping[str, Any]) -> Check:
        if argument is True:
            return lambda value: True
        if argument is not False or "patternProperties" in node:
            raise _Unsupported(argument)
        allowed = frozenset(node.get("properties", {}))
        return lambda value: not isinstance(value, dict) or value.keys() <= allowed


def _count(argument: Any) -> int:
    if type(argument) is not int or argument < 0:
        raise _Unsupported(argument)
    return argument


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    first, *rest = checks

    def check(value: Any) -> bool:
        if not first(value):
            return False
        for each in rest:  # noqa: SIM110 - a loop: no generator per call
            if not each(value):
                return False
        return True

    return check
