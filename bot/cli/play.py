"""``python -m bot play``: a scene in the terminal, driven through the same engine as Discord.

On a terminal it prompts; when stdin is not a terminal it reads lines from stdin and prints the
transcript, so a scene can be scripted. Scenes persist in the database: quitting and starting again
continues the story.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.app import App, open_app, setup_logging
from bot.engine.export import to_jsonl
from bot.engine.lines import InboundLine, Narration, Notice, SceneKey, TurnOutcome, Utterance
from bot.engine.scene import safe_message
from bot.errors import EnsembleError
from bot.settings import load_settings
from bot.world.director import Director

LOCAL_GUILD = "local"

HELP = """Commands:
  /summon NAME [@ PLACE]   bring a character into the scene
  /dismiss NAME            send a character out of the scene
  /cast                    who is in the scene, where, in what mood
  /look                    the narrator describes where you are
  /go PLACE                walk to an adjacent place
  /regenerate              a new alternative for the last reply
  /swipe prev|next         browse the alternatives of the last reply
  /pause, /resume          stop or restart the characters answering
  /ooc TEXT                a note to the narrator that characters do not hear
  /why                     why the last speaker was chosen (scores and reasons)
  /tick                    let the world live: absent characters act off-screen
  /memory NAME             what a character remembers of this scene
  /rewind N                undo the last N turns and what they changed
  /export FILE             write the transcript as JSON Lines
  /pacing [slow|steady|fast|auto]  the pace inferred from how you play, and why; an argument pins it
  /privacy [on|off]        whether your swipes may go into preference exports on this server
  /help                    this list
  /quit                    leave (the scene is saved)
