"""The message catalog: every sentence the engine itself writes, looked up by key in the world's language.

A small typed catalog rather than gettext: messages are Python data (checked by ruff and the tests, no
compile step, no runtime dependency), keys are stable ids rather than English source strings (so fixing
an English sentence does not orphan its translations), and plural forms follow CLDR categories through
one rule per language. A language is one module in this package registered in ``LANGUAGES``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# One template, or one per CLDR plural category ("one", "other", ...) chosen by the field ``n``.
Template = str | Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Language:
    """One language's catalog and the few rules that are not sentences."""

    code: str
    name: str
    plural: Callable[[int], str]
    list_separator: str
    sentence_separator: str
    messages: Mapping[str, Template]
    # Discord client locales that read this language (for localized slash commands).
    discord_locales: tuple[str, ...] = ()


def fields_of(template: str) -> set[str]:
    """The placeholder names a template uses ("{who} goes" -> {"who"})."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def templates_of(template: Template) -> list[str]:
    return [template] if isinstance(template, str) else list(template.values())


class Catalog:
    """All languages; English is the reference every other language must match key for key."""

    def __init__(self, languages: Iterable[Language], reference: str = "en") -> None:
        self.languages = {lang.code: lang for lang in languages}
        self.reference = self.languages[reference]

    def language(self, code: str | None) -> Language:
        """The language for a world's ``language:`` code; unknown codes read English."""
        return self.languages.get(code or "", self.reference)

    def text(self, code: str | None, key: str, /, **fields: object) -> str:
        """The message ``key`` in language ``code`` with ``fields`` filled in.

        A key missing from a language falls back to English (the catalog test fails on it, so this only
        protects players from a half-finished new language); a key missing from English is a bug and raises.
        """
        lang = self.language(code)
        template = lang.messages.get(key)
        if template is None:
            template = self.reference.messages[key]
            lang = self.reference
        if not isinstance(template, str):
            count = int(fields.get("n", 0))  # type: ignore[call-overload]
            template = template.get(lang.plural(count)) or template["other"]
        return template.format(**fields)

    def parse(self, prefix: str, said: str) -> tuple[str, dict[str, str]] | None:
        """Which English message under ``prefix`` produced ``said``, and its fields.

        For texts stored in English before anyone knew the reader's language (the scheduler's reasons in
        the event log): ``retell`` renders them again in another language.
        """
        for key, template in self.reference.messages.items():
            if not key.startswith(prefix):
                continue
            for form in templates_of(template):
                match = _pattern(form).fullmatch(said)
                if match:
                    return key, match.groupdict()
        return None

    def retell(self, code: str | None, prefix: str, said: str) -> str:
        """``said`` (an English catalog message under ``prefix``) in language ``code``; unknown text as is."""
        found = self.parse(prefix, said)
        return self.text(code, found[0], **found[1]) if found else said

    def join(self, code: str | None, items: Iterable[str]) -> str:
        """A list of names as the language writes it ("Mira, Tom" / "林晚、老周")."""
        return self.language(code).list_separator.join(items)

    def sentences(self, code: str | None, parts: Iterable[str]) -> str:
        """Sentences run together as the language writes them (a space in English, nothing in Chinese)."""
        return self.language(code).sentence_separator.join(p for p in parts if p)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(template: str) -> re.Pattern[str]:
    """A regex that matches what ``template`` renders to, one named group per field (no format specs)."""
    pattern = _PATTERNS.get(template)
    if pattern is None:
        parts = []
        for literal, name, _, _ in string.Formatter().parse(template):
            parts.append(re.escape(literal))
            if name:
                parts.append(f"(?P<{name}>.+?)")
        pattern = _PATTERNS[template] = re.compile("".join(parts), re.DOTALL)
    return pattern
