"""What the sandbox trusts and how it behaves: SANDBOX_* variables, and the app's own values when mounted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..highhelp import signing
from ..local_keys import LocalKeys
from ..settings_reader import Reader

DEFAULT_PROJECT_ID = "5a4d0b0c-0000-4000-8000-00000000c0de"
# Who the hosted page says the payer is paying when nothing else says so: the demo shop.
DEFAULT_MERCHANT_NAME = "Dala Mobile Shop"
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
    merchant_name: str = DEFAULT_MERCHANT_NAME

    def __post_init__(self) -> None:
        if self.rsa_verifier is None and self.hmac_verifier is None:
            raise SandboxConfigError("the sandbox trusts no merchant key")
        if self.rsa_verifier is not None and not self.trusted_tokens:
            tokens = frozenset(signing.access_token(key) for key in self.rsa_verifier.public_keys)
            object.__setattr__(self, "trusted_tokens", tokens)


@dataclass(frozen=True)
class MountedApp:
    """What the app that mounts the sandbox knows, handed over as plain values (never its settings).

    The app's generated local keys are the ones in the instance folder given to `build_config`.
    """

    project_id: str
    request_signer: signing.RsaSigner | signing.HmacSigner
    callback_verifier: signing.RsaVerifier | signing.HmacVerifier
    test_mode: bool
    merchant_name: str | None = None


def build_config(
    environ: Mapping[str, str], instance_path: Path, app: MountedApp | None = None
) -> SandboxConfig:
    """The sandbox's settings; unset keys come from `instance_path`, generated there if needed.

    Standalone, SANDBOX_* variables say everything. Mounted in `app`, the sandbox plays the app's
    cash register, trusts exactly the key the app signs with and signs callbacks the way the app
    verifies them; of SANDBOX_* it then reads only the callback private key, the resend timer and
    the merchant's name (else the app's own).
    """
    read = Reader(environ)
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    local = LocalKeys(instance_path)
    database_url = f"sqlite:///{instance_path / 'sandbox.sqlite3'}"
    if app is None:
        project_id = read.text("SANDBOX_PROJECT_ID") or DEFAULT_PROJECT_ID
        database_url = read.text("SANDBOX_DATABASE_URL") or database_url
        test_mode = read.flag("SANDBOX_TEST_MODE")
        rsa_verifier, hmac_verifier, callback_signer = _from_environ(read, local)
    else:
        project_id, test_mode = app.project_id, app.test_mode
        rsa_verifier, hmac_verifier, callback_signer = _agreeing_with(read, local, app)
    resend_seconds = read.integer("SANDBOX_RESEND_SECONDS", 30, 1, 3600, "a whole number of seconds")
    merchant_name = read.text("SANDBOX_MERCHANT_NAME") or (app and app.merchant_name) or DEFAULT_MERCHANT_NAME
    if read.problems or callback_signer is None:
        raise SandboxConfigError(
            "Sandbox configuration is invalid:\n" + "\n".join(f"  - {p}" for p in read.problems)
        )
    retry_delays, sender_interval = timings(test_mode)
    return SandboxConfig(
        project_id=project_id,
        database_url=database_url,
        callback_signer=callback_signer,
        rsa_verifier=rsa_verifier,
        hmac_verifier=hmac_verifier,
        test_mode=test_mode,
        resend_seconds=resend_seconds,
        retry_delays=retry_delays,
        sender_interval=sender_interval,
        merchant_name=merchant_name,
    )


_Keys = tuple[
    signing.RsaVerifier | None, signing.HmacVerifier | None, signing.RsaSigner | signing.HmacSigner | None
]


def _from_environ(read: Reader, local: LocalKeys) -> _Keys:
    """Merchant keys to trust and the callback signer, from SANDBOX_* or the local keys."""
    merchant_pem = read.secret("SANDBOX_MERCHANT_PUBLIC_KEY")
    merchant_hmac = read.secret("SANDBOX_HMAC_KEY")
    callback_hmac = read.secret("SANDBOX_CALLBACK_HMAC_KEY")
    algorithm = read.choice("SANDBOX_CALLBACK_SIGNATURE", ("rsa", "hmac"), "rsa")
    public_pem = merchant_pem or (None if merchant_hmac else local.merchant_public_pem())
    rsa_verifier = read.parsed(
        "SANDBOX_MERCHANT_PUBLIC_KEY",
        public_pem,
        lambda pem: signing.RsaVerifier(signing.load_public_keys(pem)),
    )
    hmac_verifier = read.parsed(
        "SANDBOX_HMAC_KEY", merchant_hmac, lambda text: signing.HmacVerifier(signing.parse_hmac_keys(text))
    )
    callback_signer: signing.RsaSigner | signing.HmacSigner | None
    if algorithm == "hmac":
        callback_signer = read.parsed(
            "SANDBOX_CALLBACK_HMAC_KEY",
            callback_hmac or merchant_hmac or local.hmac_key(),
            lambda text: signing.HmacSigner(signing.parse_hmac_keys(text)[0]),
        )
    else:
        callback_signer = _rsa_callback_signer(read, local)
    return rsa_verifier, hmac_verifier, callback_signer


def _agreeing_with(read: Reader, local: LocalKeys, app: MountedApp) -> _Keys:
    """Trust exactly the key the app signs with; sign callbacks the way the app verifies them."""
    signer = app.request_signer
    rsa_verifier = hmac_verifier = None
    if isinstance(signer, signing.RsaSigner):
        rsa_verifier = signing.RsaVerifier([signer.private_key.public_key()])
    else:
        hmac_verifier = signing.HmacVerifier([signer.key])
    verifier = app.callback_verifier
    if isinstance(verifier, signing.HmacVerifier):
        return rsa_verifier, hmac_verifier, signing.HmacSigner(verifier.keys[0])
    callback_signer = _rsa_callback_signer(read, local)
    trusted = {key.public_numbers() for key in verifier.public_keys}
    if callback_signer and callback_signer.private_key.public_key().public_numbers() not in trusted:
        read.problems.append(
            "HIGHHELP_CALLBACK_PUBLIC_KEY is not the sandbox's callback key: unset it, or give the "
            "sandbox its private half in SANDBOX_CALLBACK_PRIVATE_KEY(_FILE)"
        )
    return rsa_verifier, hmac_verifier, callback_signer


def _rsa_callback_signer(read: Reader, local: LocalKeys) -> signing.RsaSigner | None:
    pem = read.secret("SANDBOX_CALLBACK_PRIVATE_KEY") or local.callback_private_pem()
    return read.parsed(
        "SANDBOX_CALLBACK_PRIVATE_KEY", pem, lambda text: signing.RsaSigner(signing.load_private_key(text))
    )
