"""Bytes -> raw card: container detection, chunk priority, version detection, limits on JSON bombs."""

from __future__ import annotations

import base64
import json

import pytest

from bot.cards import parse
from bot.cards.parse import parse_card_bytes, split_card
from bot.errors import ContentError
from tests.cards.conftest import b64json, charx, png_with_text, st_png, st_v2_card, st_v3_card, tiny_png


def card_bytes(card) -> bytes:
    return json.dumps(card).encode("utf-8")


# ------------------------------------------------------------------ containers and chunks


def test_json_card_is_read():
    """A V2 JSON card reads as a dict with its spec and no avatar."""
    raw = parse_card_bytes(card_bytes(st_v2_card()), "s.json")
    assert (raw.spec, raw.container, raw.avatar) == ("chara_card_v2", "json", None)
    assert raw.card["data"]["name"] == "Seraphina"


def test_json_with_a_bom_is_read():
    """A UTF-8 BOM (Windows editors) does not stop a JSON card."""
    assert parse_card_bytes(b"\xef\xbb\xbf" + card_bytes({"name": "A"})).spec == "chara_card_v1"


def test_png_chara_chunk_is_read_and_the_avatar_has_no_card_in_it():
    """A V2 PNG card reads from its chara chunk; the avatar is the image without card chunks."""
    raw = parse_card_bytes(st_png(st_v2_card()), "s.png")
    assert (raw.spec, raw.container) == ("chara_card_v2", "png")
    assert raw.avatar is not None and b"chara" not in raw.avatar and raw.avatar.startswith(b"\x89PNG")


def test_ccv3_wins_over_chara_in_either_order():
    """With both chunks present the ccv3 (V3) chunk is used, wherever it sits."""
    v2 = st_v2_card()
    v3 = st_v3_card(v2, nickname="Sera")
    for pairs in ([("chara", b64json(v2)), ("ccv3", b64json(v3))], [("ccv3", b64json(v3)), ("chara", b64json(v2))]):
        raw = parse_card_bytes(png_with_text(*pairs))
        assert raw.spec == "chara_card_v3" and raw.card["data"]["nickname"] == "Sera"


def test_ccv3_alone_is_read():
    """A PNG with only a ccv3 chunk is a V3 card."""
    assert parse_card_bytes(png_with_text(("ccv3", b64json(st_v3_card())))).spec == "chara_card_v3"


def test_chunk_keywords_are_case_insensitive():
    """'Chara' is read like 'chara', as SillyTavern does."""
    assert parse_card_bytes(png_with_text(("Chara", b64json({"name": "A"})))).card["name"] == "A"


def test_a_broken_ccv3_falls_back_to_chara_with_a_note():
    """If ccv3 cannot be read but chara can, chara is used and the importer is told."""
    raw = parse_card_bytes(png_with_text(("chara", b64json(st_v2_card())), ("ccv3", "!!!not base64!!!")))
    assert raw.spec == "chara_card_v2"
    assert any("ccv3" in w and "chara" in w for w in raw.warnings)


def test_base64_without_padding_urlsafe_or_wrapped_is_accepted():
    """Lenient base64 like Node's Buffer: missing padding, url-safe alphabet, line breaks."""
    payload = base64.urlsafe_b64encode(json.dumps({"name": "Ü~?>"}).encode()).decode().rstrip("=")
    wrapped = "\n".join(payload[i : i + 10] for i in range(0, len(payload), 10))
    assert parse_card_bytes(png_with_text(("chara", wrapped))).card["name"] == "Ü~?>"


def test_raw_json_in_a_chunk_is_tolerated():
    """A chunk holding plain JSON rather than base64 still reads."""
    assert parse_card_bytes(png_with_text(("chara", '{"name": "Plain"}'))).card["name"] == "Plain"


def test_charx_card_and_icon_are_read():
    """A CHARX zip gives its card.json and its main icon as the avatar."""
    card = st_v3_card(assets=[{"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main",
                               "ext": "png"}])
    raw = parse_card_bytes(charx(card, {"assets/icon/images/main.png": png_with_text(("chara", "x"))}), "s.charx")
    assert (raw.spec, raw.container) == ("chara_card_v3", "charx")
    assert raw.avatar is not None and b"tEXt" not in raw.avatar


def test_charx_with_a_webp_icon_keeps_no_avatar_and_says_so():
    """Only PNG avatars are kept; a WebP icon is reported."""
    card = st_v3_card(assets=[{"type": "icon", "uri": "embeded://icon.webp", "name": "main", "ext": "webp"}])
    raw = parse_card_bytes(charx(card, {"icon.webp": b"RIFF\x00\x00\x00\x00WEBPVP8 "}))
    assert raw.avatar is None and any("WEBP" in w for w in raw.warnings)


