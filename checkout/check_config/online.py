"""Checks over the network, as HighHelp sees us and as HighHelp answers us (`check-config --online`)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import requests

from ..callbacks import bp as callbacks_bp
from ..highhelp import HighHelpClient, assumed
from ..highhelp.errors import HighHelpError, Rejected, Unavailable
from ..payments.alerts import AlertKind
from .findings import Finding, error, ok, warning

# (connect, read) seconds for reaching our own callback URLs from outside.
CALLBACK_TIMEOUTS = (3.05, 5.0)
# A made-up payment_id: no payin of ours, now or later, starts like this.
PROBE_PAYMENT_PREFIX = "check-config-"


def online_findings(base_url: str, client: HighHelpClient) -> list[Finding]:
    """Our callback URLs from outside, then HighHelp's /info with our keys."""
    return [*(callback_finding(base_url, kind) for kind in AlertKind), highhelp_finding(client)]


def callback_finding(base_url: str, kind: AlertKind) -> Finding:
    """An unsigned alert POSTed to the callback URL must get our own 401: the route reaches this app."""
    url = f"{base_url}{callbacks_bp.url_prefix}/{kind}"
    what = f"callback URL {url}"
    try:
        response = requests.post(
            url,
            data=b"{}",
            headers={"content-type": "application/json"},
            timeout=CALLBACK_TIMEOUTS,
            allow_redirects=False,
        )
    except requests.exceptions.SSLError as exc:
        return error(what, f"TLS failed ({type(exc).__name__}): HighHelp cannot deliver alerts")
    except requests.Timeout:
        return error(what, f"no answer within {sum(CALLBACK_TIMEOUTS):.0f} s")
    except requests.RequestException as exc:
        return error(what, f"cannot be reached ({type(exc).__name__})")
    if response.status_code == 401 and _is_our_refusal(response):
        return ok(what, "reaches this app (an unsigned alert gets our 401)")
    if response.is_redirect:
        location = response.headers.get("location")
        return error(what, f"redirects to {location!r}: HighHelp's POST must be answered, not redirected")
    return error(what, f"answered HTTP {response.status_code}, not this app's 401 for an unsigned alert")


def _is_our_refusal(response: requests.Response) -> bool:
    """The JSON our callback endpoint answers a bad signature with, not some proxy's 401."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("status") == "error" and "signature" in str(body.get("reason"))


def highhelp_finding(client: HighHelpClient) -> Finding:
    """Ask /info about a made-up payment: "not found" means HighHelp accepted who we are."""
    what = "HighHelp authentication"
    payment_id = PROBE_PAYMENT_PREFIX + uuid.uuid4().hex
    try:
        client.payin_info(payment_id)
    except Rejected as exc:
        answer = f"HTTP {exc.http_status}: {exc.status_description}"
        if exc.http_status in assumed.AUTH_REFUSED_HTTP_STATUSES:
            return error(
                what,
                f"refused ({answer}): check HIGHHELP_PROJECT_ID and that the merchant cabinet holds "
                "the public half of our request key",
            )
        if any(marker in exc.status_description.lower() for marker in assumed.UNKNOWN_PAYIN_MARKERS):
            return ok(what, f"accepted: /info about a made-up payment_id answered {answer}")
        if exc.http_status == assumed.UNKNOWN_PAYIN_HTTP_STATUS:
            # A 404 without HighHelp's own words is a web server's: the path is not HighHelp's API.
            return error("HIGHHELP_API_URL", f"/info answered {answer}: is the base URL HighHelp's API?")
        return warning(what, f"unclear: /info about a made-up payment_id answered {answer}")
    except Unavailable as exc:
        return error("HighHelp", f"unreachable at {urlsplit(client.base_url).hostname}: {exc}")
    except HighHelpError as exc:
        return error("HighHelp", f"answered /info with something we do not understand: {exc}")
    return ok(what, "accepted: /info answered about a made-up payment_id")
