"""The life of a sandbox payin: creation, phone, OTP, outcome, expiry; each step one transaction."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..highhelp import statuses
from ..highhelp.statuses import PayinState
from ..highhelp.wire import DEFAULT_LIFETIME, CreatePayinRequest, PayinRequest
from ..sqltypes import utcnow
from . import operators, scenarios
from .callbacks import Outbox
from .config import SandboxConfig
from .store import SandboxDelivery, SandboxPayin, Store

MAX_WRONG_CODES = 3
MAX_RESENDS = 3
OTP_DIGITS = 6
WAITING_FOR_CODE = (statuses.AWAITING_3DS_RESULT, statuses.INVALID_VERIFICATION)

# Why a payin was declined: the code the hosted page translates, and HighHelp's description.
REASONS = {
    "wrong_codes": "declined after three wrong codes",
    "resends": "declined after more than three code re-requests",
    "operator": "the operator declined the payment",
    "expired": "payin lifetime expired",
    "cancelled": "cancelled by the merchant",
    "payer_cancelled": "cancelled by the payer",
}


def phone_problems(operator: str, phone: str) -> list[str]:
    """What is wrong with an operator and number as typed, as the page's error keys (empty if fine)."""
    problems = []
    if operators.parse(operator) is None:
        problems.append("bad_operator")
    if scenarios.normalize_phone(phone) is None:
        problems.append("bad_phone")
    return problems


def wants_number(payin: SandboxPayin) -> bool:
    """Whether the payer is at the phone step: a new payin, or one whose number is being changed."""
    return payin.state == statuses.NEW or (payin.state in WAITING_FOR_CODE and payin.otp is None)


class Refusal(Exception):
    """A request the sandbox refuses, answered in HighHelp's error shape."""

    def __init__(self, http_status: int, description: str) -> None:
        self.http_status = http_status
        self.description = description
        super().__init__(description)


def _new_otp(replacing: str | None = None) -> str:
    """A random code, never the one it replaces: a "new" code equal to the old would not be new."""
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(OTP_DIGITS))
        if code != replacing:
            return code


