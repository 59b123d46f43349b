"""The emulator's database: entities, request validation, derived relations and snapshots.

This module plays the part of Ziggy's service layer plus its Postgres tables. It knows
nothing about HTTP: the server module turns paths and bodies into calls here and turns
:class:`ApiError` into NestJS-style error answers. Keeping the two apart lets the
emulator's seeding helpers (which write "straight into the database", like a fixture)
and its REST endpoints (which validate like the real DTOs) share one set of tables.

Every public method takes the store's single lock, so a request is applied atomically
and concurrent clients see a consistent state. Values handed out are deep copies:
callers can never mutate the tables behind the lock's back.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

TENANT_ID = "##solo##"
"""A single-tenant Ziggy server's tenant id, stamped on every entity."""

CONNECTION_TYPES: tuple[str, ...] = (
    "Postgres",
    "SqlServer",
    "Snowflake",
    "Hubspot",
    "Salesforce",
    "Upsales",
    "SFTP",
    "SMTP",
    "Twilio",
    "S3",
    "AZURE_BLOB",
    "MQTT AWS",
    "MQTT Generic",
    "DynamoDB",
    "Cohere",
    "ChatGPT",
    "Qdrant",
    "Elastic",
    "MCP_Server",
    "Redis Event Stream",
    "Redis Pub Sub",
    "IMAP",
)
"""The connection types the contract lists; the API refuses any other (seeding does not)."""

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SECRET_REFERENCE = re.compile(r"secrets\.([A-Za-z_$][A-Za-z0-9_$]*)")
_RELATION_KEYS = ("connections", "secrets", "structures", "variables", "schedules")
_MASKED = "********"


class ApiError(Exception):
    """A failure the API reports to its caller as a 4xx answer.

    ``message`` is a string, or a list of strings for DTO validation failures, because
    NestJS's ValidationPipe answers ``{"message": ["name must be a string", ...]}``.
    """

    def __init__(self, status: int, message: str | list[str]) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message


def _not_found(label: str, key: str) -> ApiError:
    return ApiError(404, f"{label} {key} not found")


# --------------------------------------------------------------------------- validation
# A check looks at one property of a request body and returns class-validator style
# messages (empty when the value is acceptable). ``None`` stands for "missing".

_Check = Callable[[str, Any], list[str]]


def _is_string(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, str) else [f"{name} must be a string"]


def _is_nullable_string(name: str, value: Any) -> list[str]:
    return [] if value is None or isinstance(value, str) else [f"{name} must be a string"]


def _is_boolean(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, bool) else [f"{name} must be a boolean value"]


def _is_integer(name: str, value: Any) -> list[str]:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return [] if ok else [f"{name} must be an integer number"]


def _is_string_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"{name} must be an array"]
    if not all(isinstance(item, str) for item in value):
        return [f"each value in {name} must be a string"]
    return []


def _is_object(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, dict) else [f"{name} must be an object"]


def _is_graph(name: str, value: Any) -> list[str]:
    """Nodes and edges are typed ``object`` in the OpenAPI but are arrays in practice."""
    ok = isinstance(value, dict | list)
    return [] if ok else [f"{name} must be an object or an array"]


def _is_anything(name: str, value: Any) -> list[str]:
    return []


def _is_identifier(name: str, value: Any) -> list[str]:
    if isinstance(value, str) and _IDENTIFIER.fullmatch(value):
        return []
    return [f"{name} must be a valid JavaScript identifier"]


def _one_of(choices: Sequence[str]) -> _Check:
    def check(name: str, value: Any) -> list[str]:
        if isinstance(value, str) and value in choices:
            return []
        return [f"{name} must be one of the following values: {', '.join(choices)}"]

    return check


