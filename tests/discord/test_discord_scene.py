"""End to end: login and sync, admin commands, a scene through webhooks, swipes, intake rules."""

from __future__ import annotations

import json

import pytest
from discord_harness import Harness, content_of, custom_ids, executes, is_ephemeral, labels

from bot.discord_adapter.errors import ADMIN_REFUSAL
from bot.testing.openai_server import Fault, Reply

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL

COMMAND_NAMES = {
    "summon", "dismiss", "cast", "look", "go", "map", "regenerate", "ooc", "pause", "resume", "privacy", "pacing", "why", "memory", "rewind",
    "tick", "export", "limits", "world", "character", "scene", "persona", "nudge", "hush", "unhush", "mode", "impersonate",
}


async def test_login_syncs_commands_globally(harness: Harness) -> None:
    """On start the bot logs in, identifies with the message content intent, and syncs its commands."""
    bot = await harness.start()
    server = harness.server
    assert bot.is_ready()
    assert server.identifies[0]["intents"] & (1 << 15)
    put = server.calls_to("PUT", "/applications/{app}/commands")
    assert len(put) == 1 and {c["name"] for c in put[0].json} == COMMAND_NAMES
    world = next(c for c in put[0].json if c["name"] == "world")
    assert {o["name"] for o in world["options"]} == {"setup", "info", "reset"}
    assert int(world["default_member_permissions"]) == 1 << 5
    assert {c.name for c in bot.synced} == COMMAND_NAMES


async def test_dev_guild_sync(harness: Harness) -> None:
    """With DISCORD_DEV_GUILD the commands go to that guild only (instant updates while developing)."""
    await harness.start(dev_guild_id=harness.layout.guild_id)
    server = harness.server
    assert not server.calls_to("PUT", "/applications/{app}/commands")
    assert {c["name"] for c in server.synced_commands(harness.layout.guild_id)} == COMMAND_NAMES


async def test_world_setup_is_admin_only(harness: Harness) -> None:
    """A member without Manage Server is refused ephemerally; an admin binds the server to a world."""
    await harness.start()
    refused = await harness.slash("world setup", {"world": "manor"}, user="bob")
    assert content_of(refused) == ADMIN_REFUSAL and is_ephemeral(refused)
    assert await harness.app.store.server_world(str(harness.layout.guild_id)) is None
    refused = await harness.slash("scene channel", {"enabled": True}, user="bob")
    assert content_of(refused) == ADMIN_REFUSAL

    done = await harness.slash("world setup", {"world": "manor"}, user="alice")
    assert "The Manor" in content_of(done) and is_ephemeral(done)
    assert await harness.app.store.server_world(str(harness.layout.guild_id)) == "manor"
    info = await harness.slash("world info")
    assert "Ada" in content_of(info) and "Great Hall" in content_of(info)


async def test_summon_then_named_line_speaks_through_webhook(harness: Harness) -> None:
    """/summon, then a line naming the character: a webhook message with its name and swipe buttons."""
    await harness.start()
    await harness.setup_scene()
    summoned = await harness.summon("ada")
    assert "Ada" in content_of(summoned) and not is_ephemeral(summoned)
    harness.model.enqueue("*smiles* Welcome to the hall, Bob.")
    await harness.say("Hello Ada, is the hall always this cold?")
    line = await harness.npc_line()
    assert line["_source"] == "webhook" and line["author"]["username"] == "Ada"
    assert line["content"] == "*smiles* Welcome to the hall, Bob."
    assert labels(line) == ["◀", "1/1", "▶", "↻"]
    hook = harness.server.webhooks_in(harness.layout.roleplay_id)
    assert len(hook) == 1 and line["webhook_id"] == hook[0]["id"]
    execute = executes(harness.server)[0]
    assert execute.query["wait"] in ("1", "true") and execute.json["allowed_mentions"] == {"parse": []}
    assert harness.layout.roleplay_id in harness.server.typing
    # The engine knows the line by its Discord id.
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    rows = await harness.app.store.transcript(scene.id)
    assert rows[-1].kind == "npc" and rows[-1].platform_message_id == line["id"]


