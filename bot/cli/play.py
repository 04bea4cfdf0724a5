"""``python -m bot play``: a scene in the terminal, driven through the same engine as Discord.

On a terminal it prompts; when stdin is not a terminal it reads lines from stdin and prints the
transcript, so a scene can be scripted. Scenes persist in the database: quitting and starting again
continues the story.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.app import App, open_app, setup_logging
from bot.engine.export import to_jsonl
from bot.engine.limits import RATE_LIMITED
from bot.engine.lines import InboundLine, Narration, Notice, SceneKey, TurnOutcome, Utterance
from bot.engine.maps import render_scene_map
from bot.engine.scene import error_code
from bot.errors import EnsembleError
from bot.i18n import CODES, join, mood, tr
from bot.settings import load_settings
from bot.store.outbox import OutboxLine
from bot.world.director import Director, director_random

LOCAL_GUILD = "local"
# Login names that are accounts, not people: "Root goes to the quay" reads badly.
ACCOUNT_NAMES = frozenset({"root", "admin", "administrator", "user", "ubuntu", "nobody", "guest"})

def dim(text: str, out: TextIO) -> str:
    """Faint text on a terminal (ANSI), plain text when the output is a file or a pipe."""
    return f"\x1b[2m{text}\x1b[0m" if getattr(out, "isatty", lambda: False)() else text


@dataclass
class Terminal:
    """Renders engine outputs as lines of text."""

    out: TextIO
    last_message_id: int | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def render(self, outcome: TurnOutcome, *, story: bool = True) -> None:
        """Print an outcome; with ``story`` False only its notices (the lines came through the outbox)."""
        for output in outcome.outputs:
            if isinstance(output, Notice) and output.code == RATE_LIMITED:
                self.say(dim(f"(slow down) {output.text}", self.out))  # quiet: the player's own pace
            elif isinstance(output, Notice):
                self.say(f"(!) {output.text}")
            elif story:
                self.show(output)

    def show(self, output: Utterance | Narration) -> None:
        if isinstance(output, Utterance):
            self.last_message_id = output.message_id
            suffix = f"  [{output.swipe_index + 1}/{output.swipe_count}]" if output.swipe_count > 1 else ""
            self.say(f"{output.speaker}: {output.text}{suffix}")
        else:
            self.say(f"[{output.speaker}] {output.text}")

    async def deliver(self, line: OutboxLine, output: Utterance | Narration) -> None:
        """The outbox poster's delivery: a terminal line cannot fail to post, but it goes the same way."""
        self.show(output)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("play", help="play a scene in the terminal", description=__doc__)
    parser.add_argument("--world", required=True, help="world id (a file name in worlds/ without .yaml)")
    parser.add_argument("--scene", default=None, help="scene name, to keep several stories in one world")
    parser.add_argument("--user", default=None, help="your name in the story (default: your login name)")
    parser.add_argument(
        "--persona", default=None, metavar='"NAME: DESCRIPTION"',
        help='who you are in the story, e.g. "Reyes: a scarred ex-navy captain" (kept; /persona clear forgets it)',
    )
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


def default_player_name(login: str | None, language: str) -> str:
    """The player's name when ``--user`` is not given: the login name, capitalised ("ann" -> "Ann").

    Never "You": the narrator writes "{name} goes from ..." and characters address the player by it.
    Without a usable login name (none, or an account such as "root") the world's language supplies a neutral one ("Traveller", "旅人").
    """
    name = (login or "").strip()
    if not name or not any(ch.isalpha() for ch in name) or name.casefold() in ACCOUNT_NAMES:
        return tr(language, "play.default_player")
    return name[:1].upper() + name[1:] if name.islower() else name


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no password-database entry (some containers)
        return None


