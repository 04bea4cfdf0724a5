"""Fuzzing: parsers raise nothing but ContentError, and the mapper keeps its round-trip law on random cards."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards.api import export_card, import_card
from bot.cards.mapping import card_to_character, character_to_card
from bot.cards.parse import parse_card_bytes
from bot.cards.store import character_yaml
from bot.cards.worldinfo import import_world_info, lore_from_world_info
from bot.content.loader import load_character_file
from bot.content.models import (
    CardMeta,
    Character,
    LoreEntry,
    Mood,
    RelationshipSeed,
    SampleExchange,
    VoiceProfile,
)
from bot.errors import ContentError
from tests.cards.conftest import PNG_SIGNATURE, b64json, chunk, st_png, st_v2_card, tiny_png

# CARDS_FUZZ_EXAMPLES=5000 digs deeper than the default run.
FUZZ = settings(max_examples=int(os.environ.get("CARDS_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

TOKENS = ["{{user}}", "{{char}}", "{{User}}", "<BOT>", "<USER>", "<START>", "\n", "\r\n", " ", ":", "*", "@@",
          "{{original}}", "Alice", "Alice:", "{{user}}:", "{{char}}: ", "...", ".", "é", "小", "\t", "\x00"]
card_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=12).map("".join)
json_scalar = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
               | st.floats(allow_nan=False, allow_infinity=False) | card_text)
json_value = st.recursive(
    json_scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def loose(strategy):
    """Either the well-typed value or any JSON value: cards in the wild get types wrong."""
    return strategy | json_value


book_entry = st.fixed_dictionaries(
    {},
    optional={
        "id": loose(st.integers(0, 50) | card_text),
        "keys": loose(st.lists(card_text, max_size=3)),
        "key": loose(st.lists(card_text, max_size=3)),
        "secondary_keys": loose(st.lists(card_text, max_size=3)),
        "content": loose(card_text),
        "constant": loose(st.booleans()),
        "selective": loose(st.booleans()),
        "enabled": loose(st.booleans()),
        "insertion_order": loose(st.integers(-5, 500)),
        "case_sensitive": loose(st.booleans() | st.none()),
        "use_regex": loose(st.booleans()),
        "comment": card_text,
        "extensions": loose(st.fixed_dictionaries({}, optional={
            "selectiveLogic": loose(st.integers(-1, 4)),
            "probability": loose(st.integers(-10, 110) | st.floats(0, 100)),
            "useProbability": loose(st.booleans()),
            "match_whole_words": loose(st.booleans() | st.none()),
            "case_sensitive": loose(st.booleans() | st.none()),
            "position": st.integers(0, 4),
        })),
    },
)
book = st.fixed_dictionaries({}, optional={
    "name": card_text,
    "entries": loose(st.lists(loose(book_entry), max_size=4)),
    "extensions": json_value,
    "scan_depth": json_value,
})
card_data = st.fixed_dictionaries({}, optional={
    "name": loose(card_text | st.just("Alice")),
    "description": loose(card_text),
    "personality": loose(card_text),
    "scenario": loose(card_text),
    "first_mes": loose(card_text),
    "mes_example": loose(card_text),
    "creator_notes": loose(card_text),
    "system_prompt": loose(card_text),
    "post_history_instructions": loose(card_text),
    "alternate_greetings": loose(st.lists(card_text, max_size=3)),
    "character_book": loose(book),
    "tags": loose(st.lists(card_text, max_size=3)),
    "creator": loose(card_text),
    "character_version": loose(card_text),
    "extensions": loose(st.dictionaries(st.sampled_from(["talkativeness", "fav", "ensemble", "x", "depth_prompt"]),
                                        json_value, max_size=3)),
    "nickname": loose(card_text),
    "group_only_greetings": json_value,
    "unknown": json_value,
})
typed_entry = st.fixed_dictionaries(
    {"keys": st.lists(card_text | st.just("key"), min_size=1, max_size=3), "content": card_text | st.just("text")},
    optional={
        "id": st.integers(0, 5) | st.sampled_from(["a", "05", " 7 "]),
        "secondary_keys": st.lists(card_text, max_size=2),
        "constant": st.booleans(),
        "selective": st.booleans(),
        "enabled": st.booleans(),
        "insertion_order": st.integers(-5, 500) | st.floats(0, 10),
        "case_sensitive": st.booleans() | st.none(),
        "selectiveLogic": st.integers(0, 3),
        "comment": card_text,
        "extensions": st.fixed_dictionaries({}, optional={
            "selectiveLogic": st.integers(0, 3) | st.just("2"),
            "probability": st.integers(-10, 110) | st.floats(0, 100) | st.just("50"),
            "useProbability": st.booleans() | st.just(1),
            "match_whole_words": st.booleans() | st.none(),
            "case_sensitive": st.booleans() | st.none(),
            "depth": st.integers(0, 4),
        }),
    },
)
typed_card = st.fixed_dictionaries(
    {"name": st.sampled_from(["Alice", " Bob  Smith ", "小红", "x" * 90])},
    optional={
        "description": card_text, "personality": card_text, "scenario": card_text, "first_mes": card_text,
        "mes_example": card_text, "alternate_greetings": st.lists(card_text, max_size=3) | card_text,
        "system_prompt": card_text, "post_history_instructions": card_text,
        "character_book": st.fixed_dictionaries({"entries": st.lists(typed_entry | book_entry, max_size=4)},
                                                optional={"name": card_text, "extensions": json_value}),
        "tags": st.lists(card_text, max_size=3) | card_text, "creator": card_text,
        "extensions": st.dictionaries(st.sampled_from(["talkativeness", "fav", "x"]), json_value, max_size=3),
        "nickname": card_text, "creation_date": st.integers(0, 2**40),
    },
).map(lambda data: {"spec": "chara_card_v3", "spec_version": "3.0", "data": data})
any_card = st.one_of(
    typed_card,

    card_data,
    st.builds(lambda data, spec: {"spec": spec, "spec_version": "2.0", "data": data},
              card_data, st.sampled_from(["chara_card_v2", "chara_card_v3", "other"])),
    json_value,
)


# ------------------------------------------------------------------ parsers never raise anything else


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_content_error(data):
    """Random bytes: a RawCard or a ContentError, nothing else."""
    try:
        parse_card_bytes(data, "x")
    except ContentError:
        pass


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([PNG_SIGNATURE, tiny_png()[:33], b"PK\x03\x04", b"{", b"[{"]))
def test_bytes_behind_a_real_prefix_raise_only_content_error(tail, prefix):
    """Random bytes after a PNG signature, an IHDR, a zip header or a JSON brace."""
    try:
        parse_card_bytes(prefix + tail)
    except ContentError:
        pass


@FUZZ
@given(st.lists(st.tuples(st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"IDAT", b"abCD"]), st.binary(max_size=80)),
                max_size=4))
def test_pngs_with_random_valid_chunks_raise_only_content_error(chunks):
    """Well-formed chunks with random payloads (correct CRCs) never crash the reader."""
    extra = b"".join(chunk(t, d) for t, d in chunks)
    try:
        parse_card_bytes(tiny_png(extra))
    except ContentError:
        pass


@FUZZ
@given(st.data())
def test_mutated_card_files_raise_only_content_error(data):
    """Flipping, cutting or inserting bytes in a real PNG or JSON card never crashes the importer."""
    original = data.draw(st.sampled_from([st_png(st_v2_card()), json.dumps(st_v2_card()).encode()]))
    blob = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            blob[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del blob[position:]
            if not blob:
                break
        else:
            blob[position:position] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        import_card(bytes(blob), "mutated")
    except ContentError:
        pass


@FUZZ
@given(json_value)
def test_random_card_json_in_a_png_chunk_raises_only_content_error(value):
    """Any JSON value in a chara chunk: a character or a ContentError."""
    try:
        import_card(tiny_png(chunk(b"tEXt", b"chara\x00" + b64json(value).encode())), "x.png")
    except ContentError:
        pass


@FUZZ
@given(st.one_of(json_value, st.fixed_dictionaries({"entries": loose(
    st.dictionaries(st.text(max_size=3), loose(st.fixed_dictionaries({}, optional={
        "key": loose(st.lists(card_text, max_size=2)), "keysecondary": loose(st.lists(card_text, max_size=2)),
        "content": loose(card_text), "constant": json_value, "selective": json_value, "selectiveLogic": json_value,
        "order": json_value, "probability": json_value, "useProbability": json_value, "disable": json_value,
        "caseSensitive": json_value, "matchWholeWords": json_value, "displayIndex": json_value,
        "uid": json_value})), max_size=4)
    | st.lists(loose(book_entry), max_size=3))})))
def test_random_world_info_raises_only_content_error(value):
    """Random World Info objects: lore entries or a ContentError."""
    try:
        result = lore_from_world_info(value, id_prefix="w")
    except ContentError:
        return
    assert result.entries and len({e.id for e in result.entries}) == len(result.entries)
    import_world_info(json.dumps(value).encode(), "w.json")


# ------------------------------------------------------------------ the mapper: no crash, and the law holds


@FUZZ
@given(any_card)
def test_random_cards_never_crash_the_mapper_and_round_trip(card):
    """card_to_character: a Character or a ContentError; a Character survives export -> import unchanged."""
    try:
        character = card_to_character(card).character
    except ContentError:
        return
    exported = character_to_card(character)
    assert json.loads(json.dumps(exported)) == exported
    assert card_to_character(exported).character == character
    assert card_to_character(json.loads(json.dumps(exported))).character == character


@FUZZ
@given(data=card_data.filter(lambda d: isinstance(d.get("name"), str) and d["name"].strip()))
def test_random_cards_survive_the_yaml_file_and_png(data, tmp_path_factory):
    """An imported character written as YAML loads back equal, and its PNG export imports equal."""
    try:
        character = card_to_character({"spec": "chara_card_v2", "data": data}).character
    except ContentError:
        return
    path = tmp_path_factory.mktemp("y") / f"{character.id}.yaml"
    path.write_text(character_yaml(character), encoding="utf-8")
    assert load_character_file(path) == character
    assert import_card(export_card(character, "png"), "x.png").character == character


names = card_text.map(lambda t: " ".join(t.split())[:80]).filter(bool)
non_empty = card_text.filter(lambda t: t.strip())
samples = st.lists(st.builds(SampleExchange, user=non_empty, character=non_empty), min_size=1, max_size=3)
lore_entries = st.lists(st.builds(
    LoreEntry,
    id=st.none() | st.sampled_from(["0", "7", "007", "x"]),
    keys=st.lists(non_empty, min_size=1, max_size=2),
    secondary_keys=st.lists(non_empty, max_size=2),
    selective_logic=st.sampled_from(["and_any", "not_all", "not_any", "and_all"]),
    content=non_empty,
    order=st.integers(-100, 1000),
    probability=st.integers(0, 100),
    enabled=st.booleans(),
    case_sensitive=st.booleans(),
    whole_word=st.booleans(),
), max_size=3)


@st.composite
def characters(draw):
    """Hand-written characters (no import stash), with every Ensemble-only field in play."""
    name = draw(names)
    return Character(
        id=draw(st.sampled_from(["a", "hand-made", "x_1"])),
        name=name,
        aliases=draw(st.lists(non_empty, max_size=2)),
        description=draw(non_empty),
        personality=draw(non_empty),
        scenario=draw(card_text),
        voice=VoiceProfile(style=draw(non_empty), vocabulary=draw(st.lists(non_empty, max_size=2)),
                           quirks=draw(st.lists(non_empty, max_size=2)), samples=draw(samples)),
        talkativeness=draw(st.floats(0, 1)),
        start_location=draw(st.none() | st.just("docks")),
        mood=draw(st.builds(Mood, label=non_empty, intensity=st.floats(0, 1))),
        goals=draw(st.lists(non_empty, max_size=2)),
        relationships=draw(st.dictionaries(st.sampled_from(["mira", "bo"]),
                                           st.builds(RelationshipSeed, affinity=st.integers(-100, 100)),
                                           max_size=2)),
        greetings=draw(st.lists(non_empty, max_size=3)),
        system_prompt=draw(card_text),
        post_history_instructions=draw(card_text),
        lore=draw(lore_entries),
        meta=CardMeta(tags=draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True)),
                      creator=draw(card_text), source_spec=draw(st.sampled_from(["", "chara_card_v3"])),
                      extensions=draw(st.dictionaries(st.sampled_from(["x", "y"]), json_value, max_size=2))),
    )


@FUZZ
@given(characters())
def test_random_hand_written_characters_round_trip(character):
    """A character that never came from a card survives export -> import (macros normalised first)."""
    exported = character_to_card(character)
    again = card_to_character(json.loads(json.dumps(exported))).character
    normalised = card_to_character(character_to_card(again)).character
    assert normalised == again
    if not any(token in character.model_dump_json() for token in ("{{User}}", "<BOT>", "<USER>", "\\r", "@@")):
        assert again == character


def test_big_numbers_do_not_crash_the_value_readers():
    """Integers too big for a float are treated as junk, not errors."""
    card = {"name": "A", "extensions": {"talkativeness": 10**400},
            "character_book": {"entries": [{"keys": ["k"], "content": "c", "insertion_order": 10**400,
                                            "extensions": {"probability": 10**400}}]}}
    assert card_to_character(card).character.lore[0].order == 100
