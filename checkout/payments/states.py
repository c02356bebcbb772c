"""Our policy over HighHelp's payin statuses: how far along a payin is, what a report does; no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from ..highhelp.statuses import (
    AWAITING_3DS_RESULT,
    INVALID_VERIFICATION,
    NEW,
    PAID,
    REQUISITES,
    SENT_VERIFICATION,
    PayinState,
)

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


class Outcome(enum.StrEnum):
    """What a report does to the state we hold."""

    APPLIED = "applied"  # the state becomes the reported one
    UNCHANGED = "unchanged"  # the same state again: nothing to do
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
    # A final status is the outcome; a sub-status beside it changes nothing about it.
    if reported == current or (current.is_final and reported.status == current.status):
        return Transition(Outcome.UNCHANGED, current)
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
