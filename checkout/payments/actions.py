"""What a person does to a payment: staff re-check, cancel, confirm, resolve; a customer cancels.

Each use case is one transaction, written after HighHelp has answered (no lock is held while it
answers), and records one event with who, what and HighHelp's answer. Local state changes only
through what HighHelp says, applied like a callback; a refusal or an outage changes nothing.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import begin_write
from ..extensions import db
from ..gateway import highhelp_client
from ..highhelp import Busy, HighHelpError, Rejected, statuses
from ..highhelp.statuses import PayinState
from ..highhelp.wire import PayinAnswer
from ..models import EventKind, EventSource, Payment, ReviewResolution
from . import events
from .refresh import ask_highhelp
from .reports import record_report
from .review_queue import ItemKind, ReviewItem, find_item, resolution_exists
from .states import Transition

# A note long enough for a refund reference and a sentence or two; longer is a paste by mistake.
NOTE_MAX_LENGTH = 2000


class ActionOutcome(enum.StrEnum):
    """How a call to HighHelp on a person's behalf went."""

    ANSWERED = "answered"  # HighHelp answered; its state was applied like a callback
    REFUSED = "refused"  # HighHelp answered no: nothing changed here
    UNAVAILABLE = "unavailable"  # no usable answer (down, slow, garbled): nothing changed here
    BUSY = "busy"  # other calls hold every slot: nothing was sent
    NOT_ALLOWED = "not_allowed"  # our stored state does not allow it: nothing was sent


@dataclass(frozen=True)
class Actor:
    """Who asks HighHelp: a member of staff (by id) or the customer on the order page (by session id)."""

    source: EventSource
    staff_id: int | None = None
    customer_id: str | None = None

    @classmethod
    def staff(cls, staff_id: int) -> Actor:
        """A person in the back office."""
        return cls(EventSource.STAFF, staff_id=staff_id)

    @classmethod
    def customer(cls, customer_id: str) -> Actor:
        """The customer, from the order page."""
        return cls(EventSource.CUSTOMER, customer_id=customer_id)


@dataclass(frozen=True)
class ActionResult:
    """What a person's action did, for the page to say in plain words."""

    outcome: ActionOutcome
    # HighHelp's state as it answered (`status:sub_status`), when it answered.
    state: str | None = None
    transition: Transition | None = None
    # HighHelp's own words (a refusal's reason) or why there was no answer.
    description: str | None = None


def recheck(payment: Payment, staff_id: int) -> ActionResult:
    """Ask HighHelp's /info now and apply the answer; the read is recorded with the person's id."""
    asked = ask_highhelp(payment, EventSource.STAFF, staff_id)
    if asked.answer is not None:
        state = PayinState(asked.answer.status, asked.answer.sub_status).key
        return ActionResult(ActionOutcome.ANSWERED, state, asked.transition, asked.answer.status_description)
    return ActionResult(_failure_outcome(asked.error), description=_failure_text(asked.error))


def can_cancel(payment: Payment) -> bool:
    """Only an attempt that is not final yet can be cancelled."""
    return payment.is_open


def can_confirm(payment: Payment) -> bool:
    """HighHelp confirms only a payin the operator has paid and that is not final."""
    return payment.is_open and payment.state == statuses.PAID.key


def cancel(payment: Payment, staff_id: int) -> ActionResult:
    """Ask HighHelp to cancel an open payin for staff; its answer (usually decline) is applied."""
    return _cancel(payment, Actor.staff(staff_id))


def cancel_for_customer(payment: Payment, customer_id: str) -> ActionResult:
    """The customer gives up an attempt from the order page: the same /cancel, recorded as theirs."""
    return _cancel(payment, Actor.customer(customer_id))


def _cancel(payment: Payment, actor: Actor) -> ActionResult:
    return _act(
        payment,
        actor,
        EventKind.CANCEL,
        "/cancel",
        allowed=can_cancel(payment),
        call=lambda payment_id: highhelp_client().cancel_payin(payment_id),
    )


def confirm(payment: Payment, staff_id: int) -> ActionResult:
    """Ask HighHelp to confirm a paid payin; its answer (usually success) is applied."""
    result = _act(
        payment,
        Actor.staff(staff_id),
        EventKind.CONFIRM,
        "/confirm",
        allowed=can_confirm(payment),
        call=lambda payment_id: highhelp_client().confirm_payin(payment_id),
    )
    if result.state == statuses.SUCCESS.key:
        # The answer carries no amounts, and only a report with amounts pays an order: read
        # them from /info now rather than wait for the success callback.
        ask_highhelp(payment, EventSource.STAFF, staff_id)
    return result


