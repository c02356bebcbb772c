"""The words the callback inbox is kept in: which URL an alert came to, and what we did with it."""

from __future__ import annotations

import enum


class AlertKind(enum.StrEnum):
    """Which of the three callback URLs HighHelp posted the alert to."""

    INFO = "info"
    SUCCESS = "success"
    DECLINE = "decline"


class Verdict(enum.StrEnum):
    """What one alert did; every member but DUPLICATE is stored with the alert."""

    RECEIVED = "received"  # recorded, not yet applied (seen only inside the recording transaction)
    APPLIED = "applied"  # the payment moved to the reported state
    UNCHANGED = "unchanged"  # a new alert reporting the state the payment already has
    STALE = "stale"  # a processing step behind the current one: ignored
    FINAL_KEPT = "final_kept"  # a processing report after the final one: ignored
    CONFLICT = "conflict"  # the other final state after a final one: ignored, flagged for a person
    ORPHAN = "orphan"  # no payment of ours has this payment_id in this cash register
    DUPLICATE = "duplicate"  # the inbox already holds this alert: nothing was done, nothing stored


STORED_VERDICTS = tuple(verdict for verdict in Verdict if verdict is not Verdict.DUPLICATE)
