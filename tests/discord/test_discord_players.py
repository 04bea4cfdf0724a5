"""End to end on the fake Discord: personas, re-posts under them, proxied lines, control of the table,
/impersonate, edits and deletes of players' lines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from discord_harness import Harness, content_of, is_ephemeral
from fakes.discord_server import Perms

from bot.i18n import tr

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL

FOREIGN_HOOK = 777_000_000_000_000_001  # a proxy bot's webhook (PluralKit, Tupperbox)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 5.0) -> None:
    """Poll an async condition (the bot handles edits and deletes as raw gateway events)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await check():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def user_lines(harness: Harness) -> list:
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    return [m for m in await harness.app.store.transcript(scene.id) if m.kind == "user"]


def npc_calls(harness: Harness) -> list[list[dict]]:
    return [r.messages for r in harness.model.requests if r.messages and str(r.messages[0].get("content", "")).startswith("You are ")]


async def test_persona_commands_are_ephemeral_localized_and_name_the_player(harness: Harness) -> None:
    await harness.start()
    synced = {c["name"]: c for c in harness.server.calls_to("PUT", "/applications/{app}/commands")[0].json}
    assert synced["persona"]["name_localizations"] == {"zh-CN": "人设"}
    assert {o["name"]: o["name_localizations"] for o in synced["persona"]["options"]} == {
        "set": {"zh-CN": "设定"}, "show": {"zh-CN": "查看"}, "clear": {"zh-CN": "清除"}, "repost": {"zh-CN": "转发"},
    }
    for name in ("nudge", "hush", "unhush", "mode", "impersonate"):
        assert synced[name]["name_localizations"] == {"zh-CN": tr("zh", f"cmd.{name}")}, name
    await harness.setup_scene()
    await harness.summon("ada")
    bad = await harness.slash("persona set", {"name": "Reyes", "description": "A captain.", "avatar": "not a url"}, user="bob")
    assert is_ephemeral(bad) and "http or https" in content_of(bad)
    done = await harness.slash(
        "persona set", {"name": "Captain Reyes", "description": "A scarred ex-navy captain.", "avatar": "https://example.org/r.png"},
        user="bob",
    )
    assert is_ephemeral(done) and content_of(done) == tr("en", "persona.set", name="Captain Reyes")
    shown = await harness.slash("persona show", user="bob")
    assert "A scarred ex-navy captain." in content_of(shown) and "https://example.org/r.png" in content_of(shown)
    harness.model.enqueue("Evening, Captain Reyes.")
    await harness.say("Ada, evening.")
    await harness.npc_line()
    assert [m.speaker for m in await user_lines(harness)] == ["Captain Reyes"]
    folded = npc_calls(harness)[-1][0]["content"]
    assert "The user (Captain Reyes):\nA scarred ex-navy captain." in folded and "bob" not in str(npc_calls(harness)[-1])
    cleared = await harness.slash("persona clear", user="bob")
    assert content_of(cleared) == tr("en", "persona.cleared")


