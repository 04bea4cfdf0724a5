"""The fake Discord server, proven with a real discord.py ``commands.Bot`` over loopback."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import discord
import pytest
from discord import app_commands

from .discord_client import make_bot, pointed_at, running
from .discord_server import FakeDiscordServer, Intents, Perms


@pytest.fixture
async def server():
    async with FakeDiscordServer() as fake:
        yield fake


def collect_messages(bot: discord.Client) -> list[discord.Message]:
    seen: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message)

    bot.add_listener(on_message, "on_message")
    return seen


class ClickView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicked_by: list[int] = []

    @discord.ui.button(label="Swipe", custom_id="swipe")
    async def swipe(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.clicked_by.append(interaction.user.id)
        await interaction.response.edit_message(content=f"swiped by {interaction.user.name}", view=self)


async def test_login_ready_and_guild_visible(server: FakeDiscordServer) -> None:
    """Login, IDENTIFY, READY and GUILD_CREATE give a ready bot that sees the seeded guild."""
    bot = make_bot()
    readies: list[bool] = []

    async def on_ready() -> None:
        readies.append(True)

    bot.add_listener(on_ready, "on_ready")
    layout = server.layout
    async with running(bot, server):
        assert readies == [True]
        assert bot.user is not None and bot.user.id == server.application_id and bot.user.bot
        assert bot.application_id == server.application_id
        guild = bot.get_guild(layout.guild_id)
        assert guild is not None and guild.name == "Ensemble Test Guild"
        assert {c.name for c in guild.text_channels} == {"general", "roleplay"}
        thread = guild.get_thread(layout.thread_id)
        assert thread is not None and thread.parent_id == layout.roleplay_id
        assert guild.me.guild_permissions.manage_webhooks
        assert guild.get_role(layout.admin_role_id).permissions.manage_guild
        assert not guild.get_role(layout.member_role_id).permissions.manage_guild
    identify = server.identifies[0]
    assert identify["token"] == server.token
    assert identify["intents"] & Intents.MESSAGE_CONTENT
    assert [(c.method, c.path) for c in server.calls[:2]] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    assert server.gateway_connections[0].query["v"] == "10"
    assert not server.unhandled


async def test_tree_sync_global_and_guild(server: FakeDiscordServer) -> None:
    """``tree.sync()`` for global and guild scope is recorded and answered with ids."""
    bot = make_bot()
    guild = discord.Object(server.layout.guild_id)

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @bot.tree.command(name="scene", description="Scene control", guild=guild)
    async def scene(interaction: discord.Interaction, title: str) -> None:
        await interaction.response.send_message(title)

    async with running(bot, server):
        global_cmds = await bot.tree.sync()
        guild_cmds = await bot.tree.sync(guild=guild)
        fetched = await bot.tree.fetch_commands(guild=guild)
    assert [c.name for c in global_cmds] == ["ping"] and global_cmds[0].id > 0
    assert [c.name for c in guild_cmds] == ["scene"] and guild_cmds[0].guild_id == guild.id
    assert fetched[0].id == guild_cmds[0].id
    assert len(server.calls_to("PUT", "/applications/{app}/commands")) == 1
    put = server.calls_to("PUT", "/applications/{app}/guilds/{guild}/commands")[0]
    assert put.json[0]["options"][0]["name"] == "title"
    assert server.synced_commands(guild.id)[0]["id"] == str(guild_cmds[0].id)


async def test_option_localizations_are_checked_and_locales_reach_the_interaction(server: FakeDiscordServer) -> None:
    """Options of (sub)commands follow Discord's rules in every locale; the user's and the server's locale
    come with each interaction."""
    bot = make_bot()
    seen: list[tuple[str, str | None]] = []
    world = app_commands.Group(name="world", description="World")

    @world.command(name="setup", description="Bind")
    @app_commands.describe(name="the world")
    async def setup(interaction: discord.Interaction, name: str) -> None:
        seen.append((str(interaction.locale), str(interaction.guild_locale)))
        await interaction.response.send_message(name)

    bot.tree.add_command(world)
    body = [{
        "name": "world", "description": "World", "type": 1,
        "options": [{
            "name": "setup", "description": "Bind", "type": 1,
            "options": [{"name": "name", "description": "x", "description_localizations": {"zh-CN": "长" * 101}, "type": 3}],
        }],
    }]
    async with running(bot, server):
        await bot.tree.sync()
        async with aiohttp.ClientSession() as session:
            async with session.put(
                f"{server.api_base}/applications/{server.application_id}/commands", json=body,
                headers={"Authorization": f"Bot {server.token}"},
            ) as refused:
                error = await refused.json()
        server.set_guild_locale(server.layout.guild_id, "zh-CN")
        handle = await server.invoke_slash("world setup", {"name": "town"}, locale="en-GB")
        await handle.wait_callback()
    assert refused.status == 400 and "0.options.0.options.0.description_localizations.zh-CN" in str(error)
    assert seen == [("en-GB", "zh-CN")]


async def test_injected_message_reaches_on_message_and_echo_returns(server: FakeDiscordServer) -> None:
    """An injected MESSAGE_CREATE reaches on_message; the bot's own send comes back as an echo."""
    bot = make_bot()
    seen = collect_messages(bot)
    layout = server.layout
    async with running(bot, server):
        first = await server.send_message(layout.roleplay_id, author="alice", content="Hello tavern")
        reply = await server.send_message(
            layout.roleplay_id, author="bob", content="hi", reply_to=int(first["id"])
        )
        await server.wait_until(lambda: len(seen) >= 2)
        assert seen[0].content == "Hello tavern" and seen[0].author.id == layout.admin_user_id
        assert isinstance(seen[0].author, discord.Member) and seen[0].channel.id == layout.roleplay_id
        assert seen[1].reference.message_id == int(first["id"]) and seen[1].id == int(reply["id"])

        sent = await bot.get_channel(layout.roleplay_id).send("The innkeeper nods.")
        await server.wait_until(lambda: len(seen) >= 3)
        echo = seen[2]
        assert echo.id == sent.id and echo.author.id == bot.user.id and echo.author.bot
        assert [m["content"] for m in server.messages_in(layout.roleplay_id)] == [
            "Hello tavern",
            "hi",
            "The innkeeper nods.",
        ]


