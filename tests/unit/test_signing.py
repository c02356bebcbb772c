"""Signing reproduces every shared vector and verification fails cleanly on anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from checkout.highhelp import assumed, signing
from checkout.highhelp.errors import BadPayload, BadSignature
from tests.conftest import KEYS, VECTORS, callback_signer, hmac_key, merchant_signer

VECTOR_IDS = [vector["name"] for vector in VECTORS]
CALLBACK_VECTOR = next(vector for vector in VECTORS if vector["name"] == "success_callback")


def signer_for(vector: dict[str, Any]) -> signing.RsaSigner:
    return callback_signer() if vector["direction"].startswith("callback") else merchant_signer()


def callback_verifier() -> signing.RsaVerifier:
    return signing.RsaVerifier(signing.load_public_keys((KEYS / "highhelp_callback_public.pem").read_bytes()))


def raw_callback() -> bytes:
    return json.dumps(CALLBACK_VECTOR["body"], ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_normalization_matches_vector(vector: dict[str, Any]) -> None:
    assert signing.normalize(vector["body"]) == vector["normalized"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_message_matches_vector(vector: dict[str, Any]) -> None:
    assert signing.signing_message(vector["body"], vector["timestamp"]) == vector["message"].encode()


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_rsa_signature_matches_vector(vector: dict[str, Any]) -> None:
    assert signer_for(vector).sign(vector["body"], vector["timestamp"]) == vector["rsa_sha256_signature"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_hmac_signature_matches_vector(vector: dict[str, Any]) -> None:
    signer = signing.HmacSigner(hmac_key())
    assert signer.sign(vector["body"], vector["timestamp"]) == vector["hmac_sha512_signature"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_access_token_matches_vector(vector: dict[str, Any]) -> None:
    assert signer_for(vector).access_token == vector["x_access_token"]


def test_hmac_key_is_file_text_without_surrounding_whitespace() -> None:
    text = (KEYS / "hmac_key.txt").read_text("utf-8")
    assert text != text.strip()
    assert hmac_key() == text.strip().encode()


def test_pkcs1_private_key_loads_and_signs_identically() -> None:
    pkcs8 = signing.load_private_key((KEYS / "merchant_private.pem").read_bytes())
    pkcs1_pem = pkcs8.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert pkcs1_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    vector = VECTORS[0]
    signer = signing.RsaSigner(signing.load_private_key(pkcs1_pem))
    assert signer.sign(vector["body"], vector["timestamp"]) == vector["rsa_sha256_signature"]


@pytest.mark.parametrize(
    "pem",
    [b"", b"not a key", (KEYS / "merchant_public.pem").read_bytes()],
    ids=["empty", "garbage", "public-key"],
)
def test_private_key_loading_refuses_non_keys(pem: bytes) -> None:
    with pytest.raises(ValueError, match="private key"):
        signing.load_private_key(pem)


def test_request_headers_for_rsa_are_the_documented_five() -> None:
    vector = VECTORS[2]
    headers = signing.request_headers(merchant_signer(), "57aff4db", vector["body"], vector["timestamp"])
    assert headers == {
        "x-access-timestamp": vector["timestamp"],
        "x-access-merchant-id": "57aff4db",
        "x-access-token": vector["x_access_token"],
        "x-access-signature": vector["rsa_sha256_signature"],
        "content-type": "application/json",
    }


def test_request_headers_for_hmac_name_the_algorithm_and_send_no_token() -> None:
    vector = VECTORS[2]
    headers = signing.request_headers(
        signing.HmacSigner(hmac_key()), "p", vector["body"], vector["timestamp"]
    )
    assert headers["x-access-merchant-algorithm"] == assumed.HMAC_ALGORITHM_HEADER
    assert headers["x-access-signature"] == vector["hmac_sha512_signature"]
    assert "x-access-token" not in headers
    assert len(headers) == 5


def test_normalization_edge_cases() -> None:
    body = {"b": {"x": [{"y": 1}, []]}, "a": 1.5, "c": 2.0, "d": "with;semi:colon"}
    assert signing.normalize(body) == "a:1.5;b:x:0:y:1;c:2;d:with;semi:colon"


def test_normalization_refuses_values_json_cannot_carry() -> None:
    with pytest.raises(TypeError):
        signing.normalize({"a": object()})


def test_callback_vector_verifies() -> None:
    body = signing.verify_signed_body(
        raw_callback(),
        CALLBACK_VECTOR["rsa_sha256_signature"],
        CALLBACK_VECTOR["timestamp"],
        callback_verifier(),
    )
    assert body == CALLBACK_VECTOR["body"]


def test_callback_verifies_whatever_the_key_order_and_spacing_of_the_json() -> None:
    raw = json.dumps(dict(reversed(CALLBACK_VECTOR["body"].items())), indent=3).encode()
    signing.verify_signed_body(
        raw, CALLBACK_VECTOR["rsa_sha256_signature"], CALLBACK_VECTOR["timestamp"], callback_verifier()
    )


def test_every_single_byte_change_to_the_signature_is_refused() -> None:
    signature = CALLBACK_VECTOR["rsa_sha256_signature"]
    for index in range(0, len(signature), 7):
        replacement = "A" if signature[index] != "A" else "B"
        forged = signature[:index] + replacement + signature[index + 1 :]
        with pytest.raises(BadSignature):
            signing.verify_signed_body(
                raw_callback(), forged, CALLBACK_VECTOR["timestamp"], callback_verifier()
            )


def test_changed_amount_is_refused() -> None:
    body = json.loads(raw_callback())
    body["payment_info"]["amount"] += 1
    with pytest.raises(BadSignature, match="does not match"):
        signing.verify_signed_body(
            json.dumps(body).encode(),
            CALLBACK_VECTOR["rsa_sha256_signature"],
            CALLBACK_VECTOR["timestamp"],
            callback_verifier(),
        )


def test_changed_timestamp_is_refused() -> None:
    with pytest.raises(BadSignature, match="does not match"):
        signing.verify_signed_body(
            raw_callback(), CALLBACK_VECTOR["rsa_sha256_signature"], "1721647252", callback_verifier()
        )


@pytest.mark.parametrize(
    ("signature", "timestamp", "reason"),
    [
        (None, "1721647251", "missing x-access-signature"),
        ("", "1721647251", "missing x-access-signature"),
        ("abc", None, "missing x-access-timestamp"),
        ("abc", "yesterday", "not a Unix time"),
        ("abc", "-5", "not a Unix time"),
        ("!!!not base64!!!", "1721647251", "not base64url"),
        ("a", "1721647251", "not base64url"),
        ("AAAA", "1721647251", "does not match"),
        ("A" * 400, "1721647251", "does not match"),
    ],
    ids=[
        "no-signature",
        "empty-signature",
        "no-timestamp",
        "word-timestamp",
        "negative-timestamp",
        "bad-base64",
        "truncated-base64",
        "short-signature",
        "long-signature",
    ],
)
def test_garbage_signatures_fail_with_a_reason(
    signature: str | None, timestamp: str | None, reason: str
) -> None:
    with pytest.raises(BadSignature, match=reason):
        signing.verify_signed_body(raw_callback(), signature, timestamp, callback_verifier())


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": 1, "a": 2}', "repeats the key"),
    ],
    ids=["empty", "truncated", "binary", "array", "nan", "duplicate-key"],
)
def test_malformed_bodies_fail_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        signing.verify_signed_body(raw, "AAAA", "1721647251", callback_verifier())


def test_rsa_rotation_accepts_any_listed_key() -> None:
    pem = (KEYS / "merchant_public.pem").read_bytes() + (KEYS / "highhelp_callback_public.pem").read_bytes()
    verifier = signing.RsaVerifier(signing.load_public_keys(pem))
    assert len(verifier.public_keys) == 2
    signing.verify_signed_body(
        raw_callback(), CALLBACK_VECTOR["rsa_sha256_signature"], CALLBACK_VECTOR["timestamp"], verifier
    )


def test_rsa_verifier_with_only_other_keys_refuses() -> None:
    verifier = signing.RsaVerifier(signing.load_public_keys((KEYS / "merchant_public.pem").read_bytes()))
    with pytest.raises(BadSignature):
        signing.verify_signed_body(
            raw_callback(), CALLBACK_VECTOR["rsa_sha256_signature"], CALLBACK_VECTOR["timestamp"], verifier
        )


def test_hmac_rotation_accepts_old_and_new_key() -> None:
    verifier = signing.HmacVerifier(signing.parse_hmac_keys(f" new-key , {hmac_key().decode()} "))
    signing.verify_signed_body(
        raw_callback(), CALLBACK_VECTOR["hmac_sha512_signature"], CALLBACK_VECTOR["timestamp"], verifier
    )
    with pytest.raises(BadSignature):
        signing.verify_signed_body(
            raw_callback(),
            CALLBACK_VECTOR["hmac_sha512_signature"],
            CALLBACK_VECTOR["timestamp"],
            signing.HmacVerifier(signing.parse_hmac_keys("new-key")),
        )


def test_hmac_signature_of_wrong_length_is_refused() -> None:
    verifier = signing.HmacVerifier([hmac_key()])
    truncated = CALLBACK_VECTOR["hmac_sha512_signature"][:-4]
    with pytest.raises(BadSignature):
        signing.verify_signed_body(raw_callback(), truncated, CALLBACK_VECTOR["timestamp"], verifier)


def test_public_key_text_without_pem_is_refused() -> None:
    with pytest.raises(ValueError, match="no PEM block"):
        signing.load_public_keys("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")


def test_timestamp_tolerance_when_configured() -> None:
    stamp = int(CALLBACK_VECTOR["timestamp"])
    args = (raw_callback(), CALLBACK_VECTOR["rsa_sha256_signature"], str(stamp), callback_verifier())
    signing.verify_signed_body(*args, tolerance=300, now=stamp + 300)
    with pytest.raises(BadSignature, match="301 s away"):
        signing.verify_signed_body(*args, tolerance=300, now=stamp + 301)
    signing.verify_signed_body(*args, tolerance=None, now=stamp + 10**6)


class NeverAsked:
    """A verifier that fails the test if a signature is ever checked."""

    def matches(self, message: bytes, signature: bytes) -> bool:
        """Refuses to be called: hostile bodies must be refused before any signature work."""
        raise AssertionError("the signature was checked")


def nested(depth: int) -> bytes:
    """An object whose value is `depth` - 1 nested arrays: `depth` levels in all."""
    return b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (nested(10_001), f"nests deeper than {assumed.MAX_JSON_DEPTH} levels"),
        (nested(assumed.MAX_JSON_DEPTH + 1), f"nests deeper than {assumed.MAX_JSON_DEPTH} levels"),
        (b'{"a": ' + b"7" * 5000 + b"}", "number with too many digits"),
        (b'{"a": -' + b"7" * 5000 + b"}", "number with too many digits"),
        (b'{"a": 1e400}', "number too large"),
        (b'{"a": -1E+999}', "number too large"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"a": [{"b": ["x\\ud83d"]}]}', "lone surrogate"),
    ],
    ids=[
        "nested-10000",
        "nested-one-past-the-limit",
        "digits-5000",
        "negative-digits-5000",
        "float-overflow",
        "negative-float-overflow",
        "surrogate-value",
        "surrogate-key",
        "surrogate-deep-inside",
    ],
)
def test_hostile_bodies_are_refused_before_the_signature_is_checked(raw: bytes, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        signing.verify_signed_body(raw, "AAAA", "1721647251", NeverAsked())


def test_nesting_up_to_the_limit_and_whole_surrogate_pairs_are_accepted() -> None:
    assert signing.parse_json_object(nested(assumed.MAX_JSON_DEPTH))["a"]
    assert signing.parse_json_object(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}
    assert signing.parse_json_object(b'{"a": ' + b"9" * 4000 + b"}") == {"a": int("9" * 4000)}


def test_duplicate_keys_are_still_refused_inside_nested_objects() -> None:
    with pytest.raises(BadPayload, match="repeats the key 'b'"):
        signing.parse_json_object(b'{"a": {"b": 1, "b": 2}}')
