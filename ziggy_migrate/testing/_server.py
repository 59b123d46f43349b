"""The emulator's HTTP side: routing, authentication, injected faults and latency.

A real HTTP server (not a mocked transport) so that everything between our client and
the wire is exercised too: keep-alive, timeouts, retries, dropped connections. Each
connection is served by its own daemon thread, so concurrent clients overlap and injected
latency behaves like network latency rather than a queue.

The request path is deliberately layered:

``_wire`` (sockets: read the body, write, trickle, hold or drop the answer)
  -> ``ZiggyEmulator._process`` here (latency, ``_answers`` overrides, the ``_faults``
     dice, the request log)
    -> ``_routes._dispatch`` (routing table, bearer-token check, errors to NestJS answers)
      -> an endpoint function -> ``_store.Store`` (the tables and their rules)
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from ._answers import Answer, _Overrides
from ._faults import FaultPlan, _fault_reply, _FaultDice
from ._routes import _Backend, _dispatch, _TokenBook
from ._store import (
    CONNECTION,
    FLOW,
    SCHEDULE,
    SECRET,
    STRUCTURE,
    VARIABLE,
    ApiError,
    Store,
)
from ._wire import _error, _HttpServer, _Incoming, _Reply


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it.

    ``status`` is the status answered, or, for ``drop_after`` and ``cut_short``, the
    status the applied request answered or would have; it is 0 for ``drop_before``
    (nothing was applied). ``fault`` is ``"500"``, ``"503"``, ``"429"``,
    ``"drop_before"``, ``"drop_after"``, ``"cut_short"``, ``"override"`` (an
    :class:`Answer` given to :meth:`ZiggyEmulator.override` answered it),
    ``"capacity"`` (answered 429 because ``capacity`` requests were already in flight)
    or None.
    """

    method: str
    path: str
    query: str
    status: int
    fault: str | None


