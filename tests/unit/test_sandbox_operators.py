"""Which operator a Kazakh number's prefix suggests on the hosted page."""

from __future__ import annotations

import pytest

from checkout.sandbox.operators import (
    OPERATOR_CODES,
    PREFIXES,
    UNAMBIGUOUS_PREFIXES,
    Operator,
    parse,
    suggest,
)


@pytest.mark.parametrize(
    ("phone", "operator"),
    [
        ("+7 705 123 45 67", Operator.BEELINE),
        ("8 771 123 45 67", Operator.BEELINE),
        ("7761234567", Operator.BEELINE),
        ("+77771234567", Operator.BEELINE),
        ("+7 707 123 45 67", Operator.TELE2),
        ("+7 747 123 45 67", Operator.TELE2),
        ("+7 700 123 45 67", Operator.ALTEL),
        ("+7 708 123 45 67", Operator.ALTEL),
        # Kcell and its brand Activ share their prefixes: no suggestion.
        ("+7 701 123 45 67", None),
        ("+7 702 123 45 67", None),
        ("+7 775 123 45 67", None),
        ("+7 778 123 45 67", None),
        # Not in the table, or not a whole number yet.
        ("+7 706 123 45 67", None),
        ("+7 705 12", None),
        ("", None),
    ],
)
def test_a_prefix_suggests_an_operator_only_when_it_names_one(phone: str, operator: Operator | None) -> None:
    assert suggest(phone) == operator


def test_the_table_the_page_script_gets_leaves_out_shared_prefixes() -> None:
    assert set(UNAMBIGUOUS_PREFIXES) == {"700", "705", "707", "708", "747", "771", "776", "777"}
    assert all(len(found) == 2 for prefix, found in PREFIXES.items() if prefix not in UNAMBIGUOUS_PREFIXES)


@pytest.mark.parametrize("code", ["", "MTS", "kcell", None, "BEELINE "])
def test_only_an_operator_code_parses(code: str | None) -> None:
    assert parse(code) is None


def test_every_operator_parses() -> None:
    assert {parse(code) for code in OPERATOR_CODES} == set(Operator)
