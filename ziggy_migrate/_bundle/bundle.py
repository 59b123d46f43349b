"""Reading and writing bundle files: versioned, validated, canonical, atomic.

Loading goes through fixed stages, and any failure raises one :class:`BundleError` naming
the JSON path, before anything is half-built:

0. the source, as untrusted input: a bundle file must be a regular file (a FIFO or a
   device such as ``/dev/zero`` is refused before it is read), a folder's files too, and
   no link in a folder is followed (``directory.py``); a file, folder or text larger than
   the size limit (``MAX_BUNDLE_SIZE``, 1 GiB; ``max_size=`` or the environment
   variable ``ZIGGY_MAX_BUNDLE_SIZE`` change it) is refused, and reading never goes past
   it, whatever the file claims;
1. bytes -> text (strict UTF-8) -> JSON (no NaN/Infinity, bounded nesting, no key twice
   in one object); a file is parsed as it is read, a chunk at a time, with equal strings
   shared, so a large bundle's whole text is never in memory next to its document
   (``_json_stream``);
2. the format version: a newer major is refused, an older one is upgraded one step at a
   time through ``_MIGRATIONS``;
3. JSON Schema validation (``schemas/bundle-v<N>.schema.json``, shipped in the wheel);
4. structuring into the attrs models with the package's converter;
5. meaning: unique UUIDs and names per kind, every reference resolvable in the bundle
   (or declared unresolved at export).

A document without a ``schemaVersion`` that is shaped like an official ziggy export
file (``official.py``) is converted to a version-2 bundle document first and then takes
stages 2 to 5 like any other, its errors pointing at the official file's own JSON paths;
what the conversion dropped (secret values, OAuth tokens) and the references the file
could not resolve are logged as warnings by :func:`load_bundle` and returned, typed, by
:func:`load_official`.

Saving writes canonical JSON (sorted keys, items sorted by name then UUID, two-space
indent, UTF-8, trailing newline) to a temporary file that replaces the target in one
rename, so a crash never leaves a truncated bundle.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import attrs
import jsonschema
from jsonschema.exceptions import best_match

from .._vocabulary import convert as _convert
from .._vocabulary.enums import Layout, LayoutName
from .._vocabulary.enums import choice as _choice
from .._vocabulary.errors import BundleError, InvalidArgumentError
from .._vocabulary.fast_json import parse_answer
from .._vocabulary.files import (
    FileTooLarge,
    UnsafeFile,
    describe_size,
    open_untrusted,
    write_atomically,
)
from .._vocabulary.models import Bundle, Flow, ItemKind
from .directory import INDEX_FILE, read_directory, write_directory
from .json_stream import load_strict
from .json_text import (
    DuplicateKey,
    EncodedJSON,
    JSONRejected,
    canonical_parts,
    encode_ahead,
    loads_strict,
)
from .official import OfficialExport, convert_official, looks_official, relocate
from .references import (
    DanglingReference,
    GraphTooDeepError,
    References,
    dangling_references,
    walk_flow,
)
from .schema_check import Check, compile_schema

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "MAX_BUNDLE_SIZE",
    "MAX_BUNDLE_SIZE_VARIABLE",
    "Layout",
    "bundle_schema",
    "check_bundle",
    "check_flow",
    "decode_flow",
    "dump_bundle",
    "encode_flow",
    "load_bundle",
    "load_bundle_text",
    "load_official",
    "load_official_text",
    "save_bundle",
    "save_encoded_bundle",
    "save_streamed_bundle",
]

logger = logging.getLogger("ziggy_migrate.bundle")

CURRENT_SCHEMA_VERSION = 2
MAX_BUNDLE_SIZE = 1 << 30
"""The most a bundle may hold, in bytes (a folder: all the files it reads together), unless
``max_size=`` or ``$ZIGGY_MAX_BUNDLE_SIZE`` says otherwise: far above any real bundle, and
low enough that a runaway file is one error rather than a machine out of memory."""
MAX_BUNDLE_SIZE_VARIABLE = "ZIGGY_MAX_BUNDLE_SIZE"
_RULE_MESSAGES = {
    "maxLength": "is too long (at most {} characters)",
    "maxItems": "has too many items (at most {})",
    "pattern": "does not match the pattern {}",
}
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


_Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds the flows' schedules; a version-1 bundle carried none (a bundle
    folder of version 1 reads as an empty list: it has no ``schedules/`` folder)."""
    if document.get("schedules", []) != []:
        raise BundleError(
            "a version 1 bundle has no schedules (they came with version 2): set "
            "schemaVersion to 2 or remove the schedules",
            location="$.schedules",
        )
    return {**document, "schedules": []}


