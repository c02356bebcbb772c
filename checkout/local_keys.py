"""Secrets for running locally, generated once into the instance folder and reused."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .highhelp import signing


def _new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(private_pem: str) -> str:
    public = signing.load_private_key(private_pem).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


@dataclass(frozen=True)
class LocalKeys:
    """Reads each local secret from its file, creating the file the first time."""

    folder: Path

    def secret_key(self) -> str:
        """The Flask session key used when SECRET_KEY is not set."""
        return self._read_or_create("secret_key", lambda: secrets.token_hex(32).encode())

    def merchant_private_pem(self) -> str:
        """The merchant key the app signs requests with; the sandbox trusts its public half."""
        return self._read_or_create("sandbox-merchant-private.pem", _new_private_key_pem)

    def merchant_public_pem(self) -> str:
        """The public half of `merchant_private_pem`."""
        return _public_pem(self.merchant_private_pem())

    def callback_private_pem(self) -> str:
        """The key the sandbox signs callbacks with."""
        return self._read_or_create("sandbox-callback-private.pem", _new_private_key_pem)

    def callback_public_pem(self) -> str:
        """The public half of `callback_private_pem`, which the app verifies callbacks with."""
        return _public_pem(self.callback_private_pem())

    def hmac_key(self) -> str:
        """The shared key for HMAC signing between the app and the sandbox."""
        return self._read_or_create("sandbox-hmac-key", lambda: secrets.token_hex(32).encode())

    def _read_or_create(self, name: str, make: Callable[[], bytes]) -> str:
        path = self.folder / name
        if not path.exists():
            # Link a finished temporary file into place: of several processes starting at once,
            # exactly one wins and the others read what it wrote.
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(make())
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
        return path.read_text(encoding="utf-8")


def ensure_local_keys(instance_path: Path) -> LocalKeys:
    """The local secrets of an instance folder, creating the folder if needed."""
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return LocalKeys(instance_path)
