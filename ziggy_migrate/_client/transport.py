"""The HTTP transport under :class:`~ziggy_migrate.client.ZiggyClient`.

It owns the connection pool (a requests ``HTTPAdapter``) and everything a single call
needs to be safe against a production server over a flaky network: logging in, the
bearer token, renewal on 401, a timeout on every request, bounded retries with backoff
and jitter for requests that are safe to repeat, and the mapping of failures to the
exception tree in ``errors.py``.

What is *not* safe to repeat (a create) is never retried here: the caller gets
:class:`AmbiguousWriteError` and decides, usually by looking the item up first.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ReadTimeoutError

from .._version import __version__
from .._vocabulary.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    ZiggyError,
)
from .._vocabulary.redact import redact

__all__ = ["AmbiguousWriteError", "RetryPolicy", "Transport", "quote_segment"]

logger = logging.getLogger("ziggy_migrate.http")

SOLO_TENANT = "##solo##"
_USER_AGENT = f"ziggy-migrate/{__version__} python-requests/{requests.__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# A path our callers built from quoted segments: prepare_url would leave it as it is.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*\Z")
# An answer that stopped before its end (a dropped connection, a broken encoding).
_CUT_SHORT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
# What means the exchange failed on the way: the server may or may not have acted.
_BROKEN_EXCHANGE = (requests.ConnectionError, requests.Timeout, *_CUT_SHORT)


class AmbiguousWriteError(ServerUnreachableError):
    """A non-idempotent request may or may not have been applied by the server.

    Raised instead of retrying a create blindly: the connection dropped or timed out after
    the request was sent, or the server answered 5xx. The caller should look the item up
    before trying again, so that nothing is created twice.
    """


@attrs.frozen
class RetryPolicy:
    """How hard to try before giving up on a request that is safe to repeat.

    ``attempts`` counts the first try. The pause before retry *n* is
    ``min(max_backoff, backoff * 2**(n-1))`` scaled by a random jitter in [0.5, 1], or the
    server's ``Retry-After`` when it sends one (capped by ``max_backoff``). No retry starts
    once ``total`` seconds have passed since the first try.
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
    That is 0.03-0.05 ms of the 0.38 ms a request (its answer parsed) costs the client
    in one thread; at 16 requests in flight it is time other requests wait for the GIL.
    Subclassing the adapter is the extension point requests documents for this; a URL
    outside the server (there is none today) takes the stock path.
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
            self._pools[key] = pool
        return pool

    def request_url(
        self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None
    ) -> str:
        if self._direct and (request.url or "").startswith(self._prefix):
            return request.path_url
        return str(super().request_url(request, proxies))

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
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
    and per-call environment lookups are all unused here and cost about 0.25 ms of CPU per
    call, a sixth of the time a request may take at 16 in flight and 25 ms round trips.
    What the environment says (proxy variables, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``)
    is read once, here; netrc is never used, since every call carries its own token.
    Redirects are refused with an error rather than followed, so the token (sent in a
    header and a cookie) never goes to another address.

    An answer is read whole inside the attempt that asked for it, so one cut short by a
    dropped connection is retried (or, for a create, reported as ambiguous) like a
    connection dropped before the answer began.
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._timeout = timeout
        self.retry = retry
        self._tenant_id = tenant_id
        self._token: str | None = None
        self._user_uuid: str | None = None
        self._auth_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography
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

    # -- authentication ---------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def login(self) -> None:
        """Log in and keep the token; raises AuthenticationError on bad credentials."""
        with self._auth_lock:
            self._login_locked()

    def _login_locked(self) -> None:
        response = self._send_with_retries(
            "POST",
            "/api/auth/login",
            json_body={"username": self._username, "password": self._password},
            authenticated=False,
            retry_writes=True,  # logging in twice is harmless
        )
        body = self._json(response)
        token = body.get("token") if isinstance(body, dict) else None
        if response.status_code >= 400 or not token:
            raise AuthenticationError(
                f"Login to {self.base_url} as {self._username!r} failed: check the user "
                "name and password.",
                response_code=response.status_code if response.status_code >= 400 else 401,
                response_body=self._redacted(response.text),
            )
        self._token = str(token)
        uuid = body.get("uuid")
        self._user_uuid = str(uuid) if uuid else None
        logger.debug("logged in to %s as %s", self.base_url, self._username)

    def _renew(self, stale_token: str | None) -> None:
        """Renew a refused token, unless another thread already did.

        The refresh endpoint is tried first (it needs no password on the wire); when it
        refuses, the client logs in again.
        """
        with self._auth_lock:
            if self._token is not None and self._token != stale_token:
                return
            logger.info("token refused by %s; renewing it", self.base_url)
            if stale_token and self._refresh_locked(stale_token):
                return
            self._token = None
            self._login_locked()

    def _refresh_locked(self, stale_token: str) -> bool:
        body = {"token": stale_token, "userId": self._user_uuid or "", "provider": "email"}
        body["tenantId"] = self._tenant_id
        try:
            response = self._send_with_retries(
                "POST",
                "/api/auth/refresh-token",
                json_body=body,
                authenticated=False,
                retry_writes=True,  # a refresh repeated is harmless
            )
        except ServerUnreachableError:
            return False
        answer = self._json(response)
        token = answer.get("accessToken") if isinstance(answer, dict) else None
        if response.status_code >= 400 or not token:
            return False
        self._token = str(token)
        return True

    def _ensure_token(self) -> str:
        if self._token is None:
            with self._auth_lock:
                if self._token is None:
                    self._login_locked()
        assert self._token is not None
        return self._token

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
    ) -> Any:
        """Send an authenticated request and return the parsed JSON answer (or None).

        ``retry_writes`` allows retrying a non-idempotent method (for writes known to be
        harmless when repeated). ``not_found_ok`` turns a 404 into a None answer. ``raw``
        returns the answer's bytes as they are (a download), not parsed.
        """
        for renewals in range(2):
            token = self._ensure_token()
            response = self._send_with_retries(
                method,
                path,
                params=params,
                json_body=json_body,
                authenticated=True,
                retry_writes=retry_writes,
            )
            if response.status_code == 401 and renewals == 0:
                self._renew(token)
                continue
            break
        if response.status_code == 404 and not_found_ok:
            return None
        if response.status_code >= 400:
            raise self._error_for(method, path, response)
        return response.content if raw else self._json(response)

    def _send_with_retries(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        authenticated: bool,
        retry_writes: bool,
    ) -> requests.Response:
        repeatable = method in IDEMPOTENT_METHODS or retry_writes
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(method, path, params, json_body, authenticated)
            except requests.exceptions.SSLError as exc:
                # not transient, and nothing was sent: retrying or "cannot reach" would
                # send the operator looking in the wrong place
                raise ServerUnreachableError(_tls_failure(self.base_url, exc)) from None
            except _BROKEN_EXCHANGE as exc:
                if not repeatable:
                    raise AmbiguousWriteError(
                        f"{method} {path}: {self._describe(exc)}; the server may or may not "
                        "have applied it."
                    ) from None
                if not self._may_retry(attempt, started):
                    raise self._unreachable(method, path, exc) from None
                self._wait(attempt, None, f"{method} {path}: {self._describe(exc)}")
                continue
            if response.status_code not in _RETRYABLE_STATUS:
                return response
            if not repeatable and response.status_code != 429:
                raise AmbiguousWriteError(
                    f"{method} {path}: the server answered {response.status_code}; it may "
                    "or may not have applied the request."
                )
            if not self._may_retry(attempt, started):
                return response
            self._wait(
                attempt,
                _retry_after_seconds(response),
                f"{method} {path}: HTTP {response.status_code}",
            )

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        authenticated: bool,
    ) -> requests.Response:
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": _USER_AGENT,
        }
        if authenticated:
            token = self._token or ""
            headers["Authorization"] = f"Bearer {token}"
            headers["Cookie"] = f"tenantId={self._tenant_id}; provider=email; accessToken={token}"
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        if params is None and _PLAIN_PATH.match(path):
            prepared.url = self._prepared_base + path  # what prepare_url would make of it
        else:
            prepared.prepare_url(self.base_url + path, params)
        prepared.prepare_headers(headers)
        prepared.prepare_body(data=None, files=None, json=json_body)
        prepared.prepare_hooks(None)
        started = time.monotonic()
        with self._stats_lock:
            self.requests_sent += 1
        response = self._adapter.send(
            prepared, timeout=self._timeout, verify=self._tls_verify, proxies=self._proxies
        )
        try:
            response.content  # noqa: B018 - read whole here, where a broken-off answer is retried
        except requests.ConnectionError as exc:
            # requests reports a read that timed out halfway as a connection error
            if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                raise requests.exceptions.ReadTimeout(str(exc.args[0])) from None
            raise
        logger.debug(
            "%s %s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        if response.is_redirect:
            response.close()
            raise ServerResponseError(
                f"{method} {path}: {self.base_url} redirects to "
                f"{response.headers.get('Location', 'another address')}; use that address as "
                "the server URL (redirects are not followed, so the token goes nowhere else).",
                response_code=response.status_code,
            )
        return response

    def _may_retry(self, attempt: int, started: float) -> bool:
        return attempt < self.retry.attempts and time.monotonic() - started < self.retry.total

    def count_retry(self) -> None:
        """Count a retry decided above the transport (a create tried again)."""
        with self._stats_lock:
            self.retries += 1

    def _wait(self, attempt: int, retry_after: float | None, what: str) -> None:
        with self._stats_lock:
            self.retries += 1
            pause = self.retry.pause(attempt, retry_after, self._rng)
        logger.info("retrying %s (retry %d) in %.2f s", what, attempt, pause)
        time.sleep(pause)

    # -- errors -------------------------------------------------------------------------

    def _redacted(self, text: str) -> str:
        return redact(text, (self._password, self._token))

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

    def _error_for(self, method: str, path: str, response: requests.Response) -> ZiggyError:
        status = response.status_code
        body = self._redacted(response.text)
        detail = _server_message(response)
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
                + (f" ({self._redacted(detail)})" if detail else "")
                + ".",
                **kwargs,
            )
        if status in (400, 409, 422):
            return BadRequestError(
                f"{where}: the server refused the request ({status})"
                + (f": {self._redacted(detail)}" if detail else "."),
                **kwargs,
            )
        return ServerResponseError(f"{where}: unexpected HTTP {status}.", **kwargs)

    @staticmethod
    def _json(response: requests.Response) -> Any:
        content = response.content
        if not content:
            return None
        try:
            return json.loads(content)  # bytes: UTF-8 (or -16/-32) as RFC 8259 has it
        except ValueError:
            return response.text

    def close(self) -> None:
        self._adapter.close()


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


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, list):
            return "; ".join(str(part) for part in message)
        if message is not None:
            return str(message)
    return ""