async def test_swipe_buttons_edit_the_line_in_place(harness: Harness) -> None:
    """Regenerate adds an alternative, previous/next browse; edits go through the webhook; the shown one is kept."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("First answer.", "Second answer.", "Next turn answer.")
    await harness.say("Ada?")
    line = await harness.npc_line()
    mid = int(line["id"])
    regen, prev, nxt = (next(c for c in custom_ids(line) if f":{a}:" in c) for a in ("regen", "prev", "next"))

    click = await harness.server.click_button(mid, regen, user="alice")
    await harness.server.wait_until(lambda: harness.server.messages[mid]["content"] == "Second answer.")
    assert click.callback_types == [6]
    assert labels(harness.server.messages[mid]) == ["◀", "2/2", "▶", "↻"]

    await harness.server.click_button(mid, prev, user="bob")
    await harness.server.wait_until(lambda: harness.server.messages[mid]["content"] == "First answer.")
    assert labels(harness.server.messages[mid])[1] == "1/2"
    await harness.server.click_button(mid, nxt, user="bob")
    await harness.server.wait_until(lambda: harness.server.messages[mid]["content"] == "Second answer.")
    await harness.server.click_button(mid, prev, user="bob")
    await harness.server.wait_until(lambda: harness.server.messages[mid]["content"] == "First answer.")

    edits = harness.server.calls_to("PATCH", "/webhooks/{id}/{token}/messages/{m}")
    assert len(edits) == 4 and all(e.query.get("with_components") in ("1", "true") for e in edits)
    assert not harness.server.calls_to("PATCH", "/channels/{c}/messages/{m}")

    # The story moves on: the alternative on screen ("First answer.", index 0) becomes the kept one.
    await harness.say("And then?")
    await harness.npc_line(after=mid)
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    row = await harness.app.store.message_by_platform_id(scene.id, str(mid))
    swipes = await harness.app.store.swipes(row.id)
    assert [(s.text, s.kept) for s in swipes] == [("First answer.", True), ("Second answer.", False)]
    assert row.text == "First answer." and row.settled

    late = await harness.server.click_button(mid, nxt, user="bob")
    await late.wait_followups(1)
    assert "moved on" in late.followups[0]["content"] and late.followups[0]["flags"] & 64
    assert harness.server.messages[mid]["content"] == "First answer."


async def test_regenerate_command_edits_the_latest_line(harness: Harness) -> None:
    """/regenerate swaps the latest line's text in place and says which alternative is on screen."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("One.", "Two.")
    await harness.say("Ada, hello.")
    line = await harness.npc_line()
    handle = await harness.slash("regenerate", user="bob")
    assert is_ephemeral(handle) and "2/2" in content_of(handle)
    assert harness.server.messages[int(line["id"])]["content"] == "Two."


async def test_two_lines_during_one_generation_are_answered_in_order(harness: Harness) -> None:
    """A line sent while a turn is generating waits its turn: two answers, in order, never racing."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue(Reply("Answer to the first.", delay=0.4), "Answer to the second.")
    await harness.say("Ada, first question.")
    await harness.server.wait_until(lambda: len(harness.model.requests) == 1)
    await harness.say("Ada, second question.")
    await harness.idle()
    replies = [m["content"] for m in harness.replies()]
    assert replies == ["Answer to the first.", "Answer to the second."]
    assert len(harness.model.requests) == 2
    # The second turn was generated after the first had been answered: its prompt contains that answer.
    second_prompt = json.dumps(harness.model.requests[1].body["messages"])
    assert "Answer to the first." in second_prompt and "second question" in second_prompt


async def test_reply_to_a_character_addresses_it(harness: Harness) -> None:
    """A Discord reply to Bram's line makes Bram answer, though Ada is far more talkative."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.summon("bram")
    harness.model.enqueue("Bram here.", "Ada here.", "Bram again.")
    await harness.say("Hello Bram.")
    bram_line = await harness.npc_line()
    await harness.say("Hello Ada.")
    ada_line = await harness.npc_line(after=int(bram_line["id"]))
    assert (bram_line["author"]["username"], ada_line["author"]["username"]) == ("Bram", "Ada")
    await harness.say("And what do you think?", reply_to=int(bram_line["id"]))
    third = await harness.npc_line(after=int(ada_line["id"]))
    assert third["author"]["username"] == "Bram" and third["content"] == "Bram again."


