"""End to end on Discord: slash commands localized for zh-CN, and a Chinese world answering in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from discord_harness import CHARACTERS, ISLE, MANOR, Harness, content_of, custom_ids, labels

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


# -- the admins' server setup ------------------------------------------------------------------------

ADMIN_COMMANDS = ("limits", "world", "character", "scene")
# Kept in Latin letters in Chinese too: `code`, /commands, channel mentions, a time zone, sizes, file formats.
KEPT = re.compile(r"`[^`]*`|/[a-z_]+(?: [a-z_]+)?|<#\d+>|\b(?:UTC|KiB|MiB|PNG|JSON|CHARX)\b")


def latin_words(text: str, *typed: str) -> list[str]:
    """Latin-script words left in ``text`` besides what may stay Latin and what the admin ``typed``."""
    for word in typed:
        text = text.replace(word, "")
    return LATIN_WORD.findall(KEPT.sub("", text))


def card(name: str) -> bytes:
    import json

    data = {"name": name, "description": f"{name}在渡口采药。", "personality": "沉静。", "first_mes": "*低头* 嗯。"}
    return json.dumps({"spec": "chara_card_v2", "spec_version": "2.0", "data": data}, ensure_ascii=False).encode()


async def test_admin_commands_are_synced_with_chinese_names_and_descriptions(harness: Harness) -> None:
    """/limits, /world, /character and /scene, their subcommands and options, carry zh-CN localizations."""
    await harness.start()
    synced = {c["name"]: c for c in harness.server.calls_to("PUT", "/applications/{app}/commands")[0].json}

    def check(entry: dict, key: str) -> None:
        assert entry["name_localizations"] == {"zh-CN": tr("zh", key)}, key
        assert entry["description_localizations"] == {"zh-CN": tr("zh", f"{key}.desc")}, key
        assert not latin_words(entry["description_localizations"]["zh-CN"]), key
        for option in entry.get("options", []):
            if option["type"] in (1, 2):  # a subcommand
                check(option, f"{key}.{option['name']}")
            else:
                described = option["description_localizations"]["zh-CN"]
                assert described == tr("zh", f"{key}.{option['name']}") and not latin_words(described), (key, option["name"])

    for name in ADMIN_COMMANDS:
        check(synced[name], f"cmd.{name}")
    subcommands = {name: {o["name"]: o["name_localizations"]["zh-CN"] for o in synced[name]["options"]} for name in ("world", "character", "scene")}
    assert subcommands == {"world": {"setup": "设定", "info": "概况", "reset": "重置"}, "character": {"import": "导入"}, "scene": {"channel": "频道"}}
    zh_names = [c["name_localizations"]["zh-CN"] for c in synced.values() if c.get("name_localizations")]
    assert len(zh_names) == len(set(zh_names)), "two commands would look the same to a zh-CN user"


async def test_admin_commands_answer_in_chinese_in_a_chinese_world(harness: Harness, monkeypatch) -> None:
    """Setting up, inspecting, limiting, importing into and resetting a Chinese world: every reply is Chinese."""
    await harness.start()
    said: list[tuple[str, tuple[str, ...]]] = []

    async def admin(name: str, options: dict | None = None, *typed: str, user: str = "alice") -> str:
        text = content_of(await harness.slash(name, options, user=user))
        said.append((text, typed))
        return text

    assert await admin("world setup", {"world": "town"}) == tr("zh", "world.set_up", world="落雁镇")
    channel = f"<#{harness.layout.roleplay_id}>"
    assert await admin("scene channel", {"enabled": True}) == f"{channel}开启了角色扮演（落雁镇）。用 `/summon` 召唤角色。"
    info = await admin("world info")
    assert info.startswith("**落雁镇**（`town`）\n运河边的小镇。") and "**角色：**林晚" in info and "落雁渡、听雨楼" in info
    assert channel in info
    shown = await admin("limits")
    assert shown.startswith("限额：") and "今天（UTC）已用模型词元0个" in shown
    changed = await admin("limits", {"lines_per_minute": 3, "tokens_per_day": 5000})
    assert changed.startswith("已修改。限额：每位玩家每分钟最多3句；") and "额度5,000个" in changed
    refused = await admin("limits", user="bob")
    assert refused == tr("zh", "discord.admin_only")
    imported = await admin("character import", {"file": harness.server.stage_attachment("baizhi.json", card("白芷"))}, "baizhi")
    warning = tr("zh", "card.warn.sample_from_greeting")  # the card has no example messages
    assert imported == tr("zh", "discord.imported", name="白芷", world="落雁镇") + f"\n- {warning}"
    from bot.discord_adapter import commands

    monkeypatch.setattr(commands, "CARD_SIZE_LIMIT", 10)
    too_large = await admin("character import", {"file": harness.server.stage_attachment("big.json", card("大"))}, "big.json")
    assert too_large.startswith("big.json太大了")
    monkeypatch.undo()
    unknown = await admin("world setup", {"world": "nowhere"})
    assert unknown.startswith("没有叫“nowhere”的世界。可选的世界：")  # the list names the worlds as written
    await harness.summon("lin")
    elsewhere = await admin("world setup", {"world": "manor"})
    assert elsewhere == tr("zh", "world.under_way", world="落雁镇")

    asked = await harness.slash("world reset")
    question = harness.server.messages[asked.original_id]
    assert content_of(asked) == tr("zh", "reset.confirm")
    assert labels(question) == ["重置故事", "取消"]
    confirm, cancel = custom_ids(question)
    not_yours = await harness.server.click_button(asked.original_id, confirm, user="bob")
    await not_yours.wait_callback()
    assert not_yours.callbacks[0]["data"]["content"] == tr("zh", "reset.not_yours")
    cancelled = await harness.server.click_button(asked.original_id, cancel, user="alice")
    await cancelled.wait_callback()
    assert cancelled.callbacks[0]["data"]["content"] == "什么都没有重置。"
    asked = await harness.slash("world reset")
    done = await harness.server.click_button(asked.original_id, custom_ids(harness.server.messages[asked.original_id])[0], user="alice")
    await done.wait_callback()
    assert done.callbacks[0]["data"]["content"] == "故事已经重置：忘掉了1个场景。1个频道的角色扮演仍然开着，从头开始。"
    off = await admin("scene channel", {"enabled": False})
    assert off == f"{channel}关闭了角色扮演。故事会保留下来，重新开启就能接着演。"

    for text, typed in said:
        if text is not unknown:  # that one lists the worlds under their own (here English) names
            assert not latin_words(text, *typed), text
    for text in (content_of(asked), *labels(question), not_yours.callbacks[0]["data"]["content"], done.callbacks[0]["data"]["content"]):
        assert not latin_words(text), text


async def test_a_spent_budget_is_told_in_the_worlds_language(harness: Harness) -> None:
    """The channel's notice and the owner's direct message when a Chinese world's server spent its day."""
    await harness.start()
    await harness.setup_scene(world="town")
    await harness.summon("lin")
    await harness.slash("limits", {"tokens_per_day": 100})
    await harness.app.engine.limits.record(str(harness.layout.guild_id), None, 100)
    await harness.say("林晚，在吗？")
    await harness.idle()
    notices = [m["content"] for m in harness.server.messages_in(harness.layout.roleplay_id) if m["_source"] == "bot"]
    assert tr("zh", "limits.spent") in notices
    owner = str(harness.layout.owner_id)
    dms = [
        m["content"] for cid, ch in harness.server.channels.items() if ch["type"] == 1 and ch["recipients"][0]["id"] == owner
        for m in harness.server.messages_in(cid)
    ]
    assert len(dms) == 1 and dms[0].startswith("Ensemble：服务器") and not latin_words(dms[0], "Ensemble")


