"""The examples keep working: the script runs, the notebook's cells execute.

The notebook runs as Jupyter would run it (each code cell in turn in one namespace, the
value of a cell's last expression displayed through its ``_repr_html_``), in a process of
its own whose home, temporary and working folders are empty folders of the test: after
it, all three are empty again, so it wrote nothing outside its own temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ziggy_migrate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "preview_plan.ipynb"

# Run in a fresh process: execute every code cell, display last expressions, report.
RUN_NOTEBOOK = """
import ast, json, sys
from pathlib import Path

notebook = json.loads(Path(sys.argv[1]).read_text("utf-8"))
namespace = {"__name__": "__main__"}
shown = []
for number, cell in enumerate(notebook["cells"]):
    if cell["cell_type"] != "code":
        continue
    tree = ast.parse("".join(cell["source"]), f"cell-{number}")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"cell-{number}", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"cell-{number}", "eval"), namespace)
        if value is None:  # as IPython: None is not displayed
            continue
        html = getattr(value, "_repr_html_", None)
        shown.append({"type": type(value).__name__, "html": html() if html else None})
report = namespace["report"]
print(json.dumps({
    "shown": shown,
    "work": namespace["work"],
    "rollback_path": report.rollback_path,
    "report_ok": report.ok,
    "secrets_needing_values": list(report.secrets_needing_values),
}))
"""


def _isolated_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, Path]]:
    """An environment whose home, temporary and working folders are fresh and empty."""
    folders = {name: tmp_path / name for name in ("home", "tmp", "cwd")}
    for folder in folders.values():
        folder.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ZIGGY_", "XDG_")) and key not in {"TMP", "TEMP", "TMPDIR"}
    }
    env.update(
        HOME=str(folders["home"]),
        TMPDIR=str(folders["tmp"]),
        PYTHONPATH=str(Path(ziggy_migrate.__file__).resolve().parents[1]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env, folders


def _everything_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


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


def test_notebook_runs_and_writes_nothing_outside_its_temporary_folder(tmp_path: Path) -> None:
    env, folders = _isolated_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", RUN_NOTEBOOK, str(NOTEBOOK)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folders["cwd"],
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)

    # It used a folder of its own under the temporary folder, and the import wrote its
    # rollback bundle there (the flow Orders was overwritten) ...
    work = Path(facts["work"])
    assert work.parent == folders["tmp"]
    assert facts["rollback_path"] is not None
    assert Path(facts["rollback_path"]).is_relative_to(work)
    # ... and nothing anywhere else: not the user's state folder under the home folder,
    # not the working folder; its own folder is gone at the end.
    assert _everything_in(folders["home"]) == []
    assert _everything_in(folders["cwd"]) == []
    assert _everything_in(folders["tmp"]) == []

    # What a person sees: the plan, the report, the diff as HTML, and a data frame.
    types = [shown["type"] for shown in facts["shown"]]
    assert types == ["ImportPlan", "ImportReport", "BundleDiff", "DataFrame"]
    plan_html, report_html, diff_html, _ = (shown["html"] for shown in facts["shown"])
    assert '<tr data-attention="error">' in plan_html  # Invoices matches two flows
    assert "AMBIGUOUS" in plan_html and "need attention" in plan_html
    assert "OVERWRITE" in report_html and '<tr data-attention="warning">' in report_html
    assert "Invoices" in diff_html
    assert facts["report_ok"] is True  # the ambiguous flow was left out of the import
    assert facts["secrets_needing_values"] == ["PG_PASSWORD"]
