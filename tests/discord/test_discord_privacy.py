"""``/privacy`` on Discord: a player opts out of this server's preference exports (ephemeral answer, stored per server)."""

from __future__ import annotations

from discord_harness import Harness, content_of, is_ephemeral

from bot.store import preferences


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
