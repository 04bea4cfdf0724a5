"""The OpenAI-compatible backend through the real openai SDK against the fake server on loopback."""

from __future__ import annotations

import json
import time

import pytest
from structlog.testing import capture_logs

from bot.core.ports import ChatMessage, ChatOptions
from bot.errors import ModelUnavailable
from bot.model.openai_chat import CUT_OFF, NOT_ANSWERING
from bot.testing.openai_server import Fault, OpenAIServer, Reply

SCENE = [
    ChatMessage("system", "You are Brannoc, a gruff innkeeper."),
    ChatMessage("user", "Is there a room free?", name="Mara"),
]
OPTIONS = ChatOptions(max_tokens=200, temperature=0.8)


async def collect(stream) -> list[str]:
    return [delta async for delta in stream]


async def test_complete_returns_text_usage_and_sends_the_request(server, make_model, api_key):
    server.enqueue(Reply("Aye, one room left.", cached_tokens=3))
    model = make_model()

    result = await model.complete(SCENE, OPTIONS)

    assert result.text == "Aye, one room left."
    assert result.finish_reason == "stop"
    assert result.model == "fake-model"
    assert result.usage.completion_tokens > 0 and result.usage.prompt_tokens > 0
    assert result.usage.cached_tokens == 3
    sent = server.requests[-1]
    assert sent.headers["Authorization"] == f"Bearer {api_key}"
    assert sent.body["max_tokens"] == 200 and sent.body["temperature"] == 0.8
    assert "response_format" not in sent.body and not sent.body.get("stream")
    assert model.usage_totals.calls == 1 and model.usage_totals.attempts == 1
    assert model.usage_totals.completion_tokens == result.usage.completion_tokens


async def test_stream_yields_the_reply_and_records_usage(server, make_model):
    server.enqueue(Reply("The fire is warm and the ale is cold."))
    model = make_model()

    stream = model.stream(SCENE, OPTIONS)
    deltas = await collect(stream)

    assert len(deltas) > 1
    assert "".join(deltas) == "The fire is warm and the ale is cold."
    assert stream.result is not None and stream.result.finish_reason == "stop"
    assert stream.result.usage.completion_tokens > 0
    assert server.requests[-1].body["stream_options"] == {"include_usage": True}
    assert model.usage_totals.prompt_tokens == stream.result.usage.prompt_tokens > 0


async def test_prefix_cache_hits_are_reported(server, make_model):
    model = make_model()
    long_scene = [ChatMessage("system", "World rules. " * 100), *SCENE[1:]]
    first = await model.complete(long_scene, OPTIONS)
    second = await model.complete(long_scene, OPTIONS)
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens > 200
    assert model.usage_totals.cached_tokens == second.usage.cached_tokens


async def test_think_blocks_are_stripped_from_complete(server, make_model):
    server.enqueue("<think>She looks tired; be kind.</think>\n\nSit, lass. I'll fetch the key.")
    result = await make_model().complete(SCENE, OPTIONS)
    assert result.text == "Sit, lass. I'll fetch the key."


async def test_think_tags_split_across_stream_chunks_stay_hidden(server, make_model):
    chunks = (
        "<th",
        "ink>plan: refuse",
        " politely</thi",
        "nk>\n\nNo ",
        "rooms, ",
        "sorry.<thi",
        "nk>x</think>",
    )
    server.enqueue(Reply("".join(chunks), chunks=chunks))
    stream = make_model().stream(SCENE, OPTIONS)
    deltas = await collect(stream)
    assert "".join(deltas) == "No rooms, sorry."
    assert not any("<" in delta or "plan" in delta for delta in deltas)
    assert stream.result.text == "No rooms, sorry."


async def test_429_waits_for_retry_after_then_succeeds(server, make_model, fake_time):
    server.enqueue(Fault.status(429, retry_after=1.5), "Now then.")
    result = await make_model().complete(SCENE, OPTIONS)
    assert result.text == "Now then."
    assert len(fake_time.sleeps) == 1
    assert 1.5 <= fake_time.sleeps[0] <= 1.5 * 1.1
    assert len(server.requests) == 2


async def test_500_is_retried_with_backoff(server, make_model, fake_time):
    server.enqueue(Fault.status(500), Fault.status(502), "Back again.")
    model = make_model(base_delay=0.5)
    result = await model.complete(SCENE, OPTIONS)
    assert result.text == "Back again."
    first, second = fake_time.sleeps
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0
    assert model.usage_totals.attempts == 3


