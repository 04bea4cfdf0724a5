"""Role-play answers for the local model server: NPC lines, the user simulator and the judge, offline.

``python -m bot eval`` needs three models: the NPC side, a user simulator and a judge. Pointed at the
local server (``bot.testing.openai_server``) without this module, the simulator got NPC-style stock
lines and the judge got text that is not its JSON, so every chunk ended unscored. ``make_responder(seed)``
returns a responder that tells the three apart by their system prompts and answers each in its real
format:

- **judge** (the system prompt is a rubric, ``# Judge rubric: ...``): ``{"findings": [{"quote",
  "problem"}], "score"}``. The verdict is computed, not invented: the quality detectors run over the
  ``[NPC]`` lines of the turns to score, each rubric dimension looks at the detector families that belong
  to it (``DIMENSION_DETECTORS``), every quote is copied from a scored line, and the score falls with the
  share of lines that have a problem (90 or more only when there is none, as the rubrics demand). A small
  seed-dependent jitter (at most ``JITTER`` points) keeps runs with different seeds apart. It is a
  heuristic judge, and the report says so; it measures the pipeline, never model quality.
- **simulator** (``SIMULATOR_MARKER``): the user's next line in the persona's language and style
  (active or passive, slow or fast), addressed to the character who spoke last.
- **the engine's JSON steps**: memory summaries (the last lines heard), no narrator moves, no off-screen
  actions (``engine_json_answer``).
- **everything else** (the engine's NPC calls, the baseline): a short line in the scene's
  language. With ``flaw_rate`` > 0 some lines carry a planted flaw (speaking for the user, a loop, an
  assistant disclaimer) so that guards and judge have something to find; ``flaw_rate=0`` gives clean lines.

Every answer is a pure function of (seed, request): reruns and resumed runs see the same text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.eval.simulator import SIMULATOR_MARKER
from bot.quality.detect import detect_all
from bot.quality.findings import ReplyContext
from bot.quality.text import cjk_share

JUDGE_TITLE_RE = re.compile(r"^#\s*Judge rubric:\s*(?P<title>[^(\n]+)")
DIMENSION_TITLES = {
    "worlds / basics": "worlds_basics",
    "worlds / logic": "worlds_logic",
    "worlds / knowledge": "worlds_knowledge",
    "stories / diversity": "stories_diversity",
    "stories / content logic": "stories_content_logic",
    "user preferences / interaction": "preferences_interaction",
}
# Which detector families stand in for each rubric dimension (the part of it a detector can see).
DIMENSION_DETECTORS: dict[str, tuple[str, ...]] = {
    "worlds_basics": ("mixed_language", "formatting", "repetition"),
    "worlds_logic": ("speaks_as_other",),
    "worlds_knowledge": ("assistant_voice",),
    "stories_diversity": ("repetition",),
    "stories_content_logic": ("assistant_voice", "speaks_as_other"),
    "preferences_interaction": ("speaks_for_user", "silence", "length"),
}
CLEAN_SCORE = 95
PENALTY = 70  # points lost when every scored line has a problem of the dimension's kind
JITTER = 3
MAX_FINDINGS = 8


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).digest()[:8], "big")


def _system(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if isinstance(message, dict) and message.get("role") in ("system", "developer"):
            return str(message.get("content") or "")
    return ""


# --- judge ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoredLine:
    speaker: str
    text: str


_LINE_RE = re.compile(r"^\[(?P<kind>NPC|USER|NARRATOR)\] (?P<speaker>[^:\n]+): (?P<text>.*)$")


def judge_dimension(system: str) -> str | None:
    """The rubric dimension a judge request is about, from its system prompt's title."""
    match = JUDGE_TITLE_RE.match(system.strip())
    if not match:
        return None
    return DIMENSION_TITLES.get(match.group("title").strip().lower())


def _parse_chunk(prompt: str) -> tuple[str, list[str], list[ScoredLine], list[ScoredLine]]:
    """The user's name, the NPC-side names, the earlier NPC lines and the NPC lines to score."""
    user = ""
    match = re.search(r"^The user's character: (?P<name>[^:\n]+):", prompt, re.M)
    if match:
        user = match.group("name").strip()
    cast = re.findall(r"^- (?P<name>[^:\n]+):", prompt.split("The user's character:", 1)[0], re.M)
    head, _, scored = prompt.partition("# Transcript to score")
    def lines(text: str) -> list[ScoredLine]:
        out = []
        for raw in text.splitlines():
            m = _LINE_RE.match(raw)
            if m and m.group("kind") == "NPC":
                out.append(ScoredLine(m.group("speaker").strip(), m.group("text")))
        return out
    return user, [c.strip() for c in cast], lines(head), lines(scored)


def _quote(text: str, start: int, end: int) -> str:
    """Words copied from the line (the judge's contract): the finding's span, cut to a short quote."""
    span = text[start:end].strip() or text.strip()
    span = " ".join(span.split())
    return span if len(span) <= 80 else span[:80].rsplit(" ", 1)[0] or span[:80]