# _MIGRATIONS[n] turns a version-n document into a version-(n+1) document. Every released
# version keeps its step forever; golden files in tests/golden/ pin each one.
_MIGRATIONS: dict[int, _Migration] = {1: _v1_to_v2}


def bundle_schema(version: int = CURRENT_SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of bundle format ``version``, as a new dict.

    Raises :class:`InvalidArgumentError` for a version that does not exist.
    """
    return copy.deepcopy(_schema(version))


@cache
def _schema(version: int) -> dict[str, Any]:
    name = f"bundle-v{version}.schema.json"
    installed = resources.files("ziggy_migrate").joinpath("schemas").joinpath(name)
    # In a wheel the build puts the top-level schemas/ folder inside the package; run
    # from a source checkout, the package sits beside that folder.
    source = installed if installed.is_file() else _CHECKOUT_SCHEMAS / name
    try:
        text = source.read_text("utf-8")
    except FileNotFoundError:
        raise InvalidArgumentError(f"there is no bundle format version {version}") from None
    schema: dict[str, Any] = json.loads(text)
    return schema


_CHECKOUT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@cache
def _validator(version: int) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schema(version))


@cache
def _flow_validator(version: int) -> jsonschema.Draft202012Validator:
    """The schema's flow definition on its own, to check flows one at a time."""
    schema = _schema(version)
    return jsonschema.Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/flow"}
    )


_QUICK_CHECKS: dict[int, tuple[jsonschema.Draft202012Validator, Check]] = {}


def _quick_check(validator: jsonschema.Draft202012Validator) -> Check:
    """The validator's schema compiled (``schema_check.py``): True says valid at once;
    without a compiled check everything goes to the validator. (Kept by the validator's
    id, with the validator, so that the id stays its own: validators are not hashable.)"""
    found = _QUICK_CHECKS.get(id(validator))
    if found is None:
        compiled = compile_schema(validator.schema)
        found = (validator, compiled if compiled is not None else _never)
        _QUICK_CHECKS[id(validator)] = found
    return found[1]


def _never(value: Any) -> bool:
    return False


# -- loading ------------------------------------------------------------------------------


def load_bundle(path: str | os.PathLike[str], *, max_size: int | None = None) -> Bundle:
    """Load, upgrade, validate and check the bundle file or bundle folder at ``path``.

    ``path`` is always a path, whatever it looks like (``"[prod] x.json"`` included); JSON
    text goes to :func:`load_bundle_text`. Errors in a file or folder name it. An official
    ziggy export file is accepted too (see :func:`load_official`); what its conversion
    dropped or could not resolve is logged as warnings on the ``ziggy_migrate.bundle``
    logger.

    The bundle is untrusted input: ``path`` must be a regular file (or a link to one) or
    a bundle folder, whose index, kind folders and item files may not be links; and it
    may hold at most ``max_size`` bytes (default: ``$ZIGGY_MAX_BUNDLE_SIZE``, else 1 GiB).
    Anything else is one :class:`BundleError`, raised before the offending file is read.
    """
    _check_path_argument(path, "load_bundle", "load_bundle_text")
    return _load_path(Path(path), bundle_size_limit(max_size))


