"""The sandbox's signed API over real HTTP: what it accepts, and every kind of refusal storing nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from checkout.highhelp import HighHelpClient, Rejected, signing
from checkout.highhelp.wire import CreatePayinRequest
from tests.conftest import PROJECT_ID, hmac_key, merchant_signer
from tests.sandbox_support import RunningSandbox, create, create_body, running_sandbox, sandbox_config


def raw_post(sandbox: RunningSandbox, path: str, raw: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{sandbox.url}/api/v1/widget/{path}", data=raw, headers=headers, timeout=5)


def signed(
    body: dict[str, Any], signer: Any = None, project_id: str = PROJECT_ID
) -> tuple[bytes, dict[str, str]]:
    headers = signing.request_headers(signer or merchant_signer(), project_id, body, str(int(time.time())))
    return json.dumps(body).encode(), headers


def test_signed_create_returns_a_form_url(sandbox: RunningSandbox) -> None:
    answer = create(sandbox, "order-1")
    assert (answer.status, answer.sub_status) == ("processing", "new")
    assert answer.integration.form_url.startswith(f"{sandbox.url}/pay/")
    assert len(answer.integration.form_url.rsplit("/", 1)[1]) >= 40
    assert answer.integration.redirect_url == "http://127.0.0.1:5000/back"
    assert answer.request_id is not None
    assert len(answer.request_id) == 32
    assert sandbox.payin_count() == 1


def test_same_request_again_returns_the_same_payin(sandbox: RunningSandbox) -> None:
    first = create(sandbox, "order-1")
    again = create(sandbox, "order-1")
    assert (again.request_id, again.integration.form_url) == (first.request_id, first.integration.form_url)
    assert sandbox.payin_count() == 1


def test_reused_payment_id_with_other_content_is_refused(sandbox: RunningSandbox) -> None:
    create(sandbox, "order-1")
    with pytest.raises(Rejected) as refused:
        create(sandbox, "order-1", payment__amount=1500001)
    assert refused.value.http_status == 409
    assert "already used with other data" in refused.value.status_description
    assert sandbox.payin_count() == 1


def test_hmac_signed_request_is_accepted(sandbox: RunningSandbox) -> None:
    client = HighHelpClient(sandbox.url, PROJECT_ID, signing.HmacSigner(hmac_key()))
    answer = client.create_payin(CreatePayinRequest.build(create_body("order-hmac")))
    assert answer.sub_status == "new"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("wrong-rsa-key", 401, "x-access-token is not a key registered"),
        ("wrong-hmac-key", 401, "signature does not match"),
        ("forged-signature", 401, "signature does not match"),
        ("no-signature", 401, "missing x-access-signature"),
        ("no-timestamp", 401, "missing x-access-timestamp"),
        ("tampered-body", 401, "signature does not match"),
        ("not-json", 400, "not JSON"),
        ("amount-zero", 400, "payment.amount"),
        ("plain-http-callback", 400, "https"),
        ("unknown-project-header", 403, "x-access-merchant-id"),
        ("unknown-project-body", 403, "unknown project_id"),
    ],
)
def test_refused_requests_get_a_reason_and_store_nothing(
    sandbox: RunningSandbox, tmp_path: Path, case: str, status: int, reason: str
) -> None:
    body = create_body("order-refused")
    raw, headers = signed(body)
    if case == "wrong-rsa-key":
        from cryptography.hazmat.primitives.asymmetric import rsa

        stranger = signing.RsaSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        raw, headers = signed(body, stranger)
    elif case == "wrong-hmac-key":
        raw, headers = signed(body, signing.HmacSigner(b"not-the-key"))
    elif case == "forged-signature":
        headers["x-access-signature"] = headers["x-access-signature"][::-1]
    elif case == "no-signature":
        del headers["x-access-signature"]
    elif case == "no-timestamp":
        del headers["x-access-timestamp"]
    elif case == "tampered-body":
        raw = raw.replace(b"1500000", b"1500001")
    elif case == "not-json":
        raw = b"{not json"
    elif case == "amount-zero":
        raw, headers = signed(create_body("order-refused", payment__amount=0))
    elif case == "plain-http-callback":
        raw, headers = signed(
            create_body("order-refused", general__merchant_callback_url="http://shop.example.kz/cb")
        )
    elif case == "unknown-project-header":
        raw, headers = signed(body, project_id="another-register")
    elif case == "unknown-project-body":
        other = create_body("order-refused", general__project_id="another-register")
        raw, headers = signed(other)
    response = raw_post(sandbox, "payin", raw, headers)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["status"] == "error"
    assert reason in answer["status_description"]
    assert sandbox.payin_count() == 0


def test_oversized_body_is_refused_in_highhelp_shape(sandbox: RunningSandbox) -> None:
    response = raw_post(sandbox, "payin", b"{" + b" " * 70_000 + b"}", {"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["status"] == "error"


def test_info_reports_state_and_amounts(sandbox: RunningSandbox) -> None:
    create(sandbox, "order-1")
    info = sandbox.client.payin_info("order-1")
    assert (info.status, info.sub_status) == ("processing", "new")
    assert info.payment_info is not None
    assert (info.payment_info.amount, info.payment_info.currency) == (1500000, "KZT")
    assert info.payment_info.initial_amount == info.payment_info.old_amount == 1500000
    assert info.payment_info.method == "mobile-ecom"
    assert info.payment_info.lifetime == 600


def test_info_for_an_unknown_payin_is_404(sandbox: RunningSandbox) -> None:
    with pytest.raises(Rejected) as refused:
        sandbox.client.payin_info("never-created")
    assert refused.value.http_status == 404
    assert "not found" in refused.value.status_description


def test_cancel_declines_and_is_repeatable(sandbox: RunningSandbox) -> None:
    create(sandbox, "order-1")
    cancelled = sandbox.client.cancel_payin("order-1")
    assert (cancelled.status, cancelled.status_description) == ("decline", "cancelled by the merchant")
    assert sandbox.client.cancel_payin("order-1").status == "decline"
    assert sandbox.client.payin_info("order-1").status == "decline"


def test_confirm_refuses_a_payin_that_is_not_paid(sandbox: RunningSandbox) -> None:
    create(sandbox, "order-1")
    with pytest.raises(Rejected) as refused:
        sandbox.client.confirm_payin("order-1")
    assert refused.value.http_status == 409
    assert "only a paid payin can be confirmed" in refused.value.status_description


def test_confirm_finalizes_a_paid_payin(sandbox: RunningSandbox) -> None:
    create(sandbox, "order-1")
    sandbox.control("payins/order-1/phone", {"operator": "TELE2", "phone": "+77000000003"})
    otp = sandbox.control("payins/order-1")["otp"]
    assert sandbox.control("payins/order-1/code", {"code": otp})["state"] == "processing:paid"
    assert sandbox.client.confirm_payin("order-1").status == "success"
    assert sandbox.client.confirm_payin("order-1").status == "success"


def test_control_is_off_outside_test_mode(tmp_path: Path) -> None:
    with running_sandbox(sandbox_config(tmp_path, test_mode=False)) as sandbox:
        create(sandbox, "order-1")
        assert requests.get(f"{sandbox.url}/control/payins/order-1", timeout=5).status_code == 404
