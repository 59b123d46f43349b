"""One round trip through a real Secret Service keyring (gnome-keyring under dbus).

Everything runs inside one private ``dbus-run-session`` with ``HOME`` in a temporary
directory, so the user's own keyring is never touched. ``.ci/keyring-setup.sh`` installs
the two programs this needs.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev
from .conftest import subprocess_env

SCRIPT = r"""
set -u
echo unlock-pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$PYTHON" -m ziggy_migrate_cli auth add vault --url "$URL" --port "$PORT" \
    --username admin --password-stdin >add.out 2>add.err
echo $? >add.rc
"$PYTHON" -m ziggy_migrate_cli flow list --server vault --json --no-prompt \
    >list.out 2>list.err </dev/null
echo $? >list.rc
"""


@pytest.mark.keyring
def test_password_stored_and_read_through_secret_service(
    seeded: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    for program in ("dbus-run-session", "gnome-keyring-daemon"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (run .ci/keyring-setup.sh)")
    # The Secret Service backend needs both (keyring brings them on Linux).
    for module in ("secretstorage", "jeepney"):
        assert importlib.util.find_spec(module) is not None, f"{module} is not importable"

    home = tmp_path / "home"
    home.mkdir()
    env = subprocess_env(
        tmp_path / "config",
        PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_RUNTIME_DIR=str(home),
        PYTHON=sys.executable,
        URL=dev_emulator.url,
        PORT=str(dev_emulator.port),
    )
    completed = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", SCRIPT],
        input="admin\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    outputs = {
        name: (tmp_path / name).read_text() if (tmp_path / name).exists() else "<missing>"
        for name in ("add.rc", "add.err", "list.rc", "list.out", "list.err")
    }
    context = f"{completed.stderr}\n{outputs}"
    assert outputs["add.rc"].strip() == "0", context
    assert "SecretService" in outputs["add.err"], context
    assert outputs["list.rc"].strip() == "0", context
    document = json.loads(outputs["list.out"])
    assert document["status"] == 200
    assert {row["name"] for row in document["data"]} >= {"Sync orders", "Invoices"}
    assert "admin\n" not in (tmp_path / "config" / "profiles.json").read_text()
