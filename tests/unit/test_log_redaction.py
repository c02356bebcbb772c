"""Log lines as written: JSON keys, extras, and nothing personal or secret left in them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.contextvars import clear_contextvars

from checkout import logs
from checkout.config import ConfigError
from checkout.logs import redaction
from tests.conftest import KEYS
from tests.processes import ROOT

PAYMENT_ID = "KZ000042-1-0ced94"
# A UUID (HighHelp's request_id) whose digits read like a phone number (7, then ten across dashes).
DIGIT_UUID = "78123456-1234-4567-8901-234567890123"
OTHER_PAYMENT_ID = "KZ000042-2-94dbd6"
PEM = (KEYS / "merchant_private.pem").read_text("ascii")


class Written:
    """A logger of its own writing JSON through our handler into a string."""

    def __init__(self) -> None:
        self.stream = StringIO()
        self.logger = logging.getLogger("checkout.test_logs")
        self.logger.addHandler(logs.handler(logs.LogFormat.JSON, self.stream))
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False

    def log(self, level: int, message: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Log one line; it, parsed."""
        self.logger.log(level, message, *args, **kwargs)
        return self.lines()[-1]

    def lines(self) -> list[dict[str, Any]]:
        """Every line written so far, parsed."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def written() -> Iterator[Written]:
    """A JSON logger of ours, removed afterwards."""
    written = Written()
    yield written
    written.logger.handlers.clear()
    written.logger.propagate = True


@pytest.mark.parametrize(
    "phone",
    [
        "+77011234567",
        "+7 701 123 45 67",
        "87011234567",
        "8 (701) 123-45-67",
        "7-701-123-45-67",
        "+7(747)1234567",
    ],
)
def test_kazakh_phone_numbers_in_a_message_are_redacted(written: Written, phone: str) -> None:
    """Every way a customer writes a KZ mobile number."""
    line = written.log(logging.INFO, "customer %s asked", phone)
    assert line["message"] == "customer [redacted] asked"


def test_emails_signatures_keys_and_bodies_are_redacted_in_message_and_fields(
    written: Written,
) -> None:
    """Free text, headers and nested fields alike; a PEM key cut short still goes."""
    message = (
        "HighHelp said: unknown payer aigerim.n+shop@mail.example.kz, "
        "x-access-signature: c2lnbmF0dXJl_-abc; token=tok123 Authorization: Bearer eyJhbGc.x.y "
        f"key {PEM[:200]}"
    )
    extra = {
        "headers": {
            "X-Access-Signature": "c2lnbmF0dXJl",
            "x-access-token": "tok",
            "accept": "application/json",
        },
        "body": {"customer": {"phone": "+77011234567"}},
        "raw": b"anything",
        "payload": "{}",
        "request_body": {"a": 1},
        "smtp_password": "hunter2",
        "session_cookie": "abc",
        "notes": ["write to a@b.kz", {"callback_key": PEM}],
        "dsn": "postgresql://shop:s3cret@db.internal:5432/shop",
    }
    line = written.log(logging.WARNING, message, extra=extra)
    text = json.dumps(line)
    for secret in (
        "aigerim",
        "c2lnbmF0dXJl",
        "tok123",
        "eyJhbGc",
        "BEGIN",
        "hunter2",
        "s3cret",
        "a@b.kz",
        "7011",
    ):
        assert secret not in text, secret
    assert line["headers"] == {
        "X-Access-Signature": "[redacted]",
        "x-access-token": "[redacted]",
        "accept": "application/json",
    }
    assert [line[key] for key in ("body", "raw", "payload", "request_body")] == ["[redacted]"] * 4
    assert line["notes"] == ["write to [redacted]", {"callback_key": "[redacted]"}]
    assert line["message"] == (
        "HighHelp said: unknown payer [redacted], x-access-signature: [redacted]; token=[redacted] "
        "Authorization: Bearer [redacted] key [redacted]"
    )
    assert line["dsn"] == "postgresql://[redacted]@db.internal:5432/shop"


@pytest.mark.parametrize("payment_id", ["KZ000001-1-0ced94", "KZ780123-8-701234", "KZ8701234567-12-abcdef"])
def test_payment_ids_order_numbers_and_request_ids_are_kept(written: Written, payment_id: str) -> None:
    """What an operator searches by survives redaction, even where its digits look like a phone's."""
    extra = {
        "payment_id": payment_id,
        "order": 81234567890,
        "amount": 1500000,
        "request_id": "4f1c2b7e9a8d4c3b8e7f6a5b4c3d2e1f",
        "highhelp_request_id": DIGIT_UUID,
    }
    message = f"payment {payment_id} of order 1024 ({DIGIT_UUID}) for 1500000 tiyn at 1764380909"
    line = written.log(logging.INFO, message, extra=extra)
    assert line["message"] == message
    assert {key: line[key] for key in extra} == extra


