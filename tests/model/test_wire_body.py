"""The plain-dict POST sends exactly the bytes and headers ``chat.completions.create()`` would send."""

from __future__ import annotations

import pytest

from bot.core.ports import ChatMessage, ChatOptions
from bot.testing.openai_server import Reply

LONG_SCENE = [
    ChatMessage("system", "You are Brannoc, a gruff innkeeper of the Drowned Lantern."),
    ChatMessage("user_system", "Mara, a tired courier.", name="Mara"),
    ChatMessage("group", "The Drowned Lantern, a storm night"),
    ChatMessage("sample_message_user", "Got ale?", name="Mara"),
    ChatMessage("sample_message_ai", "Coin first."),
    *(
        ChatMessage("user" if i % 2 else "assistant", f"line {i}: the rain, «the tide», 潮水 \"quoted\"\n", name="Old Tom" if i % 3 else None)
        for i in range(40)
    ),
    ChatMessage("user", "Evening.", name="Mara"),
]

# Headers that legitimately differ between two requests (none of them depend on the body's shape).
_PER_REQUEST = {"x-stainless-retry-count", "x-stainless-read-timeout", "idempotency-key"}

CASES = [
    pytest.param("fake-model", ChatOptions(max_tokens=200, temperature=0.8), id="folded"),
    pytest.param("M2-her", ChatOptions(max_tokens=5000, temperature=1.4, top_p=0.9), id="m2-her-native"),
    pytest.param(
        "fake-model", ChatOptions(max_tokens=64, temperature=0.2, stop=("\nMira:",), json_mode=True), id="json-stop"
    ),
]


def _headers(request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items() if k.lower() not in _PER_REQUEST}


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize(("model_id", "options"), CASES)
async def test_wire_body_and_headers_equal_what_create_sends(server, make_model, model_id, options, stream):
    model = make_model(model=model_id)
    params = model.build_params(LONG_SCENE, options, stream=stream)
    server.enqueue(Reply("Aye."), Reply("Aye."))

    sdk = await model._client.chat.completions.create(**params, timeout=2.0)
    if stream:
        async for _ in sdk:
            pass
    if stream:
        assert [d async for d in model.stream(LONG_SCENE, options)] == ["Aye."]
    else:
        assert (await model.complete(LONG_SCENE, options)).text == "Aye."

    via_create, via_post = server.requests[-2:]
    assert via_post.path == via_create.path == "/v1/chat/completions"
    assert via_post.raw == via_create.raw
    assert via_post.body == params
    assert _headers(via_post) == _headers(via_create)


async def test_our_calls_skip_the_sdk_request_transform(server, make_model, monkeypatch):
    import openai.resources.chat.completions.completions as sdk_completions

    transformed: list[object] = []
    original = sdk_completions.async_maybe_transform

    async def counting(data, expected_type):
        transformed.append(expected_type)
        return await original(data, expected_type)

    monkeypatch.setattr(sdk_completions, "async_maybe_transform", counting)
    model = make_model()
    server.enqueue(Reply("Aye."), Reply("Aye."), Reply("Aye."))
    await model.complete(LONG_SCENE, CASES[0].values[1])
    assert [d async for d in model.stream(LONG_SCENE, CASES[0].values[1])] == ["Aye."]
    assert transformed == []
    await model._client.chat.completions.create(**model.build_params(LONG_SCENE, CASES[0].values[1], stream=False))
    assert len(transformed) == 1  # the spy does see create(): the check above can fail
