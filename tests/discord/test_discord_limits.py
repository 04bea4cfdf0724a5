"""Limits and metrics on Discord: a player writing too fast gets a reaction (no message, no ping), a spent
budget one notice in the channel and a direct message to the owner, ``/limits`` for admins, and the
``/metrics`` text of a running bot (real discord.py against the fake server, real SQLite, real SDK)."""

from __future__ import annotations

import aiohttp
import pytest
from discord_harness import Harness, content_of, is_ephemeral, make_settings

from bot.discord_adapter.client import SLOW_DOWN_REACTION
from bot.discord_adapter.errors import ADMIN_REFUSAL
from bot.i18n import tr
from bot.metrics_server import MetricsServer

SPENT = tr("en", "limits.spent")

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL


@pytest.fixture
def settings(tmp_path, content, model_server, discord_server):
    return make_settings(tmp_path, content, model_server, discord_server, USER_LINES_PER_MINUTE=2)


async def started(harness: Harness) -> None:
    await harness.start()
    await harness.setup_scene()
    await harness.summon("Ada")


def bot_messages(harness: Harness) -> list[dict]:
    return [m for m in harness.server.messages_in(harness.layout.roleplay_id) if m["_source"] in ("webhook", "bot")]


async def test_a_player_past_the_limit_gets_a_reaction_and_no_answer(harness: Harness) -> None:
    await started(harness)
    for n in range(2):
        await harness.say(f"Ada, question {n}?")
        await harness.npc_line(after=len(harness.server.messages_in(harness.layout.roleplay_id)) - 1)
    before = len(bot_messages(harness))
    third = await harness.say("Ada, question 2?")
    fourth = await harness.say("Ada, question 3?")
    await harness.idle()
    assert len(bot_messages(harness)) == before, "held lines get no answer and no notice message"
    stored = {m["id"]: m for m in harness.server.messages_in(harness.layout.roleplay_id)}
    assert [r["emoji"]["name"] for r in stored[third["id"]].get("reactions", [])] == [SLOW_DOWN_REACTION]
    assert not stored[fourth["id"]].get("reactions"), "told once a minute"
    # Another player is answered at once.
    await harness.say("Ada, hello?", author="alice")
    await harness.npc_line(after=len(harness.server.messages_in(harness.layout.roleplay_id)) - 1)
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    texts = [m.text for m in await harness.app.store.transcript(scene.id) if m.kind == "user"]
    assert "Ada, question 2?" in texts and "Ada, question 3?" in texts, "nothing lost"


async def test_limits_command_is_for_admins_and_changes_the_servers_limits(harness: Harness) -> None:
    await started(harness)
    refused = await harness.slash("limits", user="bob")
    assert content_of(refused) == ADMIN_REFUSAL and is_ephemeral(refused)
    shown = await harness.slash("limits")
    assert "2 lines per player per minute" in content_of(shown) and is_ephemeral(shown)
    changed = await harness.slash("limits", {"lines_per_minute": 0, "tokens_per_day": 5000})
    text = content_of(changed)
    assert text.startswith("Changed.") and "no limit on lines" in text and "of 5,000 model tokens" in text
    own = await harness.app.engine.limits.for_guild(str(harness.layout.guild_id))
    assert own.lines_per_minute == 0 and own.tokens_per_day == 5000


async def test_a_spent_budget_tells_the_channel_once_and_the_owner_by_dm(harness: Harness) -> None:
    await started(harness)
    await harness.slash("limits", {"tokens_per_day": 100})
    # Spent by earlier calls today (the engine tests spend it through real calls).
    await harness.app.engine.limits.record(str(harness.layout.guild_id), None, 100)
    await harness.say("Ada, one?")
    await harness.say("Ada, two?", author="alice")
    await harness.say("Ada, three?", author="alice")
    await harness.idle()
    notices = [m for m in bot_messages(harness) if m["content"] == SPENT]
    assert len(notices) == 1
    owner = harness.layout.owner_id
    dms = [
        m for cid, ch in harness.server.channels.items() if ch["type"] == 1
        and ch["recipients"][0]["id"] == str(owner) for m in harness.server.messages_in(cid)
    ]
    assert len(dms) == 1 and "budget for today" in dms[0]["content"]


async def test_metrics_of_a_running_bot(harness: Harness) -> None:
    await started(harness)
    await harness.say("Ada, what is the news?")
    await harness.npc_line(after=len(harness.server.messages_in(harness.layout.roleplay_id)) - 1)
    server = MetricsServer(harness.app.engine.metrics, harness.bot.is_ready, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{server.port}/healthz") as health:
                assert health.status == 200
            async with session.get(f"http://127.0.0.1:{server.port}/metrics") as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
                text = await response.text()
    finally:
        await server.stop()
    assert 'ensemble_turns_total{kind="user"} 1.0' in text
    assert "ensemble_replies_total 1.0" in text
    assert 'ensemble_model_calls_total{purpose="npc",result="ok"} 1.0' in text
    assert 'ensemble_model_tokens_total{purpose="npc",type="prompt"}' in text
    assert 'ensemble_model_latency_seconds_count{purpose="npc"} 1.0' in text
    assert "ensemble_gateway_ready 1.0" in text
    assert "# TYPE ensemble_queue_depth gauge" in text


async def test_healthz_is_503_until_the_front_end_is_ready() -> None:
    from bot.engine.metrics import Metrics

    ready = False
    server = MetricsServer(Metrics(), lambda: ready, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{server.port}/healthz") as before:
                assert before.status == 503
            ready = True
            async with session.get(f"http://127.0.0.1:{server.port}/healthz") as after:
                assert after.status == 200
    finally:
        await server.stop()
