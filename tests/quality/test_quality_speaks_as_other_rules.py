"""Speaks as another character: voices handed the floor, hails of the NPC's own name, in-story chat logs.

The examples are written for this test, not taken from the labelled sets in ``data/``.
"""

from __future__ import annotations

import pytest

from bot.quality.detectors import speaks_as_other, speaks_for_user
from bot.quality.findings import ReplyContext

CTX = ReplyContext(npc_name="Wren", user_names=("Tamsin",), other_names=("Odile", "Brother Amos"))
CTX_ZH = ReplyContext(npc_name="老周", user_names=("阿宁",), other_names=("刘奶奶", "小满"), language="zh")
ALONE_ZH = ReplyContext(npc_name="老周", user_names=("阿宁",), language="zh")


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # A stranger's voice introduced by the narration, then its words (no cast name needed).
        ("*门外忽然传来一个沙哑的嗓音：*“开门，查夜的。”*老周一下子站了起来。*", ALONE_ZH),
        ("*老周还没开口，另一个声音在楼梯口应道：*“别等了，他不会来。”", ALONE_ZH),
        # A kinship term standing for the cast member it names ("刘奶奶" -> "奶奶").
        ("*视频接通了，奶奶眯着眼凑近镜头：“满满啊，吃饭没有？”*“吃了吃了。”", CTX_ZH),
        # Another character's speech verb with more narration before the colon.
        ('*Upstairs, Odile yells down through the floorboards:* "Who took the last candle?" *Wren winces.*', CTX),
        ('*In the doorway, Brother Amos murmurs, eyes still on the snow,* "The road closes tonight."', CTX),
        # A quote that hails the NPC itself is someone else's line.
        ('*The kitchen door flies open.* "Wren! The bread is burning!" *Wren bolts for the oven.*', CTX),
        ("*船舱门被推开。*“老周！缆绳断了！”*老周抄起竹篙就往外跑。*", CTX_ZH),
    ],
)
def test_lines_written_for_another_voice_are_flagged(text: str, ctx: ReplyContext) -> None:
    assert [f.code for f in speaks_as_other.detect(text, ctx)] == ["other_line"]


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # The NPC's own voice, described as a voice, is its own line.
        ("*老周压低了声音：*“别出声。”", ALONE_ZH),
        ('*A voice like cold water fills the hall; it is Wren\'s own, thinned by the years.* "Stay."', CTX),
        # A recording plays back words that hail the NPC.
        ('*She presses play on the old cassette.* "Wren, it\'s me. If you hear this, leave the key." *She stops it.*',
         CTX),
        ("*老周点开那条语音留言。*“老周，明早八点码头见。”*他把手机揣回兜里。*", CTX_ZH),
        # The NPC says another character's name at the start of its own line.
        ('"Odile! Your turn." *Wren passes the dice along.*', CTX),
        # An impression the story marks as one ("puts on a voice").
        ('*Wren puts on a deep pious voice.* "I am Brother Amos, and I disapprove of pie." *She grins.*', CTX),
    ],
)
def test_own_voice_recordings_and_impressions_are_not_flagged(text: str, ctx: ReplyContext) -> None:
    assert speaks_as_other.detect(text, ctx) == []


def test_a_chat_log_under_a_title_line_is_a_document() -> None:
    log = "*老周把手机转过来给你看。*\n【夜市摊主群】\n小满：今晚收摊早点\n阿宁：好\n*他叹了口气。*“看见没，都跑了。”"
    assert speaks_as_other.detect(log, CTX_ZH) == []
    assert speaks_for_user.detect(log, CTX_ZH) == []
    phone = "*Wren holds up her phone so you can read it.*\nOdile: running late, save me a seat\n\"Typical.\""
    assert speaks_as_other.detect(phone, CTX) == []


def test_a_script_line_after_narration_is_still_a_header() -> None:
    script = '*Wren folds her arms.*\nOdile: "You never listen to me."\n"I do, actually."'
    assert [f.code for f in speaks_as_other.detect(script, CTX)] == ["other_header"]
    plain = "*Wren folds her arms and looks at the door.*\nOdile: You never listen to me, Wren.\n\"I do.\""
    assert [f.code for f in speaks_as_other.detect(plain, CTX)] == ["other_header"]


