"""Card <-> Character mapping: every field, the fallbacks, macros, lorebooks, and the round-trip law."""

from __future__ import annotations

import copy
import json

import pytest

from bot.cards.api import export_card, import_card
from bot.cards.mapping import (
    NATIVE_KEY,
    STASH_KEY,
    card_to_character,
    character_to_card,
    parse_mes_example,
    render_mes_example,
)
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
from tests.cards.conftest import b64json, charx, png_with_text, st_book_entry, st_png, st_v2_card, st_v3_card

V2_DATA_KEYS = {
    "name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
    "system_prompt", "post_history_instructions", "alternate_greetings", "character_book", "tags", "creator",
    "character_version", "extensions",
}


def imported(card) -> Character:
    return card_to_character(card).character


def without_stash(character: Character) -> Character:
    """The character without the import's hidden copy (stale after edits, so not part of the law)."""
    extensions = {k: v for k, v in character.meta.extensions.items() if k != STASH_KEY}
    return Character.model_validate({**character.model_dump(), "meta": {**character.meta.model_dump(),
                                                                         "extensions": extensions}})


def reimported(character: Character) -> Character:
    """Export to a V2 card, through JSON text, and import again."""
    return import_card(export_card(character), "again.json").character


# ------------------------------------------------------------------ every field


def test_st_v2_card_fields_map_to_the_character():
    """Each card field lands where the mapping table says."""
    c = imported(st_v2_card())
    assert c.id == "seraphina" and c.name == "Seraphina"
    assert c.description.startswith("Seraphina is a guardian")
    assert c.personality == "caring, protective, gentle, a little mischievous"
    assert c.voice.style == c.personality
    assert c.scenario == "{{user}} wakes up hurt in Seraphina's glade."
    assert c.greetings == [
        "*Seraphina kneels beside {{user}}.* Easy now. You took a bad fall.",
        "*A soft light fills the glade.* You're awake.",
        "Shh. Rest.",
    ]
    assert c.voice.samples == [
        SampleExchange(user="Who are you?", character="*She smiles.* A friend of the forest."),
        SampleExchange(user="Where am I?", character="In my glade.\nYou are safe here."),
        SampleExchange(user="...", character="*She hums while mixing herbs.*"),
    ]
    assert c.system_prompt == "{{original}}\nWrite Seraphina warmly."
    assert c.post_history_instructions == "{{original}} Stay in character."
    assert c.talkativeness == 0.6
    assert c.meta.tags == ["fantasy", "healer"]
    assert (c.meta.creator, c.meta.character_version) == ("someone", "1.2")
    assert c.meta.creator_notes == "Best with a slow-burn story."
    assert c.meta.source_spec == "chara_card_v2"
    assert c.meta.extensions["chub"] == {"full_path": "someone/seraphina", "id": 1234}
    assert c.meta.extensions["world"] == "Eldoria" and "talkativeness" not in c.meta.extensions


def test_character_book_entries_map_to_lore():
    """keys, secondary keys + logic, probability, whole words, case, order, constant and enabled all map."""
    forest, shadow, glade = imported(st_v2_card()).lore
    assert forest == LoreEntry(id="0", keys=["Eldoria", "forest"], content="Eldoria is an ancient, enchanted forest.")
    assert shadow == LoreEntry(
        id="1", keys=["shadow"], secondary_keys=["wolf", "wolves"], selective_logic="and_all",
        content="Shadowfangs are corrupted wolves.", order=50, probability=60, case_sensitive=True,
        whole_word=False,
    )
    assert glade.constant and not glade.enabled and glade.keys == []


@pytest.mark.parametrize(("code", "logic"), [(0, "and_any"), (1, "not_all"), (2, "not_any"), (3, "and_all"),
                                             (9, "and_any"), ("x", "and_any")])
def test_selective_logic_codes(code, logic):
    """SillyTavern's selectiveLogic 0-3 map to the four names; anything else is and_any."""
    card = st_v2_card(character_book={"entries": [st_book_entry(0, ["k"], "c", secondary_keys=["s"],
                                                                selectiveLogic=code)]})
    assert imported(card).lore[0].selective_logic == logic