async def _play(args: argparse.Namespace, settings) -> int:
    interactive = sys.stdin.isatty()
    terminal = Terminal(sys.stdout)
    async with open_app(settings) as app:
        key = SceneKey(LOCAL_GUILD, f"play:{args.scene or args.world}")
        scene = await app.engine.open_scene(key, args.world)
        world = app.engine.world(scene.world_id)
        lang = world.language
        user = args.user or default_player_name(_login(), lang)
        if args.persona:
            terminal.say("(!) " + await app.engine.personas.set_text(LOCAL_GUILD, f"local:{user}", args.persona, lang))
        if scene.world_id != args.world:
            terminal.say("(!) " + tr(lang, "play.other_world", scene=args.scene, world=scene.world_id))
        if app.interrupted_turns:
            terminal.say("(!) " + tr(lang, "play.interrupted", n=app.interrupted_turns))
        terminal.say(tr(lang, "play.title", world=world.name))
        terminal.render(await app.engine.look(key))
        if not await app.store.members(scene.id):
            cast = join(lang, (c.name for c in app.library.cast_of(world.id)))
            terminal.say("(!) " + tr(lang, "play.nobody", cast=cast))
        poster = app.engine.attach_poster(terminal.deliver)
        await poster.flush(key)  # lines committed before a stop and never printed
        # The director's own random source: /tick never shifts the engine's draws (scripted replays match).
        director = Director(app.engine, clock=app.engine.clock, rng=director_random(settings.random_seed))
        shown = await app.engine.personas.name_for(LOCAL_GUILD, f"local:{user}", user)
        for raw in _lines(interactive, f"{shown}> "):
            line = raw.strip()
            if not line:
                continue
            if not interactive:
                terminal.say(f"> {await app.engine.personas.name_for(LOCAL_GUILD, f'local:{user}', user)}: {line}")
            if line in ("/quit", "/exit"):
                break
            try:
                await _dispatch(app, key, line, user, terminal, director, lang)
            except EnsembleError as exc:
                terminal.say(f"(!) {exc.user_message}")
            except Exception as exc:  # never a traceback on the terminal: a code to find it in the log
                terminal.say("(!) " + tr(lang, "error.code", code=error_code(exc)))
        await app.engine.drain()
        await poster.drain()
    return 0


async def _dispatch(
    app: App, key: SceneKey, line: str, user: str, terminal: Terminal, director: Director, lang: str = "en"
) -> None:
    engine = app.engine
    author_id = f"local:{user}"

    def _need(value: str, usage: str) -> str:
        """``value``, or a usage line for the command ``usage`` names."""
        if not value:
            raise EnsembleError(tr(lang, "play.usage", usage=tr(lang, f"usage.{usage}")))
        return value

    if not line.startswith("/"):
        outcome = await engine.handle(InboundLine(key, author_id=f"local:{user}", author_name=user, text=line))
        if engine.poster is not None:
            # The story lines were committed to the outbox with their turns: print them from there, in order.
            await engine.poster.flush(key)
        terminal.render(outcome, story=engine.poster is None)
        return
    command, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    handlers: dict[str, Callable[[], object]] = {
        "summon": lambda: _summon(engine, key, _need(rest, "summon")),
        "dismiss": lambda: engine.dismiss(key, _need(rest, "dismiss")),
        "look": lambda: engine.look(key),
        "go": lambda: engine.go(key, _need(rest, "go"), user, author_id),
        "regenerate": lambda: engine.regenerate(key),
        "swipe": lambda: _swipe(engine, key, rest, lang),
    }
    if command == "help":
        terminal.say(tr(lang, "play.help"))
    elif command == "cast":
        entries = await engine.cast(key)
        if not entries:
            terminal.say("(!) " + tr(lang, "cast.empty"))
        for entry in entries:
            where = tr(lang, "cast.present" if entry.present else "cast.away", place=entry.location_name)
            feelings = tr(lang, "cast.feelings", feelings=entry.feelings) if entry.feelings else ""
            said = tr(lang, "cast.entry", name=entry.name, where=where, mood=mood(lang, entry.mood_label), intensity=entry.mood_intensity, feelings=feelings)
            terminal.say(f"- {said}")
    elif command == "why":
        terminal.say(await engine.why(key))
    elif command == "tick":
        report = await director.tick(key.guild_id, (await engine.require_scene(key)).world_id)
        names = {c.id: c.name for c in app.library.cast_of(report.world_id, key.guild_id)}
        world = app.engine.world(report.world_id)
        terminal.say(f"[{world.narrator.name}] {report.meanwhile(names, lang) or tr(lang, 'meanwhile.nothing')}")
    elif command == "memory":
        terminal.say(await engine.memory(key, _need(rest, "memory")))
    elif command == "rewind":
        count = int(rest) if rest.strip().isdigit() else 0
        if count <= 0:
            raise EnsembleError(tr(lang, "rewind.usage"))
        removed = await engine.rewind(key, count)
        terminal.say("(!) " + tr(lang, "rewind.done", n=removed))
    elif command == "ooc":
        terminal.render(await engine.ooc(key, f"local:{user}", user, _need(rest, "ooc")))
    elif command == "export":
        target = Path(_need(rest, "export"))
        target.write_text(to_jsonl(await engine.export(key)), encoding="utf-8")
        terminal.say("(!) " + tr(lang, "play.exported", path=target))
    elif command == "map":
        scene = await engine.require_scene(key)
        target = Path(rest or f"{scene.world_id}-map.png").expanduser().resolve()
        target.write_bytes(await render_scene_map(engine, key, [await engine.personas.name_for(key.guild_id, author_id, user)]))
        terminal.say("(!) " + tr(lang, "play.map", path=target))
    elif command == "pacing":
        terminal.say(await engine.pin_pacing(key, rest) if rest else await engine.pacing(key))
    elif command == "privacy":
        terminal.say(await privacy_command(app.store, key.guild_id, f"local:{user}", rest, lang))
    elif command == "nudge":
        outcome = await engine.table.nudge(key, _need(rest, "nudge"))
        if engine.poster is not None:
            await engine.poster.flush(key)  # the nudged line was committed to the outbox with its turn
        terminal.render(outcome, story=engine.poster is None)
    elif command == "persona":
        terminal.say("(!) " + await _persona(engine, key.guild_id, author_id, rest, lang))
    elif command in ("hush", "unhush"):
        terminal.say("(!) " + await engine.table.hush(key, _need(rest, command), command == "hush"))
    elif command == "mode":
        terminal.say("(!) " + (await engine.table.set_mode(key, rest) if rest else await engine.table.mode(key)))
    elif command == "impersonate":
        terminal.say(dim(await engine.table.impersonate(key, author_id, user), terminal.out))  # only shown, never sent
    elif command == "edit":
        notice = await engine.own_lines.edit(key, _need(rest, "edit"), author_id=author_id)
        terminal.render(TurnOutcome((notice,) if notice else ()))
    elif command in ("unsay", "delete"):
        notice = await engine.own_lines.delete(key, author_id=author_id)
        terminal.render(TurnOutcome((notice,) if notice else ()))
    elif command in ("pause", "resume"):
        await engine.set_paused(key, command == "pause")
        terminal.say("(!) " + tr(lang, "play.paused" if command == "pause" else "play.resumed"))
    elif command in handlers:
        outcome = await handlers[command]()  # type: ignore[misc]
        if outcome is not None:
            terminal.render(outcome)  # type: ignore[arg-type]
    else:
        terminal.say("(!) " + tr(lang, "play.unknown", command=command))


