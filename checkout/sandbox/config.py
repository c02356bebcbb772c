"""What the sandbox trusts and how it behaves, read from SANDBOX_* variables or from the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..highhelp import signing
from ..local_keys import LocalKeys

DEFAULT_PROJECT_ID = "5a4d0b0c-0000-4000-8000-00000000c0de"
# At least five tries over about a minute; test mode uses the fast schedule.
RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0, 30.0)
FAST_RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2)


def timings(test_mode: bool) -> tuple[tuple[float, ...], float]:
    """Retry delays and sender interval: quick in test mode, so tests see retries within seconds."""
    return (FAST_RETRY_DELAYS, 0.1) if test_mode else (RETRY_DELAYS, 0.5)


class SandboxConfigError(Exception):
    """The sandbox's settings are missing or invalid; the message lists every problem."""


@dataclass(frozen=True)
class SandboxConfig:
    """Keys, project and timings of one sandbox."""

    project_id: str
    database_url: str
    callback_signer: signing.RsaSigner | signing.HmacSigner
    rsa_verifier: signing.RsaVerifier | None = None
    hmac_verifier: signing.HmacVerifier | None = None
    test_mode: bool = False
    resend_seconds: int = 30
    return_seconds: int = 5
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    callback_timeouts: tuple[float, float] = (2.0, 5.0)
    sender_interval: float = 0.5
    trusted_tokens: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.rsa_verifier is None and self.hmac_verifier is None:
            raise SandboxConfigError("the sandbox trusts no merchant key")
        if self.rsa_verifier is not None and not self.trusted_tokens:
            tokens = frozenset(signing.access_token(key) for key in self.rsa_verifier.public_keys)
            object.__setattr__(self, "trusted_tokens", tokens)


def read_secret(environ: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    inline, path = environ.get(name, "").strip(), environ.get(f"{name}_FILE", "").strip()
    if inline and path:
        problems.append(f"{name} and {name}_FILE: set only one of them")
        return None
    if path:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"{name}_FILE: cannot read {path}: {exc.__class__.__name__}")
            return None
    return inline or None


def read_seconds(environ: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    """A whole number of seconds from 1 to 3600, or the default when unset."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 3600:
        problems.append(f"{name}: must be a whole number of seconds from 1 to 3600")
        return default
    return int(value)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def config_from_environ(environ: Mapping[str, str], instance_path: Path) -> SandboxConfig:
    """Standalone sandbox settings from SANDBOX_* variables; unset keys come from `instance/`."""
    problems: list[str] = []
    local = LocalKeys(instance_path)
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    merchant_pem = read_secret(environ, "SANDBOX_MERCHANT_PUBLIC_KEY", problems)
    merchant_hmac = read_secret(environ, "SANDBOX_HMAC_KEY", problems)
    callback_pem = read_secret(environ, "SANDBOX_CALLBACK_PRIVATE_KEY", problems)
    callback_hmac = read_secret(environ, "SANDBOX_CALLBACK_HMAC_KEY", problems)
    callback_algorithm = environ.get("SANDBOX_CALLBACK_SIGNATURE", "rsa").strip().lower() or "rsa"
    rsa_verifier = hmac_verifier = None
    callback_signer: signing.RsaSigner | signing.HmacSigner | None = None
    try:
        public_pem = merchant_pem or (None if merchant_hmac else local.merchant_public_pem())
        if public_pem:
            rsa_verifier = signing.RsaVerifier(signing.load_public_keys(public_pem))
        if merchant_hmac:
            hmac_verifier = signing.HmacVerifier(signing.parse_hmac_keys(merchant_hmac))
    except ValueError as exc:
        problems.append(f"merchant key: {exc}")
    try:
        if callback_algorithm == "hmac":
            key_text = callback_hmac or merchant_hmac or local.hmac_key()
            callback_signer = signing.HmacSigner(signing.parse_hmac_keys(key_text)[0])
        elif callback_algorithm == "rsa":
            private = signing.load_private_key(callback_pem or local.callback_private_pem())
            callback_signer = signing.RsaSigner(private)
        else:
            problems.append("SANDBOX_CALLBACK_SIGNATURE: must be rsa or hmac")
    except ValueError as exc:
        problems.append(f"SANDBOX_CALLBACK_PRIVATE_KEY: {exc}")
    resend_seconds = read_seconds(environ, "SANDBOX_RESEND_SECONDS", 30, problems)
    if problems or callback_signer is None:
        raise SandboxConfigError(
            "Sandbox configuration is invalid:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    test_mode = _flag(environ, "SANDBOX_TEST_MODE")
    retry_delays, sender_interval = timings(test_mode)
    return SandboxConfig(
        project_id=environ.get("SANDBOX_PROJECT_ID", "").strip() or DEFAULT_PROJECT_ID,
        database_url=environ.get("SANDBOX_DATABASE_URL", "").strip()
        or f"sqlite:///{instance_path / 'sandbox.sqlite3'}",
        callback_signer=callback_signer,
        rsa_verifier=rsa_verifier,
        hmac_verifier=hmac_verifier,
        test_mode=test_mode,
        resend_seconds=resend_seconds,
        retry_delays=retry_delays,
        sender_interval=sender_interval,
    )