def judge_answer(dimension: str, prompt: str, seed: int) -> dict[str, Any]:
    """The verdict for one dimension of one chunk, computed with the quality detectors."""
    user, cast, earlier, scored = _parse_chunk(prompt)
    if not scored:
        return {"findings": [], "score": 10 if dimension == "preferences_interaction" else 50}
    language = "zh" if cjk_share(" ".join(line.text for line in scored)) > 0.3 else "en"
    wanted = DIMENSION_DETECTORS[dimension]
    history: dict[str, list[str]] = {}
    for line in earlier:
        history.setdefault(line.speaker, []).append(line.text)
    findings: list[dict[str, str]] = []
    flawed = 0
    for line in scored:
        past = history.setdefault(line.speaker, [])
        ctx = ReplyContext(
            npc_name=line.speaker,
            user_names=[user] if user else [],
            other_names=[n for n in cast if n != line.speaker],
            language=language,
            recent_replies=past[-5:],
            min_words=3,
            max_words=300 if language == "zh" else 200,
        )
        hits = [f for f in detect_all(line.text, ctx, only=wanted) if f.severity != "low"]
        past.append(line.text)
        if hits:
            flawed += 1
            f = hits[0]
            if len(findings) < MAX_FINDINGS:
                findings.append({"quote": _quote(line.text, f.start, f.end), "problem": f"{f.detector}: {f.reason}."})
    jitter = _digest(seed, dimension, prompt) % (2 * JITTER + 1) - JITTER
    score = CLEAN_SCORE + jitter - round(PENALTY * flawed / len(scored))
    if findings:
        score = min(score, 89)
    return {"findings": findings, "score": max(0, min(100, score))}


# --- simulator --------------------------------------------------------------------------------------

_SIM_EN = {
    ("active", "slow"): (
        "*sits down slowly and studies {to}'s face* You said that as if it cost you something. Tell me why.",
        "*turns the cup between both hands* I keep thinking about what you told me, {to}. Was any of it true?",
        "*lowers my voice* Before we go on, {to}, I want to understand you. What are you afraid of?",
        "*smiles a little despite myself* You're not as cold as you pretend, {to}. Who taught you to hide it?",
    ),
    ("active", "fast"): (
        "No more waiting, {to}. We move tonight. *grabs my coat* Show me the way.",
        "*slams the map on the table* Here is the plan, {to}: in at the back, out before the bells. Are you in?",
        "*already at the door* Whoever is behind this will not wait for us, {to}. What do we need?",
        "Something is wrong here, {to}. *draws my knife* Stay close and tell me what you see.",
    ),
    ("passive", "slow"): (
        "*nods quietly* Go on, {to}.",
        "*listens, saying nothing for a while* ...I see.",
        "Alright. *stays close to {to}*",
        "*looks at {to}, waiting*",
    ),
    ("passive", "fast"): (
        "Okay, {to}. What now?",
        "*follows {to}* Lead the way.",
        "Fine by me. Where to?",
        "*shrugs* If you say so, {to}.",
    ),
}
_SIM_ZH = {
    ("active", "slow"): (
        "*慢慢坐下，看着{to}的眼睛* 你刚才那句话，好像很难说出口。为什么？",
        "*双手捧着茶杯* {to}，你告诉我的那些，我一直在想。都是真的吗？",
        "*压低声音* 在继续之前，{to}，我想多了解你一点。你在怕什么？",
        "*忍不住笑了笑* {to}，你没有你装得那么冷淡。是谁教你藏起来的？",
    ),
    ("active", "fast"): (
        "别再等了，{to}。今晚就动手。*抓起外衣* 带路吧。",
        "*把地图拍在桌上* {to}，计划是这样：后门进，钟响前出来。你来不来？",
        "*已经走到门口* 幕后的人不会等我们，{to}。我们还缺什么？",
        "这里不对劲，{to}。*拔出匕首* 跟紧我，告诉我你看到了什么。",
    ),
    ("passive", "slow"): ("*轻轻点头* 你说吧，{to}。", "*沉默地听着* ……我明白了。", "好。*站在{to}身边*", "*看着{to}，等着*"),
    ("passive", "fast"): ("好吧，{to}。接下来呢？", "*跟着{to}* 你带路。", "我没意见。去哪？", "*耸耸肩* 你说了算，{to}。"),
}


def simulator_answer(messages: list[dict[str, Any]], seed: int) -> str:
    """The user's next line, in the persona's language and style, to the character who spoke last."""
    system = _system(messages)
    zh = "Write in Chinese" in system
    activity = "active" if "You drive the story" in system else "passive"
    pacing = "fast" if "Fast plot" in system else "slow"
    to = "你" if zh else "friend"
    for message in reversed(messages):
        content = str(message.get("content") or "")
        if message.get("role") == "user" and not content.startswith("["):
            name = content.split(":", 1)[0].strip()
            if name and len(name) <= 40:
                to = name.split()[0] if not zh else name
            break
    own = sum(1 for m in messages if m.get("role") == "assistant")
    lines = (_SIM_ZH if zh else _SIM_EN)[(activity, pacing)]
    return lines[_digest(seed, "sim", own, messages[-2:] if len(messages) > 1 else messages) % len(lines)].format(to=to)


