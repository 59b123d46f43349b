"""``download_backup``: the server's database transfer file, saved locally.

The same two calls the official ``ziggy system backup`` makes: ``POST
/api/system/transfer-db`` has the server write a transfer file (a PostgreSQL
custom-format dump of its whole database), ``GET /api/system/download-transfer``
downloads it. The file is written in one rename, owner-only: a database dump holds
every secret value and password hash of the server.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .._client.client import ZiggyClient
from .._vocabulary.errors import BackupFailedError
from .._vocabulary.files import write_private_bytes

__all__ = ["download_backup"]

logger = logging.getLogger("ziggy_migrate.transfer")


def download_backup(client: ZiggyClient, path: str | os.PathLike[str]) -> Path:
    """Have the server make its database transfer file and save it at ``path``.

    Returns the path. The download is held in memory, then written to a temporary file
    beside ``path`` (mode 0600) that replaces ``path`` in one rename, so a failure never
    leaves a truncated file. Raises the client's errors for the server's answers,
    :class:`BackupFailedError` when the server sent an empty file (nothing is written),
    and ``OSError`` when the file cannot be written.
    """
    target = Path(path)
    client.make_transfer_file()
    data = client.download_transfer_file()
    if not data:
        raise BackupFailedError(
            f"{client.base_url} sent an empty database transfer file; nothing was written"
        )
    write_private_bytes(target, data)
    logger.info("saved %d bytes of %s's database transfer file to %s", len(data), client, target)
    return target
