"""Checks that need nothing but our settings and our own database: keys, URLs, migrations, mail, Redis."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from ..callbacks import bp as callbacks_bp
from ..config import Settings
from ..gateway import public_base_url
from ..highhelp import signing
from ..highhelp.errors import BadSignature
from ..payments.alerts import AlertKind
from ..readiness import probe_database, probe_engine, redis_result
from ..settings_reader import Reader
from .findings import Finding, error, ok, warning

# The public key registered in HighHelp's merchant cabinet, if the deployer gives it: read only here,
# to prove it is the other half of HIGHHELP_PRIVATE_KEY (HighHelp would refuse every call otherwise).
REGISTERED_PUBLIC_KEY = "HIGHHELP_PUBLIC_KEY"
# Signed and verified to prove the private key and the x-access-token key are one pair.
PROBE_BODY = {"general": {"project_id": "check-config", "payment_id": "check-config"}}
PROBE_TIMESTAMP = "1700000000"
# Enough of a key's SHA-256 to tell two keys apart by eye.
FINGERPRINT_LENGTH = 16


def offline_findings(app: Flask, settings: Settings, environ: Mapping[str, str]) -> list[Finding]:
    """Every check that reaches nothing beyond our own database and Redis."""
    return [
        ok("settings", f"every setting is valid (APP_ENV={settings.environment})"),
        *request_key_findings(settings, environ),
        *callback_key_findings(settings),
        *url_findings(settings),
        *database_findings(app),
        *mail_findings(settings),
        *redis_findings(app, settings),
    ]


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """The start of the SHA-256 of the key's DER SubjectPublicKeyInfo (what x-access-token encodes)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:FINGERPRINT_LENGTH]


def same_key(one: rsa.RSAPublicKey, other: rsa.RSAPublicKey) -> bool:
    """True when two public keys are the same key."""
    return one.public_numbers() == other.public_numbers()


def request_key_findings(settings: Settings, environ: Mapping[str, str]) -> list[Finding]:
    """Our request key signs, and x-access-token carries its own public half."""
    signer = settings.request_signer
    read = Reader(environ)
    registered_pem = read.secret(REGISTERED_PUBLIC_KEY)
    findings = [error(problem.partition(": ")[0], problem.partition(": ")[2]) for problem in read.problems]
    if isinstance(signer, signing.HmacSigner):
        findings.append(ok("HIGHHELP_HMAC_KEY", "signs requests with HMAC-SHA512; no x-access-token is sent"))
        if registered_pem:
            findings.append(warning(REGISTERED_PUBLIC_KEY, "ignored: requests are signed with HMAC"))
        return findings
    token = signer.access_token or ""
    token_key = serialization.load_der_public_key(signing.b64url_decode(token))
    if not isinstance(token_key, rsa.RSAPublicKey):
        return [*findings, error("HIGHHELP_PRIVATE_KEY", "x-access-token does not carry an RSA public key")]
    try:
        signature = signer.sign(PROBE_BODY, PROBE_TIMESTAMP)
        signing.verify_signature(signing.RsaVerifier([token_key]), PROBE_BODY, PROBE_TIMESTAMP, signature)
    except BadSignature:
        return [
            *findings,
            error("HIGHHELP_PRIVATE_KEY", "its signature does not verify with the key x-access-token sends"),
        ]
    findings.append(
        ok(
            "HIGHHELP_PRIVATE_KEY",
            f"signs requests; x-access-token carries its public key (SHA-256 {fingerprint(token_key)}…), "
            "which HighHelp's merchant cabinet must hold",
        )
    )
    if registered_pem:
        findings.append(_registered_key_finding(read, registered_pem, token_key))
    return findings