Anything else is your line in the story."""


@dataclass
class Terminal:
    """Renders engine outputs as lines of text."""

    out: TextIO
    last_message_id: int | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def render(self, outcome: TurnOutcome) -> None:
        for output in outcome.outputs:
            if isinstance(output, Utterance):
                self.last_message_id = output.message_id
                suffix = f"  [{output.swipe_index + 1}/{output.swipe_count}]" if output.swipe_count > 1 else ""
                self.say(f"{output.speaker}: {output.text}{suffix}")
            elif isinstance(output, Narration):
                self.say(f"[{output.speaker}] {output.text}")
            elif isinstance(output, Notice):
                self.say(f"(!) {output.text}")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("play", help="play a scene in the terminal", description=__doc__)
    parser.add_argument("--world", required=True, help="world id (a file name in worlds/ without .yaml)")
    parser.add_argument("--scene", default=None, help="scene name, to keep several stories in one world")
    parser.add_argument("--user", default="You", help="your name in the story (default: You)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except EnsembleError as exc:
        print(exc.user_message, file=sys.stderr)
        return 2
    setup_logging(settings, default_level="WARNING")
    try:
        return asyncio.run(_play(args, settings))
    except EnsembleError as exc:
        print(exc.user_message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _lines(interactive: bool, prompt: str) -> Iterator[str]:
    if interactive:
        while True:
            try:
                yield input(prompt)
            except EOFError:
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


async def _play(args: argparse.Namespace, settings) -> int:
    interactive = sys.stdin.isatty()
    terminal = Terminal(sys.stdout)
    async with open_app(settings) as app:
        key = SceneKey(LOCAL_GUILD, f"play:{args.scene or args.world}")
        scene = await app.engine.open_scene(key, args.world)
        if scene.world_id != args.world:
            terminal.say(f"(!) The scene {args.scene!r} belongs to the world {scene.world_id}; playing that.")
        world = app.engine.world(scene.world_id)
        if app.interrupted_turns:
            terminal.say(f"(!) {app.interrupted_turns} line(s) were saved but not answered before the last stop.")
        terminal.say(f"== {world.name} == (type /help for commands)")
        terminal.render(await app.engine.look(key))
        if not await app.store.members(scene.id):
            cast = ", ".join(c.name for c in app.library.cast_of(world.id))
            terminal.say(f"(!) Nobody is in the scene yet. Try /summon NAME. The cast: {cast}.")
        for raw in _lines(interactive, f"{args.user}> "):
            line = raw.strip()
            if not line:
                continue
            if not interactive:
                terminal.say(f"> {args.user}: {line}")
            if line in ("/quit", "/exit"):
                break
            try:
                await _dispatch(app, key, line, args.user, terminal)
            except EnsembleError as exc:
                terminal.say(f"(!) {exc.user_message}")
            except Exception as exc:  # never a traceback on the terminal: a code to find it in the log
                terminal.say(f"(!) {safe_message(exc)}")
        await app.engine.drain()
    return 0


async def _dispatch(app: App, key: SceneKey, line: str, user: str, terminal: Terminal) -> None:
    engine = app.engine
    if not line.startswith("/"):
        outcome = await engine.handle(InboundLine(key, author_id=f"local:{user}", author_name=user, text=line))
        terminal.render(outcome)
        return
    command, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    handlers: dict[str, Callable[[], object]] = {
        "summon": lambda: _summon(engine, key, rest),
        "dismiss": lambda: engine.dismiss(key, _need(rest, "/dismiss NAME")),
        "look": lambda: engine.look(key),
        "go": lambda: engine.go(key, _need(rest, "/go PLACE"), user),
        "regenerate": lambda: engine.regenerate(key),
        "swipe": lambda: _swipe(engine, key, rest, terminal),
    }
    if command == "help":
        terminal.say(HELP)
    elif command == "cast":
        entries = await engine.cast(key)
        if not entries:
            terminal.say("(!) Nobody is in the scene. Try /summon NAME.")
        for entry in entries:
            where = "here" if entry.present else f"away, at {entry.location_name}"
            feelings = f"; feels: {entry.feelings}" if entry.feelings else ""
            terminal.say(f"- {entry.name}: {where}; mood {entry.mood_label} ({entry.mood_intensity:.1f}){feelings}")
    elif command == "why":
        terminal.say(await engine.why(key))
    elif command == "tick":
        report = await Director(engine, clock=engine.clock, rng=engine.rng).tick(key.guild_id, (await engine.require_scene(key)).world_id)
        names = {c.id: c.name for c in app.library.cast_of(report.world_id, key.guild_id)}
        terminal.say(f"[{app.engine.world(report.world_id).narrator.name}] {report.meanwhile(names) or 'Time passes; nothing stirs.'}")
    elif command == "memory":
        terminal.say(await engine.memory(key, _need(rest, "/memory NAME")))
    elif command == "rewind":
        count = int(rest) if rest.strip().isdigit() else 0
        if count <= 0:
            raise EnsembleError("Usage: /rewind N (the number of turns to undo)")
        removed = await engine.rewind(key, count)
        terminal.say(f"(!) Rewound {removed} turn(s).")
    elif command == "ooc":
        terminal.render(await engine.ooc(key, f"local:{user}", user, _need(rest, "/ooc TEXT")))
    elif command == "export":
        target = Path(_need(rest, "/export FILE"))
        target.write_text(to_jsonl(await engine.export(key)), encoding="utf-8")
        terminal.say(f"(!) Transcript written to {target}.")
    elif command == "pacing":
        terminal.say(await engine.pin_pacing(key, rest) if rest else await engine.pacing(key))
    elif command == "privacy":
        terminal.say(await privacy_command(app.store, key.guild_id, f"local:{user}", rest))
    elif command in ("pause", "resume"):
        await engine.set_paused(key, command == "pause")
        terminal.say("(!) The scene is paused." if command == "pause" else "(!) The scene goes on.")
    elif command in handlers:
        outcome = await handlers[command]()  # type: ignore[misc]
        if outcome is not None:
            terminal.render(outcome)  # type: ignore[arg-type]
    else:
        terminal.say(f"(!) Unknown command /{command}. Type /help for the list.")


async def privacy_command(store, guild_id: str, user_id: str, rest: str) -> str:
    """``/privacy [on|off]``: show or set whether this player's scenes may go into preference exports."""
    from bot.store import preferences

    choice = rest.strip().lower()
    if choice in ("off", "opt-out", "no"):
        await preferences.set_opt_out(store, guild_id, user_id, True)
    elif choice in ("on", "opt-in", "yes"):
        await preferences.set_opt_out(store, guild_id, user_id, False)
    elif choice:
        raise EnsembleError("Usage: /privacy [on|off]")
    out = user_id in await preferences.opted_out(store, guild_id)
    if out:
        return "(!) Privacy: scenes you play in are left out of preference exports on this server. /privacy on to allow."
    return "(!) Privacy: your swipes may go into preference exports on this server (never other servers). /privacy off to opt out."


def _need(value: str, usage: str) -> str:
    if not value:
        raise EnsembleError(f"Usage: {usage}")
    return value


async def _summon(engine, key: SceneKey, rest: str) -> TurnOutcome:
    name, _, place = _need(rest, "/summon NAME [@ PLACE]").partition("@")
    return await engine.summon(key, name.strip(), place.strip() or None)


async def _swipe(engine, key: SceneKey, rest: str, terminal: Terminal) -> TurnOutcome:
    step = {"prev": -1, "previous": -1, "next": 1}.get(rest.lower())
    if step is None:
        raise EnsembleError("Usage: /swipe prev|next")
    scene = await engine.require_scene(key)
    message = await engine.store.last_npc_message(scene.id)
    if message is None:
        raise EnsembleError("There is no character reply to browse.")
    return await engine.show_swipe(key, message.id, step)
