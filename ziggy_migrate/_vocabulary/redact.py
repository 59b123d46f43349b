"""Redaction of credentials and secret values in text that may reach a log or an error.

Server error bodies can echo what was sent, and a careless server's messages can quote
what it holds: a 400 for a secret may quote its value, a stack trace the password. Before
any such text is logged, kept on an exception or put in a message, it passes through
:func:`redact`, which masks the values of credential-like JSON keys, bearer tokens, and
every known sensitive string: :class:`SensitiveValues` collects them for a session (its
password, every token it was given, the secret values it sent or read).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable

__all__ = ["MASK", "SensitiveValues", "redact"]

MASK = "***"

_SENSITIVE_KEY = (
    r"(?:password|passwd|token|accessToken|refreshToken|secret|devValue|prodValue|"
    r"apiKey|api_key|clientSecret|privateKey|accessKeyId|secretAccessKey|authorization|"
    r"devOAuthToken|prodOAuthToken|value)"
)
_JSON_PAIR = re.compile(rf'("{_SENSITIVE_KEY}"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_MAX_KEPT = 500
_SHORTEST = 3  # masking one- or two-character strings everywhere would garble every text


def redact(text: str, sensitive: Iterable[str | None] = ()) -> str:
    """Mask credential-like values in ``text`` and cut it to a readable length.

    Each sensitive value is masked as it is and as it reads inside JSON text (escaped),
    longest first, so that a value containing another is not left half shown.
    """
    cleaned = _JSON_PAIR.sub(rf'\1"{MASK}"', text)
    cleaned = _BEARER.sub(rf"\1{MASK}", cleaned)
    for value in _longest_first(sensitive):
        if value in cleaned:
            cleaned = cleaned.replace(value, MASK)
    if len(cleaned) > _MAX_KEPT:
        cleaned = cleaned[:_MAX_KEPT] + "..."
    return cleaned


def _longest_first(values: Iterable[str | None]) -> list[str]:
    forms: set[str] = set()
    for value in values:
        if value and len(value) >= _SHORTEST:
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    return sorted(forms, key=len, reverse=True)


class SensitiveValues:
    """The strings one session must never show, gathered as it runs; thread-safe.

    Readers take a snapshot without locking (the set is replaced, never changed), so
    redacting never waits for a writer.
    """

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset(v for v in values if v)

    def add(self, values: Iterable[str | None]) -> None:
        new = {value for value in values if value and len(value) >= _SHORTEST}
        if new <= self._values:
            return
        with self._lock:
            self._values = self._values | new

    def redact(self, text: str) -> str:
        """:func:`redact` with every value known so far."""
        return redact(text, self._values)

    def __repr__(self) -> str:
        return f"<SensitiveValues: {len(self._values)} kept out of sight>"
