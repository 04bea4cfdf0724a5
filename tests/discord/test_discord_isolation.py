"""Per-server isolation, end to end: two guilds on one bot never see or change each other's story."""

from __future__ import annotations

import json

from discord_harness import Harness, add_second_guild, content_of, custom_ids


async def test_two_servers_are_isolated(harness: Harness) -> None:
    server = harness.server
    other = add_second_guild(server)
    await harness.start()
    store = harness.app.store
    layout = harness.layout

    # Server 1 plays in the manor with Ada; server 2 in the isle with Quill.
    await harness.setup_scene()
    await harness.summon("ada")
    await harness.slash("world setup", {"world": "isle"}, user=other.admin, channel=other.channel_id)
    await harness.slash("scene channel", {"enabled": True}, user=other.admin, channel=other.channel_id)
    assert await store.server_world(str(layout.guild_id)) == "manor"
    assert await store.server_world(str(other.guild_id)) == "isle"

    # Autocomplete and /summon only know the server's own world.
    choices = await server.invoke_autocomplete("summon", {"character": ""}, "character", user=other.admin,
                                               channel_id=other.channel_id)
    await choices.wait_callback()
    assert choices.autocomplete_choices == [{"name": "Quill", "value": "quill"}]
    refused = await harness.slash("summon", {"character": "ada"}, user=other.admin, channel=other.channel_id)
    assert "Nobody called 'ada'" in content_of(refused)
    empty = await harness.slash("cast", user=other.admin, channel=other.channel_id)
    assert "Nobody" in content_of(empty)
    await harness.slash("summon", {"character": "quill"}, user=other.admin, channel=other.channel_id)

    harness.model.enqueue("Ada in the manor.", "Quill on the isle.")
    await harness.say("Ada, hello.")
    ada = await harness.npc_line()
    await harness.say("Quill, hello.", author=other.admin, channel=other.channel_id)
    quill = await harness.npc_line(other.channel_id)
    assert (ada["author"]["username"], quill["author"]["username"]) == ("Ada", "Quill")
    # Each server's channel has its own webhook.
    assert server.webhooks_in(other.channel_id)[0]["guild_id"] == str(other.guild_id)

    # A forged button in server 2 that names server 1's line changes nothing. (discord.py only dispatches
    # custom_ids that are on the clicked message, so the forgery is planted on the message itself.)
    scene1 = await store.get_scene(str(layout.guild_id), str(layout.roleplay_id))
    ada_row = await store.message_by_platform_id(scene1.id, ada["id"])
    forged_id = f"ens:swipe:regen:{ada_row.id}"
    server.messages[int(quill["id"])]["components"] = [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "↻", "custom_id": forged_id}]}
    ]
    forged = await server.click_button(int(quill["id"]), forged_id, user=other.admin)
    await forged.wait_followups(1)
    assert "no alternatives" in forged.followups[0]["content"]
    assert server.messages[int(ada["id"])]["content"] == "Ada in the manor."
    assert server.messages[int(quill["id"])]["content"] == "Quill on the isle."
    assert len(harness.model.requests) == 2
    assert len(await store.swipes(ada_row.id)) == 1

    # Exports hold only the server's own lines.
    await harness.slash("export", user=other.admin, channel=other.channel_id)
    records = [json.loads(line) for line in server.uploads[-1].data.decode().splitlines()]
    assert "Ada in the manor." not in {r["text"] for r in records}
    assert "Quill on the isle." in {r["text"] for r in records}

    # Resetting server 2 leaves server 1's story alone.
    asked = await harness.slash("world reset", user=other.admin, channel=other.channel_id)
    confirm = server.messages[asked.original_id]["components"][0]["components"][0]["custom_id"]
    done = await server.click_button(asked.original_id, confirm, user=other.admin)
    await done.wait_callback()
    scene1_after = await store.get_scene(str(layout.guild_id), str(layout.roleplay_id))
    assert scene1_after == scene1 and await store.members(scene1.id) == ["ada"]
    assert [r.text for r in await store.transcript(scene1.id)][-1] == "Ada in the manor."
    assert await harness.bot.posts.main_message_id(layout.guild_id, int(ada["id"])) == int(ada["id"])
    # ... and server 1's swipe buttons still work.
    regen = next(c for c in custom_ids(ada) if ":regen:" in c)
    harness.model.enqueue("Ada, take two.")
    await server.click_button(int(ada["id"]), regen, user="bob")
    await server.wait_until(lambda: server.messages[int(ada["id"])]["content"] == "Ada, take two.")


def v2_card(name: str) -> bytes:
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": name,
            "description": f"{name} keeps bees on the manor roof.",
            "personality": "Patient, dry, fond of honey metaphors.",
            "scenario": "",
            "first_mes": "*lifts the veil* Mind the bees.",
            "mes_example": "<START>\n{{user}}: Do they sting?\n{{char}}: Only the rude.",
            "creator_notes": "",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": ["bees"],
            "creator": "tester",
            "character_version": "1",
            "extensions": {},
        },
    }
    return json.dumps(card).encode()


async def test_character_import_joins_only_this_servers_cast(harness: Harness) -> None:
    """/character import (admins) adds a card's character to this server's cast; another server never sees it."""
    server = harness.server
    other = add_second_guild(server)
    await harness.start()
    await harness.setup_scene()
    await harness.slash("world setup", {"world": "manor"}, user=other.admin, channel=other.channel_id)
    await harness.slash("scene channel", {"enabled": True}, user=other.admin, channel=other.channel_id)

    card = server.stage_attachment("hazel.json", v2_card("Hazel"))
    refused = await harness.slash("character import", {"file": card}, user="bob")
    assert "Manage Server" in content_of(refused)
    done = await harness.slash("character import", {"file": card})
    assert "**Hazel** joined this server's cast" in content_of(done)
    again = await harness.slash("character import", {"file": server.stage_attachment("hazel.json", v2_card("Hazel"))})
    assert "already has a character called Hazel" in content_of(again)
    renamed = await harness.slash("character import", {"file": server.stage_attachment("h.json", v2_card("Hazel")), "rename": True})
    assert "Hazel (2)" in content_of(renamed)
    broken = await harness.slash("character import", {"file": server.stage_attachment("broken.png", b"\x89PNG\r\n\x1a\nnope")})
    assert "broken.png" in content_of(broken)

    await harness.summon("Hazel")
    harness.model.enqueue("Only the rude, I said.")
    await harness.say("Hazel, do the bees sting?")
    line = await harness.npc_line()
    assert line["author"]["username"] == "Hazel"

    refused = await harness.slash("summon", {"character": "Hazel"}, user=other.admin, channel=other.channel_id)
    assert "Nobody called 'Hazel'" in content_of(refused)
    await harness.restart()
    again_here = await harness.slash("summon", {"character": "Hazel (2)"}, user="bob")
    assert "Hazel (2)" in content_of(again_here)