@dataclass(frozen=True)
class _Dto:
    """A request body's whitelist, like a NestJS DTO under ``forbidNonWhitelisted``."""

    fields: Mapping[str, _Check]
    required: frozenset[str] = frozenset()

    def check(self, payload: Any) -> dict[str, Any]:
        """Return the fields of an acceptable body, or raise a 400 listing every problem.

        ``payload`` is a request body just parsed from JSON, which nothing else holds: the
        store keeps its values as they are (copying a 13 KB flow graph through JSON again
        made every PUT cost the emulator more than the client).
        """
        if not isinstance(payload, dict):
            raise ApiError(400, ["request body must be a JSON object"])
        problems = [f"property {key} should not exist" for key in payload if key not in self.fields]
        for name, check in self.fields.items():
            if name in payload:
                problems.extend(check(name, payload[name]))
            elif name in self.required:
                problems.extend(check(name, None))
        if problems:
            raise ApiError(400, problems)
        return dict(payload)

    def optional(self) -> _Dto:
        """The matching Update DTO: the same fields, none required (NestJS ``PartialType``)."""
        return _Dto(self.fields)


_FLOW_UPDATE = _Dto(
    {
        "nodes": _is_graph,
        "edges": _is_graph,
        "viewport": _is_object,
        "isValid": _is_boolean,
        "name": _is_string,
        "listenerType": _is_string,
        "numBlocks": _is_integer,
        "tags": _is_string_list,
        "isCommander": _is_boolean,
        "isDeleted": _is_boolean,
    }
)
_CONNECTION_CREATE = _Dto(
    {
        "tenantId": _is_string,
        "name": _is_string,
        "type": _one_of(CONNECTION_TYPES),
        "description": _is_string,
        "devValue": _is_nullable_string,
        "prodValue": _is_nullable_string,
        "isCorePlatform": _is_boolean,
        "devOAuthToken": _is_anything,
        "prodOAuthToken": _is_anything,
    },
    frozenset({"name", "type"}),
)
_SECRET_CREATE = _Dto(
    {
        "tenantId": _is_string,
        "name": _is_identifier,
        "description": _is_string,
        "type": _is_string,
        "group": _is_string,
        "tags": _is_string_list,
        "devValue": _is_nullable_string,
        "prodValue": _is_nullable_string,
    },
    frozenset({"name"}),
)
_STRUCTURE_CREATE = _Dto(
    {
        "tenantId": _is_string,
        "name": _is_string,
        "description": _is_string,
        "value": _is_string,
        "tags": _is_string_list,
    },
    frozenset({"name"}),
)
_VARIABLE_CREATE = _Dto(
    {"tenantId": _is_string, "name": _is_string, "description": _is_string, "value": _is_string},
    frozenset({"name"}),
)
_SCHEDULE_CREATE = _Dto(
    {
        "tenantId": _is_string,
        "name": _is_string,
        "config": _is_string,
        "isPaused": _is_boolean,
        "executionMode": _is_string,
        "flowUuid": _is_nullable_string,
        "isDeleted": _is_boolean,
    },
    frozenset({"name", "config", "isPaused"}),
)
_SECRET_VALUE = _Dto(
    {
        "executionEnvironmentMode": _one_of(("DEV", "PROD")),
        "uuid": _is_string,
        "secret": _is_string,
    },
    frozenset({"executionEnvironmentMode", "uuid", "secret"}),
)
_EXPORT_REQUEST = _Dto({"tags": _is_string_list, "flowUuids": _is_string_list})


# --------------------------------------------------------------------------- entities
# Each kind's columns, in the order the real entities declare them, with the defaults a
# fresh row gets. Seeding may override any column; unknown columns are refused because
# they could only be typos.


def _flow_columns(uuid: str, stamp: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "uuid": uuid,
        "queueUuid": str(uuidlib.uuid4()),
        "nodes": [],
        "edges": [],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
        "info": "",
        "executionHistoryLevel": "USE_DEFAULT",
        "executionHistoryMins": None,
        "isValid": True,
        "name": "",
        "listenerType": "REST",
        "numBlocks": 0,
        "tags": [],
        "isSubflow": False,
        "isCommander": False,
        "timeout": None,
        "createdAt": stamp,
        "updatedAt": stamp,
        "isDeleted": False,
        "isLocked": False,
    }


def _connection_columns(uuid: str, stamp: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "uuid": uuid,
        "name": "",
        "type": "Postgres",
        "description": "",
        "isCorePlatform": False,
        "devValue": "",
        "prodValue": "",
        "createdAt": stamp,
        "updatedAt": stamp,
        "isDeleted": False,
        "devOAuthToken": None,
        "prodOAuthToken": None,
    }


