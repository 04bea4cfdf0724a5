"""``python -m bot play`` with a persona and control of the table, as a subprocess over the real SDK."""

from __future__ import annotations

from pathlib import Path

from cli.conftest import bot_env, play


def test_persona_table_control_and_own_lines_in_play(model_server, tmp_path: Path):
    env = bot_env(model_server, tmp_path / "play.db")
    model_server.enqueue("Evening, Captain Reyes.", "*Pip waves.* Hullo!", "I lean on the rail. 'Who lit the Gull Light?'", "Mm.")
    script = (
        "/summon Mira\n/summon Pip\nMira, evening.\n/go the Salt & Lantern\n/mode manual\nAnyone?\n/nudge Pip\n"
        "/hush Pip\n/nudge Pip\n/impersonate\n/nudge Mira\n/pause\nI wait by the door.\n/edit I wait by the fire.\n/unsay\n"
        "/persona clear\n/persona\n/persona Reyes | a captain\n/mode loud\n"
    )
    result = play(env, script, "--world", "harbor", "--user", "Ann", "--persona", "Captain Reyes: a scarred ex-navy captain")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "(!) You are Captain Reyes in this server's stories now" in out
    assert "> Captain Reyes: Mira, evening." in out and "Mira Salt: Evening, Captain Reyes." in out
    assert "[The Fog] Captain Reyes goes from Lantern Quay to The Salt & Lantern" in out
    assert "> Captain Reyes: Anyone?\n> Captain Reyes: /nudge Pip\nPip: *Pip waves.* Hullo!\n" in out  # manual: silence, then the nudge
    assert out.count("*Pip waves.* Hullo!") == 1
    assert "(!) Pip is hushed; /unhush them first." in out
    assert "Suggested line for Captain Reyes (only you see it; send it yourself if you like it): I lean on the rail." in out
    assert "(!) Your line now reads as edited" in out and "(!) Your line is gone from the story" in out
    assert "(!) You have no persona on this server" in out and "> Ann: /persona Reyes | a captain" in out
    assert "(!) Usage: /mode lively|mentioned|manual" in out
    asked = [r.messages for r in model_server.requests if r.messages and str(r.messages[0]["content"]).startswith("You are Mira")]
    assert "The user (Captain Reyes):\na scarred ex-navy captain" in asked[0][0]["content"]
    assert "Ann" not in str(asked[0])
    suggestion = next(r.messages for r in model_server.requests if "write their next line" in str(r.messages[0]["content"]))
    assert "Captain Reyes: a scarred ex-navy captain" in suggestion[0]["content"]
    assert "Mira Salt: Mm." in out and "Who lit the Gull Light" not in str(asked[-1])  # never seen by characters


def test_persona_commands_answer_in_chinese_in_the_chinese_world(model_server, tmp_path: Path):
    env = bot_env(model_server, tmp_path / "play.db")
    result = play(env, "/persona 只有名字\n/persona 设定 林晚 | 渡口的船娘\n/persona 查看\n/mode 手动\n/mode\n/persona 清除\n", "--world", "jianghu", "--user", "Ann")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "(!) 用法：/persona 名字 | 描述" in out
    assert "(!) 在这个服务器的故事里，你现在是林晚；角色们会这样称呼你。" in out
    assert "(!) 这里的应答模式现在是手动（只有你用 /nudge 催促时角色才说话）。" in out
    assert "(!) 你的人设：林晚。渡口的船娘" in out
    assert "(!) 这里的应答模式：手动" in out
    assert "(!) 人设已清除；角色们又用你的名字称呼你了。" in out