async def test_ignores_disabled_channels_bots_and_webhooks(harness: Harness) -> None:
    """No answer outside enabled channels, to other bots, to proxy webhooks, or to its own webhook echoes."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    await harness.say("Ada, are you there?", channel=harness.layout.general_id)
    ignored = [
        await server.send_message(harness.layout.roleplay_id, author="otherbot", content="Ada, beep.", bot=True),
        await server.send_message(harness.layout.roleplay_id, author="Proxied Person", content="Ada hi", webhook_id=4242),
    ]
    await server.wait_until(lambda: all(int(m["id"]) in harness.seen for m in ignored))
    await harness.idle()
    assert not harness.model.requests
    await harness.say("Ada, now for real.")
    line = await harness.npc_line()
    await harness.idle()
    # Exactly one model call: the real line. The webhook's echo of the answer did not start a turn either.
    assert len(harness.model.requests) == 1
    assert len(harness.replies()) == 1 and line["author"]["username"] == "Ada"
    assert harness.layout.general_id not in server.typing

    await harness.slash("scene channel", {"enabled": False})
    await harness.say("Ada, still there?")
    await harness.say("Ada, hello?", channel=harness.layout.general_id)
    await harness.idle()
    assert len(harness.model.requests) == 1


async def test_long_reply_is_split_and_mentions_are_neutralised(harness: Harness) -> None:
    """A reply over 2000 characters becomes two messages cut at a sentence; nobody is pinged."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    alice = harness.layout.admin_user_id
    sentence = "The wind keeps knocking at the shutters tonight. "
    long_text = f"@everyone <@{alice}> listen. " + sentence * 60
    harness.model.enqueue(long_text.strip())
    await harness.say("Ada, tell me everything.")
    await harness.idle()
    parts = harness.replies()
    assert len(parts) == 2
    assert all(len(p["content"]) <= 2000 for p in parts) and parts[0]["content"].endswith("tonight.")
    assert " ".join(p["content"] for p in parts) == long_text.strip()
    assert not parts[0].get("components") and labels(parts[1]) == ["◀", "1/1", "▶", "↻"]
    for call in executes(harness.server):
        assert call.json["allowed_mentions"] == {"parse": []}
    # A reply to the first part addresses the line (the engine knows it by its last part).
    main = await harness.bot.posts.main_message_id(harness.layout.guild_id, int(parts[0]["id"]))
    assert main == int(parts[1]["id"])


async def test_not_enabled_channel_refuses_player_commands(harness: Harness) -> None:
    await harness.start()
    handle = await harness.slash("summon", {"character": "ada"}, user="bob", channel=harness.layout.general_id)
    assert "/scene channel" in content_of(handle) and is_ephemeral(handle)


