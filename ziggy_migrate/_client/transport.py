"""The HTTP transport under :class:`~ziggy_migrate.client.ZiggyClient`.

It owns the connection pool (a requests ``HTTPAdapter``) and everything a single call
needs to be safe against a production server over a flaky network, or against a server
that is broken or not a Ziggy server at all: logging in, the bearer token and its renewal
whenever the server refuses it, a total deadline on every attempt (``deadline.py``), a
bound on every answer's size, bounded retries with backoff and jitter for requests that
are safe to repeat (each one logged as a warning and offered to an ``on_retry`` hook), the
mapping of failures to the exception tree in ``errors.py``, and the redaction of every
secret the session knows from any server text it shows.

What is *not* safe to repeat (a create) is never retried here: the caller gets
:class:`AmbiguousWriteError` and decides, usually by looking the item up first.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import attrs
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as _TLSError

from .._version import __version__
from .._vocabulary.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    NotZiggyServerError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    ZiggyError,
)
from .._vocabulary.fast_json import NonFiniteNumber, dumps_body, parse_answer
from .._vocabulary.files import describe_size
from .._vocabulary.redact import SensitiveValues
from .concurrency import ConcurrencyLimit, Outcome, outcome_of
from .deadline import WAKES_BLOCKED_IO, Deadlines, watch_connections
from .shapes import malformed

__all__ = [
    "DEFAULT_MAX_ANSWER_BYTES",
    "AmbiguousWriteError",
    "RetryCallback",
    "RetryEvent",
    "RetryPolicy",
    "Transport",
    "quote_segment",
]

logger = logging.getLogger("ziggy_migrate.http")

SOLO_TENANT = "##solo##"
DEFAULT_MAX_ANSWER_BYTES = 128 * 1024 * 1024
"""The largest answer a client reads (after decompression): far above any flow or list."""

_USER_AGENT = f"ziggy-migrate/{__version__} python-requests/{requests.__version__}"
_LOGIN = "/api/auth/login"
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What only another web server answers for a path a Ziggy API serves, when not JSON.
_NOT_ZIGGY_STATUS = frozenset({404, 405, 501, 505})
_READ_CHUNK = 64 * 1024
# A path our callers built from quoted segments: prepare_url would leave it as it is.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*\Z")
# An answer that stopped before its end (a dropped connection, a broken encoding).
_CUT_SHORT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
# What means the exchange failed on the way: the server may or may not have acted.
_BROKEN_EXCHANGE = (requests.ConnectionError, requests.Timeout, *_CUT_SHORT)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


class AmbiguousWriteError(ServerUnreachableError):
    """A non-idempotent request may or may not have been applied by the server.

    Raised instead of retrying a create blindly: the connection dropped or timed out after
    the request was sent, or the server answered 5xx. The caller should look the item up
    before trying again, so that nothing is created twice. ``timed_out`` says the server
    gave no whole answer within the timeout (rather than failing or dropping).
    """

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@attrs.frozen
class RetryPolicy:
    """How hard to try before giving up on a request that is safe to repeat.

    ``attempts`` counts the first try. The pause before retry *n* is
    ``min(max_backoff, backoff * 2**(n-1))`` scaled by a random jitter in [0.5, 1], or the
    server's ``Retry-After`` when it sends one (capped by ``max_backoff``). No retry starts
    once ``total`` seconds have passed since the first try. An attempt that got no whole
    answer within the client's timeout is not retried: the timeout is how long the caller
    is willing to wait, and asking a stalled server again would multiply it.
    """

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 8.0
    total: float = 60.0

    def pause(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        if retry_after is not None:
            return min(self.max_backoff, max(0.0, retry_after))
        base: float = min(self.max_backoff, self.backoff * 2.0 ** (retry_number - 1))
        return base * rng.uniform(0.5, 1.0)


@attrs.frozen
class RetryEvent:
    """One retry about to happen, as given to a client's ``on_retry`` hook.

    ``reason`` is the status answered (``"503"``) or what went wrong on the way;
    ``attempt`` is the attempt about to start (2 for the first retry) out of
    ``attempts``; ``pause`` the seconds waited first. ``str()`` is the line logged.
    """

    method: str
    path: str
    reason: str
    attempt: int
    attempts: int
    pause: float

    def __str__(self) -> str:
        return (
            f"retrying {self.method} {self.path}: {self.reason}, "
            f"attempt {self.attempt} of {self.attempts}"
        )


RetryCallback = Callable[[RetryEvent], None]
"""Called with each :class:`RetryEvent` before the pause (from the thread retrying)."""


@attrs.frozen
class _Answer:
    """An answer read whole: status, headers and the body (decompressed)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()


