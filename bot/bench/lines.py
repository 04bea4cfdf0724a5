"""What the benchmark's player says, and what its model server answers.

``PLAYER_LINES``: 217 distinct lines a player might write in the harbour world (Gannet's Reach), from the
player's side of the table: questions to one character or to the room, small talk, actions in
asterisks, long and short, some in a hurry, some musing. They address the harbour cast by the names a
player would use (Mira, Tom, the captain, Pip) and mention places without walking there, so a scene
keeps its people together for a thousand lines. ``bench_responder`` is the model server's side: varied
character lines (``npc_replies``), so the repetition guard sees what it would see from a real model
rather than eight canned lines, and well-formed answers to the summariser's and narrator's JSON steps.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from typing import Any

from bot.testing.openai_server import lines_responder

PLAYER_LINES: tuple[str, ...] = (
    "Mira, what do you make of the fog tonight?",
    "Tom, pour me whatever keeps the cold out.",
    "Captain Vell, is the harbour chain up already?",
    "Pip, have you lit the lanterns on the east end yet?",
    "*sets a wet coin on the bar* Who's buying news tonight?",
    "Does anyone know when the last boat came in?",
    "Mira, you were down at the steps earlier. What did the water say?",
    "Old Tom, how long have you kept this tavern?",
    "Captain, I heard the bell out past the point. Is that normal?",
    "Pip, here, have the rest of my bread.",
    "*pulls the hood back and shakes the rain off* Miserable night for it.",
    "I came up from the south road. Is there a room free?",
    "Mira, can you read the tide for me, or is that a favour I can't afford?",
    "Tom, who was the man in the grey coat who left just as I came in?",
    "Captain Vell, I'd like a word about the Bond Store.",
    "Pip, what's the hook on your pole for?",
    "Has anyone seen the keeper of the Gull Light lately?",
    "*leans on the railing and watches the boats knock together* Quiet out there.",
    "Mira, is it true you can hear voices in the fog?",
    "Tom, I'll take the stew, if it's still hot.",
    "Captain, why is the warehouse locked at this hour?",
    "Pip, who taught you your letters?",
    "I'm looking for work on a boat. Any of you know a skipper short of hands?",
    "*counts out three pennies* Is this enough for a bed and a candle?",
    "Mira, I don't trust that smile of yours.",
    "Tom, your ale tastes of salt. Is that on purpose?",
    "Captain Vell, you look like you haven't slept in a week.",
    "Pip, don't run off, I only want to ask you something.",
    "What's the story with the drowned bell? I keep hearing about it.",
    "*sits down by the fire and stretches out cold hands* That's better.",
    "Mira, teach me one thing about the sea that sailors get wrong.",
    "Tom, has the fog always come in this thick?",
    "Captain, I found this on the quay. *holds out a brass button* Yours?",
    "Pip, you look frozen. Come sit by the fire.",
    "Who lit the Gull Light last night, if the keeper's gone?",
    "I think someone followed me from the crossroads.",
    "Mira, what would it cost me to have you look at this knot?",
    "Tom, do you water the rum or is it always this thin?",
    "Captain Vell, who signs off on what goes into the Bond Store?",
    "Pip, did you see anyone go into the warehouse tonight?",
    "*glances at the door every time it opens*",
    "Sorry, I didn't catch that. Could you say it again?",
    "Mira, my grandmother said tidecraft was just a story for children.",
    "Tom, what's the strangest thing anyone's ever paid you with?",
    "Captain, how many boats went out this morning and how many came back?",
    "Pip, is the cave under the cliffs really full of whispers?",
    "Is it always this quiet when the chain goes up?",
    "*wipes salt from the window with a sleeve and peers out* Something's moving on the water.",
    "Mira, you're staring at the harbour like it owes you money.",
    "Tom, keep the change. Just tell me who to avoid in this town.",
    "Captain Vell, are you the one who decides who lands here at night?",
    "Pip, I won't tell anyone what you show me. Promise.",
    "Does the fog ever lift before noon this time of year?",
    "I heard a rumour about kegs that never pay duty. Any truth to it?",
    "Mira, if I drop a coin in the water at slack tide, what happens?",
    "Tom, did you know the old keeper well?",
    "Captain, your men keep looking at me. Should I be worried?",
    "Pip, how many lanterns are there on the quay altogether?",
    "*sneezes loudly* Apologies. This damp gets into everything.",
    "Can I buy a round for the table? I'd like to hear some stories.",
    "Mira, why do the fishermen spit before they pass you?",
    "Tom, is there a back way out of this place?",
    "Captain Vell, the harbour office light was on at midnight. Working late?",
    "Pip, where do you sleep when the lanterns are lit?",
    "That's the third time tonight someone's mentioned the bell.",
    "*turns the brass button over and over between finger and thumb*",
    "Mira, let's say I believed you. What would you want me to do?",
    "Tom, you've gone very quiet. Something I said?",
    "Captain, I can keep a secret if you can.",
    "Pip, that's a lot of soot on your nose. Been climbing chimneys?",
    "Everyone here seems to know something I don't.",
    "I'd like to see the lighthouse before I leave town. Is it safe?",
    "Mira, what's the difference between an ebb and a slack?",
    "Tom, what do you keep under the bar? I saw you reach for it.",
    "Captain Vell, what happened to the keeper? Straight answer, please.",
    "Pip, would you trade a secret for a hot pasty?",
    "*laughs despite the cold* All right, all right, I'll stop asking.",
    "Is there a doctor in Gannet's Reach, or do you all just drink it off?",
    "Mira, the weed on the steps moved against the current. I saw it.",
    "Tom, give me something warm and tell me about your first winter here.",
    "Captain, how much to have my name left out of the harbour book?",
    "Pip, slow down. Take a breath and start again.",
    "I'm not from the Revenue, if that's what everyone's thinking.",
    "*pushes a folded letter across the table* Can anyone here read this hand?",
    "Mira, do you ever wish you'd been born inland?",
    "Tom, who owns the boat with the red sail?",
    "Captain Vell, you didn't answer my question about the chain.",
    "Pip, show me where the hole in the floor is. Just point.",
    "What would happen if the chain didn't go up one night?",
    "I've been walking since dawn. My feet have opinions about this town.",
    "Mira, I think you're testing me.",
    "Tom, that song the fishermen were singing. What's it about?",
    "Captain, I'll be honest. I came here looking for my brother.",
    "Pip, is the captain kind to you?",
    "*stamps the mud off my boots by the door* Evening, all.",
    "So who in this room actually likes the captain?",
    "Mira, what's in the little bottle round your neck?",
    "Tom, do you ever close, or does this fire just burn forever?",
    "Captain Vell, my brother's name was Hollis. Does that mean anything to you?",
    "Pip, you flinched when I said Hollis. Why?",
    "Did anyone else hear that? It sounded like someone calling from the water.",
    "I swear the fog was whispering my name out there.",
    "Mira, can the tide give back what it takes?",
    "Tom, another, please. It's been that kind of day.",
    "Captain, I'm not leaving until I know what happened to him.",
    "Pip, here's a penny. It's yours whatever you tell me.",
    "*looks from one face to the next, waiting for someone to speak first*",
    "Fine. If nobody will talk, I'll go and look for myself tomorrow.",
    "Mira, will you come with me to the steps at low tide?",
    "Tom, if I don't come back tomorrow night, send someone to the Bond Store.",
    "Captain Vell, you could make this easy for both of us.",
    "Pip, stay close to Tom tonight. I mean it.",
    "What time does the tide turn tonight?",
    "I don't scare easily, but this town is doing its best.",
    "Mira, tell me something true. Anything.",
    "Tom, what did the keeper drink when he came in here?",
    "Captain, that's a fine coat for a harbourmaster's wage.",
    "Pip, is that a key on a string round your neck?",
    "*quietly* I think we're being watched from the quay.",
    "Who's the woman who keeps walking past the window?",
    "Mira, the bell rang again. Twice. What does twice mean?",
    "Tom, you spilled my drink. You've been jumpy since the bell.",
    "Captain Vell, the bell rang twice. Your face just went white.",
    "Pip, don't go out there. Not now.",
    "Right. Someone tell me what two bells means or I'm going to the lighthouse myself.",
    "*stands up so fast the stool falls over*",
    "Mira, I'm sorry. I shouldn't have shouted.",
    "Tom, let me help you with those barrels.",
    "Captain, I saw your men carrying something heavy down to the cave.",
    "Pip, is that what you saw too? The men and the barrels?",
    "I don't care about the duty. I care about my brother.",
    "If the Revenue did come, who here would be in trouble?",
    "Mira, you knew Hollis, didn't you? I can see it.",
    "Tom, did Hollis drink here? Tall, red beard, laughs too loud.",
    "Captain Vell, I found his knife on the steps. Explain that.",
    "Pip, did Hollis give you biscuits too?",
    "*sets the knife on the table between us and says nothing*",
    "Please. Just tell me if he's alive.",
    "Mira, what do the voices in the fog want?",
    "Tom, who else knows about the cave?",
    "Captain, how much does the smuggling pay, really?",
    "Pip, you're very brave, you know that?",
    "I've been thinking about what you said earlier, and it doesn't add up.",
    "Let's all just have a drink and start again. Calmly.",
    "Mira, would the tide let me out of the cave again, if I tried it?",
    "Tom, do you have a lantern I could borrow? A good one.",
    "Captain Vell, lend me a boat and I'll be out of your hair by morning.",
    "Pip, can you get me into the Bond Store without a key?",
    "*rolls up a sleeve to show an old tattoo of a gannet* Hollis had the same one.",
    "My mother used to sing that song. The one about the drowned bell.",
    "Mira, why did you just look at the captain like that?",
    "Tom, you're a terrible liar. I mean that kindly.",
    "Captain, I'm starting to think you're protecting someone.",
    "Pip, who's the someone the captain's protecting?",
    "It's late. Maybe we should talk about this in the morning.",
    "No, wait. I'm not tired. Go on.",
    "Mira, does the sea keep a list of names?",
    "Tom, what's the best thing you've ever cooked?",
    "Captain Vell, where were you the night the keeper vanished?",
    "Pip, it's all right. Nobody's cross with you.",
    "*warms both hands round the mug and stares into the fire for a while*",
    "I used to think towns like this only existed in stories.",
    "Mira, you said the tide takes a price. What's mine?",
    "Tom, is that blood on your apron or just beet?",
    "Captain, you keep looking at the clock. Expecting someone?",
    "Pip, what are you counting under your breath?",
    "Someone just put out the lantern by the door.",
    "Who's there? Show yourself.",
    "Mira, stay behind me.",
    "Tom, bar the door. Now.",
    "Captain Vell, are those your men outside or someone else's?",
    "Pip, under the table, quick.",
    "*holds my breath and listens*",
    "It's gone quiet. Too quiet.",
    "Mira, what did you just whisper? The fog pulled back when you said it.",
    "Tom, you can unbar the door. Whoever it was has gone.",
    "Captain, you owe me an explanation after that.",
    "Pip, you can come out now. It's safe.",
    "That was no fisherman at the window.",
    "I need a drink and then I need the truth, in that order.",
    "Mira, thank you. I mean it.",
    "Tom, put it on my tab. I'll be staying a while, it seems.",
    "Captain Vell, I'm not your enemy. I could be your friend.",
    "Pip, would you like to learn to tie a proper sailor's knot?",
    "What does everyone here want most, if you could have anything?",
    "*smiles for the first time tonight* You lot are strange, but I like you.",
    "Mira, tell me about the first time you heard the sea speak.",
    "Tom, what would you do if you sold this place?",
    "Captain, do you ever miss being at sea?",
    "Pip, when you grow up, will you still light the lamps?",
    "There's a ship's light out past the chain. Is anyone expected?",
    "I'll pay double for a room that faces the harbour.",
    "Mira, is that light out there one of yours?",
    "Tom, have you got a spyglass behind that bar?",
    "Captain Vell, that ship is flying no colours.",
    "Pip, run and tell me what flag she's flying. Carefully.",
    "*squints through the fogged glass* She's coming in without a pilot.",
    "Does anyone else think this is connected to the bell?",
    "Mira, can you turn the tide against her?",
    "Tom, get your cudgel. Just in case.",
    "Captain, do you know that ship or don't you?",
    "Pip, good work. You did well.",
    "If Hollis is on that ship, I'm going aboard.",
    "I'm tired of secrets. Everyone, one true thing each. I'll start.",
    "My name isn't the one I gave you at the door.",
    "Mira, your turn. One true thing.",
    "Tom, come on, you too.",
    "Captain Vell, and you. No speeches.",
    "Pip, you don't have to if you don't want to.",
    "*lets out a long breath* Well. That went better than I expected.",
    "So. What do we do at first light?",
    "Mira, meet me at the steps at dawn?",
    "Tom, pack us something to eat. Enough for four.",
    "Captain, open the chain for us at dawn and I'll owe you.",
    "Pip, you're coming too, if you want.",
    "I think this is the start of a very long night.",
    "Goodnight, all. Wake me if the bell rings again.",
)


_ACTIONS = (
    "*glances up from the net*", "*wipes the bar with a rag that has seen better years*", "*taps the pipe out on the rail*",
    "*doesn't look away from the water*", "*pulls the oilskin tighter*", "*laughs, short and dry*", "*frowns at the fog*",
    "*sets the mug down harder than needed*", "*counts lanterns under the breath, then stops*", "*shrugs*",
    "*leans in close*", "*straightens the coat's brass buttons*", "*stares at the fire*", "*points toward the Bond Store*",
    "*tilts the head, listening to something outside*", "*rubs salt from the knuckles*", "*smiles without warmth*",
    "*nods slowly*", "*snorts*", "*looks at the door, then back*", "*turns a coin over the knuckles*",
    "*takes a long pull from the mug*", "*squints at the harbour lights*", "*hums two bars of an old shanty*",
)
_SPEECH = (
    "The tide's on the turn, {to}, and it never turns for free.",
    "Ask the harbourmaster, not me. He keeps the book.",
    "Slack water's in an hour. Whatever you mean to do, do it then.",
    "I've poured for worse than you, {to}. Sit down.",
    "The bell hasn't rung true since the keeper went quiet.",
    "Nobody goes near the cave after dark. Nobody sensible.",
    "You've a way of asking questions that sounds like answers, {to}.",
    "The chain goes up at dusk. That's the law and I keep it.",
    "Hot one? Maybe. Maybe I saw something.",
    "Mind the weed on the steps. It's taken better feet than yours.",
    "There's stew, there's ale, and there's the door. Pick two.",
    "Revenue men come through twice a year. You don't look like one.",
    "The fog carries voices. Most of them aren't worth hearing.",
    "Hollis? I knew a Hollis. Everyone did, for a while.",
    "Keep your coin, {to}. Tell me what you saw instead.",
    "Lamps first. Questions after.",
    "The Gull Light was dark three nights running. Then it wasn't.",
    "That's a sailor's knot you've got there. Who taught you?",
    "Sit by the fire, {to}, before the damp gets in your chest.",
    "Some doors in this town are locked for good reasons.",
    "I don't sell secrets. I trade them, and you've nothing I want yet.",
    "Two bells means a boat's coming in without a pilot.",
    "The sea keeps what it likes and gives back what it doesn't.",
    "My men do as they're told. Usually.",
    "You'll want the room at the back. It doesn't face the water.",
    "Dunno. Down there, maybe. Wet at the bottom.",
    "There's a price on everything here, {to}. Even kindness.",
    "The captain's hiding something. So's everyone.",
    "That ship has no business in my harbour at this hour.",
    "Don't look at the window. Look at me.",
    "First light, then. I'll be at the steps.",
    "If you go into the cave, go at the ebb, and come out before it turns.",
)
_TAILS = (
    "", "", "", " What's it to you?", " Drink up.", " *looks away.*", " Go on, then.", " Mind how you go.",
    " *the fire pops.*", " That's all I'll say.", " Ask me again tomorrow.", " *waits.*",
)


def npc_replies(count: int = 3000, seed: int = 5) -> list[str]:
    """``count`` distinct character lines (action, one or two spoken sentences, a tail); ``{to}`` names the player."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        said = rng.sample(_SPEECH, rng.choice((1, 1, 2)))
        line = f"{rng.choice(_ACTIONS)} {' '.join(said)}{rng.choice(_TAILS)}"
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


@lru_cache(maxsize=1)
def _npc_line() -> Any:
    return lines_responder(tuple(npc_replies()))


def bench_responder(body: dict[str, Any]) -> str:
    """The benchmark's model server: varied NPC lines, and well-formed JSON for the engine's JSON steps.

    A summary request (one character) gets a short summary (so the summary path does its real
    work, storing them, instead of failing and asking again after every turn); the narrator's
    movement question gets "no moves".
    """
    if (body.get("response_format") or {}).get("type") != "json_object":
        return _npc_line()(body)
    messages = body.get("messages") or []
    system = str(messages[0].get("content", "")) if messages else ""
    if '{"summary"' in system:
        return json.dumps({"summary": "Met Ann on the quay; talk of the bell.", "facts": []})
    return json.dumps({"moves": []})