def _registered_key_finding(read: Reader, pem: str, token_key: rsa.RSAPublicKey) -> Finding:
    name = read.source(REGISTERED_PUBLIC_KEY)
    try:
        keys = signing.load_public_keys(pem)
    except ValueError as exc:
        return error(name, str(exc))
    if any(same_key(key, token_key) for key in keys):
        return ok(name, "is the public half of HIGHHELP_PRIVATE_KEY")
    found = ", ".join(fingerprint(key) for key in keys)
    return error(
        name,
        f"is not the public half of HIGHHELP_PRIVATE_KEY (SHA-256 {found}… against "
        f"{fingerprint(token_key)}…): HighHelp would refuse every signed call",
    )


def callback_key_findings(settings: Settings) -> list[Finding]:
    """HighHelp's callback key parses and is not one of our own keys."""
    signer, verifier = settings.request_signer, settings.callback_verifier
    if isinstance(verifier, signing.RsaVerifier):
        name = "HIGHHELP_CALLBACK_PUBLIC_KEY"
        ours = signer.private_key.public_key() if isinstance(signer, signing.RsaSigner) else None
        if ours is not None and any(same_key(key, ours) for key in verifier.public_keys):
            return [
                error(
                    name,
                    "is our own public key (HIGHHELP_PRIVATE_KEY's half), not HighHelp's: "
                    "every genuine callback would be refused",
                )
            ]
        prints = ", ".join(f"{fingerprint(key)}…" for key in verifier.public_keys)
        return [ok(name, f"{len(verifier.public_keys)} RSA key(s), SHA-256 {prints}, none of them ours")]
    name = "HIGHHELP_CALLBACK_HMAC_KEY"
    if isinstance(signer, signing.HmacSigner) and signer.key in verifier.keys:
        return [
            error(
                name,
                "holds our request key HIGHHELP_HMAC_KEY: callbacks must be checked with HighHelp's key, "
                "or anyone holding ours could forge them",
            )
        ]
    return [ok(name, f"{len(verifier.keys)} HMAC key(s), none of them our request key")]


def url_findings(settings: Settings) -> list[Finding]:
    """Our URL and HighHelp's are https in production; the callback URLs to register."""
    findings = []
    for name, url in (
        ("PUBLIC_BASE_URL", settings.public_base_url),
        ("HIGHHELP_API_URL", settings.highhelp_api_url),
    ):
        if url is None:
            findings.append(ok(name, "unset, as allowed outside production"))
            continue
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.hostname}"
        if parts.scheme == "https":
            findings.append(ok(name, f"https ({where})"))
        elif settings.is_production:
            findings.append(error(name, f"must be https in production, not {where}"))
        else:
            findings.append(ok(name, f"{where}: http is allowed on loopback outside production"))
    base = public_base_url() + (callbacks_bp.url_prefix or "")
    urls = ", ".join(f"{base}/{kind}" for kind in AlertKind)
    findings.append(ok("callback URLs", f"register with HighHelp: {urls}"))
    return findings


def database_findings(app: Flask) -> list[Finding]:
    """The database answers and is at the migrations' head."""
    state = probe_database(probe_engine(app))
    database, migrations = state.database, state.migrations
    return [
        (ok if database.ok else error)("database", f"{database.detail} ({database.ms:.0f} ms)"),
        (ok if migrations.ok else error)("migrations", migrations.detail),
    ]


def mail_findings(settings: Settings) -> list[Finding]:
    """SMTP_URL parses (start-up already checked it); it is not connected to."""
    if settings.smtp_server is not None:
        # str() of the server never shows its credentials.
        return [ok("SMTP_URL", f"{settings.smtp_server} (parsed only; no mail is sent)")]
    if settings.is_production:
        return [warning("SMTP_URL", "unset: receipts are only written as .eml files in the instance folder")]
    return [ok("SMTP_URL", "unset: receipts are written as .eml files in the instance folder")]


def redis_findings(app: Flask, settings: Settings) -> list[Finding]:
    """Redis answers, when REDIS_URL is set; without it rate limits are per process, not wrong."""
    if not settings.redis_url:
        return []
    result = redis_result(app, settings.redis_url)
    return [(ok if result.ok else warning)("REDIS_URL", result.detail)]