def load_bundle_text(text: str | bytes, *, max_size: int | None = None) -> Bundle:
    """Load, upgrade, validate and check a bundle from its JSON text (or UTF-8 bytes).

    Official export text is accepted as :func:`load_bundle` accepts official files. Text
    longer than ``max_size`` (bytes, or characters for ``str``; default as for
    :func:`load_bundle`) is refused before it is parsed.
    """
    return _bundle_from(_parse(_read(_bounded_text(text, max_size, "load_bundle_text"))))


def load_official(path: str | os.PathLike[str], *, max_size: int | None = None) -> OfficialExport:
    """Read the official ziggy export file at ``path`` into a checked bundle.

    The result holds the bundle (the file's schedules included), the warnings (secret
    values or OAuth tokens the file carried, which were dropped; references the file
    could not resolve) and the file's schedule rows as it holds them. A file that is not an official
    export (a ziggy-migrate bundle, say) raises :class:`BundleError`, as does anything
    the bundle format refuses, naming the official file's JSON path. The file is read
    with the same guards as :func:`load_bundle`.
    """
    _check_path_argument(path, "load_official", "load_official_text")
    try:
        return _official_from(_read_file(Path(path), bundle_size_limit(max_size)))
    except BundleError as exc:
        raise (exc if exc.file or not exc.location else exc.in_file(str(path))) from None


def load_official_text(text: str | bytes, *, max_size: int | None = None) -> OfficialExport:
    """:func:`load_official` for the file's JSON text (or UTF-8 bytes)."""
    return _official_from(_parse(_read(_bounded_text(text, max_size, "load_official_text"))))


def _bounded_text(text: str | bytes, max_size: int | None, name: str) -> str | bytes:
    if not isinstance(text, (str, bytes)):
        raise TypeError(f"{name}() takes str or bytes, not {type(text).__name__}")
    limit = bundle_size_limit(max_size)
    if len(text) > limit:
        raise BundleError(_too_large(f"the text ({len(text)} long)", limit), location="")
    return text


def _check_path_argument(path: Any, name: str, text_name: str) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{name}() takes a path, not {type(path).__name__}; "
            f"for JSON text or bytes use {text_name}()"
        )
    text = os.fspath(path)
    if isinstance(text, str) and text.lstrip()[:1] in ("{", "[") and not os.path.lexists(text):
        raise BundleError(
            f"no bundle file at {text.strip()[:40]!r}...: this looks like JSON text, which "
            f"goes to {text_name}()",
            location="",
        )


def bundle_size_limit(max_size: int | None = None) -> int:
    """The size limit in bytes: ``max_size``, else ``$ZIGGY_MAX_BUNDLE_SIZE`` (a whole
    number of bytes, or with ``KiB``/``MiB``/``GiB``), else :data:`MAX_BUNDLE_SIZE`."""
    if max_size is not None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise InvalidArgumentError(f"max_size is a positive number of bytes, not {max_size!r}")
        return max_size
    setting = os.environ.get(MAX_BUNDLE_SIZE_VARIABLE, "").strip()
    if not setting:
        return MAX_BUNDLE_SIZE
    found = _SIZE.fullmatch(setting)
    if found is None or int(found.group(1)) < 1:
        raise BundleError(
            f"{MAX_BUNDLE_SIZE_VARIABLE}={setting[:40]!r} is not a size: give a whole "
            "number of bytes, or of KiB, MiB or GiB (such as 2GiB)",
            location="",
        )
    return int(found.group(1)) * _UNITS[(found.group(2) or "").lower()]


