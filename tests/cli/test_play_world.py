"""Acceptance of the living world in a scripted terminal scene: three characters in two places.

Only present characters answer; the addressed one answers first; leaving a room leaves its occupants
silent; a forced tick moves an absent character and, back in the scene, it mentions what it did.
The model server's responder plays a faithful model: it answers as the character its prompt names,
and tells what the prompt says the character did while the players were away.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cli.conftest import bot_env, play

from bot.testing.openai_server import ServerThread

PLAN = {
    "actions": [
        {
            "character": "old-tom",
            "action": "Old Tom Gannet hauled a green bottle with a letter inside out of the water at the Drowned Steps.",
            "move_to": "drowned-steps",
            "mood": "curious",
        }
    ]
}


def faithful(body: dict[str, Any]) -> str:
    messages = body["messages"]
    system = str(messages[0]["content"])
    if body.get("response_format"):
        return json.dumps(PLAN) if "off-screen life" in system else json.dumps({"moves": []})
    speaker = re.match(r"You are (.+?),", system)
    name = speaker.group(1) if speaker else "Someone"
    everything = "\n".join(str(m.get("content", "")) for m in messages)
    away = re.search(r"While the players were away: (.+)", everything)
    if away:
        return f"Listen close: {away.group(1)}"
    return f"({name} answers briefly.)"


SCRIPT = """/summon Mira
/summon Old Tom
/summon Pip @ the lighthouse
Tom and Mira, what news from the boats?
Pip, can you hear me?
/go the lighthouse
Tom, are you still there?
Pip, hello.
/tick
/go quay
/go the steps
Tom, what have you been up to?
/why
"""


def blocks(transcript: str) -> dict[str, list[str]]:
    """The output lines that follow each scripted input line."""
    result: dict[str, list[str]] = {}
    current = ""
    for line in transcript.splitlines():
        if line.startswith("> "):
            current = line.split(": ", 1)[1]
            result[current] = []
        elif current:
            result[current].append(line)
    return result


def test_three_characters_two_places(tmp_path: Path):
    with ServerThread(responder=faithful) as server:
        result = play(bot_env(server, tmp_path / "w.db"), SCRIPT, "--world", "harbor", "--user", "Ann")
    assert result.returncode == 0, result.stderr
    out = blocks(result.stdout)

    first = out["Tom and Mira, what news from the boats?"]
    speakers = [line.split(":", 1)[0] for line in first if not line.startswith(("[", "(!)"))]
    assert speakers[:2] == ["Old Tom Gannet", "Mira Salt"], "the addressed answer, the first named first"
    assert "Pip" not in speakers, "Pip is at the lighthouse and cannot hear the quay"

    absent = out["Pip, can you hear me?"]
    assert any("Pip is at The Gull Light and cannot hear you" in line for line in absent)
    assert not any(line.startswith("Pip:") for line in absent)

    left_behind = out["Tom, are you still there?"]
    assert not any(line.startswith(("Old Tom Gannet:", "Mira Salt:")) for line in left_behind)
    assert any("cannot hear you" in line for line in left_behind)
    assert any(line.startswith("Pip:") for line in out["Pip, hello."])

    tick = " ".join(out["/tick"])
    assert "Meanwhile..." in tick and "green bottle" in tick

    back = out["Tom, what have you been up to?"]
    assert any(line.startswith("Old Tom Gannet:") and "green bottle with a letter" in line for line in back)
    assert any("-> Old Tom Gannet" in line and "named in the line" in line for line in out["/why"])