async def test_mode_hush_and_nudge_on_discord(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.summon("bram")
    mode = await harness.slash("mode", {"mode": "manual"}, user="bob")
    assert is_ephemeral(mode) and "manual" in content_of(mode)
    await harness.say("Ada, are you there?")
    await harness.idle()
    assert not harness.replies()
    harness.model.enqueue("*Ada looks up.* I am.")
    nudged = await harness.slash("nudge", {"character": "ada"}, user="bob")
    assert is_ephemeral(nudged)
    line = await harness.npc_line()
    assert line["author"]["username"] == "Ada" and line["content"] == "*Ada looks up.* I am."
    await harness.slash("mode", {"mode": "lively"}, user="bob")
    hushed = await harness.slash("hush", {"character": "ada"}, user="bob")
    assert content_of(hushed) == tr("en", "table.hushed", name="Ada")
    harness.model.enqueue("The cook grunts.")
    await harness.say("Ada, say something.")
    answer = await harness.npc_line(after=int(line["id"]))
    assert answer["author"]["username"] == "Bram"
    refused = await harness.slash("nudge", {"character": "ada"}, user="bob")
    assert content_of(refused) == tr("en", "table.nudge_hushed", name="Ada")
    assert content_of(await harness.slash("unhush", {"character": "ada"}, user="bob")) == tr("en", "table.unhushed", name="Ada")


async def test_impersonate_is_shown_only_to_the_player_and_never_stored(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.slash("persona set", {"name": "Reyes", "description": "A curt captain."}, user="bob")
    before = len(harness.server.messages_in(harness.layout.roleplay_id))
    harness.model.enqueue("I tap the map. 'We sail at dawn.'")
    suggested = await harness.slash("impersonate", user="bob")
    assert is_ephemeral(suggested)
    assert content_of(suggested) == tr("en", "impersonate.suggestion", name="Reyes", text="I tap the map. 'We sail at dawn.'")
    assert len(harness.server.messages_in(harness.layout.roleplay_id)) == before
    assert not await user_lines(harness)


async def test_an_edit_before_the_answer_is_used_and_one_after_gets_a_notice(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.slash("pause", user="bob")
    sent = await harness.say("I hide the key under the mat.")
    await harness.idle()
    await harness.server.edit_message(int(sent["id"]), "I hide the key in the well.")

    async def edited() -> bool:
        lines = await user_lines(harness)
        return bool(lines) and lines[-1].text == "I hide the key in the well."

    await eventually(edited, "the edit to reach the story")
    await harness.slash("resume", user="bob")
    harness.model.enqueue("The well. Clever.")
    answered = await harness.say("Ada, remember where?")
    await harness.npc_line()
    assert "I hide the key in the well." in str(npc_calls(harness)[-1]) and "mat" not in str(npc_calls(harness)[-1])
    await harness.server.edit_message(int(answered["id"]), "Ada, forget it.")
    notice = await harness.server.wait_for_message(
        harness.layout.roleplay_id, lambda m: m["_source"] == "bot" and m["content"] == tr("en", "lines.answered")
    )
    assert notice
    assert (await user_lines(harness))[-1].text == "Ada, remember where?"


async def test_a_deleted_line_leaves_the_story_and_the_memory(harness: Harness) -> None:
    await harness.start()
    harness.bot.proxy_grace = 0.05  # type: ignore[union-attr]
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("Your secret is safe.")
    sent = await harness.say("Ada, my secret: I stole the silver.")
    await harness.npc_line()
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    assert any("silver" in f[2] for f in await harness.app.store.known_facts(scene.id, "ada"))
    await harness.server.delete_message(int(sent["id"]))

    async def gone() -> bool:
        return not await user_lines(harness)

    await eventually(gone, "the line to leave the story")
    assert not any("silver" in f[2] for f in await harness.app.store.known_facts(scene.id, "ada"))


async def test_lines_are_reposted_under_the_persona_when_an_admin_allows_it(harness: Harness) -> None:
    """Off by default; on, the line is re-posted through the channel webhook with the persona's name and
    avatar and the original deleted; the story has the line once and a character answers it once."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.slash("persona set", {"name": "Reyes", "description": "A captain.", "avatar": "https://example.org/r.png"}, user="bob")
    refused = await harness.slash("persona repost", {"enabled": True}, user="bob")
    assert "Manage Server" in content_of(refused)
    harness.model.enqueue("Hello.")
    kept = await harness.say("Ada, hello.")
    await harness.npc_line()
    assert int(kept["id"]) in harness.server.messages  # off by default: nothing re-posted

    on = await harness.slash("persona repost", {"enabled": True})
    assert content_of(on) == tr("en", "persona.repost_on") and is_ephemeral(on)
    harness.model.enqueue("*Ada nods at Reyes.*")
    sent = await harness.say("Ada, the tide turns.")
    reply = await harness.npc_line(after=int(sent["id"]))
    assert int(sent["id"]) not in harness.server.messages
    repost = next(m for m in harness.replies() if m["content"] == "Ada, the tide turns.")
    assert repost["author"]["username"] == "Reyes" and repost["_avatar_url"] == "https://example.org/r.png"
    assert int(repost["id"]) < int(reply["id"])
    await asyncio.sleep(0.1)
    lines = await user_lines(harness)
    assert [m.text for m in lines] == ["Ada, hello.", "Ada, the tide turns."]
    assert len([m for m in harness.replies() if m["author"]["username"] == "Ada"]) == 2


async def test_without_manage_messages_the_original_stays_and_the_channel_is_told_once(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.slash("persona set", {"name": "Reyes", "description": "A captain."}, user="bob")
    await harness.slash("persona repost", {"enabled": True})
    await harness.server.set_role_permissions(harness.layout.bot_role_id, Perms.BOT & ~Perms.MANAGE_MESSAGES)
    harness.model.enqueue("One.", "Two.")
    first = await harness.say("Ada, one.")
    await harness.npc_line()
    second = await harness.say("Ada, two.")
    await harness.npc_line(after=int(second["id"]))
    assert int(first["id"]) in harness.server.messages and int(second["id"]) in harness.server.messages
    told = [m for m in harness.server.bot_messages(harness.layout.roleplay_id) if m["content"] == tr("en", "persona.repost_no_permission")]
    assert len(told) == 1
    assert not [m for m in harness.replies() if m["author"]["username"] == "Reyes"]


async def test_a_proxy_bots_copy_counts_as_the_players_line_once(harness: Harness) -> None:
    """PluralKit-style: the player writes "[Ada, hello]", the proxy re-posts "Ada, hello" through its own
    webhook and deletes the original. The line stays in the story once, answered once; an unrelated webhook
    message is still ignored; a delete of the proxied copy removes the line."""
    await harness.start()
    harness.bot.proxy_grace = 0.2  # type: ignore[union-attr]
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("Hello to you.")
    original = await harness.say("[Ada, hello]")
    await harness.npc_line()
    copy = await harness.server.send_message(harness.layout.roleplay_id, author="Reyes", content="Ada, hello", webhook_id=FOREIGN_HOOK)
    await harness.server.delete_message(int(original["id"]))
    await harness.server.send_message(harness.layout.roleplay_id, author="Hook", content="Weather: fog.", webhook_id=FOREIGN_HOOK)
    await asyncio.sleep(0.4)  # longer than the grace: the deletion was the proxy's, so the line stays
    await harness.idle()
    assert [m.text for m in await user_lines(harness)] == ["[Ada, hello]"]
    assert len([r for r in harness.replies() if r["author"]["username"] == "Ada"]) == 1
    assert len(npc_calls(harness)) == 1

    await harness.server.delete_message(int(copy["id"]))

    async def gone() -> bool:
        return not await user_lines(harness)

    await eventually(gone, "the proxied line to leave the story")


async def test_proxy_rule_is_pure_and_bounded_in_time() -> None:
    from bot.discord_adapter.proxies import ProxyMatcher

    matcher = ProxyMatcher(window=5.0)
    matcher.note_line(1, 10, 99, "[Ada, hello there]", at=100.0)
    assert matcher.match(2, 20, "Ada, hello there", at=101.0) is None  # another channel
    assert matcher.match(1, 21, "hello", at=101.0) is None  # too small a part of the line
    assert matcher.match(1, 22, "Ada, hello there", at=106.0) is None  # too late
    assert matcher.match(1, 23, "ada,  HELLO there", at=104.0) == 10
    assert matcher.original_of(23) == 10 and matcher.replaced(10)
    assert matcher.match(1, 24, "Ada, hello there", at=104.5) is None  # replaced once only


async def test_a_line_edited_or_deleted_while_it_waits_its_turn(harness: Harness) -> None:
    """While the first turn waits for the model, the next lines wait in the channel's queue: one is edited
    (the edit is what enters the story), one is deleted (it never enters it)."""
    from bot.testing.openai_server import Reply

    await harness.start()
    harness.bot.proxy_grace = 0.2  # type: ignore[union-attr]
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue(Reply("Slowly, then.", delay=0.8), "The well, yes.", "Aye, the boat.")
    first = await harness.say("Ada, a moment.")
    waiting = await harness.say("Ada, the key is under the mat.")
    dropped = await harness.say("Ada, ignore this one.")
    proxied = await harness.say("[Ada, whose boat is that?]")
    await harness.server.edit_message(int(waiting["id"]), "Ada, the key is in the well.")
    await harness.server.delete_message(int(dropped["id"]))
    # A proxy bot deletes the player's message and re-posts it without its tags while it waits.
    await harness.server.delete_message(int(proxied["id"]))
    await harness.server.send_message(
        harness.layout.roleplay_id, author="Reyes", content="Ada, whose boat is that?", webhook_id=FOREIGN_HOOK
    )
    await harness.npc_line(after=int(first["id"]))
    await harness.idle()
    texts = [m.text for m in await user_lines(harness)]
    assert texts == ["Ada, a moment.", "Ada, the key is in the well.", "Ada, whose boat is that?"]
    calls = [str(c) for c in npc_calls(harness)]
    assert "Ada, the key is in the well." in calls[1] and "mat" not in calls[1] and "ignore this one" not in calls[-1]
    assert len(calls) == 3  # each line answered once, the proxy's copy not a line of its own


async def test_without_a_persona_the_player_is_their_server_display_name(harness: Harness) -> None:
    """No persona: the story calls the player by their display name on the server (the nickname, else the
    global name), never the account's username."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    gid = harness.layout.guild_id
    bob = next(uid for uid, u in harness.server.users.items() if u["username"] == "bob")
    harness.model.enqueue("Evening.", "Evening, Captain.")
    await harness.say("Ada, evening.")
    await harness.npc_line()
    harness.server.guilds[gid]["members"][bob]["nick"] = "Captain Bob"
    await harness.say("Ada, it is me again.")
    await harness.npc_line()
    assert [m.speaker for m in await user_lines(harness)] == ["Bob", "Captain Bob"]
    assert "'bob'" not in str(npc_calls(harness)[-1]) and "Captain Bob" in str(npc_calls(harness)[-1])
