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

# §3 callbacks: no timestamp tolerance is published, nor whether a retried alert is signed
# again with a new timestamp. Off by default, production included: a tolerance would refuse
# HighHelp's own late retries if they keep their first timestamp (and the payment would wait
# for the reconciler), while a replayed genuine alert gains an attacker nothing, because the
# inbox key is built from the signed values (one signature, one alert) and a repeat changes
# nothing. HIGHHELP_CALLBACK_TOLERANCE turns the check on once HighHelp confirms it re-signs.
CALLBACK_TIMESTAMP_TOLERANCE: Final[int | None] = None

# §3 normalization: the docs write `true` as 1, a third-party client in production writes
# `true`, and Python's str() would write `True`. No body of this protocol carries a boolean
# today; a callback that does and fails verification is logged with this hint.
BOOLEAN_HINT: Final[str] = (
    "the body carries booleans, whose normalization for signing is unconfirmed (true as 1, true "
    "or True): the likely cause, see docs/GO-LIVE.md"
)

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

# Network timeouts for calls to HighHelp, in seconds. Nothing is published. Connecting takes
# milliseconds between data centres; 3.05 s is just past TCP's first retransmission at 3 s, so
# one lost SYN is forgiven and a dead host is not waited for.
CONNECT_TIMEOUT: Final[float] = 3.05
# Create: the customer is waiting on the Pay button, and HighHelp may route to the operator
# first. Longer than this and they press again (which is safe: the same payment_id is sent).
CREATE_READ_TIMEOUT: Final[float] = 10.0
# Info: asked while a browser polls the status, and by the reconciler, which simply asks again
# on its next sweep; a slow answer is worth less than a free thread.
INFO_READ_TIMEOUT: Final[float] = 5.0
# Confirm and cancel: a merchant's action, retried by hand.
ACTION_READ_TIMEOUT: Final[float] = 10.0
# The whole answer must arrive within connect + read timeout (a trickling server does not get
# longer), and be no larger than this: HighHelp's answers are a few hundred bytes.
ANSWER_MAX_BYTES: Final[int] = 64 * 1024

# §1 answers and §4 callbacks: the seed gives no length for status and sub_status, nor for
# payment_info's method, widget_method and type. Unknown values are stored and never final, so
# refusing a long one would make HighHelp retry a signed alert forever; accept up to this many
# characters (the longest known value, "awaiting_3ds_result", has 19).
STATUS_MAX_LENGTH: Final[int] = 128
# §4: the seed's alert key is `{project_id}:{payment_id}:{status}:{sub_status}`, and we store a
# state as `status:sub_status`: a status containing the separator would read back as another
# (a "success:x" would look final). No status has one; such a body is refused.
STATUS_SEPARATOR: Final[str] = ":"
# Descriptions are HighHelp's free text: any length the body limit allows is accepted, and this
# much is stored.
DESCRIPTION_STORED_LENGTH: Final[int] = 1024
# §1: `form_url` has no published limit; it is a URL like the others (≤ 2048, https except on
# loopback, where the sandbox runs).
FORM_URL_MAX_LENGTH: Final[int] = 2048
# §4: HighHelp's wording of a decline is unpublished. A decline whose description contains one
# of these (lower-cased) is shown to the customer as "the time to pay ran out".
EXPIRY_DESCRIPTION_MARKERS: Final[tuple[str, ...]] = ("expired", "lifetime", "timed out", "timeout")
# §4: likewise, a decline whose description contains one of these was a cancel (ours through
# /cancel, or the payer's on the hosted page), shown as "the payment was cancelled".
CANCEL_DESCRIPTION_MARKERS: Final[tuple[str, ...]] = ("cancelled", "canceled")

# §4 callbacks: no nesting limit is published. The deepest documented body has objects two deep
# (alert → payment_info → a value, 3 levels with the value). 32 leaves room for anything HighHelp
# may add, and refuses bodies built to exhaust the recursion of the JSON parser or of normalize()
# before any signature work is done.
MAX_JSON_DEPTH: Final[int] = 32

# §1 errors: how HighHelp answers an /info it authenticated about a payment_id it does not know is
# unpublished; the sandbox answers 404 "… not found". `check-config --online` asks about a made-up
# payment_id: a refusal whose description says so means our keys and project were accepted, a 404
# without it is some web server's (a wrong base URL), and these HTTP statuses mean we were refused.
UNKNOWN_PAYIN_HTTP_STATUS: Final[int] = 404
UNKNOWN_PAYIN_MARKERS: Final[tuple[str, ...]] = ("not found", "unknown payment", "does not exist")
AUTH_REFUSED_HTTP_STATUSES: Final[frozenset[int]] = frozenset({401, 403})
