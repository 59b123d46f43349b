"""Photograph the notebook's import plan as a PNG (the picture in the README).

    python examples/plan_image.py [OUT.png]     # default: examples/plan-table.png

It runs the code cells of ``preview_plan.ipynb`` (two local emulators; nothing is
written outside temporary folders), puts the plan's HTML on a page of its own and takes
a screenshot with headless Chromium (Debian's ``chromium`` package), cut to the table.
The functions here are also what the tests use to look at the HTML in a real browser.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "preview_plan.ipynb"

# Writes the size of what the page shows into the DOM, for the screenshot's window size.
_MEASURE = """<script>
// tables by their boxes, other elements by their text (a block is as wide as the page)
const edges = [...document.querySelectorAll("body *")].map((element) => {
  if (element.tagName === "TABLE") return element.getBoundingClientRect();
  const text = document.createRange();
  text.selectNodeContents(element);
  return element.childElementCount ? { right: 0, bottom: 0 } : text.getBoundingClientRect();
});
document.body.dataset.size =
  Math.ceil(Math.max(...edges.map((r) => r.right)) + 8) + "x" +
  Math.ceil(Math.max(...edges.map((r) => r.bottom)) + 8);
</script>"""


def find_chromium() -> str | None:
    """The ``chromium`` command, if installed."""
    return shutil.which("chromium")


def page(*fragments: str, script: str = "") -> str:
    """A whole HTML page showing ``fragments`` on white, as a notebook's output area."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>ziggy-migrate</title></head>'
        '<body style="margin:8px;background:#fff;color:#1f2328">'
        + "".join(fragments)
        + script
        + "</body></html>"
    )


def run_chromium(browser: str, url: str, *options: str, timeout: float = 60) -> str:
    """Run headless Chromium once on ``url``; its stdout (``--dump-dom``'s DOM).

    Its profile, home and cache folders are a temporary folder, removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="ziggy-chromium-") as profile:
        env = {
            **os.environ,
            "HOME": profile,
            "XDG_CONFIG_HOME": profile,
            "XDG_CACHE_HOME": profile,
        }
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                "--force-device-scale-factor=1",
                f"--user-data-dir={profile}",
                *options,
                url,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def screenshot(browser: str, html: str, out: Path, *, width: int = 1600) -> tuple[int, int]:
    """Save a PNG of the page ``html``, cut to what it shows; its (width, height)."""
    with tempfile.TemporaryDirectory(prefix="ziggy-page-") as folder:
        source = Path(folder) / "page.html"
        source.write_text(page(html, script=_MEASURE), "utf-8")
        dom = run_chromium(browser, source.as_uri(), f"--window-size={width},2000", "--dump-dom")
        found = re.search(r'data-size="(\d+)x(\d+)"', dom)
        if found is None:
            raise RuntimeError("chromium did not measure the page")
        size = (min(int(found[1]), width), int(found[2]))
        source.write_text(page(html), "utf-8")
        run_chromium(
            browser,
            source.as_uri(),
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={out.resolve()}",
        )
    return size


def run_notebook(path: Path = NOTEBOOK) -> dict[str, Any]:
    """Execute the notebook's code cells in one namespace, as Jupyter would; the namespace."""
    notebook = json.loads(path.read_text("utf-8"))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            code = compile(ast.parse("".join(cell["source"])), f"cell-{number}", "exec")
            exec(code, namespace)  # noqa: S102 - our own notebook
    return namespace


def main(argv: Sequence[str]) -> int:
    out = Path(argv[0]) if argv else HERE / "plan-table.png"
    browser = find_chromium()
    if browser is None:
        print("error: chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    plan = run_notebook()["plan"]
    width, height = screenshot(browser, plan._repr_html_(), out)
    print(f"{out}: {width}x{height}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
