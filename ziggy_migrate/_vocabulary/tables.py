"""Plain text and HTML tables, for ``str()`` and notebooks.

The renderer knows nothing of plans, reports or diffs: each of those builds its own
:class:`Table` (caption, notes, columns, rows of text), so this module needs to import
none of what it renders.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import attrs

__all__ = ["Table", "brief"]

_CELL_WIDTH = 60


def brief(names: Sequence[str], limit: int = 3) -> str:
    """``'A', 'B', 'C' and 7 more``: a few names for a short ``repr``."""
    shown = ", ".join(repr(name) for name in names[:limit])
    rest = len(names) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


@attrs.frozen
class Table:
    """A captioned table of text cells, with optional note lines under the caption."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()

    def to_text(self) -> str:
        """The caption, the notes, then the table in aligned columns (cells cut at 60)."""
        widths = [
            max([len(column)] + [min(len(row[index]), _CELL_WIDTH) for row in self.rows])
            for index, column in enumerate(self.columns)
        ]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell[:_CELL_WIDTH].ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip()

        return "\n".join(
            [self.caption, *self.notes, line(self.columns), line(["-" * w for w in widths])]
            + [line(row) for row in self.rows]
        )

    def to_html(self) -> str:
        """The table as one HTML ``<table>`` with the caption; notes are left to text."""
        head = "".join(f"<th>{html.escape(column)}</th>" for column in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows
        )
        return (
            f"<table><caption>{html.escape(self.caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