async def test_exhausted_retries_raise_a_safe_model_unavailable(server, make_model, fake_time, api_key):
    server.enqueue(*[Fault.status(503)] * 4)
    model = make_model(max_attempts=4)
    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(SCENE, OPTIONS)
    assert caught.value.user_message == NOT_ANSWERING
    assert "127.0.0.1" not in caught.value.user_message and api_key not in str(caught.value)
    assert len(server.requests) == 4 and len(fake_time.sleeps) == 3
    assert model.usage_totals.failed_calls == 1


async def test_hanging_server_hits_the_hard_timeout_and_gives_up_fast(server, make_model):
    server.enqueue(Fault.hang(), Fault.hang())
    model = make_model(request_timeout=0.2, max_attempts=2)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(SCENE, OPTIONS)
    assert time.perf_counter() - started < 1.5
    assert caught.value.user_message == NOT_ANSWERING
    assert len(server.requests) == 2


async def test_request_timeout_is_a_hard_limit_even_when_bytes_keep_trickling(server, make_model):
    # Every gap (0.02 s) is far below the HTTP client's read timeout; only the overall limit fires.
    trickle = Reply("A reply that arrives a few bytes at a time.", chunk_delay=0.02)
    server.enqueue(trickle, trickle)
    model = make_model(request_timeout=0.3, max_attempts=2)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable):
        await model.complete(SCENE, OPTIONS)
    assert time.perf_counter() - started < 1.2
    assert len(server.requests) == 2


async def test_stream_showing_nothing_before_the_timeout_is_retried(server, make_model):
    hidden = Reply("<think>" + "mull " * 40 + "</think>Too late.", chunk_delay=0.02)
    server.enqueue(hidden, Reply("In time."))
    deltas = await collect(make_model(request_timeout=0.3).stream(SCENE, OPTIONS))
    assert "".join(deltas) == "In time."


async def test_stream_stalling_after_text_was_shown_is_cut_off(server, make_model):
    stalls = Reply("Well... <think>" + "mull " * 40 + "</think>never shown", chunk_delay=0.02)
    server.enqueue(stalls)
    seen: list[str] = []
    with pytest.raises(ModelUnavailable) as caught:
        async for delta in make_model(request_timeout=0.3).stream(SCENE, OPTIONS):
            seen.append(delta)
    assert "".join(seen) == "Well... " and caught.value.user_message == CUT_OFF


async def test_slow_answer_within_the_timeout_is_accepted(server, make_model):
    server.enqueue(Fault.slow(0.05, "Patience."))
    result = await make_model(request_timeout=1.0).complete(SCENE, OPTIONS)
    assert result.text == "Patience."


async def test_total_time_bound_stops_retries_before_attempts_run_out(server, make_model):
    server.enqueue(*[Fault.hang()] * 10)
    model = make_model(request_timeout=0.4, max_attempts=10, max_total_seconds=0.5, base_delay=0.01)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable):
        await model.complete(SCENE, OPTIONS)
    # The second attempt only gets what is left of the 0.5 s, not another full 0.4 s.
    assert time.perf_counter() - started < 0.7
    assert len(server.requests) == 2


async def test_retry_after_beyond_the_budget_gives_up_without_sleeping(server, make_model, fake_time):
    server.enqueue(Fault.status(429, retry_after=30))
    with pytest.raises(ModelUnavailable) as caught:
        await make_model(max_total_seconds=10).complete(SCENE, OPTIONS)
    assert caught.value.user_message == NOT_ANSWERING
    assert fake_time.sleeps == [] and len(server.requests) == 1


async def test_malformed_json_is_retried_once(server, make_model):
    server.enqueue(Fault.malformed_json(), "Whole again.")
    assert (await make_model().complete(SCENE, OPTIONS)).text == "Whole again."

    server.enqueue(Fault.malformed_json(), Fault.malformed_json(), "never reached")
    before = len(server.requests)
    with pytest.raises(ModelUnavailable):
        await make_model(max_attempts=4).complete(SCENE, OPTIONS)
    assert len(server.requests) - before == 2


@pytest.mark.parametrize(
    "bad", [Fault.empty_content(), Fault.empty_content(null=True), Reply("<think>cut off while reasoning")]
)
async def test_empty_content_is_retried_once_then_unavailable(server, make_model, bad):
    server.enqueue(bad, "Something at last.")
    assert (await make_model().complete(SCENE, OPTIONS)).text == "Something at last."

    server.enqueue(bad, bad, "never reached")
    with pytest.raises(ModelUnavailable) as caught:
        await make_model().complete(SCENE, OPTIONS)
    assert caught.value.user_message == NOT_ANSWERING
    assert server.pending == 1


