"""Redaction of credentials and secret values in text that may reach a log or an error.

Server error bodies can echo what was sent; a 400 for a secret may quote its value. Before
any such text is logged or kept on an exception it passes through :func:`redact`, which
masks the values of credential-like JSON keys and every known sensitive string (the
password and token of the session).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MASK", "redact"]

MASK = "***"

_SENSITIVE_KEY = (
    r"(?:password|passwd|token|accessToken|refreshToken|secret|devValue|prodValue|"
    r"apiKey|api_key|clientSecret|privateKey|accessKeyId|secretAccessKey|authorization|"
    r"devOAuthToken|prodOAuthToken|value)"
)
_JSON_PAIR = re.compile(rf'("{_SENSITIVE_KEY}"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_MAX_KEPT = 500


def redact(text: str, sensitive: Iterable[str | None] = ()) -> str:
    """Mask credential-like values in ``text`` and cut it to a readable length."""
    cleaned = _JSON_PAIR.sub(rf'\1"{MASK}"', text)
    cleaned = _BEARER.sub(rf"\1{MASK}", cleaned)
    for value in sensitive:
        if value and len(value) >= 3:
            cleaned = cleaned.replace(value, MASK)
    if len(cleaned) > _MAX_KEPT:
        cleaned = cleaned[:_MAX_KEPT] + "..."
    return cleaned
