"""The sandbox's parts, built once per sandbox app and shared by its blueprints."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from .callbacks import Outbox
from .config import SandboxConfig
from .payins import Payins
from .store import Store

EXTENSION_KEY = "highhelp_sandbox"


@dataclass
class FaultDefaults:
    """How callbacks of newly created payins are delivered (tests change it)."""

    mode: str = "none"
    delay: float = 0.0


@dataclass
class Services:
    """Configuration, storage, the callback outbox and the payin rules of one sandbox."""

    config: SandboxConfig
    store: Store
    outbox: Outbox
    payins: Payins
    faults: FaultDefaults = field(default_factory=FaultDefaults)

    @classmethod
    def build(cls, config: SandboxConfig) -> Services:
        """Wire the parts together; nothing runs until the first request."""
        store = Store(config.database_url)
        outbox = Outbox(store, config)
        payins = Payins(store, config, outbox)
        outbox.sweep = payins.expire_overdue
        return cls(config, store, outbox, payins)

    def close(self) -> None:
        """Stop the sender and release the database."""
        self.outbox.stop()
        self.store.close()


def services() -> Services:
    """The services of the sandbox app handling this request."""
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found