_SIZE = re.compile(r"(\d{1,15})\s*(KiB|MiB|GiB|B)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}


def _too_large(what: str, limit: int) -> str:
    return (
        f"{what} is larger than the bundle size limit of {describe_size(limit)}; to read "
        f"it anyway, raise the limit ({MAX_BUNDLE_SIZE_VARIABLE} or max_size=)"
    )


def _load_path(path: Path, limit: int) -> Bundle:
    try:
        is_folder = path.is_dir()
    except OSError:  # a name too long to be a path, say: reading it says what is wrong
        is_folder = False
    if is_folder:
        document, files = read_directory(path, max_size=limit)
        try:
            return _bundle_from(document)
        except BundleError as exc:
            raise _in_file(exc, path, files) from None
    try:
        # Parsed as it is read (see ``_json_stream``), so the file's text is never all in
        # memory next to the document it parses into.
        document = _read_file(path, limit)
        return _bundle_from(document)
    except BundleError as exc:
        raise (exc if exc.file or not exc.location else exc.in_file(str(path))) from None


def check_bundle(
    bundle: Bundle,
    known_references: Mapping[str, References] | None = None,
    checked_flows: Collection[str] = (),
) -> None:
    """Raise :class:`BundleError` unless ``bundle`` would load back as it is.

    Exports run this before writing, so that a file ziggy-migrate writes is always one it
    can read (a server can hold what a bundle cannot: duplicate names, deep graphs...).
    ``known_references`` passes on what an export found walking each flow (see
    ``dangling_references``), so that no graph is walked twice. ``checked_flows`` holds
    the UUIDs of flows already checked against the schema by ``encode_flow(check=True)``
    as they arrived; when that is all of them, only the rest of the document is.
    """
    # In memory, without a round trip through text: the schema sees the document the file
    # would hold, the meaning checks bound graph depth; NaN and invalid text are refused
    # when the text is made (dump_bundle), before anything is written.
    all_checked = bool(checked_flows) and all(flow.uuid in checked_flows for flow in bundle.flows)
    # when all flows are checked (against the same definition, each on its own: the list
    # has no other rule), the rest is checked without making the flows' documents again
    _validate_schema(_canonical_document(bundle, with_flows=not all_checked))
    _check_meaning(bundle, known_references)


def _bundle_from(document: Any) -> Bundle:
    if looks_official(document):
        loaded = _official_from(document)
        for warning in loaded.warnings:
            logger.warning("official export file: %s", warning)
        return loaded.bundle
    if not isinstance(document, dict):
        raise BundleError(f"a bundle is a JSON object, not {_json_type(document)}")
    bundle = _structured(_upgrade(document))
    _check_meaning(bundle)
    return bundle


def _structured(document: dict[str, Any]) -> Bundle:
    """Stages 3 and 4: a current-version document checked against the schema, as models."""
    _validate_schema(document)
    try:
        return _convert.structure(document, Bundle)
    except Exception as exc:  # the schema should make this unreachable; never half-load
        raise BundleError(f"cannot be read as a bundle: {exc}") from None


def _official_from(document: Any) -> OfficialExport:
    """An official export document converted, validated and checked (see ``official.py``).

    References to items the file does not hold are declared unresolved, each with a
    warning; every error names the official file's own JSON path.
    """
    if not looks_official(document):
        if isinstance(document, dict) and "schemaVersion" in document:
            raise BundleError(
                "this is a ziggy-migrate bundle, not an official ziggy export file; read it "
                "with load_bundle()",
                location="$.schemaVersion",
            )
        raise BundleError(
            "not an official ziggy export file: expected an object with a 'flows' list, or "
            f"a non-empty list of flow rows, not {_json_type(document)}"
        )
    converted = convert_official(document)
    try:
        # a version-2 document: upgraded like any version-2 file to the current format
        bundle = _structured(_upgrade(converted.document))
        references = _walk_flows(bundle)
        dangling = dangling_references(bundle, references)
        bundle = attrs.evolve(
            bundle, unresolved_references=tuple(entry.reference for entry in dangling)
        )
        _check_meaning(bundle, references)
    except BundleError as exc:
        raise relocate(exc, converted.paths) from None
    warnings = converted.warnings + tuple(_unresolved_warning(entry) for entry in dangling)
    return OfficialExport(
        bundle=_in_canonical_order(bundle), warnings=warnings, schedules=converted.schedules
    )


def _walk_flows(bundle: Bundle) -> dict[str, References]:
    """What each flow refers to, walked once for the dangling check and the meaning check."""
    references: dict[str, References] = {}
    for index, flow in enumerate(bundle.flows):
        try:
            references[flow.uuid] = walk_flow(flow)
        except GraphTooDeepError as exc:
            raise GraphTooDeepError(
                f"flow {flow.name!r}: {exc.reason}", location=f"$.flows[{index}]"
            ) from None
    return references


def _in_canonical_order(bundle: Bundle) -> Bundle:
    """Items by name then UUID, unresolved references by holder, kind and reference: the
    order an export builds and a saved bundle loads in, so the two compare equal."""
    ordered: dict[str, Any] = {
        kind.plural: tuple(sorted(bundle.items(kind), key=lambda item: (item.name, item.uuid)))
        for kind in ItemKind
    }
    ordered["unresolved_references"] = tuple(
        sorted(
            bundle.unresolved_references,
            key=lambda ref: (ref.item_uuid, ref.kind.value, ref.reference),
        )
    )
    return attrs.evolve(bundle, **ordered)


def _unresolved_warning(entry: DanglingReference) -> str:
    reference = entry.reference
    shown = reference.reference[:80]
    target = (
        f"secrets.{shown}"
        if reference.kind is ItemKind.SECRET
        else f"{reference.kind.value} {shown}"
    )
    return (
        f"{entry.holder} refers to {target}, which the file does not hold; it is kept as an "
        "unresolved reference (an import leaves it as it is)"
    )


def _in_file(error: BundleError, folder: Path, files: dict[str, list[str]]) -> BundleError:
    """Point an error at ``$.flows[3]`` to the file of the folder that holds that flow."""
    match = re.match(r"^\$\.(\w+)\[(\d+)\](.*)$", error.location)
    if match and match.group(1) in files and int(match.group(2)) < len(files[match.group(1)]):
        where = files[match.group(1)][int(match.group(2))]
        return BundleError(error.reason, location=f"${match.group(3)}", file=str(folder / where))
    return error.in_file(str(folder / INDEX_FILE))


def _read(source: str | bytes) -> str:
    """The text of a JSON text or bytes source (files are parsed as read: ``_read_file``)."""
    return _decode(source) if isinstance(source, bytes) else source


def _read_file(path: Path, limit: int) -> Any:
    """The bundle file's document, parsed as the file is read and decoded (strict UTF-8).

    Only about one chunk of the text is in memory at a time (see ``_json_stream``); a
    broken file is read again whole to be reported, as text sources are. What is not a
    regular file, or is larger than ``limit`` bytes, is refused unread."""
    try:
        with (
            open_untrusted(path, max_size=limit) as raw,
            io.TextIOWrapper(raw, encoding="utf-8", errors="strict") as handle,
        ):
            return _parse(handle)
    except UnicodeDecodeError:
        raise BundleError(
            f"not UTF-8 text ({_first_bad_byte(path, limit)})", location="", file=str(path)
        ) from None
    except FileTooLarge:
        raise BundleError(_too_large(str(path), limit), location="") from None
    except UnsafeFile as exc:
        raise BundleError(f"{exc}; a bundle is a file or a bundle folder", location="") from None
    except FileNotFoundError:
        raise BundleError(f"no bundle file at {path}", location="") from None
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}", location="") from None