async def test_player_commands(harness: Harness) -> None:
    """/cast, /look, /go, /ooc, /pause and /resume, /dismiss, and autocomplete from the server's world."""
    await harness.start()
    await harness.setup_scene()
    server = harness.server
    choices = await server.invoke_autocomplete("summon", {"character": "br"}, "character", user="bob",
                                               channel_id=harness.layout.roleplay_id)
    await choices.wait_callback()
    assert choices.autocomplete_choices == [{"name": "Bram", "value": "bram"}]
    places = await server.invoke_autocomplete("go", {"place": ""}, "place", user="bob",
                                              channel_id=harness.layout.roleplay_id)
    await places.wait_callback()
    assert [c["value"] for c in places.autocomplete_choices] == ["hall", "garden", "orchard"]

    empty = await harness.slash("cast", user="bob")
    assert "Nobody" in content_of(empty) and is_ephemeral(empty)
    await harness.summon("ada")
    cast = await harness.slash("cast", user="bob")
    assert "**Ada**: here, at Great Hall" in content_of(cast)
    look = await harness.slash("look", user="bob")
    assert "Great Hall" in content_of(look) and "Ada" in content_of(look) and not is_ephemeral(look)
    again = await harness.summon("ada")
    assert "already" in content_of(again) and is_ephemeral(again)

    ooc = await harness.slash("ooc", {"text": "Let's keep it light tonight."}, user="bob")
    assert "narrator" in content_of(ooc) and is_ephemeral(ooc)

    paused = await harness.slash("pause", user="bob")
    assert "paused" in content_of(paused)
    await harness.say("Ada, are you asleep?")
    await harness.idle()
    assert not harness.model.requests and not harness.replies()
    await harness.slash("resume", user="bob")
    harness.model.enqueue("I am awake.")
    await harness.say("Ada?")
    await harness.npc_line()

    moved = await harness.slash("go", {"place": "garden"}, user="bob")
    assert "Garden" in content_of(moved) and not is_ephemeral(moved)
    gone = await harness.slash("dismiss", {"character": "ada"}, user="bob")
    assert "Ada" in content_of(gone)
    cast = await harness.slash("cast", user="bob")
    assert "Nobody" in content_of(cast)


