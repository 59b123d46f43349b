"""Plain text and HTML tables, for ``str()`` and notebooks, and data frames.

The renderer knows nothing of plans, reports or diffs: each of those builds its own
:class:`Table` (caption, notes, columns, rows of cells, which rows need attention, which
two columns the summary counts), so this module needs to import none of what it renders.

The HTML is one self-contained fragment with every style inline, so it looks the same in
Jupyter (whose own CSS right-aligns cells, drops borders and centres tables), in VS Code
and in a plain browser, and no stylesheet leaks into the page around it. Every text and
attribute is escaped. What a person looks for comes first: a summary (counts by two
columns), then the rows that need attention, highlighted; a long table folds the other
rows into a ``<details>``, and a long list inside a cell folds the same way.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

from .errors import MissingDependencyError

__all__ = [
    "Attention",
    "Cell",
    "Row",
    "Table",
    "a_few",
    "brief",
    "data_frame",
    "list_cell",
    "uuid_cell",
]

Attention = Literal["error", "warning"]
"""Why a row stands out: ``error`` (it will fail or failed), ``warning`` (it needs a hand)."""

_CELL_WIDTH = 60
_SHORT_UUID = 8
_FOLD_ROWS = 20  # more rows than this: those not needing attention fold away
_FOLD_ITEMS = 5  # more list items than this in a cell: all but the first 3 fold away
_FOLD_NOTES = 5

_FONT = (
    "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;"
    "font-size:13px;line-height:1.45;text-align:left"
)
_MONO = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace;"
    "font-size:12px;white-space:nowrap;background:none;padding:0"
)
_TABLE = (
    "border-collapse:collapse;border-spacing:0;table-layout:auto;width:auto;"
    "margin:4px auto 8px 0;border:1px solid #c8ccd1;font-size:13px"
)
_BORDER = "border:1px solid #c8ccd1;padding:3px 8px;text-align:left;max-width:none"
_TH = f"{_BORDER};vertical-align:bottom;background:#eef0f3;color:#1f2328;font-weight:600"
_TD = f"{_BORDER};vertical-align:top"
_NUMBER = f"{_BORDER};vertical-align:top;text-align:right;font-variant-numeric:tabular-nums"
_LOOK: dict[Attention, str] = {
    "error": "background:#fde7e9;color:#5f1016",
    "warning": "background:#fff4d1;color:#4d3800",
}
_BAR: dict[Attention, str] = {
    "error": "border-left:4px solid #cf222e",
    "warning": "border-left:4px solid #bf8700",
}
_RANK: dict[Attention | None, int] = {"error": 0, "warning": 1, None: 2}
_SUMMARY = "cursor:pointer;margin:2px 0;color:inherit"


def a_few(texts: Sequence[str], limit: int) -> str:
    """``A, B, C and 7 more``: the first ``limit`` of ``texts``, and how many are left
    out, for one line of a message."""
    shown = ", ".join(texts[:limit])
    rest = len(texts) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def brief(names: Sequence[str], limit: int = 3) -> str:
    """``'A', 'B', 'C' and 7 more``: a few names for a short ``repr``."""
    return a_few([repr(name) for name in names], limit)


@attrs.frozen
class Cell:
    """One table cell.

    ``text`` is what is shown; ``full`` is the whole value when ``text`` is a shortened
    form of it (shown on hover, and used in plain text); ``code`` sets it in monospace;
    ``items`` make the cell a list, folded in HTML when long.
    """

    text: str
    full: str = ""
    code: bool = False
    items: tuple[Cell, ...] = ()

    @property
    def plain(self) -> str:
        """The cell as plain text: the whole value, a list joined with commas."""
        if self.items:
            return ", ".join(item.plain for item in self.items)
        return self.full or self.text


def uuid_cell(uuid: str | None) -> Cell:
    """A UUID shown by its first 8 characters in monospace, the whole one on hover."""
    if not uuid:
        return Cell("")
    return Cell(uuid[:_SHORT_UUID], full=uuid, code=True)


def list_cell(items: Iterable[Cell | str]) -> Cell:
    """A cell holding a list (field paths, candidate UUIDs, ...)."""
    cells = tuple(item if isinstance(item, Cell) else Cell(item) for item in items)
    return Cell(", ".join(item.text for item in cells), items=cells)


@attrs.frozen
class Row:
    """One row of cells; ``attention`` makes it come first, highlighted, in HTML."""

    cells: tuple[Cell | str, ...]
    attention: Attention | None = None


def _rows(rows: Iterable[Row | Sequence[Cell | str]]) -> tuple[Row, ...]:
    return tuple(row if isinstance(row, Row) else Row(tuple(row)) for row in rows)


def _plain(cell: Cell | str) -> str:
    return cell.plain if isinstance(cell, Cell) else cell


@attrs.frozen
class Table:
    """A captioned table of cells, with optional note lines under the caption.

    ``summary`` names two columns (``("kind", "action")``): the HTML starts with how many
    rows hold each pair of their values.
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...] = attrs.field(converter=_rows)
    notes: tuple[str, ...] = ()
    summary: tuple[str, str] | None = None

    def __attrs_post_init__(self) -> None:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(f"a row has {len(row.cells)} cells for {len(self.columns)}")
        if self.summary is not None and not set(self.summary) <= set(self.columns):
            raise ValueError(f"summary columns {self.summary} are not all in {self.columns}")

    # ---- plain text

    def to_text(self) -> str:
        """The caption, the notes, then the table in aligned columns (cells cut at 60)."""
        rows = [[_plain(cell) for cell in row.cells] for row in self.rows]
        widths = [
            max([len(column)] + [min(len(row[index]), _CELL_WIDTH) for row in rows])
            for index, column in enumerate(self.columns)
        ]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell[:_CELL_WIDTH].ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip()

        return "\n".join(
            [self.caption, *self.notes, line(self.columns), line(["-" * w for w in widths])]
            + [line(row) for row in rows]
        )

    # ---- HTML

    def to_html(self, *, fold_after: int = _FOLD_ROWS) -> str:
        """One self-contained, inline-styled HTML fragment (see the module docstring).

        With more than ``fold_after`` rows, the rows that need no attention are folded
        into a closed ``<details>`` under those that do.
        """
        ordered = sorted(self.rows, key=lambda row: _RANK[row.attention])
        flagged = [row for row in ordered if row.attention is not None]
        parts = [f'<div class="ziggy-table" style="{_FONT}">', self._heading_html(flagged)]
        parts.append(self._notes_html())
        if self.summary is not None and self.rows:
            parts.append(self._summary_html(*self.summary))
        if len(self.rows) <= fold_after:
            if self.rows:
                parts.append(self._table_html(ordered))
        else:
            rest = ordered[len(flagged) :]
            if flagged:
                parts.append(self._table_html(flagged))
            label = f"show the other {len(rest)} rows" if flagged else f"show all {len(rest)} rows"
            parts.append(
                f'<details style="margin:4px 0"><summary style="{_SUMMARY}">'
                f"{_e(label)}</summary>{self._table_html(rest)}</details>"
            )
        parts.append("</div>")
        return "".join(parts)

    def _heading_html(self, flagged: Sequence[Row]) -> str:
        heading = f'<div style="font-weight:600;margin:2px 0 4px 0">{_e(self.caption)}'
        if flagged:
            worst = flagged[0].attention or "warning"
            verb = "needs" if len(flagged) == 1 else "need"
            heading += (
                f' <span data-role="attention-count" style="{_LOOK[worst]};font-weight:600;'
                f'padding:1px 6px;border-radius:3px;margin-left:4px">'
                f"{len(flagged)} {verb} attention</span>"
            )
        return heading + "</div>"

    def _notes_html(self) -> str:
        if not self.notes:
            return ""
        items = "".join(f'<li style="margin:1px 0">{_e(note)}</li>' for note in self.notes)
        block = f'<ul style="margin:2px 0 6px 0;padding-left:20px">{items}</ul>'
        if len(self.notes) <= _FOLD_NOTES:
            return block
        return (
            f'<details style="margin:2px 0"><summary style="{_SUMMARY}">'
            f"{len(self.notes)} notes</summary>{block}</details>"
        )

    def _summary_html(self, down: str, across: str) -> str:
        """Counts of rows by the values of two columns, with totals; a pair that holds a
        row needing attention takes that row's colour."""
        first, second = self.columns.index(down), self.columns.index(across)
        labels: dict[str, None] = {}
        heads: dict[str, None] = {}
        counts: dict[tuple[str, str], int] = {}
        worst: dict[tuple[str, str], Attention] = {}
        for row in self.rows:
            key = (_plain(row.cells[first]), _plain(row.cells[second]))
            labels.setdefault(key[0])
            heads.setdefault(key[1])
            counts[key] = counts.get(key, 0) + 1
            if row.attention is not None and _RANK[row.attention] < _RANK[worst.get(key)]:
                worst[key] = row.attention
        corner = f"{down} \N{MULTIPLICATION SIGN} {across}"
        head = "".join(f'<th style="{_TH}">{_e(text)}</th>' for text in (corner, *heads, "total"))
        body = []
        for label in labels:
            cells = [f'<th style="{_TH}" scope="row">{_e(label)}</th>']
            for column in heads:
                count = counts.get((label, column), 0)
                look = _LOOK[worst[(label, column)]] + ";" if (label, column) in worst else ""
                cells.append(f'<td style="{look}{_NUMBER}">{count or ""}</td>')
            total = sum(counts.get((label, column), 0) for column in heads)
            cells.append(f'<td style="{_NUMBER};font-weight:600">{total}</td>')
            body.append(f"<tr>{''.join(cells)}</tr>")
        totals = [f'<th style="{_TH}" scope="row">total</th>']
        for column in heads:
            total = sum(counts.get((label, column), 0) for label in labels)
            totals.append(f'<td style="{_NUMBER};font-weight:600">{total}</td>')
        totals.append(f'<td style="{_NUMBER};font-weight:600">{len(self.rows)}</td>')
        body.append(f"<tr>{''.join(totals)}</tr>")
        return (
            f'<table data-role="summary" style="{_TABLE}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def _table_html(self, rows: Sequence[Row]) -> str:
        head = "".join(f'<th style="{_TH}">{_e(column)}</th>' for column in self.columns)
        body = "".join(_row_html(row) for row in rows)
        return (
            f'<table data-role="items" style="{_TABLE}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )


def _row_html(row: Row) -> str:
    if row.attention is None:
        cells = "".join(f'<td style="{_TD}">{_cell_html(cell)}</td>' for cell in row.cells)
        return f"<tr>{cells}</tr>"
    look = _LOOK[row.attention]
    cells = "".join(
        f'<td style="{look};{_TD}{";" + _BAR[row.attention] if index == 0 else ""}">'
        f"{_cell_html(cell)}</td>"
        for index, cell in enumerate(row.cells)
    )
    return f'<tr data-attention="{row.attention}">{cells}</tr>'


def _cell_html(cell: Cell | str) -> str:
    if isinstance(cell, str):
        return _e(cell)
    if cell.items:
        shown = [_cell_html(item) for item in cell.items]
        if len(shown) <= _FOLD_ITEMS:
            return ", ".join(shown)
        return (
            f"{', '.join(shown[:3])}"
            f'<details style="margin:0"><summary style="{_SUMMARY}">'
            f"and {len(shown) - 3} more</summary>{', '.join(shown[3:])}</details>"
        )
    title = f' title="{_e(cell.full)}"' if cell.full and cell.full != cell.text else ""
    if cell.code:
        return f'<code style="{_MONO}"{title}>{_e(cell.text)}</code>'
    return f"<span{title}>{_e(cell.text)}</span>" if title else _e(cell.text)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# ---- data frames


def data_frame(columns: Sequence[str], records: Iterable[Sequence[object]]) -> Any:
    """A ``pandas.DataFrame`` of ``records`` (one sequence of values per row).

    pandas is an optional extra (``pip install 'ziggy-migrate[pandas]'``); without it this
    raises :class:`MissingDependencyError` (an ``ImportError`` too) saying so.
    """
    try:
        import pandas  # noqa: PLC0415 - optional: imported only when asked for
    except ImportError as error:
        raise MissingDependencyError(
            "to_dataframe() needs pandas, which is not installed: "
            "pip install 'ziggy-migrate[pandas]'",
            name="pandas",
        ) from error
    return pandas.DataFrame.from_records(list(records), columns=list(columns))
