"""HighHelp request and callback signatures (PROTOCOL.md §3); pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import assumed
from .errors import BadPayload, BadSignature

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n.+?\r?\n-----END \1-----", re.DOTALL)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_HMAC_SHA512_LENGTH = 64


def b64url(data: bytes) -> str:
    """Encode as base64url without padding, as every HighHelp header value is."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; BadSignature on anything else."""
    if not _BASE64URL.fullmatch(text):
        raise BadSignature("signature is not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("signature is not base64url") from exc


def normalize(body: Any) -> str:
    """Flatten a JSON body into sorted `key:…:value` lines joined with `;`."""
    return ";".join(sorted(_leaf_lines(body, ())))


def _leaf_lines(node: Any, path: tuple[str, ...]) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaf_lines(value, (*path, str(key)))
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from _leaf_lines(value, (*path, str(index)))
    else:
        yield ":".join((*path, leaf_text(node)))


def leaf_text(value: Any) -> str:
    """One leaf value as the normalized body writes it."""
    # bool before int: True is an int in Python, but the protocol writes it as 1.
    if value is True:
        return "1"
    if value is False:
        return "0"
    if value is None:
        return assumed.NULL_TEXT
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise TypeError(f"cannot sign a value of type {type(value).__name__}")


def signing_message(body: Any, timestamp: str) -> bytes:
    """The bytes that are signed: base64url(normalized body) followed by the timestamp."""
    return (b64url(normalize(body).encode("utf-8")) + str(timestamp)).encode("ascii")


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """Load an RSA private key from PEM, PKCS#8 or PKCS#1, unencrypted."""
    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data.strip(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    if key.key_size < 2048:
        raise ValueError(f"RSA key of {key.key_size} bits; at least 2048 are required")
    return key


def load_public_keys(pem: str | bytes) -> tuple[rsa.RSAPublicKey, ...]:
    """Load one or more RSA public keys from PEM text; several blocks mean key rotation."""
    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    blocks = [match.group(0) for match in _PEM_BLOCK.finditer(data)]
    if not blocks:
        raise ValueError("no PEM block found")
    keys = []
    for number, block in enumerate(blocks, start=1):
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"PEM block {number} is not a public key") from exc
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"PEM block {number} is not an RSA public key")
        keys.append(key)
    return tuple(keys)


def parse_hmac_keys(text: str) -> tuple[bytes, ...]:
    """Split comma-separated HMAC keys (rotation); each is its text without surrounding space."""
    keys = tuple(part.strip().encode("utf-8") for part in text.split(",") if part.strip())
    if not keys:
        raise ValueError("no HMAC key given")
    return keys


def access_token(public_key: rsa.RSAPublicKey) -> str:
    """The `x-access-token` value: base64url of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(der)


class Signer(Protocol):
    """Something that signs request bodies for HighHelp."""

    algorithm_header: str | None

    @property
    def access_token(self) -> str | None: ...

    def sign(self, body: Any, timestamp: str) -> str: ...


@dataclass(frozen=True)
class RsaSigner:
    """RSA-SHA256 over the SHA-256 digest of the message, PKCS#1 v1.5."""

    private_key: rsa.RSAPrivateKey
    algorithm_header: str | None = assumed.RSA_ALGORITHM_HEADER

    @property
    def access_token(self) -> str | None:
        """The merchant public key as HighHelp expects it in `x-access-token`."""
        return access_token(self.private_key.public_key())

    def sign(self, body: Any, timestamp: str) -> str:
        """Sign a body at a timestamp; base64url without padding."""
        digest = hashlib.sha256(signing_message(body, timestamp)).digest()
        return b64url(self.private_key.sign(digest, padding.PKCS1v15(), hashes.SHA256()))


@dataclass(frozen=True)
class HmacSigner:
    """HMAC-SHA512 of the message with a shared key."""

    key: bytes
    algorithm_header: str | None = assumed.HMAC_ALGORITHM_HEADER

    @property
    def access_token(self) -> str | None:
        """None: HMAC has no public key, so `x-access-token` is left out [assumed]."""
        return None

    def sign(self, body: Any, timestamp: str) -> str:
        """Sign a body at a timestamp; base64url without padding."""
        return b64url(hmac.new(self.key, signing_message(body, timestamp), hashlib.sha512).digest())