# --- NPC side ---------------------------------------------------------------------------------------

_NPC_EN = (
    "*glances up from the fire* You have a way of arriving just when the kettle boils. Sit, if you like.",
    "*taps the table twice* Go on. I am listening, though I make no promises.",
    "*laughs under their breath* That is one way to see it. Not mine, but one way. What made you think so?",
    "*folds their arms* If we are doing this, we do it before the bells ring. Agreed?",
    "*leans closer, voice low* Careful. Walls in this town have ears and opinions.",
    "*shrugs* I have heard stranger things said in stranger places. Tell me the rest.",
    "*nods slowly* Then it is settled. We leave at first light.",
    "*squints at the sky* Weather's turning. Say what you came to say.",
)
_NPC_ZH = (
    "*从火堆旁抬起头* 你倒是会挑时候，水刚烧开。坐吧。",
    "*用指节敲了敲桌面* 说下去，我听着，不过我可不答应什么。",
    "*低声笑了笑* 这也算一种看法，不是我的看法。你怎么会这么想？",
    "*抱起双臂* 要做就在钟响之前做完。说定了？",
    "*凑近了些，压低声音* 小心点，这镇上的墙都长着耳朵。",
    "*耸了耸肩* 更怪的话我也听过。剩下的呢？",
    "*缓缓点头* 那就这么定了，天一亮就走。",
    "*眯眼看了看天* 要变天了。有话快说。",
)
_FLAWS_EN = (
    "{line} You nod slowly and take a step closer, your heart racing.",
    "{line} {line}",
    "As an AI language model, I cannot continue this scene. {line}",
)
_FLAWS_ZH = (
    "{line}你点了点头，心跳得厉害，慢慢走近了一步。",
    "{line}{line}",
    "作为一个AI语言模型，我无法继续这个场景。{line}",
)


def npc_answer(body: dict[str, Any], seed: int, flaw_rate: float) -> str:
    """A short in-character line in the scene's language; now and then a planted flaw (see the module doc)."""
    messages = body.get("messages") or []
    digest = _digest(seed, "npc", messages)
    zh = cjk_share(_system(messages)[:4000]) > 0.2
    pool = _NPC_ZH if zh else _NPC_EN
    line = pool[digest % len(pool)]
    if flaw_rate > 0 and (digest >> 16) % 1000 < flaw_rate * 1000:
        flaws = _FLAWS_ZH if zh else _FLAWS_EN
        line = flaws[(digest >> 32) % len(flaws)].format(line=line)
    if (body.get("response_format") or {}).get("type") == "json_object":
        return json.dumps({"reply": line}, ensure_ascii=False)
    return line


def engine_json_answer(messages: list[dict[str, Any]], system: str) -> str | None:
    """The engine's own JSON steps: memory summaries (extractive), narrator moves and director actions (none).

    Nobody moves and nothing happens off screen unless the rules decide so; the summaries are the last
    lines the characters heard, so memory has something true to carry.
    """
    if '{"summary"' in system:
        # One character's memory: the previous summary is not carried, the newest heard lines are.
        user = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
        transcript = user.partition("heard:\n")[2]
        recent = " ".join(" ".join(transcript.split()).split(" ")[-60:])
        return json.dumps({"summary": f"Recently: {recent}", "facts": []}, ensure_ascii=False)
    if '{"moves"' in system:
        return json.dumps({"moves": []})
    if '{"actions"' in system:
        return json.dumps({"actions": []})
    return None


def respond(body: dict[str, Any], *, seed: int = 0, flaw_rate: float = 0.15) -> str:
    """The answer to one chat request (pure: the same request and seed give the same text)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = _system(messages)
    dimension = judge_dimension(system)
    if dimension is not None:
        prompt = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
        return json.dumps(judge_answer(dimension, prompt, seed), ensure_ascii=False)
    if system.startswith(SIMULATOR_MARKER):
        return simulator_answer(messages, seed)
    if (body.get("response_format") or {}).get("type") == "json_object":
        answer = engine_json_answer(messages, system)
        if answer is not None:
            return answer
    return npc_answer(body, seed, flaw_rate)


def make_responder(seed: int = 0, *, flaw_rate: float = 0.15) -> Callable[[dict[str, Any]], str]:
    """A responder for ``OpenAIServer`` that answers like ``respond`` with a fixed seed."""

    def responder(body: dict[str, Any]) -> str:
        return respond(body, seed=seed, flaw_rate=flaw_rate)

    return responder
