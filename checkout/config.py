"""Settings from the environment, checked all at once so start-up fails with one clear message."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from redis.connection import parse_url as parse_redis_url
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .highhelp import assumed, signing
from .highhelp.client import DEFAULT_MAX_IN_FLIGHT
from .highhelp.wire import DEFAULT_LIFETIME, LIFETIME_RANGE
from .local_keys import LocalKeys, ensure_local_keys
from .mail.settings import DEFAULT_SENDER, SmtpServer, parse_sender, parse_smtp_url
from .settings_reader import Reader

ENVIRONMENTS = ("development", "production", "test")
DATABASE_BACKENDS = ("postgresql", "sqlite")
SANDBOX_PROJECT_ID = "5a4d0b0c-0000-4000-8000-00000000c0de"
SANDBOX_PATH = "/sandbox"
# Where `make run` serves (its PORT); outside a request, a local app reaches itself there.
DEFAULT_LOCAL_PORT = 5000
MIN_SECRET_KEY_LENGTH = 32
# gunicorn's processes and the threads in each (gunicorn.conf.py reads these defaults too); a
# process's database pool is sized to its threads, so every thread has a connection.
DEFAULT_WEB_CONCURRENCY = 2
DEFAULT_WEB_THREADS = 4
WEB_THREADS_RANGE = (1, 64)
# Our keys in a shared Redis start with this; only what Redis and Flask-Limiter's keys take as-is.
REDIS_KEY_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Secrets whose value production refuses, because a copied sample or a typed stand-in is no secret.
SECRETS_CHECKED_IN_PRODUCTION = (
    "SECRET_KEY",
    "HIGHHELP_HMAC_KEY",
    "HIGHHELP_CALLBACK_HMAC_KEY",
    "METRICS_TOKEN",
)
# Left out when looking at what a secret is made of: a stand-in is the same words with any punctuation.
SECRET_SEPARATORS = re.compile(r"[\s\-_.:/+=,;|~]+")
# A short text repeated (period up to 16), "one repeated character" included.
REPEATED_TEXT = re.compile(r"(.{1,16}?)\1+")
# Words that only a stand-in contains, wherever they are ("django-insecure-…" included).
PLACEHOLDER_MARKERS = ("changeme", "changeit", "replaceme", "placeholder", "insecure", "notasecret")
# A stand-in usually starts by addressing the reader: "your-secret-key-here", "<your key>".
PLACEHOLDER_OPENINGS = ("your", "<", "${", "{{")
# Words a stand-in is mostly made of; a secret made mostly of them (and x's) is refused.
PLACEHOLDER_WORDS = re.compile(
    r"secret|example|sample|dummy|default|password|development|dev|testing|test|demo|fake|x{3,}"
)


class ConfigError(Exception):
    """One or more settings are missing or invalid; the message lists every one."""

    def __init__(self, environment: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"Configuration is invalid (APP_ENV={environment}):\n{lines}")


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, parsed and checked."""

    environment: str
    secret_key: str
    database_url: str
    public_base_url: str | None
    highhelp_api_url: str | None
    project_id: str
    request_signer: signing.RsaSigner | signing.HmacSigner
    callback_verifier: signing.RsaVerifier | signing.HmacVerifier
    callback_tolerance: int | None
    payment_lifetime: int
    reconcile_after: int
    highhelp_max_calls: int
    redis_url: str | None
    redis_key_prefix: str
    local_port: int
    local_keys: LocalKeys | None
    # None: receipts are written as .eml files under the instance folder instead of sent.
    smtp_server: SmtpServer | None = None
    mail_from: str = DEFAULT_SENDER
    # The bearer token /metrics asks for; None: there is no /metrics (404).
    metrics_token: str | None = None
    # Threads per web process (WEB_THREADS), and so the size of this process's database pool.
    web_threads: int = DEFAULT_WEB_THREADS

    @property
    def is_production(self) -> bool:
        """True outside development and tests."""
        return self.environment == "production"

    @property
    def uses_sandbox(self) -> bool:
        """True when HighHelp is the sandbox mounted inside this app."""
        return self.highhelp_api_url is None


