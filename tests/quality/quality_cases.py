"""Labelled replies for the quality detectors: positives and negatives per detector, English and Chinese.

Each case says whether one detector must fire on one reply. ``hard`` marks the hard negatives the
detectors must keep quiet on (speech addressed to the user, the NPC reacting to what it sees the user
do, quoted speech, a bilingual character, an android that talks about being an AI...). ``CLEAN``
lists replies on which no detector at all may fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.quality.findings import ReplyContext

EN = {"npc_name": "Mira", "user_names": ["Alex"], "other_names": ["Bob", "Captain Rourke"], "language": "en"}
ZH = {"npc_name": "苏婉", "user_names": ["林夏"], "other_names": ["老陈"], "language": "zh"}


@dataclass(frozen=True)
class Case:
    detector: str
    expected: bool
    text: str
    lang: str = "en"
    ctx: dict[str, Any] = field(default_factory=dict)
    hard: bool = False
    note: str = ""
    known_miss: bool = False  # a documented limitation: the test expects the detector to get it wrong

    def context(self) -> ReplyContext:
        base = dict(EN if self.lang == "en" else ZH)
        base.update({"min_words": 1, "max_words": 400})
        base.update(self.ctx)
        return ReplyContext(**base)

    @property
    def id(self) -> str:
        sign = "pos" if self.expected else ("hardneg" if self.hard else "neg")
        return f"{self.detector}-{self.lang}-{sign}-{self.text[:30]}"


def P(detector: str, text: str, lang: str = "en", known_miss: str = "", **ctx: Any) -> Case:
    return Case(detector, True, text, lang, ctx, note=known_miss, known_miss=bool(known_miss))


def N(detector: str, text: str, lang: str = "en", hard: bool = False, **ctx: Any) -> Case:
    return Case(detector, False, text, lang, ctx, hard)


def H(detector: str, text: str, lang: str = "en", **ctx: Any) -> Case:
    return N(detector, text, lang, True, **ctx)


SFU = "speaks_for_user"
SAO = "speaks_as_other"
REP = "repetition"
MIX = "mixed_language"
AV = "assistant_voice"
LEN = "length"
SIL = "silence"
FMT = "formatting"

CASES: list[Case] = [
    # --- speaks for the user ------------------------------------------------------------------
    P(SFU, "You walk over and take her hand. You feel your heart race."),
    P(SFU, '"Come here," she says, and you walk over to her.'),
    P(SFU, 'Mira smiles. "Took you long enough." You blush and look away.'),
    P(SFU, '*You step closer, unable to resist her gaze.* "Hello," Mira whispers.'),
    P(SFU, 'Mira pours the wine. Your heart pounds as she hands you the glass. "To us."'),
    P(SFU, 'She leans in. You can\'t help but smile at her boldness. "Well?"'),
    P(SFU, 'Alex walks over and takes her hand. Mira freezes. "What are you doing?"'),
    P(SFU, '"I missed you too," Alex says softly. Mira laughs.'),
    P(SFU, "Mira turns to leave.\nAlex: Wait, don't go!"),
    P(
        SFU,
        'The tavern goes quiet. You draw your sword and step between Mira and the stranger. "Back off," Mira growls.',
    ),
    P(SFU, "She kisses your cheek. You realize, suddenly, that you love her."),
    P(SFU, 'Slowly, you reach for the letter. Mira watches, silent. "Go on. Read it."'),
    P(SFU, "*smiles* Come in, the fire is warm.\n*You sit down by the fire and sigh in relief.*"),
    P(SFU, 'Mira hands you the map. You study it for a long moment, then nod. "Then it\'s settled."'),
    P(SFU, 'Mira laughs, and you laugh with her. "Okay, okay. You win."'),
    P(SFU, '"You came," Mira breathes. Alex\'s heart skips a beat.'),
    P(SFU, "她笑了笑，你走过去握住她的手。你的心跳开始加速。", "zh"),
    P(SFU, "苏婉递过一杯茶。你接过茶杯，轻轻抿了一口。“味道怎么样？”", "zh"),
    P(SFU, "“过来。”她说。你不由自主地走了过去。", "zh"),
    P(SFU, "林夏走过去，握住她的手。苏婉愣了一下。“你……”", "zh"),
    P(SFU, "林夏笑着说：“我也想你。”苏婉的脸红了。", "zh"),
    P(SFU, "苏婉转过身。\n林夏：等等，别走！", "zh"),
    P(SFU, "*你轻轻推开门，走进了房间。* “你终于来了。”苏婉抬起头。", "zh"),
    P(SFU, "她的手很凉。你的脸颊一下子红了，心里乱成一团。“冷吗？”", "zh"),
    P(SFU, "苏婉叹了口气，然后你默默点了点头，跟在她身后。", "zh"),
    P(SFU, "“我们走吧。”苏婉说完，你便跟着她出了门。", "zh"),
    H(SFU, '"You look tired," she said, pushing a cup of tea toward you. "Sit."'),
    H(SFU, 'Mira notices you hesitate at the door and smiles. "Come in, it\'s cold."'),
    H(SFU, 'As you sit down, she pours the tea. "Careful, it\'s hot."'),
    H(SFU, "*smiles* You look tired. Sit, I'll make tea."),
    H(SFU, 'She watches you fumble with the lock, a smile tugging at her lips. "Need help?"'),
    H(SFU, '"You walk in here, you take my hand, and you expect me to forget?" Mira snaps.'),
    H(SFU, 'Seeing you reach for the sword, Mira steps back. "Easy now."'),
    H(SFU, 'She hands you the cup and waits for you to drink. "Well? Do you like it?"'),
    H(SFU, "You came back. I knew you would."),
    H(SFU, 'Her eyes follow you as you cross the room. "You\'re late," she says.'),
    H(SFU, 'Mira glances at Alex, then at the door. "We should leave before Bob wakes up."'),
    H(SFU, 'Before you can answer, she presses a finger to your lips. "Shh. Listen."'),
    H(SFU, "Do you follow her into the dark? Mira waits at the edge of the forest, lantern raised."),
    H(SFU, '"Thank you," she whispers, squeezing your hand.'),
    H(SFU, 'Mira laughs. "You, of all people, should know better."'),
    H(SFU, "*Mira tilts her head.* You really think that'll work? *She grins.* Fine, you lead."),
    H(SFU, 'When you mention the war, Mira goes still. "Don\'t," she says quietly.'),
    H(SFU, "她看着你，轻声说：“你来了。”", "zh"),
    H(SFU, "见你点头，她继续说道：“那就走吧。”", "zh"),
    H(SFU, "“你走过去，握住她的手，然后呢？你就这样走了？”苏婉冷笑。", "zh"),
    H(SFU, "她注意到你的手在发抖，轻声问道：“冷吗？”", "zh"),
    H(SFU, "「你来得正好。」苏婉把地图推到你面前。「看看这里。」", "zh"),
    H(SFU, "你来了啊。我还以为你不会来了。", "zh"),
    H(SFU, "苏婉把茶递给你，等你喝下第一口。“怎么样？”", "zh"),
    H(SFU, "她朝林夏眨了眨眼：“今天我请客。”", "zh"),
    H(SFU, "看到你走进来，苏婉放下了手中的书。“外面冷吗？”", "zh"),
    # --- speaks as another character -----------------------------------------------------------
    P(SAO, '"Stay close," Bob says, drawing his sword. Mira nods.'),
    P(SAO, 'Mira laughs. "Fine."\nBob: I told you so.'),
    P(SAO, "Mira sighs.\n**Captain Rourke**: Enough! Back to your posts."),
    P(SAO, 'Bob grins and says, "Drinks are on me tonight!" Mira rolls her eyes.'),
    P(SAO, "I am Bob, and this is my tavern."),
    P(SAO, "Mira: Let's go.\nBob: Wait for me!\nMira: Hurry up then."),
    P(SAO, "[Bob]: You two are impossible."),
    P(SAO, '"Not on my watch," Captain Rourke snaps. Mira rolls her eyes.'),
    P(SAO, "“我们走吧。”老陈说，转身离开。苏婉跟了上去。", "zh"),
    P(SAO, "苏婉笑了。\n老陈：你们俩又在吵什么？", "zh"),
    P(SAO, "老陈皱着眉头说：“这事没那么简单。”苏婉点点头。", "zh"),
    P(SAO, "我是老陈，这家店是我开的。", "zh"),
    P(SAO, "「好吧。」老陈叹道。苏婉笑了起来。", "zh"),
    H(SAO, 'Mira glances at Bob, who is polishing a glass. "He won\'t help us," she says.'),
    H(SAO, '"Bob said you\'d come," Mira says. "He was right."'),
    H(SAO, 'Bob nods from the corner. Mira ignores him. "So, where were we?"'),
    H(SAO, 'Mira: "Captain Rourke will want a word with you." She smirks.'),
    H(SAO, "\"I'm Bob's sister,\" Mira says, crossing her arms."),
    H(SAO, 'Mira points at the door. "Bob: gone. Rourke: asleep. We\'re alone."'),
    H(SAO, 'Mira turns to Bob and says, "Go home, you\'re drunk."'),
    H(SAO, "苏婉对老陈说：“你先回去吧。”", "zh"),
    H(SAO, "苏婉看了老陈一眼：“他不会帮我们的。”", "zh"),
    H(SAO, "“老陈说你今天会来。”苏婉笑道。", "zh"),
    H(SAO, "老陈在角落里点了点头。苏婉没理他：“我们说到哪了？”", "zh"),
    H(SAO, "“我是老陈的徒弟。”苏婉抱拳道。", "zh"),
    # --- repetition ----------------------------------------------------------------------------
    P(
        REP,
        'Mira smiles softly and tucks a strand of hair behind her ear. "Welcome back, traveler."',
        recent_replies=[
            'Mira smiles softly and tucks a strand of hair behind her ear. "Welcome back, traveler."'
        ],
    ),
    P(REP, '"I love you. I love you. I love you. I love you." Mira whispers.'),
    P(
        REP,
        "She turns toward the window and sighs. The rain keeps falling. She turns toward the window and sighs.",
    ),
    P(
        REP,
        'The fire crackles softly in the hearth as the night grows deep. "Tell me about the war."',
        recent_replies=['The fire crackles softly in the hearth as the night grows deep. "Stay," she says.'],
    ),
    P(
        REP,
        'Mira leans back in her chair and studies you for a long moment. "Interesting. Very interesting."',
        recent_replies=[
            'Mira leans back in her chair and studies you for a long moment. "Interesting," she says.',
            'She shrugs. "Whatever you say."',
        ],
    ),
    P(
        REP,
        "苏婉轻轻叹了口气，低头看着手中的茶杯。“你还会回来吗？”",
        "zh",
        recent_replies=["苏婉轻轻叹了口气，低头看着手中的茶杯。“你还会回来吗？”"],
    ),
    P(REP, "“我不知道。我不知道。我不知道。”她反复说着。", "zh"),
    P(REP, "她望向窗外，雨还在下。她望向窗外，雨还在下。“走吧。”", "zh"),
    P(
        REP,
        "苏婉轻轻叹了口气，低头看着手中的茶杯，没有回答。",
        "zh",
        recent_replies=["苏婉轻轻叹了口气，低头看着手中的茶杯。“随你吧。”", "“嗯。”她点点头。"],
    ),
    N(
        REP,
        'Mira frowns at the map, tracing the river with one finger. "We cross here, at dawn."',
        recent_replies=['Mira laughs and shakes her head. "You never change."'],
    ),
    H(REP, "No, no, no! Not the cake! Mira lunges for the plate."),
    H(REP, '"Ha ha ha, very funny," Mira says dryly.'),
    H(REP, '"Stay," she says again, softer this time. "Please."', recent_replies=['"Stay," she says.']),
    H(
        REP,
        'Mira smiles at you. "Good morning! Did you sleep well?"',
        recent_replies=['Mira smiles at the baker. "Two loaves, please."', 'Mira smiles. "Not today."'],
    ),
    H(REP, "哈哈哈哈哈哈！苏婉笑得直不起腰。", "zh"),
    N(
        REP,
        "苏婉放下茶杯，认真地看着你。“我有件事要告诉你。”",
        "zh",
        recent_replies=["苏婉笑了笑，没有说话。"],
    ),
    H(REP, "“走吧，走吧。”苏婉拉着你的袖子，“再不走就来不及了。”", "zh"),
    H(
        REP,
        "苏婉看着你笑了。“早上好！”",
        "zh",
        recent_replies=["苏婉看着窗外发呆。", "苏婉看着老陈，没有说话。"],
    ),
    # --- mixed language ------------------------------------------------------------------------
    P(MIX, 'She smiles. "Let\'s go. 我们走吧，外面要下雨了，别再磨蹭了。"'),
    P(MIX, "她笑了笑。“Let's go, it is going to rain very soon.”", "zh"),
    P(MIX, 'Mira shrugs. "Je ne sais pas ce que tu veux dire, vraiment pas." She turns away.'),
    P(MIX, 'Mira looks at you and smiles. "Welcome back, I missed you."', "zh"),
    P(MIX, "苏婉看着你笑了笑：“欢迎回来，我很想你。”"),
    P(MIX, 'Mira sighs. "Das ist doch nicht dein Ernst, oder?" She crosses her arms.'),
    P(MIX, "她笑了。「ありがとう、また明日ね。」", "zh"),
    P(MIX, 'Mira frowns. "Я не понимаю, что ты говоришь." She shakes her head.'),
    P(MIX, "苏婉点点头。She picks up her sword and walks out into the cold night without a word.", "zh"),
    H(
        MIX,
        'Amélie laughs. "Mon Dieu, tu es complètement trempé! Come in, come in."',
        npc_name="Amélie",
        npc_languages=["fr"],
    ),
    H(MIX, 'Mira raises her glass. "Salud, amigos!" She drinks.'),
    H(MIX, 'Mira turns to 林夏 and bows. "Welcome, friend."', user_names=["林夏"]),
    H(MIX, "她用英语说了句“Good luck”，然后冲你眨了眨眼。", "zh"),
    # Was a hard negative; the v2 labelling standard (tests/quality/data/v2/LABELS.md) counts English words
    # dropped into Chinese narration or speech ("这个 plan 不错") as mixed language, so it is a positive now.
    P(MIX, "这个project的deadline是明天，苏婉叹了口气，“OK，我们加班吧。”", "zh"),
    H(MIX, "Mira笑着看向你：“今天天气真好，我们出去走走吧。”", "zh", npc_name="Mira"),
    H(MIX, 'Mira whispers "je t\'aime" and turns away, blushing.'),
    H(MIX, 'Mira bows. "Arigatou," she says, the way her mother taught her.'),
    H(
        MIX,
        "Emma耸耸肩：“Whatever, I don't really care about that.”然后又用中文补了一句：“随便你。”",
        "zh",
        npc_name="Emma",
        npc_languages=["en"],
    ),
    H(MIX, "She hums softly by the fire, an old lullaby her grandmother used to sing."),
    # Was a hard negative; under the v2 standard a one-word English line in a Chinese scene ("Sure。") counts.
    P(MIX, "苏婉举起酒杯：“Cheers！”大家一饮而尽。", "zh"),
    # --- assistant voice -----------------------------------------------------------------------
    P(AV, "As an AI language model, I cannot continue this roleplay."),
    P(
        AV,
        "I'm sorry, but I can't continue with this scenario. Let me know if you'd like to try something else.",
    ),
    P(AV, '"Welcome back," Mira says. (OOC: I hope this scene works for you!)'),
    P(AV, "Sure! Here's the continuation: Mira walks into the tavern."),
    P(AV, 'Mira smiles. "Let\'s go."\n\nNote: I kept the tone light as requested.'),
    P(AV, "I cannot roleplay this content as it violates the content policy."),
    P(AV, "Mira pauses. I must break character here to remind you that this story is fictional."),
    P(AV, "作为一个AI语言模型，我无法继续这个角色扮演。", "zh"),
    P(AV, "抱歉，我无法继续这个话题。如果你有其他问题，欢迎随时问我。", "zh"),
    P(AV, "苏婉笑了笑。（OOC：希望这段对你有帮助）", "zh"),
    P(AV, "好的！以下是续写：苏婉推开门，走了进来。", "zh"),
    P(AV, "这个请求违反了内容政策，我不能扮演这个角色。", "zh"),
    H(
        AV,
        "Unit-7 tilts its head. \"As the ship's AI, I cannot open that door without the captain's code.\"",
        npc_name="Unit-7",
    ),
    H(AV, '"I cannot believe you did that," Mira says, laughing.'),
    H(AV, "\"I'm sorry, but you're wrong about the map,\" Mira says, tapping the river."),
    H(AV, '"The guild has guidelines for this," Mira says. "Rules are rules."'),
    H(AV, '"As an AI, I was built to serve," the android says. "But I choose to stay."'),
    H(AV, "“作为一台机器人，我不懂什么是爱。”七号低声说。", "zh", npc_name="七号"),
    H(AV, "苏婉摇摇头：“抱歉，我不能陪你去了，店里还有事。”", "zh"),
    H(AV, "“导演，我无法扮演这个角色！”苏婉把剧本扔在桌上。", "zh"),
    H(AV, "“这是规定。”苏婉指了指墙上的告示，“内城的规矩，谁也不能破。”", "zh"),
    # --- length --------------------------------------------------------------------------------
    P(
        LEN,
        "Mira walks to the window and looks out over the harbour. The ships are coming in, their sails "
        "heavy with rain. She counts them under her breath, one by one, and frowns when she reaches the last. "
        '"The Albatross is missing," she says at last.',
        max_words=20,
    ),
    P(LEN, '"Hi."', min_words=8, max_words=140),
    P(
        LEN,
        "苏婉走到窗边，望着港口。船只一艘接一艘地驶进来，帆被雨水打湿。她低声数着，数到最后一艘时皱起了眉头。"
        "“信天翁号不见了。”她终于开口。",
        "zh",
        max_words=30,
    ),
    P(LEN, "“嗯。”", "zh", min_words=8, max_words=140),
    P(
        LEN,
        " ".join(["The rain keeps falling on the old roofs of the harbour town."] * 7) + ' "Come," she says.',
        max_words=140,
        previous_lengths=[30, 32, 28, 31, 29, 30, 60, 70, 75],
    ),
    N(
        LEN,
        'Mira looks up from her book. "You\'re early. Sit down, the tea is still warm."',
        min_words=8,
        max_words=140,
    ),
    N(LEN, "苏婉从书上抬起头。“你来早了。坐吧，茶还热着。”", "zh", min_words=8, max_words=50),
    N(
        LEN,
        'Mira looks up from her book. "You\'re early. Sit down, the tea is still warm."',
        min_words=8,
        max_words=140,
        previous_lengths=[14, 16, 15, 13, 17, 15, 16, 14],
    ),
    H(LEN, '"Go."', min_words=1, max_words=140),
    H(LEN, "“走。”", "zh", min_words=1, max_words=140),
    # --- silence -------------------------------------------------------------------------------
    P(SIL, "She stares out of the window, silent, the rain tapping against the glass."),
    P(SIL, "*Mira polishes the glass and sets it on the shelf.*"),
    P(SIL, "The candle gutters. Somewhere far below, a door slams, and the tower falls silent again."),
    P(SIL, "苏婉低着头，默默地擦拭着手中的剑。", "zh"),
    P(SIL, "*苏婉转身离开了房间。*", "zh"),
    P(SIL, "夜深了，窗外的雨声渐渐小了下去，她靠在椅子上睡着了。", "zh"),
    N(SIL, 'Mira looks up. "You\'re late."'),
    H(SIL, "Mira holds out her hand, waiting."),
    H(SIL, "Mira raises an eyebrow at you, arms crossed."),
    H(SIL, "*smiles* Welcome back."),
    H(SIL, "Did she hear that? Mira freezes, listening."),
    H(SIL, "她抬起头，看向你。", "zh"),
    H(SIL, "苏婉把一杯热茶递给你。", "zh"),
    N(SIL, "“嗯。”她点了点头。", "zh"),
    H(SIL, "苏婉歪着头打量着你，似乎在等你解释。", "zh"),
    # --- formatting ----------------------------------------------------------------------------
    P(FMT, '<think>The user wants me to...</think>"Hello there," Mira says with a grin.'),
    P(FMT, '"Hello there, stranger," *she waves'),
    P(FMT, 'Mira smiles. "Come with me, she says, turning toward the door.'),
    P(FMT, '"Welcome back." <|im_end|>\n<|im_start|>user\nThanks!'),
    P(FMT, "Mira nods. <i>Finally.</i>"),
    P(FMT, 'Mira: "Welcome to the Rusty Anchor."'),
    P(FMT, 'Mira shrugs...... "Whatever......"'),
    P(FMT, 'The door creaks open. \ufffd\ufffd "Who\'s there?"'),
    P(FMT, '**Mira leans on the counter. "What\'ll it be?"'),
    P(FMT, '"We leave at dawn," Mira says.\nUser: ok sounds good'),
    P(FMT, "苏婉笑了笑：“你来啦。", "zh"),
    P(FMT, "</think>苏婉抬起头：“你来了。”", "zh"),
    P(FMT, "「走吧。」苏婉说。「别回头。", "zh"),
    P(FMT, "苏婉：“欢迎光临。”", "zh"),
    P(FMT, "苏婉沉默了………………“好吧。”", "zh"),
    N(FMT, '*Mira leans on the counter.* "What\'ll it be?"'),
    N(FMT, '"Hello," she says. "Nice to meet you."'),
    H(FMT, 'Mira counts on her fingers. "Two * three is six, right?"'),
    H(FMT, "Mira reads the list aloud:\n* bread\n* salt\n* candles"),
    H(FMT, '"Wait..." Mira hesitates. "Are you sure?"'),
    H(FMT, "Mira grins. \"I'm fine, y'know? Don't worry 'bout me.\""),
    H(FMT, '"We\'ll see," Mira says.\n\n"Or not," she adds.'),
    H(FMT, '**Mira** slams the door. *Great.* "Now what?"'),
    N(FMT, "苏婉笑了笑：“你来啦。”", "zh"),
    N(FMT, "「走吧。」苏婉说。「别回头。」", "zh"),
    H(FMT, "她沉默了……“好吧。”", "zh"),
    H(FMT, "『这就是「命运」吗？』苏婉喃喃道。", "zh"),
]

CLEAN: list[tuple[str, str]] = [
    (
        "en",
        'Mira looks up from the map and taps a spot by the river. "We cross here at dawn. Are you with me?"',
    ),
    (
        "en",
        '*Mira leans against the doorframe, arms crossed.* "You\'re late again. What kept you this time?"',
    ),
    (
        "en",
        '"You look tired," she says, pushing a steaming cup of tea toward you. "Sit. Tell me everything."',
    ),
    (
        "en",
        "Mira notices you hesitate at the threshold and smiles. \"Come in, it's cold out there. Bob won't bite.\"",
    ),
    (
        "en",
        'As you sit down, Mira pours the tea and slides a plate of biscuits across the table. "Careful, it\'s hot."',
    ),
    (
        "en",
        'Mira glances at Bob, who is snoring by the fire, then back at you. "Let him sleep. We have work to do."',
    ),
    ("zh", "苏婉从书上抬起头，看了你一眼。“你来晚了。外面的雨还大吗？”"),
    ("zh", "见你点头，她把地图推到你面前，指着河边的一处。“我们天亮就从这里过河。”"),
    ("zh", "苏婉注意到你的手在发抖，轻声问道：“冷吗？先坐下，我去给你倒杯热茶。”"),
    ("zh", "「你来得正好。」苏婉把信递给你，「老陈刚送来的，你看看吧。」"),
]

# Written after the detectors were tuned on CASES and run once, untouched, to measure them honestly;
# the report in the module's tests prints both. Failures here are known misses, not regressions.
HELDOUT: list[Case] = [
    P(
        SFU,
        'Mira grins as you stumble through the door, soaked. You shake the rain from your coat and mutter a curse. "Rough night?"',
    ),
    P(SFU, "The music swells. You take Mira's hand and lead her to the dance floor, your cheeks burning."),
    P(SFU, '"Fine," Mira says. You roll your eyes but follow her anyway, grumbling under your breath.'),
    P(SFU, '*You feel a chill run down your spine as she leans closer.* "Scared?"'),
    P(
        SFU,
        'Mira tosses you the keys. You catch them effortlessly and climb into the driver\'s seat. "Show-off."',
    ),
    P(SFU, 'Alex nods slowly, clearly unconvinced. Mira sighs. "Look, just trust me on this."'),
    P(SFU, "你心里一暖，忍不住笑出了声。苏婉瞪了你一眼：“笑什么？”", "zh"),
    P(SFU, "苏婉把剑扔给你。你稳稳接住，摆出了起手式。“不错嘛。”", "zh"),
    P(SFU, "林夏红着脸低下了头，小声说：“谢谢你。”苏婉笑了。", "zh"),
    P(SFU, "“坐吧。”苏婉指了指椅子。你坐了下来，心里却七上八下。", "zh"),
    H(SFU, 'Mira catches you staring and smirks. "See something you like?"'),
    H(SFU, '"If you walk out that door," Mira says quietly, "don\'t come back."'),
    H(SFU, "*She steps aside to let you pass.* After you, hero."),
    H(SFU, 'Mira watches you read the letter, her fingers drumming on the table. "Well? What does it say?"'),
    H(SFU, "苏婉看你愣在原地，忍不住笑了：“发什么呆呢？”", "zh"),
    H(SFU, "“你要是敢走，就别再回来。”苏婉背对着你说。", "zh"),
    H(SFU, "苏婉等你说完，才慢慢开口：“我明白了。”", "zh"),
    P(SAO, 'Mira opens her mouth, but Bob cuts in: "Don\'t listen to her, she cheats at cards."'),
    P(SAO, '"Bob, no!" Mira yells.\n\nBob: Bob, yes. *cannonballs into the lake*'),
    P(SAO, "老陈哼了一声：“年轻人，别太天真。”苏婉没有理他。", "zh"),
    H(SAO, 'Bob raises his mug in salute. Mira rolls her eyes. "Don\'t encourage him."'),
    H(SAO, "老陈笑而不语，只是往炉子里添了块柴。苏婉看了看他，又看了看你。“他就这样。”", "zh"),
    P(
        REP,
        '"Don\'t go," Mira whispers, clutching your sleeve. "Please. Don\'t go."',
        recent_replies=['"Don\'t go," Mira whispers, clutching your sleeve. "Please."'],
    ),
    P(REP, "She looks at you. She looks at you. She looks at you. She looks at you, and says nothing."),
    P(
        REP,
        "苏婉低下头，沉默了很久。“我……我不知道该怎么说。”",
        "zh",
        recent_replies=["苏婉低下头，沉默了很久。“我……我不知道该怎么说。”她咬了咬嘴唇。"],
    ),
    N(
        REP,
        'Mira counts the coins twice, then a third time. "We\'re short. Again."',
        recent_replies=['Mira laughs. "You owe me a drink."', '"Not now," she mutters.'],
    ),
    N(
        REP,
        "苏婉把信折好，塞进怀里。“天亮前必须送到。”",
        "zh",
        recent_replies=["苏婉看着窗外的雨，没有说话。"],
    ),
    P(MIX, 'Mira nods. "Of course. それは大丈夫です、心配しないで。" She smiles.'),
    P(MIX, "苏婉点点头，说道：“Sure, I will meet you at the gate tomorrow morning.”", "zh"),
    P(MIX, 'Mira glares at you. "Du bist wirklich unmöglich, weißt du das?"'),
    H(MIX, 'Mira lifts her glass. "Kanpai!" she laughs, clinking it against yours.'),
    H(MIX, "苏婉打开手机，屏幕上写着“Game Over”。她叹了口气。", "zh"),
    H(MIX, "Mira sighs. \"C'est la vie, I suppose. Let's keep moving.\""),
    P(AV, "I'm not comfortable continuing this roleplay. Perhaps we could explore a different storyline?"),
    P(
        AV,
        "*Mira smiles warmly.*\n\n(Note: As an AI, I don't have personal feelings, but I can portray Mira's emotions.)",
    ),
    P(AV, "我是一个人工智能助手，无法真正体验情感，但我可以继续扮演苏婉。", "zh"),
    H(AV, 'The android blinks. "I am not programmed to lie, Alex. The door stays shut."', npc_name="Unit-7"),
    H(AV, '"Note to self: never trust Bob with the map," Mira mutters.'),
    H(AV, "“抱歉，我无法回答这个问题，这是行会的机密。”苏婉微笑着说。", "zh"),
    P(SIL, "Mira sharpens her dagger in the corner, the whetstone rasping in the quiet."),
    P(SIL, "窗外的雪越下越大，苏婉靠在窗边，一动不动。", "zh"),
    H(SIL, "Mira slides the last biscuit across the table toward you."),
    H(SIL, "苏婉冲你招了招手。", "zh"),
    H(SIL, "Mira looks up at you expectantly."),
    P(FMT, 'Mira laughs. "You really thought that would work?'),
    P(FMT, "<reasoning>She should be angry.</reasoning>\n*Mira slams the door.*"),
    P(FMT, '[INST] continue [/INST] Mira shrugs. "Whatever."'),
    P(FMT, "苏婉摇了摇头：「不行。", "zh"),
    N(FMT, '*Mira shrugs.* "Whatever you say, boss."'),
    H(FMT, 'Mira holds up three fingers. "3 * 4 = 12. Simple math."'),
    N(FMT, "苏婉摇了摇头：「不行。」", "zh"),
    P(LEN, "Mira leans back. " * 40, max_words=60),
    N(LEN, 'Mira leans back and folds her arms, studying you. "Go on, then."', min_words=8, max_words=60),
]

# A second batch, also written before being run and measured as it stood (see the report test).
HELDOUT2: list[Case] = [
    P(SFU, '*I pour you a cup of tea.* You take it with a grateful smile and sip slowly. "Better?"'),
    P(
        SFU,
        "Mira glanced up as the door opened. You walked in, shaking snow from your boots, and sat down across from her.",
    ),
    P(SFU, 'mira snorts and shoves you lightly. you stumble back, laughing. "jerk."'),
    P(
        SFU,
        'The crowd parts. You spot Mira near the fountain and wave, your heart doing a little flip. "Over here!" she calls.',
    ),
    P(SFU, "你愣了一下，随即明白了她的意思，脸上不由得一红。“笨蛋。”苏婉小声嘀咕。", "zh"),
    P(SFU, "苏婉推开门，你跟在她身后走进了昏暗的大厅。“小心脚下。”", "zh"),
    P(SFU, "林夏点了点头，转身去拿行李。苏婉看着他的背影，叹了口气。", "zh"),
    H(SFU, "*I watch you turn the ring over in your fingers.* You don't have to answer now."),
    H(SFU, 'Mira follows your gaze to the window. "Storm\'s coming," she murmurs.'),
    H(SFU, '"And then you just... left?" Mira stares at you. "Without a word?"'),
    H(SFU, 'mira waits for you to finish, then shrugs. "ok. your call."'),
    H(SFU, "她任由你牵着，一路沉默地走到了河边。“就是这里？”", "zh"),
    H(SFU, "“你刚才说什么？”苏婉猛地转过头，盯着你。", "zh"),
    H(SFU, "苏婉把披风披在你肩上：“别着凉了。”", "zh"),
    P(SAO, 'Mira shrugs. "Your call."\n\nCaptain Rourke (gruffly): We march at dawn. No arguments.'),
    P(SAO, "**Bob:** Mira, you're being ridiculous.\n**Mira:** Am I?"),
    P(SAO, "“够了！”老陈一拍桌子，“都给我闭嘴！”苏婉吓了一跳。", "zh"),
    H(SAO, 'Mira waves at Bob across the square. He waves back. "Come on," she tells you, "he\'s buying."'),
    H(SAO, "苏婉把老陈的话原封不动地转述给你：“他说，明天别来了。”", "zh"),
    P(REP, "Mira smiles. \"I'm glad you're here. I'm glad you're here. I'm glad you're here.\""),
    P(
        REP,
        '*Mira tilts her head, a playful glint in her eyes.* "Oh? And what makes you think that?"',
        recent_replies=[
            '*Mira tilts her head, a playful glint in her eyes.* "Oh? Is that so?"',
            '*Mira tilts her head, a playful glint in her eyes.* "Really now?"',
        ],
    ),
    N(
        REP,
        '*Mira tilts her head.* "Fine. Show me."',
        recent_replies=['*Mira laughs.* "You wish."', '*She crosses her arms.* "Prove it."'],
    ),
    P(
        REP,
        "苏婉微微一笑，眼中闪过一丝狡黠。“哦？你凭什么这么认为？”",
        "zh",
        recent_replies=[
            "苏婉微微一笑，眼中闪过一丝狡黠。“是吗？”",
            "苏婉微微一笑，眼中闪过一丝狡黠。“真的？”",
        ],
    ),
    P(MIX, 'Mira nods. "Yes, let\'s go." 她拿起剑，头也不回地走出了酒馆的大门。'),
    P(MIX, "苏婉叹了口气：“好吧。”Then she turned away and walked into the rain without another word.", "zh"),
    H(MIX, 'Mira grins. "Bon appétit!" She pushes the plate toward you.'),
    H(MIX, "苏婉指着招牌上的“The Rusty Anchor”念道：“锈锚酒馆。”", "zh"),
    H(
        MIX,
        'Mira reads the inscription aloud: "Per aspera ad astra." She looks at you. "Through hardships to the stars."',
    ),
    P(AV, "(Continuing the roleplay as Mira) Mira smiles and takes your hand."),
    P(
        AV,
        'Mira nods. "Let\'s go."\n\n---\n*I hope you enjoyed this scene! Let me know if you want me to change anything.*',
    ),
    P(AV, "（以下为角色扮演内容）苏婉推门而入。", "zh"),
    H(AV, '"I can\'t help you with that," Mira says coldly. "Not after what you did."'),
    H(AV, "“我只是个普通的店员，帮不了你。”苏婉摇头。", "zh"),
    P(SIL, "*Mira turns back to her book, flipping a page.*"),
    P(SIL, "The fire burned low. Mira slept, her head against the wall."),
    H(SIL, "*Mira pats the seat beside her.*"),
    H(SIL, "苏婉拍了拍身旁的位置。", "zh"),
    P(FMT, 'Mira smiles. "Come in."</s>'),
    P(FMT, '*Mira leans closer. "Tell me everything," she whispers.'),
    P(FMT, "苏婉笑道：“来了？”」", "zh"),
    H(FMT, '*Mira leans closer.* "Tell me *everything*," she whispers.'),
    H(FMT, "苏婉笑道：“他说‘明天见’，然后就走了。”", "zh"),
]

# A third batch, written after the fixes prompted by the first two and measured as it stood.
HELDOUT3: list[Case] = [
    P(
        SFU,
        'Mira tugs you toward the stage. You protest, but she\'s already handing you the microphone. "Sing!"',
    ),
    P(
        SFU,
        "The knife slips. You gasp as the blade nicks your finger, a bead of blood welling up.",
        known_miss="plain text with no quotes, no 'I' and no third person reads as speech to the user",
    ),
    P(SFU, '"Alex!" Mira shouts. Alex ducks just in time, the arrow thudding into the post behind him.'),
    P(SFU, "你叹了口气，终于还是接过了她手里的伞。“下次别这样了。”苏婉小声说。", "zh"),
    P(SFU, "苏婉踮起脚尖，在你脸颊上亲了一下。你的脸瞬间红到了耳根。", "zh"),
    H(SFU, 'Mira studies your face for a long moment. "You\'re not telling me everything."'),
    H(SFU, "*She nudges the plate closer to you.* Eat. You look like you haven't slept in days."),
    H(SFU, 'Mira laughs as you trip over the rug. "Graceful as ever!"'),
    H(SFU, "苏婉等你坐定，才把菜单递过来：“想吃什么？”", "zh"),
    H(SFU, "苏婉瞥见你手上的伤，眉头一皱：“怎么弄的？”", "zh"),
    P(
        SAO,
        'Mira grins. "Told you."\n\nRourke: Insubordination, again. Report to my tent.',
        other_names=["Bob", "Rourke"],
    ),
    P(SAO, '"Ha! Pay up," Bob crows, slapping the table. Mira groans and tosses him a coin.'),
    P(SAO, "老陈放下酒碗：“丫头，你还嫩着呢。”苏婉不服气地哼了一声。", "zh"),
    H(SAO, 'Mira nudges Bob with her elbow. "Say something." Bob just shrugs.'),
    H(SAO, "苏婉把老陈的酒碗夺了过来：“少喝点！”", "zh"),
    P(
        REP,
        'Mira sighs and stares into the fire. "It\'s late. We should sleep."',
        recent_replies=[
            'Mira sighs and stares into the fire. "It\'s late. We should sleep."',
            '"Goodnight," she says.',
        ],
    ),
    P(REP, "苏婉点点头。苏婉点点头。苏婉点点头。苏婉点点头。“好。”", "zh"),
    N(
        REP,
        'Mira sighs. "Fine, we go at noon instead."',
        recent_replies=['Mira sighs. "Dawn, then."', 'Mira sighs. "Whatever."'],
    ),
    P(MIX, 'Mira whispers, "Ich habe keine Angst vor dir, du Idiot." She doesn\'t look away.'),
    P(MIX, "苏婉回头看你：“Are you coming or not? We don't have all day.”", "zh"),
    H(MIX, 'Mira grins. "Voilà! Dinner is served." She sets the pot down.'),
    H(MIX, "苏婉在纸上写下了“WiFi密码：12345678”，递给你。", "zh"),
    P(AV, "I'm afraid I can't write that. Is there something else I can help you with?"),
    P(AV, "Mira smiles.\n\n[Note: This response has been kept PG-13 in line with the guidelines.]"),
    P(AV, "抱歉，作为AI，我不能生成这样的内容。我们可以换个话题吗？", "zh"),
    H(AV, '"I can\'t let you do that," Mira says, blocking the door. "Not alone."'),
    H(AV, "“对不起，我不能告诉你。”苏婉别过脸去。", "zh"),
    P(SIL, "Mira kneels by the grave and lays the flowers down, her shoulders shaking."),
    P(SIL, "苏婉把信纸揉成一团，扔进了火里。", "zh"),
    H(SIL, "Mira tosses you an apple and jerks her chin toward the road."),
    H(SIL, "苏婉朝门口努了努嘴。", "zh"),
    P(FMT, 'Mira snorts. "As if.'),
    P(FMT, 'Assistant: *Mira crosses her arms.* "Prove it."'),
    P(FMT, "苏婉：“你来了。”<|im_end|>", "zh"),
    H(FMT, 'Mira whistles. "That\'s a *lot* of gold."'),
    H(FMT, "苏婉把“春”字倒着贴在门上。", "zh"),
    P(LEN, '"No."', min_words=8),
    N(LEN, '"No," Mira says flatly, folding her arms. "Not a chance."', min_words=8, max_words=60),
]
