"""The message catalog: every message renders in every language, nothing is missing or left in English."""

from __future__ import annotations

import re
import string

import pytest

from bot.i18n import CATALOG, LANGUAGES, join, mood, retell, sentences, templates_of, tr
from bot.i18n.catalog import Catalog, Language

REFERENCE = CATALOG.reference
OTHERS = [lang for lang in LANGUAGES if lang.code != REFERENCE.code]
# Latin script a translation may keep: slash commands, `code`, {placeholders}, these file/format names and
# the abbreviations Chinese writes in Latin letters too (a time zone, units of size).
KEPT_LATIN = re.compile(r"`[^`]*`|/[a-z]+(?: [a-z]+)?(?:\|[a-z]+)?|\{[^}]*\}|\b(?:JSONL?|PNG|CHARX|UTC|KiB|MiB)\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _sample_fields(templates: list[str]) -> dict[str, object]:
    """A value for every field the templates use, of the type their format spec asks for."""
    values: dict[str, object] = {}
    for template in templates:
        for _, name, spec, _ in string.Formatter().parse(template):
            if not name:
                continue
            if name == "n" or (spec and spec[-1] in "d"):
                values[name] = 2
            elif spec and spec[-1] == "f":
                values[name] = 0.5
            else:
                values.setdefault(name, f"«{name}»")
    return values


def test_every_language_has_every_key_and_no_extra_one():
    """A key missing from a translation (or one English no longer has) fails here, named."""
    for lang in OTHERS:
        missing = sorted(set(REFERENCE.messages) - set(lang.messages))
        extra = sorted(set(lang.messages) - set(REFERENCE.messages))
        assert not missing, f"{lang.code} lacks {missing}"
        assert not extra, f"{lang.code} has keys English does not: {extra}"


@pytest.mark.parametrize("lang", LANGUAGES, ids=lambda lang: lang.code)
def test_every_message_renders_with_the_reference_fields(lang: Language):
    """Each message formats with exactly the placeholders of its English original, in every plural form."""
    for key, reference in REFERENCE.messages.items():
        wanted = set().union(*(_fields(t) for t in templates_of(reference)))
        template = lang.messages[key]
        for form in templates_of(template):
            assert _fields(form) <= wanted, f"{lang.code}:{key} uses fields English does not give: {_fields(form) - wanted}"
        fields = _sample_fields(templates_of(reference))
        for n in (0, 1, 2, 5):
            rendered = tr(lang.code, key, **{**fields, "n": n} if "n" in fields else fields)
            assert rendered.strip(), f"{lang.code}:{key} renders empty"
            assert "{" not in rendered and "}" not in rendered, f"{lang.code}:{key} left a placeholder: {rendered!r}"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", OTHERS, ids=lambda lang: lang.code)
def test_no_message_is_left_untranslated(lang: Language):
    """A translated message carries no English words (commands, code and file formats aside)."""
    untranslated = []
    for key, template in lang.messages.items():
        for form in templates_of(template):
            residue = KEPT_LATIN.sub("", form)
            if LATIN_WORD.search(residue) or (form == templates_of(REFERENCE.messages[key])[0] and LATIN_WORD.search(form)):
                untranslated.append(f"{key}: {form!r}")
    assert not untranslated, "\n".join(untranslated)


def test_plural_forms_cover_the_language_rule():
    """Every plural message has the categories its language's rule can choose, and always "other"."""
    for lang in LANGUAGES:
        for key, template in lang.messages.items():
            if isinstance(template, str):
                continue
            assert "other" in template, f"{lang.code}:{key}"
            for n in range(0, 30):
                assert lang.plural(n) in template, f"{lang.code}:{key} has no form for n={n}"


def test_english_plurals_and_lists():
    assert tr("en", "rewind.done", n=1) == "Rewound 1 turn."
    assert tr("en", "rewind.done", n=3) == "Rewound 3 turns."
    assert tr("zh", "rewind.done", n=1) == "已回退1轮。"
    assert join("en", ["Mira", "Tom"]) == "Mira, Tom"
    assert join("zh", ["林晚", "小豆子"]) == "林晚、小豆子"
    assert sentences("en", "One.", "", "Two.") == "One. Two."
    assert sentences("zh", "一。", "二。") == "一。二。"


def test_unknown_language_reads_english_and_a_half_done_language_falls_back_per_key():
    half = Language("xx", "Test", lambda n: "other", " / ", " ", {"move.nobody_here": "Personne ici."})
    catalog = Catalog([REFERENCE, half])
    assert catalog.text("xx", "move.nobody_here") == "Personne ici."
    assert catalog.text("xx", "move.here", names="A") == "Here: A."
    assert catalog.text("qq", "move.nobody_here") == "Nobody from the story is here."
    with pytest.raises(KeyError):
        catalog.text("en", "no.such.key")


def test_stored_english_reasons_are_retold_in_another_language():
    """/why reads reasons stored in English in the event log and tells them in the world's language."""
    stored = tr("en", "why.reason.goals", n=3)
    assert retell("zh", "why.reason.", stored) == "话题关乎其目标（3个词）"
    assert retell("zh", "why.reason.", "something no catalog wrote") == "something no catalog wrote"
    assert mood("zh", "hurt") == "受伤" and mood("zh", "冷峻") == "冷峻"


def test_discord_command_names_are_valid_in_every_language():
    """Discord refuses names that are not lowercase word characters of at most 32, descriptions over 100."""
    for lang in LANGUAGES:
        for key, template in lang.messages.items():
            if not key.startswith("cmd."):
                continue
            assert isinstance(template, str)
            if key.count(".") == 1:
                assert re.fullmatch(r"[-_\w]{1,32}", template) and template == template.lower(), f"{lang.code}:{key}"
            else:
                assert 1 <= len(template) <= 100, f"{lang.code}:{key}"
