"""What a notebook shows: the HTML of plans, reports and diffs, and their data frames.

The HTML is read twice: parsed here (its tags, attributes and text, so hostile names are
seen to stay text), and rendered by headless Chromium, whose DOM and computed styles say
what a person sees (borders, left-aligned cells, one-line monospace UUIDs, problem rows
first and highlighted, folded rows hidden) and whose screenshot is looked at pixel by
pixel. The browser tests skip only when the ``chromium`` command is absent.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

import ziggy_migrate
from ziggy_migrate import (
    Action,
    BundleDiff,
    Change,
    ImportPlan,
    ImportReport,
    ItemChange,
    ItemKind,
    MissingDependencyError,
    ZiggyClient,
    ZiggyError,
    diff_with_server,
    export_flows,
    import_bundle,
    plan_import,
)
from ziggy_migrate._vocabulary.tables import Cell, Row, Table, list_cell, uuid_cell
from ziggy_migrate.testing import ZiggyEmulator

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = (
    "<script>document.body.dataset.pwned='script'</script>"
    "<img src=x onerror=\"document.body.dataset.pwned='img'\"> & \"Orders\" 'A&amp;B'"
)


def _load_plan_image() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plan_image", ROOT / "examples" / "plan_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLAN_IMAGE = _load_plan_image()
CHROMIUM: str | None = PLAN_IMAGE.find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="the chromium command is not installed (apt-get install chromium; .ci/run does)",
)


@attrs.frozen
class Shown:
    plan: ImportPlan
    report: ImportReport
    diff: BundleDiff


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Shown:
    """A plan, report and diff over real HTTP with hostile names, a problem of every
    kind (an ambiguous flow, a secret without a value) and rows enough to fold."""
    with ZiggyEmulator(name="dev") as dev, ZiggyEmulator(name="prod") as prod:
        db = dev.add_connection(f"{HOSTILE} DB", dev_value="{ password: secrets.PG_PASSWORD }")
        dev.add_secret("PG_PASSWORD")
        dev.add_flow(
            HOSTILE, tags=["t"], nodes=[{"id": "1", "data": {"connectionUuid": db["uuid"]}}]
        )
        dev.add_flow("Orders", tags=["t"])
        for number in range(25):
            dev.add_flow(f"Flow {number:02}", tags=["t"])
        prod.add_flow(HOSTILE)
        prod.add_flow(HOSTILE)
        prod.add_flow("Orders")
        with (
            ZiggyClient(dev.url, dev.port, "admin", "admin") as source,
            ZiggyClient(prod.url, prod.port, "admin", "admin") as target,
        ):
            bundle = export_flows(source, tags=["t"]).bundle
            plan = plan_import(target, bundle, mode="overwrite")
            report = import_bundle(
                target, bundle, mode="overwrite", state_dir=tmp_path_factory.mktemp("state")
            )
            diff = diff_with_server(target, bundle)
    return Shown(plan, report, diff)


# ---- the HTML as text: parsed into a small tree


@attrs.define
class Node:
    tag: str
    attributes: dict[str, str]
    children: list[Node | str] = attrs.Factory(list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                found += [child] if child.tag == tag else []
                found += child.all(tag)
        return found

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()


class _TreeBuilder(HTMLParser):
    VOID = frozenset({"br", "img", "meta", "hr", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    assert builder.stack == [builder.root], "unclosed tags"
    return builder.root


def item_rows(tree: Node) -> list[Node]:
    return [
        row
        for table in tree.all("table")
        if table.attributes.get("data-role") == "items"
        for row in table.all("tbody")[0].all("tr")
    ]


SAFE_TAGS = {"root", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "code"}
SAFE_TAGS |= {"details", "summary", "ul", "li"}


@pytest.mark.parametrize("what", ["plan", "report", "diff"])
def test_hostile_names_stay_text(shown: Shown, what: str) -> None:
    text = getattr(shown, what)._repr_html_()
    assert "<script" not in text and "<img" not in text
    tree = parse(text)
    assert {node.tag for node in tree.walk()} <= SAFE_TAGS
    assert not [name for node in tree.walk() for name in node.attributes if name.startswith("on")]
    assert HOSTILE in [cell.text() for row in item_rows(tree) for cell in row.all("td")]


def test_a_hover_title_is_escaped_too() -> None:
    sneaky = '" onmouseover="alert(1)" data-x="&<>'
    table = Table("t", ("uuid",), ((Cell("short", full=sneaky, code=True),),))
    [code] = parse(table.to_html()).all("code")
    assert code.attributes == {"style": code.attributes["style"], "title": sneaky}
    assert code.text() == "short"


def test_plan_html_has_borders_left_alignment_and_short_uuids(shown: Shown) -> None:
    tree = parse(shown.plan._repr_html_())
    cells = [cell for row in item_rows(tree) for cell in row.all("td")]
    assert all("text-align:left" in cell.attributes["style"] for cell in cells)
    assert all("border:1px solid" in cell.attributes["style"] for cell in cells)
    overwritten = next(item for item in shown.plan.items if item.action is Action.OVERWRITE)
    [code] = [c for c in tree.all("code") if c.attributes.get("title") == overwritten.target_uuid]
    assert code.text() == (overwritten.target_uuid or "")[:8]
    assert (
        "monospace" in code.attributes["style"] and "white-space:nowrap" in code.attributes["style"]
    )
    # plain text keeps whole UUIDs, to copy
    assert (overwritten.target_uuid or "") in str(shown.plan)


def test_problem_rows_come_first_highlighted_and_counted(shown: Shown) -> None:
    # the ambiguous flow (failed, in the report) and the secret that arrives without a value
    expected = [("error", HOSTILE), ("warning", "PG_PASSWORD")]
    for result in (shown.plan, shown.report):
        tree = parse(result._repr_html_())
        rows = item_rows(tree)
        flagged = [(row.attributes["data-attention"], row.all("td")[1].text()) for row in rows[:2]]
        assert flagged == expected
        assert not any("data-attention" in row.attributes for row in rows[2:])
        assert all(
            "background:#" in td.attributes["style"] for row in rows[:2] for td in row.all("td")
        )
        [badge] = [
            s for s in tree.all("span") if s.attributes.get("data-role") == "attention-count"
        ]
        assert badge.text() == "2 need attention"
    ambiguous = item_rows(parse(shown.plan._repr_html_()))[0]
    item = next(item for item in shown.plan.items if item.action is Action.AMBIGUOUS)
    titles = [code.attributes["title"] for code in ambiguous.all("code")]
    assert titles == list(item.candidates)  # each candidate short, whole on hover


def test_summary_counts_items_by_kind_and_action(shown: Shown) -> None:
    tree = parse(shown.plan._repr_html_())
    [summary] = [t for t in tree.all("table") if t.attributes.get("data-role") == "summary"]
    head = [cell.text() for cell in summary.all("thead")[0].all("th")]
    body = {
        row.all("th")[0].text(): [td.text() for td in row.all("td")]
        for row in summary.all("tbody")[0].all("tr")
    }
    actions = head[1:-1]
    assert head[0] == "kind \N{MULTIPLICATION SIGN} action" and head[-1] == "total"
    for kind in ItemKind:
        items = shown.plan.of_kind(kind)
        if not items:
            assert kind.value not in body
            continue
        counts = [sum(item.action.value == action for item in items) for action in actions]
        assert body[kind.value] == [str(c) if c else "" for c in counts] + [str(len(items))]
    assert body["total"][-1] == str(len(shown.plan.items))


def test_a_long_plan_folds_the_rows_that_need_nothing(shown: Shown) -> None:
    tree = parse(shown.plan._repr_html_())
    [block] = tree.all("div")[:1]
    [details] = [
        child for child in block.children if isinstance(child, Node) and child.tag == "details"
    ]
    assert "open" not in details.attributes
    folded = item_rows(details)
    assert details.all("summary")[0].text() == f"show the other {len(folded)} rows"
    assert len(folded) == len(shown.plan.items) - 2
    assert not any("data-attention" in row.attributes for row in folded)
    short = Table("t", ("a",), [("x",)] * 20)
    assert "<details" not in short.to_html()
    assert "<details" in short.to_html(fold_after=19)


def test_a_long_list_in_a_cell_folds() -> None:
    fields = tuple(f"nodes[{number}].data.query" for number in range(8))
    diff = BundleDiff(
        changes=(ItemChange(ItemKind.FLOW, "Orders", Change.CHANGED, fields, "a" * 36, "b" * 36),)
    )
    [row] = item_rows(parse(diff._repr_html_()))
    fields_cell = row.all("td")[-1]
    [details] = fields_cell.all("details")
    assert details.all("summary")[0].text() == "and 5 more"
    assert fields_cell.text().replace("and 5 more", "") == ", ".join(fields[:3]) + ", ".join(
        fields[3:]
    )
    assert list_cell(fields).plain == ", ".join(fields)  # plain text: the whole list
    assert ", ".join(fields)[:60] in str(diff)
    assert "<details" not in Table("t", ("a",), ((list_cell(fields[:5]),),)).to_html()


def test_tables_keep_their_shape() -> None:
    with pytest.raises(ValueError, match="2 cells for 1"):
        Table("t", ("a",), [("x", "y")])
    with pytest.raises(ValueError, match="summary columns"):
        Table("t", ("a",), [("x",)], summary=("a", "b"))
    table = Table("t", ("id", "what"), [Row((uuid_cell("0123456789abcdef"), "x"), "error")])
    assert table.to_text().splitlines()[-1] == "0123456789abcdef  x"
    assert uuid_cell(None) == Cell("")


# ---- data frames


def test_data_frames_hold_the_items(shown: Shown) -> None:
    pandas = pytest.importorskip(
        "pandas", reason="pandas is an optional extra (ziggy-migrate[pandas])"
    )
    plan = shown.plan.to_dataframe()
    assert plan["action"].tolist() == [item.action.value for item in shown.plan.items]
    assert [None if pandas.isna(uuid) else uuid for uuid in plan["target_uuid"]] == [
        item.target_uuid for item in shown.plan.items
    ]
    [candidates] = plan.loc[plan["action"] == "AMBIGUOUS", "candidates"].tolist()
    assert candidates == next(i.candidates for i in shown.plan.items if i.candidates)

    report = shown.report.to_dataframe()
    assert list(report.columns) == [
        "kind",
        "name",
        "match_method",
        "result",
        "source_uuid",
        "uuid",
        "is_processed",
        "error",
        "needs_value",
    ]
    assert report["is_processed"].tolist() == [item.is_processed for item in shown.report.items]
    assert report.loc[report["needs_value"], "name"].tolist() == ["PG_PASSWORD"]
    assert report.loc[report["error"].notna(), "name"].tolist() == [HOSTILE]

    diff = shown.diff.to_dataframe()
    assert diff[["kind", "name", "change"]].values.tolist() == [
        [change.kind.value, change.name, change.change.value] for change in shown.diff.changes
    ]
    assert BundleDiff(changes=()).to_dataframe().shape == (0, 6)


@pytest.mark.parametrize("what", ["plan", "report", "diff"])
def test_without_pandas_a_data_frame_is_a_clear_error(
    shown: Shown, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what Python does for a blocked import
    with pytest.raises(MissingDependencyError, match=re.escape("ziggy-migrate[pandas]")) as caught:
        getattr(shown, what).to_dataframe()
    assert isinstance(caught.value, ImportError) and isinstance(caught.value, ZiggyError)
    assert caught.value.name == "pandas"


# ---- in a real browser

# What a notebook's own stylesheet does to tables (JupyterLab's rules, in short): the
# inline styles have to win over it.
_NOTEBOOK_CSS = """<style>
table { border: none; margin-left: auto; margin-right: auto; table-layout: fixed; }
td, th { text-align: right; vertical-align: middle; padding: 0.5em; border: none; }
tbody tr:nth-child(odd) { background: #f5f5f5; }
code { white-space: pre-wrap; word-break: break-all; font-family: serif; }
</style>"""

_FACTS = """<pre id="facts"></pre><script>
const look = (element) => getComputedStyle(element);
const facts = {
  pwned: document.body.dataset.pwned || null,
  scripts: document.scripts.length,
  images: document.images.length,
  blocks: [],
};
for (const block of document.querySelectorAll(".ziggy-table")) {
  const rows = [...block.querySelectorAll("table[data-role=items] > tbody > tr")];
  const details = block.querySelector(":scope > details");
  const codes = [...block.querySelectorAll("table[data-role=items] code")];
  const seen = () => rows.map((row) => row.checkVisibility());
  const fact = {
    caption: block.firstElementChild.textContent,
    rows: rows.map((row) => ({
      attention: row.dataset.attention || null,
      cells: [...row.cells].map((cell) => cell.textContent),
      background: look(row.cells[1]).backgroundColor,
    })),
    align: [...block.querySelectorAll("td, th")].map((cell) => look(cell).textAlign),
    borders: [...block.querySelectorAll("td")].map(
      (cell) => look(cell).borderTopStyle + " " + look(cell).borderTopWidth),
    codes: codes.filter((code) => code.checkVisibility()).map((code) => ({
      text: code.textContent,
      title: code.title,
      font: look(code).fontFamily,
      lines: code.getClientRects().length,
    })),
    visible: seen(),
    width: block.querySelector("table").getBoundingClientRect().width,
  };
  if (details) {
    details.open = true;
    fact.visibleOpen = seen();
    details.open = false;
  }
  facts.blocks.push(fact);
}
document.getElementById("facts").textContent = JSON.stringify(facts);
</script>"""


def _render(fragments: list[str], tmp_path: Path) -> dict[str, Any]:
    assert CHROMIUM is not None
    source = tmp_path / "page.html"
    source.write_text(PLAN_IMAGE.page(_NOTEBOOK_CSS, *fragments, script=_FACTS), "utf-8")
    dom = PLAN_IMAGE.run_chromium(
        CHROMIUM, source.as_uri(), "--window-size=1400,1000", "--dump-dom"
    )
    found = re.search(r'<pre id="facts">(.*?)</pre>', dom, re.DOTALL)
    assert found is not None, dom[-2000:]
    facts: dict[str, Any] = json.loads(html.unescape(found[1]))
    return facts


@needs_chromium
def test_the_browser_shows_styled_tables_and_runs_no_name(shown: Shown, tmp_path: Path) -> None:
    fragments = [shown.plan._repr_html_(), shown.report._repr_html_(), shown.diff._repr_html_()]
    facts = _render(fragments, tmp_path)
    assert facts["pwned"] is None and facts["images"] == 0
    assert facts["scripts"] == 1  # ours; the names' <script> is text
    plan, report, diff = facts["blocks"]
    for block in (plan, report, diff):
        assert block["width"] > 100
        assert set(block["align"]) == {"left", "right"}  # right: the summary's counts only
        assert set(block["borders"]) == {"solid 1px"}
        assert block["codes"]
        for code in block["codes"]:
            assert "monospace" in code["font"]
            assert code["lines"] == 1 and len(code["text"]) == 8
            assert len(code["title"]) == 36 and code["title"].startswith(code["text"])
    names = [row["cells"][1] for row in plan["rows"]]
    assert HOSTILE in names and f"{HOSTILE} DB" in names
    for block in (plan, report):
        first, second, third = block["rows"][:3]
        assert (first["attention"], second["attention"], third["attention"]) == (
            "error",
            "warning",
            None,
        )
        assert first["background"] == "rgb(253, 231, 233)"
        assert second["background"] == "rgb(255, 244, 209)"
        assert third["background"] in {"rgba(0, 0, 0, 0)", "rgb(245, 245, 245)"}
        # the problems show; the other rows are folded away until the <details> opens
        assert block["visible"] == [True, True] + [False] * (len(block["rows"]) - 2)
        assert all(block["visibleOpen"])
    assert "visibleOpen" not in diff and all(diff["visible"])


def _png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            compressed += body
    raw = zlib.decompress(compressed)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if method == 1:
                line[x] = (line[x] + left) & 0xFF
            elif method == 2:
                line[x] = (line[x] + up) & 0xFF
            elif method == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif method == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0), (abs(guess - up), 1), (abs(guess - corner), 2))
                line[x] = (line[x] + (left, up, corner)[near[1]]) & 0xFF
        rows.append(bytes(b for i, b in enumerate(line) if i % channels < 3))
        previous = line
    return width, height, rows


@needs_chromium
def test_the_readme_screenshot_of_the_notebook_plan_is_not_blank(tmp_path: Path) -> None:
    out = tmp_path / "plan.png"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZIGGY_")}
    env.update(
        PYTHONPATH=str(Path(ziggy_migrate.__file__).resolve().parents[1]),
        ZIGGY_STATE_DIR=str(tmp_path / "state"),
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "plan_image.py"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    width, height, rows = _png(out.read_bytes())
    assert 400 < width < 1600 and 150 < height < 1000
    pixels = [row[i : i + 3] for row in rows for i in range(0, len(row), 3)]
    colours = {pixel: 0 for pixel in pixels}
    for pixel in pixels:
        colours[pixel] += 1
    assert len(colours) > 20  # text, borders, highlights: not one flat colour
    assert colours.get(bytes((253, 231, 233)), 0) > 1000  # the ambiguous row, painted
    assert colours.get(bytes((255, 244, 209)), 0) > 1000  # the secret without a value
    dark = sum(count for pixel, count in colours.items() if max(pixel) < 100)
    assert dark > 500  # text was drawn
    assert colours.get(bytes((255, 255, 255)), 0) < len(pixels) * 0.9