def test_extras_and_request_context_become_json_keys(written: Written) -> None:
    """The HighHelp client's extras are keys of their own, after time, level, logger and message."""
    logs.bind(request_id="router-7", payment_id=PAYMENT_ID)
    try:
        extra = {"endpoint": "info", "outcome": "ok", "http_status": 200, "latency_ms": 41.5}
        line = written.log(logging.INFO, "highhelp info", extra=extra)
    finally:
        clear_contextvars()
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["time"].endswith("Z")
    assert (line["level"], line["logger"]) == ("info", "checkout.test_logs")
    assert line["request_id"] == "router-7"
    assert {key: line[key] for key in extra} == extra
    # A call's own payment_id wins over the page's.
    own = written.log(logging.INFO, "highhelp create", extra={"payment_id": OTHER_PAYMENT_ID})
    assert own["payment_id"] == OTHER_PAYMENT_ID
    assert "request_id" not in own


def test_a_traceback_is_one_redacted_field(written: Written) -> None:
    """An exception's text is in the same line, and what it carries is redacted too."""
    try:
        raise ValueError("customer 87011234567 unknown")
    except ValueError:
        written.logger.exception("sending failed")
    [line] = written.lines()
    assert line["level"] == "error"
    assert "ValueError: customer [redacted] unknown" in line["exception"]
    assert "87011234567" not in json.dumps(line)


def test_text_format_is_one_readable_line_redacted() -> None:
    """Locally: time, level, message, logger and fields on one line, redacted the same way."""
    stream = StringIO()
    logger = logging.getLogger("checkout.test_logs_text")
    logger.addHandler(logs.handler(logs.LogFormat.TEXT, stream))
    logger.propagate = False
    try:
        logger.warning("mail to %s failed", "buyer@example.kz", extra={"attempt": 2})
    finally:
        logger.handlers.clear()
        logger.propagate = True
    [line] = stream.getvalue().splitlines()
    assert "[warning" in line
    assert "mail to [redacted] failed" in line
    assert "attempt=2" in line
    assert "buyer@example.kz" not in line


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, logs.LogFormat.JSON),  # APP_ENV defaults to production
        ({"APP_ENV": "production"}, logs.LogFormat.JSON),
        ({"APP_ENV": "development"}, logs.LogFormat.TEXT),
        ({"APP_ENV": "test"}, logs.LogFormat.TEXT),
        ({"APP_ENV": "production", "LOG_FORMAT": "text"}, logs.LogFormat.TEXT),
        ({"APP_ENV": "development", "LOG_FORMAT": "JSON"}, logs.LogFormat.JSON),
    ],
)
def test_log_format_follows_app_env_unless_log_format_says(
    environ: dict[str, str], expected: logs.LogFormat
) -> None:
    """JSON in production, text locally, LOG_FORMAT over both."""
    assert logs.log_format(environ) is expected


def test_an_unknown_log_format_stops_start_up_naming_it() -> None:
    """A typo is a configuration error, not silently plain text."""
    with pytest.raises(ConfigError, match="LOG_FORMAT: must be json or text, not 'xml'"):
        logs.log_format({"LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("abc-123_DEF.9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("has space", False),
        ('quote"', False),
        ("line\nbreak", False),
        ("naïve", False),
        (None, False),
    ],
)
def test_request_id_is_the_routers_when_sane(header: str | None, kept: bool) -> None:
    """≤ 128 of [A-Za-z0-9._-] is taken as is; anything else gets a fresh uuid4 hex."""
    request_id = logs.request_id_from(header)
    if kept:
        assert request_id == header
    else:
        assert len(request_id) == 32
        assert int(request_id, 16) >= 0


GUNICORN_LOGS = """
import sys
from gunicorn.config import Config
from gunicorn.glogging import Logger
from checkout.logs import gunicorn_logconfig
config = Config()
config.set("logconfig_dict", gunicorn_logconfig({"APP_ENV": "production"}))
config.set("accesslog", None)
logger = Logger(config)
logger.info("Booting worker with pid: %s", 42)
logger.error("customer +77011234567 broke something")
import logging
logging.getLogger("checkout.pay").warning("app line", extra={"payment_id": "p-1"})
"""


def test_gunicorn_logconfig_writes_gunicorns_lines_and_the_apps_as_json() -> None:
    """gunicorn's own logger set up with our dictConfig, in a process of its own, as gunicorn.conf.py does."""
    done = subprocess.run(
        [sys.executable, "-c", GUNICORN_LOGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("gunicorn.error", "info"),
        ("gunicorn.error", "error"),
        ("checkout.pay", "warning"),
    ]
    assert lines[0]["message"] == "Booting worker with pid: 42"
    assert lines[1]["message"] == "customer [redacted] broke something"
    assert lines[2]["payment_id"] == "p-1"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://shop:S3cretPW0rd@db.internal:5432/shop",
        "smtp://receipts%40shop.kz:S3cretPW0rd@smtp.example.kz:587",
        "redis://:S3cretPW0rd@127.0.0.1:6379/0",
    ],
)
def test_a_url_password_is_redacted(url: str) -> None:
    redacted = logs.redact_text(f"could not connect to {url}")
    assert "S3cretPW0rd" not in redacted
    assert "[redacted]@" in redacted


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"078+ ()-.:=@/_aBcdeKYbearsicnPM\n", "-----BEGIN ", "://", "Bearer "]),
        max_size=60,
    ).map("".join)
)
def test_the_quick_check_skips_only_texts_that_nothing_would_redact(text: str) -> None:
    # The quick check stands in for every pattern: skipping a text must never keep what they catch.
    assert redaction.redact_text(text) == redaction.apply_every_pattern(text)
