"""Settings: every problem reported at once in production, working defaults locally."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkout.config import SANDBOX_PROJECT_ID, ConfigError, database_url, load_settings
from checkout.highhelp import signing
from tests.conftest import KEYS, PROJECT_ID, hmac_key

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgres://user:pw@db.internal:5432/shop",
    "PUBLIC_BASE_URL": "https://shop.example.kz",
    "HIGHHELP_API_URL": "https://api.hh-processing.com",
    "HIGHHELP_PROJECT_ID": PROJECT_ID,
    "HIGHHELP_PRIVATE_KEY_FILE": str(KEYS / "merchant_private.pem"),
    "HIGHHELP_CALLBACK_PUBLIC_KEY_FILE": str(KEYS / "highhelp_callback_public.pem"),
}


def problems(environ: dict[str, str], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ, tmp_path)
    return raised.value.problems


def test_complete_production_settings_load(tmp_path: Path) -> None:
    settings = load_settings(PRODUCTION, tmp_path / "instance")
    assert settings.is_production
    assert not settings.uses_sandbox
    assert settings.database_url == "postgresql+psycopg://user:pw@db.internal:5432/shop"
    assert isinstance(settings.request_signer, signing.RsaSigner)
    assert settings.payment_lifetime == 600
    # Production never writes local secrets.
    assert not (tmp_path / "instance").exists()


def test_production_with_nothing_set_lists_every_missing_setting(tmp_path: Path) -> None:
    found = problems({}, tmp_path)
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "HIGHHELP_API_URL",
        "HIGHHELP_PROJECT_ID",
        "HIGHHELP_PRIVATE_KEY",
        "HIGHHELP_CALLBACK_PUBLIC_KEY",
    ):
        assert any(problem.startswith(name + ":") for problem in found), (name, found)


def test_error_message_is_one_readable_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"APP_ENV": "production", "PAYMENT_LIFETIME": "900"}, tmp_path)
    message = str(raised.value)
    assert message.startswith("Configuration is invalid (APP_ENV=production):\n  - ")
    assert "PAYMENT_LIFETIME: must be a whole number from 300 to 600" in message


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("SECRET_KEY", "short", "at least 32 characters"),
        ("PUBLIC_BASE_URL", "http://shop.example.kz", "https"),
        ("HIGHHELP_API_URL", "ftp://api.example", "https"),
        ("HIGHHELP_PROJECT_ID", "p" * 37, "at most 36"),
        ("HIGHHELP_REQUEST_SIGNATURE", "md5", "one of rsa, hmac"),
        ("HIGHHELP_CALLBACK_SIGNATURE", "none", "one of rsa, hmac"),
        ("PAYMENT_LIFETIME", "299", "300 to 600"),
        ("PAYMENT_LIFETIME", "ten", "300 to 600"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("HIGHHELP_PRIVATE_KEY_FILE", str(KEYS / "merchant_public.pem"), "private key"),
        ("HIGHHELP_PRIVATE_KEY_FILE", "/nonexistent/key.pem", "cannot read"),
        ("HIGHHELP_CALLBACK_PUBLIC_KEY_FILE", str(KEYS / "hmac_key.txt"), "no PEM block"),
        ("APP_ENV", "staging", "one of development, production, test"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, name: str, value: str, complaint: str) -> None:
    found = problems({**PRODUCTION, name: value}, tmp_path)
    assert any(problem.startswith(name) and complaint in problem for problem in found), found


def test_loopback_http_is_accepted_for_a_local_test_double(tmp_path: Path) -> None:
    settings = load_settings({**PRODUCTION, "HIGHHELP_API_URL": "http://127.0.0.1:8099/"}, tmp_path)
    assert settings.highhelp_api_url == "http://127.0.0.1:8099"


def test_inline_and_file_secret_together_is_a_problem(tmp_path: Path) -> None:
    environ = {**PRODUCTION, "HIGHHELP_PRIVATE_KEY": (KEYS / "merchant_private.pem").read_text()}
    assert "HIGHHELP_PRIVATE_KEY and HIGHHELP_PRIVATE_KEY_FILE: set only one of them" in problems(
        environ, tmp_path
    )


def test_inline_pem_key_is_accepted(tmp_path: Path) -> None:
    environ = dict(PRODUCTION)
    environ["HIGHHELP_PRIVATE_KEY"] = (KEYS / "merchant_private.pem").read_text()
    del environ["HIGHHELP_PRIVATE_KEY_FILE"]
    load_settings(environ, tmp_path)


def test_hmac_signatures_need_hmac_keys(tmp_path: Path) -> None:
    environ = {**PRODUCTION, "HIGHHELP_REQUEST_SIGNATURE": "hmac", "HIGHHELP_CALLBACK_SIGNATURE": "hmac"}
    found = problems(environ, tmp_path)
    assert any(problem.startswith("HIGHHELP_HMAC_KEY:") for problem in found)
    assert any(problem.startswith("HIGHHELP_CALLBACK_HMAC_KEY:") for problem in found)
    environ.update(
        HIGHHELP_HMAC_KEY_FILE=str(KEYS / "hmac_key.txt"),
        HIGHHELP_CALLBACK_HMAC_KEY=f"old-key,{hmac_key().decode()}",
    )
    settings = load_settings(environ, tmp_path)
    assert settings.request_signer == signing.HmacSigner(hmac_key())
    assert isinstance(settings.callback_verifier, signing.HmacVerifier)
    assert len(settings.callback_verifier.keys) == 2


def test_development_needs_nothing_and_generates_local_secrets_once(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    first = load_settings({"APP_ENV": "development"}, instance)
    assert first.uses_sandbox
    assert first.project_id == SANDBOX_PROJECT_ID
    assert first.database_url == f"sqlite:///{instance / 'checkout.sqlite3'}"
    assert len(first.secret_key) >= 32
    again = load_settings({"APP_ENV": "development"}, instance)
    assert again.secret_key == first.secret_key
    assert again.request_signer.access_token == first.request_signer.access_token
    assert (instance / "secret_key").stat().st_mode & 0o077 == 0


def test_development_against_a_real_highhelp_needs_its_keys(tmp_path: Path) -> None:
    found = problems({"APP_ENV": "development", "HIGHHELP_API_URL": "https://test.hh.example"}, tmp_path)
    assert any(problem.startswith("HIGHHELP_PROJECT_ID:") for problem in found)
    assert any(problem.startswith("HIGHHELP_PRIVATE_KEY:") for problem in found)


def test_callback_tolerance_is_off_unless_set(tmp_path: Path) -> None:
    assert load_settings(PRODUCTION, tmp_path).callback_tolerance is None
    settings = load_settings({**PRODUCTION, "HIGHHELP_CALLBACK_TOLERANCE": "120"}, tmp_path)
    assert settings.callback_tolerance == 120


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_url_forms(given: str, used: str) -> None:
    assert database_url(given) == used
