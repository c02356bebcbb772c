"""Receipts by email: queued with the paid order, sent by the worker to a real SMTP server, retried."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from checkout.extensions import db
from checkout.mail.drain import drain
from checkout.mail.outbox import CLAIM_LEASE, FIRST_BACKOFF, MAX_ATTEMPTS, claim_next, enqueue_receipt
from checkout.mail.transport import SMTP_TIMEOUT
from checkout.models import MailKind, MailStatus, Order, OrderLine, OutgoingMail, Product
from checkout.shop.catalog import load_demo_products
from tests.checkout_support import alert_body, make_attempt, post_alert
from tests.processes import free_port

BASE_URL = "https://shop.example.kz"
CUSTOMER = "aigerim.customer@example.kz"
ALMATY = dt.timezone(timedelta(hours=5))
RUSSIAN_MONTHS = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps what it accepts, refuses as the test says."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    refuse_data: str | None = None
    refuse_recipient: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipient:
            return self.refuse_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_data:
            return self.refuse_data
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@contextmanager
def smtp_server(inbox: Inbox, port: int | None = None, **options: Any) -> Iterator[int]:
    """A real SMTP server on a loopback port (aiosmtpd in a thread); its port."""
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_port(inbox: Inbox) -> Iterator[int]:
    with smtp_server(inbox) as port:
        yield port


@pytest.fixture
def shop(make_app: Callable[..., Flask], smtp_port: int) -> Flask:
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", PUBLIC_BASE_URL=BASE_URL)
    with app.app_context():
        load_demo_products()
    return app


def place_order(app: Flask, language: str = "ru", email_address: str | None = CUSTOMER) -> str:
    """An unpaid order of a catalogue product (×2) and a line written by staff; its token."""
    with app.app_context():
        dombra = db.session.execute(select(Product).where(Product.name_en == "Dombra")).scalar_one()
        order = Order(
            amount=2 * dombra.price + 150_000,
            currency="KZT",
            description="Order for a test",
            email=email_address,
            language=language,
        )
        order.lines.append(
            OrderLine(product_id=dombra.id, name="Dombra", unit_price=dombra.price, quantity=2)
        )
        order.lines.append(OrderLine(name="Gift wrap", unit_price=150_000, quantity=1))
        db.session.add(order)
        db.session.commit()
        return order.token


def pay(app: Flask, token: str, payment_id: str = "pay-1") -> None:
    """HighHelp's signed success alert for a new attempt at the order, as the callback URL gets it."""
    with app.app_context():
        amount = db.session.execute(select(Order.amount).where(Order.token == token)).scalar_one()
    make_attempt(app, token, payment_id)
    response = post_alert(app.test_client(), alert_body(payment_id, "success", amount=amount))
    assert response.status_code == 200, response.get_data(as_text=True)


