"""The ways talking to HighHelp can fail, one class each."""


class HighHelpError(Exception):
    """Base class for everything the protocol package raises on purpose."""


class InvalidRequest(HighHelpError, ValueError):
    """Our own request breaks a protocol limit; nothing was sent."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Rejected(HighHelpError):
    """HighHelp answered and refused the request; `status_description` says why."""

    def __init__(self, status_description: str, http_status: int | None = None) -> None:
        self.status_description = status_description
        self.http_status = http_status
        super().__init__(status_description)


class Unavailable(HighHelpError):
    """HighHelp could not be reached or was too slow; retry with the same payment_id."""


class Busy(Unavailable):
    """This process already has as many calls to HighHelp in flight as it allows; nothing was sent."""


class BadPayload(HighHelpError):
    """A body from HighHelp that is not the JSON the protocol describes."""


class BadSignature(HighHelpError):
    """A signature that is missing, malformed or does not match the body."""
