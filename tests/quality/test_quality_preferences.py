"""Preference data from swipes: the engine stores each alternative's prompt, ``export-preferences`` writes DPO
records (chosen = on screen when the story moved on), one server at a time, without opted-out players.

Real parts: a SQLite file, the engine, the openai SDK over HTTP against the local server.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content.loader import Library
from bot.content.models import Character, World
from bot.core.ports import ChatMessage
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.errors import EnsembleError
from bot.model.openai_chat import OpenAIChatModel
from bot.quality.preferences import Alternative, ExportTally, SwipedLine, preference_records, prompt_json
from bot.store import Store
from bot.store import preferences as repo
from bot.testing.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]


def _character(cid: str, name: str) -> Character:
    return Character.model_validate(
        {"id": cid, "name": name, "description": f"{name} keeps the manor.", "personality": "dry",
         "voice": {"style": "short", "samples": [{"user": "Hello?", "character": "Ada nods."}]}, "talkativeness": 0.5, "start_location": "hall"}
    )


LIBRARY = Library(
    characters={"ada": _character("ada", "Ada")},
    worlds={"manor": World.model_validate(
        {"id": "manor", "name": "The Manor", "description": "An old manor.",
         "locations": [{"id": "hall", "name": "Great Hall", "description": "A cold hall."}],
         "cast": ["ada"], "settings": {"chain_cap": 0}}
    )},
)


@pytest.fixture
async def server():
    async with OpenAIServer() as running:
        yield running


@pytest.fixture
async def engine(store, clock, server):
    model = OpenAIChatModel(base_url=server.base_url, api_key="k", model="fake-model", max_attempts=1)
    built = SceneEngine(store=store, model=model, library=LIBRARY, clock=clock, rng=random.Random(3))
    yield built
    await model.aclose()


def say(key: SceneKey, text: str, user: str = "u1") -> InboundLine:
    return InboundLine(key, user, "Ann" if user == "u1" else "Bo", text)


async def play_with_swipes(engine: SceneEngine, server: OpenAIServer, key: SceneKey, tag: str) -> int:
    """Three alternatives of Ada's first line, the second kept; then a line with one alternative; settled."""
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Ada")
    server.enqueue(f'Ada frowns. "{tag} take one. What do you want?"', f'Ada smiles. "{tag} take two. Sit down, then."',
                   f'Ada shrugs. "{tag} take three. Suit yourself."')
    first = (await engine.handle(say(key, "Ada, may I stay the night?"))).utterances[0]
    await engine.regenerate(key)
    await engine.regenerate(key)
    shown = (await engine.show_swipe(key, first.message_id, -1)).utterances[0]
    assert tag in shown.text and "two" in shown.text
    server.enqueue(f'Ada nods. "{tag} one alternative only. Goodnight."', 'Ada yawns. "Off to bed with you."')
    await engine.handle(say(key, "Thank you, Ada."))  # the story moves on: take two is kept
    await engine.handle(say(key, "Goodnight, Ada."))  # and the single-alternative line settles too
    return first.message_id


async def test_swipes_store_the_prompt_the_model_saw(engine, server, store) -> None:
    key = SceneKey("guild-a", "channel-1")
    message_id = await play_with_swipes(engine, server, key, "A")
    (line,) = await repo.swiped_lines(store, "guild-a")
    assert line.message_id == message_id and [a.kept for a in line.alternatives] == [False, True, False]
    sent = [r.body["messages"] for r in server.requests if r.path.endswith("/chat/completions")]
    # The engine's messages (roles and speaker names as the engine wrote them); the backend may fold them
    # for a server without native roles, so every stored message is found in what went over the wire.
    for alternative, request in zip(line.alternatives, sent[:3], strict=True):
        assert alternative.prompt is not None
        wire = "\n".join(str(m.get("content")) for m in request)
        assert all(m["content"].strip() in wire for m in alternative.prompt)


async def test_export_chosen_rejected_one_server_only(engine, server, store) -> None:
    """One record for the swiped line (chosen = on screen when the story moved on); none for single lines;
    another server's swipes never appear."""
    await play_with_swipes(engine, server, SceneKey("guild-a", "channel-1"), "A")
    await play_with_swipes(engine, server, SceneKey("guild-b", "channel-9"), "B")
    tally = ExportTally()
    records = preference_records(await repo.swiped_lines(store, "guild-a"), await repo.opted_out(store, "guild-a"), tally=tally)
    (record,) = records
    assert record["chosen"] == [{"role": "assistant", "content": 'Ada smiles. "A take two. Sit down, then."'}]
    assert record["rejected"] == [
        [{"role": "assistant", "content": 'Ada frowns. "A take one. What do you want?"'}],
        [{"role": "assistant", "content": 'Ada shrugs. "A take three. Suit yourself."'}],
    ]
    assert record["character"] == "ada" and record["world"] == "manor" and record["scene"] == "channel-1"
    assert record["time"] and record["alternatives"] == 3
    assert any("Ada, may I stay the night?" in m["content"] for m in record["prompt"])
    assert {m["role"] for m in record["prompt"]} >= {"system", "user"}
    assert "B take" not in json.dumps(records)
    assert (tally.lines, tally.records) == (1, 1)
    pairs = preference_records(await repo.swiped_lines(store, "guild-a"), pairs=True)
    assert [p["rejected"][0]["content"].split('"')[1].split(".")[0] for p in pairs] == ["A take one", "A take three"]
    assert all(isinstance(p["rejected"], list) and p["chosen"] == record["chosen"] for p in pairs)