async def test_rejected_api_key_is_not_retried(server, make_model, fake_time):
    model = make_model(api_key="sk-wrong-key-999")
    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(SCENE, OPTIONS)
    assert "API key" in caught.value.user_message
    assert "sk-wrong-key-999" not in caught.value.user_message and "sk-wrong-key-999" not in str(caught.value)
    assert len(server.requests) == 1 and fake_time.sleeps == []


@pytest.mark.parametrize(
    ("status", "words"), [(400, "rejected the request"), (403, "refused"), (404, "fake-model")]
)
async def test_client_errors_are_not_retried(server, make_model, fake_time, status, words):
    server.enqueue(Fault.status(status), "never reached")
    with pytest.raises(ModelUnavailable) as caught:
        await make_model().complete(SCENE, OPTIONS)
    assert words in caught.value.user_message
    assert len(server.requests) == 1 and fake_time.sleeps == []


async def test_connection_refused_is_retried_then_unavailable(fake_time, make_model):
    async with OpenAIServer() as gone:
        url = gone.base_url
    model = make_model(base_url=url, max_attempts=3)
    with pytest.raises(ModelUnavailable):
        await model.complete(SCENE, OPTIONS)
    assert len(fake_time.sleeps) == 2


async def test_stream_cut_after_text_was_shown_raises(server, make_model):
    server.enqueue(Fault.stream_cut(after_chunks=2, text="A long tale of the old war, told slowly."))
    model = make_model()
    seen: list[str] = []
    with pytest.raises(ModelUnavailable) as caught:
        async for delta in model.stream(SCENE, OPTIONS):
            seen.append(delta)
    assert seen == ["A long t", "ale of t"]
    assert caught.value.user_message == CUT_OFF
    assert len(server.requests) == 1
    assert model.usage_totals.failed_calls == 1 and model.usage_totals.calls == 1


async def test_stream_failing_before_any_text_is_retried(server, make_model, fake_time):
    server.enqueue(
        Fault.stream_cut(after_chunks=0), Fault.status(429, retry_after=0.25), Fault.malformed_json()
    )
    server.enqueue(Reply("Third time lucky."))
    deltas = await collect(make_model().stream(SCENE, OPTIONS))
    assert "".join(deltas) == "Third time lucky."
    assert len(server.requests) == 4 and len(fake_time.sleeps) == 3
    assert 0.25 <= fake_time.sleeps[1] <= 0.275


async def test_stream_of_only_reasoning_is_empty_and_retried(server, make_model):
    server.enqueue(Reply("<think>hmm, the guard...</think>   "), Reply("Halt!"))
    assert "".join(await collect(make_model().stream(SCENE, OPTIONS))) == "Halt!"


async def test_stream_closed_early_releases_the_connection(server, make_model):
    server.enqueue(Reply("one two three four five six seven", chunk_delay=0.01))
    model = make_model()
    stream = model.stream(SCENE, OPTIONS)
    first = await stream.__anext__()
    await stream.aclose()
    assert first == "one two "
    assert (await model.complete(SCENE, OPTIONS)).text
    assert stream.result is None


M2_SCENE = [
    ChatMessage("system", "You are Brannoc, a gruff innkeeper."),
    ChatMessage("user_system", "Mara, a tired courier.", name="Mara"),
    ChatMessage("group", "The Drowned Lantern"),
    ChatMessage("sample_message_user", "Got ale?", name="Mara"),
    ChatMessage("sample_message_ai", "Coin first."),
    ChatMessage("user", "Evening.", name="Mara"),
    ChatMessage("user", "The rain's coming in sideways.", name="Old Tom"),
    ChatMessage("assistant", "Shut the door, then."),
]


async def test_m2_her_gets_native_roles_and_its_limits(server, make_model):
    model = make_model(model="M2-her")
    await model.complete(M2_SCENE, ChatOptions(max_tokens=5000, temperature=1.4))
    body = server.requests[-1].body
    assert body["messages"] == [
        {"role": "system", "content": "You are Brannoc, a gruff innkeeper."},
        {"role": "user_system", "content": "Mara, a tired courier.", "name": "Mara"},
        {"role": "group", "content": "The Drowned Lantern"},
        {"role": "sample_message_user", "content": "Got ale?", "name": "Mara"},
        {"role": "sample_message_ai", "content": "Coin first."},
        {"role": "user", "content": "Evening.", "name": "Mara"},
        {"role": "user", "content": "The rain's coming in sideways.", "name": "Old Tom"},
        {"role": "assistant", "content": "Shut the door, then."},
    ]
    assert body["max_completion_tokens"] == 2048 and body["max_tokens"] == 2048
    assert body["temperature"] == 1.0


