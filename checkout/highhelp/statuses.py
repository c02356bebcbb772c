"""HighHelp's payin vocabulary of PROTOCOL.md §2: statuses, which are final, the moves HighHelp makes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from . import assumed


class Status(enum.StrEnum):
    """HighHelp's top-level payin statuses that this checkout knows."""

    PROCESSING = "processing"
    SUCCESS = "success"
    DECLINE = "decline"


class SubStatus(enum.StrEnum):
    """The sub-statuses of a processing mobile-commerce payin in the seed."""

    NEW = "new"
    REQUISITES = "requisites"
    AWAITING_3DS_RESULT = "awaiting_3ds_result"
    SENT_VERIFICATION = "sent_verification"
    INVALID_VERIFICATION = "invalid_verification"
    PAID = "paid"


@dataclass(frozen=True)
class PayinState:
    """A status and sub-status as HighHelp reports them; unknown values are kept as they came."""

    status: str
    sub_status: str | None = None

    @classmethod
    def from_key(cls, key: str) -> PayinState:
        """Inverse of `key`."""
        status, _, sub_status = key.partition(assumed.STATUS_SEPARATOR)
        return cls(status, sub_status or None)

    @property
    def key(self) -> str:
        """`status` or `status:sub_status`, the form stored in the database."""
        return f"{self.status}{assumed.STATUS_SEPARATOR}{self.sub_status}" if self.sub_status else self.status

    @property
    def is_final(self) -> bool:
        """Only success and decline are final; nothing else ever is."""
        return self.status in FINAL_STATUSES

    @property
    def is_known(self) -> bool:
        """True for the states the protocol note lists."""
        return self in KNOWN_STATES


NEW = PayinState(Status.PROCESSING, SubStatus.NEW)
REQUISITES = PayinState(Status.PROCESSING, SubStatus.REQUISITES)
AWAITING_3DS_RESULT = PayinState(Status.PROCESSING, SubStatus.AWAITING_3DS_RESULT)
SENT_VERIFICATION = PayinState(Status.PROCESSING, SubStatus.SENT_VERIFICATION)
INVALID_VERIFICATION = PayinState(Status.PROCESSING, SubStatus.INVALID_VERIFICATION)
PAID = PayinState(Status.PROCESSING, SubStatus.PAID)
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