def _first_bad_byte(path: Path, limit: int) -> str:
    """Where a file stops being UTF-8 (read again: only on this error path)."""
    try:
        with open_untrusted(path, max_size=limit) as raw:
            raw.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid byte at offset {exc.start}"
    except (OSError, UnsafeFile):
        pass
    return "invalid byte"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def _parse(source: str | TextIO) -> Any:
    """The document of JSON text, or of an open bundle file; errors as ``BundleError``."""
    try:
        if isinstance(source, str):
            document = loads_strict(source.removeprefix("\ufeff"))
        else:
            document = load_strict(source)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except DuplicateKey as exc:
        raise BundleError(exc.reason, location=exc.path) from None
    except JSONRejected as exc:
        raise BundleError(f"not a bundle: the JSON {exc}") from None
    return document


def _upgrade(document: dict[str, Any]) -> dict[str, Any]:
    version = document.get("schemaVersion")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BundleError(
            "missing or non-integer schemaVersion: is this a ziggy-migrate bundle? (an "
            "official ziggy export file, also accepted, has a 'flows' list instead)",
            location="$.schemaVersion",
        )
    if version > CURRENT_SCHEMA_VERSION:
        raise BundleError(
            f"bundle format {version} is newer than this ziggy-migrate understands "
            f"(up to {CURRENT_SCHEMA_VERSION}); upgrade ziggy-migrate to read it",
            location="$.schemaVersion",
        )
    while version < CURRENT_SCHEMA_VERSION:
        step = _MIGRATIONS.get(version)
        if step is None:
            raise BundleError(
                f"unknown bundle format {version}: this ziggy-migrate reads formats 1 to "
                f"{CURRENT_SCHEMA_VERSION}",
                location="$.schemaVersion",
            )
        document = step(document)
        version += 1
        document["schemaVersion"] = version
    return document


