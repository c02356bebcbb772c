"""Kazakhstan's mobile operators, and which one a number's prefix suggests."""

from __future__ import annotations

import enum

from . import scenarios


class Operator(enum.StrEnum):
    """The five operators of the seed, by the codes HighHelp uses for them."""

    BEELINE = "BEELINE"
    TELE2 = "TELE2"
    ALTEL = "ALTEL"
    KCELL = "KCELL"
    ACTIV = "ACTIV"


# The order the hosted page offers them in, with the names payers know.
OPERATORS = (
    (Operator.BEELINE, "Beeline"),
    (Operator.TELE2, "Tele2"),
    (Operator.ALTEL, "Altel"),
    (Operator.KCELL, "Kcell"),
    (Operator.ACTIV, "Activ"),
)
OPERATOR_CODES = frozenset(Operator)

# The numbering plan's mobile prefixes (+7 7XX) by the operator(s) they were issued to. Kcell and
# its brand Activ share theirs, so those suggest nothing; any number may have been ported since,
# so a suggestion only pre-selects and the payer can always pick another operator.
PREFIXES: dict[str, tuple[Operator, ...]] = {
    "700": (Operator.ALTEL,),
    "708": (Operator.ALTEL,),
    "705": (Operator.BEELINE,),
    "771": (Operator.BEELINE,),
    "776": (Operator.BEELINE,),
    "777": (Operator.BEELINE,),
    "707": (Operator.TELE2,),
    "747": (Operator.TELE2,),
    "701": (Operator.KCELL, Operator.ACTIV),
    "702": (Operator.KCELL, Operator.ACTIV),
    "775": (Operator.KCELL, Operator.ACTIV),
    "778": (Operator.KCELL, Operator.ACTIV),
}
# What the page's script needs: only the prefixes that name one operator.
UNAMBIGUOUS_PREFIXES = {prefix: found[0].value for prefix, found in PREFIXES.items() if len(found) == 1}


def parse(code: str | None) -> Operator | None:
    """The operator a form sent, or None for anything else."""
    return Operator(code) if code in OPERATOR_CODES else None


def suggest(phone: str) -> Operator | None:
    """The one operator a typed number's prefix was issued to; None if unknown or shared."""
    number = scenarios.normalize_phone(phone)
    if number is None:
        return None
    found = PREFIXES.get(number[2:5], ())
    return found[0] if len(found) == 1 else None
