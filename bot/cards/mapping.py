"""Raw card dict <-> :class:`Character`: pure functions, no I/O.

Mapping (card field -> Ensemble field):

- ``name`` -> ``name`` (whitespace collapsed, at most 80 characters); ``id`` = ``slugify(name)``.
- ``description``/``personality``/``scenario`` -> the same fields. ``description`` and ``personality``
  must not be empty in Ensemble: an empty description falls back to the personality, the scenario, the
  first greeting or the name; an empty personality falls back to the first sentence of the description.
  Which fields were filled in this way is remembered, so export writes them back empty.
- ``first_mes`` + ``alternate_greetings`` -> ``greetings`` (in that order, empty ones dropped).
- ``mes_example`` -> ``voice.samples``: split on ``<START>``, ``{{user}}:``/``{{char}}:`` (or the
  character's name) start a message; each user message and the character's answer make one exchange,
  an answer with no user line before it gets ``...`` as the user side; the first three are kept. With
  no usable example, one sample is derived from the first greeting.
- ``voice.style`` = the first sentence of the personality (cards have no style field).
- Macros stay literal: ``{{char}}``/``{{user}}`` (any letter case) and the legacy ``<BOT>``/``<USER>`` are
  normalised to ``{{char}}``/``{{user}}``, which the engine substitutes at prompt time.
- ``system_prompt``/``post_history_instructions`` -> verbatim (``{{original}}`` kept).
- ``character_book.entries`` -> ``lore`` (see :func:`lore_entry_from_book`).
- ``tags``/``creator``/``character_version``/``creator_notes`` -> ``meta``; the spec -> ``meta.source_spec``.
- ``extensions.talkativeness`` -> ``talkativeness``; every other extension -> ``meta.extensions`` verbatim.
- V3-only and unknown ``data`` fields, the original ``mes_example`` when the samples do not reproduce it,
  and the lorebook details Ensemble has no field for are kept in ``meta.extensions["ensemble_card"]``,
  so export restores them.
- Ensemble-only fields (aliases beyond the V3 nickname, vocabulary, quirks, goals, mood, relationships...)
  travel in the exported card's ``extensions["ensemble"]``, so an Ensemble character survives a round
  trip through a card too.

- V3 ``nickname`` -> ``aliases`` (the nickname itself also stays for export).

The round-trip law: ``card_to_character(character_to_card(c)) == c`` for every ``c`` that
``card_to_character`` produced, which gives ``import(export(import(card))) == import(card)``; it holds
for hand-written characters too when their text uses the canonical ``{{char}}``/``{{user}}`` spelling.
After a character is edited, the kept copy is used only where it still matches, so export writes the
edits (and the re-imported copy then drops what went stale). ``meta.extensions`` keys ``talkativeness``,
``ensemble`` and ``ensemble_card`` are reserved.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError

from bot.cards.parse import SPEC_V2, split_card
from bot.cards.values import (
    as_bool,
    as_int,
    as_number,
    as_opt_bool,
    as_text,
    as_text_list,
    json_equal,
    normalize_macros,
)
from bot.content.models import CardMeta, Character, LoreEntry, Mood, SampleExchange, slugify
from bot.errors import ContentError
from bot.i18n import tr

STASH_KEY = "ensemble_card"
"""Reserved key in ``meta.extensions``: what import keeps so that export can restore the card."""
NATIVE_KEY = "ensemble"
"""Reserved key in a card's ``data.extensions``: Ensemble-only fields of an exported character."""

V2_DATA_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
)
V3_ONLY_FIELDS = (
    "assets",
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
)
MAX_NAME_CHARS = 80
PLACEHOLDER_USER = "..."
"""The user side of a sample whose example block has only the character speaking."""
FALLBACK_SAMPLE = "*{{char}} nods at {{user}}.*"
"""The character side of the sample made when a card has neither examples nor a greeting."""
SUMMARY_CHARS = 200
LOGIC_CODES = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
LOGIC_NAMES = {name: code for code, name in LOGIC_CODES.items()}