def _validate_schema(document: dict[str, Any]) -> None:
    found = _schema_error(_validator(CURRENT_SCHEMA_VERSION), document)
    if found is not None:
        message, path = found
        raise BundleError(_describe_item(document, path) + message, location=_json_path(path))


def _schema_error(
    validator: jsonschema.Draft202012Validator, instance: Any
) -> tuple[str, list[str | int]] | None:
    """The most relevant schema error in ``instance`` (message and path), or None."""
    try:
        if _quick_check(validator)(instance):
            return None
        error = best_match(validator.iter_errors(instance))
    except RecursionError:
        raise BundleError("JSON nested too deeply to be a bundle") from None
    if error is None:
        return None
    message = error.message
    if len(message) > 200:  # the message quotes the value: say the rule instead
        rule = _RULE_MESSAGES.get(str(error.validator), "breaks the schema rule {}")
        message = "the value " + rule.format(json.dumps(error.validator_value)[:80])
    return message, list(error.absolute_path)


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe_item(document: dict[str, Any], parts: Iterable[str | int]) -> str:
    """``flow 'Billing': `` for an error inside a named item, to help find it."""
    seq = list(parts)
    if len(seq) >= 2 and isinstance(seq[0], str) and isinstance(seq[1], int):
        items = document.get(seq[0])
        if isinstance(items, list) and seq[1] < len(items) and isinstance(items[seq[1]], dict):
            name = items[seq[1]].get("name")
            if isinstance(name, str) and seq[0].endswith("s"):
                return f"{seq[0][:-1]} {name[:80]!r}: "
    return ""


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _check_meaning(
    bundle: Bundle, known_references: Mapping[str, References] | None = None
) -> None:
    """Unique identities per kind and a closed set of references."""
    for kind in ItemKind:
        if kind is ItemKind.SCHEDULE:
            _check_schedules(bundle)
        else:
            _check_unique(bundle.items(kind), kind.plural)
    for index, secret in enumerate(bundle.secrets):
        if not _IDENTIFIER.fullmatch(secret.name):
            raise BundleError(
                f"secret name {secret.name[:80]!r} is not a JavaScript identifier",
                location=f"$.secrets[{index}].name",
            )
    declared = set(bundle.unresolved_references)
    for dangling in dangling_references(bundle, known_references):
        if dangling.reference not in declared:
            raise BundleError(dangling.describe(), location=dangling.location)


def _check_unique(items: Sequence[Any], plural: str) -> None:
    for field in ("uuid", "name"):
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            value = getattr(item, field)
            if value in seen:
                raise BundleError(
                    f"duplicate {field} {value!r} (also at $.{plural}[{seen[value]}])",
                    location=f"$.{plural}[{index}].{field}",
                )
            seen[value] = index