CTX_CAST = ReplyContext(npc_name="Wren", user_names=("Tamsin",), other_names=("Odile", "Brother Amos", "Jonah Pell"),
                        recent_replies=("*Wren lights the stove.* \"Kettle's on.\"",))


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # The other character is the subject of a subordinate clause that ends in the speech.
        ('*Wren nods toward the stove, where Odile stirs the pot and grumbles, "Too much salt again."*', CTX_CAST),
        # A Chinese name under a modifier or a title is still the subject.
        ("*门口的小满抱着胳膊开口：“我早说过了，这船不能开。”*“行了行了。”", CTX_ZH),
        ("*掌柜刘奶奶擦了擦手，瞪着门外：“谁又把门开着？”*老周赶紧去关门。", CTX_ZH),
        # A longer clause with commas that ends in a colon and the quote.
        ('*Odile sets down her cards, slowly, and taps the table twice:* "Your move." *Wren groans.*', CTX_CAST),
        ("*刘奶奶放下针线，往窗外看了一眼：“要下雪了。”*老周点点头。", CTX_ZH),
        # A part of the other character as the subject ("Odile's hands").
        ('*Odile\'s hands stop on the loom, and the shuttle clatters down:* "Who told you that?"', CTX_CAST),
        # A sentence that ends in a pure speech verb hands the next quote to its subject.
        ('*Brother Amos folds his hands over the bread and cuts in.* "We pray first." *Wren sighs.*', CTX_CAST),
        # A sound from a person named only by kind.
        ('*Somewhere below, a man\'s hoarse shout carries up the stairwell:* "Bring the rope!"', CTX_CAST),
        # The first name of a two-word name is the same person.
        ('"Pass the salt, then," Jonah mutters, not looking up. *Wren slides it over.*', CTX_CAST),
        # Someone who enters by kind in a later reply, with nobody taking the floor back.
        ('*The cellar door bangs open and a soldier stumbles in, rain streaming off his helmet.* "The bridge is out!"'
         ' *Wren grabs her coat.*', CTX_CAST),
    ],
)
def test_more_shapes_of_another_characters_line_are_flagged(text: str, ctx: ReplyContext) -> None:
    assert [f.code for f in speaks_as_other.detect(text, ctx)] == ["other_line"]


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # "in a ... voice" is how the subject speaks, not a second voice.
        ('*Wren leans close and, in a low cracked voice, says:* "Don\'t move."', CTX_CAST),
        # Another character's reaction, then the NPC's own line.
        ('*Odile snorts.* "Don\'t look at me like that." *Wren shrugs.*', CTX_CAST),
        # The clause hands the floor back to the NPC before the colon.
        ('*Odile shuffles the deck, and Wren taps the table:* "Deal."', CTX_CAST),
        # A clause that comments on the other character, then the NPC's own line.
        ('*Odile is right about one thing, though:* "The road will not wait for us."', CTX_CAST),
        ("*小满的意思很清楚：*“这船今天不能开。”*老周叹了口气。*", CTX_ZH),
        # An earlier remark recalled in the past tense.
        ('*It is exactly as Odile said.* "The bridge will not hold. We go around."', CTX_CAST),
        # A Chinese name that is the object of the narration.
        ("*老周看着一旁的小满，低声道：“别怕。”*", CTX_ZH),
        # The NPC bringing itself in by kind in its first reply.
        ('*A tall woman in a wet coat walks in and shakes out her umbrella.* "You must be Tamsin."',
         ReplyContext(npc_name="Wren", user_names=("Tamsin",), other_names=("Odile",))),
        # A newcomer whose quote the NPC's own attribution takes back.
        ('*A waiter hurries over with the menus.* "Two coffees," Wren says. "Black."', CTX_CAST),
    ],
)
def test_the_npcs_own_lines_around_other_characters_are_not_flagged(text: str, ctx: ReplyContext) -> None:
    assert speaks_as_other.detect(text, ctx) == []


