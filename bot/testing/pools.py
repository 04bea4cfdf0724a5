"""Answers from written reply pools, one pool per character: the model server of ``bench memory``.

A benchmark whose replies come from a handful of templates flatters the memory code (the templates
share its keywords). This responder answers each character's reply requests from lines written for
that character by someone who never read the code (``bot/bench/data/memory/replies_*.json``), in
turn, so replies vary in length and wording like a model's. The speaker is read from the request
itself (the system prompt opens "You are NAME, ..."), never from the engine's state. The engine's
JSON steps (summaries, narrator moves, director actions) get the plain answers of
``bot.testing.roleplay_responder``: a summary of the newest lines heard and no written facts, so
nothing the model did not see can reach memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.testing.roleplay_responder import engine_json_answer

_SPEAKER = re.compile(r"^You are (.+?), one character")


def pool_responder(pools: Mapping[str, Sequence[str]], fallback: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    """A responder answering each character from its pool, in order; ``fallback`` for anyone else."""
    turns = {name: 0 for name in pools}

    def respond(body: dict[str, Any]) -> str:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        system = str(messages[0].get("content") or "") if messages and messages[0].get("role") == "system" else ""
        json_mode = (body.get("response_format") or {}).get("type") == "json_object"
        if json_mode:
            answer = engine_json_answer(messages, system)
            if answer is not None:
                return answer
        match = _SPEAKER.match(system)
        name = match.group(1) if match else None
        if name not in pools or not pools[name]:
            return fallback(body)
        pool = pools[name]
        line = pool[turns[name] % len(pool)]
        turns[name] += 1
        return json.dumps({"reply": line}, ensure_ascii=False) if json_mode else line

    return respond


def load_pools(path: str) -> dict[str, list[str]]:
    """``{"Character name": ["reply", ...], ...}`` from a JSON file; a clear error names a bad file."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in data.values()):
        raise ValueError(f"{path}: expected an object mapping character names to lists of reply strings")
    return {str(k): list(v) for k, v in data.items()}


__all__ = ["load_pools", "pool_responder"]
