"""Redaction of log lines: phone numbers, emails, keys, secrets and raw bodies never reach the log."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from structlog.typing import EventDict

from ..highhelp.client import REDACTED as REDACTED  # the payment timeline's marker for a secret header, too

# Fields whose value is a secret whatever it looks like (headers, settings, form fields).
SECRET_FIELD = re.compile(r"signature|token|key|password|passwd|secret|authorization|cookie|credential", re.I)
# Fields holding a raw body: it may carry anything (phones, emails, signatures).
RAW_FIELD = re.compile(r"(?:^|_)(?:body|raw|payload)(?:$|_)", re.I)
PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.S)
# `name: value` / `name=value` / `"name": "value"` inside text, for the same secret names.
SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b((?:x-access-)?(?:signature|token|password|passwd|secret|authorization|cookie"
    r"|api[_-]?key|private[_-]?key|hmac[_-]?key))([\"']?\s*[:=]\s*)((?:bearer|basic)\s+)?"
    r"(\"[^\"]*\"|'[^']*'|[^\s\"',;&]+)"
)
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# The user and password of a URL (postgresql://user:pw@host, smtp://user:pw@host).
URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# A UUID (HighHelp's request_id, say) is kept whole, though its digits may read as a phone number;
# anything else that reads as a Kazakh number (+7, 7 or 8, then 10 digits, spaces, dashes or
# brackets between them) is not. Our payment_ids (KZ000123-1-0ced94) never hold 11 digits in a row.
UUID_OR_PHONE = re.compile(
    r"(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?<![\w+])(?:\+7|7|8)(?:[\s()-]*\d){10}(?!\w)"
)


# What every pattern above needs somewhere in a text to match at all: an @, a : or =, a PEM header,
# "bearer"/"basic", or 11 digits apart only by phone punctuation. Most fields of most lines (a route,
# an address, a status) have none of it, and one search then stands in for six substitutions.
MIGHT_HOLD_SECRET = re.compile(r"[@:=]|-----BEGIN|(?i:bearer|basic)|\d(?:[\s()-]*\d){10}")


def _phone_or_uuid(match: re.Match[str]) -> str:
    return match["uuid"] or REDACTED


def redact_text(text: str) -> str:
    """The text with PEM blocks, secrets, emails and phone numbers replaced by [redacted]."""
    return apply_every_pattern(text) if MIGHT_HOLD_SECRET.search(text) else text


def apply_every_pattern(text: str) -> str:
    """redact_text without the quick check: every pattern, in order."""
    text = PEM_BLOCK.sub(REDACTED, text)
    # Credentials after their scheme first: `Authorization: Bearer x` leaves no x behind.
    text = BEARER.sub(lambda match: f"{match[1]} {REDACTED}", text)
    text = SECRET_ASSIGNMENT.sub(lambda match: match[1] + match[2] + (match[3] or "") + REDACTED, text)
    text = URL_CREDENTIALS.sub(lambda match: f"{match['scheme']}{REDACTED}@", text)
    text = EMAIL.sub(REDACTED, text)
    return UUID_OR_PHONE.sub(_phone_or_uuid, text)


def redact_value(value: Any, field: str = "") -> Any:
    """A field's value redacted by its name, then by what it holds; plain numbers pass as they are."""
    if field and (SECRET_FIELD.search(field) or RAW_FIELD.search(field)) and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): redact_value(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    # Anything else is written as its text, so its text is what gets checked.
    return redact_text(str(value))


def redact(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact the message and every field of a line."""
    return {key: redact_value(value, key) for key, value in event_dict.items()}
