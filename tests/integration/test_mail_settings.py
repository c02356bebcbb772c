"""SMTP_URL and MAIL_FROM: read at start-up, a bad value stops it with a message that keeps the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkout.config import ConfigError, load_settings
from checkout.mail.settings import DEFAULT_SENDER, SmtpSecurity
from tests.conftest import PRODUCTION
from tests.processes import clean_environ, run_flask

PASSWORD = "Zq8-secret-pw"


def problems(environ: dict[str, str], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ, tmp_path)
    return raised.value.problems


@pytest.mark.parametrize(
    ("url", "security", "host", "port", "username", "password"),
    [
        ("smtp://mail.example.kz", SmtpSecurity.STARTTLS, "mail.example.kz", 587, None, None),
        ("smtps://mail.example.kz", SmtpSecurity.TLS, "mail.example.kz", 465, None, None),
        ("smtp://127.0.0.1:1025", SmtpSecurity.STARTTLS, "127.0.0.1", 1025, None, None),
        (
            "SMTPS://shop%40example.kz:p%40ss%3Aw%2Frd@mail.example.kz:2465/",
            SmtpSecurity.TLS,
            "mail.example.kz",
            2465,
            "shop@example.kz",
            "p@ss:w/rd",
        ),
    ],
)
def test_smtp_url_forms(
    tmp_path: Path,
    url: str,
    security: SmtpSecurity,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
) -> None:
    settings = load_settings({**PRODUCTION, "SMTP_URL": url, "MAIL_FROM": "Shop <r@example.kz>"}, tmp_path)
    server = settings.smtp_server
    assert server is not None
    assert (server.security, server.host, server.port) == (security, host, port)
    assert (server.username, server.password) == (username, password)
    assert str(server) == f"{security}://{host}:{port}"
    assert "p@ss" not in repr(server)


def test_without_smtp_url_mail_goes_to_files_from_the_default_sender(tmp_path: Path) -> None:
    settings = load_settings({"APP_ENV": "development"}, tmp_path)
    assert settings.smtp_server is None
    assert settings.mail_from == DEFAULT_SENDER


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (f"https://user:{PASSWORD}@mail.example.kz", "must start with smtp:// (STARTTLS) or smtps:// (TLS)"),
        (f"smtp://user:{PASSWORD}@mail.example.kz:99999", "not a URL of the form"),
        (f"smtp://user:{PASSWORD}@:25", "names no host"),
        (f"smtp://user:{PASSWORD}@mail.example.kz/inbox", "takes no path, query or fragment"),
        (f"smtps://:{PASSWORD}@mail.example.kz", "has a password but no user name"),
    ],
)
def test_a_bad_smtp_url_is_named_without_its_password(tmp_path: Path, url: str, complaint: str) -> None:
    found = problems({"APP_ENV": "development", "SMTP_URL": url}, tmp_path)
    [problem] = [problem for problem in found if problem.startswith("SMTP_URL")]
    assert problem.startswith(f"SMTP_URL: {complaint}")
    assert all(PASSWORD not in problem for problem in found)


@pytest.mark.parametrize(
    "sender", ["receipts", "Shop <receipts>", "a@example.kz, b@example.kz", "<@example.kz>"]
)
def test_a_bad_sender_is_named(tmp_path: Path, sender: str) -> None:
    found = problems({"APP_ENV": "development", "MAIL_FROM": sender}, tmp_path)
    assert any(problem.startswith("MAIL_FROM: must be one address") for problem in found), found


def test_production_sending_mail_needs_a_real_sender(tmp_path: Path) -> None:
    found = problems({**PRODUCTION, "SMTP_URL": "smtps://mail.example.kz"}, tmp_path)
    assert found == ["MAIL_FROM: required in production (APP_ENV=production) when SMTP_URL is set"]
    # Without SMTP_URL nothing is sent anywhere else, so no sender is needed.
    assert load_settings(PRODUCTION, tmp_path).smtp_server is None


def test_start_up_stops_on_a_bad_smtp_url_and_keeps_the_password(tmp_path: Path) -> None:
    environ = clean_environ(
        APP_ENV="development",
        INSTANCE_PATH=str(tmp_path / "instance"),
        SMTP_URL=f"smtp://shop:{PASSWORD}@mail.example.kz:0x19",
    )
    result = run_flask("mail", "send", environ=environ)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Configuration is invalid (APP_ENV=development):" in result.stderr
    assert "  - SMTP_URL: not a URL of the form smtp://user:password@host:port" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