def _check_schedules(bundle: Bundle) -> None:
    """Schedules: unique UUIDs, and names unique per flow (two flows may each have a
    "nightly"). That each triggers a flow of the bundle is a reference, checked with the
    others (``dangling_references``)."""
    uuids: dict[str, int] = {}
    names: dict[tuple[str, str], int] = {}
    for index, schedule in enumerate(bundle.schedules):
        if schedule.uuid in uuids:
            raise BundleError(
                f"duplicate uuid {schedule.uuid!r} (also at $.schedules[{uuids[schedule.uuid]}])",
                location=f"$.schedules[{index}].uuid",
            )
        uuids[schedule.uuid] = index
        key = (schedule.flow_uuid, schedule.name)
        if key in names:
            raise BundleError(
                f"duplicate name {schedule.name!r} among the schedules of flow "
                f"{schedule.flow_uuid} (also at $.schedules[{names[key]}])",
                location=f"$.schedules[{index}].name",
            )
        names[key] = index


# -- saving -------------------------------------------------------------------------------


def _canonical_document(bundle: Bundle, *, with_flows: bool = True) -> dict[str, Any]:
    """The bundle as the file holds it, in memory (``with_flows=False``: an empty list
    of flows, for a caller that has their documents or texts already)."""
    document: dict[str, Any] = _convert.unstructure(
        bundle if with_flows else attrs.evolve(bundle, flows=())
    )
    for kind in ItemKind:
        document[kind.plural].sort(key=lambda item: (item["name"], item["uuid"]))
    document["unresolvedReferences"].sort(
        key=lambda item: (item["itemUuid"], item["kind"], item["reference"])
    )
    return document


_FLOW_INDENT = "    "
"""How deep a bundle file holds each flow: in the top object's ``flows`` list."""


def encode_flow(flow: Flow, *, check: bool = False) -> EncodedJSON:
    """The canonical text of one flow, as a bundle file holds it, made ahead of saving.

    An export calls this as each flow arrives (see :class:`EncodedJSON`) and hands the
    texts to :func:`save_bundle`, which writes them instead of encoding those flows again.
    With ``check``, the flow is first checked against the schema's flow definition, which
    ``check_bundle(checked_flows=...)`` then skips: the export does that work while later
    flows are on the wire instead of after the last one. Raises :class:`BundleError` for
    what breaks the schema (naming the field) or what JSON cannot hold.

    For flows read from a server or a bundle, whose parsers let no NaN or infinity
    through (orjson may encode them: see ``encode_ahead``'s ``parsed``).
    """
    document = _convert.unstructure(flow)
    if check:
        _check_flow_document(document)
    try:
        return encode_ahead(document, _FLOW_INDENT, parsed=True)
    except (ValueError, TypeError) as exc:  # NaN, or a value JSON cannot hold
        raise BundleError(f"cannot be written as JSON: {exc}") from None


def decode_flow(text: str) -> Flow:
    """The flow whose canonical text :func:`encode_flow` made: the same values, read
    back as a server's answer is (``parse_answer``). For texts this package made, which
    were checked when they were made; not for untrusted input (see :func:`load_bundle`)."""
    return _convert.structure(parse_answer(text.encode("utf-8")), Flow)


def check_flow(flow: Flow) -> None:
    """Check one flow against the schema's flow definition, as :func:`check_bundle`
    would (which ``checked_flows`` then spares); :class:`BundleError` names the field."""
    _check_flow_document(_convert.unstructure(flow))


def _check_flow_document(document: dict[str, Any]) -> None:
    found = _schema_error(_flow_validator(CURRENT_SCHEMA_VERSION), document)
    if found is not None:
        message, path = found
        field = _json_path(path).removeprefix("$").removeprefix(".")
        raise BundleError(f"{field}: {message}" if field else message, location="")


