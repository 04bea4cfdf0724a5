"""SillyTavern World Info JSON (or a card's ``character_book``) -> Ensemble lore entries.

World Info entry (``entries`` is an object keyed by uid, or a list) -> LoreEntry:

- ``uid`` -> ``id`` as ``<prefix>-<uid>`` (the prefix is the book's name or the file name, so two books
  never collide and importing the same book again replaces its own entries);
- ``key`` -> ``keys``; ``keysecondary`` -> ``secondary_keys`` when ``selective`` (absent counts as
  selective when there are secondary keys); ``selectiveLogic`` 0-3 -> and_any / not_all / not_any / and_all;
- ``constant``, ``order``, ``content``; ``disable`` -> ``enabled`` (negated);
- ``probability`` (used only when ``useProbability`` is not false) -> ``probability``;
- ``caseSensitive`` -> ``case_sensitive`` (null -> false); ``matchWholeWords`` -> ``whole_word`` (null -> true).

Not carried (Ensemble has no field for them): ``comment``, ``position``, ``depth``, ``group``, recursion
controls, ``sticky``/``cooldown``/``delay``, ``vectorized``. Entries with no content, or with no key and
not constant, could never fire and are skipped (counted in the warnings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from bot.cards.mapping import LOGIC_CODES, lore_entry_from_book
from bot.cards.parse import MAX_FILE_BYTES, load_json
from bot.cards.values import as_bool, as_int, as_number, as_opt_bool, as_text, as_text_list, normalize_macros
from bot.content.models import LoreEntry, slugify
from bot.errors import ContentError


@dataclass(frozen=True, slots=True)
class WorldInfoImport:
    """Lore entries read from a World Info file, the book's name, and notes for the importer."""

    entries: list[LoreEntry]
    name: str
    warnings: list[str] = field(default_factory=list)


def _is_world_info_entry(raw: dict[str, Any]) -> bool:
    return any(key in raw for key in ("key", "keysecondary", "uid", "disable", "selectiveLogic", "order"))


def lore_entry_from_world_info(raw: Any, *, entry_id: str | None = None) -> LoreEntry | None:
    """One SillyTavern World Info entry as a LoreEntry, or None when it could never fire."""
    if not isinstance(raw, dict):
        return None
    content = normalize_macros(as_text(raw.get("content"))).strip()
    keys = as_text_list(raw.get("key"), split_commas=isinstance(raw.get("key"), str))
    constant = as_bool(raw.get("constant"), False)
    if not content or (not keys and not constant):
        return None
    secondary_raw = raw.get("keysecondary")
    secondary = as_text_list(secondary_raw, split_commas=isinstance(secondary_raw, str))
    if not as_bool(raw.get("selective"), True):
        secondary = []
    probability = 100
    chance = as_number(raw.get("probability"))
    if chance is not None and as_bool(raw.get("useProbability"), True):
        probability = max(0, min(100, round(chance)))
    case = as_opt_bool(raw.get("caseSensitive"))
    whole = as_opt_bool(raw.get("matchWholeWords"))
    return LoreEntry(
        id=entry_id,
        keys=keys,
        secondary_keys=secondary,
        selective_logic=LOGIC_CODES.get(as_int(raw.get("selectiveLogic"), 0), "and_any"),  # type: ignore[arg-type]
        constant=constant,
        content=content,
        order=as_int(raw.get("order"), 100),
        probability=probability,
        enabled=not as_bool(raw.get("disable"), False),
        case_sensitive=bool(case),
        whole_word=True if whole is None else whole,
    )


def _sort_key(item: tuple[int, Any, Any]) -> tuple[float, int]:
    position, uid, raw = item
    index = as_number(raw.get("displayIndex")) if isinstance(raw, dict) else None
    if index is None:
        index = as_number(uid)
    return (index if index is not None and math.isfinite(index) else float("inf"), position)


def lore_from_world_info(obj: Any, *, id_prefix: str = "") -> WorldInfoImport:
    """Lore entries from a parsed World Info object, a ``character_book``, or a whole card that has one."""
    if not isinstance(obj, dict):
        raise ContentError("the World Info file is not a JSON object")
    if "entries" not in obj:
        data = obj.get("data")
        book = data.get("character_book") if isinstance(data, dict) else obj.get("character_book")
        if isinstance(book, dict):
            obj = book
        else:
            raise ContentError("the file has no 'entries': it is not a World Info file or a lorebook")
    name = " ".join(as_text(obj.get("name")).split())
    raw_entries = obj.get("entries")
    if isinstance(raw_entries, dict):
        items = [(i, uid, raw) for i, (uid, raw) in enumerate(raw_entries.items())]
    elif isinstance(raw_entries, list):
        items = [(i, raw.get("uid", raw.get("id", i)) if isinstance(raw, dict) else i, raw)
                 for i, raw in enumerate(raw_entries)]
    else:
        raise ContentError("the World Info 'entries' field is neither an object nor a list")
    items.sort(key=_sort_key)
    entries: list[LoreEntry] = []
    skipped = 0
    seen: set[str] = set()
    for _, uid, raw in items:
        uid_text = as_text(raw.get("uid", uid) if isinstance(raw, dict) else uid).strip() or str(uid)
        entry_id = f"{id_prefix}-{uid_text}" if id_prefix else uid_text
        while entry_id in seen:
            entry_id += "'"
        if isinstance(raw, dict) and _is_world_info_entry(raw):
            entry = lore_entry_from_world_info(raw, entry_id=entry_id)
        else:
            entry = lore_entry_from_book(raw)
            if entry is not None:
                entry = entry.model_copy(update={"id": entry_id})
        if entry is None:
            skipped += 1
            continue
        seen.add(entry_id)
        entries.append(entry)
    warnings = []
    if skipped:
        warnings.append(
            f"{skipped} entr{'y' if skipped == 1 else 'ies'} with no content or no keys could never fire "
            "and were skipped"
        )
    if not entries:
        raise ContentError("the World Info file has no entry that could ever fire (each needs content and a key)")
    return WorldInfoImport(entries, name, warnings)


def import_world_info(data: bytes, filename: str = "", *, id_prefix: str | None = None) -> WorldInfoImport:
    """Lore entries from the bytes of a World Info JSON file.

    Entry ids are ``<prefix>-<uid>``; the prefix defaults to the slug of the book's name, else of the
    file name. Raises ContentError (message prefixed with ``filename``) for anything unreadable.
    """
    prefix_text = f"{filename}: " if filename else ""
    try:
        if len(data) > MAX_FILE_BYTES:
            raise ContentError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        obj = load_json(bytes(data), "the World Info file")
        if id_prefix is None:
            book_name = obj.get("name") if isinstance(obj, dict) else None
            stem = PurePath(filename).stem if filename else ""
            source = as_text(book_name).strip() or stem or "lore"
            id_prefix = slugify(source)
        return lore_from_world_info(obj, id_prefix=id_prefix)
    except ContentError as exc:
        raise ContentError(prefix_text + exc.user_message) from exc