def _refuse_placeholder(read: Reader, name: str, text: str | None) -> None:
    """A problem naming the variable (never the value) when a secret is a stand-in."""
    if text is None:
        return
    # HIGHHELP_CALLBACK_HMAC_KEY may list several keys for rotation; each must be a real one.
    values = text.split(",") if name == "HIGHHELP_CALLBACK_HMAC_KEY" else [text]
    reasons = {reason for value in values if (reason := placeholder_reason(value))}
    for reason in sorted(reasons):
        read.problems.append(
            f"{read.source(name)}: {reason}, not a random secret; in production set a random value, "
            "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )


def placeholder_reason(value: str) -> str | None:
    """Why a secret looks like a stand-in rather than a random value; None when it does not."""
    text = value.strip().lower()
    content = SECRET_SEPARATORS.sub("", text)
    if not content:
        return None
    if len(set(content)) == 1:
        return "is one character repeated"
    if REPEATED_TEXT.fullmatch(content):
        return "is a short text repeated"
    if any(marker in content for marker in PLACEHOLDER_MARKERS) or text.startswith(PLACEHOLDER_OPENINGS):
        return "looks like a placeholder"
    if 2 * len(PLACEHOLDER_WORDS.sub("", content)) < len(content):
        return "is mostly a placeholder word"
    return None


def _parses(parse: Callable[[str], object], text: str) -> bool:
    """True when `parse` reads `text`; its error is dropped, since it may quote a password."""
    try:
        parse(text)
    except (ValueError, ArgumentError):
        return False
    return True


def database_url_problem(url: str) -> str | None:
    """Why DATABASE_URL cannot serve, in words that never repeat it (it holds the password)."""
    if not _parses(make_url, database_url(url)):
        return "cannot be read (is the port a number, the password URL-encoded?)"
    backend = make_url(database_url(url)).get_backend_name()
    if backend not in DATABASE_BACKENDS:
        return f"must be a PostgreSQL or SQLite URL, not {backend}"
    return None


def origin_problem(url: str) -> str | None:
    """PUBLIC_BASE_URL is an origin: callback and return paths are added to it, and HighHelp sees it."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return "must not contain a user or password"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must be scheme, host and port only (https://pay.example.kz), without a path or query"
    return None


def database_url(url: str) -> str:
    """Accept PaaS-style `postgres://` URLs and use psycopg 3 for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def load_settings(environ: Mapping[str, str], instance_path: Path) -> Settings:
    """Read and check every setting; ConfigError lists all problems at once."""
    read = Reader(environ)
    environment = read.choice("APP_ENV", ENVIRONMENTS, "production")
    production = environment == "production"
    in_production = "in production (APP_ENV=production)"

    secret_key = read.secret("SECRET_KEY")
    if secret_key is not None and len(secret_key.strip()) < MIN_SECRET_KEY_LENGTH:
        read.problems.append(f"SECRET_KEY: must be at least {MIN_SECRET_KEY_LENGTH} characters")
    db_url = read.text("DATABASE_URL")
    if db_url is not None and (problem := database_url_problem(db_url)):
        read.problems.append(f"DATABASE_URL: {problem}")
    public_base_url = read.url("PUBLIC_BASE_URL")
    if public_base_url is not None and (problem := origin_problem(public_base_url)):
        read.problems.append(f"PUBLIC_BASE_URL: {problem}")
    api_url = read.url("HIGHHELP_API_URL")
    project_id = read.text("HIGHHELP_PROJECT_ID")
    if project_id is not None and len(project_id) > assumed.PROJECT_ID_MAX_LENGTH:
        read.problems.append(f"HIGHHELP_PROJECT_ID: at most {assumed.PROJECT_ID_MAX_LENGTH} characters")
    request_algorithm = read.choice("HIGHHELP_REQUEST_SIGNATURE", ("rsa", "hmac"), "rsa")
    callback_algorithm = read.choice("HIGHHELP_CALLBACK_SIGNATURE", ("rsa", "hmac"), "rsa")
    private_key_pem = read.secret("HIGHHELP_PRIVATE_KEY")
    hmac_key_text = read.secret("HIGHHELP_HMAC_KEY")
    callback_key_pem = read.secret("HIGHHELP_CALLBACK_PUBLIC_KEY")
    callback_hmac_text = read.secret("HIGHHELP_CALLBACK_HMAC_KEY")
    lifetime = read.integer("PAYMENT_LIFETIME", DEFAULT_LIFETIME, *LIFETIME_RANGE)
    reconcile_after = read.integer("RECONCILE_AFTER", 120, 10, 86400)
    max_calls = read.integer("HIGHHELP_MAX_CALLS", DEFAULT_MAX_IN_FLIGHT, 1, 64)
    tolerance_text = read.text("HIGHHELP_CALLBACK_TOLERANCE")
    tolerance = read.integer("HIGHHELP_CALLBACK_TOLERANCE", 300, 1, 86400) if tolerance_text else None
    redis_url = read.text("REDIS_URL")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        read.problems.append("REDIS_URL: must start with redis://, rediss:// or unix://")
    elif redis_url and not _parses(parse_redis_url, redis_url):
        read.problems.append("REDIS_URL: cannot be read (is the port a number, the password URL-encoded?)")
    redis_key_prefix = read.text("REDIS_KEY_PREFIX") or ""
    if redis_key_prefix and not REDIS_KEY_PREFIX.fullmatch(redis_key_prefix):
        read.problems.append("REDIS_KEY_PREFIX: 1 to 64 letters, digits or _ . : -")
    # SMTP_URL holds the mail password: its problems never quote it.
    smtp_server = read.parsed("SMTP_URL", read.text("SMTP_URL"), parse_smtp_url)
    mail_from = read.parsed("MAIL_FROM", read.text("MAIL_FROM"), parse_sender)
    metrics_token = (read.secret("METRICS_TOKEN") or "").strip() or None
    web_threads = read.integer("WEB_THREADS", DEFAULT_WEB_THREADS, *WEB_THREADS_RANGE)

    why = "when HighHelp is not the built-in sandbox"
    local_keys = None
    local_port = DEFAULT_LOCAL_PORT
    if production:
        read.require("SECRET_KEY", secret_key, in_production)
        read.require("DATABASE_URL", db_url, in_production)
        read.require("PUBLIC_BASE_URL", public_base_url, in_production)
        read.require("HIGHHELP_API_URL", api_url, in_production + "; the sandbox is for local use")
        read.require("HIGHHELP_PROJECT_ID", project_id, in_production)
        for name, text in zip(
            SECRETS_CHECKED_IN_PRODUCTION,
            (secret_key, hmac_key_text, callback_hmac_text, metrics_token),
            strict=True,
        ):
            _refuse_placeholder(read, name, text)
        if metrics_token is not None and len(metrics_token) < MIN_SECRET_KEY_LENGTH:
            # Anyone who can reach /metrics may guess it: as long as a session key, in production.
            read.problems.append(
                f"{read.source('METRICS_TOKEN')}: must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        if smtp_server is not None:
            # Mail from receipts@localhost is refused or filed as spam by the customer's provider.
            read.require("MAIL_FROM", mail_from, in_production + " when SMTP_URL is set")
    else:
        # Locally every secret has a default, generated once into the instance folder.
        local_keys = ensure_local_keys(instance_path)
        local_port = read.integer("PORT", DEFAULT_LOCAL_PORT, 1, 65535)
        secret_key = secret_key or local_keys.secret_key()
        db_url = db_url or f"sqlite:///{instance_path / 'checkout.sqlite3'}"
        if api_url is None:
            # The built-in sandbox plays HighHelp and trusts these generated keys.
            project_id = project_id or SANDBOX_PROJECT_ID
            private_key_pem = private_key_pem or local_keys.merchant_private_pem()
            hmac_key_text = hmac_key_text or local_keys.hmac_key()
            callback_key_pem = callback_key_pem or local_keys.callback_public_pem()
            callback_hmac_text = callback_hmac_text or local_keys.hmac_key()
        else:
            read.require("HIGHHELP_PROJECT_ID", project_id, why)

    signer = _request_signer(read, request_algorithm, private_key_pem, hmac_key_text, why)
    verifier = _callback_verifier(read, callback_algorithm, callback_key_pem, callback_hmac_text, why)

    if read.problems or not (secret_key and db_url and project_id and signer and verifier):
        raise ConfigError(environment, sorted(set(read.problems)))
    return Settings(
        environment=environment,
        secret_key=secret_key.strip(),
        database_url=database_url(db_url),
        public_base_url=public_base_url,
        highhelp_api_url=api_url,
        project_id=project_id,
        request_signer=signer,
        callback_verifier=verifier,
        callback_tolerance=tolerance,
        payment_lifetime=lifetime,
        reconcile_after=reconcile_after,
        highhelp_max_calls=max_calls,
        redis_url=redis_url,
        redis_key_prefix=redis_key_prefix,
        local_port=local_port,
        local_keys=local_keys,
        smtp_server=smtp_server,
        mail_from=mail_from or DEFAULT_SENDER,
        metrics_token=metrics_token,
        web_threads=web_threads,
    )


def _request_signer(
    read: Reader, algorithm: str, private_key_pem: str | None, hmac_text: str | None, why: str
) -> signing.RsaSigner | signing.HmacSigner | None:
    if algorithm == "hmac":
        read.require("HIGHHELP_HMAC_KEY", hmac_text, why + " and HIGHHELP_REQUEST_SIGNATURE=hmac")
        return read.parsed("HIGHHELP_HMAC_KEY", hmac_text, _single_hmac_signer)
    read.require("HIGHHELP_PRIVATE_KEY", private_key_pem, why)
    return read.parsed(
        "HIGHHELP_PRIVATE_KEY", private_key_pem, lambda pem: signing.RsaSigner(signing.load_private_key(pem))
    )


def _single_hmac_signer(text: str) -> signing.HmacSigner:
    keys = signing.parse_hmac_keys(text)
    if len(keys) != 1:
        raise ValueError("give exactly one key")
    return signing.HmacSigner(keys[0])


def _callback_verifier(
    read: Reader, algorithm: str, public_pem: str | None, hmac_text: str | None, why: str
) -> signing.RsaVerifier | signing.HmacVerifier | None:
    if algorithm == "hmac":
        name = "HIGHHELP_CALLBACK_HMAC_KEY"
        read.require(name, hmac_text, why + " and HIGHHELP_CALLBACK_SIGNATURE=hmac")
        return read.parsed(name, hmac_text, lambda text: signing.HmacVerifier(signing.parse_hmac_keys(text)))
    read.require("HIGHHELP_CALLBACK_PUBLIC_KEY", public_pem, why)
    return read.parsed(
        "HIGHHELP_CALLBACK_PUBLIC_KEY",
        public_pem,
        lambda pem: signing.RsaVerifier(signing.load_public_keys(pem)),
    )
