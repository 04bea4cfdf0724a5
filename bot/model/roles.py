"""Turning engine messages (M2-her's native roles) into the message dicts sent over the wire."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.ports import ChatMessage

# OpenAI rejects a request whose ``name`` does not match this; other servers ignore ``name``.
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

STANDARD_ROLES = frozenset({"system", "user", "assistant"})
_EXAMPLE_ROLES = frozenset({"sample_message_user", "sample_message_ai"})


def is_native_model(model: str, override: bool | None = None) -> bool:
    """True when ``model`` understands M2-her's roles; an explicit ``override`` wins."""
    if override is not None:
        return override
    model_id = model.strip().lower()
    return model_id == "m2-her" or model_id.endswith("/minimax-m2-her")


def to_wire(messages: Sequence[ChatMessage], *, native: bool) -> list[dict[str, str]]:
    """Messages as JSON-ready dicts: roles passed through (``native``) or folded into system/user/assistant."""
    if native:
        return [_native(message) for message in messages]
    return fold_roles(messages)


def _native(message: ChatMessage) -> dict[str, str]:
    wire = {"role": message.role, "content": message.content}
    if message.name:
        wire["name"] = message.name
    return wire


def fold_roles(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Fold persona, scene and examples into the first system message, leaving standard roles only.

    The folded system message depends only on the system/persona/scene/example messages, so it
    stays byte-identical from turn to turn and providers can cache the prompt prefix.
    """
    personas = [m for m in messages if m.role == "user_system"]
    scenes = [m for m in messages if m.role == "group"]
    examples = [m for m in messages if m.role in _EXAMPLE_ROLES]
    extras = _persona_block(personas) + _scene_block(scenes) + _examples_block(examples)

    wire: list[dict[str, str]] = []
    folded = False
    for message in messages:
        if message.role in _EXAMPLE_ROLES or message.role in ("user_system", "group"):
            continue
        if message.role == "system" and not folded:
            wire.append(_standard("system", "\n\n".join([message.content.strip(), *extras]), message.name))
            folded = True
        elif message.role == "user":
            wire.append(_standard("user", _prefixed(message), message.name))
        else:
            wire.append(_standard(message.role, message.content, message.name))
    if extras and not folded:
        wire.insert(0, {"role": "system", "content": "\n\n".join(extras)})
    return wire


def _standard(role: str, content: str, name: str | None) -> dict[str, str]:
    wire = {"role": role, "content": content}
    if name and OPENAI_NAME.match(name):
        wire["name"] = name
    return wire


def _prefixed(message: ChatMessage) -> str:
    """``Name: text`` so that models which ignore ``name`` still know who spoke."""
    if not message.name:
        return message.content
    prefix = f"{message.name}:"
    if message.content.lstrip().startswith(prefix):
        return message.content
    return f"{prefix} {message.content}"


def _persona_block(personas: list[ChatMessage]) -> list[str]:
    blocks = []
    for persona in personas:
        # A named persona is one player; without a name the block lists the players present.
        title = f"The user ({persona.name})" if persona.name else "The players"
        blocks.append(f"{title}:\n{persona.content.strip()}")
    return blocks


def _scene_block(scenes: list[ChatMessage]) -> list[str]:
    return [f"Scene: {scene.content.strip()}" for scene in scenes]


def _examples_block(examples: list[ChatMessage]) -> list[str]:
    if not examples:
        return []
    lines = ["Example exchanges (tone and pacing only; they did not happen in this story):"]
    for example in examples:
        default = "User" if example.role == "sample_message_user" else "Character"
        lines.append(f"{example.name or default}: {example.content.strip()}")
    return ["\n".join(lines)]
