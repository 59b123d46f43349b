"""The exception tree of ziggy-migrate.

Every error the library raises derives from :class:`ZiggyError`, so a caller can catch one
type; the subclasses say what went wrong and what to check::

    ZiggyError
    ├── ServerUnreachableError        no Ziggy answer: refused, DNS, dropped connection
    │   ├── RequestTimeoutError       no whole answer within the timeout
    │   └── NotZiggyServerError       something answers at that address, but not a Ziggy API
    ├── ServerResponseError           the server answered with an error, or unusably
    │   ├── AuthenticationError       401/403: wrong user name or password, token refused
    │   ├── NotFoundError             404
    │   ├── BadRequestError           400/409/422: the server refused what we sent
    │   ├── RateLimitedError          429 after the retries ran out
    │   ├── ServerError               5xx after the retries ran out
    │   ├── MalformedResponseError    an answer missing a field the API promises, or mistyped
    │   └── ResponseTooLargeError     an answer larger than the client's max_answer_bytes
    ├── BundleError                   a bundle file is broken, invalid or from a newer tool
    │   └── GraphTooDeepError         a flow graph nests deeper than a bundle holds (150 levels)
    ├── SelectionError                export: a flow UUID that is not on the server
    ├── ExposedCredentialError        export with strict_secrets: inline credentials found
    ├── PlanError                     import: the plan cannot be applied (stale, mismatched)
    │   └── PlanFileError             a plan file is missing, unreadable or broken
    ├── BackupFailedError             import: the database backup failed, nothing was written
    ├── TargetBusyError               import: another import into that server is running here
    ├── ImportIncompleteError         import: it wrote, then failed; ``.report`` says what it did
    ├── InvalidArgumentError          a call got a value outside its choices (also a ValueError)
    └── MissingDependencyError        an optional extra is not installed (also an ImportError)

Beside the tree, because it is not an error: ``ImportInterrupted``, a
:class:`KeyboardInterrupt` raised when an import that already wrote is interrupted, with
the same ``.report``. ``ImportIncompleteError`` and ``ImportInterrupted`` are defined in
``_engine/partial.py``, beside the report they carry.

Messages never contain a password, token or secret value: server text (a message, a
response body kept on the exception for debugging) passes the same redaction the logs use,
which masks every secret value the client sent or read.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BackupFailedError",
    "BadRequestError",
    "BundleError",
    "ExposedCredentialError",
    "InvalidArgumentError",
    "MalformedResponseError",
    "MissingDependencyError",
    "NotFoundError",
    "NotZiggyServerError",
    "PlanError",
    "PlanFileError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "SelectionError",
    "ServerError",
    "ServerResponseError",
    "ServerUnreachableError",
    "TargetBusyError",
    "ZiggyError",
]


class ZiggyError(Exception):
    """Base of every error raised by ziggy-migrate."""


class ServerUnreachableError(ZiggyError):
    """The server could not be reached or dropped the connection without answering."""


class RequestTimeoutError(ServerUnreachableError):
    """The server did not answer, or did not finish its answer, within the timeout."""


class NotZiggyServerError(ServerUnreachableError):
    """Something answers at the address, but not as a Ziggy API would: another web
    server's page, a 404 for the login, a redirect that names no address.

    ``response_code`` and ``response_body`` (redacted, shortened) are what it answered.
    """

    def __init__(self, message: str, *, response_code: int = 0, response_body: str = "") -> None:
        super().__init__(message)
        self.response_code = response_code
        self.response_body = response_body


class ServerResponseError(ZiggyError):
    """The server answered with an error status, or with an answer that cannot be used.

    ``response_code`` is the HTTP status and ``response_body`` the (redacted) body text, so
    that callers can branch on the status and operators can see what the server said.
    """

    def __init__(self, message: str, *, response_code: int, response_body: str = "") -> None:
        super().__init__(message)
        self.response_code = response_code
        self.response_body = response_body


class AuthenticationError(ServerResponseError):
    """The server refused the credentials or the token (401/403)."""


class NotFoundError(ServerResponseError):
    """The requested item does not exist on the server (404)."""


class BadRequestError(ServerResponseError):
    """The server refused the request's content (400, 409, 422)."""


class RateLimitedError(ServerResponseError):
    """The server kept answering 429 Too Many Requests after every retry."""


class ServerError(ServerResponseError):
    """The server kept failing (5xx) after every retry."""


class MalformedResponseError(ServerResponseError):
    """An answer lacks a field the API promises, or holds one of another type.

    ``endpoint`` is the request (``GET /api/flow/...``) and ``field`` the place in its
    answer (``tags``, ``[3].uuid``; empty for the answer as a whole).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        field: str,
        response_code: int,
        response_body: str = "",
    ) -> None:
        super().__init__(message, response_code=response_code, response_body=response_body)
        self.endpoint = endpoint
        self.field = field


class ResponseTooLargeError(ServerResponseError):
    """An answer is larger than the client accepts (``max_answer_bytes``, decompressed)."""


class BundleError(ZiggyError):
    """A bundle could not be loaded: unreadable, not JSON, invalid, or inconsistent.

    ``location`` is a JSON path such as ``$.flows[3].name`` (``$`` for the whole file) so
    that the one-line message points at the place to fix.
    """

    def __init__(self, message: str, *, location: str = "$", file: str | None = None) -> None:
        where = ": ".join(part for part in (file, location) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.location = location
        self.reason = message
        self.file = file

    def in_file(self, file: str) -> BundleError:
        """The same error, naming the file it was found in."""
        error = type(self).__new__(type(self))
        BundleError.__init__(error, self.reason, location=self.location, file=file)
        return error


class SelectionError(ZiggyError):
    """An export selection names flows that do not exist on the source server."""

    def __init__(self, message: str, *, missing_flow_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing_flow_ids = missing_flow_ids


class ExposedCredentialError(ZiggyError):
    """Connections hold inline credentials and ``strict_secrets`` forbids exporting them."""

    def __init__(self, message: str, *, findings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class PlanError(ZiggyError):
    """An import plan cannot be applied as it stands."""


class PlanFileError(PlanError):
    """A plan file is missing, unreadable or not a plan: bad input, not a stale plan."""


class BackupFailedError(ZiggyError):
    """The server's database backup failed, so the import wrote nothing."""


class TargetBusyError(ZiggyError):
    """Another import (or rollback) into the same server is running on this machine, and
    it did not finish within the wait allowed; nothing was written.

    ``holder`` says which process holds the server's lock (process id and host name).
    """

    def __init__(self, message: str, *, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


class InvalidArgumentError(ZiggyError, ValueError):
    """A library call got an argument outside its choices; the message lists them."""


class MissingDependencyError(ZiggyError, ImportError):
    """A call needs an optional extra that is not installed; the message says which."""
