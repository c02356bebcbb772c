"""Fixtures: app → client → helpers, on SQLite by default or TEST_DATABASE_URL (PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from checkout import create_app
from checkout.extensions import db
from checkout.highhelp import signing

DATA = Path(__file__).parent / "data" / "highhelp"
KEYS = DATA / "test-keys"
VECTORS: list[dict[str, Any]] = json.loads((DATA / "signature-vectors.json").read_text("utf-8"))
PROJECT_ID = "57aff4db-b45d-42bf-bc5f-b7a499a01782"
# A complete, valid production configuration that tests change one setting of.
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "Jq7vN2xR9kLp4tWz8cHm3bYf6dGs1aUe5oVi0rTn",
    "DATABASE_URL": "postgres://user:pw@db.internal:5432/shop",
    "PUBLIC_BASE_URL": "https://shop.example.kz",
    "HIGHHELP_API_URL": "https://api.hh-processing.com",
    "HIGHHELP_PROJECT_ID": PROJECT_ID,
    "HIGHHELP_PRIVATE_KEY_FILE": str(KEYS / "merchant_private.pem"),
    "HIGHHELP_CALLBACK_PUBLIC_KEY_FILE": str(KEYS / "highhelp_callback_public.pem"),
}


def merchant_signer() -> signing.RsaSigner:
    """Signs like the app does with the shared merchant test key."""
    return signing.RsaSigner(signing.load_private_key((KEYS / "merchant_private.pem").read_bytes()))


def callback_signer() -> signing.RsaSigner:
    """Signs like HighHelp does with the shared callback test key."""
    pem = (KEYS / "highhelp_callback_private.pem").read_bytes()
    return signing.RsaSigner(signing.load_private_key(pem))


def hmac_key() -> bytes:
    """The shared HMAC test key, as the protocol reads it."""
    return signing.parse_hmac_keys((KEYS / "hmac_key.txt").read_text("utf-8"))[0]


def make_environ(database_url: str, **overrides: str) -> dict[str, str]:
    """A complete test environment using the shared test keys."""
    environ = {
        "APP_ENV": "test",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": database_url,
        "HIGHHELP_PROJECT_ID": PROJECT_ID,
        "HIGHHELP_PRIVATE_KEY_FILE": str(KEYS / "merchant_private.pem"),
        "HIGHHELP_CALLBACK_PUBLIC_KEY_FILE": str(KEYS / "highhelp_callback_public.pem"),
        # The mounted sandbox signs callbacks with the private half of the key above.
        "SANDBOX_CALLBACK_PRIVATE_KEY_FILE": str(KEYS / "highhelp_callback_private.pem"),
    }
    environ.update(overrides)
    return environ


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database brought to the newest migration once per run; tests start from a copy."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url.replace("postgresql://", "postgresql+psycopg://", 1))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.sqlite3'}"
    app = create_app(make_environ(url), instance_path=tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engines[None].dispose()
    return url


def empty_database(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database while the generator runs: a copy on SQLite, emptied after on PostgreSQL."""
    if migrated_database.startswith("sqlite:///"):
        copy = tmp_path / "test.sqlite3"
        shutil.copyfile(migrated_database.removeprefix("sqlite:///"), copy)
        yield f"sqlite:///{copy}"
        return
    yield migrated_database
    engine = create_engine(migrated_database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        tables = text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        names = [name for (name,) in connection.execute(tables)]
        if names:
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test."""
    yield from empty_database(migrated_database, tmp_path)


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test database with settings overridden by keyword."""
    apps: list[Flask] = []

    def build(**overrides: str) -> Flask:
        app = create_app(make_environ(database_url, **overrides), instance_path=tmp_path / "instance")
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app on a fresh database with the shared test keys."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()