async def test_slash_subcommand_defer_then_followup(server: FakeDiscordServer) -> None:
    """A subcommand that defers and follows up: both recorded, the followup fills the thinking message."""
    bot = make_bot()
    scene = app_commands.Group(name="scene", description="Scene control")

    @scene.command(name="start", description="Start a scene")
    async def start(interaction: discord.Interaction, title: str, chapter: int) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"Scene {title} (chapter {chapter}) begins.")

    cast = app_commands.Group(name="cast", description="Who is in the scene", parent=scene)

    @cast.command(name="add", description="Add an NPC")
    async def add(interaction: discord.Interaction, npc: str) -> None:
        await interaction.response.send_message(f"{npc} joins.", ephemeral=True)

    bot.tree.add_command(scene)
    async with running(bot, server):
        handle = await server.invoke_slash("scene start", {"title": "Harbor", "chapter": 2}, user="alice")
        followups = await handle.wait_followups(1)
        nested = await server.invoke_slash("scene cast add", {"npc": "Mira"})
        await nested.wait_callback()
    assert nested.payload["data"]["options"][0]["type"] == 2
    assert nested.original["content"] == "Mira joins." and nested.original["flags"] & 64
    assert handle.callback_types == [5]
    assert followups[0]["content"] == "Scene Harbor (chapter 2) begins."
    assert followups[0]["id"] == handle.original["id"]
    assert followups[0]["interaction_metadata"]["user"]["username"] == "alice"
    assert [m["content"] for m in server.messages_in(server.layout.general_id)] == [
        "Scene Harbor (chapter 2) begins."
    ]
    assert server.calls_to("POST", "/interactions/{id}/{token}/callback")[0].query == {"with_response": "1"}


async def test_button_click_reaches_view_that_edits_message(server: FakeDiscordServer) -> None:
    """A button click reaches a View callback; ``response.edit_message`` updates the stored message."""
    bot = make_bot()
    view = ClickView()
    async with running(bot, server):
        sent = await bot.get_channel(server.layout.general_id).send("Choose", view=view)
        stored = server.messages[sent.id]
        assert stored["components"][0]["components"][0]["custom_id"] == "swipe"
        handle = await server.click_button(sent.id, "swipe", user="bob")
        await handle.wait_callback()
    assert view.clicked_by == [server.layout.member_user_id]
    assert handle.callback_types == [7]
    assert server.messages[sent.id]["content"] == "swiped by bob"
    assert server.messages[sent.id]["edited_timestamp"] is not None


