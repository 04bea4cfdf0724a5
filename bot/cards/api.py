"""The two calls a front end needs: uploaded bytes -> Character (+ avatar), Character -> card bytes."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

from bot.cards import png
from bot.cards.mapping import card_to_character, character_to_card
from bot.cards.parse import parse_card_bytes
from bot.content.models import Character
from bot.errors import ContentError

PLACEHOLDER_SIZE = (400, 600)
"""The size of the plain image an exported PNG card gets when the character has no avatar file."""


@dataclass(frozen=True, slots=True)
class ImportedCard:
    """The result of reading a card file: the character, its avatar image, and notes for the importer."""

    character: Character
    avatar: bytes | None
    """A PNG image (the card's own picture without the card data in it), or None for JSON cards."""
    source_spec: str
    """``chara_card_v1``, ``chara_card_v2`` or ``chara_card_v3``."""
    container: str
    """``json``, ``png`` or ``charx``."""
    warnings: list[str] = field(default_factory=list)


def import_card(data: bytes, filename: str = "", *, character_id: str | None = None) -> ImportedCard:
    """Read a character card (JSON, PNG or CHARX; V1, V2 or V3) from the bytes of an uploaded file.

    Nothing is written anywhere. ``filename`` is used only in messages. Any problem with the input
    raises :class:`ContentError` with a one-line ``user_message`` that starts with the file name.
    """
    raw = parse_card_bytes(data, filename)
    try:
        mapped = card_to_character(raw.card, character_id=character_id)
    except ContentError as exc:
        prefix = f"{filename}: " if filename else ""
        raise ContentError(prefix + exc.user_message) from exc
    return ImportedCard(
        character=mapped.character,
        avatar=raw.avatar,
        source_spec=mapped.spec,
        container=raw.container,
        warnings=[*raw.warnings, *mapped.warnings],
    )


def plain_card_image(seed: str) -> bytes:
    """A plain 400x600 PNG in a muted colour chosen from ``seed`` (stable per character)."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    rgb = (64 + digest[0] % 128, 64 + digest[1] % 128, 64 + digest[2] % 128)
    return png.solid_png(*PLACEHOLDER_SIZE, rgb)


def card_json(character: Character) -> str:
    """The V2 card of a character as pretty-printed JSON text."""
    return json.dumps(character_to_card(character), ensure_ascii=False, indent=2) + "\n"


def export_card(
    character: Character, fmt: Literal["json", "png"] = "json", *, avatar: bytes | None = None
) -> bytes:
    """A Character Card V2 file SillyTavern can read: JSON text, or a PNG with a ``chara`` tEXt chunk.

    For PNG, ``avatar`` is the image to carry the card (any card chunks in it are replaced); without
    one a plain one-colour image is used. Raises ContentError if ``avatar`` is not a valid PNG.
    """
    if fmt == "json":
        return card_json(character).encode("utf-8")
    if fmt != "png":
        raise ContentError(f"unknown card format {fmt!r} (json or png)")
    compact = json.dumps(character_to_card(character), ensure_ascii=False, separators=(",", ":"))
    payload = base64.b64encode(compact.encode("utf-8")).decode("ascii")
    image = avatar if avatar is not None else plain_card_image(character.id)
    return png.write_text_chunks(image, [("chara", payload)])
