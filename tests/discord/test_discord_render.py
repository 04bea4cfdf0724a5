"""Pure text shaping: splitting at sentences, webhook names Discord accepts, fallback lines, edit plans."""

from __future__ import annotations

import pytest

from bot.discord_adapter.render import (
    ELLIPSIS,
    HAIR_SPACE,
    MESSAGE_LIMIT,
    escape_markdown,
    fallback_line,
    fit_message,
    plan_edit,
    split_message,
    swipe_label,
    webhook_username,
)


def test_short_text_is_one_chunk() -> None:
    assert split_message("  Hello there.  ") == ["Hello there."]
    assert split_message("x" * MESSAGE_LIMIT) == ["x" * MESSAGE_LIMIT]
    assert split_message("   ") == []


def test_split_at_the_last_sentence_that_fits() -> None:
    sentence = "The lamps are lit along the quay. "
    text = (sentence * 100).strip()
    chunks = split_message(text)
    assert len(chunks) == 2
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert chunks[0].endswith("quay.") and chunks[1].startswith("The lamps")
    assert " ".join(chunks) == text
    assert len(chunks[0]) > MESSAGE_LIMIT - len(sentence)  # the window is well used


def test_split_keeps_closing_quotes_and_markdown_with_the_sentence() -> None:
    text = ("*She laughs.* \"Really?\" " * 120).strip()
    chunks = split_message(text, 500)
    assert all(len(c) <= 500 for c in chunks)
    assert all(c.endswith(('"', "*")) for c in chunks[:-1])


def test_split_cjk_sentences_without_spaces() -> None:
    text = "灯塔的灯每晚都亮着。" * 300
    chunks = split_message(text)
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert all(c.endswith("。") for c in chunks)
    assert "".join(chunks) == text
    assert split_message("你来了！真的吗？" * 200, 100)[0].endswith(("！", "？"))


def test_split_prefers_paragraphs_then_lines_then_spaces_then_hard_cuts() -> None:
    para = "a" * 1200 + " b." + "\n\n" + "c" * 1200
    assert split_message(para) == ["a" * 1200 + " b.", "c" * 1200]
    lines = "word " * 300 + "\n" + "tail " * 200
    assert split_message(lines, 1600)[0] == ("word " * 300).strip()
    spaces = "word " * 1000
    assert all(len(c) <= 2000 and not c.startswith(" ") for c in split_message(spaces))
    assert split_message("z" * 4500) == ["z" * 2000, "z" * 2000, "z" * 500]


def test_fit_message_marks_what_was_cut() -> None:
    assert fit_message("Short one.") == "Short one."
    long = "A sentence that goes on. " * 200
    fitted = fit_message(long)
    assert len(fitted) <= MESSAGE_LIMIT and fitted.endswith("on." + ELLIPSIS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mira Salt", "Mira Salt"),
        ("  Old   Tom ", "Old Tom"),
        ("", "Narrator"),
        (None, "Narrator"),
        ("Clyde", f"C{HAIR_SPACE}lyde"),
        ("the DISCORD bard", f"the D{HAIR_SPACE}ISCORD bard"),
        ("林晚", "林晚"),
    ],
)
def test_webhook_username(name: str | None, expected: str) -> None:
    assert webhook_username(name) == expected


def test_webhook_username_is_cut_to_80_and_never_contains_refused_words() -> None:
    cut = webhook_username("x" * 100)
    assert len(cut) == 80 and cut.endswith("…")
    tricky = webhook_username("clyde" * 30)
    assert len(tricky) <= 80
    assert "clyde" not in tricky.lower() and "discord" not in webhook_username("discorddiscord").lower()


def test_fallback_line_puts_the_escaped_name_in_bold() -> None:
    assert fallback_line("Ada", " Hello. ") == "**Ada**: Hello."
    assert fallback_line("*Star*_", "Hi") == "**\\*Star\\*\\_**: Hi"
    assert escape_markdown("a|b`c") == "a\\|b\\`c"


def test_swipe_label() -> None:
    assert swipe_label(0, 1) == "1/1" and swipe_label(1, 3) == "2/3"


def test_plan_edit_same_shape() -> None:
    plan = plan_edit([10], "New text.")
    assert plan.edits == ((10, "New text."),) and plan.deletes == ()


def test_plan_edit_fewer_chunks_deletes_earlier_parts_and_keeps_the_button_message() -> None:
    plan = plan_edit([10, 11, 12], "Short now.")
    assert plan.edits == ((12, "Short now."),) and plan.deletes == (10, 11)


def test_plan_edit_more_chunks_than_messages_fits_the_rest_into_the_last() -> None:
    text = "A long sentence here. " * 200
    plan = plan_edit([10, 11], text)
    assert [m for m, _ in plan.edits] == [10, 11] and plan.deletes == ()
    assert all(len(c) <= MESSAGE_LIMIT for _, c in plan.edits)
    assert plan.edits[-1][1].endswith(ELLIPSIS)
