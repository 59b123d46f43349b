"""The package's one cattrs converter: snake_case attrs models <-> camelCase JSON.

One converter serves server answers and bundle files alike. It is lenient with unknown
keys, because servers add fields over time and must not break parsing; bundle files are
kept strict by the JSON Schema, which is checked before anything is structured.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = ["camel_case", "converter", "structure", "unstructure"]

T = TypeVar("T")

# Wire names that are not the plain camelCase of the Python name.
_SPECIAL_WIRE_NAMES: dict[tuple[str, str], str] = {
    ("NamedSave", "flow_uuid"): "flowUUID",
}


def camel_case(name: str) -> str:
    """``listener_type`` -> ``listenerType``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _wire_overrides(cls: type) -> dict[str, Any]:
    return {
        field.name: override(
            rename=_SPECIAL_WIRE_NAMES.get((cls.__name__, field.name), camel_case(field.name))
        )
        for field in attrs.fields(cls)
    }


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        return make_dict_structure_fn(cls, conv, **_wire_overrides(cls))

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        return make_dict_unstructure_fn(cls, conv, **_wire_overrides(cls))

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    # Free-form JSON (a flow's graph) passes through untouched: no copy, no validation here.
    # (Registered by predicate: before Python 3.11 ``typing.Any`` is not a class, and
    # cattrs' class registry, a functools.singledispatch, refuses it.)
    conv.register_structure_hook_func(_is_any, lambda value, _type: value)
    # ...and out again without a deep copy: the graph is the largest part of a bundle, and
    # nothing that unstructures a model changes it (rewrites always build new values).
    conv.register_unstructure_hook_func(_is_any, lambda value: value)
    # Our str-based enums go out as their plain values, so writers see only JSON types.
    conv.register_unstructure_hook(str, _unstructure_text)
    # Servers send ``null`` for empty text fields; cattrs would turn that into "None".
    # Our enums derive from str, so this hook sees them too and builds the enum member.
    conv.register_structure_hook(str, _structure_text)
    return conv


def _is_any(type_: Any) -> bool:
    return type_ is Any


def _unstructure_text(value: str) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else value


def _structure_text(value: Any, cls: Any) -> Any:
    if cls is not str and isinstance(cls, type) and issubclass(cls, enum.Enum):
        return cls(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected text, got {type(value).__name__}")


converter = _make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from its camelCase JSON form."""
    return converter.structure(data, cls)


def unstructure(obj: Any) -> Any:
    """Turn a model into its camelCase JSON form."""
    return converter.unstructure(obj)
