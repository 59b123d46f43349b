"""Where ziggy-migrate keeps local state: rollback bundles, promoted bundles, the journal.

One folder, ``$ZIGGY_STATE_DIR`` or the platform's user state folder, with a subfolder
per use. Files are named after the server they concern, by :func:`server_slug`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

__all__ = ["STATE_DIR_ENV", "server_slug", "state_dir"]

STATE_DIR_ENV = "ZIGGY_STATE_DIR"


def state_dir(use: str, base: str | os.PathLike[str] | None = None) -> Path:
    """The state subfolder for ``use`` (``rollback``, ``promotions``, ``journal``...).

    ``base`` is the caller's own state folder (a library call's ``state_dir=``); without
    it, ``$ZIGGY_STATE_DIR``, else the platform's user state folder.
    """
    if base is None:
        base = os.environ.get(STATE_DIR_ENV) or platformdirs.user_state_dir("ziggy-migrate")
    return Path(base) / use


def server_slug(text: str) -> str:
    """``https://prod.example.com:443`` -> ``prod.example.com-443``, safe in a file name."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text.split("://", 1)[-1]).strip("-") or "server"
