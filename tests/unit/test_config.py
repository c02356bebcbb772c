"""Settings: every problem reported at once in production, working defaults locally."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from checkout.config import SANDBOX_PROJECT_ID, ConfigError, database_url, load_settings
from checkout.highhelp import signing
from tests.conftest import KEYS, PRODUCTION, hmac_key


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
        ("REDIS_URL", "redis://:pw@127.0.0.1:notaport/0", "cannot be read"),
        ("DATABASE_URL", "postgresql://app:hunter@2:S3cretPW0rd@db.internal/x", "cannot be read"),
        ("DATABASE_URL", "not a url", "cannot be read"),
        ("DATABASE_URL", "mysql://shop@db.internal/shop", "PostgreSQL or SQLite"),
        ("PUBLIC_BASE_URL", "https://admin:S3cretPW0rd@pay.example.kz", "user or password"),
        ("PUBLIC_BASE_URL", "https://pay.example.kz/shop?x=1", "without a path"),
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


PLACEHOLDER_SECRETS = [
    "s" * 40,
    "changeme" * 5,
    "change-me-change-me-change-me-change-me",
    "secret" * 7,
    "Secret_Secret_Secret_Secret_Secret_Secret",
    "0123456789" * 4,
    "your-secret-key-goes-here-0123456789abcdef",
    "<put a long random value in here, 32+ chars>",
    "django-insecure-8f3k2l1m0n9b8v7c6x5z4a3s2d1f0g9h",
    "placeholder-for-the-real-secret-key-value",
    "example-example-example-example-example",
    "x" * 40,
    "dev-secret-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "test-secret-test-secret-test-secret-key",
]
# What each secret is in production: an inline value, and the signature mode that uses it.
SIGNED_WITH = {
    "SECRET_KEY": {},
    "HIGHHELP_HMAC_KEY": {"HIGHHELP_REQUEST_SIGNATURE": "hmac"},
    "HIGHHELP_CALLBACK_HMAC_KEY": {"HIGHHELP_CALLBACK_SIGNATURE": "hmac"},
}


@pytest.mark.parametrize("name", list(SIGNED_WITH))
@pytest.mark.parametrize("value", PLACEHOLDER_SECRETS)
def test_placeholder_secrets_are_refused_in_production(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({**PRODUCTION, **SIGNED_WITH[name], name: value}, tmp_path)
    [problem] = [problem for problem in raised.value.problems if "not a random secret" in problem]
    assert problem.startswith(f"{name}: ")
    assert "secrets.token_urlsafe" in problem
    assert value not in str(raised.value)


def test_a_placeholder_among_rotated_callback_keys_is_refused(tmp_path: Path) -> None:
    environ = {
        **PRODUCTION,
        "HIGHHELP_CALLBACK_SIGNATURE": "hmac",
        "HIGHHELP_CALLBACK_HMAC_KEY": f"{hmac_key().decode()},changeme-to-the-new-callback-key",
    }
    [problem] = problems(environ, tmp_path)
    assert problem.startswith("HIGHHELP_CALLBACK_HMAC_KEY: looks like a placeholder, not a random secret")


def test_a_placeholder_from_a_file_names_the_file_variable(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("changeme-changeme-changeme-changeme\n")
    environ = {**PRODUCTION, "SECRET_KEY_FILE": str(secret_file)}
    del environ["SECRET_KEY"]
    [problem] = problems(environ, tmp_path)
    assert problem.startswith("SECRET_KEY_FILE: ")


@pytest.mark.parametrize(
    "value",
    [
        secrets.token_urlsafe(48),
        secrets.token_hex(32),
        "Jq7vN2xR9kLp4tWz8cHm3bYf6dGs1aUe5oVi0rTn",
        "correct horse battery staple and then some more words",
    ],
)
def test_random_secrets_are_accepted_in_production(tmp_path: Path, value: str) -> None:
    environ = {**PRODUCTION, "HIGHHELP_REQUEST_SIGNATURE": "hmac", "HIGHHELP_CALLBACK_SIGNATURE": "hmac"}
    environ.update(SECRET_KEY=value, HIGHHELP_HMAC_KEY=value, HIGHHELP_CALLBACK_HMAC_KEY=value)
    settings = load_settings(environ, tmp_path)
    assert settings.secret_key == value


@pytest.mark.parametrize("environment", ["test", "development"])
def test_placeholder_secrets_are_fine_outside_production(tmp_path: Path, environment: str) -> None:
    environ = {
        **PRODUCTION,
        "APP_ENV": environment,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "HIGHHELP_REQUEST_SIGNATURE": "hmac",
        "HIGHHELP_HMAC_KEY": "changeme",
        "HIGHHELP_CALLBACK_SIGNATURE": "hmac",
        "HIGHHELP_CALLBACK_HMAC_KEY": "x" * 40,
    }
    settings = load_settings(environ, tmp_path / "instance")
    assert settings.secret_key == "test-secret-key-that-is-long-enough-0123456789"


def test_redis_key_prefix_is_optional_and_checked(tmp_path: Path) -> None:
    assert load_settings(PRODUCTION, tmp_path).redis_key_prefix == ""
    settings = load_settings({**PRODUCTION, "REDIS_KEY_PREFIX": "shop-kz:prod"}, tmp_path)
    assert settings.redis_key_prefix == "shop-kz:prod"
    found = problems({**PRODUCTION, "REDIS_KEY_PREFIX": "shop/kz"}, tmp_path)
    assert any(problem.startswith("REDIS_KEY_PREFIX:") for problem in found)


@pytest.mark.parametrize(
    "value", ["postgresql://app:hunter@2:S3cretPW0rd@db.internal/x", "redis://:S3cretPW0rd@h:notaport/0"]
)
def test_an_unreadable_url_is_named_without_its_password(tmp_path: Path, value: str) -> None:
    name = "DATABASE_URL" if value.startswith("postgresql") else "REDIS_URL"
    found = problems({**PRODUCTION, name: value}, tmp_path)
    assert any(problem.startswith(name) for problem in found), found
    assert "S3cretPW0rd" not in "\n".join(found)
