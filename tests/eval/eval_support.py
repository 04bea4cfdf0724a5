"""A scripted OpenAI-compatible responder for the harness tests: simulator, NPC, baseline and judge.

Requests are told apart by their system prompt. Everything is a pure function of the request, so a
resumed run gets the same answers as an uninterrupted one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.eval.baseline import BASELINE_MARKER
from bot.eval.simulator import SIMULATOR_MARKER
from bot.testing.openai_server import default_responder

INVALID_TWICE = "worlds_knowledge"  # the judge never manages valid JSON for this dimension
VALID_AFTER_RETRY = "stories_diversity"  # the judge needs the reminder for this one
SCORES = {
    "worlds_basics": 90,
    "worlds_logic": 80,
    "worlds_knowledge": 70,
    "stories_diversity": 60,
    "stories_content_logic": 50,
    "preferences_interaction": 40,
}


def _system(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    return str(messages[0].get("content") or "") if messages else ""


def _dimension(system: str) -> str | None:
    titles = {
        "Worlds / Basics": "worlds_basics",
        "Worlds / Logic": "worlds_logic",
        "Worlds / Knowledge": "worlds_knowledge",
        "Stories / Diversity": "stories_diversity",
        "Stories / Content logic": "stories_content_logic",
        "User preferences / Interaction": "preferences_interaction",
    }
    for title, dimension in titles.items():
        if f"Judge rubric: {title}" in system:
            return dimension
    return None


def _first_npc_quote(prompt: str) -> str:
    match = re.search(r"\[NPC\] [^:\n]+: (.{0,24})", prompt.split("# Transcript to score", 1)[-1])
    return match.group(1) if match else "missing"


def responder(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    system = _system(body)
    if system.startswith(SIMULATOR_MARKER):  # numbers its lines on from its last one (turn 1 is the opening)
        own = [str(m.get("content")) for m in messages if m.get("role") == "assistant"]
        last = re.search(r"line (\d+)\.$", own[-1]) if own else None
        return f"*leans on the rail* Tell me more, line {int(last.group(1)) + 1 if last else len(own) + 1}."
    dimension = _dimension(system)
    if dimension is not None:
        retried = any(m.get("role") == "user" and "Your answer was not valid" in str(m.get("content")) for m in messages)
        if dimension == INVALID_TWICE:
            return "I think the score is about seventy." if not retried else '{"findings": [], "score": "high"'
        if dimension == VALID_AFTER_RETRY and not retried:
            return "Here is my verdict: the story is fine."
        prompt = str(messages[1].get("content") or "")
        findings = [{"quote": _first_npc_quote(prompt), "problem": "Sample problem for the test."}]
        return "```json\n" + json.dumps({"findings": findings, "score": SCORES[dimension]}) + "\n```"
    if system.startswith(BASELINE_MARKER):
        users = sum(1 for m in messages if m.get("role") == "user")
        return f"*nods slowly* Baseline answer number {users}, friend. What next?"
    return default_responder(body)