async def privacy_command(store, guild_id: str, user_id: str, rest: str, lang: str) -> str:
    """``/privacy [on|off]`` (or the words of the world's language): show or set whether this player's
    scenes may go into preference exports."""
    from bot.store import preferences

    choice = rest.strip().casefold()
    if choice in ("opt-out", "no", *(tr(code, "privacy.off").casefold() for code in CODES)):
        await preferences.set_opt_out(store, guild_id, user_id, True)
    elif choice in ("opt-in", "yes", *(tr(code, "privacy.on").casefold() for code in CODES)):
        await preferences.set_opt_out(store, guild_id, user_id, False)
    elif choice:
        raise EnsembleError(tr(lang, "privacy.usage"))
    out = user_id in await preferences.opted_out(store, guild_id)
    return "(!) " + tr(lang, "privacy.out" if out else "privacy.in")


async def _persona(engine, guild_id: str, author_id: str, rest: str, lang: str) -> str:
    """``/persona [show]``, ``/persona clear``, ``/persona [set] NAME | DESCRIPTION``."""
    word, _, tail = rest.partition(" ")
    word = word.lower()
    if not rest or word in ("show", "查看"):
        return await engine.personas.show(guild_id, author_id, lang)
    if word in ("clear", "清除") and not tail.strip():
        return await engine.personas.clear(guild_id, author_id, lang)
    return await engine.personas.set_text(guild_id, author_id, tail if word in ("set", "设定") else rest, lang)


async def _summon(engine, key: SceneKey, rest: str) -> TurnOutcome:
    name, _, place = rest.partition("@")
    return await engine.summon(key, name.strip(), place.strip() or None)


async def _swipe(engine, key: SceneKey, rest: str, lang: str) -> TurnOutcome:
    step = {"prev": -1, "previous": -1, "next": 1, "上一个": -1, "下一个": 1}.get(rest.lower())
    if step is None:
        raise EnsembleError(tr(lang, "play.usage", usage=tr(lang, "usage.swipe")))
    scene = await engine.require_scene(key)
    message = await engine.store.last_npc_message(scene.id)
    if message is None:
        raise EnsembleError(tr(lang, "play.no_reply"))
    return await engine.show_swipe(key, message.id, step)
