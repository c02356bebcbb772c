"""`flask highhelp sign | verify-callback | info` with the configured keys."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import KEYS, PROJECT_ID, VECTORS, make_environ
from tests.highhelp_double import Reply, running_double
from tests.processes import clean_environ, run_flask

REQUEST_VECTORS = [vector for vector in VECTORS if vector["direction"].startswith("request")]
CALLBACK_VECTOR = next(vector for vector in VECTORS if vector["name"] == "success_callback")


def body_file(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def flask_cli(tmp_path: Path, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    """`flask --app wsgi ARGS` with the test settings and `overrides`."""
    database = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    environ = clean_environ(**make_environ(database, INSTANCE_PATH=str(tmp_path / "instance"), **overrides))
    return run_flask(*args, environ=environ)


def sign(tmp_path: Path, vector: dict[str, Any], **overrides: str) -> dict[str, str]:
    """The headers `flask highhelp sign` prints for a vector's body and timestamp."""
    path = str(body_file(tmp_path, vector["body"]))
    result = flask_cli(tmp_path, "highhelp", "sign", path, "--timestamp", vector["timestamp"], **overrides)
    assert result.returncode == 0, result.stderr
    return headers_of(result.stdout)


def headers_of(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines())


@pytest.mark.parametrize("vector", REQUEST_VECTORS, ids=[vector["name"] for vector in REQUEST_VECTORS])
def test_sign_reproduces_the_vector(tmp_path: Path, vector: dict[str, Any]) -> None:
    assert sign(tmp_path, vector) == {
        "x-access-timestamp": vector["timestamp"],
        "x-access-merchant-id": PROJECT_ID,
        "x-access-token": vector["x_access_token"],
        "x-access-signature": vector["rsa_sha256_signature"],
        "content-type": "application/json",
    }


def test_sign_with_hmac_reproduces_the_vector(tmp_path: Path) -> None:
    vector = REQUEST_VECTORS[2]
    headers = sign(
        tmp_path,
        vector,
        HIGHHELP_REQUEST_SIGNATURE="hmac",
        HIGHHELP_HMAC_KEY_FILE=str(KEYS / "hmac_key.txt"),
    )
    assert headers["x-access-signature"] == vector["hmac_sha512_signature"]
    assert headers["x-access-merchant-algorithm"] == "HMAC-SHA512"
    assert len(headers) == 5


def test_sign_refuses_a_file_that_is_not_json(tmp_path: Path, app: Flask) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["highhelp", "sign", str(bad)])
    assert result.exit_code == 1
    assert "not JSON" in result.output


def test_sign_defaults_to_now(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["highhelp", "sign", str(body_file(tmp_path, {"a": 1}))])
    assert result.exit_code == 0, result.output
    assert abs(int(headers_of(result.output)["x-access-timestamp"]) - time.time()) < 5


def verify_args(path: Path, signature: str = CALLBACK_VECTOR["rsa_sha256_signature"]) -> list[str]:
    """Arguments of `flask highhelp verify-callback` for a body file and a signature."""
    timestamp = CALLBACK_VECTOR["timestamp"]
    return ["highhelp", "verify-callback", str(path), "--signature", signature, "--timestamp", timestamp]


def test_verify_callback_accepts_the_vector(tmp_path: Path) -> None:
    result = flask_cli(tmp_path, *verify_args(body_file(tmp_path, CALLBACK_VECTOR["body"])))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("valid")


def flip_byte(raw: bytes, index: int) -> bytes:
    replacement = b"7" if raw[index : index + 1] != b"7" else b"8"
    return raw[:index] + replacement + raw[index + 1 :]


def test_verify_callback_rejects_any_changed_body_byte(tmp_path: Path, app: Flask) -> None:
    raw = json.dumps(CALLBACK_VECTOR["body"], separators=(",", ":")).encode()
    runner = app.test_cli_runner()
    path = tmp_path / "callback.json"
    for index in range(len(raw)):
        path.write_bytes(flip_byte(raw, index))
        result = runner.invoke(args=verify_args(path))
        assert result.exit_code == 1, (index, raw[index : index + 1])
        assert result.output.startswith("invalid: ")


def test_verify_callback_rejects_a_changed_signature_byte(tmp_path: Path) -> None:
    signature = CALLBACK_VECTOR["rsa_sha256_signature"]
    forged = signature[:100] + ("B" if signature[100] != "B" else "C") + signature[101:]
    result = flask_cli(tmp_path, *verify_args(body_file(tmp_path, CALLBACK_VECTOR["body"]), forged))
    assert result.returncode == 1
    assert "invalid: signature does not match" in result.stderr


def test_verify_callback_with_hmac(tmp_path: Path, make_app: Callable[..., Flask]) -> None:
    app = make_app(
        HIGHHELP_CALLBACK_SIGNATURE="hmac", HIGHHELP_CALLBACK_HMAC_KEY_FILE=str(KEYS / "hmac_key.txt")
    )
    path = body_file(tmp_path, CALLBACK_VECTOR["body"])
    runner = app.test_cli_runner()
    assert runner.invoke(args=verify_args(path, CALLBACK_VECTOR["hmac_sha512_signature"])).exit_code == 0
    refused = runner.invoke(args=verify_args(path, CALLBACK_VECTOR["rsa_sha256_signature"]))
    assert refused.exit_code == 1
    assert "invalid" in refused.output


def test_info_prints_highhelps_answer(make_app: Callable[..., Flask]) -> None:
    with running_double() as double:
        app = make_app(HIGHHELP_API_URL=double.url)
        result = app.test_cli_runner().invoke(args=["highhelp", "info", "order-7"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.output)
        assert answer["payment_id"] == "order-7"
        assert answer["payment_info"]["amount"] == 1500000
        assert double.received[0][0] == "/api/v1/widget/payin/info"


def test_info_reports_failure_and_exits_1(make_app: Callable[..., Flask]) -> None:
    with running_double() as double:
        double.reply = lambda path, body: Reply.json(
            404, {"status": "error", "status_description": "payin not found"}
        )
        app = make_app(HIGHHELP_API_URL=double.url)
        result = app.test_cli_runner().invoke(args=["highhelp", "info", "order-7"])
    assert result.exit_code == 1
    assert "Rejected: payin not found" in result.output
