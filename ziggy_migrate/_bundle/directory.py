"""The directory layout of a bundle: one canonical file per item, for readable git diffs.

::

    bundle/
      index.json                       schemaVersion, provenance, unresolvedReferences
      flows/orders--1a2b3c4d.json      one file per flow, named by slug + short UUID
      connections/orders-db--9f8e7d6c.json
      secrets/ structures/ variables/ schedules/
      bindings/prod.json               not the bundle: what imports into prod matched

The folder is assembled into the same JSON document as a single-file bundle, so loading
validates it exactly the same way. Saving builds the new folder beside the old one and
swaps them, so a re-export never leaves files of deleted items behind and a crash never
leaves a half-written folder in place. The ``bindings/`` folder is carried over into the new
folder: it belongs to the imports, not to the export.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .._vocabulary.errors import BundleError
from .._vocabulary.files import write_error
from .json_text import JSONRejected, dumps_canonical, loads_strict

__all__ = ["BINDINGS_FOLDER", "INDEX_FILE", "KIND_FOLDERS", "read_directory", "write_directory"]

INDEX_FILE = "index.json"
BINDINGS_FOLDER = "bindings"
"""Where imports keep the folder's binding files (one per target server); not part of
the bundle, kept by a re-export."""
KIND_FOLDERS = ("flows", "connections", "secrets", "structures", "variables", "schedules")
_INDEX_KEYS = ("schemaVersion", "provenance", "unresolvedReferences")


def item_file_name(item: dict[str, Any]) -> str:
    """``orders-db--9f8e7d6c.json``: readable, stable, and unique by the UUID prefix."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(item["name"]).lower()).strip("-")[:60] or "item"
    uuid = re.sub(r"[^A-Za-z0-9-]", "", str(item["uuid"]))
    return f"{slug}--{uuid[:8]}.json"


def write_directory(document: dict[str, Any], target: Path) -> None:
    """Write ``document`` (a canonical bundle document) as a bundle folder at ``target``."""
    parent = target.parent if str(target.parent) else Path(".")
    if target.exists() and not (target / INDEX_FILE).is_file():
        raise BundleError(
            f"{target} exists and is not a bundle folder; choose a new or empty path",
            location="",
        )
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    except FileNotFoundError:
        raise BundleError(f"the folder {parent} does not exist", location="") from None
    except OSError as exc:
        raise BundleError(f"cannot write in {parent}: {exc.strerror}", location="") from None
    try:
        index = {key: document[key] for key in _INDEX_KEYS}
        (staging / INDEX_FILE).write_text(dumps_canonical(index), encoding="utf-8")
        for folder in KIND_FOLDERS:
            (staging / folder).mkdir()
            for item in document[folder]:
                name = item_file_name(item)
                path = staging / folder / name
                if path.exists():  # two items sharing a slug and a UUID prefix
                    path = staging / folder / name.replace(".json", f"-{item['uuid']}.json")
                path.write_text(dumps_canonical(item), encoding="utf-8")
        if (target / BINDINGS_FOLDER).is_dir():
            shutil.copytree(target / BINDINGS_FOLDER, staging / BINDINGS_FOLDER, symlinks=True)
        _swap_in(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        error = write_error(exc, target)
        if error is None:
            raise
        raise error from None


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging``: two renames, the old folder removed last."""
    os.chmod(staging, 0o755)  # noqa: S103 - mkdtemp is owner-only; a bundle is shareable
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def read_directory(source: Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The bundle document held by a folder, and the file behind each item (for errors)."""
    index_path = source / INDEX_FILE
    if not index_path.is_file():
        raise BundleError(
            f"{source} is a folder without {INDEX_FILE}; not a bundle folder", location=""
        )
    document = _read_json(index_path)
    if not isinstance(document, dict):
        raise BundleError(f"{index_path}: a bundle index is a JSON object", location="")
    files: dict[str, list[str]] = {}
    for folder in KIND_FOLDERS:
        paths = sorted((source / folder).glob("*.json")) if (source / folder).is_dir() else []
        files[folder] = [f"{folder}/{path.name}" for path in paths]
        document[folder] = [_read_json(path) for path in paths]
    return document, files


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}", location="") from None
    try:
        return loads_strict(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise BundleError(f"{path}: not UTF-8 text", location="") from None
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            location="",
        ) from None
    except JSONRejected as exc:
        raise BundleError(f"{path}: the JSON {exc}", location="") from None
