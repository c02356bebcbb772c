"""URL converters: a path part the database could not hold never reaches a query (404 instead)."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

# PostgreSQL's `integer`, the type of every id column: a larger number would reach the database
# and fail there instead of being a plain "not found".
MAX_DATABASE_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<id:name>`: ASCII digits naming 1 … 2**31-1; anything else does not match (404)."""

    # ASCII only: \d would also let other scripts' digits (Arabic-Indic, Devanagari…) name a row.
    regex = r"[0-9]+"

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_DATABASE_ID)


class TextConverter(UnicodeConverter):
    """`<name>` and `<string:name>`: werkzeug's, without control characters."""

    def __init__(
        self, url_map: Map, minlength: int = 1, maxlength: int | None = None, length: int | None = None
    ) -> None:
        super().__init__(url_map, minlength, maxlength, length)
        # PostgreSQL text cannot hold NUL (a query with one fails), and no token or SKU has a
        # control character: such a path names nothing. Same length rule as werkzeug's.
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]", 1)


def init_app(app: Flask) -> None:
    """Make these the app's converters; call before the blueprints add their routes."""
    app.url_map.converters.update(id=DatabaseIdConverter, default=TextConverter, string=TextConverter)