def test_secondary_keys_count_only_when_selective():
    """As in SillyTavern, secondary keys of a non-selective entry are ignored (and kept for export)."""
    entry = st_book_entry(0, ["k"], "c", secondary_keys=["s"], selective=False)
    c = imported(st_v2_card(character_book={"entries": [entry]}))
    assert c.lore[0].secondary_keys == []
    assert character_to_card(c)["data"]["character_book"]["entries"][0]["secondary_keys"] == ["s"]


def test_probability_is_ignored_when_use_probability_is_off():
    """useProbability false means the entry always fires."""
    entry = st_book_entry(0, ["k"], "c", probability=5, useProbability=False)
    assert imported(st_v2_card(character_book={"entries": [entry]})).lore[0].probability == 100


def test_v3_decorators_are_kept_out_of_the_content_but_exported_again():
    """'@@' decorator lines at the start of V3 lorebook content are not lore text, and survive export."""
    entry = {"keys": ["k"], "content": "@@depth 2\n@@role system\nThe real text.", "extensions": {},
             "enabled": True, "insertion_order": 1}
    c = imported(st_v3_card(character_book={"entries": [entry]}))
    assert c.lore[0].content == "The real text."
    assert character_to_card(c)["data"]["character_book"]["entries"][0] == entry


def test_entries_that_can_never_fire_are_skipped_but_exported_in_place():
    """An entry without content or without keys (not constant) is not lore, and comes back on export."""
    entries = [{"keys": [], "content": "orphan"}, st_book_entry(1, ["k"], "kept"), {"keys": ["x"], "content": " "},
               "junk"]
    mapped = card_to_character(st_v2_card(character_book={"entries": entries}))
    assert [e.content for e in mapped.character.lore] == ["kept"]
    assert any("3 lorebook entries" in w for w in mapped.warnings)
    assert character_to_card(mapped.character)["data"]["character_book"]["entries"] == entries


def test_regex_keys_are_reported():
    """use_regex entries import (keys as text) with a note."""
    entry = st_book_entry(0, ["/dragons?/i"], "c", use_regex=True)
    assert any("regex" in w for w in card_to_character(st_v2_card(character_book={"entries": [entry]})).warnings)


def test_tags_as_a_comma_string_and_duplicates():
    """Tags may be one comma-separated string; duplicates and blanks go."""
    assert imported(st_v2_card(tags="a, b,, a")).meta.tags == ["a", "b"]


@pytest.mark.parametrize(("value", "expected"), [("0.25", 0.25), (0.9, 0.9), (7, 1.0), (-1, 0.0), ("lots", 0.5)])
def test_talkativeness_from_extensions(value, expected):
    """SillyTavern's talkativeness extension becomes talkativeness (clamped; junk -> 0.5)."""
    card = st_v2_card(extensions={"talkativeness": value})
    assert imported(card).talkativeness == expected


def test_v1_card_maps():
    """A bare V1 card makes a character with source spec chara_card_v1."""
    c = imported({"name": "Old", "description": "An old card.", "personality": "grumpy", "first_mes": "Hm.",
                  "mes_example": "<START>\n<USER>: hi\n<BOT>: Go away."})
    assert c.meta.source_spec == "chara_card_v1"
    assert c.voice.samples == [SampleExchange(user="hi", character="Go away.")]


def test_v3_fields_are_kept_and_the_nickname_is_an_alias():
    """V3-only fields ride along to the V2 export; the nickname answers as an alias."""
    extra = {"nickname": "Sera", "group_only_greetings": ["Hello, all of you."], "source": ["https://x"],
             "creation_date": 1700000000, "creator_notes_multilingual": {"fr": "Bonjour"}, "assets": []}
    c = imported(st_v3_card(**extra))
    assert c.aliases == ["Sera"] and c.meta.source_spec == "chara_card_v3"
    data = character_to_card(c)["data"]
    assert {k: data[k] for k in extra} == extra


