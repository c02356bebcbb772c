"""Every text a customer can see exists in Kazakh and Russian, and the compiled catalogs are current."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "checkout" / "translations"
METHODS = [("checkout/**.py", "python"), ("templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = extract_from_dir(str(ROOT), method_map=METHODS, keywords={"_": None, "gettext": None, "_l": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_message_is_translated(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {message.id for message in catalog if message.id and message.string and not message.fuzzy}
    missing = source_messages() - translated
    assert not missing, f"untranslated in {language}: {sorted(missing)}; run `make translations`"


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_compiled_catalog_matches_its_source(language: str) -> None:
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        source = {message.id: message.string for message in read_po(handle, locale=language) if message.id}
    with (folder / "messages.mo").open("rb") as handle:
        compiled = {message.id: message.string for message in read_mo(handle) if message.id}
    expected = {key: value for key, value in source.items() if value}
    assert compiled == expected, f"{language}: messages.mo is stale; run `make translations`"