async def test_export_uploads_the_transcript(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("Good evening.")
    await harness.say("Evening, Ada.")
    await harness.npc_line()
    handle = await harness.slash("export", user="bob")
    assert is_ephemeral(handle)
    upload = harness.server.uploads[-1]
    assert upload.filename.endswith(".jsonl") and upload.message_id == int(handle.followups[0]["id"])
    records = [json.loads(line) for line in upload.data.decode().splitlines()]
    assert [(r["kind"], r["text"]) for r in records][-2:] == [("user", "Evening, Ada."), ("npc", "Good evening.")]


async def test_world_reset_asks_for_confirmation(harness: Harness) -> None:
    """/world reset shows Confirm/Cancel; Cancel keeps everything; Confirm forgets the story, not the channel."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    store = harness.app.store
    guild = str(harness.layout.guild_id)

    asked = await harness.slash("world reset")
    assert is_ephemeral(asked) and "cannot be undone" in content_of(asked)
    question = asked.original_id
    buttons = harness.server.messages[question]["components"][0]["components"]
    confirm, cancel = buttons[0]["custom_id"], buttons[1]["custom_id"]
    refused = await harness.server.click_button(question, confirm, user="bob")
    await refused.wait_callback()
    assert refused.callback_types == [4] and "Only the admin who asked" in refused.callbacks[0]["data"]["content"]
    cancelled = await harness.server.click_button(question, cancel, user="alice")
    await cancelled.wait_callback()
    assert cancelled.callbacks[0]["data"]["content"] == "Nothing was reset."
    scene = await store.get_scene(guild, str(harness.layout.roleplay_id))
    assert await store.members(scene.id) == ["ada"]

    asked = await harness.slash("world reset")
    question = asked.original_id
    confirm = harness.server.messages[question]["components"][0]["components"][0]["custom_id"]
    done = await harness.server.click_button(question, confirm, user="alice")
    await done.wait_callback()
    assert done.callback_types == [7] and "reset" in done.callbacks[0]["data"]["content"]
    fresh = await store.get_scene(guild, str(harness.layout.roleplay_id))
    assert fresh is not None and fresh.enabled
    assert await store.members(fresh.id) == [] and await store.transcript(fresh.id) == []


async def test_thread_lines_use_the_parent_webhook(harness: Harness) -> None:
    """A thread of a role-play channel is its own scene; lines go through the parent's webhook with thread_id."""
    await harness.start()
    await harness.setup_scene()
    thread = harness.layout.thread_id
    await harness.slash("summon", {"character": "ada"}, user="bob", channel=thread)
    harness.model.enqueue("In the thread.")
    await harness.say("Ada, in here.", channel=thread)
    line = await harness.npc_line(thread)
    assert line["content"] == "In the thread." and line["author"]["username"] == "Ada"
    execute = executes(harness.server)[-1]
    assert execute.query["thread_id"] == str(thread)
    hooks = harness.server.webhooks_in(harness.layout.roleplay_id)
    assert len(hooks) == 1 and line["webhook_id"] == hooks[0]["id"]
    regen = next(c for c in custom_ids(line) if ":regen:" in c)
    harness.model.enqueue("Thread, take two.")
    await harness.server.click_button(int(line["id"]), regen, user="bob")
    await harness.server.wait_until(lambda: harness.server.messages[int(line["id"])]["content"] == "Thread, take two.")
    edit = harness.server.calls_to("PATCH", "/webhooks/{id}/{token}/messages/{m}")[-1]
    assert edit.query["thread_id"] == str(thread)


async def test_failures_are_one_sentence_never_a_traceback(harness: Harness, monkeypatch) -> None:
    """The model down: a short notice under the line. A bug in a command: a short code, logged with the trace."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue(Fault.status(500))
    line = await harness.say("Ada?")
    notice = await harness.server.wait_for_message(
        harness.layout.roleplay_id, lambda m: m["_source"] == "bot" and m.get("message_reference") is not None
    )
    assert notice["message_reference"]["message_id"] == line["id"]
    assert "Traceback" not in notice["content"] and len(notice["content"]) < 300

    async def broken(key):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(harness.app.engine, "cast", broken)
    handle = await harness.slash("cast", user="bob")
    text = content_of(handle)
    assert is_ephemeral(handle) and text.startswith("Something went wrong (E-") and "fire" not in text


async def test_switching_worlds_needs_a_reset_once_the_story_started(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    guild = str(harness.layout.guild_id)
    # Nothing has happened yet: switching is free and the channel stays on, now in the new world.
    switched = await harness.slash("world setup", {"world": "isle"})
    assert "The Isle" in content_of(switched)
    scene = await harness.app.store.get_scene(guild, str(harness.layout.roleplay_id))
    assert scene.world_id == "isle" and scene.enabled
    await harness.slash("summon", {"character": "quill"}, user="bob")
    refused = await harness.slash("world setup", {"world": "manor"})
    assert "/world reset" in content_of(refused)
    assert await harness.app.store.server_world(guild) == "isle"


async def test_a_name_discord_refuses_is_adjusted(harness: Harness) -> None:
    """A character called Clyde still speaks through the webhook, under a name Discord accepts."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("clyde")
    harness.model.enqueue("Evening.")
    await harness.say("Clyde, hello.")
    line = await harness.npc_line()
    assert line["_source"] == "webhook" and line["author"]["username"] == "C\u200alyde"
    assert all(c.status == 200 for c in executes(harness.server))


async def test_admin_why_memory_rewind_and_tick(harness: Harness) -> None:
    """/why, /memory, /rewind and /tick answer admins and refuse members without Manage Server."""
    await harness.start()
    await harness.setup_scene()
    await harness.summon("ada")
    harness.model.enqueue("Ada: Here is a secret: the key is under the sundial.")
    await harness.say("Ada, any secrets?")
    await harness.npc_line()
    for name, options in (("why", None), ("memory", {"character": "Ada"}), ("rewind", {"turns": 1}), ("tick", None)):
        refused = await harness.slash(name, options, user="bob")
        assert content_of(refused) == ADMIN_REFUSAL and is_ephemeral(refused), name
    why = await harness.slash("why")
    assert "-> Ada" in content_of(why) and "named in the line" in content_of(why)
    memory = await harness.slash("memory", {"character": "Ada"})
    assert "What Ada remembers" in content_of(memory) and "any secrets?" in content_of(memory)
    tick = await harness.slash("tick")
    assert is_ephemeral(tick) and content_of(tick)
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    before = len(await harness.app.store.transcript(scene.id))
    rewound = await harness.slash("rewind", {"turns": 1})
    assert "Rewound 1 turn:" in content_of(rewound)
    assert len(await harness.app.store.transcript(scene.id)) < before