# ------------------------------------------------------------------ fallbacks for what Ensemble requires


def test_empty_personality_falls_back_to_the_first_sentence_of_the_description():
    """A card with no personality still makes a valid character; export writes it back empty."""
    c = imported(st_v2_card(personality=""))
    assert c.personality == "Seraphina is a guardian of the Eldoria forest."
    assert c.voice.style == c.personality
    assert character_to_card(c)["data"]["personality"] == ""


def test_empty_description_falls_back_to_the_personality():
    """An empty description takes the personality; export writes it back empty."""
    c = imported(st_v2_card(description=""))
    assert c.description == "caring, protective, gentle, a little mischievous"
    assert character_to_card(c)["data"]["description"] == ""


def test_a_card_with_only_a_name_is_playable():
    """Name only: description = name, a stock sample, and notes say so."""
    mapped = card_to_character({"name": "Nobody"})
    c = mapped.character
    assert (c.description, c.personality, c.greetings) == ("Nobody", "Nobody", [])
    assert c.voice.samples == [SampleExchange(user="...", character="*{{char}} nods at {{user}}.*")]
    assert any("no usable example" in w for w in mapped.warnings)
    card = character_to_card(c)["data"]
    assert (card["description"], card["personality"], card["mes_example"]) == ("", "", "")


def test_no_examples_derives_a_sample_from_the_first_greeting():
    """Without mes_example the first greeting is the voice sample; export keeps mes_example empty."""
    c = imported(st_v2_card(mes_example=""))
    assert c.voice.samples == [SampleExchange(user="...", character=c.greetings[0])]
    assert character_to_card(c)["data"]["mes_example"] == ""


def test_long_names_are_shortened_with_a_note():
    """Names over 80 characters are cut (Ensemble's limit) and the importer is told."""
    mapped = card_to_character({"name": "N" * 100})
    assert len(mapped.character.name) == 80 and "shortened" in mapped.warnings[0]


@pytest.mark.parametrize("card", [{"description": "no name"}, {"name": "   "}, {"name": None},
                                  {"spec": "chara_card_v2", "data": {"name": ""}}])
def test_a_card_without_a_name_is_refused(card):
    """No name, no character: one clear message."""
    with pytest.raises(ContentError, match="the card has no name"):
        card_to_character(card)


def test_an_invalid_id_override_is_refused():
    """An id that is not a slug is refused with the rule."""
    with pytest.raises(ContentError, match="not a valid character id"):
        card_to_character({"name": "A"}, character_id="Not A Slug")


def test_non_ascii_names_get_a_slug_id():
    """A name with no ASCII letters still gets a valid id."""
    assert imported({"name": "小红"}).id == "c-5c0f-7ea2"


# ------------------------------------------------------------------ example messages and macros


def test_macros_are_normalised_but_kept():
    """{{User}}, {{CHAR}}, <USER> and <BOT> become {{user}}/{{char}}; other macros stay as they are."""
    c = imported({"name": "A", "description": "{{Char}} likes <USER>. {{random:a,b}}", "first_mes": "<BOT> waves"})
    assert c.description == "{{char}} likes {{user}}. {{random:a,b}}"
    assert c.greetings == ["{{char}} waves"]


def test_mes_example_parsing():
    """Blocks, name-labelled lines, multi-line messages, a trailing user line, and more than three exchanges."""
    text = (
        "<START>\n{{user}}: one\n{{char}}: reply one\n"
        "<start>\nAlice: untagged by macro\n"
        "<START>\n{{user}}: two\nstill two\n\n{{char}}: reply two\n{{user}}: dangling\n"
        "<START>\n{{user}}: three\n{{char}}: reply three"
    )
    assert parse_mes_example(text, "Alice") == [
        ("one", "reply one"),
        ("...", "untagged by macro"),
        ("two\nstill two", "reply two"),
        ("three", "reply three"),
    ]
    assert len(imported({"name": "Alice", "mes_example": text}).voice.samples) == 3