_MISSING = object()
_START = re.compile(r"<START>", re.IGNORECASE)
_SPEAKER = re.compile(r"^[ \t]*\{\{(user|char)\}\}[ \t]*:[ \t]?(.*)$")
_SENTENCE = re.compile(r"(.+?[.!?。！？…])(?=\s|$)")
_ID_INT = re.compile(r"0|[1-9][0-9]{0,15}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class MappedCard:
    """A character made from a card, with the notes worth telling the person who imported it."""

    character: Character
    spec: str
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- text helpers


def _card_text(value: Any) -> str:
    """A text field as Ensemble stores it: newlines normalised, macros normalised, ends stripped."""
    return normalize_macros(as_text(value)).strip()


def _summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first sentence of ``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(text.split())
    match = _SENTENCE.match(flat)
    first = match.group(1) if match else flat
    if len(first) > limit:
        cut = first[:limit]
        if " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        first = cut.rstrip(",;: ") + "…"
    return first


def _compress(raw: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """What turns ``default`` back into ``raw``: the keys to set and the keys to remove."""
    diff: dict[str, Any] = {}
    changed = {k: copy.deepcopy(v) for k, v in raw.items() if k not in default or not json_equal(default[k], v)}
    if changed:
        diff["set"] = changed
    removed = [k for k in default if k not in raw]
    if removed:
        diff["unset"] = removed
    return diff


def _expand(diff: Any, default: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(default)
    if isinstance(diff, dict):
        changed = diff.get("set")
        if isinstance(changed, dict):
            raw.update(copy.deepcopy(changed))
        removed = diff.get("unset")
        if isinstance(removed, list):
            for key in removed:
                if isinstance(key, str):
                    raw.pop(key, None)
    return raw


# ---------------------------------------------------------------- example messages


def parse_mes_example(text: str, name: str = "") -> list[tuple[str, str]]:
    """Every (user, character) exchange in a ``mes_example`` text, in order.

    Blocks start with ``<START>``; a line starting ``{{user}}:`` or ``{{char}}:`` (any case, also
    ``<USER>:``/``<BOT>:`` or ``NAME:``) starts a message and the lines after it continue it. Text
    before the first speaker line of a block counts as the character's. A character message with no
    user message before it gets ``...`` as the user side; a trailing user message is dropped.
    """
    text = normalize_macros(as_text(text))
    name_re = re.compile(r"^[ \t]*" + re.escape(name) + r"[ \t]*:[ \t]?(.*)$") if name else None
    exchanges: list[tuple[str, str]] = []
    for block in _START.split(text):
        messages: list[list[Any]] = []
        for line in block.split("\n"):
            match = _SPEAKER.match(line)
            if match:
                messages.append([match.group(1), [match.group(2)]])
                continue
            match = name_re.match(line) if name_re else None
            if match:
                messages.append(["char", [match.group(1)]])
            elif messages:
                messages[-1][1].append(line)
            elif line.strip():
                messages.append(["char", [line]])
        merged: list[tuple[str, str]] = []
        for speaker, lines in messages:
            body = "\n".join(lines).strip()
            if not body:
                continue
            if merged and merged[-1][0] == speaker:
                merged[-1] = (speaker, merged[-1][1] + "\n" + body)
            else:
                merged.append((speaker, body))
        pending: str | None = None
        for speaker, body in merged:
            if speaker == "user":
                pending = body
            else:
                exchanges.append((pending or PLACEHOLDER_USER, body))
                pending = None
    return exchanges


def render_mes_example(samples: list[SampleExchange]) -> str:
    """Samples as a ``mes_example`` text that :func:`parse_mes_example` reads back (for ordinary text)."""
    blocks = []
    for sample in samples:
        lines = ["<START>"]
        if sample.user != PLACEHOLDER_USER:
            lines.append("{{user}}: " + sample.user)
        lines.append("{{char}}: " + sample.character)
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def samples_from_card(mes_example: str, name: str, greetings: list[str]) -> tuple[list[SampleExchange], bool]:
    """(samples, derived): up to three exchanges from the examples, else one made from the first greeting."""
    exchanges = parse_mes_example(mes_example, name)[:3]
    if exchanges:
        return [SampleExchange(user=u, character=c) for u, c in exchanges], False
    line = greetings[0] if greetings else FALLBACK_SAMPLE
    return [SampleExchange(user=PLACEHOLDER_USER, character=line)], True


# ---------------------------------------------------------------- description / personality fallbacks


def _fill_texts(
    description: str, personality: str, scenario: str, greetings: list[str], name: str
) -> tuple[str, str, list[str]]:
    """(description, personality, names of the fields that had to be derived)."""
    derived = []
    if not description:
        description = personality or scenario or (greetings[0] if greetings else "") or name
        derived.append("description")
    if not personality:
        personality = _summary(description)
        derived.append("personality")
    return description, personality, derived


def derive_style(personality: str) -> str:
    """The voice style of a card, which has no such field: the first sentence of the personality."""
    return _summary(personality)


# ---------------------------------------------------------------- lorebook entries


def _split_decorators(content: str) -> tuple[list[str], str]:
    """V3 decorators: the ``@@`` lines at the start of an entry's content, and the rest."""
    lines = content.split("\n")
    index = 0
    while index < len(lines) and lines[index].lstrip().startswith("@@"):
        index += 1
    return lines[:index], "\n".join(lines[index:])


def _entry_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def lore_entry_from_book(raw: Any) -> LoreEntry | None:
    """A ``character_book`` entry as a LoreEntry, or None when it could never fire (no content, no keys).

    ``keys``, ``content`` (without V3 ``@@`` decorator lines), ``constant``, ``enabled``,
    ``insertion_order`` -> ``order``, ``case_sensitive``; ``secondary_keys`` only when ``selective``
    (they are ignored otherwise, as in SillyTavern); from ``extensions``: ``selectiveLogic`` (0-3),
    ``probability`` (100 when ``useProbability`` is false), ``match_whole_words`` (unset -> True).
    """
    if not isinstance(raw, dict):
        return None
    _, body = _split_decorators(as_text(raw.get("content")))
    content = normalize_macros(body).strip()
    keys = as_text_list(raw.get("keys") if "keys" in raw else raw.get("key"))
    constant = as_bool(raw.get("constant"), False)
    if not content or (not keys and not constant):
        return None
    ext = raw.get("extensions")
    ext = ext if isinstance(ext, dict) else {}
    selective = as_bool(raw.get("selective"), False)
    secondary = as_text_list(raw.get("secondary_keys")) if selective else []
    logic_code = as_int(ext.get("selectiveLogic", raw.get("selectiveLogic")), 0)
    case = as_opt_bool(raw.get("case_sensitive"))
    if case is None:
        case = as_opt_bool(ext.get("case_sensitive"))
    whole = as_opt_bool(ext.get("match_whole_words"))
    probability = 100
    chance = as_number(ext.get("probability"))
    if chance is not None and as_bool(ext.get("useProbability"), True):
        probability = max(0, min(100, round(chance)))
    return LoreEntry(
        id=_entry_id(raw.get("id")),
        keys=keys,
        secondary_keys=secondary,
        selective_logic=LOGIC_CODES.get(logic_code, "and_any"),  # type: ignore[arg-type]
        constant=constant,
        content=content,
        order=as_int(raw.get("insertion_order"), 100),
        probability=probability,
        enabled=as_bool(raw.get("enabled"), True),
        case_sensitive=bool(case),
        whole_word=True if whole is None else whole,
    )


def default_book_entry(entry: LoreEntry) -> dict[str, Any]:
    """A V2 ``character_book`` entry for a LoreEntry, with the extension fields SillyTavern reads."""
    raw: dict[str, Any] = {}
    if entry.id is not None:
        raw["id"] = int(entry.id) if _ID_INT.fullmatch(entry.id) else entry.id
    raw.update(
        keys=list(entry.keys),
        secondary_keys=list(entry.secondary_keys),
        content=entry.content,
        constant=entry.constant,
        selective=bool(entry.secondary_keys),
        insertion_order=entry.order,
        enabled=entry.enabled,
        case_sensitive=entry.case_sensitive,
        position="before_char",
        extensions={
            "selectiveLogic": LOGIC_NAMES[entry.selective_logic],
            "probability": entry.probability,
            "useProbability": True,
            "match_whole_words": entry.whole_word,
        },
    )
    return raw


def _patched_entry(entry: LoreEntry, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` (restored from an import) changed just enough that it maps to ``entry`` again."""
    default = default_book_entry(entry)
    got = lore_entry_from_book(raw)
    if got == entry:
        return raw
    if got is None:  # nothing maps: check (and so patch) every field below
        got = SimpleNamespace(**{name: _MISSING for name in LoreEntry.model_fields})
    if not isinstance(raw.get("extensions"), dict):
        raw["extensions"] = {}
    ext = raw["extensions"]
    if got.id != entry.id:
        raw.pop("id", None)
        if "id" in default:
            raw["id"] = default["id"]
    if got.keys != entry.keys:
        raw["keys"] = default["keys"]
    if got.content != entry.content:
        decorators, _ = _split_decorators(as_text(raw.get("content")))
        raw["content"] = "\n".join([*decorators, entry.content])
    if got.constant != entry.constant:
        raw["constant"] = entry.constant
    if got.secondary_keys != entry.secondary_keys:
        raw["secondary_keys"] = default["secondary_keys"]
        if entry.secondary_keys:
            raw["selective"] = True
    if got.selective_logic != entry.selective_logic:
        raw.pop("selectiveLogic", None)
        ext["selectiveLogic"] = LOGIC_NAMES[entry.selective_logic]
    if got.order != entry.order:
        raw["insertion_order"] = entry.order
    if got.probability != entry.probability:
        ext["probability"] = entry.probability
        ext["useProbability"] = True
    if got.enabled != entry.enabled:
        raw["enabled"] = entry.enabled
    if got.case_sensitive != entry.case_sensitive:
        raw["case_sensitive"] = entry.case_sensitive
    if got.whole_word != entry.whole_word:
        ext["match_whole_words"] = entry.whole_word
    return raw if lore_entry_from_book(raw) == entry else default


def book_from_lore(lore: list[LoreEntry], stash: Any = None) -> dict[str, Any] | None:
    """The ``character_book`` for these lore entries, restoring what an import kept (see :func:`lore_from_book`)."""
    stash = stash if isinstance(stash, dict) else None
    if not lore and stash is None:
        return None
    book = _expand(stash.get("extra") if stash else None, {"extensions": {}})
    slots = stash.get("entries") if stash else None
    slots = slots if isinstance(slots, list) else []
    by_id = {s.get("id"): s for s in slots if isinstance(s, dict) and s.get("id") is not None}
    entries: list[Any] = []
    for index, entry in enumerate(lore):
        slot = slots[index] if index < len(slots) else None
        if not isinstance(slot, dict) or slot.get("id") != entry.id:
            slot = by_id.get(entry.id) if entry.id is not None else None
        default = default_book_entry(entry)
        if slot is None:
            entries.append(default)
        else:
            entries.append(_patched_entry(entry, _expand(slot.get("base"), default)))
    dropped = stash.get("dropped") if stash else None
    for item in dropped if isinstance(dropped, list) else []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], int) and not isinstance(item[0], bool):
            entries.insert(max(0, min(item[0], len(entries))), copy.deepcopy(item[1]))
    book["entries"] = entries
    return book


def lore_from_book(book: Any) -> tuple[list[LoreEntry], dict[str, Any] | None, list[str]]:
    """(lore, stash, warnings) for a ``character_book``; the stash is None when export rebuilds it exactly."""
    if book is None:
        return [], None, []
    if not isinstance(book, dict):
        return [], None, ["the card's character_book is not an object and was ignored"]
    raw_entries = book.get("entries")
    if isinstance(raw_entries, dict):
        raw_entries = list(raw_entries.values())
    if not isinstance(raw_entries, list):
        raw_entries = []
    lore: list[LoreEntry] = []
    slots: list[dict[str, Any]] = []
    dropped: list[list[Any]] = []
    regex = False
    for index, raw in enumerate(raw_entries):
        entry = lore_entry_from_book(raw)
        if entry is None:
            dropped.append([index, copy.deepcopy(raw)])
            continue
        if isinstance(raw, dict) and as_bool(raw.get("use_regex"), False):
            regex = True
        lore.append(entry)
        slots.append({"id": entry.id, "base": _compress(raw, default_book_entry(entry))})
    warnings = []
    if dropped:
        warnings.append(tr("en", "card.warn.book_dropped", n=len(dropped)))
    if regex:
        warnings.append(tr("en", "card.warn.regex_keys"))
    meta = {k: v for k, v in book.items() if k != "entries"}
    extra = _compress(meta, {"extensions": {}})
    stash: dict[str, Any] = {}
    if extra:
        stash["extra"] = extra
    if any(slot["base"] for slot in slots):
        stash["entries"] = [{"id": s["id"], "base": s["base"]} if s["base"] else {"id": s["id"]} for s in slots]
    if dropped:
        stash["dropped"] = dropped
    if not stash:
        expected = {**meta, "entries": list(raw_entries)}
        rebuilt = book_from_lore(lore, None)
        if rebuilt is not None and json_equal(rebuilt, expected):
            return lore, None, warnings
        stash["extra"] = extra  # an empty book: remember that there was one
    return lore, stash, warnings


# ---------------------------------------------------------------- card -> character


def _default_aliases(nickname: Any, name: str) -> list[str]:
    nick = " ".join(as_text(nickname).split())
    return [nick] if nick and nick != name else []


def _clean_name(value: Any) -> str:
    name = " ".join(as_text(value).split())
    if len(name) > MAX_NAME_CHARS:
        name = name[:MAX_NAME_CHARS].rstrip()
    return name


def card_to_character(card: Any, *, character_id: str | None = None) -> MappedCard:
    """A playable Character from a card object of any version (V1, V2, V3).

    ``character_id`` overrides the id (otherwise the id an Ensemble export carried, or ``slugify(name)``).
    Raises ContentError when the card cannot make a character (no name, not an object).
    """
    spec, data, warnings = split_card(card)
    data = copy.deepcopy(data)
    full_name = " ".join(as_text(data.get("name")).split())
    if not full_name:
        raise ContentError("the card has no name (data.name is missing or empty)")
    name = _clean_name(full_name)
    if name != full_name:
        warnings.append(tr("en", "card.warn.name_shortened", limit=MAX_NAME_CHARS, name=name))

    raw_ext = data.get("extensions")
    if raw_ext is not None and not isinstance(raw_ext, dict):
        warnings.append(tr("en", "card.warn.bad_extensions"))
    ext = raw_ext if isinstance(raw_ext, dict) else {}
    native = ext.get(NATIVE_KEY)
    native = native if isinstance(native, dict) else {}
    talk = as_number(ext.get("talkativeness"))
    talkativeness = 0.5 if talk is None else max(0.0, min(1.0, talk))
    meta_ext = {k: v for k, v in ext.items() if k not in (NATIVE_KEY, STASH_KEY, "talkativeness")}
    depth_prompt = meta_ext.get("depth_prompt")
    if isinstance(depth_prompt, dict) and as_text(depth_prompt.get("prompt")).strip():
        warnings.append(tr("en", "card.warn.depth_prompt"))

    first = _card_text(data.get("first_mes"))
    alternates = [normalize_macros(g) for g in as_text_list(data.get("alternate_greetings"))]
    greetings = [g.strip() for g in (first, *alternates) if g.strip()]
    scenario = _card_text(data.get("scenario"))
    description, personality, derived = _fill_texts(
        _card_text(data.get("description")), _card_text(data.get("personality")), scenario, greetings, name
    )

    mes_example = normalize_macros(as_text(data.get("mes_example"))).strip()
    samples, samples_derived = samples_from_card(mes_example, name, greetings)
    native_voice = native.get("voice") if isinstance(native.get("voice"), dict) else {}
    native_samples = _native_samples(native_voice.get("samples"))
    if native_samples and render_mes_example(native_samples) == mes_example:
        samples, samples_derived = native_samples, False
    if samples_derived:
        warnings.append(tr("en", "card.warn.sample_from_greeting" if greetings else "card.warn.sample_stock"))

    lore, book_stash, book_warnings = lore_from_book(data.get("character_book"))
    warnings.extend(book_warnings)

    stash: dict[str, Any] = {}
    unknown = {k: copy.deepcopy(v) for k, v in data.items() if k not in V2_DATA_FIELDS}
    if unknown:
        stash["data"] = unknown
    if derived:
        stash["derived"] = derived
    if render_mes_example(samples) != mes_example:
        stash["mes_example"] = mes_example
    if book_stash is not None:
        stash["book"] = book_stash
    extensions = copy.deepcopy(meta_ext)
    if stash:
        extensions[STASH_KEY] = stash

    try:
        meta = CardMeta(
            tags=list(dict.fromkeys(as_text_list(data.get("tags"), split_commas=True))),
            creator=as_text(data.get("creator")).strip(),
            character_version=as_text(data.get("character_version")).strip(),
            creator_notes=as_text(data.get("creator_notes")).strip(),
            source_spec=as_text(native.get("source_spec")) if "source_spec" in native else spec,
            extensions=extensions,
        )
    except ValidationError as exc:  # only for callers passing non-JSON objects (e.g. non-text keys)
        raise ContentError("the card's extensions are not plain JSON data") from exc
    base: dict[str, Any] = {
        "id": character_id or slugify(name),
        "name": name,
        "aliases": _default_aliases(data.get("nickname"), name),
        "description": description,
        "personality": personality,
        "scenario": scenario,
        "voice": {"style": derive_style(personality), "samples": samples},
        "talkativeness": talkativeness,
        "greetings": greetings,
        "system_prompt": _card_text(data.get("system_prompt")),
        "post_history_instructions": _card_text(data.get("post_history_instructions")),
        "lore": lore,
        "meta": meta,
    }
    if character_id is not None and not _SLUG.fullmatch(character_id):
        raise ContentError(f"{character_id!r} is not a valid character id (a-z, 0-9, - and _, at most 64)")
    with_native = _apply_native(base, native, keep_id=character_id is not None)
    if with_native is not base:
        try:
            return MappedCard(Character.model_validate(with_native), meta.source_spec, warnings)
        except ValidationError:
            warnings.append(tr("en", "card.warn.bad_native"))
            base["meta"] = meta.model_copy(update={"source_spec": spec})
    try:
        return MappedCard(Character.model_validate(base), spec, warnings)
    except ValidationError as exc:  # pragma: no cover - every field above is built valid
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ContentError(f"the card cannot be made into a character ({where}: {first['msg']})") from exc


def _native_samples(value: Any) -> list[SampleExchange] | None:
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        return None
    try:
        return [SampleExchange.model_validate(item) for item in value]
    except ValidationError:
        return None


def _apply_native(base: dict[str, Any], native: dict[str, Any], *, keep_id: bool) -> dict[str, Any]:
    """``base`` with the Ensemble-only fields an exported card carries; ``base`` itself when there are none."""
    if not native:
        return base
    out = dict(base)
    if not keep_id and isinstance(native.get("id"), str):
        out["id"] = native["id"]
    for key in ("aliases", "avatar_url", "start_location", "mood", "goals", "relationships"):
        if key in native:
            out[key] = copy.deepcopy(native[key])
    voice = native.get("voice")
    if isinstance(voice, dict):
        merged = dict(base["voice"])
        for key in ("style", "vocabulary", "quirks"):
            if key in voice:
                merged[key] = copy.deepcopy(voice[key])
        out["voice"] = merged
    return out


# ---------------------------------------------------------------- character -> card


def _stash(character: Character) -> dict[str, Any]:
    stash = character.meta.extensions.get(STASH_KEY)
    return stash if isinstance(stash, dict) else {}


def _export_texts(character: Character, derived: Any) -> tuple[str, str]:
    """(description, personality) to write: a field import derived is written empty if that re-derives it."""
    derived = [d for d in derived if d in ("description", "personality")] if isinstance(derived, list) else []
    scenario, greetings, name = character.scenario, list(character.greetings), character.name
    want = (character.description, character.personality)
    for blank in (set(derived), {"personality"} & set(derived), {"description"} & set(derived)):
        if not blank:
            continue
        desc = "" if "description" in blank else character.description
        pers = "" if "personality" in blank else character.personality
        got = _fill_texts(desc, pers, scenario, greetings, name)
        if (got[0], got[1]) == want:
            return desc, pers
    return want


def _export_examples(character: Character, stash: dict[str, Any]) -> tuple[str, bool]:
    """(mes_example, whether the samples must also travel in the Ensemble extension)."""
    samples = list(character.voice.samples)
    greetings = list(character.greetings)
    kept = stash.get("mes_example")
    if isinstance(kept, str) and samples_from_card(kept, character.name, greetings)[0] == samples:
        return kept, False
    rendered = render_mes_example(samples)
    return rendered, samples_from_card(rendered, character.name, greetings)[0] != samples


def _native_fields(character: Character, nickname: Any, samples_needed: bool) -> dict[str, Any]:
    native: dict[str, Any] = {}
    if character.id != slugify(character.name):
        native["id"] = character.id
    if character.meta.source_spec != SPEC_V2:
        native["source_spec"] = character.meta.source_spec
    if list(character.aliases) != _default_aliases(nickname, character.name):
        native["aliases"] = list(character.aliases)
    voice: dict[str, Any] = {}
    if character.voice.style != derive_style(character.personality):
        voice["style"] = character.voice.style
    if character.voice.vocabulary:
        voice["vocabulary"] = list(character.voice.vocabulary)
    if character.voice.quirks:
        voice["quirks"] = list(character.voice.quirks)
    if samples_needed:
        voice["samples"] = [s.model_dump() for s in character.voice.samples]
    if voice:
        native["voice"] = voice
    if character.avatar_url:
        native["avatar_url"] = character.avatar_url
    if character.start_location:
        native["start_location"] = character.start_location
    if character.mood != Mood():
        native["mood"] = character.mood.model_dump()
    if character.goals:
        native["goals"] = list(character.goals)
    if character.relationships:
        native["relationships"] = {k: v.model_dump() for k, v in character.relationships.items()}
    return native


def character_to_card(character: Character) -> dict[str, Any]:
    """A Character Card V2 object (with SillyTavern's V1 mirror at the top level) for this character."""
    stash = _stash(character)
    extra_data = stash.get("data") if isinstance(stash.get("data"), dict) else {}
    description, personality = _export_texts(character, stash.get("derived"))
    mes_example, samples_needed = _export_examples(character, stash)
    extensions = {
        k: copy.deepcopy(v) for k, v in character.meta.extensions.items() if k not in (STASH_KEY, NATIVE_KEY)
    }
    extensions["talkativeness"] = character.talkativeness
    native = _native_fields(character, extra_data.get("nickname"), samples_needed)
    if native:
        extensions[NATIVE_KEY] = native
    greetings = list(character.greetings)
    data: dict[str, Any] = {
        "name": character.name,
        "description": description,
        "personality": personality,
        "scenario": character.scenario,
        "first_mes": greetings[0] if greetings else "",
        "mes_example": mes_example,
        "creator_notes": character.meta.creator_notes,
        "system_prompt": character.system_prompt,
        "post_history_instructions": character.post_history_instructions,
        "alternate_greetings": greetings[1:],
        "tags": list(character.meta.tags),
        "creator": character.meta.creator,
        "character_version": character.meta.character_version,
        "extensions": extensions,
    }
    book = book_from_lore(list(character.lore), stash.get("book"))
    if book is not None:
        data["character_book"] = book
    for key, value in extra_data.items():
        if key not in data and key not in V2_DATA_FIELDS:
            data[key] = copy.deepcopy(value)
    card: dict[str, Any] = {key: data[key] for key in ("name", "description", "personality", "scenario",
                                                        "first_mes", "mes_example")}
    card.update(spec=SPEC_V2, spec_version="2.0", data=data)
    return card
