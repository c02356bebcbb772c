"""Reading settings from an environment, collecting every problem; no app state, shared with the sandbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from .highhelp.wire import check_url

T = TypeVar("T")
TRUE_FLAGS = frozenset({"1", "true", "yes", "on"})


class Reader:
    """Reads variables and collects problems instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []
        self.sources: dict[str, str] = {}

    def text(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def secret(self, name: str) -> str | None:
        """NAME itself, or the contents of the file named by NAME_FILE."""
        inline, path = self.text(name), self.text(f"{name}_FILE")
        if inline and path:
            self.problems.append(f"{name} and {name}_FILE: set only one of them")
            return None
        if path:
            self.sources[name] = f"{name}_FILE"
            try:
                return Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.problems.append(f"{name}_FILE: cannot read {path}: {exc.__class__.__name__}")
                return None
        return inline

    def source(self, name: str) -> str:
        """Which variable a secret came from, for messages: NAME or NAME_FILE."""
        return self.sources.get(name, name)

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = (self.text(name) or default).lower()
        if value not in options:
            self.problems.append(f"{name}: must be one of {', '.join(options)}, not {value!r}")
            return default
        return value

    def flag(self, name: str) -> bool:
        """True for 1, true, yes or on; anything else, unset included, is False."""
        return (self.text(name) or "").lower() in TRUE_FLAGS

    def url(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return check_url(value).rstrip("/")
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return None

    def integer(self, name: str, default: int, low: int, high: int, what: str = "a whole number") -> int:
        value = self.text(name)
        if value is None:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            self.problems.append(f"{name}: must be {what} from {low} to {high}")
            return default
        return int(value)

    def parsed(self, name: str, text: str | None, parse: Callable[[str], T]) -> T | None:
        """`parse(text)`, or None with a problem naming the variable the text came from."""
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.problems.append(f"{self.source(name)}: {exc}")
            return None

    def require(self, name: str, value: object, why: str) -> None:
        if value is None:
            self.problems.append(f"{name}: required {why}")
