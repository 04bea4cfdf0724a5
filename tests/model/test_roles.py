"""Native and folded message shapes sent to the model server."""

from __future__ import annotations

import pytest

from bot.core.ports import ChatMessage
from bot.model.roles import fold_roles, is_native_model, to_wire


@pytest.mark.parametrize(
    ("model", "override", "native"),
    [
        ("M2-her", None, True),
        ("m2-HER", None, True),
        ("minimax/minimax-m2-her", None, True),
        ("openrouter/MiniMax/MiniMax-M2-her", None, True),
        ("MiniMax-M2", None, False),
        ("gpt-4o-mini", None, False),
        ("m2-her-lite", None, False),
        ("gpt-4o-mini", True, True),
        ("M2-her", False, False),
    ],
)
def test_native_model_detection(model, override, native):
    assert is_native_model(model, override) is native


SCENE = [
    ChatMessage("system", "You are Sela, a ferrywoman."),
    ChatMessage("user_system", "Ivo, a nervous scholar.", name="Ivo"),
    ChatMessage("group", "Crossing the Grey River"),
    ChatMessage("sample_message_user", "How deep is it?", name="Ivo"),
    ChatMessage("sample_message_ai", "Deep enough.", name="Sela"),
    ChatMessage("sample_message_user", "And the fare?"),
    ChatMessage("sample_message_ai", "Two coins."),
    ChatMessage("user", "Can we cross tonight?", name="Ivo"),
    ChatMessage("user", "The fog rolls in.", name="Narrator"),
    ChatMessage("assistant", "If you pay double.", name="Sela"),
    ChatMessage("user", "Ivo: Fine.", name="Ivo"),
    ChatMessage("user", "Nobody named this."),
    ChatMessage("user", "Hm.", name="Brother Aldo"),
    ChatMessage("system", "It is now midnight."),
]


def test_native_passes_roles_and_names_through():
    wire = to_wire(SCENE, native=True)
    assert [m["role"] for m in wire] == [m.role for m in SCENE]
    assert [m.get("name") for m in wire] == [m.name for m in SCENE]
    assert [m["content"] for m in wire] == [m.content for m in SCENE]


def test_folded_keeps_only_standard_roles_and_absorbs_the_rest_in_order():
    wire = to_wire(SCENE, native=False)
    assert [m["role"] for m in wire] == [
        "system",
        "user",
        "user",
        "assistant",
        "user",
        "user",
        "user",
        "system",
    ]
    system = wire[0]["content"]
    assert system.startswith("You are Sela, a ferrywoman.\n\n")
    order = [
        system.index(part)
        for part in ("Ivo, a nervous scholar.", "Crossing the Grey River", "Example exchanges")
    ]
    assert order == sorted(order)
    assert "Ivo: How deep is it?\nSela: Deep enough.\nUser: And the fare?\nCharacter: Two coins." in system
    assert wire[-1] == {"role": "system", "content": "It is now midnight."}


def test_folded_prefixes_speakers_once_and_keeps_only_valid_names():
    wire = to_wire(SCENE, native=False)
    assert wire[1] == {"role": "user", "content": "Ivo: Can we cross tonight?", "name": "Ivo"}
    assert wire[2] == {"role": "user", "content": "Narrator: The fog rolls in.", "name": "Narrator"}
    assert wire[3] == {"role": "assistant", "content": "If you pay double.", "name": "Sela"}
    assert wire[4]["content"] == "Ivo: Fine."
    assert wire[5] == {"role": "user", "content": "Nobody named this."}
    assert wire[6] == {"role": "user", "content": "Brother Aldo: Hm."}


def test_folded_system_prefix_is_byte_identical_when_static_inputs_are():
    static = SCENE[:7]
    turn_one = fold_roles([*static, ChatMessage("user", "Hello?", name="Ivo")])
    turn_two = fold_roles(
        [
            *static,
            ChatMessage("user", "Hello?", name="Ivo"),
            ChatMessage("assistant", "Mm."),
            ChatMessage("user", "Now?", name="Ivo"),
        ]
    )
    assert turn_one[0]["content"].encode() == turn_two[0]["content"].encode()
    assert fold_roles(list(static))[0] == turn_one[0]


def test_folded_without_a_system_message_creates_one_first():
    wire = fold_roles([ChatMessage("group", "Market day"), ChatMessage("user", "Hi", name="Ivo")])
    assert wire == [
        {"role": "system", "content": "Scene: Market day"},
        {"role": "user", "content": "Ivo: Hi", "name": "Ivo"},
    ]


def test_plain_conversation_is_unchanged_by_folding():
    plain = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello")]
    assert fold_roles(plain) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
