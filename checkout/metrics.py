"""The Prometheus metrics the app counts: every metric object lives here, and the calls that move them.

In gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py before any worker imports this) makes
each process write its counts to files there, and /metrics adds up every worker's. Without it
(`flask run`, tests, the reconcile worker) the counts are this process's own.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
from collections.abc import Callable
from typing import ParamSpec

from prometheus_client import Counter, Histogram, disable_created_metrics

from .highhelp.client import ENDPOINTS, CallOutcome, CallRecord
from .payments.alerts import AlertKind, Verdict
from .payments.phases import Phase
from .payments.states import Outcome

# The environment variable prometheus_client reads for multiprocess mode (its own name for it).
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
NAMESPACE = "checkout"
# HighHelp answers in tens to hundreds of milliseconds; the top buckets catch calls that ran into
# the read timeouts of checkout/highhelp/assumed.py (5 s for /info, 10 s for create, plus connect).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)

log = logging.getLogger(__name__)
Params = ParamSpec("Params")

# A folder named for every process of an app (a PaaS config var) may not exist on this machine yet;
# without it every count would fail.
if multiproc_dir := os.environ.get(MULTIPROC_DIR_VARIABLE):
    os.makedirs(multiproc_dir, exist_ok=True)


class PayinOutcome(enum.StrEnum):
    """What came of a Pay press that needed HighHelp's create."""

    CREATED = "created"
    REFUSED = "refused"  # HighHelp said no, or answered what we could not read
    UNAVAILABLE = "unavailable"  # HighHelp down or too slow: nothing is known
    BUSY = "busy"  # our own cap on calls in flight: nothing was sent


class Refusal(enum.StrEnum):
    """Callbacks refused before they reach the inbox, counted beside the inbox's verdicts."""

    FORGED = "forged"  # the signature does not verify: 401
    MALFORMED = "malformed"  # not a body we can read: 400


class SweepResult(enum.StrEnum):
    """How one reconcile sweep ended."""

    OK = "ok"
    FAILED = "failed"


PAYIN_OUTCOME_OF = {
    CallOutcome.OK: PayinOutcome.CREATED,
    CallOutcome.REJECTED: PayinOutcome.REFUSED,
    CallOutcome.BAD_ANSWER: PayinOutcome.REFUSED,
    CallOutcome.UNAVAILABLE: PayinOutcome.UNAVAILABLE,
    CallOutcome.BUSY: PayinOutcome.BUSY,
}
CREATE_ENDPOINT = "create"
# What a callback's verdict can be: the inbox's (a duplicate included; RECEIVED never leaves the
# recording transaction), or refused before it.
CALLBACK_VERDICTS = (*(verdict for verdict in Verdict if verdict is not Verdict.RECEIVED), *Refusal)

PAYINS = Counter(
    "payins",
    "Pay presses that needed HighHelp's create, by what came of them",
    ["outcome"],
    namespace=NAMESPACE,
)
HIGHHELP_SECONDS = Histogram(
    "highhelp_request_seconds",
    "Calls to HighHelp by endpoint and outcome, with how long each took",
    ["endpoint", "outcome"],
    namespace=NAMESPACE,
    buckets=LATENCY_BUCKETS,
)
CALLBACKS = Counter(
    "callbacks",
    "HighHelp's callbacks by URL kind and what we did with them",
    ["kind", "verdict"],
    namespace=NAMESPACE,
)
STATE_TRANSITIONS = Counter(
    "state_transitions",
    "Reports from HighHelp (callbacks and /info) applied to a payment: the outcome and the phase after it",
    ["outcome", "phase"],
    namespace=NAMESPACE,
)
RECONCILE_SWEEPS = Counter("reconcile_sweeps", "Reconcile sweeps by result", ["result"], namespace=NAMESPACE)
RECONCILE_PAYMENTS = Counter(
    "reconcile_payments", "Payments reconcile sweeps asked HighHelp about", namespace=NAMESPACE
)
RATE_LIMIT_REFUSALS = Counter(
    "rate_limit_refusals",
    "Requests refused by a rate limit (429), by Flask endpoint",
    ["endpoint"],
    namespace=NAMESPACE,
)


# A `_created` series beside every counter doubles what is scraped and tells nothing an operator uses.
disable_created_metrics()  # type: ignore[no-untyped-call]


def _start_at_zero() -> None:
    """Show every known series from the start, so a rate() or an alert sees 0 rather than nothing."""
    for payin in PayinOutcome:
        PAYINS.labels(outcome=payin)
    for endpoint in ENDPOINTS.values():
        for call in CallOutcome:
            HIGHHELP_SECONDS.labels(endpoint=endpoint, outcome=call)
    for kind in AlertKind:
        for verdict in CALLBACK_VERDICTS:
            CALLBACKS.labels(kind=kind, verdict=verdict)
    for outcome in Outcome:
        for phase in Phase:
            STATE_TRANSITIONS.labels(outcome=outcome, phase=phase)
    for result in SweepResult:
        RECONCILE_SWEEPS.labels(result=result)


_start_at_zero()


def never_fails(count: Callable[Params, None]) -> Callable[Params, None]:
    """Counting must never fail what it counts (a callback, a sweep): a failure is only logged."""

    @functools.wraps(count)
    def counting(*args: Params.args, **kwargs: Params.kwargs) -> None:
        try:
            count(*args, **kwargs)
        except Exception:  # whatever broke, the payment goes on
            log.exception("counting %s failed", count.__name__)

    return counting


@never_fails
def count_highhelp_call(record: CallRecord) -> None:
    """A HighHelp call observer: its latency, and for a create what came of the Pay press."""
    HIGHHELP_SECONDS.labels(endpoint=record.endpoint, outcome=record.outcome).observe(record.seconds)
    if record.endpoint == CREATE_ENDPOINT:
        PAYINS.labels(outcome=PAYIN_OUTCOME_OF[record.outcome]).inc()


@never_fails
def count_callback(kind: AlertKind, verdict: Verdict | Refusal) -> None:
    """One callback answered, with its verdict (or why it was refused)."""
    CALLBACKS.labels(kind=kind, verdict=verdict).inc()


@never_fails
def count_transition(outcome: Outcome, phase: Phase) -> None:
    """One report from HighHelp applied to a payment."""
    STATE_TRANSITIONS.labels(outcome=outcome, phase=phase).inc()


@never_fails
def count_sweep(result: SweepResult, asked: int = 0) -> None:
    """One reconcile sweep and the payments it asked about."""
    RECONCILE_SWEEPS.labels(result=result).inc()
    RECONCILE_PAYMENTS.inc(asked)


@never_fails
def count_rate_limit_refusal(endpoint: str | None) -> None:
    """One request refused with 429."""
    RATE_LIMIT_REFUSALS.labels(endpoint=endpoint or "unknown").inc()