GROUP = ReplyContext(
    npc_name="Wren", user_names=("Tamsin",), other_names=("Captain Ashby", "Dr. Mirel", "Odile", "Kit Barrow")
)
GROUP_ZH = ReplyContext(npc_name="周嬷嬷", user_names=("阿宁",), other_names=("小满", "春桃"), language="zh")


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # Another character called by the role their title names, given a line.
        ('"Ready." *The captain, not looking up from the chart: "We sail at four. Tell the crew."*', GROUP),
        ('*Wren waits.* *The doctor sighs and says,* "It\'s a clean break. Six weeks."', GROUP),
        # A dash-convention line attributed to another character.
        ('*Wren holds the receiver away from her ear.*\n— Not before noon, Kit says, the cart lost a wheel.', GROUP),
        ('*Wren reads the slip twice.*\n-- Tell her I tried. I really did, says Odile, and hangs up.', GROUP),
        # A quote that calls the NPC by name partway through.
        ('*Odile leans in over the counter.* "Give it to her, Wren. She paid."', GROUP),
        # Answering in another's place, and speaking as them in a humble self-reference.
        ("*周嬷嬷抢先一步，替小满回了话。*“回姑娘，她一早就去井边打水了。”", GROUP_ZH),
        ("*周嬷嬷低着头。*“奴婢春桃昨夜一直守在门外，没见着人。”", GROUP_ZH),
        ('*Before the boy can open his mouth, Wren answers on his behalf.* "He was with me all night."', GROUP),
    ],
)
def test_new_shapes_of_another_characters_line_are_flagged(text: str, ctx: ReplyContext) -> None:
    assert speaks_as_other.detect(text, ctx) != []


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        # The role noun in other roles: mentioned, reported, or a captain the cast does not hold.
        ('"The captain wants the ropes coiled by dusk." *Wren hands Tamsin a coil.*', GROUP),
        ('*Wren glances at the doctor\'s bag.* "She left this behind. Again."', GROUP),
        # Reported speech in narration, without the dash.
        ('*Wren sets down the phone.* Kit says the cart lost a wheel, so nothing before noon.', GROUP),
        # The NPC's own dash-led line, and a dash used as punctuation.
        ('— Not before noon, *Wren says, and shrugs.* The cart lost a wheel.', GROUP),
        ('"The road — and Kit says it twice — is closed." *Wren frowns.*', GROUP),
        # The NPC calling itself by name: a self-introduction, talking to itself, quoting someone.
        ('"Harbourmaster\'s clerk, second class, Wren." *She offers a hand.*', GROUP),
        ('"Steady, Wren. Breathe," *she tells herself, and opens the door.*', GROUP),
        ('"Odile told me, \'Never again, Wren,\' and she meant it."', GROUP),
        ('*Wren puts on Odile\'s prim little voice.* "Honestly, Wren, the state of this counter."', GROUP),
        ("“城南，绣坊，周嬷嬷。”*她福了福身。*“姑娘有什么吩咐？”", GROUP_ZH),
        # Speaking up for someone, not as them.
        ("*周嬷嬷替小满求情。*“她还小，饶她这一回吧。”", GROUP_ZH),
        ("“我是她的掌事嬷嬷，春桃的事我担着。”", GROUP_ZH),
    ],
)
def test_mentions_reports_and_self_naming_are_not_flagged(text: str, ctx: ReplyContext) -> None:
    assert speaks_as_other.detect(text, ctx) == []


@pytest.mark.parametrize(
    "text",
    [
        '*Wren unfolds the note and reads it out.* "Nine o\'clock, Wren. Come alone."',
        '*The card tucked in the flowers says, in Odile\'s hand,* "Forgive me, Wren."',
    ],
)
def test_a_letter_read_aloud_that_names_the_npc_is_not_flagged(text: str) -> None:
    assert speaks_as_other.detect(text, GROUP) == []


def test_a_chinese_letter_read_aloud_that_names_the_npc_is_not_flagged() -> None:
    text = "*周嬷嬷展开信纸，念道：*“见字如面，周嬷嬷！春桃一切都好。”"
    assert speaks_as_other.detect(text, GROUP_ZH) == []


def test_a_household_title_alone_names_the_cast_member_it_belongs_to() -> None:
    ctx = ReplyContext(npc_name="春桃", user_names=("阿宁",), other_names=("魏嬷嬷",), language="zh")
    assert speaks_as_other.detect("*春桃刚要开口，嬷嬷冷笑一声：*“跪下。”", ctx) != []


def test_a_shared_household_title_is_not_taken_for_the_other() -> None:
    ctx = ReplyContext(npc_name="沈嬷嬷", user_names=("阿宁",), other_names=("魏嬷嬷",), language="zh")
    assert speaks_as_other.detect("*嬷嬷冷笑一声：*“跪下。”", ctx) == []