def _secret_columns(uuid: str, stamp: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "uuid": uuid,
        "name": "",
        "description": "",
        "type": "string",
        "group": "",
        "devValue": None,
        "prodValue": None,
        "tags": [],
        "createdAt": stamp,
        "updatedAt": stamp,
        "isDeleted": False,
    }


def _structure_columns(uuid: str, stamp: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "uuid": uuid,
        "name": "",
        "description": "",
        "value": "",
        "tags": [],
        "createdAt": stamp,
        "updatedAt": stamp,
        "isDeleted": False,
    }


def _variable_columns(uuid: str, stamp: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "uuid": uuid,
        "name": "",
        "description": "",
        "value": "",
        "createdAt": stamp,
        "updatedAt": stamp,
        "isDeleted": False,
    }


def _schedule_columns(uuid: str, stamp: str) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "uuid": uuid,
        "name": "",
        "config": "",
        "isPaused": False,
        "executionMode": "DEV",
        "numExecutions": 0,
        "flowUuid": None,
        "createdAt": stamp,
        "updatedAt": stamp,
        "isDeleted": False,
    }


@dataclass(frozen=True)
class Kind:
    """What the store needs to know about one entity type."""

    label: str
    """Singular name used in error messages, e.g. ``"Connection"``."""
    table: str
    """Plural key used in snapshots and seed files, e.g. ``"connections"``."""
    columns: Callable[[str, str], dict[str, Any]]
    create: _Dto | None
    update: _Dto


FLOW = Kind("Flow", "flows", _flow_columns, None, _FLOW_UPDATE)
CONNECTION = Kind(
    "Connection",
    "connections",
    _connection_columns,
    _CONNECTION_CREATE,
    _CONNECTION_CREATE.optional(),
)
SECRET = Kind("Secret", "secrets", _secret_columns, _SECRET_CREATE, _SECRET_CREATE.optional())
STRUCTURE = Kind(
    "Structure", "structures", _structure_columns, _STRUCTURE_CREATE, _STRUCTURE_CREATE.optional()
)
VARIABLE = Kind(
    "Variable", "variables", _variable_columns, _VARIABLE_CREATE, _VARIABLE_CREATE.optional()
)
SCHEDULE = Kind(
    "Schedule", "schedules", _schedule_columns, _SCHEDULE_CREATE, _SCHEDULE_CREATE.optional()
)
KINDS: tuple[Kind, ...] = (FLOW, CONNECTION, SECRET, STRUCTURE, VARIABLE, SCHEDULE)
_KIND_BY_TABLE = {kind.table: kind for kind in KINDS}
_UUID_TOKEN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


# --------------------------------------------------------------------------- helpers


def _detach(value: Any) -> Any:
    """Copy a caller's value into the store, refusing anything JSON cannot carry."""
    return json.loads(json.dumps(value))


def _text_of(values: Iterable[Any]) -> str:
    """All string values anywhere inside some JSON values (dict keys are not values) in
    one blob, so a reference is one substring test.

    NUL never occurs in a uuid or an identifier, so no match can straddle two strings.
    One loop over a stack with exact type tests: the store holds plain JSON (every row
    went through a JSON round trip), and this runs on every flow written.
    """
    strings: list[str] = []
    pending = list(values)
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            strings.append(item)
        elif kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return "\x00".join(strings)


