"""The HighHelp widget payin protocol: signing, wire bodies and the HTTP client.

Nothing here imports Flask or the database, so the sandbox and the app share one
implementation of the protocol.
"""

from .client import HighHelpClient
from .errors import BadPayload, BadSignature, Busy, HighHelpError, InvalidRequest, Rejected, Unavailable

__all__ = [
    "BadPayload",
    "BadSignature",
    "Busy",
    "HighHelpClient",
    "HighHelpError",
    "InvalidRequest",
    "Rejected",
    "Unavailable",
]
