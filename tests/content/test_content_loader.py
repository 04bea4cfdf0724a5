"""Tests of bot.content.loader: every kind of problem is found, named by file and field, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content.loader import (
    ContentProblems,
    Library,
    Problem,
    collect_problems,
    load_character_file,
    load_content,
    load_world_file,
)
from bot.errors import ContentError, NotFound


def problems_of(characters: Path, worlds: Path) -> list[tuple[str, str, str]]:
    """(file name, field, message) of every problem, for compact assertions."""
    _library, problems = collect_problems(characters, worlds)
    return [(p.file.name, p.field, p.message) for p in problems]


def only(problems: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    assert len(problems) == 1, problems
    return problems[0]


# --- the baseline -------------------------------------------------------------------------------------------


def test_mini_tree_is_clean(mini):
    """The fixture every other test breaks must itself load without a single problem."""
    library, problems = collect_problems(*mini)
    assert problems == []
    assert sorted(library.characters) == ["ann", "bo"]
    assert list(library.worlds) == ["town"]
    assert library.characters["ann"].id == "ann"  # the id comes from the file name


def test_problem_renders_as_file_field_message():
    """A problem prints as the one-line form the check command and ContentError use."""
    assert str(Problem(Path("worlds/x.yaml"), "cast[0]", "boom")) == "worlds/x.yaml: cast[0]: boom"


# --- reading files ------------------------------------------------------------------------------------------


def test_top_level_list_is_a_problem(mini):
    """A file whose top level is a list is rejected by name, not with an exception."""
    characters, worlds = mini
    (characters / "ann.yaml").write_text("- name: Ann\n", encoding="utf-8")
    file, field, message = only(problems_of(characters, worlds))
    assert (file, field) == ("ann.yaml", "(file)")
    assert "mapping" in message and "a list" in message


def test_empty_file_is_a_problem(mini):
    """An empty file is reported as empty."""
    characters, worlds = mini
    (characters / "ann.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert only(problems_of(characters, worlds))[1:] == (
        "(file)",
        "the file is empty; expected a mapping of fields (name: ...)",
    )


def test_yaml_syntax_error_names_line_and_column(mini):
    """A syntax error carries the line and column where the parser gave up."""
    characters, worlds = mini
    (characters / "ann.yaml").write_text(
        "name: Ann\ndescription: [unclosed\npersonality: x\n", encoding="utf-8"
    )
    file, field, message = only(problems_of(characters, worlds))
    assert file == "ann.yaml"
    assert field == "line 3, column 12"
    assert message.startswith("YAML syntax error: ") and "line 2" in message


def test_non_utf8_file_is_a_problem(mini):
    """Bytes that are not UTF-8 are reported with the line they are on."""
    characters, worlds = mini
    (characters / "ann.yaml").write_bytes(b"name: Ann\ndescription: caf\xe9\n")
    assert only(problems_of(characters, worlds)) == (
        "ann.yaml",
        "line 2",
        "not valid UTF-8 (byte 0xe9); save the file as UTF-8",
    )


def test_utf8_bom_is_accepted(mini):
    """A byte-order mark (written by some editors) does not make a file invalid."""
    characters, worlds = mini
    path = characters / "ann.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert problems_of(characters, worlds) == []


def test_unreadable_file_is_a_problem(mini):
    """A path that cannot be read as a file is a problem, not an OSError."""
    characters, worlds = mini
    (characters / "zed.yaml").mkdir()
    file, field, message = only(problems_of(characters, worlds))
    assert (file, field) == ("zed.yaml", "(file)")
    assert message.startswith("cannot read the file: ")


def test_forbidden_character_is_a_problem(mini):
    """A control character YAML refuses (here NUL) is reported with its line, not raised."""
    characters, worlds = mini
    (characters / "ann.yaml").write_text("name: Ann\nscenario: a\x00b\n", encoding="utf-8")
    assert only(problems_of(characters, worlds)) == (
        "ann.yaml",
        "line 2",
        "YAML cannot contain the character U+0000; remove it",
    )


def test_bad_yaml_value_is_a_problem(mini):
    """PyYAML's bare ValueError for an impossible date is caught too."""
    characters, worlds = mini
    with (characters / "ann.yaml").open("a", encoding="utf-8") as handle:
        handle.write("scenario: 2024-13-45\n")
    file, field, message = only(problems_of(characters, worlds))
    assert (file, field) == ("ann.yaml", "(file)")
    assert "month must be in 1..12" in message


