"""HighHelpClient: the four widget payin calls over HTTP, signed, with typed errors."""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import requests
import urllib3

from . import assumed
from .errors import BadPayload, Busy, HighHelpError, InvalidRequest, Rejected, Unavailable
from .signing import Signer, parse_json_object, request_headers
from .wire import (
    CreatePayinAnswer,
    CreatePayinRequest,
    PayinAnswer,
    PayinInfoAnswer,
    PayinRequest,
    storable_text,
)

log = logging.getLogger(__name__)

CREATE_PATH = "/api/v1/widget/payin"
INFO_PATH = "/api/v1/widget/payin/info"
CONFIRM_PATH = "/api/v1/widget/payin/confirm"
CANCEL_PATH = "/api/v1/widget/payin/cancel"
# Short names for logs and metrics.
ENDPOINTS = {CREATE_PATH: "create", INFO_PATH: "info", CONFIRM_PATH: "confirm", CANCEL_PATH: "cancel"}

READ_TIMEOUTS = {
    CREATE_PATH: assumed.CREATE_READ_TIMEOUT,
    INFO_PATH: assumed.INFO_READ_TIMEOUT,
    CONFIRM_PATH: assumed.ACTION_READ_TIMEOUT,
    CANCEL_PATH: assumed.ACTION_READ_TIMEOUT,
}
# Calls one client makes at once unless told otherwise.
DEFAULT_MAX_IN_FLIGHT = 2
READ_CHUNK_BYTES = 16 * 1024
# How much of an answer that is not JSON the timeline keeps.
EXCHANGE_TEXT_BYTES = 2048

AnswerT = TypeVar("AnswerT", bound=PayinAnswer)

# Headers whose values prove who we are: never written to the events a person reads.
SECRET_HEADERS = frozenset({"x-access-signature", "x-access-token"})
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Exchange:
    """One call as it went over the wire: what we sent (secrets redacted) and what came back."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    http_status: int | None = None
    answer: dict[str, Any] | None = None
    # Why no usable answer came: a timeout, an unreadable body (its first bytes kept).
    failure: str | None = None
    answer_text: str | None = field(default=None, repr=False)

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready copy for the payment's timeline."""
        record: dict[str, Any] = {
            "request": {"method": "POST", "path": self.path, "headers": self.headers, "body": self.body}
        }
        record["response"] = {"http_status": self.http_status, "body": self.answer}
        if self.answer is None and self.answer_text:
            record["response"]["text"] = self.answer_text
        if self.failure:
            record["response"]["failure"] = self.failure
        return record


class CallOutcome(enum.StrEnum):
    """How one call to HighHelp ended, as logs and metrics count it."""

    OK = "ok"
    REJECTED = "rejected"  # HighHelp said no, or we refused to send an invalid request
    UNAVAILABLE = "unavailable"  # timeout, unreachable, 5xx: nothing is known
    BUSY = "busy"  # our own cap on calls in flight: nothing was sent
    BAD_ANSWER = "bad_answer"  # an answer we could not read


@dataclass(frozen=True)
class CallRecord:
    """One finished call: what observers (logs, metrics) are told."""

    endpoint: str
    payment_id: str
    outcome: CallOutcome
    seconds: float
    http_status: int | None
    # HighHelp's status/sub_status when it answered, else the error.
    detail: str


CallObserver = Callable[[CallRecord], None]


def call_outcome(error: HighHelpError | None) -> CallOutcome:
    """The outcome a call that raised `error` (None: answered) is counted under."""
    if error is None:
        return CallOutcome.OK
    if isinstance(error, Busy):
        return CallOutcome.BUSY
    if isinstance(error, Unavailable):
        return CallOutcome.UNAVAILABLE
    if isinstance(error, BadPayload):
        return CallOutcome.BAD_ANSWER
    return CallOutcome.REJECTED


# The last call made in this thread (or task): the payment timeline records it right after.
_last_exchange: ContextVar[Exchange | None] = ContextVar("last_highhelp_exchange", default=None)


def last_exchange() -> Exchange | None:
    """The last call this thread made to HighHelp, as it went over the wire."""
    return _last_exchange.get()


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    return {name: REDACTED if name in SECRET_HEADERS else value for name, value in headers.items()}