def test_text_before_any_speaker_counts_as_the_character():
    """A block with no labels is the character talking."""
    assert parse_mes_example("<START>\n*She waves.* Hello!") == [("...", "*She waves.* Hello!")]


def test_rendered_examples_parse_back():
    """render_mes_example is read back by parse_mes_example."""
    samples = [SampleExchange(user="hi", character="*nods*\nHello."), SampleExchange(user="...", character="Hm.")]
    assert parse_mes_example(render_mes_example(samples)) == [(s.user, s.character) for s in samples]


# ------------------------------------------------------------------ export shape


def test_export_is_a_v2_card_with_every_field_and_the_v1_mirror():
    """spec chara_card_v2 / 2.0, every V2 data field, and the V1 fields mirrored at the top as ST does."""
    card = character_to_card(imported(st_v2_card()))
    assert (card["spec"], card["spec_version"]) == ("chara_card_v2", "2.0")
    assert V2_DATA_KEYS <= card["data"].keys()
    for key in ("name", "description", "personality", "scenario", "first_mes", "mes_example"):
        assert card[key] == card["data"][key]
    assert json.loads(json.dumps(card)) == card


def test_export_restores_a_sillytavern_card_faithfully():
    """An unedited import exports the same data SillyTavern wrote (talkativeness becomes a number)."""
    original = st_v2_card()
    data = character_to_card(imported(copy.deepcopy(original)))["data"]
    expected = copy.deepcopy(original["data"])
    expected["extensions"]["talkativeness"] = 0.6
    assert data == expected


def test_unknown_extensions_and_data_fields_survive_export():
    """Extensions nobody knows and unknown data fields are written back unchanged."""
    card = st_v2_card(extensions={"some_tool": {"deep": [1, {"x": None}]}}, weird_field={"a": 1})
    data = character_to_card(imported(card))["data"]
    assert data["extensions"]["some_tool"] == {"deep": [1, {"x": None}]}
    assert data["weird_field"] == {"a": 1}
    assert STASH_KEY not in data["extensions"] and STASH_KEY not in data


def test_a_plain_character_exports_without_the_ensemble_extension():
    """A card imported from SillyTavern needs no Ensemble extension to come back."""
    assert NATIVE_KEY not in character_to_card(imported(st_v2_card()))["data"]["extensions"]


# ------------------------------------------------------------------ round trips


def _v2_png() -> bytes:
    return st_png(st_v2_card())


def _v3_png_with_both_chunks() -> bytes:
    v2 = st_v2_card()
    return st_png(v2, v3=st_v3_card(v2, nickname="Sera", group_only_greetings=["Hello, everyone."]))


def _v1_json() -> bytes:
    return json.dumps({"name": "Old", "description": "d", "mes_example": "<START>\n{{user}}: a\n{{char}}: b",
                       "talkativeness": "0.2", "chat": "x"}).encode()


def _charx() -> bytes:
    return charx(st_v3_card(), {"assets/main.png": png_with_text()})


@pytest.mark.parametrize(
    ("maker", "name"),
    [
        (lambda: json.dumps(st_v2_card()).encode(), "v2.json"),
        (_v2_png, "v2.png"),
        (_v3_png_with_both_chunks, "v3.png"),
        (_v1_json, "v1.json"),
        (_charx, "card.charx"),
        (lambda: png_with_text(("chara", b64json({"name": "Bare"}))), "bare.png"),
    ],
)
def test_import_export_import_is_the_same_character(maker, name):
    """import(export(import(card))) == import(card), through JSON and through PNG."""
    first = import_card(maker(), name).character
    assert import_card(export_card(first, "json"), "a.json").character == first
    assert import_card(export_card(first, "png"), "a.png").character == first


def test_sillytavern_acceptance_cards_are_playable():
    """V2 JSON, V2 PNG and V3 PNG (both chunks) import into characters with greetings, samples and lore."""
    for data, name in [(json.dumps(st_v2_card()).encode(), "a.json"), (_v2_png(), "a.png"),
                       (_v3_png_with_both_chunks(), "b.png")]:
        c = import_card(data, name).character
        assert c.greetings and c.voice.samples and c.lore and c.description and c.personality