def _dump(bundle: Bundle, encoded_flows: Mapping[str, EncodedJSON]) -> list[str]:
    """The canonical text of ``bundle`` in pieces (see ``canonical_parts``)."""
    document = _canonical_document(bundle, with_flows=not encoded_flows)
    if encoded_flows:
        document["flows"] = [
            _encoded_or_document(flow, encoded_flows)
            for flow in sorted(bundle.flows, key=lambda flow: (flow.name, flow.uuid))
        ]
    try:
        return canonical_parts(document)
    except (ValueError, TypeError) as exc:  # NaN, or a value JSON cannot hold
        raise BundleError(f"cannot be written as JSON: {exc}") from None


def _encoded_or_document(flow: Flow, encoded_flows: Mapping[str, EncodedJSON]) -> Any:
    encoded = encoded_flows.get(flow.uuid)
    return encoded if encoded is not None else _convert.unstructure(flow)


def dump_bundle(bundle: Bundle) -> str:
    """The canonical JSON text of a bundle (what :func:`save_bundle` writes)."""
    return "".join(_dump(bundle, {}))


def save_bundle(
    bundle: Bundle,
    path: str | os.PathLike[str],
    *,
    layout: Layout | LayoutName = "file",
) -> Path:
    """Write ``bundle`` to ``path`` atomically and return the path.

    ``layout="file"`` writes one JSON file; ``layout="dir"`` writes a folder with an index
    and one file per item, which git diffs item by item. Over an existing bundle folder
    it writes only those files (each whole, in one rename) and removes the files of items
    no longer in the bundle; everything else in the folder (``.git``, a README) stays as
    it is (see ``directory.py`` for what is guaranteed when a save is interrupted).
    """
    return save_encoded_bundle(bundle, path, layout=layout, encoded_flows={})


def save_encoded_bundle(
    bundle: Bundle,
    path: str | os.PathLike[str],
    *,
    layout: Layout | LayoutName,
    encoded_flows: Mapping[str, EncodedJSON],
) -> Path:
    """:func:`save_bundle` for callers that already encoded flows with :func:`encode_flow`.

    ``encoded_flows`` maps the bundle's own flows' UUIDs to their encoded text; the rest
    are encoded here. A flow found there is written from its text alone (either layout):
    it needs only its UUID and name, its graph is not read, so an export can let go of
    each graph as soon as the flow is encoded.
    """
    target = Path(path)
    if _choice(Layout, layout, "layout") is Layout.DIR:
        document = _canonical_document(bundle, with_flows=not encoded_flows)
        if encoded_flows:
            document["flows"] = [
                {"uuid": flow.uuid, "name": flow.name}
                if flow.uuid in encoded_flows
                else _convert.unstructure(flow)
                for flow in sorted(bundle.flows, key=lambda flow: (flow.name, flow.uuid))
            ]
        write_directory(document, target, encoded_flows)
    else:
        write_atomically(target, _dump(bundle, encoded_flows))
    return target


def save_streamed_bundle(
    bundle: Bundle, path: str | os.PathLike[str], flow_text: Callable[[str], str]
) -> Path:
    """:func:`save_encoded_bundle` (one file) for flows whose texts, made by
    :func:`encode_flow`, are not in memory: ``flow_text(uuid)`` gives each in turn as the
    file is written, so only one is held at a time. ``bundle``'s flows need only their
    names and UUIDs (for the order); their graphs are not read.
    """
    # A marker per flow, in canonical text where the flow's text goes: canonical text
    # escapes every control character, so a NUL in a piece is a marker's.
    markers = {
        flow.uuid: EncodedJSON(f"\x00{flow.uuid}\x00", _FLOW_INDENT) for flow in bundle.flows
    }

    def pieces() -> Iterator[str]:
        for part in _dump(bundle, markers):
            start = part.find("\x00")
            if start < 0:
                yield part
                continue
            end = part.index("\x00", start + 1)
            yield part[:start]
            yield flow_text(part[start + 1 : end])
            yield part[end + 1 :]

    target = Path(path)
    write_atomically(target, pieces())
    return target