async def test_narrator_override_model_is_used_and_decides_the_roles(server, make_model):
    model = make_model(model="M2-her")
    result = await model.complete(M2_SCENE, ChatOptions(model="narrator-model"))
    body = server.requests[-1].body
    assert body["model"] == result.model == "narrator-model"
    assert {m["role"] for m in body["messages"]} <= {"system", "user", "assistant"}


async def test_other_models_get_folded_roles_with_a_stable_prefix(server, make_model):
    model = make_model(model="fake-model")
    await model.complete(M2_SCENE, OPTIONS)
    later = [*M2_SCENE, ChatMessage("user", "Mara: Fine, fine.", name="Mara")]
    await model.complete(later, OPTIONS)

    first, second = (request.body["messages"] for request in server.requests[-2:])
    assert json.dumps(first[0]) == json.dumps(second[0])
    assert first[0]["role"] == "system" and "Mara, a tired courier." in first[0]["content"]
    assert "The Drowned Lantern" in first[0]["content"] and "Mara: Got ale?" in first[0]["content"]
    assert [m["role"] for m in second] == ["system", "user", "user", "assistant", "user"]
    assert second[1] == {"role": "user", "content": "Mara: Evening.", "name": "Mara"}
    assert second[2] == {"role": "user", "content": "Old Tom: The rain's coming in sideways."}
    assert second[4]["content"] == "Mara: Fine, fine."


async def test_native_roles_override_forces_the_folded_shape(server, make_model):
    await make_model(model="M2-her", native_roles=False).complete(M2_SCENE, OPTIONS)
    assert {m["role"] for m in server.requests[-1].messages} == {"system", "user", "assistant"}


async def test_json_mode_falls_back_when_the_server_rejects_response_format(server, make_model, fake_time):
    rejection = Fault.status(400, message="response_format is not supported", param="response_format")
    server.enqueue(rejection, '{"mood": "wary"}', '{"mood": "calm"}')
    model = make_model()
    options = ChatOptions(json_mode=True)

    assert (await model.complete(SCENE, options)).text == '{"mood": "wary"}'
    assert (await model.complete(SCENE, options)).text == '{"mood": "calm"}'
    bodies = [request.body for request in server.requests]
    assert bodies[0]["response_format"] == {"type": "json_object"}
    assert "response_format" not in bodies[1] and "response_format" not in bodies[2]
    assert fake_time.sleeps == []


async def test_json_mode_sends_response_format(server, make_model):
    result = await make_model().complete(SCENE, ChatOptions(json_mode=True))
    assert server.requests[-1].body["response_format"] == {"type": "json_object"}
    assert isinstance(json.loads(result.text), dict)


async def test_calls_are_logged_without_key_or_prompt(server, make_model, api_key):
    server.enqueue(Fault.status(500), "Logged.")
    with capture_logs() as logs:
        await make_model().complete(SCENE, OPTIONS)
    events = {entry["event"]: entry for entry in logs}
    assert events["model.retry"]["reason"] == "http 500"
    call = events["model.call"]
    assert call["model"] == "fake-model" and call["attempts"] == 2 and call["prompt_tokens"] > 0
    assert {"latency_ms", "completion_tokens", "cached_tokens"} <= set(call)
    dumped = json.dumps(logs, default=str)
    assert api_key not in dumped and "gruff innkeeper" not in dumped and "room free" not in dumped


def test_warm_response_models_builds_the_sdk_schemas_before_the_first_reply() -> None:
    """The SDK builds its response models' schemas on first use (5-10 ms inside the first reply); start-up's
    warm-up builds them. A fresh interpreter, because any earlier test's reply has built them already."""
    import subprocess
    import sys

    probe = (
        "from openai.types.chat import ChatCompletion, ChatCompletionChunk\n"
        "from openai.types.chat.chat_completion import Choice\n"
        "models = (ChatCompletion, ChatCompletionChunk, Choice)\n"
        "before = [m.__pydantic_complete__ for m in models]\n"
        "from bot.model.openai_chat import warm_response_models\n"
        "warm_response_models()\n"
        "print(before, [m.__pydantic_complete__ for m in models])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[False, False, False] [True, True, True]"