async def test_a_server_without_a_world_answers_in_its_preferred_locale(harness: Harness) -> None:
    """Before /world setup there is no world's language: the server's locale when the catalog has it, then the
    asker's, then English."""
    await harness.start()
    server, guild = harness.server, harness.layout.guild_id

    async def text(name: str, options: dict | None = None, *, locale: str = "en-US") -> str:
        handle = await server.invoke_slash(name, options, user="alice", channel_id=harness.layout.roleplay_id, locale=locale)
        await handle.wait_callback()
        if handle.callback_types[0] == 5:
            await handle.wait_followups(1)
        return content_of(handle)

    assert await text("world info", locale="zh-CN") == tr("en", "discord.no_world"), "an en-US server reads English"
    server.set_guild_locale(guild, "zh-CN")
    for name, options in (("world info", None), ("scene channel", {"enabled": True}), ("character import", {"file": server.stage_attachment("a.json", card("甲"))})):
        assert await text(name, options) == tr("zh", "discord.no_world"), name
    unknown = await text("world setup", {"world": "nowhere"})
    assert unknown.startswith("没有叫“nowhere”的世界。")
    asked = await text("world reset")
    assert asked == tr("zh", "reset.confirm")
    server.set_guild_locale(guild, "fr")  # a locale the catalog lacks: the asker's own
    assert await text("world info", locale="zh-CN") == tr("zh", "discord.no_world")
    assert await text("world info", locale="fr") == tr("en", "discord.no_world")