def test_duplicate_yaml_key_is_a_problem(mini):
    """YAML keeps the last of two equal keys silently; the loader reports it instead."""
    characters, worlds = mini
    with (characters / "ann.yaml").open("a", encoding="utf-8") as handle:
        handle.write("name: Annabel\n")
    file, field, message = only(problems_of(characters, worlds))
    assert (file, field) == ("ann.yaml", "name")
    assert message.startswith("duplicate key on line ") and "(first on line 1)" in message


def test_yaml_merge_keys_are_not_duplicates(mini):
    """Overriding a merged key (<<: *anchor) is what a merge is for, so it is not a duplicate."""
    characters, worlds = mini
    path = characters / "bo.yaml"
    text = path.read_text(encoding="utf-8")
    relationships = "relationships:\n  user: &plain {affinity: 0}\n  ann: {<<: *plain, affinity: 40}\n"
    path.write_text(text[: text.index("relationships:")] + relationships, encoding="utf-8")
    library, problems = collect_problems(characters, worlds)
    assert problems == []
    assert library.characters["bo"].relationships["ann"].affinity == 40


# --- ids and fields -----------------------------------------------------------------------------------------


def test_id_must_match_file_name(mini, edit_yaml):
    """An id that differs from the file name is a problem; the file does not load."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data.update(id="anna"))
    library, problems = collect_problems(characters, worlds)
    assert [(p.file.name, p.field, p.message) for p in problems] == [
        ("ann.yaml", "id", "id 'anna' does not match the file name 'ann'; remove it or rename the file"),
    ]
    assert "ann" not in library.characters
    assert library.cast_of("town") == [library.characters["bo"]]


def test_id_equal_to_file_name_is_fine(mini, edit_yaml):
    """Writing the id out is allowed when it matches."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data.update(id="ann"))
    assert problems_of(characters, worlds) == []


def test_file_name_must_be_a_slug(mini, write_yaml):
    """A file name that is not a valid id is reported on the id field with a readable rule."""
    characters, worlds = mini
    write_yaml(characters / "Big Bob.yaml", {"name": "Bob"})
    problems = [p for p in problems_of(characters, worlds) if p[0] == "Big Bob.yaml"]
    assert (
        "Big Bob.yaml",
        "id",
        "'Big Bob' is not a valid id: use lowercase letters, digits, '-' and '_', "
        "starting with a letter or digit, at most 64 characters",
    ) in problems


def test_misspelled_field_suggests_the_right_one(mini, edit_yaml):
    """A typo is an unknown field with a suggestion, and the field it replaced is reported missing."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data.update(personalty=data.pop("personality")))
    assert problems_of(characters, worlds) == [
        ("ann.yaml", "personality", "missing required field"),
        ("ann.yaml", "personalty", "unknown field (did you mean 'personality'?)"),
    ]


def test_nested_field_paths_use_brackets_for_indexes(mini, edit_yaml):
    """Errors deep in a file name the full path, list indexes in brackets."""
    characters, worlds = mini

    def break_nested(data):
        del data["voice"]["samples"][0]["character"]
        data["relationships"]["bo"] = {"affinity": 500}
        data["mood"] = {"label": "calm", "intensty": 0.5}

    edit_yaml(characters / "ann.yaml", break_nested)
    assert problems_of(characters, worlds) == [
        ("ann.yaml", "voice.samples[0].character", "missing required field"),
        ("ann.yaml", "mood.intensty", "unknown field (did you mean 'intensity'?)"),
        ("ann.yaml", "relationships.bo.affinity", "Input should be less than or equal to 100"),
    ]


def test_nested_model_validator_is_placed_at_its_model(mini, edit_yaml):
    """A lore entry's own validator error is reported at that entry."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data.update(lore=[{"content": "A secret."}]))
    assert only(problems_of(characters, worlds)) == (
        "ann.yaml",
        "lore[0]",
        "a lore entry needs at least one key unless it is constant",
    )


