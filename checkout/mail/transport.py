"""Handing a message over: to the SMTP server of SMTP_URL, or, without one, to an .eml file."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from .settings import SmtpSecurity, SmtpServer

# Seconds each step of an SMTP conversation (connect, each command) may take.
SMTP_TIMEOUT = 10.0
# Refusals of our own settings (greeting, sign-in, sender), the same for every message.
SETTINGS_REFUSED = (smtplib.SMTPConnectError, smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused)


class SendFailed(Exception):
    """The message was not handed over; `permanent` when trying again cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ServerUnreachable(SendFailed):
    """The server takes no message from us now (down, silent, no TLS, our sign-in or sender refused):
    the next ones wait too."""


class Transport(Protocol):
    """Somewhere messages go."""

    def send(self, message: EmailMessage) -> None:
        """Hand `message` over or raise SendFailed."""


class FileTransport:
    """Writes each message as an .eml file, for local use without a mail server."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        """`<Message-ID>.eml` in the folder; written whole, then renamed, so no half file is read."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").replace("@", "_at_").replace("/", "_")
        target = self.folder / f"{name}.eml"
        partial = target.with_suffix(".eml.partial")
        try:
            partial.write_bytes(message.as_bytes())
            partial.replace(target)
        except OSError as exc:
            raise SendFailed(f"cannot write {target}: {exc.strerror}") from exc


class SmtpTransport:
    """One SMTP conversation per message, as SMTP_URL says."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    def send(self, message: EmailMessage) -> None:
        """Deliver to the server; SendFailed says whether a retry can help (see _failure)."""
        try:
            with self._connect() as smtp:
                smtp.ehlo()
                self._secure(smtp)
                if self.server.username is not None:
                    smtp.login(self.server.username, self.server.password or "")
                smtp.send_message(message)
        except smtplib.SMTPException as exc:
            raise _failure(exc) from exc
        except (OSError, ssl.SSLError) as exc:
            raise ServerUnreachable(f"{self.server}: {exc.__class__.__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.server.security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(self.server.host, self.server.port, timeout=SMTP_TIMEOUT, context=context)
        # The host given here is also the name STARTTLS checks the certificate against.
        return smtplib.SMTP(self.server.host, self.server.port, timeout=SMTP_TIMEOUT)

    def _secure(self, smtp: smtplib.SMTP) -> None:
        """STARTTLS whenever offered; a password never crosses the network in clear."""
        if self.server.security is SmtpSecurity.TLS:
            return
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        elif self.server.username is not None:
            raise ServerUnreachable(f"{self.server} offers no STARTTLS: the password is never sent in clear")


def _failure(exc: smtplib.SMTPException) -> SendFailed:
    """A 5xx refusal of the message itself is permanent; anything else (4xx, sign-in, a dropped
    connection) may pass, so it is retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(f"{code} {_text(reply)}" for code, reply in exc.recipients.values())
        return SendFailed(f"recipient refused: {text}", permanent=all(code >= 500 for code in codes))
    if isinstance(exc, smtplib.SMTPDataError):
        return SendFailed(f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ServerUnreachable(f"server: {exc}")
    if isinstance(exc, SETTINGS_REFUSED):
        # Our settings (SMTP_URL, MAIL_FROM), not this message: every message waits, and once they
        # are fixed every queued receipt goes.
        return ServerUnreachable(f"{exc.__class__.__name__}: {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendFailed(f"{exc.__class__.__name__}: {exc.smtp_code} {_text(exc.smtp_error)}")
    return SendFailed(f"{exc.__class__.__name__}: {exc}")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def transport_for(server: SmtpServer | None, folder: Path) -> Transport:
    """SMTP when SMTP_URL is set, else .eml files in `folder`."""
    return FileTransport(folder) if server is None else SmtpTransport(server)
