-- Ensemble schema: one true world. Indexes for every foreign key and hot query (deleting a turn
-- without them scans whole tables per row: a 4,000-turn reset took 29 s on the shared connection),
-- a witness table (no json_each scans of the world's log), state checkpoints (rewind replays from
-- the nearest one), the outbox (lines to post, written with the turn), and swipe effects (what each
-- alternative would change, committed only for the one on screen when the story moves on).

-- Foreign keys that had no index: every ON DELETE of the parent scanned the child table.
CREATE INDEX messages_reply_to ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX facts_message ON facts (message_id);
CREATE INDEX facts_turn ON facts (turn_id);
CREATE INDEX events_turn ON events (turn_id) WHERE turn_id IS NOT NULL;
CREATE INDEX events_scene ON events (scene_id, kind, id) WHERE scene_id IS NOT NULL;
CREATE INDEX model_usage_turn ON model_usage (turn_id) WHERE turn_id IS NOT NULL;

-- Hot queries: the latest NPC line and who spoke last; hooks used; active worlds; unsettled lines.
CREATE INDEX messages_scene_kind ON messages (scene_id, kind, id);
CREATE INDEX messages_speaker ON messages (scene_id, kind, character_id, id);
CREATE INDEX turns_scene_id ON turns (scene_id, id);
CREATE INDEX turns_open ON turns (status) WHERE status = 'open';
CREATE INDEX messages_kind_time ON messages (kind, created_at);
CREATE INDEX messages_unsettled ON messages (scene_id) WHERE settled = 0;
CREATE INDEX events_world_kind ON events (guild_id, world_id, kind, id);

-- Who witnessed which event, one row each: "what did Ada see off-screen" is an index range.
CREATE TABLE event_witnesses (
    event_id      INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    guild_id      TEXT NOT NULL,
    world_id      TEXT NOT NULL,
    character_id  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    PRIMARY KEY (guild_id, world_id, character_id, kind, event_id)
) WITHOUT ROWID;
CREATE INDEX event_witnesses_event ON event_witnesses (event_id);
-- Only for the kinds a character is asked about later (see WITNESSED_KINDS in bot/store/store.py).
INSERT OR IGNORE INTO event_witnesses (event_id, guild_id, world_id, character_id, kind)
    SELECT e.id, e.guild_id, e.world_id, w.value, e.kind FROM events e, json_each(e.witnesses) w
    WHERE e.kind IN ('offscreen', 'offscreen_move', 'move', 'summon', 'dismiss', 'hook');

-- Every NPC state of one server's world as it was after event `upto_event`: rewind replays from here.
CREATE TABLE world_checkpoints (
    id          INTEGER PRIMARY KEY,
    guild_id    TEXT NOT NULL,
    world_id    TEXT NOT NULL,
    upto_event  INTEGER NOT NULL,
    states      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX world_checkpoints_world ON world_checkpoints (guild_id, world_id, upto_event);

-- Lines to post, written in the turn's transaction; a poster delivers them per channel in order.
-- status: pending, posted, failed (given up after the retries: characters do not remember it).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    scene_id         INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    message_id       INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
    guild_id         TEXT NOT NULL,
    channel_id       TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posted', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    done_at          TEXT
);
CREATE INDEX outbox_pending ON outbox (guild_id, channel_id, id) WHERE status = 'pending';
CREATE INDEX outbox_scene ON outbox (scene_id);

-- A line that could not be posted is not part of what anyone heard.
ALTER TABLE messages ADD COLUMN undelivered INTEGER NOT NULL DEFAULT 0;

-- What an alternative would do to the world (events, facts) if it is the one kept: JSON, applied when
-- the story moves on with it on screen.
ALTER TABLE swipes ADD COLUMN effects TEXT NOT NULL DEFAULT '{}';

-- Events an NPC line caused (its alternative's effects): replaced when another alternative goes on screen.
ALTER TABLE events ADD COLUMN message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE;
CREATE INDEX events_message ON events (message_id) WHERE message_id IS NOT NULL;