class Payins:
    """Every change to a payin goes through here, so each one sends its callback."""

    def __init__(
        self, store: Store, config: SandboxConfig, outbox: Outbox, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.config = config
        self.outbox = outbox
        self.clock = clock

    # -- merchant API ---------------------------------------------------------------------

    def create(self, body: dict[str, Any], fault_mode: str, fault_delay: float) -> SandboxPayin:
        """Create a payin, or return the one with the same payment_id and the same request."""
        request = CreatePayinRequest.build(body)
        general, payment = request.general, request.payment
        self._check_project(general.project_id)
        with self.store.transaction() as session:
            existing = self._by_payment_id(session, general.payment_id)
            if existing is not None:
                if existing.request_body != request.body():
                    raise Refusal(409, f"payment_id {general.payment_id!r} was already used with other data")
                return existing
            now = self.clock()
            lifetime = payment.lifetime or DEFAULT_LIFETIME
            customer = request.customer
            payin = SandboxPayin(
                project_id=general.project_id,
                payment_id=general.payment_id,
                request_id=uuid.uuid4().hex,
                form_token=secrets.token_urlsafe(32),
                request_body=request.body(),
                amount=payment.amount,
                currency=payment.currency,
                description=payment.description,
                language=customer.language if customer else None,
                redirect_url=general.redirect_url,
                callback_url=general.merchant_callback_url,
                success_url=general.merchant_success_callback_url,
                decline_url=general.merchant_decline_callback_url,
                lifetime=lifetime,
                status=statuses.NEW.status,
                sub_status=statuses.NEW.sub_status,
                fault_mode=fault_mode,
                fault_delay=fault_delay,
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(seconds=lifetime),
            )
            session.add(payin)
            session.flush()
            return payin

    def info(self, body: dict[str, Any]) -> SandboxPayin:
        """The payin a reference request names, brought up to date."""
        return self._referenced(body, lambda session, payin: None)

    def cancel(self, body: dict[str, Any]) -> SandboxPayin:
        """Decline a payin that is not final; a declined one stays as it is."""

        def cancel(session: Session, payin: SandboxPayin) -> None:
            if payin.status == statuses.Status.SUCCESS:
                raise Refusal(409, "payin already succeeded and cannot be cancelled")
            if not payin.is_final:
                self._move(session, payin, statuses.DECLINE, "cancelled")

        return self._referenced(body, cancel)

    def confirm(self, body: dict[str, Any]) -> SandboxPayin:
        """Finalize a paid payin to success [assumed: confirm means 'finish what the operator paid']."""

        def confirm(session: Session, payin: SandboxPayin) -> None:
            if payin.status == statuses.Status.SUCCESS:
                return
            if payin.state != statuses.PAID:
                raise Refusal(409, f"payin is {payin.state_key}; only a paid payin can be confirmed")
            self._move(session, payin, statuses.SUCCESS)

        return self._referenced(body, confirm)

    # -- the payer on the hosted page -----------------------------------------------------

    def by_token(self, token: str) -> SandboxPayin | None:
        """The payin behind a hosted-page token, brought up to date; None if there is none."""
        with self.store.transaction() as session:
            payin = session.execute(select(SandboxPayin).where(SandboxPayin.form_token == token)).scalar()
            if payin is not None:
                self._expire_if_due(session, payin)
        self.outbox.wake()
        return payin

    def submit_phone(self, token: str, operator: str, phone: str) -> str | None:
        """Accept the operator and number and send the OTP; an error key if they are not valid.

        A changed number gets its code without a new status (the payin is already waiting for one),
        and that code counts as a re-request, so changing numbers cannot send codes without end.
        """
        problems = phone_problems(operator, phone)
        if problems:
            return problems[0]
        number = scenarios.normalize_phone(phone)
        assert number is not None  # phone_problems found none

        def accept(session: Session, payin: SandboxPayin) -> str | None:
            if not wants_number(payin):
                return None
            payin.operator, payin.phone = operator, number
            payin.scenario = scenarios.scenario_for(number)
            if payin.scenario == scenarios.CALLBACKS_LOST:
                payin.fault_mode = "drop"
            if payin.state == statuses.NEW:
                self._move(session, payin, statuses.REQUISITES)
                payin.otp, payin.otp_sent_at = _new_otp(), self.clock()
                self._move(session, payin, statuses.AWAITING_3DS_RESULT)
            else:
                payin.resends += 1
                payin.otp, payin.otp_sent_at = _new_otp(), self.clock()
            return None

        return self._on_page(token, accept)

    def change_number(self, token: str) -> str | None:
        """Back to the phone step while a code is awaited; the old code stops working.

        Refused once no new code may be sent: the new number would need one.
        """

        def change(session: Session, payin: SandboxPayin) -> str | None:
            if payin.state not in WAITING_FOR_CODE or payin.otp is None:
                return None
            if payin.resends >= MAX_RESENDS:
                return "no_more_codes"
            payin.otp, payin.otp_sent_at = None, None
            return None

        return self._on_page(token, change)

    def cancel_by_payer(self, token: str) -> str | None:
        """The payer gave up: decline the payin as the merchant's /cancel would, with the payer's reason."""

        def cancel(session: Session, payin: SandboxPayin) -> str | None:
            self._move(session, payin, statuses.DECLINE, "payer_cancelled")
            return None

        return self._on_page(token, cancel)

    def submit_code(self, token: str, code: str) -> str | None:
        """Check an OTP and move on as the payin's scenario says; an error key for the page."""
        code = code.strip()

        def check(session: Session, payin: SandboxPayin) -> str | None:
            if payin.state not in WAITING_FOR_CODE or payin.otp is None:
                return None
            if not code:
                return "empty_code"
            self._move(session, payin, statuses.SENT_VERIFICATION)
            # As bytes: compare_digest refuses non-ASCII text, and a full-width "０００" is just wrong.
            if secrets.compare_digest(code.encode(), (payin.otp or "").encode()):
                self._finish_right_code(session, payin)
                return None
            payin.wrong_codes += 1
            self._move(session, payin, statuses.INVALID_VERIFICATION)
            if payin.wrong_codes < MAX_WRONG_CODES:
                return "wrong_code"
            self._move(session, payin, statuses.DECLINE, "wrong_codes")
            return None

        return self._on_page(token, check)

    def resend(self, token: str) -> str | None:
        """Send a new OTP once the timer allows; the fourth request declines the payin."""

        def resend(session: Session, payin: SandboxPayin) -> str | None:
            if payin.state not in WAITING_FOR_CODE or payin.otp is None:
                return None
            if self.resend_wait(payin) > 0:
                return "resend_in"
            if payin.resends >= MAX_RESENDS:
                self._move(session, payin, statuses.DECLINE, "resends")
                return None
            payin.resends += 1
            payin.otp, payin.otp_sent_at = _new_otp(replacing=payin.otp), self.clock()
            return "new_code_sent"

        return self._on_page(token, resend)

    def resend_wait(self, payin: SandboxPayin) -> int:
        """Whole seconds until a new code may be requested."""
        if payin.otp_sent_at is None:
            return 0
        unlock = payin.otp_sent_at + timedelta(seconds=self.config.resend_seconds)
        return max(0, int((unlock - self.clock()).total_seconds() + 0.999))

    # -- test control and the sender's sweep ------------------------------------------------

    def set_faults(self, payment_id: str, mode: str, delay: float) -> SandboxPayin:
        """Change how this payin's callbacks are delivered from now on."""
        with self.store.transaction() as session:
            payin = self._require(session, payment_id)
            payin.fault_mode, payin.fault_delay = mode, delay
            return payin

    def expire_now(self, payment_id: str) -> SandboxPayin:
        """End a payin's lifetime at once, as if time had run out."""
        with self.store.transaction() as session:
            payin = self._require(session, payment_id)
            payin.expires_at = self.clock()
            self._expire_if_due(session, payin)
        self.outbox.wake()
        return payin

    def by_payment_id(self, payment_id: str) -> SandboxPayin | None:
        """A payin with its deliveries and their attempts, for tests and the overview."""
        query = (
            select(SandboxPayin)
            .where(SandboxPayin.project_id == self.config.project_id, SandboxPayin.payment_id == payment_id)
            .options(selectinload(SandboxPayin.deliveries).selectinload(SandboxDelivery.attempts))
        )
        with self.store.transaction() as session:
            return session.execute(query).scalar()

    def expire_overdue(self) -> int:
        """Decline every payin whose lifetime has ended; how many there were."""
        with self.store.transaction() as session:
            overdue = session.execute(
                select(SandboxPayin).where(
                    SandboxPayin.status == statuses.Status.PROCESSING,
                    SandboxPayin.expires_at <= self.clock(),
                )
            ).scalars()
            count = 0
            for payin in overdue:
                self._expire_if_due(session, payin)
                count += 1
        if count:
            self.outbox.wake()
        return count

    # -- inside a transaction ---------------------------------------------------------------

    def _finish_right_code(self, session: Session, payin: SandboxPayin) -> None:
        scenario = payin.scenario
        if scenario == scenarios.SUCCESS_WITHOUT_PAID:
            self._move(session, payin, statuses.SUCCESS)
            return
        self._move(session, payin, statuses.PAID)
        if scenario == scenarios.OPERATOR_DECLINE:
            self._move(session, payin, statuses.DECLINE, "operator")
        elif scenario != scenarios.STAYS_PENDING:
            self._move(session, payin, statuses.SUCCESS)

    def _move(
        self, session: Session, payin: SandboxPayin, target: PayinState, reason: str | None = None
    ) -> None:
        current = payin.state
        # Lifetime end and merchant cancel decline from any step; everything else follows the seed.
        allowed = target in statuses.PROTOCOL_TRANSITIONS[current] or (
            target == statuses.DECLINE and not current.is_final
        )
        if not allowed:
            raise ValueError(f"sandbox bug: {current.key} → {target.key} is not a protocol transition")
        payin.status, payin.sub_status = target.status, target.sub_status
        payin.reason = reason
        payin.status_description = REASONS[reason] if reason else None
        payin.updated_at = self.clock()
        self.outbox.enqueue(session, payin)

    def _expire_if_due(self, session: Session, payin: SandboxPayin) -> None:
        if not payin.is_final and payin.expires_at <= self.clock():
            self._move(session, payin, statuses.DECLINE, "expired")

    def _check_project(self, project_id: str) -> None:
        if project_id != self.config.project_id:
            raise Refusal(403, f"unknown project_id {project_id!r}")

    def _by_payment_id(self, session: Session, payment_id: str) -> SandboxPayin | None:
        query = select(SandboxPayin).where(
            SandboxPayin.project_id == self.config.project_id, SandboxPayin.payment_id == payment_id
        )
        return session.execute(query).scalar()

    def _require(self, session: Session, payment_id: str) -> SandboxPayin:
        payin = self._by_payment_id(session, payment_id)
        if payin is None:
            raise Refusal(404, f"payin {payment_id!r} not found")
        return payin

    def _referenced(
        self, body: dict[str, Any], change: Callable[[Session, SandboxPayin], None]
    ) -> SandboxPayin:
        reference = PayinRequest.build(body).general
        self._check_project(reference.project_id)
        with self.store.transaction() as session:
            payin = self._require(session, reference.payment_id)
            self._expire_if_due(session, payin)
            change(session, payin)
        self.outbox.wake()
        return payin

    def _on_page(self, token: str, change: Callable[[Session, SandboxPayin], str | None]) -> str | None:
        """Apply a payer's step to a live payin; the message key for the page, if any."""
        with self.store.transaction() as session:
            payin = session.execute(select(SandboxPayin).where(SandboxPayin.form_token == token)).scalar()
            if payin is None:
                return "not_found"
            self._expire_if_due(session, payin)
            message = None if payin.is_final else change(session, payin)
        self.outbox.wake()
        return message
