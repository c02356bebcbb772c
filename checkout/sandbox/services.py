"""The sandbox's parts, built once per sandbox app and shared by its blueprints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from ..sqltypes import utcnow
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
    def build(cls, config: SandboxConfig, clock: Callable[[], datetime] = utcnow) -> Services:
        """Wire the parts together on one clock (tests pass one they move); nothing runs yet."""
        store = Store(config.database_url)
        outbox = Outbox(store, config, clock=clock)
        payins = Payins(store, config, outbox, clock=clock)
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
