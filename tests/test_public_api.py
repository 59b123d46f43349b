"""The package's public face is deliberate: this pins what ``ziggy_migrate`` exports."""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ziggy_migrate
import ziggy_migrate.testing


def public_names(module: types.ModuleType) -> set[str]:
    """What ``module`` offers: its names without a leading underscore, less submodules."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } | ({"__version__"} if hasattr(module, "__version__") else set())


def test_all_lists_exactly_what_the_package_offers() -> None:
    """httpx-style: ``__all__`` and the module agree, without a third list to keep."""
    assert set(ziggy_migrate.__all__) == public_names(ziggy_migrate)
    assert len(ziggy_migrate.__all__) == len(set(ziggy_migrate.__all__))


def _types_in(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _types_in(argument)


def _public_signatures() -> Iterator[tuple[str, Any]]:
    """(where, annotation) for every parameter and return of every public callable."""
    for name in ziggy_migrate.__all__:
        value = getattr(ziggy_migrate, name)
        callables: list[tuple[str, Any]]
        if inspect.isclass(value):
            callables = [
                (f"{name}.{attr}", member)
                for attr, member in vars(value).items()
                if (not attr.startswith("_") or attr == "__init__") and inspect.isfunction(member)
            ]
            callables += [
                (f"{name}.{attr}", member.fget)
                for attr, member in vars(value).items()
                if isinstance(member, property) and not attr.startswith("_")
            ]
        elif inspect.isfunction(value):
            callables = [(name, value)]
        else:
            continue
        for where, function in callables:
            hints = typing.get_type_hints(function, include_extras=False)
            for parameter, annotation in hints.items():
                yield f"{where}({parameter})", annotation


def test_every_type_in_a_public_signature_is_exported() -> None:
    exported = {id(getattr(ziggy_migrate, name)) for name in ziggy_migrate.__all__}
    missing = sorted(
        {
            f"{where}: {kind.__qualname__}"
            for where, annotation in _public_signatures()
            for kind in _types_in(annotation)
            if inspect.isclass(kind)
            and kind.__module__.startswith("ziggy_migrate.")
            and id(kind) not in exported
        }
    )
    assert missing == []


def test_no_public_signature_has_a_private_parameter() -> None:
    private = []
    for name in ziggy_migrate.__all__:
        value = getattr(ziggy_migrate, name)
        target = value.__init__ if inspect.isclass(value) else value
        if not callable(target) or not inspect.isfunction(target):
            continue
        for parameter in inspect.signature(target).parameters.values():
            default = parameter.default
            if parameter.name.startswith("_") or (
                type(default).__module__.startswith("ziggy_migrate.")
                and type(default).__name__.startswith("_")
            ):
                private.append(f"{name}({parameter.name})")
    assert private == []


def test_no_public_function_shadows_a_module() -> None:
    shadowing = [
        name
        for name in ziggy_migrate.__all__
        if importlib.util.find_spec(f"ziggy_migrate.{name}") is not None
    ]
    assert shadowing == []


def test_every_error_is_a_ziggy_error() -> None:
    errors = [
        getattr(ziggy_migrate, name)
        for name in ziggy_migrate.__all__
        if name.endswith("Error") and name != "ZiggyError"
    ]
    assert errors
    assert all(issubclass(error, ziggy_migrate.ZiggyError) for error in errors)


def test_emulator_public_face() -> None:
    assert set(ziggy_migrate.testing.__all__) == {
        "Answer",
        "FaultPlan",
        "RecordedRequest",
        "ZiggyEmulator",
    }


def test_engine_and_cli_never_import_the_emulator_at_module_level() -> None:
    code = (
        "import sys, ziggy_migrate, ziggy_migrate_cli.main; "
        "print('ziggy_migrate.testing' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_every_public_name_is_documented_in_the_readme() -> None:
    """The README's library section names everything ``ziggy_migrate`` exports."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    library = readme[readme.index("## The library") : readme.index("## The command line")]
    undocumented = [
        name
        for name in ziggy_migrate.__all__
        if not re.search(r"`" + re.escape(name) + r"[`(.\[ ,]", library)
    ]
    assert undocumented == []
