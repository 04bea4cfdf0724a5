"""End to end: webhooks deleted or refused, restarts, gateway reconnects, and chains posted as they happen."""

from __future__ import annotations

import random

from discord_harness import Harness, custom_ids, executes, labels
from fakes.discord_server import Perms

from bot.discord_adapter.webhooks import ADMIN_NOTICES, WEBHOOK_NAME
from bot.testing.openai_server import Reply


async def test_deleted_webhook_is_recreated_and_the_line_resent(harness: Harness) -> None:
    """Someone deletes the webhook: the next send gets 10015, a new webhook is made and the line goes out once."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    harness.model.enqueue("Before.", "After.")
    await harness.say("Ada, one.")
    first = await harness.npc_line()
    old_hook = int(first["webhook_id"])
    await server.delete_webhook(old_hook)
    await harness.say("Ada, two.")
    second = await harness.npc_line(after=int(first["id"]))
    assert second["content"] == "After." and second["author"]["username"] == "Ada"
    hooks = server.webhooks_in(harness.layout.roleplay_id)
    assert len(hooks) == 1 and int(hooks[0]["id"]) != old_hook and second["webhook_id"] == hooks[0]["id"]
    statuses = [c.status for c in executes(server)]
    assert statuses == [200, 404, 200]
    assert [m["content"] for m in harness.replies()] == ["Before.", "After."]
    stored = await harness.bot.posts.webhook_id(harness.layout.guild_id, harness.layout.roleplay_id)
    assert stored == int(hooks[0]["id"])


async def test_missing_manage_webhooks_falls_back_and_tells_admins_once(harness: Harness) -> None:
    """Without Manage Webhooks: lines come from the bot with the name in bold; one notice, even after a restart."""
    server = harness.server
    await server.set_role_permissions(harness.layout.bot_role_id, Perms.BOT & ~Perms.MANAGE_WEBHOOKS)
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("No face today.", "Still no face.", "Third time.")
    await harness.say("Ada, hello.")
    line = await harness.npc_line()
    assert line["_source"] == "bot" and line["content"] == "**Ada**: No face today."
    assert labels(line) == ["◀", "1/1", "▶", "↻"]
    await harness.say("Ada, again.")
    second = await harness.npc_line(after=int(line["id"]))
    notices = [m for m in server.bot_messages(harness.layout.roleplay_id) if "Manage Webhooks" in m["content"]]
    assert len(notices) == 1 and notices[0]["content"] == ADMIN_NOTICES["missing_permissions"]
    assert not server.webhooks_in(harness.layout.roleplay_id)
    assert not server.calls_to("POST", "/channels/{c}/webhooks")  # the cached permissions said no: no failed call

    # Swipes still work on the bot's own message (edited through the channel route).
    harness.model.enqueue("Another take.")
    await harness.say("Ada, once more.")
    third = await harness.npc_line(after=int(second["id"]))
    assert third["content"] == "**Ada**: Third time."
    regen = next(c for c in custom_ids(third) if ":regen:" in c)
    await server.click_button(int(third["id"]), regen, user="bob")
    await server.wait_until(lambda: server.messages[int(third["id"])]["content"] == "**Ada**: Another take.")

    await harness.restart()
    harness.model.enqueue("After the restart.")
    await harness.say("Ada, still there?")
    await harness.npc_line(after=int(third["id"]))
    notices = [m for m in server.bot_messages(harness.layout.roleplay_id) if "Manage Webhooks" in m["content"]]
    assert len(notices) == 1


async def test_webhook_refused_by_discord_falls_back(harness: Harness) -> None:
    """A 50013 from Discord itself (permissions the cache did not know about) is handled like missing permissions."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.server.fail_next("GET", "/channels/{c}/webhooks", 403, 50013, "Missing Permissions")
    harness.model.enqueue("Plain voice.")
    await harness.say("Ada?")
    line = await harness.npc_line()
    assert line["_source"] == "bot" and line["content"].startswith("**Ada**:")
    assert any(m["content"] == ADMIN_NOTICES["missing_permissions"] for m in harness.server.bot_messages(harness.layout.roleplay_id))


async def test_too_many_webhooks_falls_back(harness: Harness) -> None:
    """A channel full of other webhooks (30007): the bot speaks for the characters and says how to fix it."""
    server = harness.server
    for n in range(15):
        server.add_webhook(harness.layout.roleplay_id, f"other-{n}", application_owned=False)
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("Crowded in here.")
    await harness.say("Ada, hi.")
    line = await harness.npc_line()
    assert line["_source"] == "bot" and line["content"] == "**Ada**: Crowded in here."
    assert [c.status for c in server.calls_to("POST", "/channels/{c}/webhooks")] == [400]
    notices = [m for m in server.bot_messages(harness.layout.roleplay_id) if m["content"] == ADMIN_NOTICES["too_many_webhooks"]]
    assert len(notices) == 1