def outbox(app: Flask) -> list[OutgoingMail]:
    with app.app_context():
        rows = list(db.session.execute(select(OutgoingMail).order_by(OutgoingMail.id)).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows


def send(app: Flask, now: datetime | None = None) -> Any:
    with app.app_context():
        return drain(now)


def paid_at(app: Flask, token: str) -> datetime:
    with app.app_context():
        found = db.session.execute(select(Order.paid_at).where(Order.token == token)).scalar_one()
        assert found is not None
        return found


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def test_a_paid_order_gets_one_receipt_in_its_language(shop: Flask, inbox: Inbox) -> None:
    token = place_order(shop, "ru")
    pay(shop, token)
    # HighHelp repeats its alert and the reconciler reads the same success: still one receipt.
    post_alert(shop.test_client(), alert_body("pay-1", "success", amount=2 * 4_500_000 + 150_000))
    [queued] = outbox(shop)
    assert (queued.kind, queued.status, queued.recipient) == (MailKind.RECEIPT, MailStatus.PENDING, CUSTOMER)
    assert inbox.messages == [], "nothing is sent from the callback's request"

    assert send(shop).sent == 1
    assert send(shop).sent == 0
    [message] = inbox.messages
    assert inbox.envelopes == [("receipts@localhost", [CUSTOMER])]
    assert message["To"] == CUSTOMER
    assert message["From"] == "Dala Mobile Shop <receipts@localhost>"
    with shop.app_context():
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        number = order.id
    assert str(number) in message["Subject"]
    assert "Dala Mobile Shop" in message["Subject"]
    assert message["Content-Language"] == "ru"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = parts(message)
    local = paid_at(shop, token).astimezone(ALMATY)
    for body in (text, html):
        assert "Домбра × 2" in body, "the product's own Russian name"
        assert "Gift wrap × 1" in body, "a line written by staff, as written"
        assert "90\u00a0000,00\u00a0₸" in body
        assert "Итого" in body
        assert "91\u00a0500,00\u00a0₸" in body
        assert f"{local:%H:%M}" in body
        assert f"{local.day} {RUSSIAN_MONTHS[local.month - 1]} {local.year}" in body
        assert "pay-1" in body
        assert f"{BASE_URL}/orders/{token}?lang=ru" in body
    assert f'href="{BASE_URL}/orders/{token}?lang=ru"' in html
    assert '<html lang="ru">' in html
    assert [row.status for row in outbox(shop)] == [MailStatus.SENT]


def test_the_receipt_follows_the_order_language(shop: Flask, inbox: Inbox) -> None:
    token = place_order(shop, "kk")
    pay(shop, token)
    send(shop)
    [message] = inbox.messages
    text, _ = parts(message)
    assert "Домбыра × 2" in text
    assert "Барлығы" in text  # "Total"
    assert f"{BASE_URL}/orders/{token}?lang=kk" in text


def test_no_email_no_receipt(shop: Flask, inbox: Inbox) -> None:
    pay(shop, place_order(shop, email_address=None))
    assert outbox(shop) == []
    assert send(shop).sent == 0
    assert inbox.messages == []


def test_the_database_holds_one_receipt_per_order(shop: Flask) -> None:
    token = place_order(shop)
    pay(shop, token)
    with shop.app_context():
        [row] = db.session.execute(select(OutgoingMail)).scalars()
        # The use case's own insert does nothing a second time …
        assert enqueue_receipt(row.order_id, row.payment_ref or 0) is False
        db.session.commit()
        # … and a plain insert is refused by the unique index.
        db.session.add(OutgoingMail(kind=MailKind.RECEIPT, order_id=row.order_id, recipient=CUSTOMER))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert len(outbox(shop)) == 1


def test_a_second_payment_of_a_paid_order_sends_no_second_receipt(shop: Flask, inbox: Inbox) -> None:
    token = place_order(shop)
    pay(shop, token, "pay-1")
    # Money came twice: the second success is flagged for review, and the customer gets no second receipt.
    pay(shop, token, "pay-2")
    assert len(outbox(shop)) == 1
    send(shop)
    assert len(inbox.messages) == 1
    assert "pay-1" in parts(inbox.messages[0])[0]


def test_a_refusal_keeps_the_message_and_the_next_drain_sends_it(shop: Flask, inbox: Inbox) -> None:
    pay(shop, place_order(shop))
    inbox.refuse_data = "451 4.3.0 Try again later"
    first = datetime.now(UTC)
    done = send(shop, first)
    assert (done.sent, done.retrying) == (0, 1)
    [row] = outbox(shop)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 1)
    assert row.last_error is not None
    assert "451" in row.last_error
    assert row.next_attempt_at >= first + FIRST_BACKOFF
    # Not due yet: a drain right away leaves it alone, even with the server back.
    inbox.refuse_data = None
    assert send(shop, first + timedelta(seconds=1)).sent == 0
    assert inbox.messages == []
    assert send(shop, first + FIRST_BACKOFF + timedelta(seconds=1)).sent == 1
    assert len(inbox.messages) == 1
    [row] = outbox(shop)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.SENT, 2, None)


def test_a_server_outage_loses_nothing(make_app: Callable[..., Flask]) -> None:
    inbox = Inbox()
    port = free_port()
    shop = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}", PUBLIC_BASE_URL=BASE_URL)
    with shop.app_context():
        load_demo_products()
    for number in range(3):
        pay(shop, place_order(shop), f"pay-{number}")
    first = datetime.now(UTC)
    # Nobody listens: the first message fails, the others wait for the next sweep untouched.
    done = send(shop, first)
    assert (done.sent, done.retrying) == (0, 1)
    assert sorted(row.attempts for row in outbox(shop)) == [0, 0, 1]
    assert all(row.status == MailStatus.PENDING for row in outbox(shop))
    with smtp_server(inbox, port):
        assert send(shop, first + timedelta(minutes=2)).sent == 3
    assert len(inbox.messages) == 3
    assert {row.status for row in outbox(shop)} == {MailStatus.SENT}


def test_a_permanent_refusal_is_given_up_at_once_and_logged(
    shop: Flask, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    pay(shop, place_order(shop))
    inbox.refuse_recipient = f"550 5.1.1 <{CUSTOMER}>: no such mailbox"
    with caplog.at_level(logging.WARNING, logger="checkout.mail"):
        done = send(shop)
    assert (done.sent, done.failed) == (0, 1)
    [row] = outbox(shop)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 1)
    assert row.last_error is not None
    assert "550" in row.last_error
    assert CUSTOMER not in row.last_error
    assert "a***@example.kz" in row.last_error
    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "given up" in record.getMessage()
    assert CUSTOMER not in caplog.text
    assert send(shop, datetime.now(UTC) + timedelta(days=1)).sent == 0


