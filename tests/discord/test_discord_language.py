"""End to end on Discord: slash commands localized for zh-CN, and a Chinese world answering in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from discord_harness import CHARACTERS, ISLE, MANOR, Harness, content_of

from bot.discord_adapter.language import localized_locales
from bot.i18n import tr

TOWN = {
    "name": "落雁镇",
    "language": "zh",
    "description": "运河边的小镇。",
    "locations": [
        {"id": "ferry", "name": "落雁渡", "description": "老渡口。", "exits": ["inn"]},
        {"id": "inn", "name": "听雨楼", "description": "镇上最大的客栈。"},
    ],
    "cast": ["lin"],
    "narrator": {"name": "说书人"},
    "settings": {"chain_cap": 0},
}
LIN = {
    "name": "林晚",
    "description": "一个沉默的女侠。",
    "personality": "冷峻。",
    "voice": {"style": "话少。", "samples": [{"user": "你好？", "character": "*点头* 嗯。"}]},
    "start_location": "inn",
}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Path]:
    """The usual test content plus a small Chinese world."""
    characters, worlds = tmp_path / "characters", tmp_path / "worlds"
    characters.mkdir()
    worlds.mkdir()
    for cid, data in {**CHARACTERS, "lin": LIN}.items():
        (characters / f"{cid}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for wid, data in (("manor", MANOR), ("isle", ISLE), ("town", TOWN)):
        (worlds / f"{wid}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return characters, worlds


async def test_player_commands_are_synced_with_chinese_names_and_descriptions(harness: Harness) -> None:
    """Discord accepts the localized names (the fake checks Discord's name rules) and shows them to zh-CN users."""
    await harness.start()
    assert localized_locales() == ["zh-CN"]
    synced = {c["name"]: c for c in harness.server.calls_to("PUT", "/applications/{app}/commands")[0].json}
    summon = synced["summon"]
    assert summon["name_localizations"] == {"zh-CN": "召唤"}
    assert summon["description_localizations"] == {"zh-CN": tr("zh", "cmd.summon.desc")}
    options = {o["name"]: o for o in summon["options"]}
    assert options["character"]["description_localizations"] == {"zh-CN": "召唤谁"}
    for name in (
        "dismiss", "cast", "look", "go", "regenerate", "ooc", "pause", "resume", "why", "memory", "rewind", "tick", "export",
        "map", "privacy", "pacing",
    ):
        assert synced[name]["name_localizations"] == {"zh-CN": tr("zh", f"cmd.{name}")}, name
        assert not LATIN_WORD.search(synced[name]["description_localizations"]["zh-CN"]), name
        for option in synced[name].get("options", []):
            assert not LATIN_WORD.search(option["description_localizations"]["zh-CN"]), (name, option["name"])
    pins = {c["value"]: c["name_localizations"] for c in synced["pacing"]["options"][0]["choices"]}
    assert pins == {p: {"zh-CN": tr("zh", f"pacing.{p}")} for p in ("slow", "steady", "fast", "auto")}


async def test_a_chinese_world_answers_in_chinese(harness: Harness) -> None:
    """Narration, notices and command replies follow the world's language, whoever asks."""
    await harness.start()
    await harness.setup_scene(world="town")
    empty = await harness.slash("cast", user="bob")
    assert content_of(empty) == tr("zh", "cast.empty")
    summoned = await harness.summon("lin")
    assert content_of(summoned) == "林晚来到落雁渡。"
    looked = await harness.slash("look", user="bob")
    assert content_of(looked) == "落雁渡。老渡口。这里有：林晚。去路：听雨楼。"
    missing = await harness.slash("summon", {"character": "无名氏"}, user="bob")
    assert content_of(missing) == "落雁镇没有叫“无名氏”的人。可以召唤的角色：林晚。"
    paused = await harness.slash("pause", user="bob")
    assert content_of(paused) == tr("zh", "discord.paused")
    cast = await harness.slash("cast", user="bob")
    assert content_of(cast).startswith("- **林晚**：在场，落雁渡；心情：")
    privacy = await harness.slash("privacy", {"share": False}, user="bob")
    assert content_of(privacy) == tr("zh", "discord.privacy.out")
    pacing = await harness.slash("pacing", {"pin": "fast"}, user="alice")
    assert content_of(pacing).startswith("节奏：快（由管理员固定）。")
    for handle in (empty, summoned, looked, missing, paused, cast, privacy, pacing):
        assert not LATIN_WORD.search(re.sub(r"`[^`]*`|/[a-z]+", "", content_of(handle))), content_of(handle)


async def test_map_is_attached_as_a_png(harness: Harness) -> None:
    """/map: a PNG attachment for everyone, with a line in the world's language."""
    await harness.start()
    await harness.setup_scene(world="town")
    await harness.summon("lin")
    # Drawing (with matplotlib's first import) can take seconds on a busy machine: wait longer than usual.
    handle = await harness.server.invoke_slash("map", {}, user="bob", channel_id=harness.layout.roleplay_id)
    await handle.wait_callback()
    await handle.wait_followups(1, timeout=60)
    assert content_of(handle) == "落雁镇的地图。"
    upload = harness.server.uploads[-1]
    assert upload.filename == "map-town.png" and upload.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert upload.message_id == int(handle.followups[0]["id"])