def quote_segment(value: str) -> str:
    """Encode one path segment (a flow name may hold spaces or slashes)."""
    return urllib.parse.quote(value, safe="")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _ServerAdapter(HTTPAdapter):
    """requests' transport adapter for the one server of a :class:`Transport`.

    For every call the stock adapter works out the connection pool from the URL and the
    TLS settings, whether a proxy applies, and reads the answer's cookies into a jar. Here
    the server, the proxies and the TLS settings are fixed for the session, so the pool is
    looked up once per TLS setting and the proxy decision is made once; cookies are never
    read, since the token comes in the login answer's body and every call sends its own.
    That is CPU saved on every request, which at many requests in flight is time other
    requests would wait for the GIL (``benchmarks/README.md`` has the figures).
    Subclassing the adapter is the extension point requests documents for this; a URL
    outside the server (there is none today) takes the stock path. The pools it hands out
    make connections that attach to their attempt's deadline (``deadline.py``).
    """

    def __init__(self, base_url: str, proxies: Mapping[str, str], pool_size: int) -> None:
        super().__init__(pool_connections=1, pool_maxsize=max(1, pool_size))
        self._prefix = base_url + "/"
        self._direct = requests.utils.select_proxy(base_url, dict(proxies)) is None
        self._pools: dict[tuple[object, object], Any] = {}

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> Any:
        if not (request.url or "").startswith(self._prefix):
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        key = (verify, cert)
        pool = self._pools.get(key)
        if pool is None:  # two threads may both look it up: urllib3 answers the same pool
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            watch_connections(pool)
            self._pools[key] = pool
        return pool

    def request_url(
        self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None
    ) -> str:
        if self._direct and (request.url or "").startswith(self._prefix):
            return request.path_url
        return str(super().request_url(request, proxies))

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        # urllib3's headers are case-insensitive already, and the transport reads the
        # body from ``raw`` itself as bytes: no copy of the headers, no text encoding
        response = requests.Response()
        response.status_code = resp.status
        response.headers = resp.headers
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url or ""
        response.request = req
        response.connection = self
        return response

    def close(self) -> None:
        self._pools.clear()
        super().close()


