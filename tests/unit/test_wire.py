"""Every field limit of PROTOCOL.md §1, just inside and just outside, on requests and answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from checkout.highhelp import assumed
from checkout.highhelp.errors import BadPayload, InvalidRequest
from checkout.highhelp.signing import normalize
from checkout.highhelp.wire import (
    Callback,
    CreatePayinAnswer,
    CreatePayinRequest,
    PayinInfoAnswer,
    PayinRequest,
)
from tests.conftest import VECTORS

CREATE_BODY = next(vector["body"] for vector in VECTORS if vector["name"] == "widget_payin_create")
CALLBACK_BODY = next(vector["body"] for vector in VECTORS if vector["name"] == "success_callback")
UUID = "57aff4db-b45d-42bf-bc5f-b7a499a01782"


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    node = changed
    for key in parents:
        node = node[key]
    if value is _REMOVE:
        del node[leaf]
    else:
        node[leaf] = value
    return changed


_REMOVE = object()
URL_FIELDS = [
    "general.merchant_callback_url",
    "general.merchant_success_callback_url",
    "general.merchant_decline_callback_url",
    "general.redirect_url",
]
LONG_URL_PREFIX = "https://shop.example.kz/"

# (field, largest or smallest accepted value, the first refused value beyond it)
BOUNDARIES = [
    ("general.project_id", "p" * 36, "p" * 37),
    ("general.project_id", "p", ""),
    ("general.payment_id", "я" * 255, "я" * 256),
    ("general.payment_id", "x", ""),
    *[
        (
            field,
            LONG_URL_PREFIX + "a" * (2048 - len(LONG_URL_PREFIX)),
            LONG_URL_PREFIX + "a" * (2049 - len(LONG_URL_PREFIX)),
        )
        for field in URL_FIELDS
    ],
    ("payment.amount", 1, 0),
    ("payment.amount", 10_000_000_000_000, 10_000_000_000_001),
    ("payment.lifetime", 300, 299),
    ("payment.lifetime", 600, 601),
    ("payment.description", "d" * 255, "d" * 256),
    ("payment.extra_param", "A-z_09" + "x" * 10, "A-z_09" + "x" * 11),
    ("payment.extra_param", "a", ""),
    ("payment.widget_method", "w" * 32, "w" * 33),
    ("customer.id", "c" * 255, "c" * 256),
    ("customer.ip_address", "2001:db8::" + "1", "2001:db8:::1"),
    ("customer.email", "a@" + "b" * 63 + "." + "c" * 63 + ".kz", "a@" + "b" * 64 + ".kz"),
]

# (field, accepted value, refused value) for patterns and kinds
SHAPES = [
    ("payment.currency", "KZT", "kzt"),
    ("payment.currency", "USD", "KZTT"),
    ("payment.extra_param", "ok_1-2", "not ok"),
    ("customer.country", "KZ", "KAZ"),
    ("customer.country", "RU", "kz"),
    ("customer.language", "kk", "KK"),
    ("customer.language", "en", "eng"),
    ("customer.ip_address", "192.0.2.1", "192.0.2.256"),
    ("customer.ip_address", "::1", "localhost"),
    ("customer.email", "customer@example.com", "customer.example.com"),
    ("general.redirect_url", "http://127.0.0.1:5000/return", "http://shop.example.kz/return"),
    ("general.redirect_url", "http://localhost/return", "ftp://shop.example.kz/return"),
    ("general.merchant_callback_url", "https://shop.example.kz/cb", "https:///no-host"),
    ("general.merchant_callback_url", "https://shop.example.kz/cb", "https://shop.example.kz/a b"),
    ("payment.amount", 1500000, 15000.5),
    ("payment.amount", 1500000, "1500000"),
    ("payment.amount", 1500000, True),
]


@pytest.mark.parametrize(("field", "accepted", "refused"), BOUNDARIES + SHAPES)
def test_create_request_limits(field: str, accepted: Any, refused: Any) -> None:
    assert CreatePayinRequest.build(with_value(CREATE_BODY, field, accepted)).body() is not None
    with pytest.raises(InvalidRequest) as raised:
        CreatePayinRequest.build(with_value(CREATE_BODY, field, refused))
    assert raised.value.problems[0].startswith(field + ":"), raised.value.problems


def test_valid_create_request_serializes_to_the_same_body() -> None:
    assert CreatePayinRequest.build(CREATE_BODY).body() == CREATE_BODY


@pytest.mark.parametrize(
    "field", ["general.project_id", "general.payment_id", "payment.amount", "payment.currency"]
)
def test_required_create_fields(field: str) -> None:
    with pytest.raises(InvalidRequest, match=field.replace(".", r"\.") + ": Field required"):
        CreatePayinRequest.build(with_value(CREATE_BODY, field, _REMOVE))


@pytest.mark.parametrize(
    "field",
    [
        "general.redirect_url",
        "payment.lifetime",
        "payment.description",
        "payment.extra_param",
        "customer.email",
    ],
)
def test_optional_create_fields_may_be_left_out(field: str) -> None:
    body = CreatePayinRequest.build(with_value(CREATE_BODY, field, _REMOVE)).body()
    section, name = field.split(".")
    assert name not in body[section]


def test_unknown_request_field_is_refused_before_sending() -> None:
    with pytest.raises(InvalidRequest, match=r"payment\.tip"):
        CreatePayinRequest.build(with_value(CREATE_BODY, "payment.tip", 5))


def test_all_problems_are_reported_together() -> None:
    body = with_value(with_value(CREATE_BODY, "payment.amount", 0), "customer.country", "kz")
    with pytest.raises(InvalidRequest) as raised:
        CreatePayinRequest.build(body)
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "payment.amount",
        "customer.country",
    ]


def test_reference_request_limits() -> None:
    PayinRequest.build({"general": {"project_id": UUID, "payment_id": "x" * 255}})
    with pytest.raises(InvalidRequest, match=r"general\.payment_id"):
        PayinRequest.build({"general": {"project_id": UUID, "payment_id": "x" * 256}})


CREATE_ANSWER = {
    "status": "processing",
    "sub_status": "new",
    "status_description": None,
    "request_id": "16a10539fcb34ff5a3e286625a2dc3d3",
    "project_id": UUID,
    "payment_id": "KZT-MOBILE-ECOM-123456",
    "integration": {
        "form_url": "https://ppage.hh-processing.com/widget/24a9249ae10e15232c123409b625daf7e0ea627c",
        "redirect_url": "https://your-web-site-url.com/order/page",
    },
}


def test_create_answer_keeps_unknown_fields() -> None:
    answer = CreatePayinAnswer.parse({**CREATE_ANSWER, "risk_score": 3})
    assert answer.integration.form_url.startswith("https://ppage.")
    assert answer.model_extra == {"risk_score": 3}
    assert answer.model_dump()["risk_score"] == 3


@pytest.mark.parametrize(
    ("field", "accepted", "refused"),
    [
        ("request_id", "r" * 32, "r" * 33),
        ("status", "s" * assumed.STATUS_MAX_LENGTH, "s" * (assumed.STATUS_MAX_LENGTH + 1)),
        ("sub_status", "s" * assumed.STATUS_MAX_LENGTH, "s" * (assumed.STATUS_MAX_LENGTH + 1)),
        ("status_description", "d" * 20_000, 5),
        ("integration.form_url", "https://p.kz/" + "f" * 2035, "https://p.kz/" + "f" * 2036),
        ("integration.form_url", "https://p.kz/w", "http://p.kz/w"),
        ("integration.form_url", "http://127.0.0.1:5000/sandbox/w", "http://10.0.0.1/w"),
        ("integration.form_url", "https://p.kz/w", "javascript:alert(1)"),
    ],
)
def test_create_answer_limits(field: str, accepted: Any, refused: Any) -> None:
    CreatePayinAnswer.parse(with_value(CREATE_ANSWER, field, accepted))
    with pytest.raises(BadPayload, match=field.replace(".", r"\.")):
        CreatePayinAnswer.parse(with_value(CREATE_ANSWER, field, refused))


def test_create_answer_without_form_url_is_not_understood() -> None:
    with pytest.raises(BadPayload, match="integration"):
        CreatePayinAnswer.parse(with_value(CREATE_ANSWER, "integration", _REMOVE))


def test_info_answer_tolerates_unknown_status_and_reads_amounts() -> None:
    info = PayinInfoAnswer.parse(
        {
            **CREATE_ANSWER,
            "status": "dispute",
            "sub_status": "different_amount",
            "payment_info": {**CALLBACK_BODY["payment_info"], "amount": 1400000, "next_step": "appeal"},
        }
    )
    assert (info.status, info.sub_status) == ("dispute", "different_amount")
    assert info.payment_info is not None
    assert info.payment_info.amount == 1400000
    assert info.payment_info.old_amount == 1500000
    assert info.payment_info.model_extra == {"next_step": "appeal"}


@pytest.mark.parametrize(
    ("field", "accepted", "refused"),
    [
        ("payment_info.amount", 1, 0),
        ("payment_info.amount", 10_000_000_000_000, 10_000_000_000_001),
        ("payment_info.old_amount", 1, 0),
        ("payment_info.initial_amount", 1, 0),
        ("payment_info.currency", "KZT", "₸"),
        ("payment_info.lifetime", 300, 299),
        ("payment_info.lifetime", 600, 601),
        ("payment_info.expiration_date", 2**32, 2**32 + 1),
        ("payment_info.method", "m" * assumed.STATUS_MAX_LENGTH, "m" * (assumed.STATUS_MAX_LENGTH + 1)),
        ("payment_info.type", "t" * assumed.STATUS_MAX_LENGTH, "t" * (assumed.STATUS_MAX_LENGTH + 1)),
        ("status.sub_status", "an_unknown_sub_status_of_33_chars", "s" * (assumed.STATUS_MAX_LENGTH + 1)),
        ("payment_info.amount", 1500000, "1500000"),
        ("general.payment_id", "p" * 255, "p" * 256),
        ("project_id", "p" * 36, "p" * 37),
    ],
)
def test_callback_limits(field: str, accepted: Any, refused: Any) -> None:
    Callback.parse(with_value(CALLBACK_BODY, field, accepted))
    with pytest.raises(BadPayload, match=field.replace(".", r"\.")):
        Callback.parse(with_value(CALLBACK_BODY, field, refused))


def test_callback_idempotency_key() -> None:
    assert Callback.parse(CALLBACK_BODY).idempotency_key == f"{UUID}:KZT-MOBILE-ECOM-123456:success:None"
    informative = with_value(
        with_value(CALLBACK_BODY, "status.status", "processing"), "status.sub_status", "paid"
    )
    assert Callback.parse(informative).idempotency_key == f"{UUID}:KZT-MOBILE-ECOM-123456:processing:paid"


@pytest.mark.parametrize("missing", ["project_id", "general", "status", "payment_info", "general.payment_id"])
def test_callback_without_required_part_is_refused(missing: str) -> None:
    with pytest.raises(BadPayload, match=missing.replace(".", r"\.")):
        Callback.parse(with_value(CALLBACK_BODY, missing, _REMOVE))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status.sub_status", "None"),
        ("status.sub_status", _REMOVE),
        ("padding", {}),
        ("general.extra", []),
    ],
    ids=["None-text", "sub_status-absent", "empty-object", "empty-list"],
)
def test_signature_equivalent_bodies_are_one_alert(path: str, value: Any) -> None:
    """Bodies the signature cannot tell apart from a null sub_status get the same key and state."""
    original = Callback.parse(CALLBACK_BODY)
    variant = with_value(CALLBACK_BODY, path, value)
    if value is not _REMOVE:
        assert normalize(variant) == normalize(CALLBACK_BODY)
    parsed = Callback.parse(variant)
    assert parsed.idempotency_key == original.idempotency_key
    assert parsed.status.sub_status is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status.status_description", "Operator\x00 said no"),
        ("status.status_description", "line\nbreak\ttab"),
    ],
)
def test_free_text_is_kept_and_storable(field: str, value: str) -> None:
    parsed = Callback.parse(with_value(CALLBACK_BODY, field, value))
    assert parsed.status.status_description == value.replace("\x00", "\ufffd")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("general.payment_id", "pay\x00-1"),
        ("project_id", "57aff4db-b45d-42bf-bc5f-b7a499a0178\x00"),
        ("status.status", "success\x00"),
        ("status.sub_status", "paid\n"),
        ("general.request_id", "r\x7f"),
        ("payment_info.method", "mobile\x00ecom"),
    ],
)
def test_identifiers_with_control_characters_are_refused(field: str, value: str) -> None:
    with pytest.raises(BadPayload, match=field.replace(".", r"\.") + ".*control characters"):
        Callback.parse(with_value(CALLBACK_BODY, field, value))


def test_a_status_with_the_state_separator_is_refused() -> None:
    with pytest.raises(BadPayload, match=r"status\.status.*':'"):
        Callback.parse(with_value(CALLBACK_BODY, "status.status", "success:x"))
    # A sub-status may hold one: it is everything after the first separator.
    assert Callback.parse(with_value(CALLBACK_BODY, "status.sub_status", "a:b")).status.sub_status == "a:b"


def test_an_empty_sub_status_is_read_as_null() -> None:
    parsed = Callback.parse(with_value(CALLBACK_BODY, "status.sub_status", ""))
    assert parsed.status.sub_status is None
    assert parsed.idempotency_key == Callback.parse(CALLBACK_BODY).idempotency_key
