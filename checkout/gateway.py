"""The app's way to HighHelp: one configured client per base URL, built on first use."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request

from .config import SANDBOX_PATH, Settings
from .highhelp import HighHelpClient
from .highhelp.client import CallObserver

SETTINGS_KEY = "checkout.settings"
CLIENTS_KEY = "checkout.highhelp_clients"
OBSERVERS_KEY = "checkout.highhelp_observers"
LOCAL_HOST = "127.0.0.1"


def init_app(app: Flask, settings: Settings) -> None:
    """Keep the settings on the app; clients are made when first needed."""
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[CLIENTS_KEY] = {}
    app.extensions[OBSERVERS_KEY] = []


def observe_highhelp_calls(app: Flask, observer: CallObserver) -> None:
    """Tell `observer` about every call this app's clients make (metrics count them this way)."""
    app.extensions[OBSERVERS_KEY].append(observer)


def current_settings() -> Settings:
    """The settings of the running app."""
    settings: Settings = current_app.extensions[SETTINGS_KEY]
    return settings


def public_base_url() -> str:
    """Our own origin: PUBLIC_BASE_URL, else the request's, else this machine's on PORT."""
    settings = current_settings()
    if settings.public_base_url:
        return settings.public_base_url
    if has_request_context():
        return request.host_url.rstrip("/")
    return f"http://{LOCAL_HOST}:{settings.local_port}"


def highhelp_base_url() -> str:
    """HIGHHELP_API_URL, or the sandbox mounted in this app, reached over HTTP like HighHelp."""
    return current_settings().highhelp_api_url or public_base_url() + SANDBOX_PATH


def highhelp_client() -> HighHelpClient:
    """The client for the configured cash register; one per process, so its cap on calls is too."""
    settings = current_settings()
    clients: dict[str, HighHelpClient] = current_app.extensions[CLIENTS_KEY]
    base_url = highhelp_base_url()
    client = clients.get(base_url)
    if client is None:
        # setdefault: threads racing on first use all get the one client, and so one cap on calls.
        client = clients.setdefault(
            base_url,
            HighHelpClient(
                base_url,
                settings.project_id,
                settings.request_signer,
                max_in_flight=settings.highhelp_max_calls,
                observers=current_app.extensions[OBSERVERS_KEY],
            ),
        )
    return client