def request_headers(signer: Signer, project_id: str, body: Any, timestamp: str) -> dict[str, str]:
    """The headers of one signed request to HighHelp, in the order they are documented."""
    headers = {"x-access-timestamp": str(timestamp), "x-access-merchant-id": project_id}
    token = signer.access_token
    if token is not None:
        headers["x-access-token"] = token
    if signer.algorithm_header is not None:
        headers["x-access-merchant-algorithm"] = signer.algorithm_header
    headers["x-access-signature"] = signer.sign(body, timestamp)
    headers["content-type"] = "application/json"
    return headers


class Verifier(Protocol):
    """Something that checks a signature over a message against its keys."""

    def matches(self, message: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class RsaVerifier:
    """Accepts an RSA-SHA256 signature made by any of its public keys."""

    public_keys: Sequence[rsa.RSAPublicKey]

    def matches(self, message: bytes, signature: bytes) -> bool:
        """True when one of the keys verifies the signature."""
        digest = hashlib.sha256(message).digest()
        for key in self.public_keys:
            if len(signature) != (key.key_size + 7) // 8:
                continue
            try:
                key.verify(signature, digest, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                continue
            return True
        return False


@dataclass(frozen=True)
class HmacVerifier:
    """Accepts an HMAC-SHA512 made with any of its keys, compared in constant time."""

    keys: Sequence[bytes]

    def matches(self, message: bytes, signature: bytes) -> bool:
        """True when one of the keys produces the same MAC."""
        if len(signature) != _HMAC_SHA512_LENGTH:
            return False
        found = False
        for key in self.keys:
            expected = hmac.new(key, message, hashlib.sha512).digest()
            # Check every key so the time taken does not reveal which one matched.
            found |= hmac.compare_digest(expected, signature)
        return found


def verify_signature(verifier: Verifier, body: Any, timestamp: str, signature: str) -> None:
    """Raise BadSignature unless `signature` signs `body` at `timestamp`."""
    decoded = b64url_decode(signature.strip())
    if not verifier.matches(signing_message(body, timestamp), decoded):
        raise BadSignature("signature does not match the body and timestamp")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Parse a body that must be one JSON object; BadPayload with the reason otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload("body is not UTF-8") from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_refuse_duplicate_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise BadPayload(f"body is not JSON: {exc.msg} at position {exc.pos}") from exc
    except RecursionError as exc:
        raise BadPayload(f"body nests deeper than {assumed.MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        # The only other ValueError json raises: an integer past Python's int-digits limit.
        raise BadPayload("body contains a number with too many digits") from exc
    if not isinstance(value, dict):
        raise BadPayload("body is not a JSON object")
    _refuse_hostile_shapes(value)
    return value


def _refuse_hostile_shapes(value: Any) -> None:
    # Iterative, so a deep body cannot exhaust the stack here; normalize() recurses, so it must
    # never see such a body.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            _refuse_lone_surrogates(node)
            continue
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > assumed.MAX_JSON_DEPTH:
            raise BadPayload(f"body nests deeper than {assumed.MAX_JSON_DEPTH} levels")
        pending.extend((child, depth + 1) for child in children)


def _refuse_lone_surrogates(text: str) -> None:
    # A \ud800 escape spells half a character: it has no UTF-8, so it cannot be normalized or signed.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadPayload("body contains a lone surrogate, half of a UTF-16 pair") from exc


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadPayload("body contains a number too large to read")
    return number


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A key given twice could be read differently by the signer and by us.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadPayload(f"body repeats the key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise BadPayload(f"body contains {name}, which is not JSON")


def verify_signed_body(
    raw: bytes,
    signature: str | None,
    timestamp: str | None,
    verifier: Verifier,
    *,
    tolerance: int | None = assumed.CALLBACK_TIMESTAMP_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the headers and signature of a raw signed body and return it parsed."""
    if not signature:
        raise BadSignature("missing x-access-signature header")
    if not timestamp:
        raise BadSignature("missing x-access-timestamp header")
    timestamp = timestamp.strip()
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise BadSignature("x-access-timestamp is not a Unix time in seconds")
    if tolerance is not None:
        drift = abs((time.time() if now is None else now) - int(timestamp))
        if drift > tolerance:
            raise BadSignature(f"x-access-timestamp is {int(drift)} s away from now")
    body = parse_json_object(raw)
    verify_signature(verifier, body, timestamp, signature)
    return body


def carries_boolean(body: Any) -> bool:
    """True when a parsed body holds a boolean anywhere (their normalization is unconfirmed)."""
    pending = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, bool):
            return True
        if isinstance(node, Mapping):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False
