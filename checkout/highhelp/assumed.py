"""Every protocol decision HighHelp has not published, in one place.

PROTOCOL.md tags these [assumed]. Each constant names one decision; going live with HighHelp
means checking each against their test environment and changing the value here, nowhere else.
docs/GO-LIVE.md lists the same decisions as a checklist.
"""

from typing import Final

# §3: the value of `x-access-merchant-algorithm` is unpublished. RSA is the default, so the
# header is left out for RSA and sent with this value for HMAC.
RSA_ALGORITHM_HEADER: Final[str | None] = None
HMAC_ALGORITHM_HEADER: Final[str | None] = "HMAC-SHA512"

# §3: `x-access-token` carries the merchant *public key*; with HMAC there is none, so
# HmacSigner leaves the header out (see signing.HmacSigner.access_token).

# §3 normalization: how leaves that the docs do not cover are written. `null` → "None" comes
# from the third-party client; floats never appear in this protocol (money is integer minor
# units) and are written in the shortest form that reads back as the same number.
NULL_TEXT: Final[str] = "None"

# §3 callbacks: no timestamp tolerance is published. None means any timestamp is accepted
# (replays are harmless because processing is idempotent); a number of seconds turns the
# check on.
CALLBACK_TIMESTAMP_TOLERANCE: Final[int | None] = None

# §1: the seed says `project_id` is at most 32 characters, yet its own example is a
# 36-character UUID. Accept up to a UUID's length.
PROJECT_ID_MAX_LENGTH: Final[int] = 36

# §1 errors: HighHelp's error schema is unpublished. Any non-2xx answer, any `status: "error"`
# and any unparsable body means "not created"; these HTTP statuses mean "try again later with
# the same payment_id" rather than "refused".
RETRYABLE_HTTP_STATUSES: Final[frozenset[int]] = frozenset({408, 425, 429})
ERROR_STATUS: Final[str] = "error"

# §1 create: which fields are mandatory was lost from the seed. The checkout sends every field it
# knows and validates all limits before sending; wire.CreatePayinRequest refuses a request
# without project_id, payment_id, amount or currency (its fields without a default).

# §4: informative alerts use the success/decline body shape with status "processing".
INFORMATIVE_ALERT_STATUS: Final[str] = "processing"

# §4: the expected reply and retry schedule are unpublished. Reply 2xx only after the alert
# is durably recorded; anything else asks HighHelp to retry.
CALLBACK_ACK_STATUS: Final[int] = 200

# Network timeouts for calls to HighHelp, in seconds: (connect, read). Nothing is published;
# the read timeout is long enough for a slow create and short enough for a customer to wait.
DEFAULT_TIMEOUTS: Final[tuple[float, float]] = (5.0, 20.0)
