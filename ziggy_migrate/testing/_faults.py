"""Injected misbehaviour: which faults, how often, drawn from one seeded generator."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from ._wire import _error, _Reply

_FAULT_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class FaultPlan:
    """Which misbehaviours to inject, and how often.

    Each faultable request draws one number from the emulator's seeded generator and
    lands in at most one band, tried in this order: ``rate_limit_rate`` (429 with
    ``Retry-After``), ``error_rate`` (500 or 503), ``drop_before_rate`` (connection closed,
    nothing applied), ``drop_after_rate`` (request applied, then the connection closed
    without an answer: the case that makes retries of non-idempotent calls dangerous).
    The rates are fractions of faultable requests and must add up to at most 1.

    ``exempt_paths`` match a whole path or anything below it, so login and health checks
    stay reliable and a test can aim its faults at the calls it cares about.
    """

    error_rate: float = 0.0
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    rate_limit_rate: float = 0.0
    cut_short_rate: float = 0.0
    retry_after: int = 1
    methods: frozenset[str] = _FAULT_METHODS
    exempt_paths: tuple[str, ...] = ("/api/auth/login", "/api/auth/refresh-token", "/api/health")
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (
            self.error_rate,
            self.drop_before_rate,
            self.drop_after_rate,
            self.rate_limit_rate,
            self.cut_short_rate,
        )
        if any(not 0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError("every fault rate must be between 0 and 1")
        if sum(rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must add up to at most 1")
        if self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        object.__setattr__(self, "methods", frozenset(method.upper() for method in self.methods))
        object.__setattr__(self, "exempt_paths", tuple(self.exempt_paths))

    def covers(self, method: str, path: str) -> bool:
        """Whether a request is eligible for a fault at all."""
        if method not in self.methods:
            return False
        return not any(
            path == exempt or path.startswith(exempt.rstrip("/") + "/")
            for exempt in self.exempt_paths
        )


class _FaultDice:
    """The emulator's one seeded generator: the same requests in the same order draw the
    same faults, so a failing run can be replayed."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, method: str, path: str) -> str | None:
        plan = self.plan
        if not plan.covers(method, path):
            return None
        with self._lock:
            draw = self._random.random()
            bands = (
                ("429", plan.rate_limit_rate),
                ("error", plan.error_rate),
                ("drop_before", plan.drop_before_rate),
                ("drop_after", plan.drop_after_rate),
                ("cut_short", plan.cut_short_rate),  # last: older seeds replay unchanged
            )
            edge = 0.0
            for fault, rate in bands:
                edge += rate
                if draw < edge:
                    if fault == "error":
                        return "500" if self._random.random() < 0.5 else "503"
                    return fault
        return None


def _fault_reply(fault: str, retry_after: int) -> _Reply:
    if fault == "429":
        reply = _error(429, "ThrottlerException: Too Many Requests")
        return _Reply(
            reply.status, reply.body, reply.content_type, (("Retry-After", str(retry_after)),)
        )
    if fault == "503":
        return _error(503, "Service Unavailable")
    return _error(500, "Internal server error")
