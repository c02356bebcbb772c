"""The payin state machine of PROTOCOL.md §2: data plus one pure function, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Status(enum.StrEnum):
    """HighHelp's top-level payin statuses that this checkout knows."""

    PROCESSING = "processing"
    SUCCESS = "success"
    DECLINE = "decline"


@dataclass(frozen=True)
class PayinState:
    """A status and sub-status as HighHelp reports them; unknown values are kept as they came."""

    status: str
    sub_status: str | None = None

    @classmethod
    def from_key(cls, key: str) -> PayinState:
        """Inverse of `key`."""
        status, _, sub_status = key.partition(":")
        return cls(status, sub_status or None)

    @property
    def key(self) -> str:
        """`status` or `status:sub_status`, the form stored in the database."""
        return f"{self.status}:{self.sub_status}" if self.sub_status else self.status

    @property
    def is_final(self) -> bool:
        """Only success and decline are final; nothing else ever is."""
        return self.status in FINAL_STATUSES

    @property
    def is_known(self) -> bool:
        """True for the states the protocol note lists."""
        return self in KNOWN_STATES


NEW = PayinState(Status.PROCESSING, "new")
REQUISITES = PayinState(Status.PROCESSING, "requisites")
AWAITING_3DS_RESULT = PayinState(Status.PROCESSING, "awaiting_3ds_result")
SENT_VERIFICATION = PayinState(Status.PROCESSING, "sent_verification")
INVALID_VERIFICATION = PayinState(Status.PROCESSING, "invalid_verification")
PAID = PayinState(Status.PROCESSING, "paid")
SUCCESS = PayinState(Status.SUCCESS)
DECLINE = PayinState(Status.DECLINE)

FINAL_STATUSES = frozenset({Status.SUCCESS.value, Status.DECLINE.value})
PROCESSING_STATES = (NEW, REQUISITES, AWAITING_3DS_RESULT, SENT_VERIFICATION, INVALID_VERIFICATION, PAID)
KNOWN_STATES = frozenset({*PROCESSING_STATES, SUCCESS, DECLINE})

# What HighHelp itself does, edge by edge (the seed's transition list). On top of these, the
# end of the lifetime and a merchant cancel decline any payin that is not final.
PROTOCOL_TRANSITIONS: Mapping[PayinState, frozenset[PayinState]] = {
    NEW: frozenset({REQUISITES}),
    REQUISITES: frozenset({AWAITING_3DS_RESULT}),
    AWAITING_3DS_RESULT: frozenset({SENT_VERIFICATION, SUCCESS, DECLINE}),
    SENT_VERIFICATION: frozenset({PAID, INVALID_VERIFICATION, SUCCESS, DECLINE}),
    INVALID_VERIFICATION: frozenset({SENT_VERIFICATION, DECLINE}),
    PAID: frozenset({SUCCESS, DECLINE}),
    SUCCESS: frozenset(),
    DECLINE: frozenset(),
}

# How far along the payer is. Reports reach us late, twice or not at all, so a processing
# report behind the current step is stale; the two verification steps alternate on a wrong
# code and share a rank.
PROGRESS: Mapping[PayinState, int] = {
    NEW: 0,
    REQUISITES: 1,
    AWAITING_3DS_RESULT: 2,
    SENT_VERIFICATION: 3,
    INVALID_VERIFICATION: 3,
    PAID: 4,
}


class Outcome(enum.Enum):
    """What a report does to the state we hold."""

    APPLIED = "applied"  # the state becomes the reported one
    DUPLICATE = "duplicate"  # the same state again: nothing to do
    STALE = "stale"  # a processing step behind the current one: ignored
    FINAL_KEPT = "final_kept"  # a processing report after the final one: ignored
    CONFLICT = "conflict"  # the other final state after a final one: ignored, needs a person


@dataclass(frozen=True)
class Transition:
    """The decision for one report: the outcome and the state afterwards."""

    outcome: Outcome
    state: PayinState

    @property
    def changed(self) -> bool:
        """True when the stored state must change."""
        return self.outcome is Outcome.APPLIED


def apply_report(current: PayinState, reported: PayinState) -> Transition:
    """Decide what HighHelp's report of `reported` does to a payin we hold in `current`."""
    if reported == current:
        return Transition(Outcome.DUPLICATE, current)
    if current.is_final:
        outcome = Outcome.CONFLICT if reported.is_final else Outcome.FINAL_KEPT
        return Transition(outcome, current)
    if reported.is_final:
        # Only HighHelp decides the outcome; its final word holds from any step, because
        # the informative alerts before it may have been lost.
        return Transition(Outcome.APPLIED, reported)
    if reported.is_known and current.is_known and PROGRESS[reported] < PROGRESS[current]:
        return Transition(Outcome.STALE, current)
    # Unknown steps (other products' sub-statuses, new ones) are kept, never final.
    return Transition(Outcome.APPLIED, reported)
