"""Spotting credentials written inline in connection values.

A connection value is JavaScript-object text such as
``{ host: 'db', user: 'app', password: 'secrets.PG_PASSWORD' }``. A credential-like key
whose value is not a ``secrets.`` reference means a password or key would travel inside
the bundle (and into git). We report the connection and the key, never the value.
"""

from __future__ import annotations

import re

from .._vocabulary.models import Connection

__all__ = ["CREDENTIAL_KEYS", "find_inline_credentials"]

CREDENTIAL_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "apikey",
        "accesstoken",
        "refreshtoken",
        "authtoken",
        "token",
        "secret",
        "clientsecret",
        "privatekey",
        "accesskeyid",
        "secretaccesskey",
        "secretkey",
        "sastoken",
        "connectionstring",
        "bearertoken",
    }
)
_CREDENTIAL_SUFFIXES = ("password", "secret", "token", "apikey", "privatekey")

# key: value pairs of a JavaScript object literal (or JSON): a bare, single- or
# double-quoted key, then a quoted or bare value.
_PAIR = re.compile(
    r"""(?P<key>[A-Za-z_$][\w$]*|'[^']*'|"[^"]*")\s*:\s*"""
    r"""(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|[^,}\]\s]+)"""
)
_REFERENCE = re.compile(r"^\$?\{?\s*secrets\.[A-Za-z_$][\w$]*\s*\}?$")


def _is_credential_key(key: str) -> bool:
    normalized = re.sub(r"[^a-z]", "", key.strip("'\"").lower())
    return normalized in CREDENTIAL_KEYS or normalized.endswith(_CREDENTIAL_SUFFIXES)


def _is_inline(value: str) -> bool:
    bare = value.strip()
    if bare[:1] in {"'", '"', "`"}:
        bare = bare[1:-1].strip()
    if not bare or bare in {"null", "undefined", "''"}:
        return False
    return not _REFERENCE.match(bare) and not bare.startswith("secrets.")


def find_inline_credentials(connection: Connection) -> list[str]:
    """Where ``connection`` holds credentials inline, as ``"devValue key 'password'"``."""
    found: list[str] = []
    for field, text in (("devValue", connection.dev_value), ("prodValue", connection.prod_value)):
        for match in _PAIR.finditer(text):
            key = match.group("key").strip("'\"")
            if _is_credential_key(key) and _is_inline(match.group("value")):
                found.append(f"{field} key {key!r}")
    return found