def test_non_string_dict_key_is_named(mini, edit_yaml):
    """A relationship key YAML read as a boolean (``no:``) is reported as a bad key."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data["relationships"].update({False: {"affinity": 1}}))
    file, field, message = only(problems_of(characters, worlds))
    assert (file, field) == ("ann.yaml", "relationships.False")
    assert message == (
        "the key False is not text: YAML reads unquoted yes/no/on/off/true/false as booleans, so quote it"
    )


# --- world references ---------------------------------------------------------------------------------------


def test_world_validator_path_becomes_the_field(mini, edit_yaml):
    """The World validator's 'path: message' is split into field and message."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["locations"][0]["exits"].append("tower"))
    assert only(problems_of(characters, worlds)) == (
        "town.yaml",
        "locations[0].exits[1].to",
        "unknown location 'tower' (known: square, well, cellar)",
    )


def test_every_broken_world_reference_is_reported(mini, edit_yaml):
    """All broken references at once, even those the model's validator never reaches."""
    characters, worlds = mini

    def break_references(data):
        data["locations"][0]["exits"] += ["tower", {"to": "square"}]
        data["locations"][1]["exits"].append("moon")
        data["locations"].append({"id": "well", "name": "Second Well", "description": "Twin."})
        data["user_start"] = "nowhere"
        data["event_seeds"].append({"text": "Rain.", "location": "sky"})
        data["cast"].append("bo")
        data["colour"] = "grey"  # an invalid field stops the model validator from running at all

    edit_yaml(worlds / "town.yaml", break_references)
    known = "(known: square, well, cellar)"
    assert problems_of(characters, worlds) == [
        (
            "town.yaml",
            "colour",
            "unknown field (allowed here: id, name, language, description, rules, locations, "
            "user_start, lore, cast, event_seeds, narrator, settings)",
        ),
        ("town.yaml", "locations[3].id", "duplicate location id 'well' (first at locations[1])"),
        ("town.yaml", "locations[0].exits[1].to", f"unknown location 'tower' {known}"),
        ("town.yaml", "locations[0].exits[2].to", "an exit to itself"),
        ("town.yaml", "locations[1].exits[1].to", f"unknown location 'moon' {known}"),
        ("town.yaml", "user_start", f"unknown location 'nowhere' {known}"),
        ("town.yaml", "event_seeds[1].location", f"unknown location 'sky' {known}"),
        ("town.yaml", "cast", "a character is listed twice: bo"),
    ]


def test_invalid_reference_keeps_its_field_error(mini, edit_yaml):
    """A malformed id in a reference gets both its format error and the unknown-place error."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data.update(user_start="Market Square"))
    assert problems_of(characters, worlds) == [
        (
            "town.yaml",
            "user_start",
            "'Market Square' is not a valid id: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit, at most 64 characters",
        ),
        ("town.yaml", "user_start", "unknown location 'Market Square' (known: square, well, cellar)"),
    ]


def test_two_way_exit_declared_twice_must_agree(mini, edit_yaml):
    """A two-way exit written on both sides with different settings is ambiguous."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["locations"][2].update(exits=["well"]))
    assert only(problems_of(characters, worlds)) == (
        "town.yaml",
        "locations[2].exits[0]",
        "the two-way exit between 'cellar' and 'well' is also declared at locations[1].exits[0] "
        "with different locked/audible settings; declare it once",
    )


def test_two_way_exit_declared_twice_alike_is_fine(mini, edit_yaml):
    """The same two-way exit written identically on both sides is harmless."""
    characters, worlds = mini
    edit_yaml(
        worlds / "town.yaml",
        lambda data: data["locations"][1].update(exits=["square", {"to": "cellar", "locked": True}]),
    )
    assert problems_of(characters, worlds) == []


def test_location_names_must_be_unambiguous(mini, edit_yaml):
    """Two places answering to the same name could not be told apart by a player."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["locations"][2].update(aliases=["The Square"]))
    assert only(problems_of(characters, worlds)) == (
        "town.yaml",
        "locations[2].aliases[0]",
        "'The Square' already names locations[0].aliases[0]",
    )


# --- cross-file checks --------------------------------------------------------------------------------------


def test_cast_member_needs_a_file(mini, edit_yaml):
    """A cast id with no character file is reported on the world, naming the expected file."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["cast"].append("cy"))
    assert only(problems_of(characters, worlds)) == (
        "town.yaml",
        "cast[2]",
        f"no character file {characters / 'cy.yaml'}",
    )


def test_broken_cast_file_is_not_also_missing(mini):
    """A cast member whose file exists but is broken gets its own problem, not a 'no file' one too."""
    characters, worlds = mini
    (characters / "bo.yaml").write_text("name: [Bo\n", encoding="utf-8")
    assert [p[0] for p in problems_of(characters, worlds)] == ["bo.yaml"]