async def test_restart_reuses_the_webhook_and_old_buttons_still_work(harness: Harness) -> None:
    """After a restart the stored webhook is found again (no new one) and swipe buttons posted before still work."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    harness.model.enqueue("Before the restart.", "A second take.")
    await harness.say("Ada, hello.")
    line = await harness.npc_line()
    await harness.restart()
    regen = next(c for c in custom_ids(line) if ":regen:" in c)
    await server.click_button(int(line["id"]), regen, user="bob")
    await server.wait_until(lambda: server.messages[int(line["id"])]["content"] == "A second take.")
    assert labels(server.messages[int(line["id"])])[1] == "2/2"
    assert len(server.calls_to("POST", "/channels/{c}/webhooks")) == 1
    assert len(server.calls_to("GET", "/channels/{c}/webhooks")) == 2  # once per process
    assert [h["name"] for h in server.webhooks_in(harness.layout.roleplay_id)] == [WEBHOOK_NAME]


async def test_gateway_reconnect_mid_scene_loses_nothing(harness: Harness) -> None:
    """The gateway drops during a turn and a line arrives while it is down: everything is answered once, in order."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    harness.model.enqueue(Reply("Slow answer.", delay=0.3), "Answer while away.", "Answer after.")
    await server.send_message(harness.layout.roleplay_id, author="bob", content="Ada, first.")
    await server.wait_until(lambda: len(harness.model.requests) == 1)
    async with server.disconnected():
        await server.send_message(harness.layout.roleplay_id, author="bob", content="Ada, while you were away.")
    await server.wait_until(lambda: server.resumed_count >= 1, what="a RESUME")
    await server.wait_until(lambda: len(harness.replies()) == 2, what="two answers")
    await harness.say("Ada, after.")
    await server.wait_until(lambda: len(harness.replies()) == 3, what="three answers")
    await harness.idle()
    assert [m["content"] for m in harness.replies()] == ["Slow answer.", "Answer while away.", "Answer after."]
    assert len(server.identifies) == 1 and server.replayed
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    users = [r.text for r in await harness.app.store.transcript(scene.id) if r.kind == "user"]
    assert users == ["Ada, first.", "Ada, while you were away.", "Ada, after."]
    assert len(harness.model.requests) == 3


class ZeroRandom(random.Random):
    """Every chance happens: chains always continue (up to their cap)."""

    def random(self) -> float:
        return 0.0


async def test_chain_reactions_are_posted_as_they_happen(harness: Harness) -> None:
    """With chains on, the answer is posted before the reaction is generated, each with its own buttons."""
    world = harness.app.library.worlds["manor"]
    harness.app.library.worlds["manor"] = world.model_copy(
        update={"settings": world.settings.model_copy(update={"chain_cap": 1, "chain_decay": 1.0})}
    )
    harness.app.engine.rng = ZeroRandom()
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.summon("bram")
    harness.model.enqueue("Ada answers.", Reply("Bram reacts.", delay=0.3))
    await harness.say("Ada, what now?")
    first = await harness.npc_line(settle=False)
    assert first["content"] == "Ada answers." and len(harness.replies()) == 1  # Bram is still thinking
    second = await harness.npc_line(after=int(first["id"]))
    assert second["content"] == "Bram reacts." and second["author"]["username"] == "Bram"
    assert custom_ids(first) != custom_ids(second)


async def test_a_new_line_interrupts_a_running_chain(harness: Harness) -> None:
    """A line sent while NPCs react to each other stops the chain after the current reaction, then is answered."""
    world = harness.app.library.worlds["manor"]
    harness.app.library.worlds["manor"] = world.model_copy(
        update={"settings": world.settings.model_copy(update={"chain_cap": 2, "chain_decay": 1.0})}
    )
    harness.app.engine.rng = ZeroRandom()
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.summon("bram")
    harness.model.enqueue("Ada answers.", Reply("Bram reacts.", delay=0.3), "Answer to the new line.")
    await harness.say("Ada, what now?")
    await harness.server.wait_until(lambda: len(harness.model.requests) == 2, what="the reaction to start")
    await harness.say("Ada, wait.")
    await harness.idle()
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    texts = [r.text for r in await harness.app.store.transcript(scene.id) if r.kind in ("user", "npc")]
    assert texts[:5] == ["Ada, what now?", "Ada answers.", "Bram reacts.", "Ada, wait.", "Answer to the new line."]
    posted = [m["content"] for m in harness.replies()]
    assert posted[:3] == ["Ada answers.", "Bram reacts.", "Answer to the new line."]
