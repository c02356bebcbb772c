"""Request, answer and callback bodies with every limit of PROTOCOL.md §1 and §4."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from . import assumed
from .errors import BadPayload, InvalidRequest
from .signing import leaf_text

MAX_AMOUNT = 10_000_000_000_000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The scenario this checkout speaks (PROTOCOL.md): Kazakhstan mobile commerce, in tenge.
WIDGET_METHOD_MOBILE = "payin-ecom-mobile"
CURRENCY_KZT = "KZT"
COUNTRY_KZ = "KZ"
# §1 customer.language: the languages of Kazakhstan's hosted page, which the shop speaks too.
LANGUAGES = ("kk", "ru", "en")
# §1 payment.lifetime: seconds a payin lives, and HighHelp's default when none is sent.
LIFETIME_RANGE = (300, 600)
DEFAULT_LIFETIME = 600
PAYMENT_ID_MAX_LENGTH = 255


def check_url(value: str) -> str:
    """Accept https URLs, and http only for loopback hosts (a laptop has no TLS)."""
    if any(char.isspace() or ord(char) < 32 for char in value):
        raise ValueError("URL must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        raise ValueError("not a valid URL") from exc
    if not host:
        raise ValueError("URL must have a host")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return value
    raise ValueError("must be an https URL (http only for 127.0.0.1 or localhost)")


def check_ip_address(value: str) -> str:
    """Accept an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError as exc:
        raise ValueError("not an IP address") from exc
    return value


def check_email(value: str) -> str:
    """Accept a syntactically valid email address; no DNS look-up."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {exc}") from exc
    return value


def _text(max_length: int, min_length: int = 1) -> Any:
    return Field(min_length=min_length, max_length=max_length)


def null_text_is_null(value: Any) -> Any:
    """Read "None" and "" as null: the signature cannot tell "None" from null (§3), and "" names nothing."""
    return None if value in (assumed.NULL_TEXT, "") else value


def check_no_control_characters(value: str) -> str:
    """Refuse control characters: no identifier or status has one, and a database cannot store NUL."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must not contain control characters")
    return value


def check_status_name(value: str) -> str:
    """Refuse the separator of `{status}:{sub_status}`: such a status would read back as another."""
    if assumed.STATUS_SEPARATOR in value:
        raise ValueError(f"must not contain {assumed.STATUS_SEPARATOR!r}")
    return value


def storable_text(value: str) -> str:
    """HighHelp's free text with NUL replaced: kept as said, but storable in any database."""
    return value.replace("\x00", "\ufffd")


NoControl = AfterValidator(check_no_control_characters)
ProjectId = Annotated[str, _text(assumed.PROJECT_ID_MAX_LENGTH), NoControl]
PaymentId = Annotated[str, _text(PAYMENT_ID_MAX_LENGTH), NoControl]
Url = Annotated[str, _text(assumed.FORM_URL_MAX_LENGTH), AfterValidator(check_url)]
Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Lifetime = Annotated[int, Field(ge=LIFETIME_RANGE[0], le=LIFETIME_RANGE[1])]
Code32 = Annotated[str, _text(32), NoControl]
# What HighHelp names (statuses, methods): unknown values are kept, so only absurd lengths are refused.
Label = Annotated[str, _text(assumed.STATUS_MAX_LENGTH), NoControl]
StatusName = Annotated[Label, AfterValidator(check_status_name)]
SubStatusName = Annotated[Label | None, BeforeValidator(null_text_is_null)]
# HighHelp's free text: as long as the body limit allows; storage keeps the first part.
Description = Annotated[str, AfterValidator(storable_text)]
UnixTime = Annotated[int, Field(ge=0, le=2**32)]


def _field_problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "body"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return problems


class Outgoing(BaseModel):
    """A body we send: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @classmethod
    def build(cls, data: dict[str, Any]) -> Self:
        """Validate `data`; InvalidRequest naming every broken field otherwise."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidRequest(_field_problems(exc)) from exc

    def body(self) -> dict[str, Any]:
        """The JSON body, leaving out fields that were not given."""
        return self.model_dump(exclude_none=True)


class Incoming(BaseModel):
    """A body HighHelp sends: unknown fields are kept, not refused."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate HighHelp's body; BadPayload naming every broken field otherwise."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise BadPayload("; ".join(_field_problems(exc))) from exc


class CreateGeneral(Outgoing):
    project_id: ProjectId
    payment_id: PaymentId
    merchant_callback_url: Url | None = None
    merchant_success_callback_url: Url | None = None
    merchant_decline_callback_url: Url | None = None
    redirect_url: Url | None = None


class CreatePayment(Outgoing):
    amount: Amount
    currency: Currency
    lifetime: Lifetime | None = None
    description: Annotated[str, _text(255, min_length=0)] | None = None
    extra_param: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")] | None = None
    widget_method: Code32 | None = None


class CreateCustomer(Outgoing):
    id: Annotated[str, _text(255)] | None = None
    ip_address: Annotated[str, _text(255), AfterValidator(check_ip_address)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None
    email: Annotated[str, _text(255), AfterValidator(check_email)] | None = None


class CreatePayinRequest(Outgoing):
    """Body of POST /api/v1/widget/payin."""

    general: CreateGeneral
    payment: CreatePayment
    customer: CreateCustomer | None = None


class PayinReference(Outgoing):
    project_id: ProjectId
    payment_id: PaymentId


class PayinRequest(Outgoing):
    """Body of the info, confirm and cancel calls: which payin."""

    general: PayinReference


class Integration(Incoming):
    form_url: Url
    redirect_url: Url | None = None


class PaymentInfo(Incoming):
    amount: Amount
    old_amount: Amount | None = None
    initial_amount: Amount | None = None
    currency: Currency
    lifetime: Lifetime | None = None
    expiration_date: UnixTime | None = None
    updated_date: UnixTime | None = None
    created_date: UnixTime | None = None
    method: Label | None = None
    widget_method: Label | None = None
    type: Label | None = None


class PayinAnswer(Incoming):
    """Answer to confirm and cancel; the common part of every answer."""

    status: StatusName
    sub_status: SubStatusName = None
    status_description: Description | None = None
    request_id: Code32 | None = None
    project_id: ProjectId | None = None
    payment_id: PaymentId | None = None


class CreatePayinAnswer(PayinAnswer):
    """Answer to create: where to send the payer."""

    integration: Integration


class PayinInfoAnswer(PayinAnswer):
    """Answer to info: the current state and amounts."""

    payment_info: PaymentInfo | None = None
    integration: Integration | None = None


class CallbackGeneral(Incoming):
    request_id: Code32 | None = None
    payment_id: PaymentId


class CallbackStatus(Incoming):
    status: StatusName
    sub_status: SubStatusName = None
    status_description: Description | None = None


class Callback(Incoming):
    """A signed alert HighHelp posts to one of the three callback URLs."""

    project_id: ProjectId
    general: CallbackGeneral
    status: CallbackStatus
    payment_info: PaymentInfo

    @property
    def idempotency_key(self) -> str:
        """`{project_id}:{payment_id}:{status}:{sub_status}`, each written as the signature writes it.

        Two bodies with one signature (`null` or "None", an extra empty object) are one alert.
        """
        parts = (self.project_id, self.general.payment_id, self.status.status, self.status.sub_status)
        return ":".join(leaf_text(part) for part in parts)