class _RequestLog:
    """Requests in arrival order, even though they finish in any order.

    A slot is reserved when a request arrives and filled when its outcome is known;
    readers only see filled slots.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: list[RecordedRequest | None] = []
        self._offset = 0

    def reserve(self) -> int:
        with self._lock:
            self._slots.append(None)
            return self._offset + len(self._slots) - 1

    def fill(self, ticket: int, record: RecordedRequest) -> None:
        with self._lock:
            index = ticket - self._offset
            if index >= 0:  # otherwise reset() happened while the request was in flight
                self._slots[index] = record

    def records(self) -> list[RecordedRequest]:
        with self._lock:
            return [record for record in self._slots if record is not None]

    def reset(self) -> None:
        with self._lock:
            self._offset += len(self._slots)
            self._slots = []


# --------------------------------------------------------------------------- the emulator


class ZiggyEmulator:
    """A local Ziggy server for tests, demos and benchmarks (like moto for AWS).

    It speaks the REST contract over real HTTP on ``127.0.0.1``, keeps its database in
    memory, and can be told to be slow (``latency``), flaky (``faults``), strict about
    tokens (``token_lifetime``, ``expire_tokens()``) or discreet about secrets
    (``return_secret_values``) or careless about them (``leaky_errors``: every error
    answer quotes the request it failed on, password and all, and the secret values the
    server holds, as a stack trace dumping its context would), or be told exactly what
    to answer to some requests (``override``: malformed answers, other web servers'
    pages, trickled, endless or silent answers, gzip bombs), or have a capacity
    (``capacity``: a request arriving while that many are in flight is answered 429, as
    a server at its limit does; ``peak_in_flight`` says how many it ever served at
    once), or a fixed pool of workers (``workers``: at most that many requests are
    worked on at once, ``latency`` each, and the others wait their turn, so answers take
    longer the more are in flight, as on a busy server). With an ``ssl_context`` (a
    server-side context holding a certificate) it serves HTTPS instead. Every knob may
    be changed while it runs and applies from the next request on (``token_lifetime`` to
    tokens already issued, too).
    Seed it with ``add_*``/``load``; inspect it with ``snapshot()`` and ``requests``::

        with ZiggyEmulator() as ziggy:
            ziggy.add_flow("Orders", tags=["sales"])
            client = SomeClient(ziggy.base_url, ziggy.username, ziggy.password)
    """

    def __init__(
        self,
        username: str = "admin",
        password: str = "admin",  # noqa: S107 - a local test server's well-known default
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        token_lifetime: float | None = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
        return_secret_values: bool = True,
        leaky_errors: bool = False,
        name: str = "ziggy",
        ssl_context: ssl.SSLContext | None = None,
        capacity: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.name = name
        self.seed = seed
        self.latency = latency
        self.token_lifetime = token_lifetime
        self.leaky_errors = leaky_errors
        self._store = Store()
        self._store.return_secret_values = return_secret_values
        self._backend = _Backend(
            self._store, _TokenBook(), username, password, str(uuidlib.uuid4()), name
        )
        self._log = _RequestLog()
        self._overrides = _Overrides()
        self._dice: _FaultDice | None = None
        self.faults = faults
        self.ssl_context = ssl_context
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self.capacity = capacity
        self.workers = workers
        self._busy_workers = 0
        self._worker_free = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._peak_in_flight = 0
        self._flight_lock = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"<ZiggyEmulator {self.name!r} {self.base_url} {state}>"

    # ---- addresses

    @property
    def url(self) -> str:
        """Scheme and host without port, as Ziggy profiles store a server (``https`` when
        the emulator was given an ``ssl_context``)."""
        return f"{'https' if self.ssl_context is not None else 'http'}://{self.host}"

    @property
    def base_url(self) -> str:
        """``url:port``, without the ``/api`` suffix."""
        return f"{self.url}:{self.port}"

    # ---- knobs

    @property
    def faults(self) -> FaultPlan | None:
        return self._dice.plan if self._dice is not None else None

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        """A new plan restarts the generator from its seed, so the run from here replays."""
        if plan is None:
            self._dice = None
        else:
            self._dice = _FaultDice(plan, self.seed if plan.seed is None else plan.seed)

    def override(
        self, method: str, path: str, *answers: Answer | None, times: int | None = None
    ) -> None:
        """Answer requests for ``method`` (``"*"``: any) and ``path`` with ``answers``.

        ``path`` is matched segment by segment: ``*`` stands for one segment
        (``/api/flow/*`` is one flow, not the list), a final ``**`` for any rest
        (``/**``: every path). Matching requests take the answers in turn, starting
        again after the last; None lets the API answer that one itself. ``times``
        bounds how many requests the override answers in all (None: until
        :meth:`clear_overrides`). An earlier override wins over a later one; overrides
        come before the ``faults`` and before the token check.
        """
        self._overrides.add(method, path, answers, times)

    def clear_overrides(self) -> None:
        """Back to the API's own answers."""
        self._overrides.clear()

    @property
    def backup_status(self) -> str:
        return self._store.backup_status

    @backup_status.setter
    def backup_status(self, status: str) -> None:
        if status not in ("success", "failed"):
            raise ValueError("backup_status is 'success' or 'failed'")
        self._store.backup_status = status

    @property
    def return_secret_values(self) -> bool:
        return self._store.return_secret_values

    @return_secret_values.setter
    def return_secret_values(self, reveal: bool) -> None:
        self._store.return_secret_values = reveal

    # ---- lifecycle

    def start(self) -> ZiggyEmulator:
        """Bind and serve in a daemon thread. A restart keeps the port and the data."""
        with self._lifecycle:
            if self._server is not None:
                return self
            server = _HttpServer((self.host, self.port), self)
            if self.ssl_context is not None:
                # the handshake runs in each connection's handler thread, on first read
                server.socket = self.ssl_context.wrap_socket(
                    server.socket, server_side=True, do_handshake_on_connect=False
                )
            self.port = int(server.server_address[1])
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.name}-emulator-{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and cut open connections."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join(timeout=5)

    def __enter__(self) -> ZiggyEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- seeding

    def add_flow(
        self,
        name: str,
        *,
        uuid: str | None = None,
        tags: Sequence[str] = (),
        nodes: list[dict[str, Any]] | None = None,
        edges: list[dict[str, Any]] | None = None,
        viewport: dict[str, Any] | None = None,
        listener_type: str = "REST",
        is_subflow: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a flow as if it were in the database; ``extra`` are other Flow columns."""
        fields: dict[str, Any] = {
            "name": name,
            "tags": list(tags),
            "listenerType": listener_type,
            "isSubflow": is_subflow,
            **extra,
        }
        optional = {"uuid": uuid, "nodes": nodes, "edges": edges, "viewport": viewport}
        fields.update({key: value for key, value in optional.items() if value is not None})
        return self._store.seed(FLOW, fields)

    def add_connection(
        self,
        name: str,
        *,
        type: str = "Postgres",
        dev_value: str = "",
        prod_value: str = "",
        description: str = "",
        uuid: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a connection directly (the type is not checked, as old data may hold any)."""
        fields: dict[str, Any] = {
            "name": name,
            "type": type,
            "devValue": dev_value,
            "prodValue": prod_value,
            "description": description,
            **extra,
        }
        return self._store.seed(CONNECTION, _with_uuid(fields, uuid))

    def add_secret(
        self,
        name: str,
        *,
        dev_value: str | None = None,
        prod_value: str | None = None,
        description: str = "",
        type: str = "string",
        group: str = "",
        tags: Sequence[str] = (),
        uuid: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a secret directly (its name is not checked, so bad data can be staged)."""
        fields: dict[str, Any] = {
            "name": name,
            "devValue": dev_value,
            "prodValue": prod_value,
            "description": description,
            "type": type,
            "group": group,
            "tags": list(tags),
            **extra,
        }
        return self._store.seed(SECRET, _with_uuid(fields, uuid))

    def add_structure(
        self,
        name: str,
        *,
        value: str = "",
        description: str = "",
        tags: Sequence[str] = (),
        uuid: str | None = None,
    ) -> dict[str, Any]:
        fields = {"name": name, "value": value, "description": description, "tags": list(tags)}
        return self._store.seed(STRUCTURE, _with_uuid(fields, uuid))

    def add_variable(
        self, name: str, *, value: str = "", description: str = "", uuid: str | None = None
    ) -> dict[str, Any]:
        fields = {"name": name, "value": value, "description": description}
        return self._store.seed(VARIABLE, _with_uuid(fields, uuid))

    def add_schedule(
        self,
        name: str,
        *,
        flow_uuid: str,
        config: str = '{"cron": "0 2 * * *"}',
        is_paused: bool = False,
        execution_mode: str = "DEV",
        uuid: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a schedule of the flow ``flow_uuid`` directly (the flow is not checked)."""
        fields: dict[str, Any] = {
            "name": name,
            "flowUuid": flow_uuid,
            "config": config,
            "isPaused": is_paused,
            "executionMode": execution_mode,
            **extra,
        }
        return self._store.seed(SCHEDULE, _with_uuid(fields, uuid))

    def load(self, data: Mapping[str, Any]) -> None:
        """Seed ``{"flows": [...], "connections": [...], "secrets": [...], "structures": [...],
        "variables": [...], "schedules": [...]}`` of camelCase rows; missing columns get
        defaults, given uuids are kept (and replace a row with the same uuid)."""
        self._store.load(data)

    def load_file(self, path: str | os.PathLike[str]) -> None:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{os.fspath(path)}: a seed file holds a JSON object")
        self.load(data)

    @property
    def transfer_file(self) -> bytes | None:
        """The last database transfer file ``POST /api/system/transfer-db`` made, if any."""
        try:
            return self._store.transfer_file()
        except ApiError:
            return None

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the database, secret values included, soft-deleted rows left out.

        Keys: ``flows``, ``connections``, ``secrets``, ``structures``, ``variables``,
        ``schedules`` (each sorted by name then uuid), ``namedSaves`` and ``backups``
        (oldest first).
        """
        return self._store.snapshot()

    # ---- instrumentation

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered (or dropped) so far, in arrival order (a copy)."""
        return self._log.records()

    def request_count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """How many logged requests have this method and a path starting with this prefix."""
        return sum(
            1
            for record in self._log.records()
            if (method is None or record.method == method.upper())
            and (path_prefix is None or record.path.startswith(path_prefix))
        )

    def reset_requests(self) -> None:
        """Forget the requests logged so far, and the peak of requests in flight."""
        self._log.reset()
        with self._flight_lock:
            self._peak_in_flight = self._in_flight

    @property
    def in_flight(self) -> int:
        """Requests being served right now (from arrival, latency included, to the answer)."""
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests served at once since the start or :meth:`reset_requests`
        (requests turned away by ``capacity`` are not served, so not counted)."""
        return self._peak_in_flight

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (they still count as issued for refresh)."""
        self._backend.tokens.expire_all()

    def revoke_tokens(self) -> None:
        """Forget every token issued so far, as a server restart would: a client must log
        in again, because the refresh endpoint refuses tokens it does not know."""
        self._backend.tokens.forget_all()

    # ---- request processing (called by the handler threads)

    def _process(self, incoming: _Incoming) -> _Reply | None:
        """The capacity, latency, then the fault dice, then the API; logs the request
        either way.

        Returns the answer to send, or None when the connection must be dropped.
        """
        ticket = self._log.reserve()
        with self._flight_lock:
            capacity = self.capacity
            turned_away = capacity is not None and self._in_flight >= capacity
            if not turned_away:
                self._in_flight += 1
                self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        if turned_away:
            if self.latency > 0:  # the refusal travels as far as an answer
                time.sleep(self.latency)
            reply = _error(429, "ThrottlerException: Too Many Requests")
            self._log.fill(
                ticket,
                RecordedRequest(incoming.method, incoming.path, incoming.query, 429, "capacity"),
            )
            return reply
        try:
            with self._worker():
                return self._served(incoming, ticket)
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    @contextlib.contextmanager
    def _worker(self) -> Iterator[None]:
        """One of ``workers`` held while a request is worked on (waited for if all are
        busy); no wait without ``workers``."""
        with self._worker_free:
            while self.workers is not None and self._busy_workers >= self.workers:
                self._worker_free.wait()
            self._busy_workers += 1
        try:
            yield
        finally:
            with self._worker_free:
                self._busy_workers -= 1
                self._worker_free.notify()

    def _served(self, incoming: _Incoming, ticket: int) -> _Reply | None:
        if self.latency > 0:
            time.sleep(self.latency)
        answer = self._overrides.take(incoming.method, incoming.path)
        if answer is not None:
            scripted = self._answer(incoming, answer)
            self._log.fill(
                ticket,
                RecordedRequest(
                    incoming.method, incoming.path, incoming.query, scripted.status, "override"
                ),
            )
            return scripted
        dice = self._dice
        fault = dice.roll(incoming.method, incoming.path) if dice is not None else None
        reply, status = self._apply(incoming, fault, dice)
        if self.leaky_errors and reply is not None and reply.status >= 400:
            reply = self._leaky(reply, incoming)
        self._log.fill(
            ticket, RecordedRequest(incoming.method, incoming.path, incoming.query, status, fault)
        )
        return reply

    def _leaky(self, reply: _Reply, incoming: _Incoming) -> _Reply:
        """``reply`` with its message quoting the request and every stored secret value."""
        values = [
            value
            for row in self._store.snapshot()["secrets"]
            for value in (row.get("devValue"), row.get("prodValue"))
            if value
        ]
        try:
            payload = json.loads(reply.body) if reply.body else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        message = payload.get("message", "")
        message = "; ".join(message) if isinstance(message, list) else str(message)
        payload["message"] = (
            f"{message} while handling {incoming.method} {incoming.path} "
            f"{incoming.body.decode('utf-8', 'replace')} "
            f"(authorization {incoming.authorization}; secrets in scope: {', '.join(values)})"
        )
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return replace(reply, body=body, content_type=reply.content_type or "application/json")

    def _answer(self, incoming: _Incoming, answer: Answer) -> _Reply:
        """The reply for an :class:`Answer` (a rewrite runs the API first)."""
        if answer.expire_tokens:
            self._backend.tokens.expire_all()
        if answer.rewrite is not None:
            reply = _dispatch(self._backend, incoming, self.token_lifetime)
            if reply.status >= 300 or reply.content_type is None or not reply.body:
                return reply
            changed = answer.rewrite(json.loads(reply.body))
            body = json.dumps(changed, ensure_ascii=False, separators=(",", ":"))
            return replace(reply, body=body.encode("utf-8"))
        return _Reply(
            answer.status,
            answer.body,
            answer.content_type,
            answer.headers,
            trickle=answer.trickle,
            endless=answer.endless,
            silent=answer.silent,
        )

    def _apply(
        self, incoming: _Incoming, fault: str | None, dice: _FaultDice | None
    ) -> tuple[_Reply | None, int]:
        """The answer (None: drop the connection) and the status to log for it."""
        if fault == "drop_before":
            return None, 0
        if fault in ("429", "500", "503") and dice is not None:
            reply = _fault_reply(fault, dice.plan.retry_after)
            return reply, reply.status
        reply = _dispatch(self._backend, incoming, self.token_lifetime)
        if fault == "drop_after" or (fault == "cut_short" and not reply.body):
            return None, reply.status
        if fault == "cut_short":
            return replace(reply, cut_short=True), reply.status
        return reply, reply.status


def _with_uuid(fields: dict[str, Any], uuid: str | None) -> dict[str, Any]:
    return fields if uuid is None else {**fields, "uuid": uuid}


__all__ = ["Answer", "FaultPlan", "RecordedRequest", "ZiggyEmulator"]