# ------------------------------------------------------------------ malformed input: one clear message each


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "e.json", "the file is empty"),
        (b"hello there", "t.txt", "not a character card"),
        (b"not really", "fake.png", "named .png but is not a PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "photo.png", "JPEG, not a PNG"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "card.webp", "WEBP, not a PNG"),
        (tiny_png(), "plain.png", "no character card in it"),
        (png_with_text(("chara", "%%%")), "x.png", "'chara' chunk is not valid base64"),
        (png_with_text(("chara", "abcde")), "x.png", "not valid base64"),
        (png_with_text(("chara", base64.b64encode(b"{oops").decode())), "x.png", "not valid JSON"),
        (png_with_text(("chara", base64.b64encode(b"\xff\xfe").decode())), "x.png", "not UTF-8"),
        (png_with_text(("chara", b64json([1, 2]))), "x.png", "not a JSON object"),
        (png_with_text(("ccv3", "")), "x.png", "'ccv3' chunk is empty"),
        (b'{"name": "A",', "a.json", "not valid JSON"),
        (b"[1, 2]", "a.json", "not a character card"),
        (b'{"name": NaN}', "a.json", "NaN is not allowed"),
        (b'{"name": 1e999}', "a.json", "not valid JSON"),
        (b'{"name": "\xff"}', "a.json", "not UTF-8"),
        (b'{"spec": "chara_card_v2", "data": []}', "a.json", "'data' field is not an object"),
        (b'{"spec": "chara_card_v9"}', "a.json", "unsupported card spec"),
        (b'{"entries": {}}', "wi.json", "World Info / lorebook file, not a character card"),
        (charx(None, {"readme.txt": b"hi"}), "c.charx", "no card.json"),
        (b"PK\x03\x04garbage", "c.charx", "CHARX (zip) archive is damaged"),
    ],
)
def test_malformed_input_gives_one_clear_message(data, filename, message):
    """Each malformed input raises ContentError naming the file and the problem, on one line."""
    with pytest.raises(ContentError) as caught:
        parse_card_bytes(data, filename)
    text = caught.value.user_message
    assert text.startswith(f"{filename}: ") and message in text and "\n" not in text


def test_truncated_png_card_is_refused_at_every_length():
    """A PNG card cut anywhere is refused with a ContentError."""
    data = st_png(st_v2_card())
    for end in range(0, len(data), 97):
        with pytest.raises(ContentError):
            parse_card_bytes(data[:end], "cut.png")


def test_a_deeply_nested_json_bomb_is_refused_before_parsing():
    """Nesting deeper than the limit is refused (without a RecursionError) even 100000 levels deep."""
    bomb = b'{"name": "A", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ContentError, match="nested deeper than 64"):
        parse_card_bytes(bomb, "bomb.json")


def test_nesting_inside_strings_does_not_count():
    """Brackets inside strings (with escaped quotes) are not structure."""
    text = json.dumps({"name": "A", "x": "[" * 500 + '\\"' + "{" * 500})
    assert parse_card_bytes(text.encode()).card["name"] == "A"


def test_a_huge_string_is_refused():
    """A single string longer than the limit is refused."""
    bomb = json.dumps({"name": "A", "description": "x" * (parse.MAX_STRING_CHARS + 1)}).encode()
    with pytest.raises(ContentError, match="string longer than 4 MiB"):
        parse_card_bytes(bomb, "big.json")


def test_too_many_containers_are_refused(monkeypatch):
    """A wide bomb of many small arrays is refused."""
    monkeypatch.setattr(parse, "MAX_CONTAINERS", 100)
    bomb = json.dumps({"name": "A", "x": [[] for _ in range(200)]}).encode()
    with pytest.raises(ContentError, match="more than 100 arrays and objects"):
        parse_card_bytes(bomb)


def test_a_file_over_the_size_limit_is_refused():
    """More than 20 MiB is refused before anything is parsed."""
    with pytest.raises(ContentError, match="larger than 20 MiB"):
        parse_card_bytes(b"{" + b" " * parse.MAX_FILE_BYTES + b"}", "huge.json")


def test_an_oversized_charx_member_is_refused(monkeypatch):
    """card.json larger than the JSON limit is refused from the zip header, before reading it."""
    monkeypatch.setattr(parse, "MAX_JSON_BYTES", 50)
    with pytest.raises(ContentError, match="card.json' is larger than"):
        parse_card_bytes(charx(st_v2_card()))


def test_lone_surrogates_are_replaced():
    """A lone UTF-16 surrogate escape becomes U+FFFD so the text can be saved as UTF-8."""
    raw = parse_card_bytes(b'{"name": "A\\ud800B", "description": "\\ud83d\\ude00"}')
    assert raw.card["name"] == "A\ufffdB" and raw.card["description"] == "\U0001f600"


def test_unterminated_string_is_a_syntax_error_not_a_hang():
    """An unterminated string with many escaped quotes is rejected quickly."""
    bomb = b'{"name": "' + b'\\"' * 500_000
    with pytest.raises(ContentError, match="not valid JSON"):
        parse_card_bytes(bomb)


# ------------------------------------------------------------------ versions


def test_v1_card_is_its_own_data_with_st_extras_moved():
    """A V1 card: bare fields; creatorcomment -> creator_notes, talkativeness/fav -> extensions, ST keys dropped."""
    spec, data, _ = split_card({"name": "A", "creatorcomment": "note", "talkativeness": "0.3", "fav": True,
                                "chat": "A - today", "avatar": "none", "mystery": 1})
    assert spec == "chara_card_v1"
    assert data == {"name": "A", "creator_notes": "note", "extensions": {"talkativeness": "0.3", "fav": True},
                    "mystery": 1}


def test_v2_fields_missing_under_data_come_from_the_v1_mirror():
    """A V2 card whose data lacks a V1 field takes it from the top level."""
    _, data, _ = split_card({"spec": "chara_card_v2", "name": "Top", "first_mes": "Hi", "data": {"name": "Data"}})
    assert data["name"] == "Data" and data["first_mes"] == "Hi"


def test_unknown_spec_with_data_is_read_as_v2_with_a_note():
    """A card with an unknown spec but a data object is read as V2, and the importer is told."""
    spec, data, warnings = split_card({"spec": "chara_card_v2.5", "data": {"name": "A"}})
    assert spec == "chara_card_v2" and data == {"name": "A"} and "unknown card spec" in warnings[0]
