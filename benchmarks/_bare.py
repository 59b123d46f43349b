"""The bare-fetch baseline: the export's GETs and nothing else, for side-by-side ratios.

A minimal thread pool of ``concurrency`` workers sends the same GET requests an export
sends (the five lists and one ``GET /api/flow/{uuid}`` per flow) and parses each answer
with ``json.loads``: no checks, no models, no retries, no deadline, no reference walk, no
encoding, no file. Two flavours:

- ``requests``: a plain ``requests.Session`` (its ``HTTPAdapter`` pool sized to the
  workers), ``session.get`` and ``json.loads(response.content)``;
- ``http.client``: one ``http.client.HTTPConnection`` per worker thread, kept alive.

What the library costs beyond this is what its guarantees and its work on each flow
cost; the transport's own floor is somewhere between the two flavours.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

__all__ = ["FLAVOURS", "export_paths", "fetch"]

FLAVOURS = ("requests", "http.client")
_LISTS = ("/api/flow", "/api/connection", "/api/secret", "/api/structure", "/api/variable")
_TIMEOUT = 60.0


def export_paths(flow_uuids: Sequence[str]) -> list[str]:
    """The paths an export of these flows GETs, lists first."""
    return [*_LISTS, *(f"/api/flow/{uuid}" for uuid in flow_uuids)]


def _token(base_url: str, username: str, password: str) -> str:
    answer = requests.post(
        f"{base_url}/api/auth/login",
        json={"username": username, "password": password},
        timeout=_TIMEOUT,
    )
    answer.raise_for_status()
    token = answer.json()["token"]
    assert isinstance(token, str)
    return token


def fetch(
    flavour: str,
    base_url: str,
    credentials: tuple[str, str],
    paths: Sequence[str],
    concurrency: int,
    *,
    measured: Callable[[Callable[[], None]], None],
) -> int:
    """GET every path with ``concurrency`` workers; ``measured(work)`` runs the fetching
    part (logging in and opening the pool are not measured). Returns the bytes read."""
    token = _token(base_url, *credentials)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if flavour == "requests":
        return _with_session(base_url, headers, paths, concurrency, measured)
    if flavour == "http.client":
        return _with_http_client(base_url, headers, paths, concurrency, measured)
    raise ValueError(f"unknown flavour {flavour!r}; choose from {', '.join(FLAVOURS)}")


def _with_session(
    base_url: str,
    headers: dict[str, str],
    paths: Sequence[str],
    concurrency: int,
    measured: Callable[[Callable[[], None]], None],
) -> int:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(headers)
    total = [0]
    lock = threading.Lock()

    def get(path: str) -> None:
        response = session.get(base_url + path, timeout=_TIMEOUT)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        json.loads(response.content)
        with lock:
            total[0] += len(response.content)

    def work() -> None:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for _ in pool.map(get, paths):
                pass

    try:
        measured(work)
    finally:
        session.close()
    return total[0]


def _with_http_client(
    base_url: str,
    headers: dict[str, str],
    paths: Sequence[str],
    concurrency: int,
    measured: Callable[[Callable[[], None]], None],
) -> int:
    parts = urllib.parse.urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    local = threading.local()
    opened: list[http.client.HTTPConnection] = []
    lock = threading.Lock()
    total = [0]

    def get(path: str) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(host, port, timeout=_TIMEOUT)
            local.connection = connection
            with lock:
                opened.append(connection)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        json.loads(body)
        with lock:
            total[0] += len(body)

    def work() -> None:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for _ in pool.map(get, paths):
                pass

    try:
        measured(work)
    finally:
        for connection in opened:
            connection.close()
    return total[0]
