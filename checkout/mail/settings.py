"""SMTP_URL and MAIL_FROM, parsed and checked; no app state, no I/O."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

DEFAULT_SENDER = "Dala Mobile Shop <receipts@localhost>"
# A sender address: ASCII, one @, a host name (receipts@localhost is fine for local use).
SENDER_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


class SmtpSecurity(enum.StrEnum):
    """How the connection to the mail server is protected."""

    STARTTLS = "smtp"  # plain connect, then STARTTLS whenever the server offers it
    TLS = "smtps"  # TLS from the first byte (implicit TLS)


# Submission with STARTTLS (RFC 6409) and submission over implicit TLS (RFC 8314).
DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over; str() never shows the credentials."""

    security: SmtpSecurity
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"{self.security}://{self.host}:{self.port}"


def parse_smtp_url(text: str) -> SmtpServer:
    """`smtp://user:pass@host:port` or `smtps://…`; ValueError says why, never echoing the URL."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("not a URL of the form smtp://user:password@host:port") from None
    try:
        security = SmtpSecurity(parts.scheme.lower())
    except ValueError:
        raise ValueError("must start with smtp:// (STARTTLS) or smtps:// (TLS)") from None
    if not parts.hostname:
        raise ValueError("names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("takes no path, query or fragment: smtp://user:password@host:port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError("has a password but no user name")
    return SmtpServer(
        security=security,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[security],
        username=username,
        password=password,
    )


def parse_sender(text: str) -> str:
    """A From header, `Name <address>` or a bare address; ValueError when it is not one."""
    found = getaddresses([text])
    name, address = found[0] if len(found) == 1 else ("", "")
    if not SENDER_ADDRESS.fullmatch(address):
        raise ValueError("must be one address, optionally with a name: Shop <receipts@example.kz>")
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))