class Transport:
    """One authenticated session with one Ziggy server.

    Requests go straight to requests' transport adapter (:class:`_ServerAdapter`), not
    through ``Session.request``. The session layer's cookie jars, hooks, redirect handling
    and per-call environment lookups are all unused here, and their CPU per call is a
    real share of a request's at many requests in flight (see ``benchmarks/README.md``).
    What the environment says (proxy variables, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``)
    is read once, here; netrc is never used, since every call carries its own token.
    Redirects are refused with an error rather than followed, so the token (sent in a
    header and a cookie) never goes to another address.

    An answer is read whole inside the attempt that asked for it, so one cut short by a
    dropped connection is retried (or, for a create, reported as ambiguous) like a
    connection dropped before the answer began. Every attempt, from connecting to the
    answer's last byte, ends within the timeout (its read part, for a (connect, read)
    pair), and no answer is read past ``max_answer_bytes``.

    A refused token is renewed and the request sent again, as often as the server keeps
    tokens shorter than a retry sequence, but never twice in a row (a token refused as
    soon as it was made means the server refuses us), so renewals are bounded by the
    retries between them. A login that fails is
    shared: the threads that were waiting for it get its error instead of trying again
    one after another.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float | tuple[float, float],
        verify: bool | str,
        retry: RetryPolicy,
        pool_size: int,
        tenant_id: str = SOLO_TENANT,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        on_retry: RetryCallback | None = None,
        concurrency: ConcurrencyLimit | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._deadline = float(timeout if isinstance(timeout, (int, float)) else timeout[1])
        self._timeout = _socket_timeouts(timeout, self._deadline)
        self._max_answer_bytes = max_answer_bytes
        self._on_retry = on_retry
        self.retry = retry
        self._tenant_id = tenant_id
        self._token: str | None = None
        self._user_uuid: str | None = None
        self._auth_lock = threading.Lock()
        self._logins_done = 0  # login attempts finished, for sharing a failure
        self._login_failure: tuple[int, ZiggyError] | None = None
        self._stats_lock = threading.Lock()
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self._sensitive = SensitiveValues((password,))
        self._deadlines = Deadlines()
        self.concurrency = concurrency or ConcurrencyLimit(fixed=pool_size, name=self.base_url)
        self.retries = 0
        self.requests_sent = 0
        self._proxies = requests.utils.get_environ_proxies(self.base_url)
        base = requests.PreparedRequest()
        base.prepare_url(self.base_url, None)  # the host lowercased, IDNA-encoded...
        self._prepared_base = (base.url or self.base_url).rstrip("/")
        self._adapter = _ServerAdapter(self._prepared_base, self._proxies, pool_size)
        # requests checks a CA bundle path on disk for every call, even over plain HTTP
        https = urllib.parse.urlsplit(self.base_url).scheme.lower() == "https"
        self._tls_verify = _verify_setting(verify) if https else True
        self._warn_about_transport(verify)

    def _warn_about_transport(self, verify: bool | str) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if verify is False:
            logger.warning(
                "TLS certificate verification is OFF for %s: anyone on the network path "
                "can read or change this session's traffic.",
                self.base_url,
            )
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname or ""):
            logger.warning(
                "Credentials for %s will be sent over plain HTTP; use https:// for a "
                "server that is not on this machine.",
                self.base_url,
            )

    # -- what must never be shown ------------------------------------------------------

    def keep_secret(self, *values: str | None) -> None:
        """Values (secret values sent or read) to mask in any server text shown later."""
        self._sensitive.add(values)

    def redact(self, text: str) -> str:
        """``text`` with the password, every token and every known secret value masked."""
        return self._sensitive.redact(text)

    # -- authentication ---------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def login(self) -> None:
        """Log in and keep the token; raises AuthenticationError on bad credentials."""
        with self._auth_lock:
            self._login_locked()

    def _login_locked(self) -> None:
        try:
            token = self._log_in()
        except ZiggyError as exc:
            self._logins_done += 1
            self._login_failure = (self._logins_done, exc)
            raise
        self._logins_done += 1
        self._login_failure = None
        self._token = token
        logger.debug("logged in to %s as %s", self.base_url, self._username)

    def _raise_login_failure_since(self, logins_seen: int) -> None:
        """Re-raise the error of a login that failed while this thread waited for it."""
        failure = self._login_failure
        if failure is not None and failure[0] > logins_seen:
            raise failure[1]

    def _log_in(self) -> str:
        answer = self._send_with_retries(
            "POST",
            _LOGIN,
            json_body={"username": self._username, "password": self._password},
            authenticated=False,
            retry_writes=True,  # logging in twice is harmless
        )
        where = f"POST {_LOGIN}"
        is_json, body = self._parse(answer, where)
        status = answer.status
        if 200 <= status < 300 and isinstance(body, dict):
            token = body.get("token")
            if isinstance(token, str) and token:
                self._sensitive.add((token,))
                uuid = body.get("uuid")
                self._user_uuid = str(uuid) if uuid else None
                return token
            return self._refused_login(answer, body.get("errorMessage"))
        if status == 429 or (status >= 500 and status not in _NOT_ZIGGY_STATUS):
            raise self._error_for("POST", _LOGIN, answer, body if is_json else None)
        if status in _NOT_ZIGGY_STATUS or not is_json:
            raise self._not_ziggy(where, answer, is_json)
        if 400 <= status < 500:
            return self._refused_login(answer, _server_message(body))
        raise self._not_ziggy(where, answer, is_json)

    def _refused_login(self, answer: _Answer, detail: Any) -> NoReturn:
        said = f" (the server says: {self.redact(str(detail))})" if detail else ""
        raise AuthenticationError(
            f"Login to {self.base_url} as {self._username!r} failed{said}: check the user "
            "name and password.",
            response_code=answer.status if answer.status >= 400 else 401,
            response_body=self.redact(answer.text),
        )

    def _renew(self, stale_token: str | None) -> None:
        """Renew a refused token, unless another thread already did.

        The refresh endpoint is tried first (it needs no password on the wire); when it
        refuses, the client logs in again.
        """
        logins_seen = self._logins_done
        with self._auth_lock:
            if self._token is not None and self._token != stale_token:
                return
            self._raise_login_failure_since(logins_seen)
            logger.info("token refused by %s; renewing it", self.base_url)
            if stale_token and self._refresh_locked(stale_token):
                return
            self._token = None
            self._login_locked()

    def _refresh_locked(self, stale_token: str) -> bool:
        body = {"token": stale_token, "userId": self._user_uuid or "", "provider": "email"}
        body["tenantId"] = self._tenant_id
        try:
            answer = self._send_with_retries(
                "POST",
                "/api/auth/refresh-token",
                json_body=body,
                authenticated=False,
                retry_writes=True,  # a refresh repeated is harmless
            )
            _, parsed = self._parse(answer, "POST /api/auth/refresh-token")
        except (ServerUnreachableError, ServerResponseError):
            return False
        token = parsed.get("accessToken") if isinstance(parsed, dict) else None
        if answer.status >= 300 or not isinstance(token, str) or not token:
            return False
        self._sensitive.add((token,))
        self._token = token
        return True

    def _ensure_token(self) -> str:
        token = self._token
        if token is not None:
            return token
        logins_seen = self._logins_done
        with self._auth_lock:
            if self._token is None:
                self._raise_login_failure_since(logins_seen)
                self._login_locked()
            token = self._token
        assert token is not None
        return token

    # -- requests ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        retry_writes: bool = False,
        not_found_ok: bool = False,
        raw: bool = False,
        text_ok: bool = False,
    ) -> Any:
        """Send an authenticated request and return the parsed JSON answer (or None).

        ``retry_writes`` allows retrying a non-idempotent method (for writes known to be
        harmless when repeated). ``not_found_ok`` turns a 404 into a None answer. ``raw``
        returns a successful answer's bytes as they are (a download), not parsed.
        ``text_ok`` accepts an answer that is not JSON (returned as text); otherwise such
        an answer means the server is not a Ziggy API.
        """
        answer = self._send_with_retries(
            method,
            path,
            params=params,
            json_body=json_body,
            authenticated=True,
            retry_writes=retry_writes,
        )
        where = f"{method} {path}"
        if raw and 200 <= answer.status < 300:
            return answer.body
        is_json, body = self._parse(answer, where)
        status = answer.status
        if status in _NOT_ZIGGY_STATUS and not is_json:
            raise self._not_ziggy(where, answer, is_json)
        if status == 404 and not_found_ok:
            return None
        if status >= 400:
            raise self._error_for(method, path, answer, body if is_json else None)
        if not is_json and not text_ok:
            raise self._not_ziggy(where, answer, is_json)
        return body

    def _send_with_retries(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        authenticated: bool,
        retry_writes: bool,
    ) -> _Answer:
        """The answer to one request, retried as the policy allows.

        An ``authenticated`` request carries the session's token, renewed whenever the
        server refuses it (a 401 is answered before anything is applied, so a create may
        be sent again too).
        """
        repeatable = method in IDEMPOTENT_METHODS or retry_writes
        body = None if json_body is None else _encoded(json_body)  # once for every attempt
        started = time.monotonic()
        failures = 0
        just_renewed = False
        while True:
            sent_token = self._ensure_token() if authenticated else None
            try:
                answer = self._send_once(method, path, params, body, sent_token)
            except requests.exceptions.SSLError as exc:
                # not transient, and nothing was sent: retrying or "cannot reach" would
                # send the operator looking in the wrong place
                raise ServerUnreachableError(_tls_failure(self.base_url, exc)) from None
            except _BROKEN_EXCHANGE as exc:
                if not repeatable:
                    raise AmbiguousWriteError(
                        f"{method} {path}: {self._describe(exc)}; the server may or may not "
                        "have applied it.",
                        timed_out=isinstance(exc, requests.Timeout),
                    ) from None
                failures += 1
                if isinstance(exc, requests.Timeout) or not self._may_retry(failures, started):
                    raise self._unreachable(method, path, exc) from None
                self._wait(failures, None, method, path, self._describe(exc))
                continue
            if authenticated and answer.status == 401:
                if just_renewed:  # refused as soon as it was made: the server refuses us
                    return answer
                self._renew(sent_token)
                just_renewed = True  # so renewals are bounded by the failures between them
                continue
            just_renewed = False
            if answer.status not in _RETRYABLE_STATUS:
                return answer
            if not repeatable and answer.status != 429:
                raise AmbiguousWriteError(
                    f"{method} {path}: the server answered {answer.status}; it may "
                    "or may not have applied the request."
                )
            failures += 1
            if not self._may_retry(failures, started):
                return answer
            self._wait(failures, _retry_after_seconds(answer), method, path, str(answer.status))

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        token: str | None,
    ) -> _Answer:
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": _USER_AGENT,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
            headers["Cookie"] = f"tenantId={self._tenant_id}; provider=email; accessToken={token}"
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        if params is None and _PLAIN_PATH.match(path):
            prepared.url = self._prepared_base + path  # what prepare_url would make of it
        else:
            prepared.prepare_url(self.base_url + path, params)
        prepared.prepare_headers(headers)
        prepared.prepare_body(data=body, files=None)
        prepared.prepare_hooks(None)
        ticket = self.concurrency.acquire(_kind_of(method, path))
        outcome = Outcome.FAILED
        started = time.monotonic()
        with self._stats_lock:
            self.requests_sent += 1
        try:
            with self._deadlines.watching(self._deadline) as watch:
                try:
                    response = self._adapter.send(
                        prepared,
                        timeout=self._timeout,
                        verify=self._tls_verify,
                        proxies=self._proxies,
                    )
                    answer = self._read(response, method, path)
                except ZiggyError:
                    raise
                except Exception as exc:
                    if watch.expired:  # the deadline cut the connection: a timeout, not a drop
                        outcome = Outcome.OVERLOADED
                        raise requests.exceptions.ReadTimeout(
                            f"no whole answer within {self._deadline:g} s"
                        ) from None
                    # requests reports a read that timed out halfway as a connection error
                    if (
                        isinstance(exc, requests.ConnectionError)
                        and exc.args
                        and isinstance(exc.args[0], ReadTimeoutError)
                    ):
                        outcome = Outcome.OVERLOADED
                        raise requests.exceptions.ReadTimeout(str(exc.args[0])) from None
                    if isinstance(exc, requests.Timeout):
                        outcome = Outcome.OVERLOADED
                    raise
            outcome = outcome_of(answer.status)
        finally:
            self.concurrency.release(ticket, outcome)
        logger.debug(
            "%s %s -> %s in %.0f ms",
            method,
            path,
            answer.status,
            (time.monotonic() - started) * 1000,
        )
        if 300 <= answer.status < 400:
            self._refuse_redirect(method, path, answer)
        return answer

    def _read(self, response: requests.Response, method: str, path: str) -> _Answer:
        """The whole answer, read here (where a broken-off answer is retried), never past
        ``max_answer_bytes`` however it is compressed."""
        limit = self._max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise self._too_large(method, path, response.status_code)
        raw = response.raw
        # urllib3's failures as requests reports them (what ``iter_content`` does)
        try:
            if declared.isdigit() and "Content-Encoding" not in response.headers:
                # the length is known and within the limit, and nothing is inflated
                body = raw.read()
            else:
                body = self._read_chunks(response, method, path)
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except ReadTimeoutError as exc:
            raise requests.ConnectionError(exc) from exc
        except _TLSError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        return _Answer(response.status_code, response.headers, body)

    def _read_chunks(self, response: requests.Response, method: str, path: str) -> bytes:
        """An answer of unknown length or compressed, inflated a chunk at a time and
        never past ``max_answer_bytes``."""
        limit = self._max_answer_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in response.raw.stream(_READ_CHUNK, decode_content=True):
            size += len(chunk)
            if size > limit:
                response.close()
                raise self._too_large(method, path, response.status_code)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self, method: str, path: str, status: int) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"{method} {path}: {self.base_url} answered more than "
            f"{describe_size(self._max_answer_bytes)}, where no Ziggy answer comes near it; check "
            "the server, or raise the client's max_answer_bytes if the answer is real.",
            response_code=status,
        )

    def _refuse_redirect(self, method: str, path: str, answer: _Answer) -> None:
        location = answer.headers.get("Location")
        if answer.status in _REDIRECTS and location:
            raise ServerResponseError(
                f"{method} {path}: {self.base_url} redirects to {self.redact(location)}; use "
                "that address as the server URL (redirects are not followed, so the token "
                "goes nowhere else).",
                response_code=answer.status,
            )
        raise self._not_ziggy(f"{method} {path}", answer, is_json=False)

    def _may_retry(self, failures: int, started: float) -> bool:
        return failures < self.retry.attempts and time.monotonic() - started < self.retry.total

    def report_retry(
        self, method: str, path: str, reason: str, attempt: int, attempts: int
    ) -> None:
        """Count, log and offer to the hook a retry decided above the transport (a create
        tried again after looking it up)."""
        with self._stats_lock:
            self.retries += 1
        self._announce(RetryEvent(method, path, reason, attempt, attempts, 0.0))

    def _wait(
        self, failures: int, retry_after: float | None, method: str, path: str, reason: str
    ) -> None:
        with self._stats_lock:
            self.retries += 1
            pause = self.retry.pause(failures, retry_after, self._rng)
        self._announce(RetryEvent(method, path, reason, failures + 1, self.retry.attempts, pause))
        time.sleep(pause)

    def _announce(self, event: RetryEvent) -> None:
        logger.warning("%s (in %.2f s)", event, event.pause)
        if self._on_retry is not None:
            self._on_retry(event)

    # -- answers and errors ----------------------------------------------------------------

    def _parse(self, answer: _Answer, where: str) -> tuple[bool, Any]:
        """(is JSON, value): the parsed JSON (None for no body), or the text if it is not
        JSON."""
        if not answer.body:
            return True, None
        try:
            return True, parse_answer(answer.body)  # bytes: UTF-8 (or -16/-32), RFC 8259
        except NonFiniteNumber as exc:
            raise malformed(where, self.base_url, "", f"holds {exc.what}", answer.status) from None
        except RecursionError:
            raise malformed(
                where,
                self.base_url,
                "",
                "nests deeper than JSON can be read here",
                answer.status,
            ) from None
        except ValueError:
            return False, answer.text

    def _not_ziggy(self, where: str, answer: _Answer, is_json: bool) -> NotZiggyServerError:
        status = answer.status
        if 300 <= status < 400 and not answer.headers.get("Location"):
            what = f"{status} without a Location to go to"
        elif not answer.body:
            what = f"{status} with no body"
        elif not is_json:
            kind = answer.content_type or "no content type"
            what = f"{status} with {kind}, not JSON ({_glimpse(answer.text, self.redact)})"
        else:
            what = f"{status} ({_glimpse(answer.text, self.redact)})"
        return NotZiggyServerError(
            f"This is not a Ziggy API at {self.base_url}: {where} answered {what}; check the "
            "URL and the port.",
            response_code=status,
            response_body=self.redact(answer.text),
        )

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, requests.Timeout):
            return "no answer within the timeout"
        if isinstance(exc, _CUT_SHORT):
            return "the answer was cut short"
        return "the connection failed or was dropped"

    def _unreachable(self, method: str, path: str, exc: Exception) -> ZiggyError:
        if isinstance(exc, requests.Timeout):
            return RequestTimeoutError(
                f"{self.base_url} did not answer {method} {path} in time; check the server "
                "or raise the timeout."
            )
        if isinstance(exc, _CUT_SHORT):
            return ServerUnreachableError(
                f"{self.base_url} kept breaking off its answer to {method} {path}; check the "
                "server's logs and any proxy or load balancer on the way."
            )
        return ServerUnreachableError(
            f"Cannot reach {self.base_url} ({method} {path}): check the URL, the port and "
            "that the server is running."
        )

    def _error_for(self, method: str, path: str, answer: _Answer, parsed: Any) -> ZiggyError:
        status = answer.status
        body = self.redact(answer.text)
        detail = self.redact(_server_message(parsed))
        where = f"{method} {path}"
        kwargs: dict[str, Any] = {"response_code": status, "response_body": body}
        if status in (401, 403):
            return AuthenticationError(
                f"{where}: the server refused our credentials ({status}); check the user "
                "name and password.",
                **kwargs,
            )
        if status == 404:
            return NotFoundError(f"{where}: not found on {self.base_url}.", **kwargs)
        if status == 429:
            return RateLimitedError(
                f"{where}: the server kept answering 429 Too Many Requests; try again later "
                "or lower the concurrency.",
                **kwargs,
            )
        if status >= 500:
            return ServerError(
                f"{where}: the server failed with {status} after retries"
                + (f" ({detail})" if detail else "")
                + ".",
                **kwargs,
            )
        if status in (400, 409, 422):
            return BadRequestError(
                f"{where}: the server refused the request ({status})"
                + (f": {detail}" if detail else "."),
                **kwargs,
            )
        return ServerResponseError(f"{where}: unexpected HTTP {status}.", **kwargs)

    def close(self) -> None:
        self._adapter.close()
        self._deadlines.close()


def _encoded(json_body: Any) -> bytes:
    """A request's JSON body, encoded (see ``dumps_body``); NaN or an infinity fails as
    requests would fail it."""
    try:
        return dumps_body(json_body)
    except ValueError as exc:
        raise requests.exceptions.InvalidJSONError(exc) from None


def _socket_timeouts(
    timeout: float | tuple[float, float], deadline: float
) -> tuple[float, float] | tuple[float, None]:
    """The (connect, read) timeouts urllib3 gives its sockets.

    The attempt's deadline (``deadline.py``) ends every read on time, and comes first: it
    counts from the attempt's start, a socket's read timeout from each read's. So where it
    wakes a blocked read (:data:`deadline.WAKES_BLOCKED_IO`, which says why that is
    cheaper), reads wait on the socket alone. Connecting keeps its timeout everywhere: a
    connection not yet made has no socket to shut down.
    """
    connect = float(timeout if isinstance(timeout, (int, float)) else timeout[0])
    if WAKES_BLOCKED_IO:
        return (connect, None)
    return (connect, deadline)


def _kind_of(method: str, path: str) -> str:
    """What sort of request this is, for comparing answer times: the method, the first
    two path segments and how many there are (a list and one of its items differ)."""
    head = "/".join(path.split("/", 3)[:3])
    return f"{method} {head} {path.count('/')}"


def _glimpse(text: str, redact: Callable[[str], str]) -> str:
    """A page's title, or its first words: enough to recognise what answered."""
    found = _TITLE.search(text)
    words = " ".join(_TAG.sub(" ", found.group(1) if found else text[:2000]).split())
    shown = redact(words)
    return repr(shown if len(shown) <= 80 else shown[:77] + "...")


def _tls_failure(base_url: str, exc: Exception) -> str:
    """One line for a failed TLS handshake, with what to do about it."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        found = re.search(r"certificate verify failed: ([^(')]+)", text)
        reason = found.group(1).strip() if found else "the certificate is not trusted"
        return (
            f"TLS verification of {base_url} failed ({reason}): if the server uses a "
            "private certificate authority, give its CA bundle (verify=PATH, or "
            "--ca-bundle on the command line)."
        )
    return (
        f"The TLS handshake with {base_url} failed: check that the port serves HTTPS, or "
        "use http:// for a server without TLS."
    )


def _verify_setting(verify: bool | str) -> bool | str:
    """``verify`` as requests takes it, with the CA bundle variables requests honours."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def _retry_after_seconds(answer: _Answer) -> float | None:
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _server_message(parsed: Any) -> str:
    if isinstance(parsed, dict):
        message = parsed.get("message")
        if isinstance(message, list):
            return "; ".join(str(part) for part in message)
        if message is not None:
            return str(message)
    return ""
