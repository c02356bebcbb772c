"""`flask --app wsgi check-config [--online]` as a deployer runs it: a real process, one line per finding."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound

from tests.conftest import KEYS, PRODUCTION, make_environ
from tests.integration.conftest import previous_revision
from tests.processes import FLASK, clean_environ, free_port, run_flask, serving, serving_wsgi

SMTP_PASSWORD = "mail-pw-9f2c41"


def production(database_url: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Production settings a deployer would give, on the test database, changed by `overrides`."""
    environ = {**PRODUCTION, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "instance")}
    return clean_environ(**{**environ, **overrides})


def check_config(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run check-config; its report must never be a traceback."""
    result = run_flask("check-config", *args, environ=environ)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The ERROR lines of a report."""
    return [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]


def assert_only_error(result: subprocess.CompletedProcess[str], start: str) -> None:
    """Exit 1 and exactly one ERROR line, the one starting with `start`."""
    assert result.returncode == 1, result.stdout + result.stderr
    found = errors(result)
    assert len(found) == 1, result.stdout
    assert found[0].startswith(start), result.stdout


def test_good_production_settings_pass(database_url: str, tmp_path: Path) -> None:
    environ = production(
        database_url,
        tmp_path,
        HIGHHELP_PUBLIC_KEY_FILE=str(KEYS / "merchant_public.pem"),
        SMTP_URL=f"smtp://receipts:{SMTP_PASSWORD}@mail.example.kz:587",
        MAIL_FROM="Dala Mobile Shop <receipts@example.kz>",
    )
    result = check_config(environ)
    assert result.returncode == 0, result.stdout + result.stderr
    assert errors(result) == []
    lines = result.stdout.splitlines()
    for start in (
        "ok settings:",
        "ok HIGHHELP_PRIVATE_KEY:",
        "ok HIGHHELP_PUBLIC_KEY_FILE: is the public half",
        "ok HIGHHELP_CALLBACK_PUBLIC_KEY:",
        "ok PUBLIC_BASE_URL: https",
        "ok HIGHHELP_API_URL: https",
        "ok database:",
        "ok migrations: at head",
        "ok SMTP_URL: smtp://mail.example.kz:587",
    ):
        assert any(line.startswith(start) for line in lines), f"{start!r} not in\n{result.stdout}"
    assert "ok callback URLs: register with HighHelp: https://shop.example.kz/highhelp/callbacks/info" in (
        result.stdout
    )
    assert SMTP_PASSWORD not in result.stdout + result.stderr


def test_an_invalid_setting_is_a_finding_not_a_traceback(database_url: str, tmp_path: Path) -> None:
    result = check_config(production(database_url, tmp_path, SECRET_KEY="too-short", PAYMENT_LIFETIME="9"))
    assert result.returncode == 1
    assert "ERROR SECRET_KEY: must be at least 32 characters" in result.stdout
    assert any(line.startswith("ERROR PAYMENT_LIFETIME:") for line in errors(result)), result.stdout


def test_a_registered_public_key_not_our_private_key_s_half(database_url: str, tmp_path: Path) -> None:
    environ = production(
        database_url, tmp_path, HIGHHELP_PUBLIC_KEY_FILE=str(KEYS / "highhelp_callback_public.pem")
    )
    assert_only_error(check_config(environ), "ERROR HIGHHELP_PUBLIC_KEY_FILE: is not the public half")


def test_our_own_key_as_highhelp_s_callback_key(database_url: str, tmp_path: Path) -> None:
    environ = production(
        database_url, tmp_path, HIGHHELP_CALLBACK_PUBLIC_KEY_FILE=str(KEYS / "merchant_public.pem")
    )
    assert_only_error(check_config(environ), "ERROR HIGHHELP_CALLBACK_PUBLIC_KEY: is our own public key")


def test_our_request_hmac_key_as_the_callback_hmac_key(database_url: str, tmp_path: Path) -> None:
    key = tmp_path / "hmac.txt"
    key.write_text(secrets.token_urlsafe(48))
    other = secrets.token_urlsafe(48)
    hmac = {"HIGHHELP_REQUEST_SIGNATURE": "hmac", "HIGHHELP_CALLBACK_SIGNATURE": "hmac"}
    same = production(
        database_url,
        tmp_path,
        **hmac,
        HIGHHELP_HMAC_KEY_FILE=str(key),
        HIGHHELP_CALLBACK_HMAC_KEY=f"{other},{key.read_text()}",
    )
    assert_only_error(check_config(same), "ERROR HIGHHELP_CALLBACK_HMAC_KEY: holds our request key")
    apart = production(
        database_url, tmp_path, **hmac, HIGHHELP_HMAC_KEY_FILE=str(key), HIGHHELP_CALLBACK_HMAC_KEY=other
    )
    assert check_config(apart).returncode == 0


@pytest.mark.parametrize("name", ["PUBLIC_BASE_URL", "HIGHHELP_API_URL"])
def test_http_urls_are_refused_in_production(database_url: str, tmp_path: Path, name: str) -> None:
    # Start-up lets http through on loopback; a production deployment on loopback is a mistake.
    result = check_config(production(database_url, tmp_path, **{name: "http://127.0.0.1:8000"}))
    assert_only_error(result, f"ERROR {name}: must be https in production")


def test_a_database_one_migration_behind(one_revision_behind: str, tmp_path: Path) -> None:
    result = check_config(production(one_revision_behind, tmp_path))
    assert_only_error(result, f"ERROR migrations: database at {previous_revision()}")


def test_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://shop:db-pw-77@127.0.0.1:{free_port()}/shop"
    result = check_config(production(url, tmp_path))
    assert result.returncode == 1
    assert [line.split(":")[0] for line in errors(result)] == ["ERROR database", "ERROR migrations"]
    assert "db-pw-77" not in result.stdout + result.stderr


def test_a_bad_smtp_url(database_url: str, tmp_path: Path) -> None:
    environ = production(
        database_url, tmp_path, SMTP_URL=f"ftp://receipts:{SMTP_PASSWORD}@mail.example.kz", MAIL_FROM="a@b.kz"
    )
    result = check_config(environ)
    assert result.returncode == 1
    assert "ERROR SMTP_URL: must start with smtp:// (STARTTLS) or smtps:// (TLS)" in result.stdout
    assert SMTP_PASSWORD not in result.stdout + result.stderr


@pytest.fixture
def served_app(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The app served over HTTP with its mounted sandbox; the environment it runs with."""
    port = free_port()
    environ = clean_environ(
        **make_environ(
            database_url, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", INSTANCE_PATH=str(tmp_path / "instance")
        )
    )
    command = [*FLASK, "run", "--port", str(port), "--no-reload", "--no-debugger"]
    with serving(command, environ, port, tmp_path / "app.log"):
        yield environ


def test_online_reaches_our_callbacks_and_highhelp_accepts_our_keys(served_app: dict[str, str]) -> None:
    result = check_config(served_app, "--online")
    assert result.returncode == 0, result.stdout + result.stderr
    url = served_app["PUBLIC_BASE_URL"]
    for kind in ("info", "success", "decline"):
        assert f"ok callback URL {url}/highhelp/callbacks/{kind}: reaches this app" in result.stdout
    # The sandbox answers /info about a payment it does not know with 404 "… not found".
    assert "ok HighHelp authentication: accepted: /info about a made-up payment_id answered HTTP 404" in (
        result.stdout
    )


def test_online_reports_highhelp_refusing_our_project(served_app: dict[str, str]) -> None:
    # The sandbox knows one cash register; another project id is refused like a wrong one at HighHelp.
    environ = {**served_app, "HIGHHELP_PROJECT_ID": str(uuid.uuid4())}
    result = check_config(environ, "--online")
    assert_only_error(result, "ERROR HighHelp authentication: refused (HTTP 403")


def test_online_reports_callback_urls_that_do_not_reach_us(served_app: dict[str, str]) -> None:
    # PUBLIC_BASE_URL names a server that answers, but it is not us: 404 for every callback URL.
    with serving_wsgi(NotFound()) as elsewhere:
        result = check_config({**served_app, "PUBLIC_BASE_URL": elsewhere}, "--online")
    assert result.returncode == 1
    callback_errors = [line for line in errors(result) if line.startswith("ERROR callback URL")]
    assert len(callback_errors) == 3, result.stdout
    assert all("answered HTTP 404" in line for line in callback_errors), result.stdout


def test_online_reports_an_unreachable_public_url(database_url: str, tmp_path: Path) -> None:
    environ = clean_environ(
        **make_environ(
            database_url,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}",
            INSTANCE_PATH=str(tmp_path / "instance"),
        )
    )
    result = check_config(environ, "--online")
    assert result.returncode == 1
    found = errors(result)
    assert sum("cannot be reached" in line for line in found) == 3, result.stdout
    assert any(line.startswith("ERROR HighHelp: unreachable") for line in found), result.stdout
