"""The examples keep working: the script runs, the notebook's cells execute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ziggy_migrate
from ziggy_migrate import ImportPlan, ImportReport

ROOT = Path(__file__).resolve().parents[1]


def test_promote_script_runs_against_emulators(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZIGGY_DEV")}
    env.update(
        PYTHONPATH=str(Path(ziggy_migrate.__file__).resolve().parents[1]),
        ZIGGY_STATE_DIR=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "promote_script.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == 201
    assert [f["result"] for f in report["data"]["flowsProcessed"]] == ["OVERWRITE"]
    assert "OVERWRITE" in done.stderr  # the plan was shown before the import


def test_notebook_cells_execute_and_render_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = json.loads((ROOT / "examples" / "preview_plan.ipynb").read_text("utf-8"))
    namespace: dict[str, object] = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), namespace)  # noqa: S102 - our own notebook
    plan, report = namespace["plan"], namespace["report"]
    assert isinstance(plan, ImportPlan)
    assert isinstance(report, ImportReport)
    assert "<table>" in plan._repr_html_()
    assert "OVERWRITE" in report._repr_html_()
    assert report.ok