async def test_unsettled_lines_yield_nothing(engine, server, store) -> None:
    key = SceneKey("guild-a", "channel-1")
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Ada")
    server.enqueue("Ada: first.", "Ada: second.")
    await engine.handle(say(key, "Ada?"))
    await engine.regenerate(key)
    assert await repo.swiped_lines(store, "guild-a") == []  # the story has not moved on yet


async def test_opting_out_leaves_the_scene_out_on_that_server_only(engine, server, store) -> None:
    await play_with_swipes(engine, server, SceneKey("guild-a", "channel-1"), "A")
    await play_with_swipes(engine, server, SceneKey("guild-b", "channel-9"), "B")
    await repo.set_opt_out(store, "guild-a", "u1", True)
    await repo.set_opt_out(store, "guild-a", "u1", True)  # twice is once
    tally = ExportTally()
    assert preference_records(await repo.swiped_lines(store, "guild-a"), await repo.opted_out(store, "guild-a"), tally=tally) == []
    assert tally.skipped == {"a player opted out": 1}
    assert len(preference_records(await repo.swiped_lines(store, "guild-b"), await repo.opted_out(store, "guild-b"))) == 1
    await repo.set_opt_out(store, "guild-a", "u1", False)
    assert len(preference_records(await repo.swiped_lines(store, "guild-a"), await repo.opted_out(store, "guild-a"))) == 1


def _alt(idx: int, text: str, kept: bool, prompt: bool = True) -> Alternative:
    return Alternative(idx, text, kept, [{"role": "user", "content": "hi"}] if prompt else None, "t")


def _line(*alternatives: Alternative, players: frozenset[str] = frozenset({"u1"})) -> SwipedLine:
    return SwipedLine(1, "g", 1, "c", "w", "ada", "Ada", "t", tuple(alternatives), players)


def test_records_rules_pure() -> None:
    """One alternative, no stored prompt, identical alternatives: nothing, each counted with its reason."""
    tally = ExportTally()
    lines = [
        _line(_alt(0, "only", True)),
        _line(_alt(0, "a", True, prompt=False), _alt(1, "b", False)),
        _line(_alt(0, "same", True), _alt(1, "same", False)),
        _line(_alt(0, "a", False), _alt(1, "b", False)),
        _line(_alt(0, "a", True), _alt(1, "b", False)),
    ]
    assert len(preference_records(lines, tally=tally)) == 1
    assert tally.skipped == {"one alternative": 1, "no stored prompt": 1, "alternatives identical": 1, "no alternative kept": 1}


async def test_export_command(engine, server, store, tmp_path: Path) -> None:
    """``python -m bot export-preferences``: one server per export, --scene, JSON Lines out."""
    await play_with_swipes(engine, server, SceneKey("guild-a", "channel-1"), "A")
    await play_with_swipes(engine, server, SceneKey("guild-b", "channel-9"), "B")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "DISCORD_"))}
    env["DATABASE_PATH"] = str(tmp_path / "test.db")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "export-preferences", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    out = tmp_path / "prefs.jsonl"
    ambiguous = run("--out", str(out))
    assert ambiguous.returncode == 2 and "holds 2 servers" in ambiguous.stderr and not out.exists()
    done = run("--out", str(out), "--guild", "guild-b")
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert "B take two" in record["chosen"][0]["content"]
    # In standard roles the prompt is exactly what went over the wire for the chosen alternative (the
    # second chat request of guild-b's scene: the first regeneration).
    sent = [r.body["messages"] for r in server.requests if r.path.endswith("/chat/completions")]
    assert record["prompt"] == sent[6]
    assert {m["role"] for m in record["prompt"]} <= {"system", "user", "assistant"}
    assert "1 record(s) from 1 line(s)" in done.stdout
    pairs = run("--out", str(out), "--guild", "guild-a", "--scene", "channel-1", "--pairs")
    assert pairs.returncode == 0 and len(out.read_text(encoding="utf-8").splitlines()) == 2
    missing = run("--out", str(out), "--guild", "guild-a", "--scene", "nowhere")
    assert missing.returncode == 2 and "No scene 'nowhere'" in missing.stderr


async def test_export_refuses_an_unknown_server(store, tmp_path: Path) -> None:
    from bot.cli.preferences import export

    with pytest.raises(EnsembleError, match="No scene of server"):
        await export(tmp_path / "test.db", guild="elsewhere", scene=None, pairs=False)
    records, tally, guild = await export(tmp_path / "empty.db", guild=None, scene=None, pairs=False)
    assert records == [] and guild == ""
    opened = await Store.open(tmp_path / "x.db")  # opens and migrates cleanly with the new migration
    await opened.close()  # an open store's aiosqlite thread would keep the interpreter from exiting


def test_prompt_json_is_json_dumps_of_the_messages_though_each_message_is_encoded_once():
    rng = random.Random(5)
    alphabet = 'ab "\\\n\t—é中😀\x00\u2028'
    for _ in range(200):
        messages = [
            ChatMessage(rng.choice(["system", "user", "assistant"]), "".join(rng.choice(alphabet) for _ in range(rng.randrange(40))),
                        name=rng.choice([None, "", "Ann", "Old Tom"]))
            for _ in range(rng.randrange(6))
        ]
        plain = [{"role": m.role, "content": m.content, **({"name": m.name} if m.name else {})} for m in messages]
        assert prompt_json(messages) == json.dumps(plain, ensure_ascii=False)
        assert json.loads(prompt_json(messages)) == plain