def _by_name(entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Name order as a database collation gives it (case-insensitive first), then uuid."""

    def key(entity: dict[str, Any]) -> tuple[str, str, str]:
        name = str(entity.get("name", ""))
        return (name.casefold(), name, str(entity["uuid"]))

    return sorted(entities, key=key)


def _any_tag(entity: Mapping[str, Any], wanted: Iterable[str]) -> bool:
    tags = entity.get("tags") or []
    return any(tag in tags for tag in wanted)


def _format_ms(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as a JavaScript ``Date`` serialises."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=timezone.utc)
    moment += timedelta(milliseconds=epoch_ms % 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Clock:
    """A wall clock that never repeats: each write gets a strictly later timestamp.

    Without this, a PUT in the same millisecond as the create would leave ``updatedAt``
    unchanged, and tests asserting that it moved would be flaky.
    """

    last_ms: int = 0

    def tick(self) -> int:
        self.last_ms = max(int(time.time() * 1000), self.last_ms + 1)
        return self.last_ms

    def stamp(self) -> str:
        return _format_ms(self.tick())


# --------------------------------------------------------------------------- the store


class Store:
    """Ziggy's tables in memory, guarded by one lock.

    ``return_secret_values`` and ``backup_status`` are the two knobs a test turns to make
    the server behave like differently configured real ones.
    """

    def __init__(self) -> None:
        self.return_secret_values = True
        self.backup_status = "success"
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, dict[str, Any]]] = {kind.table: {} for kind in KINDS}
        # keys that are not uuid-shaped (seeded by hand), found in flows by substring
        self._plain_keys: dict[str, set[str]] = {kind.table: set() for kind in KINDS}
        self._mentions_cache: dict[str, tuple[Any, str, frozenset[str], frozenset[str]]] = {}
        self._named_saves: list[dict[str, Any]] = []
        self._backups: list[dict[str, Any]] = []
        self._export: dict[str, Any] | None = None
        self._transfer: bytes | None = None
        self._clock = _Clock()

    # ---- seeding (writes straight to the tables, as a fixture would)

    def seed(self, kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Insert (or replace, when the uuid exists) one row; returns the stored row."""
        with self._lock:
            return copy.deepcopy(self._insert(kind, fields))

    def load(self, data: Mapping[str, Any]) -> None:
        """Seed from ``{"flows": [...], "connections": [...], ...}`` (all keys optional)."""
        unknown = sorted(set(data) - set(_KIND_BY_TABLE))
        if unknown:
            raise ValueError(
                f"unknown seed keys {unknown}; expected some of {sorted(_KIND_BY_TABLE)}"
            )
        with self._lock:
            for table, rows in data.items():
                kind = _KIND_BY_TABLE[table]
                if not isinstance(rows, list):
                    raise ValueError(f"seed key {table!r} must hold a list")
                for row in rows:
                    if not isinstance(row, Mapping):
                        raise ValueError(f"every item of {table!r} must be an object")
                    self._insert(kind, _without_relations(kind, row))

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything not soft-deleted: the test's view of the database."""
        with self._lock:
            view: dict[str, Any] = {kind.table: _by_name(self._live(kind)) for kind in KINDS}
            view["namedSaves"] = list(self._named_saves)
            view["backups"] = list(self._backups)
            return copy.deepcopy(view)

    # ---- generic CRUD (connections, secrets, structures, variables, and flow updates)

    def get(self, kind: Kind, uuid: str) -> dict[str, Any]:
        with self._lock:
            return self._present(kind, self._row(kind, uuid))

    def list_rows(
        self, kind: Kind, keep: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Live rows sorted by name, optionally filtered."""
        with self._lock:
            rows = [row for row in self._live(kind) if keep is None or keep(row)]
            return [self._present(kind, row) for row in _by_name(rows)]

    def create(self, kind: Kind, payload: Any) -> dict[str, Any]:
        """POST: validate against the Create DTO, let the server pick the uuid."""
        if kind.create is None:
            raise TypeError(f"{kind.label} has no create DTO")
        fields = kind.create.check(payload)
        fields.pop("tenantId", None)
        with self._lock:
            self._check_flow_of(kind, fields)
            fields["uuid"] = str(uuidlib.uuid4())
            return self._present(kind, self._insert(kind, fields))

    def update(self, kind: Kind, uuid: str, payload: Any) -> None:
        """PUT: validate against the Update DTO, change only the given fields."""
        fields = kind.update.check(payload)
        fields.pop("tenantId", None)
        with self._lock:
            row = self._row(kind, uuid)
            self._check_flow_of(kind, fields)
            row.update(fields)
            row["updatedAt"] = self._clock.stamp()
            if kind is FLOW and "nodes" in fields:
                self._mentions(row)

    def delete(self, kind: Kind, uuid: str) -> None:
        """Remove a row; a flow takes its schedules with it (the relation cascades)."""
        with self._lock:
            self._row(kind, uuid)
            if kind is FLOW:
                schedules = self._tables[SCHEDULE.table]
                for key in [key for key, row in schedules.items() if row["flowUuid"] == uuid]:
                    del schedules[key]
            del self._tables[kind.table][uuid]
            self._plain_keys[kind.table].discard(uuid)
            self._mentions_cache.pop(uuid, None)

    # ---- flows

    def list_flows(self, search: str, flow_id: str, tags: Sequence[str]) -> list[dict[str, Any]]:
        """The flow summaries ``GET /api/flow`` answers; empty filters are unused."""
        needle = search.casefold()

        def keep(flow: dict[str, Any]) -> bool:
            return (
                (not needle or needle in str(flow["name"]).casefold())
                and (not flow_id or flow["uuid"] == flow_id)
                and (not tags or _any_tag(flow, tags))
            )

        # Summaries are built from the rows directly: copying whole flows (graphs and all)
        # only to drop most of them made listing a large server slower than the real one.
        with self._lock:
            rows = _by_name(row for row in self._live(FLOW) if keep(row))
            return [
                {
                    "uuid": row["uuid"],
                    "isSubflow": row["isSubflow"],
                    "name": row["name"],
                    "listenerType": row["listenerType"],
                    "tags": copy.deepcopy(row["tags"]),
                    "updatedAt": row["updatedAt"],
                }
                for row in rows
            ]

    def get_flow(self, uuid: str) -> dict[str, Any]:
        """A flow with its relations, derived from what its nodes mention.

        A shallow copy is enough: the store never changes a nested value in place (an
        update replaces whole fields), and this is the hot path of every export.
        """
        with self._lock:
            flow = dict(self._row(FLOW, uuid))
            flow.update(self._relations_of([flow]))
            flow["schedules"] = self._schedules_of(uuid)
            return flow

    def create_flow(self, name: str, listener_type: str) -> dict[str, Any]:
        with self._lock:
            fields = {"uuid": str(uuidlib.uuid4()), "name": name, "listenerType": listener_type}
            flow = copy.deepcopy(self._insert(FLOW, fields))
            flow.update(self._relations_of([flow]))
            flow["schedules"] = []
            return flow

    def clone_flow(self, uuid: str) -> str:
        """Copy a flow under a new uuid and queue, named ``"<name> (copy)"``."""
        with self._lock:
            original = self._row(FLOW, uuid)
            server_set = ("uuid", "queueUuid", "createdAt", "updatedAt", "isLocked")
            fields = {key: value for key, value in original.items() if key not in server_set}
            fields["uuid"] = str(uuidlib.uuid4())
            fields["name"] = f"{original['name']} (copy)"
            return str(self._insert(FLOW, copy.deepcopy(fields))["uuid"])

    # ---- secrets

    def set_secret_value(self, payload: Any) -> None:
        """``PATCH /api/secret/update-secret-value``: set the DEV or PROD value."""
        fields = _SECRET_VALUE.check(payload)
        column = "devValue" if fields["executionEnvironmentMode"] == "DEV" else "prodValue"
        with self._lock:
            secret = self._row(SECRET, fields["uuid"])
            secret[column] = fields["secret"]
            secret["updatedAt"] = self._clock.stamp()

    def obfuscated_secret(self, name: str) -> dict[str, Any]:
        """``{uuid, value}`` with a fixed mask, so nothing about the value leaks."""
        with self._lock:
            for secret in sorted(self._live(SECRET), key=lambda row: str(row["createdAt"])):
                if secret["name"] == name:
                    is_set = bool(secret.get("devValue") or secret.get("prodValue"))
                    return {"uuid": secret["uuid"], "value": _MASKED if is_set else ""}
        raise _not_found("Secret", name)

    # ---- history, backups, server-side export

    def named_save(self, flow_uuid: str, save_name: str) -> None:
        with self._lock:
            flow = self._row(FLOW, flow_uuid)
            self._named_saves.append(
                {
                    "uuid": str(uuidlib.uuid4()),
                    "flowUUID": flow_uuid,
                    "flowName": flow["name"],
                    "saveName": save_name,
                    "isNamedSave": True,
                    # the store replaces fields, never changes a nested value in place,
                    # so a copy of the row's fields is a snapshot (named_saves() copies out)
                    "flowHistory": dict(flow),
                    "createdAt": self._clock.stamp(),
                }
            )

    def named_saves(self, flow_uuid: str) -> list[dict[str, Any]]:
        """A flow's named saves, oldest first (an unknown flow simply has none)."""
        with self._lock:
            return copy.deepcopy(
                [save for save in self._named_saves if save["flowUUID"] == flow_uuid]
            )

    def backup(self) -> dict[str, Any]:
        """Answer ``POST /api/system/backup-db`` and remember successful backups."""
        with self._lock:
            if self.backup_status != "success":
                return {"localBackupStatus": "failed", "remoteBackupStatus": "not_configured"}
            moment = self._clock.tick()
            compact = _format_ms(moment).replace("-", "").replace(":", "").replace(".", "")
            answer = {
                "localBackupStatus": "success",
                "localBackupFile": f"/backups/ziggy-{compact}.sql",
                "remoteBackupStatus": "not_configured",
            }
            counts = {kind.table: len(self._live(kind)) for kind in KINDS}
            self._backups.append({**answer, "createdAt": _format_ms(moment), "counts": counts})
            return answer

    def prepare_export(self, payload: Any) -> None:
        """Select flows having any of ``tags`` or listed in ``flowUuids`` (every flow when
        both are empty, as the server's docs say), with what they use.

        The flows' connections, structures and variables are exported beside them (the
        relations ``GET /api/flow/{uuid}`` loads); secrets are found in the flows' nodes
        and in the exported connections' values, and are exported without their values,
        as a server export must be. Subflows are not added: a flow's callees are exported
        when they are selected themselves.
        """
        fields = _EXPORT_REQUEST.check(payload)
        tags, uuids = fields.get("tags", []), set(fields.get("flowUuids", []))
        with self._lock:
            flows = [
                flow
                for flow in _by_name(self._live(FLOW))
                if (not tags and not uuids) or flow["uuid"] in uuids or _any_tag(flow, tags)
            ]
            related = self._relations_of(flows)
            connections = related["connections"]
            secret_names = set(_SECRET_REFERENCE.findall(_text_of(flows + connections)))
            secrets = [
                {key: value for key, value in row.items() if key not in ("devValue", "prodValue")}
                for row in _by_name(self._live(SECRET))
                if row["name"] in secret_names
            ]
            self._export = copy.deepcopy(
                {
                    "flows": flows,
                    "connections": connections,
                    "secrets": secrets,
                    "structures": related["structures"],
                    "variables": related["variables"],
                }
            )

    def get_export(self) -> dict[str, Any]:
        with self._lock:
            if self._export is None:
                raise ApiError(404, "No tagged export has been prepared")
            return copy.deepcopy(self._export)

    def drop_export(self) -> None:
        with self._lock:
            self._export = None

    def make_transfer_file(self) -> None:
        """``POST /api/system/transfer-db``: dump the tables into a transfer file.

        A real server writes a PostgreSQL custom-format dump; this one writes the magic
        ``PGDMP`` and the tables as JSON, secret values included, as a database dump has
        them (which is why whoever downloads it must keep it private).
        """
        with self._lock:
            tables = {kind.table: _by_name(self._live(kind)) for kind in KINDS}
            stamp = self._clock.stamp()
            body = json.dumps({"createdAt": stamp, "tables": tables}, sort_keys=True)
            self._transfer = b"PGDMP" + body.encode("utf-8")

    def transfer_file(self) -> bytes:
        """``GET /api/system/download-transfer``: the last transfer file made."""
        with self._lock:
            if self._transfer is None:
                raise ApiError(404, "No transfer file has been made")
            return self._transfer

    # ---- internals (caller holds the lock)

    def _insert(self, kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
        given: dict[str, Any] = _detach(dict(fields))
        if not given.get("uuid"):
            given["uuid"] = str(uuidlib.uuid4())
        row = kind.columns(str(given["uuid"]), self._clock.stamp())
        unknown = sorted(set(given) - set(row))
        if unknown:
            raise ValueError(f"unknown {kind.label} fields {unknown}; known: {sorted(row)}")
        if kind is FLOW and "numBlocks" not in given and isinstance(given.get("nodes"), list):
            row["numBlocks"] = len(given["nodes"])
        row.update(given)
        key = str(row["uuid"])
        self._tables[kind.table][key] = row
        if not _UUID_TOKEN.fullmatch(key):
            self._plain_keys[kind.table].add(key)
        if kind is FLOW:
            self._mentions(row)
        return row

    def _check_flow_of(self, kind: Kind, fields: Mapping[str, Any]) -> None:
        """A schedule's ``flowUuid`` must name a live flow (a foreign key on the server)."""
        if kind is not SCHEDULE or fields.get("flowUuid") is None:
            return
        flow = self._tables[FLOW.table].get(str(fields["flowUuid"]))
        if flow is None or flow.get("isDeleted"):
            raise ApiError(400, [f"flowUuid {fields['flowUuid']} does not refer to a flow"])

    def _schedules_of(self, flow_uuid: str) -> list[dict[str, Any]]:
        """A flow's schedules, the relation ``GET /api/flow/{uuid}`` loads with it."""
        rows = [row for row in self._live(SCHEDULE) if row["flowUuid"] == flow_uuid]
        return [self._present(SCHEDULE, row, deep=False) for row in _by_name(rows)]

    def _row(self, kind: Kind, uuid: str) -> dict[str, Any]:
        row = self._tables[kind.table].get(uuid)
        if row is None:
            raise _not_found(kind.label, uuid)
        return row

    def _live(self, kind: Kind) -> list[dict[str, Any]]:
        return [row for row in self._tables[kind.table].values() if not row.get("isDeleted")]

    def _mentions(self, flow: Mapping[str, Any]) -> tuple[str, frozenset[str], frozenset[str]]:
        """A flow's strings in one blob, with the secret names and uuid tokens in them.

        Worked out when a flow's nodes are written, as a database keeps its relation
        tables, and remembered until they are replaced (the store never changes them in
        place): every ``GET /api/flow/{uuid}`` needs them, and walking the graph on the
        first read made the emulator, not the client, the slow side of a benchmark.
        """
        nodes = flow.get("nodes")
        cached = self._mentions_cache.get(str(flow["uuid"]))
        if cached is not None and cached[0] is nodes:
            return cached[1], cached[2], cached[3]
        text = _text_of([nodes])
        names = frozenset(_SECRET_REFERENCE.findall(text))
        tokens = frozenset(_UUID_TOKEN.findall(text))
        self._mentions_cache[str(flow["uuid"])] = (nodes, text, names, tokens)
        return text, names, tokens

    def _present(self, kind: Kind, row: dict[str, Any], *, deep: bool = True) -> dict[str, Any]:
        """A copy of a row as the API shows it (secret values hidden when configured).

        ``deep=False`` copies the row's fields only: enough for an answer that is encoded
        and sent, as the store never changes a nested value in place.
        """
        shown = copy.deepcopy(row) if deep else dict(row)
        if kind is SECRET and not self.return_secret_values:
            shown["devValue"] = None
            shown["prodValue"] = None
        return shown

    def _relations_of(self, flows: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """What the flows' nodes mention: uuids of connections, structures and variables
        anywhere in a string, and secrets as ``secrets.NAME``."""
        if len(flows) == 1:
            text, names, tokens = self._mentions(flows[0])
        else:
            text = _text_of(flow.get("nodes") for flow in flows)
            names = frozenset(_SECRET_REFERENCE.findall(text))
            tokens = frozenset(_UUID_TOKEN.findall(text))
        related: dict[str, list[dict[str, Any]]] = {}
        for kind in (CONNECTION, SECRET, STRUCTURE, VARIABLE):
            table = self._tables[kind.table]
            if kind is SECRET:
                rows = [row for row in table.values() if row["name"] in names] if names else []
            else:
                # uuid-shaped keys by lookup; any other key (seeded by hand) by substring
                rows = [table[token] for token in tokens if token in table]
                rows += [table[key] for key in self._plain_keys[kind.table] if key in text]
            live = [row for row in rows if not row.get("isDeleted")]
            related[kind.table] = [self._present(kind, row, deep=False) for row in _by_name(live)]
        return related


def _without_relations(kind: Kind, row: Mapping[str, Any]) -> dict[str, Any]:
    """Seed files may copy ``GET /api/flow/{uuid}``; its relations are derived, not stored."""
    if kind is not FLOW:
        return dict(row)
    return {key: value for key, value in row.items() if key not in _RELATION_KEYS}