def _act(
    payment: Payment,
    actor: Actor,
    kind: EventKind,
    name: str,
    *,
    allowed: bool,
    call: Callable[[str], PayinAnswer],
) -> ActionResult:
    if not allowed:
        # A stale page or a crafted POST: nothing goes to HighHelp, nothing is recorded.
        return ActionResult(ActionOutcome.NOT_ALLOWED, state=payment.state)
    payment_id = payment.payment_id
    # End any read transaction first: nothing is held open while HighHelp answers.
    db.session.commit()
    try:
        answer = call(payment_id)
    except HighHelpError as exc:
        outcome = _failure_outcome(exc)
        text = _failure_text(exc)
        begin_write()
        db.session.refresh(payment)
        _record(kind, payment, actor, f"{name} by {actor.source}: {outcome}: {text}", outcome, None)
        db.session.commit()
        return ActionResult(outcome, description=text)
    reported = PayinState(answer.status, answer.sub_status)
    begin_write()
    db.session.refresh(payment)
    transition = record_report(payment, reported, None, answer.status_description)
    _record(
        kind,
        payment,
        actor,
        f"{name} by {actor.source}: HighHelp says {reported.key}: {transition.outcome}",
        ActionOutcome.ANSWERED,
        transition,
    )
    db.session.commit()
    return ActionResult(ActionOutcome.ANSWERED, reported.key, transition, answer.status_description)


def _record(
    kind: EventKind,
    payment: Payment,
    actor: Actor,
    summary: str,
    outcome: ActionOutcome,
    transition: Transition | None,
) -> None:
    # Busy sent nothing, and the client then keeps no exchange: the record has only the outcome.
    data = {
        **events.exchange_record(),
        "outcome": outcome.value,
        "transition": transition.outcome.value if transition is not None else None,
    }
    if actor.customer_id is not None:
        data["customer"] = actor.customer_id
    events.record(kind, actor.source, summary, payment=payment, staff_id=actor.staff_id, data=data)


def _failure_outcome(error: HighHelpError | None) -> ActionOutcome:
    if isinstance(error, Busy):
        return ActionOutcome.BUSY
    if isinstance(error, Rejected):
        return ActionOutcome.REFUSED
    # Unavailable, BadPayload: HighHelp may or may not have acted; a callback or re-check will say.
    return ActionOutcome.UNAVAILABLE


def _failure_text(error: HighHelpError | None) -> str:
    if isinstance(error, Rejected):
        return error.status_description
    return str(error) if error is not None else ""


class ResolveOutcome(enum.StrEnum):
    """What resolving a review item did."""

    RESOLVED = "resolved"
    ALREADY_RESOLVED = "already_resolved"  # someone (or a second click) got there first: harmless
    GONE = "gone"  # nothing to resolve: the item is no longer open and was never resolved


class InvalidNote(ValueError):
    """A resolution's note that cannot be stored; nothing was."""


# Line breaks and tabs are the only control characters a note keeps.
KEPT_WHITESPACE = "\n\r\t"


class EmptyNote(InvalidNote):
    """No note: a resolution must say what was found and done."""


class NoteTooLong(InvalidNote):
    """A note longer than NOTE_MAX_LENGTH."""


def clean_note(note: str) -> str:
    """The note as stored: control characters dropped (NUL cannot be stored), trimmed, required, bounded."""
    note = "".join(char for char in note if char in KEPT_WHITESPACE or unicodedata.category(char) != "Cc")
    note = note.strip()
    if not note:
        raise EmptyNote("a note is required")
    if len(note) > NOTE_MAX_LENGTH:
        raise NoteTooLong(f"a note has at most {NOTE_MAX_LENGTH} characters")
    return note


def resolve(kind: ItemKind, ref: int, staff_id: int, note: str) -> ResolveOutcome:
    """Settle one open item of the review queue with a person's note; once per item."""
    note = clean_note(note)
    begin_write()
    item = find_item(kind, ref)
    if item is None:
        already = resolution_exists(kind, ref)
        db.session.rollback()
        return ResolveOutcome.ALREADY_RESOLVED if already else ResolveOutcome.GONE
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    # RETURNING says whether this call stored it; a concurrent resolve of the same item finds
    # the row there and stores nothing.
    stored = db.session.execute(
        insert(ReviewResolution)
        .values(
            item_key=item.key,
            payment_ref=item.payment.id if item.payment is not None else None,
            alert_id=item.alert.id if item.alert is not None else None,
            staff_id=staff_id,
            note=note,
        )
        .on_conflict_do_nothing(index_elements=["item_key"])
        .returning(ReviewResolution.id)
    ).scalar()
    if stored is None:
        db.session.rollback()
        return ResolveOutcome.ALREADY_RESOLVED
    _settle(item)
    events.record(
        EventKind.REVIEW_RESOLVED,
        EventSource.STAFF,
        f"review item {item.key} resolved",
        payment=item.payment,
        alert_id=item.alert.id if item.alert is not None else None,
        staff_id=staff_id,
        data={"item": item.key, "kind": item.kind.value, "note": note},
    )
    db.session.commit()
    return ResolveOutcome.RESOLVED


def _settle(item: ReviewItem) -> None:
    if item.kind is ItemKind.PAYMENT and item.payment is not None:
        # The reason stays for history; only the flag that keeps it in the queue goes.
        db.session.execute(
            update(Payment)
            .where(Payment.id == item.payment.id, Payment.review_reason == item.payment.review_reason)
            .values(needs_review=False, version=Payment.version + 1)
            .execution_options(synchronize_session=False)
        )
