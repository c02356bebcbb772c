"""A real HTTP server on loopback that checks signatures like HighHelp and answers as a test says."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from checkout.highhelp import signing
from checkout.highhelp.errors import BadPayload, BadSignature
from tests.conftest import KEYS, PROJECT_ID
from tests.processes import serving_wsgi


@dataclass
class Reply:
    """What the double answers: status, raw body, and how long it waits first."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, delay: float = 0.0) -> Reply:
        return cls(status, json.dumps(data).encode(), delay, {"content-type": "application/json"})


def answer_for(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A plausible HighHelp answer to a correctly signed request."""
    general = body["general"]
    answer: dict[str, Any] = {
        "status": "processing",
        "sub_status": "new",
        "status_description": None,
        "request_id": "16a10539fcb34ff5a3e286625a2dc3d3",
        "project_id": general["project_id"],
        "payment_id": general["payment_id"],
    }
    if path.endswith("/payin"):
        answer["integration"] = {"form_url": "https://ppage.example.kz/widget/abc123"}
    if path.endswith("/info"):
        answer["payment_info"] = {"amount": 1500000, "old_amount": 1500000, "currency": "KZT"}
    return answer


@dataclass
class HighHelpDouble:
    """Verifies every request with the merchant test key; `reply` decides the answer."""

    reply: Callable[[str, dict[str, Any]], Reply] | None = None
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        public = signing.load_public_keys((KEYS / "merchant_public.pem").read_bytes())
        self.verifier = signing.RsaVerifier(public)
        self.token = signing.access_token(public[0])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        raw = request.get_data()
        headers = {name.lower(): value for name, value in request.headers.items()}
        reply = self._check(request.path, headers, raw)
        if reply.delay:
            time.sleep(reply.delay)
        return Response(reply.body, reply.status, headers=reply.headers)(environ, start_response)

    def _check(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        try:
            body = signing.verify_signed_body(
                raw, headers.get("x-access-signature"), headers.get("x-access-timestamp"), self.verifier
            )
        except (BadSignature, BadPayload) as exc:
            return Reply.json(401, {"status": "error", "status_description": str(exc)})
        self.received.append((path, headers, body))
        if headers.get("x-access-merchant-id") != PROJECT_ID or headers.get("x-access-token") != self.token:
            return Reply.json(403, {"status": "error", "status_description": "unknown merchant"})
        if self.reply is not None:
            return self.reply(path, body)
        return Reply.json(200, answer_for(path, body))


@contextmanager
def running_double() -> Iterator[HighHelpDouble]:
    """Serve a HighHelpDouble on a free loopback port for the duration of a test."""
    double = HighHelpDouble()
    with serving_wsgi(double) as url:
        double.url = url
        yield double