def test_start_location_must_exist_in_every_world_of_the_character(mini, edit_yaml, write_yaml):
    """A start location missing from any world that casts the character is a problem on the character."""
    characters, worlds = mini
    write_yaml(
        worlds / "village.yaml",
        {
            "name": "Village",
            "description": "Another place.",
            "cast": ["ann"],
            "locations": [{"id": "square", "name": "Green", "description": "Grass."}],
        },
    )
    edit_yaml(characters / "bo.yaml", lambda data: data.update(start_location="attic"))
    assert problems_of(characters, worlds) == [
        (
            "bo.yaml",
            "start_location",
            "'attic' is not a location of world 'town', whose cast includes this character "
            "(its locations: square, well, cellar)",
        ),
    ]


def test_relationship_targets_must_share_a_world(mini, edit_yaml, write_yaml):
    """Relationship keys are 'user' or cast members of a world shared with the character."""
    characters, worlds = mini
    write_yaml(
        characters / "cy.yaml", {**yaml.safe_load((characters / "ann.yaml").read_text()), "name": "Cy"}
    )
    edit_yaml(
        characters / "ann.yaml",
        lambda data: data["relationships"].update(
            {"ann": {"affinity": 1}, "cy": {"affinity": 2}, "dee": {"affinity": 3}, "bo": {"affinity": 4}}
        ),
    )
    assert problems_of(characters, worlds) == [
        ("ann.yaml", "relationships.ann", "a character cannot have a relationship with itself"),
        (
            "ann.yaml",
            "relationships.cy",
            "'cy' is not in the cast of any world with this character (town); a relationship needs them to meet",
        ),
        (
            "ann.yaml",
            "relationships.dee",
            "unknown relationship target 'dee': use 'user' or a cast member of town (bo)",
        ),
    ]


def test_misspelled_references_get_a_suggestion(mini, edit_yaml):
    """A near miss in a start location or relationship key names the id that was probably meant."""
    characters, worlds = mini

    def misspell(data):
        data["start_location"] = "squar"
        data["relationships"]["anne"] = data["relationships"].pop("ann")

    edit_yaml(characters / "bo.yaml", misspell)
    assert problems_of(characters, worlds) == [
        (
            "bo.yaml",
            "start_location",
            "'squar' is not a location of world 'town' (did you mean 'square'?), whose cast includes this "
            "character (its locations: square, well, cellar)",
        ),
        (
            "bo.yaml",
            "relationships.anne",
            "unknown relationship target 'anne' (did you mean 'ann'?): use 'user' or a cast member of town (ann)",
        ),
    ]


def test_missing_cast_file_is_not_reported_again_on_relationships(mini, edit_yaml):
    """A relationship to a cast member whose file is missing is not a second problem: the cast one suffices."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["cast"].append("cy"))
    edit_yaml(characters / "ann.yaml", lambda data: data["relationships"].update(cy={"affinity": 5}))
    assert [(p[0], p[1]) for p in problems_of(characters, worlds)] == [("town.yaml", "cast[2]")]


def test_uncast_character_may_relate_to_any_character(mini, edit_yaml, write_yaml):
    """A character in no world (a fresh card import) may name any character, but not an unknown one."""
    characters, worlds = mini
    write_yaml(
        characters / "cy.yaml",
        {
            **yaml.safe_load((characters / "ann.yaml").read_text()),
            "name": "Cy",
            "relationships": {"user": {}, "bo": {"affinity": 5}, "zed": {"affinity": 5}},
        },
    )
    assert only(problems_of(characters, worlds)) == (
        "cy.yaml",
        "relationships.zed",
        "unknown relationship target 'zed': use 'user' or a character id",
    )


def test_duplicate_display_names_in_a_cast(mini, edit_yaml):
    """Two cast members answering to the same name (or alias) cannot be told apart."""
    characters, worlds = mini
    edit_yaml(characters / "bo.yaml", lambda data: data.update(name="ANN", aliases=["annie"]))
    assert problems_of(characters, worlds) == [
        (
            "town.yaml",
            "cast[1]",
            "'bo' has the name 'ANN', which is also the name of 'ann'; players could not tell them apart",
        ),
        (
            "town.yaml",
            "cast[1]",
            "'bo' has the alias 'annie', which is also the alias of 'ann'; players could not tell them apart",
        ),
    ]


def test_same_name_in_different_worlds_is_fine(mini, write_yaml):
    """Name clashes matter only within one cast."""
    characters, worlds = mini
    write_yaml(characters / "ann2.yaml", {**yaml.safe_load((characters / "ann.yaml").read_text())})
    write_yaml(
        worlds / "village.yaml",
        {
            "name": "Village",
            "description": "Another place.",
            "cast": ["ann2"],
            "locations": [{"id": "square", "name": "Green", "description": "Grass."}],
        },
    )
    assert problems_of(characters, worlds) == []


def test_character_ids_are_unique_across_extensions(mini, write_yaml):
    """``ann.yml`` next to ``ann.yaml`` would define the id twice; the second file is refused."""
    characters, worlds = mini
    write_yaml(characters / "ann.yml", {"name": "Other Ann"})
    library, problems = collect_problems(characters, worlds)
    assert [(p.file.name, p.field, p.message) for p in problems] == [
        ("ann.yml", "id", f"the character id 'ann' is already used by {characters / 'ann.yaml'}"),
    ]
    assert library.characters["ann"].name == "Ann"


def test_event_seed_characters_must_be_cast(mini, edit_yaml):
    """A director seed naming someone outside the cast could never be staged."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["event_seeds"][0]["characters"].append("ann2"))
    assert only(problems_of(characters, worlds)) == (
        "town.yaml",
        "event_seeds[0].characters[1]",
        "'ann2' is not in this world's cast",
    )


