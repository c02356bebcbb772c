"""The orders list as CSV for a spreadsheet: UTF-8 with BOM, one row at a time, formulas defused."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Iterator
from datetime import date

from flask_babel import gettext as _

from ..money import MINOR_UNITS
from .listing import OrderRow
from .order_state import STATE_LABELS, OrderState
from .periods import local_iso

# Excel reads a file as UTF-8 (Cyrillic included) only when it starts with this mark.
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows joined into one chunk of the response: fewer, larger writes; still a few kilobytes.
ROWS_PER_CHUNK = 200


class Separator(enum.StrEnum):
    """The `?sep=` choices: semicolon by default, as Excel expects in ru and kk locales."""

    SEMICOLON = "semicolon"
    COMMA = "comma"

    @property
    def character(self) -> str:
        """The character between cells."""
        return ";" if self is Separator.SEMICOLON else ","


def filename(today: date) -> str:
    """orders-YYYYMMDD.csv."""
    return f"orders-{today:%Y%m%d}.csv"


def defused(cell: str) -> str:
    """The cell with a leading apostrophe if a spreadsheet would take it for a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def decimal_amount(amount: int, currency: str) -> str:
    """15000.00 for 1500000 KZT: a number any spreadsheet reads, with a decimal point."""
    digits = MINOR_UNITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"


def header() -> list[str]:
    """The column names, in the page's language."""
    return [
        _("Order number"),
        _("Created"),
        _("State"),
        _("Amount"),
        _("Currency"),
        _("Email"),
        _("Payment ID"),
        _("Paid at"),
    ]


def cells(row: OrderRow, labels: dict[OrderState, str]) -> list[str]:
    """One order's cells, in the header's order."""
    return [
        str(row.id),
        local_iso(row.created_at),
        labels[row.state],
        decimal_amount(row.amount, row.currency),
        row.currency,
        row.email or "",
        row.payment_id or "",
        local_iso(row.paid_at),
    ]


def lines(rows: Iterable[OrderRow], separator: Separator) -> Iterator[str]:
    """The CSV text in chunks of a few rows: the BOM and header first, then every row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator.character, lineterminator="\r\n")
    # Translated once: the labels are lazy strings, each costly to render a million times over.
    labels = {state: str(label) for state, label in STATE_LABELS.items()}
    writer.writerow([defused(cell) for cell in header()])
    yield BOM + _drained(buffer)
    pending = 0
    for row in rows:
        writer.writerow([defused(cell) for cell in cells(row, labels)])
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield _drained(buffer)
            pending = 0
    if pending:
        yield _drained(buffer)


def _drained(buffer: io.StringIO) -> str:
    """What the buffer holds, leaving it empty for the next rows."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
