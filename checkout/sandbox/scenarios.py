"""The test phone numbers that pick an outcome, as a tester sees them, and Kazakh numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

SUCCESS = "success"
OPERATOR_DECLINE = "operator_decline"
SUCCESS_WITHOUT_PAID = "success_without_paid"
STAYS_PENDING = "stays_pending"
CALLBACKS_LOST = "callbacks_lost"


@dataclass(frozen=True)
class Scenario:
    """What happens after the right code for one test number."""

    code: str
    phone: str
    summary: str


# Any other valid number succeeds after the right code.
SCENARIOS = (
    Scenario(OPERATOR_DECLINE, "+77000000001", "the operator declines after the right code (paid → decline)"),
    Scenario(SUCCESS_WITHOUT_PAID, "+77000000002", "success without the intermediate paid status"),
    Scenario(STAYS_PENDING, "+77000000003", "stays paid until the lifetime ends, then declines"),
    Scenario(CALLBACKS_LOST, "+77000000004", "succeeds, but every callback is lost (only /info tells)"),
)
_BY_PHONE = {scenario.phone: scenario.code for scenario in SCENARIOS}
_SEPARATORS = re.compile(r"[\s()\-.]")
# ASCII digits only: \d would also take Arabic-Indic or full-width digits into a stored number.
_KAZAKH_MOBILE = re.compile(r"\+77[0-9]{9}")


def normalize_phone(text: str) -> str | None:
    """+77XXXXXXXXX from the ways people type a Kazakh mobile number; None if it is not one."""
    digits = _SEPARATORS.sub("", text.strip())
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    elif digits.startswith("7") and len(digits) == 11:
        digits = "+" + digits
    elif len(digits) == 10 and digits.startswith("7"):
        digits = "+7" + digits
    return digits if _KAZAKH_MOBILE.fullmatch(digits) else None


def format_phone(phone: str) -> str:
    """+7 7XX XXX XX XX."""
    return f"{phone[:2]} {phone[2:5]} {phone[5:8]} {phone[8:10]} {phone[10:]}"


def scenario_for(phone: str) -> str:
    """The outcome a normalized test number asks for."""
    return _BY_PHONE.get(phone, SUCCESS)
