"""Players' personas: who each player is in the story, per server, and how that reaches the scene.

A persona replaces the player's platform name in the story: the inbound line is stored under the
persona's name, so narration of moves, "X says", the history lines and who-is-where all use it, and
the characters address the player by it. Its description goes into the prompt of every character
that heard that player lately: one block listing those players (M2-her's ``user_system`` role; folded
into the system prompt for other models by ``bot.model.roles``). Parsing and validation are pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from urllib.parse import urlparse

from bot.engine.lines import InboundLine
from bot.engine.readcache import ReadCache
from bot.errors import EnsembleError
from bot.i18n import tr
from bot.store.personas import PersonaRow, PersonaStore

MAX_NAME = 64
MAX_DESCRIPTION = 1500
MAX_AVATAR_URL = 512
# Players whose persona (or lack of one) is kept in memory, per server; least recently seen go first.
CACHE_PLAYERS = 4096
# "Name | description" (the slash-command form of play) or "Name: description" (--persona); a full-width
# colon or bar works too, so a Chinese persona can be typed without switching keyboards. A bar wins over a
# colon, so a description may contain colons.
_BAR = re.compile(r"\s*[|｜]\s*")
_COLON = re.compile(r"\s*[:：]\s*")


class PersonaError(EnsembleError):
    """A persona that cannot be kept as given; the message says what to change. Nothing is stored."""


def parse_persona(text: str, lang: str) -> tuple[str, str]:
    """``"Name | description"`` or ``"Name: description"`` as (name, description); the first separator wins."""
    text = text.strip()
    found = _BAR.search(text) or _COLON.search(text)
    if not found or not text[: found.start()].strip() or not text[found.end() :].strip():
        raise PersonaError(tr(lang, "persona.usage"))
    return text[: found.start()].strip(), text[found.end() :].strip()


def validated(user_id: str, name: str, description: str, avatar_url: str | None, lang: str) -> PersonaRow:
    """A persona row, or a ``PersonaError`` naming the first problem (too long, a line break, a bad URL)."""
    name = " ".join(name.split())
    description = description.strip()
    if not name:
        raise PersonaError(tr(lang, "persona.no_name"))
    if len(name) > MAX_NAME:
        raise PersonaError(tr(lang, "persona.name_too_long", n=MAX_NAME))
    if not description:
        raise PersonaError(tr(lang, "persona.no_description"))
    if len(description) > MAX_DESCRIPTION:
        raise PersonaError(tr(lang, "persona.description_too_long", n=MAX_DESCRIPTION))
    url = (avatar_url or "").strip() or None
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > MAX_AVATAR_URL or any(c.isspace() for c in url):
            raise PersonaError(tr(lang, "persona.bad_avatar"))
    return PersonaRow(user_id, name, description, url)


def persona_block(personas: Sequence[PersonaRow]) -> tuple[str | None, str | None]:
    """(name, content) of the ``user_system`` message for the players a character hears.

    One player: their persona's name and description. Several: one block listing each (no name).
    """
    if not personas:
        return None, None
    if len(personas) == 1:
        return personas[0].name, personas[0].description
    lines = ["The players in this scene, as the story knows them (address each by this name):"]
    lines.extend(f"- {p.name}: {p.description}" for p in personas)
    return None, "\n".join(lines)


class Personas:
    """The engine's persona service: set, show and clear per server, and a line spoken as its persona."""

    def __init__(self, store: PersonaStore, *, cache_players: int = CACHE_PLAYERS) -> None:
        self.store = store
        # Read on every line and every prompt, written only through this service: kept in memory per
        # (server, player), so one server's persona never answers for another's player of the same id.
        self._known: ReadCache[tuple[str, str], PersonaRow | None] = ReadCache(cache_players)

    async def set(self, guild_id: str, user_id: str, name: str, description: str, avatar_url: str | None, lang: str) -> str:
        persona = validated(user_id, name, description, avatar_url, lang)
        with self._known.written((guild_id, user_id)):
            await self.store.put(guild_id, persona)
        return tr(lang, "persona.set", name=persona.name)

    async def set_text(self, guild_id: str, user_id: str, text: str, lang: str) -> str:
        """``/persona NAME | DESCRIPTION`` in ``play`` (or ``--persona "Name: description"``)."""
        name, description = parse_persona(text, lang)
        return await self.set(guild_id, user_id, name, description, None, lang)

    async def show(self, guild_id: str, user_id: str, lang: str) -> str:
        persona = await self.store.get(guild_id, user_id)
        if persona is None:
            return tr(lang, "persona.none")
        said = tr(lang, "persona.show", name=persona.name, description=persona.description)
        return said + ("\n" + tr(lang, "persona.avatar", url=persona.avatar_url) if persona.avatar_url else "")

    async def clear(self, guild_id: str, user_id: str, lang: str) -> str:
        with self._known.written((guild_id, user_id)):
            cleared = await self.store.clear(guild_id, user_id)
        return tr(lang, "persona.cleared" if cleared else "persona.none")

    async def get(self, guild_id: str, user_id: str) -> PersonaRow | None:
        key = (guild_id, user_id)
        found, persona = self._known.lookup(key)
        if found:
            return persona
        writes = self._known.writes
        persona = await self.store.get(guild_id, user_id)
        self._known.fill(key, persona, writes)
        return persona

    async def name_for(self, guild_id: str, user_id: str | None, fallback: str) -> str:
        """The player's name in the story: the persona's, else the platform name."""
        persona = await self.get(guild_id, user_id) if user_id else None
        return persona.name if persona else fallback

    async def as_persona(self, line: InboundLine) -> InboundLine:
        """The line as spoken by the player's persona (unchanged without one)."""
        name = await self.name_for(line.scene.guild_id, line.author_id, line.author_name)
        return line if name == line.author_name else replace(line, author_name=name)

    async def heard(self, guild_id: str, user_ids: Iterable[str]) -> list[PersonaRow]:
        """The personas of these players, in a stable order (by name) so the prompt prefix stays put."""
        known: dict[str, PersonaRow | None] = {}
        missing = []
        for user_id in set(user_ids):
            found, persona = self._known.lookup((guild_id, user_id))
            if found:
                known[user_id] = persona
            else:
                missing.append(user_id)
        if missing:
            writes = self._known.writes
            read = await self.store.many(guild_id, missing)
            for user_id in missing:
                known[user_id] = read.get(user_id)
                self._known.fill((guild_id, user_id), known[user_id], writes)
        personas = [p for p in known.values() if p is not None]
        return sorted(personas, key=lambda p: (p.name.casefold(), p.user_id))
