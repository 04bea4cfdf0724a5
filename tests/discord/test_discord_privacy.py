"""``/privacy`` on Discord: a player opts out of this server's preference exports (ephemeral answer, stored per server)."""

from __future__ import annotations

import pytest
from discord_harness import Harness, content_of, is_ephemeral

from bot.store import preferences

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL


async def test_privacy_opt_out_and_back_in(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    guild = str(harness.layout.guild_id)
    bob = next(uid for uid, u in harness.server.users.items() if u["username"] == "bob")
    status = await harness.slash("privacy", user="bob")
    assert is_ephemeral(status) and "may go into this server's preference exports" in content_of(status)
    out = await harness.slash("privacy", {"share": False}, user="bob")
    assert "left out of this server's preference exports" in content_of(out) and is_ephemeral(out)
    assert await preferences.opted_out(harness.app.store, guild) == frozenset({str(bob)})
    assert await preferences.opted_out(harness.app.store, "another-guild") == frozenset()
    back = await harness.slash("privacy", {"share": True}, user="bob")
    assert "may go into" in content_of(back)
    assert await preferences.opted_out(harness.app.store, guild) == frozenset()


async def test_pacing_is_for_admins_and_pins(harness: Harness) -> None:
    """``/pacing`` shows the inferred pace to admins; ``pin`` fixes it; members are refused."""
    from bot.discord_adapter.errors import ADMIN_REFUSAL

    await harness.start()
    await harness.setup_scene()
    refused = await harness.slash("pacing", user="bob")
    assert content_of(refused) == ADMIN_REFUSAL
    shown = await harness.slash("pacing", user="alice")
    assert is_ephemeral(shown) and content_of(shown).startswith("Pacing: steady") and "too early to tell" in content_of(shown)
    pinned = await harness.slash("pacing", {"pin": "fast"}, user="alice")
    assert "Pacing: fast (pinned by an admin)." in content_of(pinned)