def test_a_hand_written_character_survives_a_card_round_trip():
    """Ensemble-only fields travel in extensions.ensemble, so export -> import gives the character back."""
    c = Character(
        id="captain-reyes",
        name="Captain Reyes",
        aliases=["Reyes", "the Captain"],
        description="Harbor master of Old Harbor.\nKnows every ship.",
        personality="Gruff. Fair. Tired.",
        scenario="A storm is coming.",
        voice=VoiceProfile(
            style="short sentences, nautical slang",
            vocabulary=["aye", "belay that"],
            quirks=["taps the barometer"],
            samples=[SampleExchange(user="Any news?", character="Storm's coming. Tie down."),
                     SampleExchange(user="{{user}}: tricky", character="<START> is not special here")],
        ),
        talkativeness=0.3,
        avatar_url="https://example.com/reyes.png",
        start_location="docks",
        mood=Mood(label="wary", intensity=0.6),
        goals=["keep the harbor open"],
        relationships={"mira": RelationshipSeed(affinity=40, note="owes her")},
        greetings=["*Reyes looks up.* What?"],
        system_prompt="{{original}}",
        lore=[LoreEntry(id="storm", keys=["storm"], content="Storms sink ships.", probability=50)],
        meta=CardMeta(tags=["sea"], creator="me", extensions={"other": {"x": 1}}),
    )
    assert reimported(c) == c


def test_edited_lore_exports_the_edits():
    """After editing, reordering and deleting lore, export -> import gives exactly the edited lore."""
    c = imported(st_v2_card())
    forest, shadow, glade = c.lore
    edited = [glade, forest.model_copy(update={"content": "Eldoria burned down."}),
              LoreEntry(keys=["new"], content="A new entry.")]
    c2 = Character.model_validate({**c.model_dump(), "lore": [e.model_dump() for e in edited]})
    again = reimported(c2)
    assert again.lore == c2.lore
    assert without_stash(again) == without_stash(c2)
    book = character_to_card(c2)["data"]["character_book"]
    assert book["entries"][1]["comment"] == "entry 0"  # the unmapped details follow their entry


def test_edited_texts_and_samples_export_the_edits():
    """Changing derived fields and samples after import is what export writes."""
    c = imported(st_v2_card(personality="", mes_example=""))
    c2 = Character.model_validate({
        **c.model_dump(),
        "personality": "New personality.",
        "voice": {**c.voice.model_dump(), "samples": [{"user": "a", "character": "b"}]},
    })
    data = character_to_card(c2)["data"]
    assert data["personality"] == "New personality." and data["mes_example"] == "<START>\n{{user}}: a\n{{char}}: b"
    assert without_stash(reimported(c2)) == without_stash(c2)


def test_an_invalid_ensemble_extension_is_ignored_with_a_note():
    """A broken extensions.ensemble does not stop the import."""
    card = st_v2_card(extensions={NATIVE_KEY: {"mood": {"intensity": 7}}})
    mapped = card_to_character(card)
    assert mapped.character.mood == Mood() and any("Ensemble extension" in w for w in mapped.warnings)


def test_the_stash_is_only_there_when_needed():
    """A card that export rebuilds exactly keeps no hidden copy in meta.extensions."""
    c = imported({"spec": "chara_card_v2", "data": {
        "name": "A", "description": "d", "personality": "p", "mes_example": "<START>\n{{user}}: x\n{{char}}: y",
        "character_book": {"entries": [{"keys": ["k"], "secondary_keys": [], "content": "c", "constant": False,
                                        "selective": False, "insertion_order": 100, "enabled": True,
                                        "case_sensitive": False, "position": "before_char",
                                        "extensions": {"selectiveLogic": 0, "probability": 100,
                                                       "useProbability": True, "match_whole_words": True}}],
                           "extensions": {}}}})
    assert STASH_KEY not in c.meta.extensions and len(c.lore) == 1
