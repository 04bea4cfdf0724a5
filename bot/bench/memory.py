"""``bench memory``: a synthetic 1,000-turn scene with 50 planted facts, Ensemble's prompt layout
against a naive "full history truncated to the budget" baseline.

The scene: several NPCs of the shipped harbour world, the players moving between places (who is
present changes every few dozen turns), filler talk, and 50 facts planted early ("I hid the silver
locket under the floorboard of the chapel") that are referenced much later, once by keyword ("where
is the silver locket?") and once by a paraphrase of the keyword's context ("what did I tuck beneath
the chapel floorboard?"), always to an NPC who heard the fact. For each NPC call it records prompt
tokens, whether the referenced fact is in the prompt, the common prefix with that NPC's previous
prompt, and assembly time (pure assembly: the data is already loaded, as the engine's caches hold it).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.bench.report import percentile, print_table, write_json
from bot.content.loader import load_content
from bot.engine.ports import ChatMessage
from bot.engine.prompting import PresentCharacter, TurnContext, static_system_prompt
from bot.memory.facts import extract_facts
from bot.memory.layout import Line, PromptInputs, assemble
from bot.memory.retrieval import Memory
from bot.memory.tokens import TokenCounter

OBJECTS = [
    "silver locket", "brass key", "sea chart", "black pearl", "tin whistle", "signet ring", "ledger page", "glass eye",
    "ivory comb", "copper compass", "wax seal", "bone dice", "jade button", "iron nail", "amber bead", "salt cellar",
    "velvet purse", "hollow coin", "ship bell", "quill knife", "ruby pin", "lamp wick", "cork float", "paper crane",
    "oak token", "pewter cup", "rope charm", "shark tooth", "tide table", "red ribbon", "bronze medal", "tar brush",
    "owl feather", "lead weight", "gold thread", "blue bottle", "whale rib", "lantern lens", "map case", "skull pipe",
    "crab claw", "mirror shard", "flint stone", "tarot card", "hair clasp", "sealing ring", "pocket watch", "dried rose",
    "music box", "cameo brooch",
]
NOUNS = ["floorboard", "rafter", "chimney", "cistern", "gravestone", "hayloft", "barrel", "anchor", "mooring", "pulpit"]
BUILDINGS = ["chapel", "smithy", "lighthouse", "brewery", "granary", "boathouse", "schoolhouse", "tannery", "customs", "mill"]
FILLER_USER = [
    "The fog is thick again tonight.", "How are the nets holding up?", "I could use something warm to drink.",
    "Did the gulls wake you too?", "Tell me about the tides this week.", "The wind keeps changing its mind.",
    "What do the fishermen say about the weather?", "My boots are soaked through.", "Is it always this quiet here?",
    "The lanterns look dim this evening.", "I heard singing from the water.", "Shall we sit a while?",
]
FILLER_NPC = [
    "*pulls the shawl tighter* Fog comes and goes; the town stays.", "Nets hold if you mend them before they need it.",
    "*pours something steaming* Drink, before it cools.", "Gulls wake everyone. It is their one talent.",
    "Spring tides on the new moon, neaps after. Mind the weed on the steps.", "The wind is honest at least; it never hides.",
    "They say it will turn by morning. They always say that.", "*nods at the fire* Dry them there, then.",
    "Quiet is a kind of weather here too.", "Oil is dear this month; the lamps feel it.",
    "Singing? *frowns* Best not to answer it.", "Sit. The night is long enough for it.",
]


@dataclass
class Plant:
    turn: int
    npc: str
    text: str
    keyword_query: str
    paraphrase_query: str
    marker: str
    references: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Call:
    """One measured NPC call."""

    turn: int
    npc: str
    tokens: int
    prefix_tokens: int | None
    seconds: float
    fact_present: bool | None
    reference: str | None


def _plants(rng: random.Random, turns: int, cast: Sequence[str], present_at) -> list[Plant]:
    pairs = [(n, b) for n in NOUNS for b in BUILDINGS]
    rng.shuffle(pairs)
    plants = []
    plant_turns = sorted(rng.sample(range(5, min(turns // 2, 600)), 50))
    for index, turn in enumerate(plant_turns):
        noun, building = pairs[index]
        obj = OBJECTS[index]
        npc = rng.choice(present_at(turn))
        text = f"Here is a secret: I hid the {obj} under the {noun} of the {building}."
        plant = Plant(
            turn=turn,
            npc=npc,
            text=text,
            keyword_query=f"Where did I put the {obj} again?",
            paraphrase_query=f"What was it I tucked beneath the {building} {noun}?",
            marker=obj,
        )
        # References come much later: one in the last quarter, one anywhere in the second half.
        late = rng.randrange(min(max(turn + turns // 7, turns - turns // 4), turns - 1), turns)
        later = rng.randrange(min(max(turn + turns // 10, turns // 2), turns - 1), turns)
        plant.references = [(later, plant.keyword_query), (late, plant.paraphrase_query)]
        plants.append(plant)
    return plants


def _common_prefix_tokens(a: list[ChatMessage], b: list[ChatMessage], counter: TokenCounter) -> int:
    total = 0
    for x, y in zip(a, b, strict=False):
        if x == y:
            total += counter.message(x)
            continue
        if x.role == y.role and x.name == y.name:
            shared = 0
            for cx, cy in zip(x.content, y.content, strict=False):
                if cx != cy:
                    break
                shared += 1
            total += counter.text(x.content[:shared])
        break
    return total


def _naive(static: str, lines: Sequence[Line], budget: int, counter: TokenCounter) -> list[ChatMessage]:
    """The typical front end: one system prompt and as much recent history as fits."""
    messages = [ChatMessage("system", static)]
    used = counter.messages(messages)
    history: list[ChatMessage] = []
    for line in reversed(lines):
        message = ChatMessage("assistant", line.text) if line.own else ChatMessage("user", line.text, name=line.speaker)
        cost = counter.message(message)
        if used + cost > budget:
            break
        history.append(message)
        used += cost
    return messages + list(reversed(history))


def run_memory_bench(*, turns: int, budget: int, seed: int, characters_dir: Path, worlds_dir: Path) -> dict[str, Any]:
    library = load_content(characters_dir, worlds_dir)
    world = library.worlds["harbor"]
    cast = [c.id for c in library.cast_of("harbor")]
    names = {c.id: c.name for c in library.cast_of("harbor")}
    rng = random.Random(seed)
    counter = TokenCounter()
    # Who is with the players: a changing group of 2-3 NPCs, and the place changes with it.
    groups = []
    for start in range(0, turns + 1, 40):
        groups.append((start, rng.sample(cast, rng.choice([2, 3])), rng.choice(world.locations).id))

    def group_at(turn: int) -> tuple[list[str], str]:
        current = groups[0]
        for g in groups:
            if g[0] <= turn:
                current = g
        return current[1], current[2]

    plants = _plants(rng, turns, cast, lambda t: group_at(t)[0])
    planted_at = {p.turn: p for p in plants}
    references: dict[int, tuple[Plant, str]] = {}
    for plant in plants:
        for when, query in plant.references:
            while when in references or when in planted_at:
                when = when + 1 if when + 1 <= turns else rng.randrange(turns // 2, turns)
            references[when] = (plant, query)

    heard: dict[str, list[Line]] = defaultdict(list)
    all_lines: list[Line] = []
    memories: dict[str, list[Memory]] = defaultdict(list)
    last_prompt: dict[str, list[ChatMessage]] = {}
    last_naive: dict[str, list[ChatMessage]] = {}
    calls: list[Call] = []
    naive_calls: list[Call] = []
    summary_text: dict[str, str] = {}
    windows: dict[str, int] = {}
    next_id = 0
    statics = {cid: static_system_prompt(library.characters[cid], world) for cid in cast}

    def add_line(turn: int, speaker_id: str | None, speaker: str, text: str, hearers: Sequence[str]) -> None:
        nonlocal next_id
        next_id += 1
        for who in hearers:
            heard[who].append(Line(next_id, turn, speaker, text, own=(who == speaker_id)))
        all_lines.append(Line(next_id, turn, speaker, text, own=False))
        for fact in extract_facts(speaker, text):
            for who in hearers:
                memories[who].append(Memory(next_id, fact.text, fact.importance, turn, fact.kind))

    for turn in range(1, turns + 1):
        present, place = group_at(turn)
        if turn % 20 == 0:
            for who in present:
                summary_text[who] = (
                    f"Up to turn {turn}, the players and {names[who]} talked mostly of fog, tides and nets at "
                    f"{world.location(place).name}; the players confided several secrets."
                )
        if turn in planted_at:
            plant = planted_at[turn]
            addressee = plant.npc
            user_text = f"{names[addressee].split()[0]}, {plant.text}"
            reference = None
            kind = None
        elif turn in references:
            plant, query = references[turn]
            addressee = plant.npc
            user_text = f"{names[addressee].split()[0]}, {query}"
            reference = plant
            kind = "keyword" if query == plant.keyword_query else "paraphrase"
        else:
            addressee = rng.choice(present)
            user_text = rng.choice(FILLER_USER)
            reference = None
        kind = kind if reference else None
        hearers = sorted(set(present) | {addressee})
        add_line(turn, None, "Ann", user_text, hearers)
        character = library.characters[addressee]
        others = [PresentCharacter(names[o], "calm") for o in hearers if o != addressee]
        inputs = PromptInputs(
            character=character,
            world=world,
            scene_name=f"{world.name} / bench",
            lines=heard[addressee][-400:],
            turn=TurnContext(world.location(place), others, "watchful", 0.4, ["Ann"]),
            now_seq=turn,
            budget=budget,
            summary=summary_text.get(addressee),
            memories=memories[addressee],
            lore=[*world.lore, *character.lore],
            rng=random.Random(turn),
            window_start=windows.get(addressee),
        )
        started = time.perf_counter()
        assembled = assemble(inputs, counter)
        seconds = time.perf_counter() - started
        text = "\n".join(m.content for m in assembled.messages)
        evidence = reference.text.split(": ", 1)[1][:24] if reference else ""
        previous = last_prompt.get(addressee)
        calls.append(
            Call(
                turn, addressee, assembled.tokens,
                _common_prefix_tokens(previous, assembled.messages, counter) if previous else None,
                seconds, (evidence in text) if reference else None, kind if reference else None,
            )
        )
        last_prompt[addressee] = assembled.messages
        windows[addressee] = assembled.window_start
        naive = _naive(statics[addressee], all_lines, int(budget * 0.97), counter)
        naive_text = "\n".join(m.content for m in naive)
        previous_naive = last_naive.get(addressee)
        naive_calls.append(
            Call(
                turn, addressee, counter.messages(naive),
                _common_prefix_tokens(previous_naive, naive, counter) if previous_naive else None,
                0.0, (evidence in naive_text) if reference else None, kind if reference else None,
            )
        )
        last_naive[addressee] = naive
        reply = rng.choice(FILLER_NPC)
        add_line(turn, addressee, names[addressee], reply, hearers)
    return _figures(calls, naive_calls, turns=turns, budget=budget, seed=seed, plants=len(plants))


def _window_stats(calls: Sequence[Call], upto: int) -> dict[str, float]:
    lo = max(1, upto - max(1, upto // 10) + 1)
    chosen = [c.tokens for c in calls if lo <= c.turn <= upto]
    return {"p50": round(percentile(chosen, 50), 1), "max": max(chosen) if chosen else 0}


def _recall(calls: Sequence[Call], since: int = 0) -> float | None:
    checked = [c.fact_present for c in calls if c.fact_present is not None and c.turn >= since]
    return round(100 * sum(checked) / len(checked), 1) if checked else None


def _prefix_share(calls: Sequence[Call]) -> dict[str, float]:
    shares = [c.prefix_tokens / c.tokens for c in calls if c.prefix_tokens is not None and c.tokens]
    return {"mean": round(100 * sum(shares) / len(shares), 1) if shares else 0.0, "p10": round(100 * percentile(shares, 10), 1)}


def _figures(calls: list[Call], naive: list[Call], **meta: Any) -> dict[str, Any]:
    turns = meta["turns"]
    checkpoints = [t for t in (10, 100, 1000) if t <= turns] or [turns]
    times = [c.seconds * 1000 for c in calls]

    def side(cs: list[Call], timed: bool) -> dict[str, Any]:
        return {
            "prompt_tokens": {str(t): _window_stats(cs, t) for t in checkpoints},
            "max_prompt_tokens": max(c.tokens for c in cs),
            "over_budget_calls": sum(1 for c in cs if c.tokens > meta["budget"]),
            "recall_pct": _recall(cs),
            "recall_pct_last_10pct": _recall(cs, int(turns * 0.9)),
            "recall_keyword_pct": _recall([c for c in cs if c.reference == "keyword"]),
            "recall_paraphrase_pct": _recall([c for c in cs if c.reference == "paraphrase"]),
            "stable_prefix_pct": _prefix_share(cs),
            **({"assembly_ms": {"p50": round(percentile(times, 50), 3), "p99": round(percentile(times, 99), 3)}} if timed else {}),
        }

    return {"benchmark": "memory", **meta, "calls": len(calls), "ensemble": side(calls, True), "naive": side(naive, False)}


def report(figures: dict[str, Any], json_path: str | None) -> None:
    e, n = figures["ensemble"], figures["naive"]
    rows = []
    for t in e["prompt_tokens"]:
        rows.append((f"prompt tokens p50/max near turn {t}", f"{e['prompt_tokens'][t]['p50']:.0f} / {e['prompt_tokens'][t]['max']}   vs naive {n['prompt_tokens'][t]['p50']:.0f} / {n['prompt_tokens'][t]['max']}"))
    rows += [
        ("calls over the budget", f"{e['over_budget_calls']}   vs naive {n['over_budget_calls']}"),
        ("planted-fact recall (all references)", f"{e['recall_pct']}%   vs naive {n['recall_pct']}%"),
        ("recall by keyword / by paraphrase", f"{e['recall_keyword_pct']}% / {e['recall_paraphrase_pct']}%   vs naive {n['recall_keyword_pct']}% / {n['recall_paraphrase_pct']}%"),
        ("planted-fact recall (last 10% of turns)", f"{e['recall_pct_last_10pct']}%   vs naive {n['recall_pct_last_10pct']}%"),
        ("stable prefix share mean / p10", f"{e['stable_prefix_pct']['mean']}% / {e['stable_prefix_pct']['p10']}%   vs naive {n['stable_prefix_pct']['mean']}% / {n['stable_prefix_pct']['p10']}%"),
        ("assembly time p50 / p99", f"{e['assembly_ms']['p50']:.2f} ms / {e['assembly_ms']['p99']:.2f} ms"),
    ]
    print_table(f"bench memory: {figures['turns']} turns, {figures['plants']} planted facts, budget {figures['budget']} tokens", rows)
    if json_path:
        write_json(json_path, figures)
        print(f"figures written to {json_path}")