def test_missing_folder_is_a_problem(tmp_path):
    """A folder that does not exist is reported, not raised."""
    assert problems_of(tmp_path / "nope", tmp_path / "also-nope") == [
        ("nope", "(directory)", "no such directory"),
        ("also-nope", "(directory)", "no such directory"),
    ]


def test_folder_that_is_a_file_is_a_problem(tmp_path):
    """Pointing at a file instead of a folder is reported, not raised."""
    (tmp_path / "characters").write_text("not a folder", encoding="utf-8")
    (tmp_path / "worlds").mkdir()
    assert problems_of(tmp_path / "characters", tmp_path / "worlds") == [
        ("characters", "(directory)", "not a directory"),
    ]


def test_problems_from_many_files_come_together_grouped_by_file(mini, edit_yaml):
    """Problems in several files are all reported in one pass, characters first, each file's together."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["cast"].append("cy"))
    edit_yaml(characters / "bo.yaml", lambda data: data.pop("voice"))
    (characters / "ann.yaml").write_text("name: [\n", encoding="utf-8")
    assert [(p[0], p[1]) for p in problems_of(characters, worlds)] == [
        ("ann.yaml", "line 2, column 1"),
        ("bo.yaml", "voice"),
        ("town.yaml", "cast[2]"),
    ]


# --- public API ---------------------------------------------------------------------------------------------


def test_load_content_raises_with_every_problem_one_per_line(mini, edit_yaml):
    """load_content raises a ContentError whose message lists each problem as 'file: field: message'."""
    characters, worlds = mini
    edit_yaml(worlds / "town.yaml", lambda data: data["cast"].append("cy"))
    edit_yaml(characters / "bo.yaml", lambda data: data.pop("voice"))
    with pytest.raises(ContentError) as caught:
        load_content(characters, worlds)
    assert caught.value.user_message.splitlines() == [
        f"{characters / 'bo.yaml'}: voice: missing required field",
        f"{worlds / 'town.yaml'}: cast[2]: no character file {characters / 'cy.yaml'}",
    ]
    assert isinstance(caught.value, ContentProblems) and len(caught.value.problems) == 2


def test_load_content_returns_the_library_when_clean(mini):
    """Clean content loads into a Library."""
    library = load_content(*mini)
    assert isinstance(library, Library)
    assert [c.id for c in library.cast_of("town")] == ["ann", "bo"]


def test_load_single_files(mini, edit_yaml):
    """The single-file helpers validate one file on its own and raise ContentError naming file and field."""
    characters, worlds = mini
    assert load_character_file(characters / "ann.yaml").id == "ann"
    assert load_world_file(worlds / "town.yaml").start_location == "square"
    edit_yaml(characters / "ann.yaml", lambda data: data.update(talkativeness=2))
    with pytest.raises(ContentError) as caught:
        load_character_file(characters / "ann.yaml")
    assert caught.value.user_message == (
        f"{characters / 'ann.yaml'}: talkativeness: Input should be less than or equal to 1"
    )
    edit_yaml(worlds / "town.yaml", lambda data: data["locations"][0]["exits"].extend(["a", "b"]))
    with pytest.raises(ContentError) as caught:
        load_world_file(worlds / "town.yaml")
    assert [line.split(": ")[1] for line in caught.value.user_message.splitlines()] == [
        "locations[0].exits[1].to",
        "locations[0].exits[2].to",
    ]
    with pytest.raises(ContentError, match="cannot read the file"):
        load_world_file(worlds / "missing.yaml")


def test_find_character_ignores_case_and_width(mini):
    """Lookup by name, alias or id ignores case, surrounding space and full-width letters."""
    library = load_content(*mini)
    assert library.find_character("town", "ann").id == "ann"
    assert library.find_character("town", "  ANNIE ").id == "ann"
    assert library.find_character("town", "ＢＯ").id == "bo"  # full-width, as CJK keyboards type it
    assert library.find_character("town", "Cy") is None
    assert library.find_character("town", "") is None
    with pytest.raises(NotFound):
        library.find_character("atlantis", "ann")


def test_find_character_by_cjk_name_and_alias(mini, edit_yaml):
    """Chinese names and aliases are found exactly (CJK has no case, and no word boundaries to rely on)."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data.update(name="林晚", aliases=["林姑娘", "阿晚"]))
    library = load_content(characters, worlds)
    assert library.find_character("town", "林晚").id == "ann"
    assert library.find_character("town", "阿晚").id == "ann"
    assert library.find_character("town", " 林姑娘 ").id == "ann"
    assert library.find_character("town", "林") is None


