"""Character cards people already have: import and export Character Card V1/V2/V3 and World Info.

The layers, each usable on its own:

- ``bot.cards.png``: read and write PNG text chunks (``tEXt``, plus ``zTXt``/``iTXt`` when reading).
- ``bot.cards.parse``: bytes -> raw card dict (JSON, PNG or CHARX), with size, depth and string limits.
- ``bot.cards.mapping``: raw card dict <-> :class:`bot.content.models.Character` (pure functions).
- ``bot.cards.worldinfo``: SillyTavern World Info JSON (or a ``character_book``) -> lore entries.
- ``bot.cards.store``: write a character file and its avatar atomically, with a duplicate policy.
- ``bot.cards.api``: the two calls a front end needs (below); ``bot.cards.values``: total value readers.

The entry points a front end (CLI, Discord) needs are re-exported here: :func:`import_card` turns the
bytes of an uploaded file into a :class:`Character` plus avatar bytes, :func:`export_card` does the
reverse. Every failure caused by the input is a :class:`bot.errors.ContentError` whose ``user_message``
is one line that names the file and the problem.
"""

from __future__ import annotations

from bot.cards.api import ImportedCard, export_card, import_card
from bot.cards.mapping import card_to_character, character_to_card
from bot.cards.parse import RawCard, parse_card_bytes
from bot.cards.store import SavedCharacter, find_character, save_character
from bot.cards.worldinfo import WorldInfoImport, import_world_info, lore_from_world_info

__all__ = [
    "ImportedCard",
    "RawCard",
    "SavedCharacter",
    "WorldInfoImport",
    "card_to_character",
    "character_to_card",
    "export_card",
    "find_character",
    "import_card",
    "import_world_info",
    "lore_from_world_info",
    "parse_card_bytes",
    "save_character",
]
