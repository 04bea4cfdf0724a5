"""The Chinese world played in the terminal: every line the engine writes itself is Chinese.

``python -m bot play --world jianghu`` as a subprocess against the local model server, through moves,
arrivals, departures, a locked door, an unreachable character, unknown names and places, a tick, memory,
/why, swipes, pacing and privacy, a persona, control of the table (modes, hush, nudge, impersonate), an edited and an unsaid
line, and usage errors. Characters' own lines are the model's business; every narrator and system
line must carry no Latin-script word (slash commands aside, which are typed as they are).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cli.conftest import bot_env, play
from cli.test_play_world import blocks

from bot.testing.openai_server import ServerThread

CAST = ("林晚", "钱掌柜", "苏子瑜", "小豆子")
KEPT = re.compile(r"/[a-z]+")  # commands are typed in ASCII in every language
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

SCRIPT = """/look
/summon 小豆子
/summon 苏子瑜
/summon 林晚 @ 听雨楼
/cast
林晚，你听得见吗？
这是秘密，别告诉别人，我答应过沈镖头。
小豆子，走吧。
我去青石长街
/look
/go 听雨楼
/go 酒窖
/go 听雨楼
/go 火星
/summon 无名氏
/tick
/memory 小豆子
/why
/dismiss 苏子瑜
/dismiss 苏子瑜
/pause
/resume
/regenerate
/swipe 上一个
/swipe 往左
/ooc 记一下
/rewind 1
/persona 阿安 | 镖局的少东家
/persona 查看
/mode 点名
/mode
/mode 热闹
/mode 响亮
/hush 小豆子
/hush 小豆子
/nudge 小豆子
/unhush 小豆子
/unhush 小豆子
/nudge 小豆子
/impersonate
/pause
我在门口等着。
/edit 我在火边等着。
/unsay
/unsay
/resume
/persona 清除
/persona 清除
/pacing 快
/pacing 乱
/pacing 自动
/privacy 关
/privacy 乱
/privacy 开
/frobnicate
/export
/help
"""


def chinese_model(body: dict[str, Any]) -> str:
    """A model that answers in Chinese: nobody moves, nothing happens off-screen, 小豆子 runs off when told to go."""
    messages = body["messages"]
    if body.get("response_format"):
        return json.dumps({"moves": []}) if "narrator" in str(messages[0]["content"]) else json.dumps({"actions": []})
    system = str(messages[0]["content"])
    last = str(messages[-1].get("content", "")) + str(messages[-2].get("content", "")) if len(messages) > 1 else ""
    if system.startswith("You are 小豆子") and "走吧" in last:
        return "*点点头，转身走向青石长街* 那我先去街上看看！"
    return "*抬眼看了看你* 嗯，我听着呢，你接着说。"


def system_lines(transcript: str) -> list[str]:
    """Every output line the engine wrote itself: all but characters' lines and the echoed input."""
    return [
        line
        for line in transcript.splitlines()
        if line.strip() and not line.startswith("> ") and not line.startswith(tuple(f"{name}: " for name in CAST))
    ]


def test_every_narrator_and_system_line_of_a_chinese_scene_is_chinese(tmp_path: Path):
    with ServerThread(responder=chinese_model) as server:
        result = play(bot_env(server, tmp_path / "zh.db"), SCRIPT, "--world", "jianghu", "--user", "阿安")
    assert result.returncode == 0, result.stderr
    lines = system_lines(result.stdout)
    assert len(lines) > 60, result.stdout  # the script really ran: help, look, memory and the rest
    latin = [line for line in lines if LATIN_WORD.search(KEPT.sub("", line))]
    assert not latin, "\n".join(latin)

    out = blocks(result.stdout)
    assert out["林晚，你听得见吗？"][0] == "[说书人] 林晚在听雨楼，从这里听不见你说话。"
    assert "[说书人] 小豆子往青石长街去了。" in out["小豆子，走吧。"]
    assert out["我去青石长街"][0] == "[说书人] 阿安从落雁渡来到青石长街。这里有：小豆子。听得见的地方：林晚（听雨楼）。"
    # A repeated input keeps the block of its last use: the second /look is on the long street.
    assert out["/look"][0].startswith("[说书人] 青石长街。") and "听得见的地方：林晚（听雨楼）。" in out["/look"][0]
    assert out["/go 酒窖"] == ["[说书人] 阿安从听雨楼经青石长街、城隍破庙来到听雨楼酒窖。这里没有故事里的人。"]
    assert out["/go 听雨楼"] == ["[说书人] 从听雨楼酒窖到听雨楼的路锁着，过不去。"]
    memory = out["/memory 小豆子"]
    assert memory[0] == "小豆子对这场戏记得的事：" and "由此想起：" in memory, memory
    assert any(line.startswith("- （第") and "轮）" in line for line in memory), memory
    assert out["/frobnicate"] == ["(!) 没有 /frobnicate 这个命令。输入 /help 查看命令。"]
    assert out["/hush 小豆子"] == ["(!) 小豆子已经被禁言了。"] and out["/unhush 小豆子"] == ["(!) 小豆子没有被禁言。"]
    assert out["/mode 响亮"] == ["(!) 用法：/mode 热闹|点名|手动"]
    assert out["/edit 我在火边等着。"] == ["(!) 你的话已按修改后的内容保存；角色们记得新的说法。"]
    assert out["/unsay"] == ["(!) 你的那句话已从故事里、也从角色们的记忆里删去。"]
    assert out["/impersonate"][0].startswith("给阿安的建议台词（只有你看得见；喜欢就自己发出去）：")
    assert out["/pacing 快"][0] == "节奏：快（由管理员固定）。" and out["/pacing 乱"] == ["(!) 用法：/pacing [慢|平稳|快|自动]"]
    assert out["/pacing 自动"][0].startswith("节奏：平稳（推断得分")
    assert out["/privacy 关"] == ["(!) 隐私：你参与的场景不会进入本服务器的偏好数据导出。输入 /privacy 开 即可允许。"]
    assert out["/privacy 乱"] == ["(!) 用法：/privacy [开|关]"] and out["/privacy 开"][0].startswith("(!) 隐私：你的重写选择可能进入")
    assert out["/persona 清除"] == ["(!) 你在这个服务器上没有人设；角色们用你的名字称呼你。"]


def test_a_locked_door_is_narrated_as_locked_in_chinese(tmp_path: Path):
    """From the cellar the only way back is the locked door: the narrator says it is locked."""
    script = "/go 酒窖\n/go 听雨楼\n"
    with ServerThread(responder=chinese_model) as server:
        result = play(bot_env(server, tmp_path / "zh.db"), script, "--world", "jianghu", "--user", "阿安")
    out = blocks(result.stdout)
    assert out["/go 听雨楼"] == ["[说书人] 从听雨楼酒窖到听雨楼的路锁着，过不去。"]
