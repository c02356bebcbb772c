"""Mounting the sandbox under the checkout's /sandbox when no HighHelp URL is configured."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ..config import SANDBOX_PATH, Settings
from ..gateway import SETTINGS_KEY
from ..highhelp import signing
from .app import build_sandbox
from .config import (
    SandboxConfig,
    SandboxConfigError,
    read_seconds,
    read_secret,
    timings,
)
from .services import EXTENSION_KEY


def config_for(settings: Settings, instance_path: Path, environ: Mapping[str, str]) -> SandboxConfig:
    """Trust exactly the keys the app signs with, and sign callbacks the way the app verifies them."""
    signer = settings.request_signer
    rsa_verifier = hmac_verifier = None
    if isinstance(signer, signing.RsaSigner):
        rsa_verifier = signing.RsaVerifier([signer.private_key.public_key()])
    else:
        hmac_verifier = signing.HmacVerifier([signer.key])
    verifier = settings.callback_verifier
    callback_signer: signing.RsaSigner | signing.HmacSigner
    problems: list[str] = []
    resend_seconds = read_seconds(environ, "SANDBOX_RESEND_SECONDS", 30, problems)
    if isinstance(verifier, signing.HmacVerifier):
        callback_signer = signing.HmacSigner(verifier.keys[0])
    else:
        assert settings.local_keys is not None  # the sandbox is only mounted outside production
        pem = read_secret(environ, "SANDBOX_CALLBACK_PRIVATE_KEY", problems)
        callback_signer = signing.RsaSigner(
            signing.load_private_key(pem or settings.local_keys.callback_private_pem())
        )
        trusted = {key.public_numbers() for key in verifier.public_keys}
        if callback_signer.private_key.public_key().public_numbers() not in trusted:
            raise SandboxConfigError(
                "HIGHHELP_CALLBACK_PUBLIC_KEY is not the sandbox's callback key: unset it, or give the "
                "sandbox its private half in SANDBOX_CALLBACK_PRIVATE_KEY(_FILE)"
            )
    if problems:
        raise SandboxConfigError("; ".join(problems))
    test_mode = settings.environment == "test"
    retry_delays, sender_interval = timings(test_mode)
    return SandboxConfig(
        project_id=settings.project_id,
        database_url=f"sqlite:///{instance_path / 'sandbox.sqlite3'}",
        callback_signer=callback_signer,
        rsa_verifier=rsa_verifier,
        hmac_verifier=hmac_verifier,
        test_mode=test_mode,
        resend_seconds=resend_seconds,
        retry_delays=retry_delays,
        sender_interval=sender_interval,
    )


def mount_into(app: Flask, environ: Mapping[str, str] | None = None) -> Flask | None:
    """Serve the sandbox at /sandbox of `app` when the app uses it; the sandbox app, or None."""
    settings: Settings = app.extensions[SETTINGS_KEY]
    if not settings.uses_sandbox:
        return None
    config = config_for(settings, Path(app.instance_path), os.environ if environ is None else environ)
    sandbox = build_sandbox(config)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {SANDBOX_PATH: sandbox})  # type: ignore[method-assign]
    app.extensions["checkout.sandbox"] = sandbox.extensions[EXTENSION_KEY]
    return sandbox
