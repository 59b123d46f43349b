"""``ZiggyClient``: typed access to one Ziggy server's REST API.

Each method is one documented endpoint (see the API contract in the README) and returns
models from ``models.py``. Authentication, retries, deadlines and error mapping live in
``transport.py``; this module knows paths and payloads, and checks every answer against
the shape its model needs (``shapes.py``) before building the model, so that a broken or
hostile server is a :class:`MalformedResponseError` naming the request and the field.
Secret values it sends or reads are handed to the transport, which masks them in any
server text it shows.

Creates are special: they are not safe to repeat, so after an ambiguous failure (the
connection dropped after the request was sent, or a 5xx) the client looks the item up by
name before trying again. Only names that are free on the server are ever created (the
import plan guarantees it), so an item found under that name is the one we just made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .._vocabulary import convert as _convert
from .._vocabulary.errors import (
    NotZiggyServerError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
)
from .._vocabulary.models import (
    BackupResult,
    Connection,
    FetchedFlow,
    Flow,
    FlowRelations,
    FlowSummary,
    NamedSave,
    RemoteSecret,
    Schedule,
    Secret,
    Structure,
    Variable,
    VersionInfo,
)
from . import shapes
from .concurrency import DEFAULT_MAX_CONCURRENCY, ConcurrencyLimit
from .shapes import Shape
from .transport import (
    DEFAULT_MAX_ANSWER_BYTES,
    SOLO_TENANT,
    AmbiguousWriteError,
    RetryCallback,
    RetryPolicy,
    Transport,
    quote_segment,
)

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "RetryPolicy",
    "ZiggyClient",
]

logger = logging.getLogger("ziggy_migrate.client")

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
"""(connect, read) seconds: no request ever waits forever. The read part is also each
attempt's total deadline, from connecting to the answer's last byte."""

T = TypeVar("T")

# The fields ``PUT /api/flow/{uuid}`` accepts (UpdateFlowDto).
_FLOW_UPDATE_FIELDS = (
    "nodes",
    "edges",
    "viewport",
    "isValid",
    "name",
    "listenerType",
    "numBlocks",
    "tags",
    "isCommander",
)
_CONNECTION_WRITE_FIELDS = (
    "name",
    "type",
    "description",
    "devValue",
    "prodValue",
    "isCorePlatform",
)
_SECRET_WRITE_FIELDS = ("name", "description", "type", "group", "tags")
_STRUCTURE_WRITE_FIELDS = ("name", "description", "value", "tags")
_VARIABLE_WRITE_FIELDS = ("name", "description", "value")
_SCHEDULE_WRITE_FIELDS = ("name", "config", "isPaused", "executionMode", "flowUuid")
_CREATE_ATTEMPTS = 3


class ZiggyClient:
    """A session with one Ziggy server.

    ``url`` is the scheme and host without port (``https://prod.example.com``), as Ziggy
    profiles store it; ``port`` is separate. The client logs in on first use, renews its
    token when the server answers 401, and is safe to share between threads (the engine
    sends independent requests concurrently).

    How many requests are in flight at once adapts to the server by default: it starts
    at 8, widens while answers stay fast and healthy, and narrows on 429/503 answers,
    timeouts and climbing latency (``concurrency.py``), up to ``max_concurrency``.
    ``max_workers=N`` pins it at ``N`` instead. :attr:`concurrency` is the level now,
    :attr:`max_workers` the most there can ever be (the engine sizes its thread pools
    by it).

    ``timeout`` is a number of seconds, or a (connect, read) pair; every attempt ends
    within it (the read part), however slowly the server sends. No answer is read past
    ``max_answer_bytes`` (decompressed). ``on_retry`` is called with a
    :class:`RetryEvent` before each retry (each is also logged as a warning), for a
    progress display; it runs in the thread that retries, and what it raises propagates.
    """

    def __init__(
        self,
        url: str,
        port: int | None,
        username: str,
        password: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        max_workers: int | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        name: str | None = None,
        tenant_id: str = SOLO_TENANT,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        on_retry: RetryCallback | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.port = port
        self.name = name
        pinned = None if max_workers is None else max(1, max_workers)
        self._limit = ConcurrencyLimit(
            fixed=pinned, ceiling=max(1, max_concurrency), name=self.base_url
        )
        self.max_workers = self._limit.ceiling
        self._transport = Transport(
            self.base_url,
            username,
            password,
            timeout=timeout,
            verify=verify,
            retry=retry or RetryPolicy(),
            pool_size=self.max_workers + 1,  # the workers and the calling thread
            tenant_id=tenant_id,
            max_answer_bytes=max_answer_bytes,
            on_retry=on_retry,
            concurrency=self._limit,
        )
        self._tenant_id = tenant_id

    def __repr__(self) -> str:
        return f"ZiggyClient({self.base_url!r}, name={self.name!r})"

    @property
    def base_url(self) -> str:
        """``url:port`` (the port is left out when None)."""
        return self.url if self.port is None else f"{self.url}:{self.port}"

    @property
    def adaptive(self) -> bool:
        """Whether the concurrency adapts to the server (no ``max_workers`` given)."""
        return self._limit.adaptive

    @property
    def concurrency(self) -> int:
        """How many requests this client may have in flight now."""
        return self._limit.level

    @property
    def concurrency_peak(self) -> int:
        """The highest :attr:`concurrency` so far."""
        return self._limit.peak

    @property
    def retries(self) -> int:
        """How many requests were retried so far (for reports)."""
        return self._transport.retries

    @property
    def requests_sent(self) -> int:
        """How many HTTP requests this client sent so far, retries included."""
        return self._transport.requests_sent

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ZiggyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- server ---------------------------------------------------------------------------

    def login(self) -> None:
        """Check the credentials now (otherwise the first call logs in)."""
        self._transport.login()

    def health(self) -> str:
        return str(self._transport.request("GET", "/api/health", text_ok=True))

    def version_info(self) -> VersionInfo:
        return self._model("GET", "/api/system/version-info", shapes.VERSION_INFO, VersionInfo)

    def backup_database(self) -> BackupResult:
        """Ask the server for a database backup (repeating it is harmless)."""
        path = "/api/system/backup-db"
        answer = self._transport.request("POST", path, retry_writes=True)
        return _convert.structure(self._checked(shapes.BACKUP, answer, "POST", path), BackupResult)

    def make_transfer_file(self) -> None:
        """``POST /api/system/transfer-db``: have the server write its database transfer
        file (a PostgreSQL custom-format dump); making it again is harmless."""
        self._transport.request("POST", "/api/system/transfer-db", retry_writes=True)

    def download_transfer_file(self) -> bytes:
        """``GET /api/system/download-transfer``: the transfer file's bytes, whole."""
        answer = self._transport.request("GET", "/api/system/download-transfer", raw=True)
        return bytes(answer)

    # -- flows ----------------------------------------------------------------------------

    def list_flows(
        self,
        *,
        search: str = "",
        flow_id: str = "",
        tags: Sequence[str] = (),
    ) -> list[FlowSummary]:
        """``GET /api/flow``: summaries, filtered by name, UUID or any of ``tags``."""
        params = {"search": search, "flowId": flow_id, "tags": ",".join(tags)}
        return self._models("GET", "/api/flow", shapes.FLOW_SUMMARY, FlowSummary, params)

    def get_flow(self, uuid: str) -> FetchedFlow:
        """``GET /api/flow/{uuid}``: the whole flow and the relations the server loaded."""
        path = f"/api/flow/{quote_segment(uuid)}"
        answer = self._checked(shapes.FLOW, self._transport.request("GET", path), "GET", path)
        return FetchedFlow(flow=_convert.structure(answer, Flow), relations=_relations(answer))

    def create_flow(self, name: str, listener_type: str) -> str:
        """Create an empty flow and return its new UUID (never creating it twice)."""
        path = f"/api/flow/{quote_segment(name)}/{quote_segment(listener_type or 'REST')}"

        def lookup() -> str | None:
            return _single_uuid(item for item in self.list_flows(search=name) if item.name == name)

        return self._create_once(
            f"flow {name!r}", "POST", path, lambda: self._new_uuid(path), lookup
        )

    def update_flow(self, uuid: str, flow: Flow) -> None:
        """``PUT /api/flow/{uuid}`` with every field the server lets us set (nulls left out)."""
        body = {
            key: value
            for key, value in _pick(_convert.unstructure(flow), _FLOW_UPDATE_FIELDS).items()
            if value is not None
        }
        self._transport.request("PUT", f"/api/flow/{quote_segment(uuid)}", json_body=body)

    def delete_flow(self, uuid: str) -> None:
        self._transport.request("DELETE", f"/api/flow/{quote_segment(uuid)}", not_found_ok=True)

    def clone_flow(self, uuid: str) -> str:
        return self._new_uuid(f"/api/flow/clone/{quote_segment(uuid)}")

    def _new_uuid(self, path: str) -> str:
        """POST ``path`` and return the UUID its answer names (a create or a clone)."""
        answer = self._transport.request("POST", path)
        return str(self._checked(shapes.CREATED, answer, "POST", path)["uuid"])

    def server_export_tagged(
        self, *, tags: Sequence[str] = (), flow_uuids: Sequence[str] = ()
    ) -> Any:
        """The server's own export of flows by tag or UUID, as the official CLI uses it.

        Prepares the export, downloads it and drops it from the server. ziggy-migrate's
        :func:`~ziggy_migrate.export_flows` does not need it (it builds a closed,
        secret-free bundle itself); it is here for comparing with the official tool.
        """
        body = {"tags": list(tags), "flowUuids": list(flow_uuids)}
        self._transport.request(
            "POST", "/api/flow/export-tagged", json_body=body, retry_writes=True
        )
        try:
            return self._transport.request("GET", "/api/flow/export-tagged")
        finally:
            self._transport.request("DELETE", "/api/flow/tagged-export", not_found_ok=True)

    # -- named saves ----------------------------------------------------------------------

    def list_named_saves(self, flow_uuid: str) -> list[NamedSave]:
        path = f"/api/ziggy/named-saves/{quote_segment(flow_uuid)}"
        return self._models("GET", path, shapes.NAMED_SAVE, NamedSave)

    def create_named_save(self, flow_uuid: str, save_name: str) -> None:
        """Snapshot the flow's current state under ``save_name``, at most once.

        After an ambiguous failure the saves are listed: a save of that name holding the
        flow exactly as it is now means the first request went through.
        """
        path = (
            f"/api/ziggy/history-named-save/{quote_segment(flow_uuid)}/{quote_segment(save_name)}"
        )

        saves_path = f"/api/ziggy/named-saves/{quote_segment(flow_uuid)}"

        def lookup() -> str | None:
            current = _comparable_flow(
                self._transport.request("GET", f"/api/flow/{quote_segment(flow_uuid)}")
            )
            saves = self._transport.request("GET", saves_path)
            for save in shapes.check_list(
                shapes.NAMED_SAVE, saves, f"GET {saves_path}", self.base_url
            ):
                if save.get("saveName") == save_name and (
                    _comparable_flow(save.get("flowHistory")) == current
                ):
                    return str(save["uuid"])
            return None

        self._create_once(
            f"named save {save_name!r} of flow {flow_uuid}",
            "POST",
            path,
            lambda: str(self._transport.request("POST", path)),
            lookup,
        )

    # -- connections ----------------------------------------------------------------------

    def list_connections(self, *, type: str = "", core: bool | None = None) -> list[Connection]:
        params = {"type": type, "core": "" if core is None else str(core).lower()}
        params = {key: value for key, value in params.items() if value}
        return self._models("GET", "/api/connection", shapes.CONNECTION, Connection, params)

    def get_connection(self, uuid: str) -> Connection:
        path = f"/api/connection/{quote_segment(uuid)}"
        return self._model("GET", path, shapes.CONNECTION, Connection)

    def create_connection(self, connection: Connection) -> Connection:
        """Create a connection (its UUID is chosen by the server) and return it."""
        body = {"tenantId": self._tenant_id, **self._connection_body(connection)}
        return self._create_item(
            f"connection {connection.name!r}",
            "/api/connection",
            body,
            shape=shapes.CONNECTION,
            cls=Connection,
            find_by_name=lambda: [c for c in self.list_connections() if c.name == connection.name],
        )

    def update_connection(self, uuid: str, connection: Connection) -> None:
        body = self._connection_body(connection)
        self._transport.request("PUT", f"/api/connection/{quote_segment(uuid)}", json_body=body)

    def delete_connection(self, uuid: str) -> None:
        self._transport.request(
            "DELETE", f"/api/connection/{quote_segment(uuid)}", not_found_ok=True
        )

    @staticmethod
    def _connection_body(connection: Connection) -> dict[str, Any]:
        return _pick(_convert.unstructure(connection), _CONNECTION_WRITE_FIELDS)

    # -- secrets --------------------------------------------------------------------------

    def list_secrets(self) -> list[RemoteSecret]:
        """Secrets with whether each holds a value; the values themselves are dropped
        (after the transport noted them, to mask them in any server text it shows)."""
        answer = self._transport.request("GET", "/api/secret")
        self._keep_secret_values(answer)
        items = shapes.check_list(shapes.SECRET, answer, "GET /api/secret", self.base_url)
        return [_remote_secret(item) for item in items]

    def get_secret(self, uuid: str) -> RemoteSecret:
        path = f"/api/secret/{quote_segment(uuid)}"
        answer = self._transport.request("GET", path)
        self._keep_secret_values([answer])
        return _remote_secret(self._checked(shapes.SECRET, answer, "GET", path))

    def _keep_secret_values(self, items: Any) -> None:
        if isinstance(items, list):
            self._transport.keep_secret(
                *(
                    value
                    for item in items
                    if isinstance(item, dict)
                    for value in (item.get("devValue"), item.get("prodValue"))
                    if isinstance(value, str)
                )
            )

    def secret_has_value(self, name: str) -> bool | None:
        """Ask the masked endpoint whether the secret ``name`` holds a value."""
        answer = self._transport.request(
            "GET",
            f"/api/secret/get-obfuscated-by-name/{quote_segment(name)}",
            not_found_ok=True,
        )
        if not isinstance(answer, dict):
            return None
        value = answer.get("value")
        return bool(value) and isinstance(value, str) and value.strip() != ""

    def create_secret(self, secret: Secret) -> Secret:
        """Create a secret *without* a value: values never travel with ziggy-migrate."""
        body = {
            "tenantId": self._tenant_id,
            **_pick(_convert.unstructure(secret), _SECRET_WRITE_FIELDS),
        }
        return self._create_item(
            f"secret {secret.name!r}",
            "/api/secret",
            body,
            shape=shapes.SECRET,
            cls=Secret,
            find_by_name=lambda: [
                s.secret for s in self.list_secrets() if s.secret.name == secret.name
            ],
        )

    def update_secret(self, uuid: str, secret: Secret) -> None:
        """Update a secret's metadata; its values on the server are left as they are."""
        body = _pick(_convert.unstructure(secret), _SECRET_WRITE_FIELDS)
        self._transport.request("PUT", f"/api/secret/{quote_segment(uuid)}", json_body=body)

    def set_secret_value(self, uuid: str, value: str, *, environment: str = "PROD") -> None:
        """Set a secret's DEV or PROD value (the value is never logged)."""
        self._transport.keep_secret(value)
        body = {"executionEnvironmentMode": environment.upper(), "uuid": uuid, "secret": value}
        self._transport.request(
            "PATCH", "/api/secret/update-secret-value", json_body=body, retry_writes=True
        )

    def delete_secret(self, uuid: str) -> None:
        self._transport.request("DELETE", f"/api/secret/{quote_segment(uuid)}", not_found_ok=True)

    # -- structures and variables -----------------------------------------------------------

    def list_structures(self, *, tags: Sequence[str] = ()) -> list[Structure]:
        params = {"tags": ",".join(tags)} if tags else None
        return self._models("GET", "/api/structure", shapes.STRUCTURE, Structure, params)

    def create_structure(self, structure: Structure) -> Structure:
        body = _pick(_convert.unstructure(structure), _STRUCTURE_WRITE_FIELDS)
        return self._create_item(
            f"structure {structure.name!r}",
            "/api/structure",
            body,
            shape=shapes.STRUCTURE,
            cls=Structure,
            find_by_name=lambda: [s for s in self.list_structures() if s.name == structure.name],
        )

    def get_structure(self, uuid: str) -> Structure:
        path = f"/api/structure/{quote_segment(uuid)}"
        return self._model("GET", path, shapes.STRUCTURE, Structure)

    def update_structure(self, uuid: str, structure: Structure) -> None:
        body = _pick(_convert.unstructure(structure), _STRUCTURE_WRITE_FIELDS)
        self._transport.request("PUT", f"/api/structure/{quote_segment(uuid)}", json_body=body)

    def delete_structure(self, uuid: str) -> None:
        self._transport.request(
            "DELETE", f"/api/structure/{quote_segment(uuid)}", not_found_ok=True
        )

    def list_variables(self) -> list[Variable]:
        return self._models("GET", "/api/variable", shapes.VARIABLE, Variable)

    def create_variable(self, variable: Variable) -> Variable:
        body = _pick(_convert.unstructure(variable), _VARIABLE_WRITE_FIELDS)
        return self._create_item(
            f"variable {variable.name!r}",
            "/api/variable",
            body,
            shape=shapes.VARIABLE,
            cls=Variable,
            find_by_name=lambda: [v for v in self.list_variables() if v.name == variable.name],
        )

    def get_variable(self, uuid: str) -> Variable:
        path = f"/api/variable/{quote_segment(uuid)}"
        return self._model("GET", path, shapes.VARIABLE, Variable)

    def update_variable(self, uuid: str, variable: Variable) -> None:
        body = _pick(_convert.unstructure(variable), _VARIABLE_WRITE_FIELDS)
        self._transport.request("PUT", f"/api/variable/{quote_segment(uuid)}", json_body=body)

    def delete_variable(self, uuid: str) -> None:
        self._transport.request("DELETE", f"/api/variable/{quote_segment(uuid)}", not_found_ok=True)

    # -- schedules ----------------------------------------------------------------------------

    def list_schedules(self) -> list[Schedule]:
        """``GET /api/schedule``: every flow schedule (the run counter is dropped)."""
        return self._models("GET", "/api/schedule", shapes.SCHEDULE, Schedule)

    def get_schedule(self, uuid: str) -> Schedule:
        path = f"/api/schedule/{quote_segment(uuid)}"
        return self._model("GET", path, shapes.SCHEDULE, Schedule)

    def create_schedule(self, schedule: Schedule) -> Schedule:
        """Create a schedule for ``schedule.flow_uuid``, paused or not as it says.

        Names are unique per flow, so after an ambiguous failure the schedule is looked up
        by flow and name.
        """
        body = {
            "tenantId": self._tenant_id,
            **_pick(_convert.unstructure(schedule), _SCHEDULE_WRITE_FIELDS),
        }
        return self._create_item(
            f"schedule {schedule.name!r}",
            "/api/schedule",
            body,
            shape=shapes.SCHEDULE,
            cls=Schedule,
            find_by_name=lambda: [
                s
                for s in self.list_schedules()
                if s.name == schedule.name and s.flow_uuid == schedule.flow_uuid
            ],
        )

    def update_schedule(self, uuid: str, schedule: Schedule, *, with_pause: bool = True) -> None:
        """``PUT /api/schedule/{uuid}``; ``with_pause=False`` leaves the server's
        ``isPaused`` as it is (an import never switches a trigger on or off)."""
        fields = [key for key in _SCHEDULE_WRITE_FIELDS if with_pause or key != "isPaused"]
        body = _pick(_convert.unstructure(schedule), fields)
        self._transport.request("PUT", f"/api/schedule/{quote_segment(uuid)}", json_body=body)

    def delete_schedule(self, uuid: str) -> None:
        self._transport.request("DELETE", f"/api/schedule/{quote_segment(uuid)}", not_found_ok=True)

    # -- answers checked, then models built -------------------------------------------------

    def _checked(self, shape: Shape, answer: Any, method: str, path: str) -> Any:
        return shapes.check(shape, answer, f"{method} {path}", self.base_url)

    def _model(self, method: str, path: str, shape: Shape, cls: type[T]) -> T:
        answer = self._transport.request(method, path)
        return _convert.structure(self._checked(shape, answer, method, path), cls)

    def _models(
        self,
        method: str,
        path: str,
        shape: Shape,
        cls: type[T],
        params: dict[str, str] | None = None,
    ) -> list[T]:
        answer = self._transport.request(method, path, params=params)
        items = shapes.check_list(shape, answer, f"{method} {path}", self.base_url)
        return [_convert.structure(item, cls) for item in items]

    # -- create-once machinery ----------------------------------------------------------------

    def _create_item(
        self,
        what: str,
        path: str,
        body: dict[str, Any],
        *,
        shape: Shape,
        cls: type[T],
        find_by_name: Callable[[], list[T]],
    ) -> T:
        found: list[T] = []

        def post() -> str:
            found.clear()
            answer = self._transport.request("POST", path, json_body=body)
            found.append(_convert.structure(self._checked(shape, answer, "POST", path), cls))
            return ""

        def lookup() -> str | None:
            matches = find_by_name()
            if len(matches) == 1:
                found[:] = matches
                return ""
            return None

        self._create_once(what, "POST", path, post, lookup)
        return found[0]

    def _create_once(
        self,
        what: str,
        method: str,
        path: str,
        post: Callable[[], str],
        lookup: Callable[[], str | None],
    ) -> str:
        """Run a create; after an ambiguous failure, adopt the item if it now exists."""
        attempts = max(_CREATE_ATTEMPTS, self._transport.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return post()
            except AmbiguousWriteError as exc:
                logger.info("create of %s was ambiguous (%s); looking it up", what, exc)
                existing = self._lookup_after_failure(lookup)
                if existing is not None:
                    logger.info("%s was created by the earlier attempt; keeping it", what)
                    return existing
                if exc.timed_out:  # as for any request: the timeout is not waited twice
                    raise RequestTimeoutError(
                        f"{self.base_url} did not answer {method} {path} in time, and {what} "
                        "is not there (yet); check the server or raise the timeout."
                    ) from None
                if attempt == attempts:
                    raise ServerError(
                        f"Could not create {what}: the server kept failing ({exc}).",
                        response_code=503,
                    ) from None
                self._transport.report_retry(
                    method, path, "not created, as far as a look-up tells", attempt + 1, attempts
                )
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _lookup_after_failure(lookup: Callable[[], str | None]) -> str | None:
        """The item a failed create may have made, or None: a server that fails the
        look-up too is asked again by the next attempt, unless it does not answer in time
        or is no Ziggy server (asking again would only wait as long once more)."""
        try:
            return lookup()
        except (RequestTimeoutError, NotZiggyServerError):
            raise
        except ServerUnreachableError:
            return None


def _pick(data: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: data[key] for key in keys if key in data}


def _single_uuid(items: Iterable[FlowSummary]) -> str | None:
    matches = [item.uuid for item in items]
    return matches[0] if len(matches) == 1 else None


def _relations(answer: dict[str, Any]) -> FlowRelations:
    """The relations of a checked flow answer (lists of objects, or absent)."""

    def uuids(key: str) -> tuple[str, ...]:
        return tuple(
            item["uuid"]
            for item in answer.get(key) or ()
            if isinstance(item.get("uuid"), str) and item["uuid"]
        )

    names = tuple(
        item["name"]
        for item in answer.get("secrets") or ()
        if isinstance(item.get("name"), str) and item["name"]
    )
    return FlowRelations(
        connection_uuids=uuids("connections"),
        secret_names=names,
        structure_uuids=uuids("structures"),
        variable_uuids=uuids("variables"),
    )


def _remote_secret(item: dict[str, Any]) -> RemoteSecret:
    """Parse a secret and at once reduce its values to yes / no / unknown (None)."""
    values = [v for v in (item.get("devValue"), item.get("prodValue")) if v is not None]
    has_value = any(isinstance(v, str) and v != "" for v in values) if values else None
    return RemoteSecret(secret=_convert.structure(item, Secret), has_value=has_value)


def _comparable_flow(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    return {key: data.get(key) for key in ("name", "nodes", "edges", "tags")}
