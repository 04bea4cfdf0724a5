"""The engine's own words (narration, notices, command replies) in the world's language.

Use ``tr(world.language, "move.user", who=..., ...)``; add a language by adding a module like
``zh.py`` and listing it in ``LANGUAGES`` (the README's "Languages" section says how).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import en, zh
from bot.i18n.catalog import Catalog, Language, Template, fields_of, templates_of

LANGUAGES: tuple[Language, ...] = (en.LANGUAGE, zh.LANGUAGE)
CATALOG = Catalog(LANGUAGES)
CODES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGES)


def tr(code: str | None, key: str, /, **fields: object) -> str:
    """The message ``key`` in the language ``code`` (a world's ``language:``), fields filled in."""
    return CATALOG.text(code, key, **fields)


def join(code: str | None, items: Iterable[str]) -> str:
    """Names listed the way the language lists them."""
    return CATALOG.join(code, items)


def sentences(code: str | None, *parts: str) -> str:
    """Sentences put together the way the language does (empty parts left out)."""
    return CATALOG.sentences(code, parts)


def retell(code: str | None, prefix: str, said: str) -> str:
    """An English catalog message under ``prefix`` (as stored in the event log) told in language ``code``."""
    return CATALOG.retell(code, prefix, said)


def term(code: str | None, group: str, value: str) -> str:
    """A word the engine itself stores (a fact kind, a rule's mood label) for people; other words as written."""
    key = f"{group}.{value}"
    return tr(code, key) if key in CATALOG.reference.messages else value


def mood(code: str | None, label: str) -> str:
    """A mood label for people: the rules' own labels ("hurt", "warm") translated, content labels as written."""
    return term(code, "mood", label)


def for_discord_locale(locale: str | None) -> str:
    """The catalog language for a Discord client locale ("zh-CN" -> "zh"), English otherwise."""
    for lang in LANGUAGES:
        if locale in lang.discord_locales:
            return lang.code
    return CATALOG.reference.code


__all__ = [
    "CATALOG", "CODES", "LANGUAGES", "Catalog", "Language", "Template", "fields_of", "for_discord_locale", "join", "mood", "retell",
    "sentences", "templates_of", "term", "tr",
]
