"""``ZiggyClient`` against the emulator, by concern: one module each for logging in, tokens,
the wire, TLS and proxies, endpoints, retries, creates, secrecy, answers and limits.

Everything here is real code over real HTTP: the client talks to a ``ZiggyEmulator``
running in a thread (or, where the emulator cannot play the part, a few lines of
``http.server``), and assertions look at what the client returned *and* at what the
server recorded (its snapshot and its request log). Fault tests use the emulator's
seeded ``FaultPlan``, so a failure replays identically, and tiny retry backoffs, so the
package stays fast. The helpers below are shared by its modules.
"""

from __future__ import annotations

import socket
from typing import Any

from ziggy_migrate import RetryPolicy, ZiggyClient
from ziggy_migrate.testing import ZiggyEmulator

FAST = RetryPolicy(attempts=6, backoff=0.01, max_backoff=0.05)
"""Retries for fault tests: enough attempts to ride out the seeded faults, tiny pauses."""

PLANTED_SECRET_VALUE = "planted-s3cret-value-7f3a"
PLANTED_PASSWORD = "planted-Pa55w0rd-91c2"


def connect(ziggy: ZiggyEmulator, *, retry: RetryPolicy = FAST, **kwargs: Any) -> ZiggyClient:
    """A client for ``ziggy`` with its credentials."""
    return ZiggyClient(ziggy.url, ziggy.port, ziggy.username, ziggy.password, retry=retry, **kwargs)


def login_count(ziggy: ZiggyEmulator) -> int:
    return ziggy.request_count("POST", "/api/auth/login")


def free_port() -> int:
    """A port nothing listens on (bound, then closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fault_count(ziggy: ZiggyEmulator) -> int:
    return sum(1 for record in ziggy.requests if record.fault is not None)
