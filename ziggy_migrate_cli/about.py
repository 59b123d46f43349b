"""``ziggy version``: this tool's version, Python's and those of its main dependencies.

What a bug report needs in one command, for people or (``--format json``) for scripts.
"""

from __future__ import annotations

import platform
from importlib import metadata

from ziggy_migrate import __version__

from .options import FormatOption
from .output import answer, print_table, start, status_document

__all__ = ["DEPENDENCIES", "version_command", "versions"]

DEPENDENCIES = (
    "requests",
    "urllib3",
    "attrs",
    "cattrs",
    "jsonschema",
    "keyring",
    "platformdirs",
    "typer",
    "rich",
)
"""The installed packages whose version a bug report needs."""


def versions() -> dict[str, str]:
    """Each of :data:`DEPENDENCIES` with its installed version (``not installed``)."""
    found = {}
    for name in DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def version_command(output_format: FormatOption = None) -> None:
    """Print the versions of this tool, Python and its dependencies."""
    start(output_format, verbose=False)
    python = f"{platform.python_version()} ({platform.python_implementation()})"
    dependencies = versions()

    def show() -> None:
        print_table(
            ("package", "version"),
            [("ziggy-migrate", __version__), ("python", python), *dependencies.items()],
            plain=True,
        )

    answer(
        status_document(
            200, {"ziggyMigrate": __version__, "python": python, "dependencies": dependencies}
        ),
        show,
    )