async def test_webhook_create_send_with_view_edit_and_thread(server: FakeDiscordServer) -> None:
    """A client-bound webhook sends as a character (with a view), edits, and posts into a thread."""
    bot = make_bot()
    view = ClickView()
    layout = server.layout
    seen = collect_messages(bot)
    async with running(bot, server):
        channel = bot.get_channel(layout.roleplay_id)
        webhook = await channel.create_webhook(name="Ensemble NPCs")
        msg = await webhook.send(
            "Welcome, traveller.",
            username="Mira",
            avatar_url="http://127.0.0.1/mira.png",
            wait=True,
            view=view,
        )
        edited = await webhook.edit_message(msg.id, content="Welcome back, traveller.")
        in_thread = await webhook.send(
            "Psst.", username="Mira", wait=True, thread=discord.Object(layout.thread_id)
        )
        handle = await server.click_button(msg.id, "swipe", user="alice")
        await handle.wait_callback()
        await server.wait_until(lambda: len(seen) >= 2)
    stored = server.webhook_messages(layout.roleplay_id)
    assert [m["id"] for m in stored] == [str(msg.id)]
    assert (
        stored[0]["author"]["username"] == "Mira" and stored[0]["_avatar_url"] == "http://127.0.0.1/mira.png"
    )
    assert stored[0]["webhook_id"] == str(webhook.id)
    assert edited.content == "Welcome back, traveller."
    assert server.calls_to("POST", "/webhooks/{id}/{token}")[0].query["with_components"] == "1"
    assert view.clicked_by == [layout.admin_user_id] and stored[0]["content"] == "swiped by alice"
    assert [m["id"] for m in server.webhook_messages(layout.thread_id)] == [str(in_thread.id)]
    assert seen[0].webhook_id == webhook.id and seen[0].author.bot