def test_temporary_failures_are_given_up_after_the_last_attempt(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    shop = make_app(SMTP_URL=f"smtp://127.0.0.1:{free_port()}", PUBLIC_BASE_URL=BASE_URL)
    with shop.app_context():
        load_demo_products()
    pay(shop, place_order(shop))
    moment = datetime.now(UTC)
    waits = []
    with caplog.at_level(logging.WARNING, logger="checkout.mail"):
        for _ in range(MAX_ATTEMPTS):
            send(shop, moment)
            [row] = outbox(shop)
            waits.append(row.next_attempt_at - moment)
            moment = row.next_attempt_at
    assert (row.status, row.attempts) == (MailStatus.FAILED, MAX_ATTEMPTS)
    minutes = [round(wait / timedelta(minutes=1)) for wait in waits[:-1]]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60][: MAX_ATTEMPTS - 1]
    assert any(
        record.levelno == logging.ERROR and "given up" in record.getMessage() for record in caplog.records
    )
    assert CUSTOMER not in caplog.text


def test_without_smtp_url_messages_are_eml_files(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    shop = make_app(PUBLIC_BASE_URL=BASE_URL, MAIL_FROM="Dala <receipts@shop.example.kz>")
    with shop.app_context():
        load_demo_products()
    token = place_order(shop, "en")
    pay(shop, token)
    assert send(shop).sent == 1
    [path] = (tmp_path / "instance" / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["To"] == CUSTOMER
    assert message["From"] == "Dala <receipts@shop.example.kz>"
    assert message["Message-ID"].endswith("@shop.example.kz>")
    text, html = parts(message)
    assert "Dombra × 2" in text
    assert "Dombra × 2" in html
    assert "Thank you! Your order" in text
    assert "Astana time" in text
    assert f"{paid_at(shop, token).astimezone(ALMATY):%H:%M}" in text
    assert f"{BASE_URL}/orders/{token}?lang=en" in html


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def server_tls(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def test_smtps_speaks_tls_from_the_first_byte_and_checks_the_certificate(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path)
    inbox = Inbox()
    with smtp_server(inbox, ssl_context=server_tls(cert_path, key_path)) as port:
        shop = make_app(SMTP_URL=f"smtps://localhost:{port}", PUBLIC_BASE_URL=BASE_URL)
        with shop.app_context():
            load_demo_products()
        pay(shop, place_order(shop))
        # The certificate is not trusted yet: nothing is handed over, the message waits.
        first = datetime.now(UTC)
        assert send(shop, first).retrying == 1
        [row] = outbox(shop)
        assert row.last_error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
        assert send(shop, first + timedelta(minutes=2)).sent == 1
    assert len(inbox.messages) == 1


def test_smtp_upgrades_with_starttls_and_signs_in_with_the_decoded_credentials(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    inbox = Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        inbox.logins.append((data.login, data.password))
        return AuthResult(
            success=(data.login, data.password) == (b"shop@example.kz", b"p@ss:w/rd%"), handled=False
        )

    options = {"tls_context": server_tls(cert_path, key_path), "authenticator": authenticator}
    # aiosmtpd refuses AUTH before STARTTLS (auth_require_tls), so a sign-in proves the upgrade.
    with smtp_server(inbox, auth_require_tls=True, auth_required=True, **options) as port:
        url = f"smtp://shop%40example.kz:p%40ss%3Aw%2Frd%25@localhost:{port}"
        shop = make_app(SMTP_URL=url, PUBLIC_BASE_URL=BASE_URL)
        with shop.app_context():
            load_demo_products()
        pay(shop, place_order(shop))
        assert send(shop).sent == 1
    assert inbox.logins == [(b"shop@example.kz", b"p@ss:w/rd%")]
    assert len(inbox.messages) == 1


def test_a_password_is_never_sent_to_a_server_without_tls(
    make_app: Callable[..., Flask], inbox: Inbox, smtp_port: int
) -> None:
    # The test server offers no STARTTLS.
    shop = make_app(SMTP_URL=f"smtp://user:secret@127.0.0.1:{smtp_port}", PUBLIC_BASE_URL=BASE_URL)
    with shop.app_context():
        load_demo_products()
    pay(shop, place_order(shop))
    assert send(shop).sent == 0
    [row] = outbox(shop)
    assert row.status == MailStatus.PENDING
    assert row.last_error is not None
    assert "STARTTLS" in row.last_error
    assert "secret" not in row.last_error
    assert inbox.messages == []


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (a stalled mail server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_a_callback_is_answered_at_once_while_the_mail_server_stalls(make_app: Callable[..., Flask]) -> None:
    with silent_server() as port:
        shop = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}", PUBLIC_BASE_URL=BASE_URL)
        with shop.app_context():
            load_demo_products()
        token = place_order(shop)
        make_attempt(shop, token, "pay-1")
        started = time.monotonic()
        response = post_alert(shop.test_client(), alert_body("pay-1", "success", amount=9_150_000))
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.get_json()["verdict"] == "applied"
    # Far below one SMTP step's timeout: the request never talks to the mail server.
    assert elapsed < SMTP_TIMEOUT / 2
    [row] = outbox(shop)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 0)


def test_the_worker_sweep_and_the_mail_command_send_the_outbox(shop: Flask, inbox: Inbox) -> None:
    pay(shop, place_order(shop), "pay-1")
    result = shop.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "mail: sent 1 email(s)" in result.output
    pay(shop, place_order(shop), "pay-2")
    result = shop.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1 email(s); 0 to retry, 0 given up" in result.output
    assert len(inbox.messages) == 2


def test_two_senders_at_once_send_each_message_once(
    shop: Flask, inbox: Inbox, make_app: Callable[..., Flask], smtp_port: int
) -> None:
    for number in range(12):
        pay(shop, place_order(shop), f"pay-{number}")
    # Two worker processes: two apps with their own connections, draining at the same moment.
    other = make_app(SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", PUBLIC_BASE_URL=BASE_URL)
    start = threading.Barrier(2)
    counts: list[int] = []

    def work(app: Flask) -> None:
        start.wait()
        counts.append(send(app).sent)

    workers = [threading.Thread(target=work, args=(app,)) for app in (shop, other)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sum(counts) == 12
    recipients = [message["Subject"] for message in inbox.messages]
    assert len(recipients) == 12
    assert len(set(recipients)) == 12
    assert {row.status for row in outbox(shop)} == {MailStatus.SENT}
    assert {row.attempts for row in outbox(shop)} == {1}


def test_a_sender_that_stops_mid_send_leaves_the_message_to_the_next_after_its_claim(
    shop: Flask, inbox: Inbox
) -> None:
    pay(shop, place_order(shop))
    first = datetime.now(UTC)
    with shop.app_context():
        # A worker claims the message and is killed before it says how the sending went.
        assert claim_next(first) is not None
    assert send(shop, first + timedelta(seconds=1)).sent == 0
    assert inbox.messages == []
    assert send(shop, first + CLAIM_LEASE + timedelta(seconds=1)).sent == 1
    [row] = outbox(shop)
    assert (row.status, row.attempts) == (MailStatus.SENT, 2)


def test_a_refused_sign_in_holds_every_message_until_the_password_is_fixed(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    inbox = Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(success=data.password == b"right", handled=False)

    options = {"tls_context": server_tls(cert_path, key_path), "authenticator": authenticator}
    with smtp_server(inbox, auth_required=True, **options) as port:
        wrong = make_app(SMTP_URL=f"smtp://shop:wrong@localhost:{port}", PUBLIC_BASE_URL=BASE_URL)
        with wrong.app_context():
            load_demo_products()
        for number in range(2):
            pay(wrong, place_order(wrong), f"pay-{number}")
        first = datetime.now(UTC)
        assert send(wrong, first).retrying == 1
        # The second message was not even tried: the refusal was about our settings, not the message.
        assert sorted(row.attempts for row in outbox(wrong)) == [0, 1]
        [error] = [row.last_error for row in outbox(wrong) if row.last_error]
        assert "535" in error
        assert "wrong" not in error
        fixed = make_app(SMTP_URL=f"smtp://shop:right@localhost:{port}", PUBLIC_BASE_URL=BASE_URL)
        assert send(fixed, first + timedelta(minutes=2)).sent == 2
    assert len(inbox.messages) == 2


def test_given_up_messages_can_be_queued_again(shop: Flask, inbox: Inbox) -> None:
    pay(shop, place_order(shop))
    inbox.refuse_recipient = "550 5.7.1 Mailbox disabled"
    send(shop)
    assert [row.status for row in outbox(shop)] == [MailStatus.FAILED]
    inbox.refuse_recipient = None
    result = shop.test_cli_runner().invoke(args=["mail", "send", "--retry-failed"])
    assert result.exit_code == 0, result.output
    assert "1 given-up email(s) queued again" in result.output
    assert "sent 1 email(s)" in result.output
    assert len(inbox.messages) == 1
    [row] = outbox(shop)
    assert (row.status, row.attempts) == (MailStatus.SENT, 1)