class HighHelpClient:
    """Talks to one HighHelp cash register; every call is signed and has a timeout."""

    def __init__(
        self,
        base_url: str,
        project_id: str,
        signer: Signer,
        *,
        session: requests.Session | None = None,
        timeouts: tuple[float, float] | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        clock: Callable[[], float] = time.time,
        observers: Sequence[CallObserver] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.project_id = project_id
        self.signer = signer
        self.session = session or requests.Session()
        # (connect, read) for every call; None: each call's own from assumed.py.
        self.timeouts = timeouts
        self.clock = clock
        # A stalled HighHelp holds each caller for a whole read timeout; capping the calls in
        # flight keeps the rest of a process's threads for pages, callbacks and health checks.
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        # Other calls (status refreshes, mostly) may not take the last slot, so a customer pressing
        # Pay finds one even while HighHelp is slow to answer the polls.
        self._not_creates = threading.BoundedSemaphore(max(1, max_in_flight - 1))
        self.max_in_flight = max_in_flight
        self.observers = tuple(observers)

    def create_payin(self, request: CreatePayinRequest) -> CreatePayinAnswer:
        """Create a payin; the answer's form_url is where the payer goes next."""
        if request.general.project_id != self.project_id:
            raise InvalidRequest(["general.project_id: is not this client's cash register"])
        return self._call(CREATE_PATH, request.body(), CreatePayinAnswer)

    def payin_info(self, payment_id: str) -> PayinInfoAnswer:
        """Ask for the current state of a payin."""
        return self._call(INFO_PATH, self._reference(payment_id), PayinInfoAnswer)

    def confirm_payin(self, payment_id: str) -> PayinAnswer:
        """Confirm a payin as the merchant."""
        return self._call(CONFIRM_PATH, self._reference(payment_id), PayinAnswer)

    def cancel_payin(self, payment_id: str) -> PayinAnswer:
        """Cancel a payin that is not final yet."""
        return self._call(CANCEL_PATH, self._reference(payment_id), PayinAnswer)

    def signed_headers(self, body: dict[str, Any]) -> dict[str, str]:
        """The headers this client would send with `body` right now."""
        timestamp = str(int(self.clock()))
        return request_headers(self.signer, self.project_id, body, timestamp)

    def _reference(self, payment_id: str) -> dict[str, Any]:
        reference = {"project_id": self.project_id, "payment_id": payment_id}
        return PayinRequest.build({"general": reference}).body()

    def _call(self, path: str, body: dict[str, Any], answer_type: type[AnswerT]) -> AnswerT:
        payment_id = body["general"]["payment_id"]
        started = time.monotonic()
        try:
            answer = answer_type.parse(self._post(path, body))
            if answer.payment_id is not None and answer.payment_id != payment_id:
                raise BadPayload(f"answer is about payment {answer.payment_id!r}, not {payment_id!r}")
        except HighHelpError as exc:
            self._tell(path, payment_id, started, exc, f"{type(exc).__name__}: {exc}")
            raise
        self._tell(path, payment_id, started, None, f"{answer.status}/{answer.sub_status}")
        return answer

    def _tell(
        self, path: str, payment_id: str, started: float, error: HighHelpError | None, detail: str
    ) -> None:
        """Log one line for the call and tell every observer; an observer's failure is only logged."""
        sent = _last_exchange.get()
        record = CallRecord(
            endpoint=ENDPOINTS[path],
            payment_id=payment_id,
            outcome=call_outcome(error),
            seconds=time.monotonic() - started,
            http_status=sent.http_status if sent is not None else None,
            detail=detail,
        )
        fields = {
            "endpoint": record.endpoint,
            "payment_id": payment_id,
            "outcome": str(record.outcome),
            "http_status": record.http_status,
            "latency_ms": round(record.seconds * 1000, 1),
        }
        log.log(
            logging.INFO if error is None else logging.WARNING,
            "highhelp %s payment_id=%s %s: %s in %.0f ms",
            record.endpoint,
            payment_id,
            record.outcome,
            detail,
            record.seconds * 1000,
            extra=fields,
        )
        # Counting a call must never fail the payment it counts.
        for observe in self.observers:
            try:
                observe(record)
            except Exception:
                log.exception("an observer of HighHelp calls failed")

    def timeouts_for(self, path: str) -> tuple[float, float]:
        """(connect, read) seconds for one call."""
        return self.timeouts or (assumed.CONNECT_TIMEOUT, READ_TIMEOUTS[path])

    @contextmanager
    def _slot(self, path: str) -> Iterator[None]:
        """Hold one of the process's call slots for `path`, or raise Busy without waiting."""
        with ExitStack() as held:
            semaphores = (self._in_flight,) if path == CREATE_PATH else (self._not_creates, self._in_flight)
            for semaphore in semaphores:
                if not semaphore.acquire(blocking=False):
                    raise Busy(
                        f"{self.max_in_flight} call(s) to HighHelp already in flight; nothing was sent"
                    )
                held.callback(semaphore.release)
            yield

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timeouts = self.timeouts_for(path)
        _last_exchange.set(None)
        with self._slot(path):
            headers = self.signed_headers(body)
            sent = Exchange(path, _redacted(headers), body)
            _last_exchange.set(sent)
            # requests' read timeout bounds each read, not the answer: one byte every few seconds
            # would hold the slot for ever. The whole answer gets connect + read seconds (plus the
            # read in progress) and at most ANSWER_MAX_BYTES.
            deadline = time.monotonic() + sum(timeouts)
            try:
                response = self.session.post(
                    self.base_url + path,
                    data=data,
                    timeout=timeouts,
                    headers=headers,
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    content = _read_within(response, deadline)
            except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
                failure = f"HighHelp did not answer in time ({exc.__class__.__name__})"
                _last_exchange.set(replace(sent, failure=failure))
                raise Unavailable(failure) from exc
            except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                failure = f"HighHelp could not be reached ({exc.__class__.__name__})"
                _last_exchange.set(replace(sent, failure=failure))
                raise Unavailable(failure) from exc
            except Unavailable as exc:
                _last_exchange.set(replace(sent, http_status=response.status_code, failure=str(exc)))
                raise
        try:
            answer = _read_answer(response.status_code, content)
        except HighHelpError as exc:
            _last_exchange.set(
                replace(
                    sent,
                    http_status=response.status_code,
                    answer=_readable(content),
                    answer_text=content[:EXCHANGE_TEXT_BYTES].decode("utf-8", "replace"),
                    failure=str(exc),
                )
            )
            raise
        _last_exchange.set(replace(sent, http_status=response.status_code, answer=answer))
        return answer


def _readable(content: bytes) -> dict[str, Any] | None:
    try:
        return parse_json_object(content)
    except BadPayload:
        return None


def _read_within(response: requests.Response, deadline: float) -> bytes:
    """The answer's body, if it all arrives before `deadline` and is no larger than the limit."""
    parts: list[bytes] = []
    size = 0
    # read1 returns what has arrived (one read at most), so the deadline is checked as bytes come.
    while part := response.raw.read1(READ_CHUNK_BYTES, decode_content=True):
        size += len(part)
        if size > assumed.ANSWER_MAX_BYTES:
            raise Unavailable(f"HighHelp's answer is larger than {assumed.ANSWER_MAX_BYTES} bytes")
        if time.monotonic() > deadline:
            raise Unavailable("HighHelp's answer did not arrive in time (it came too slowly)")
        parts.append(part)
    return b"".join(parts)


def _read_answer(code: int, content: bytes) -> dict[str, Any]:
    """Sort an HTTP answer into a body, or the error kind that fits it."""
    try:
        data: dict[str, Any] | None = parse_json_object(content)
    except BadPayload as exc:
        data, unreadable = None, str(exc)
    description = _description(data)
    if code >= 500 or code in assumed.RETRYABLE_HTTP_STATUSES:
        raise Unavailable(f"HighHelp answered HTTP {code}" + (f": {description}" if description else ""))
    if not 200 <= code < 300:
        raise Rejected(description or f"HighHelp answered HTTP {code} without a reason", code)
    if data is None:
        raise BadPayload(f"HighHelp answered HTTP {code} with a body that is not understood: {unreadable}")
    if data.get("status") == assumed.ERROR_STATUS:
        raise Rejected(description or "HighHelp answered status error without a reason", code)
    return data


def _description(data: dict[str, Any] | None) -> str:
    value = (data or {}).get("status_description")
    return storable_text(value.strip()[: assumed.DESCRIPTION_STORED_LENGTH]) if isinstance(value, str) else ""
