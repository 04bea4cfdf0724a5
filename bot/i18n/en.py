"""English: the reference catalog. Every other language has exactly these keys and placeholders."""

from __future__ import annotations

from bot.i18n.catalog import Language, Template

MESSAGES: dict[str, Template] = {
    # -- pacing (bot/world/pacing.py) -----------------------------------------------------------
    "pacing.head": "Pacing: {label} ({how}).",
    "pacing.pinned": "pinned by an admin",
    "pacing.inferred": "inferred, score {score}",
    "pacing.effect": "Effect: reply length x{length}, chance of a reaction x{chain}, a plot hook after {hook} quiet turns.",
    "pacing.slow": "slow",
    "pacing.steady": "steady",
    "pacing.fast": "fast",
    # -- narration of space (bot/world/narrator.py) ---------------------------------------------
    "move.no_way": "There is no way from {src} to {dst} from here.",
    "move.locked": "The way from {src} to {dst} is locked.",
    "move.too_far": "{dst} is too far to reach in one go from {src}.",
    "move.user": "{who} goes from {src} to {dst}{route}{companion}.",
    "move.route": " by way of {via}",
    "move.companion": ", following {name}",
    "move.here": "Here: {names}.",
    "move.nobody_here": "Nobody from the story is here.",
    "npc.leaves": "{name} leaves for {dst}.",
    "npc.arrives": "{name} arrives from {src}.",
    "hearing.out_of_earshot": "{name} is at {place} and cannot hear you from here.",
    "hearing.somewhere_else": "somewhere else",
    # -- commands (bot/engine/commands.py) ------------------------------------------------------
    "find.no_character": "Nobody called {name!r} lives in {world}. The cast: {cast}.",
    "find.no_place": "There is no place called {name!r} in {world}. Places: {places}.",
    "summon.already": "{name} is already in the scene, at {place}.",
    "summon.arrives": "{name} arrives at {place}.",
    "summon.joins": "{name} joins the scene at {place}.",
    "dismiss.not_member": "{name} is not in this scene.",
    "dismiss.leaves": "{name} steps out of the story for now.",
    "feelings.players": "the players",
    "feelings.entry": "{who} {affinity:+d}",
    "look.place": "{name}. {description}",
    "look.earshot": "Within earshot: {names}.",
    "look.earshot_entry": "{name} ({place})",
    "look.players": "Players here: {names}.",
    "look.ways": "Ways on: {places}.",
    "look.locked": "{place} (locked)",
    "look.one_way": "{place} (one way)",
    "go.already": "{who} is already at {place}.",
    "regenerate.none": "There is no character reply to regenerate.",
    "regenerate.settled": "The story has moved on; only the latest replies can be regenerated.",
    "swipe.none": "That message has no alternatives.",
    "swipe.settled": "The story has moved on; the reply that was kept stays.",
    "ooc.noted": "Noted for the narrator; the characters did not hear it.",
    "why.none": "No speaker has been chosen in this scene yet.",
    "why.decision": "Decision ({context}): {note}",
    "why.nobody_heard": "   nobody could hear it",
    "why.context.line": "line",
    "why.context.chain": "chain step {n}",
    "why.note.addressed": "addressed",
    "why.note.best_fit": "best fit",
    "why.note.best_fit_question": "best fit (open question)",
    "why.note.nobody_hears": "nobody can hear the line",
    "why.note.speaking_off": "speaking is turned off",
    "why.note.nobody_reacts": "nobody to react",
    "why.note.reaction": "reaction to {who}",
    "why.reason.replied": "the line replies to its message",
    "why.reason.named": "named in the line",
    "why.reason.asked": "asked a question",
    "why.reason.open_question": "an open question",
    "why.reason.goals": "the line touches its goals ({n} words)",
    "why.reason.mood": "mood {mood}",
    "why.reason.talkativeness": "talkativeness {value}",
    "why.reason.quiet": "quiet for {n} lines",
    "why.reason.never_spoke": "has not spoken yet",
    "why.reason.spoke_last": "spoke last",
    "why.reason.continuing": "would be continuing its own line",
    "cast.present": "here, at {place}",
    "cast.away": "away, at {place}",
    "cast.entry": "{name}: {where}; mood {mood} ({intensity:.1f}){feelings}",
    "cast.feelings": "; feels: {feelings}",
    "cast.empty": "Nobody is in this scene yet. Bring someone in with /summon.",
    # -- the turn (bot/engine/scene.py) ----------------------------------------------------------
    "turn.failed": "Something went wrong ({code}); your line is saved.",
    "turn.model_unavailable": "The storyteller's model is not answering right now; try again in a moment.",
    "error.code": "Something went wrong ({code}).",
    "cast.taken": (
        "This server's cast already has a character called {name}. Import it again with rename on to add it as a "
        "second one, or remove the other first."
    ),
    # -- memory (bot/engine/remembering.py) ------------------------------------------------------
    "fact.secret": "secret",
    "fact.promise": "promise",
    "fact.injury": "injury",
    "fact.identity": "identity",
    "fact.possession": "possession",
    "fact.decision": "decision",
    "memory.title": "What {name} remembers of this scene:",
    "memory.summary": "Summary: {summary}",
    "memory.no_summary": "Summary: none yet.",
    "memory.facts": "Facts it has written down:",
    "memory.recalled": "It brings to mind:",
    "memory.latest": "The latest line it heard: {speaker}: {text}",
    "memory.offscreen": "Off-screen, it lived through:",
    "memory.state": "Mood: {mood} ({intensity:.1f}); at {place}.",
    "memory.feels": "- feels {affinity:+d} toward {who}",
    "memory.feels_note": "- feels {affinity:+d} toward {who}: {note}",
    "memory.nothing": "Nothing of note yet.",
    "rewind.done": {"one": "Rewound {n} turn.", "other": "Rewound {n} turns."},
    "rewind.usage": "Usage: /rewind N (the number of turns to undo)",
    # -- events told to an NPC (bot/world/describe.py) -------------------------------------------
    "event.you": "you",
    "event.players": "the players",
    "event.offscreen": "While the players were away: {text}",
    "event.move": "{who} went from {src} to {dst}.",
    "event.summon": "{who} came to {dst}.",
    # -- off-screen life (bot/world/director.py) -------------------------------------------------
    "meanwhile": "Meanwhile... {text}",
    "meanwhile.nothing": "Time passes; nothing stirs.",
    "offscreen.went": "{name} went over to {place}.",
    "offscreen.stayed": "{name} stayed at {place}, lost in thought.",
    "offscreen.language": "Write every action in English.",
    # -- the terminal (bot/cli/play.py) ----------------------------------------------------------
    "mood.calm": "calm",
    "mood.hurt": "hurt",
    "mood.warm": "warm",
    "play.default_player": "Traveller",
    "usage.summon": "/summon NAME [@ PLACE]",
    "usage.dismiss": "/dismiss NAME",
    "usage.go": "/go PLACE",
    "usage.memory": "/memory NAME",
    "usage.ooc": "/ooc TEXT",
    "usage.export": "/export FILE",
    "usage.swipe": "/swipe prev|next",
    "usage.map": "/map [FILE]",
    "play.title": "== {world} == (type /help for commands)",
    "play.other_world": "The scene {scene!r} belongs to the world {world}; playing that.",
    "play.interrupted": {
        "one": "{n} line was saved but not answered before the last stop.",
        "other": "{n} lines were saved but not answered before the last stop.",
    },
    "play.nobody": "Nobody is in the scene yet. Try /summon NAME. The cast: {cast}.",
    "play.paused": "The scene is paused.",
    "play.resumed": "The scene goes on.",
    "play.exported": "Transcript written to {path}.",
    "play.map": "Map written to {path}.",
    "play.unknown": "Unknown command /{command}. Type /help for the list.",
    "play.usage": "Usage: {usage}",
    "play.no_reply": "There is no character reply to browse.",
    "play.help": (
        "Commands:\n"
        "  /summon NAME [@ PLACE]   bring a character into the scene\n"
        "  /dismiss NAME            send a character out of the scene\n"
        "  /cast                    who is in the scene, where, in what mood\n"
        "  /look                    the narrator describes where you are\n"
        "  /go PLACE                walk to an adjacent place\n"
        "  /map [FILE]              draw the world's map (PNG) and print where it is\n"
        "  /regenerate              a new alternative for the last reply\n"
        "  /swipe prev|next         browse the alternatives of the last reply\n"
        "  /pause, /resume          stop or restart the characters answering\n"
        "  /ooc TEXT                a note to the narrator that characters do not hear\n"
        "  /why                     why the last speaker was chosen (scores and reasons)\n"
        "  /tick                    let the world live: absent characters act off-screen\n"
        "  /memory NAME             what a character remembers of this scene\n"
        "  /rewind N                undo the last N turns and what they changed\n"
        "  /export FILE             write the transcript as JSON Lines\n"
        "  /pacing [slow|steady|fast|auto]  the pace inferred from how you play, and why; an argument pins it\n"
        "  /privacy [on|off]        whether your swipes may go into preference exports on this server\n"
        "  /help                    this list\n"
        "  /quit                    leave (the scene is saved)\n"
        "Anything else is your line in the story."
    ),
    # -- the map (bot/world/worldmap.py) ---------------------------------------------------------
    "map.title": "{world}: who is where",
    "map.legend.open": "open way",
    "map.legend.one_way": "one way",
    "map.legend.locked": "locked",
    "map.legend.audible": "voices carry",
    "map.legend.players": "players",
    "map.legend.characters": "characters",
    "map.players": "Players: {names}",
    # -- Discord replies (bot/discord_adapter) ---------------------------------------------------
    "discord.not_enabled": "Role-play is not on in this channel. A server admin can turn it on with `/scene channel`.",
    "discord.no_world": "This server has no world yet. A server admin can choose one with `/world setup`.",
    "discord.done": "Done.",
    "discord.paused": "The scene is paused: the characters will not answer until `/resume`.",
    "discord.resumed": "The scene goes on.",
    "discord.rewound": {
        "one": "Rewound {n} turn: the story continues from before it.",
        "other": "Rewound {n} turns: the story continues from before them.",
    },
    "discord.exported": {
        "one": "The transcript of this scene: {n} line.",
        "other": "The transcript of this scene: {n} lines.",
    },
    "discord.on_screen": "On screen now: {what}.",
    "discord.never_posted": "That line was never posted here.",
    "discord.alternative": "{name}: alternative {label}",
    "discord.no_alternatives": "That line has no alternatives here.",
    "discord.unchangeable": "That line can no longer be changed.",
    "discord.moved_on": "The story has moved on; that line stays as it is.",
    "discord.stale": "That line can no longer be changed here (its message or webhook is gone); the new text is kept.",
    "discord.busy": "I'm still answering earlier lines in this channel; send that again in a moment.",
    "discord.admin_only": "Only members with the **Manage Server** permission can use this command.",
    "discord.guild_only": "This command only works in a server.",
    "discord.not_here": "You cannot use this command here.",
    "discord.imported": "**{name}** joined this server's cast of {world}; `/summon {name}` brings them in.",
    "discord.map": "The map of {world}.",
    # -- slash command names and descriptions (Discord shows them in the user's language) --------
    "cmd.summon": "summon",
    "cmd.summon.desc": "Bring a character into this scene",
    "cmd.summon.character": "who to bring in",
    "cmd.summon.location": "where they arrive (default: where you are)",
    "cmd.dismiss": "dismiss",
    "cmd.dismiss.desc": "Send a character out of this scene",
    "cmd.dismiss.character": "who leaves the scene",
    "cmd.cast": "cast",
    "cmd.cast.desc": "Who is in this scene, where, and in what mood",
    "cmd.look": "look",
    "cmd.look.desc": "The narrator describes where you are and who is there",
    "cmd.go": "go",
    "cmd.go.desc": "Walk to an adjacent place",
    "cmd.go.place": "where to go",
    "cmd.map": "map",
    "cmd.map.desc": "A picture of the world: places, ways, who is where",
    "cmd.regenerate": "regenerate",
    "cmd.regenerate.desc": "A new alternative for the latest character line",
    "cmd.ooc": "ooc",
    "cmd.ooc.desc": "A note to the narrator that the characters do not hear",
    "cmd.ooc.text": "your out-of-character note",
    "cmd.pause": "pause",
    "cmd.pause.desc": "Pause this channel's scene: characters stop answering",
    "cmd.resume": "resume",
    "cmd.resume.desc": "Resume this channel's scene",
    "cmd.why": "why",
    "cmd.why.desc": "Why the last character spoke: the scheduler's reasons (admins)",
    "cmd.memory": "memory",
    "cmd.memory.desc": "What a character remembers of this scene (admins)",
    "cmd.memory.character": "whose memory",
    "cmd.rewind": "rewind",
    "cmd.rewind.desc": "Undo the last turns of this scene and what they changed (admins)",
    "cmd.rewind.turns": "how many turns to undo",
    "cmd.tick": "tick",
    "cmd.tick.desc": "Let the world live now: absent characters act off-screen (admins)",
    "cmd.export": "export",
    "cmd.export.desc": "This scene's transcript as a JSON Lines file",
}

LANGUAGE = Language(
    code="en",
    name="English",
    plural=lambda n: "one" if n == 1 else "other",
    list_separator=", ",
    sentence_separator=" ",
    messages=MESSAGES,
    discord_locales=("en-US", "en-GB"),
)