def test_find_character_prefers_a_name_to_an_alias(mini, edit_yaml):
    """When one character's alias is another's id, the name/alias wins over the id."""
    characters, worlds = mini
    edit_yaml(characters / "ann.yaml", lambda data: data.update(aliases=["bo"]))
    edit_yaml(characters / "bo.yaml", lambda data: data.update(name="Bartholomew"))
    library, problems = collect_problems(characters, worlds)
    assert problems == []  # 'bo' is now only an id, not a name, so no clash is reported
    assert library.find_character("town", "bo").id == "ann"


def test_find_location_by_id_name_or_alias(mini):
    """Places are found by id (with spaces for dashes), name or alias; unknown gives None."""
    library = load_content(*mini)
    assert library.find_location("town", "square").id == "square"
    assert library.find_location("town", "market square").id == "square"
    assert library.find_location("town", "The Square").id == "square"
    assert library.find_location("town", "OLD WELL").id == "well"
    assert library.find_location("town", "roof") is None
    with pytest.raises(NotFound):
        library.find_location("atlantis", "square")


# --- robustness ---------------------------------------------------------------------------------------------

_scalars = (
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=False) | st.text(max_size=12)
)
_json_like = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)
_field_names = st.sampled_from(
    [
        "name",
        "description",
        "personality",
        "voice",
        "locations",
        "exits",
        "cast",
        "relationships",
        "id",
        "to",
        "start_location",
        "aliases",
        "lore",
        "keys",
        "event_seeds",
        "user_start",
        "samples",
        "mood",
    ]
)
_content_like = st.dictionaries(_field_names, _json_like, max_size=8)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(character=_content_like, world=_content_like)
def test_arbitrary_data_never_raises(tmp_path_factory, character, world):
    """Whatever a file holds, the loader answers with problems, never with an exception."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "characters").mkdir()
    (root / "worlds").mkdir()
    (root / "characters" / "x.yaml").write_text(yaml.safe_dump(character), encoding="utf-8")
    (root / "worlds" / "w.yaml").write_text(yaml.safe_dump(world), encoding="utf-8")
    library, problems = collect_problems(root / "characters", root / "worlds")
    for problem in problems:
        assert problem.field and problem.message
    # Whatever did not load must have a problem naming its file.
    assert ("x" in library.characters) or any(p.file.name == "x.yaml" for p in problems)
    assert ("w" in library.worlds) or any(p.file.name == "w.yaml" for p in problems)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(tmp_path_factory, raw):
    """Random bytes in a content file become problems, never an exception."""
    root = tmp_path_factory.mktemp("bytes")
    (root / "characters").mkdir()
    (root / "worlds").mkdir()
    (root / "characters" / "x.yaml").write_bytes(raw)
    library, problems = collect_problems(root / "characters", root / "worlds")
    assert "x" not in library.characters
    assert any(p.file.name == "x.yaml" for p in problems)