async def test_reply_view_and_message_edit_rules(server: FakeDiscordServer) -> None:
    """A view on an interaction reply is clickable; a webhook message cannot be edited via the channel route."""
    bot = make_bot()
    view = ClickView()

    @bot.tree.command(name="say", description="Say something")
    async def say(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Pick one", view=view)

    async with running(bot, server):
        handle = await server.invoke_slash("say")
        await handle.wait_callback()
        click = await server.click_button(handle.original_id, "swipe", user="alice")
        await click.wait_callback()
        webhook = await bot.get_channel(server.layout.general_id).create_webhook(name="NPCs")
        line = await webhook.send("I am Mira.", wait=True)
        with pytest.raises(discord.Forbidden) as refused:
            await bot.get_channel(server.layout.general_id).get_partial_message(line.id).edit(content="x")
        own = (
            await bot.get_channel(server.layout.general_id)
            .get_partial_message(handle.original_id)
            .edit(content="edited by the bot")
        )
    assert view.clicked_by == [server.layout.admin_user_id]
    assert click.callback_types == [7] and handle.original["content"] == "edited by the bot" == own.content
    assert refused.value.code == 50005


async def test_members_intent_sees_everyone_and_joins(server: FakeDiscordServer) -> None:
    """With the members intent GUILD_CREATE carries every member (no chunk wait) and joins arrive."""
    intents = discord.Intents.default()
    intents.message_content = intents.members = True
    bot = make_bot(intents=intents, chunk_guilds_at_startup=True)
    joined: list[discord.Member] = []

    async def on_member_join(member: discord.Member) -> None:
        joined.append(member)

    bot.add_listener(on_member_join, "on_member_join")
    async with running(bot, server):
        guild = bot.get_guild(server.layout.guild_id)
        assert guild.chunked and {m.name for m in guild.members} == {"owner", "alice", "bob", "Ensemble"}
        await server.join_member(guild.id, "carol", [server.layout.member_role_id])
        await server.wait_until(lambda: joined)
    assert joined[0].name == "carol" and [r.name for r in joined[0].roles] == ["@everyone", "Member"]


async def test_webhook_deleted_behind_the_bots_back(server: FakeDiscordServer) -> None:
    """Executing a webhook deleted elsewhere raises NotFound with code 10015."""
    bot = make_bot()
    async with running(bot, server):
        webhook = await bot.get_channel(server.layout.roleplay_id).create_webhook(name="NPCs")
        await server.delete_webhook(webhook.id)
        with pytest.raises(discord.NotFound) as info:
            await webhook.send("Anyone there?", wait=True)
    assert info.value.code == 10015


async def test_webhook_limit_and_missing_permissions(server: FakeDiscordServer) -> None:
    """30007 (15 webhooks) and 50013 (no Manage Webhooks) come back as HTTPException / Forbidden."""
    bot = make_bot()
    layout = server.layout
    for n in range(15):
        server.add_webhook(layout.roleplay_id, f"npc-{n}")
    async with running(bot, server):
        with pytest.raises(discord.HTTPException) as full:
            await bot.get_channel(layout.roleplay_id).create_webhook(name="one too many")
        await server.set_role_permissions(layout.bot_role_id, Perms.BOT & ~Perms.MANAGE_WEBHOOKS)
        await server.wait_until(
            lambda: not bot.get_guild(layout.guild_id).me.guild_permissions.manage_webhooks
        )
        with pytest.raises(discord.Forbidden) as denied:
            await bot.get_channel(layout.general_id).create_webhook(name="npcs")
        server.fail_next("POST", "/channels/{c}/webhooks", 403, 50013, "Missing Permissions")
        await server.set_role_permissions(layout.bot_role_id, Perms.BOT)
        with pytest.raises(discord.Forbidden) as injected:
            await bot.get_channel(layout.general_id).create_webhook(name="npcs")
    assert full.value.status == 400 and full.value.code == 30007
    assert denied.value.code == 50013 and injected.value.code == 50013


async def test_rate_limit_is_retried_and_bad_names_refused(server: FakeDiscordServer) -> None:
    """A 429 with Via/retry_after is retried by discord.py; 'clyde' in a webhook name is a 50035."""
    bot = make_bot()
    async with running(bot, server):
        server.fail_next("POST", "/channels/{c}/messages", 429, retry_after=0.05)
        sent = await bot.get_channel(server.layout.general_id).send("after the wait")
        with pytest.raises(discord.HTTPException) as bad:
            await bot.get_channel(server.layout.general_id).create_webhook(name="Clyde")
        with pytest.raises(discord.HTTPException) as too_long:
            await bot.get_channel(server.layout.general_id).send("x" * 2001)
    assert [c.status for c in server.calls_to("POST", "/channels/{c}/messages")] == [429, 200, 400]
    assert server.messages[sent.id]["content"] == "after the wait"
    assert bad.value.code == 50035 and too_long.value.code == 50035


@pytest.mark.parametrize("how", ["op7", "close"])
async def test_reconnect_resumes_and_replays_missed_message_once(server: FakeDiscordServer, how: str) -> None:
    """After RECONNECT / close 4000 the bot RESUMEs and gets a message sent while away exactly once."""
    bot = make_bot()
    seen = collect_messages(bot)
    resumed: list[bool] = []

    async def on_resumed() -> None:
        resumed.append(True)

    bot.add_listener(on_resumed, "on_resumed")
    async with running(bot, server):
        await server.send_message(content="before")
        await server.wait_until(lambda: len(seen) == 1)
        session_id = next(iter(server.sessions))
        if how == "op7":
            await server.force_reconnect("op7")
        async with server.disconnected():
            await server.send_message(content="while away")
        await server.wait_until(lambda: len(seen) == 2 and resumed)
        await server.send_message(content="after")
        await server.wait_until(lambda: len(seen) == 3)
        await asyncio.sleep(0.05)
    assert [m.content for m in seen] == ["before", "while away", "after"]
    assert [f["d"]["content"] for f in server.replayed if f["t"] == "MESSAGE_CREATE"] == ["while away"]
    assert len(server.identifies) == 1
    assert all(r["session_id"] == session_id for r in server.resumes)
    assert server.gateway_connections[-1].path == "/resume-gateway"


async def test_invalid_session_forces_a_new_identify(server: FakeDiscordServer) -> None:
    """Op 9 ``false`` makes the client IDENTIFY again with a new session (and fire on_ready again)."""
    bot = make_bot()

    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        pass  # the default hook sleeps 5 s before every non-initial IDENTIFY

    bot.before_identify_hook = no_identify_delay
    readies: list[bool] = []

    async def on_ready() -> None:
        readies.append(True)

    bot.add_listener(on_ready, "on_ready")
    async with running(bot, server):
        first_session = next(iter(server.sessions))
        await server.force_reconnect("invalidate")
        await server.wait_until(lambda: len(readies) == 2)
        await server.send_message(content="still here")
        await server.wait_until(lambda: bot.get_channel(server.layout.general_id).last_message_id)
    assert len(server.identifies) == 2 and not server.resumes
    assert [s.valid for s in server.sessions.values()] == [False, True]
    assert next(reversed(server.sessions)) != first_session


async def test_wrong_token_is_a_login_failure(server: FakeDiscordServer) -> None:
    bot = make_bot()
    with pytest.raises(discord.LoginFailure):
        async with running(bot, server, token="not-the-token"):
            pass
    assert server.calls[0].status == 401


async def test_gateway_refusing_the_token_closes_4004(server: FakeDiscordServer) -> None:
    """discord.py does not turn close code 4004 into LoginFailure: it raises ConnectionClosed(4004)."""
    server.refuse_gateway_token = True
    bot = make_bot()
    with pytest.raises(discord.ConnectionClosed) as info:
        async with running(bot, server):
            pass
    assert info.value.code == 4004


async def test_disallowed_intents_close_4014(server: FakeDiscordServer) -> None:
    server.allowed_privileged_intents = 0
    bot = make_bot()
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running(bot, server):
            pass


async def test_content_is_blank_without_the_message_content_intent(server: FakeDiscordServer) -> None:
    bot = make_bot(intents=discord.Intents.default())
    seen = collect_messages(bot)
    async with running(bot, server):
        await server.send_message(content="secret plans")
        await server.send_message(content=f"<@{server.application_id}> hello")
        await server.wait_until(lambda: len(seen) == 2)
    assert seen[0].content == "" and seen[1].content.endswith("hello")
    assert server.messages_in(server.layout.general_id)[0]["content"] == "secret plans"


async def test_file_attachments_are_recorded_and_downloadable(server: FakeDiscordServer) -> None:
    """A discord.File (multipart payload_json + files[0]) is recorded with its bytes and can be read back."""
    bot = make_bot()
    transcript = b"alice: hello\nMira: welcome\n"

    @bot.tree.command(name="export", description="Export the transcript")
    async def export(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send(
            "Here you go.", file=discord.File(io.BytesIO(transcript), "scene.txt")
        )

    async with running(bot, server):
        sent = await bot.get_channel(server.layout.general_id).send(
            "transcript", file=discord.File(io.BytesIO(transcript), filename="transcript.txt")
        )
        assert await sent.attachments[0].read() == transcript
        handle = await server.invoke_slash("export")
        followup = (await handle.wait_followups(1))[0]
    assert [(u.filename, u.data) for u in server.uploads] == [
        ("transcript.txt", transcript),
        ("scene.txt", transcript),
    ]
    assert server.messages[sent.id]["attachments"][0]["filename"] == "transcript.txt"
    assert followup["flags"] & 64 and followup["attachments"][0]["size"] == len(transcript)
    assert [m["content"] for m in server.messages_in(server.layout.general_id)] == ["transcript"]


async def test_autocomplete_and_modal_round_trip(server: FakeDiscordServer) -> None:
    bot = make_bot()
    submitted: list[str] = []

    class NameModal(discord.ui.Modal, title="New character"):
        name = discord.ui.TextInput(label="Name", custom_id="name")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted.append(self.name.value)
            await interaction.response.send_message(f"Created {self.name.value}", ephemeral=True)

    @bot.tree.command(name="talk", description="Talk to someone")
    async def talk(interaction: discord.Interaction, npc: str) -> None:
        await interaction.response.send_message(npc)

    @talk.autocomplete("npc")
    async def npc_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=n, value=n) for n in ("Mira", "Morgan", "Tobin") if n.startswith(current)
        ]

    @bot.tree.command(name="create", description="Create a character")
    async def create(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(NameModal())

    async with running(bot, server):
        typed = await server.invoke_autocomplete("talk", {"npc": "M"}, focused="npc")
        await typed.wait_callback()
        shown = await server.invoke_slash("create", user="alice")
        await shown.wait_callback()
        answer = await server.submit_modal(shown, {"name": "Kestrel"})
        await answer.wait_callback()
    assert [c["name"] for c in typed.autocomplete_choices] == ["Mira", "Morgan"]
    assert shown.modal["title"] == "New character"
    assert submitted == ["Kestrel"]
    assert answer.original["content"] == "Created Kestrel" and answer.original["flags"] & 64


async def test_slow_first_response_misses_the_interaction_window(server: FakeDiscordServer) -> None:
    """Discord's 3 s window (shortened here): a late first response gets 10062 Unknown interaction."""
    server.interaction_deadline = 0.1
    bot = make_bot()
    errors: list[Exception] = []

    @bot.tree.command(name="slow", description="Thinks too long")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.2)
        await interaction.response.send_message("too late")

    @bot.tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        errors.append(error)

    async with running(bot, server):
        handle = await server.invoke_slash("slow")
        await server.wait_until(lambda: errors)
    assert isinstance(errors[0].original, discord.NotFound) and errors[0].original.code == 10062
    assert not handle.acknowledged


async def test_pointed_at_restores_the_urls(server: FakeDiscordServer) -> None:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with pointed_at(server):
        assert discord.http.Route.BASE == server.api_base
    assert discord.http.Route.BASE == base
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == gateway
