-- Ensemble schema 1: servers, scenes, the cast in them, NPC state, turns, messages, swipes,
-- world events and model usage. Every row that belongs to a server carries guild_id (directly or
-- through its scene) so that one server can never read another's data.

CREATE TABLE servers (
    guild_id    TEXT PRIMARY KEY,
    world_id    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE scenes (
    id             INTEGER PRIMARY KEY,
    guild_id       TEXT NOT NULL,
    channel_id     TEXT NOT NULL,
    world_id       TEXT NOT NULL,
    user_location  TEXT NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1,
    paused         INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    UNIQUE (guild_id, channel_id)
);

-- Where each NPC of a world is and how it feels, per server: NPCs live in the world, not in one scene.
CREATE TABLE npc_state (
    guild_id        TEXT NOT NULL,
    world_id        TEXT NOT NULL,
    character_id    TEXT NOT NULL,
    location        TEXT NOT NULL,
    mood_label      TEXT NOT NULL,
    mood_intensity  REAL NOT NULL,
    goals           TEXT NOT NULL DEFAULT '[]',
    relationships   TEXT NOT NULL DEFAULT '{}',
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (guild_id, world_id, character_id)
);

-- Characters summoned into a scene.
CREATE TABLE scene_members (
    scene_id      INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    character_id  TEXT NOT NULL,
    joined_at     TEXT NOT NULL,
    PRIMARY KEY (scene_id, character_id)
);

-- A turn is one inbound line and everything it caused. status: open (inbound stored, replies not yet
-- committed), done, failed (the model could not answer), interrupted (the process stopped mid-turn).
CREATE TABLE turns (
    id            INTEGER PRIMARY KEY,
    scene_id      INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done', 'failed', 'interrupted')),
    created_at    TEXT NOT NULL,
    completed_at  TEXT,
    UNIQUE (scene_id, seq)
);

CREATE TABLE messages (
    id                   INTEGER PRIMARY KEY,
    scene_id             INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    turn_id              INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    position             INTEGER NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('user', 'npc', 'narration', 'ooc')),
    author_id            TEXT,
    speaker              TEXT NOT NULL,
    character_id         TEXT,
    location             TEXT,
    text                 TEXT NOT NULL,
    heard_by             TEXT NOT NULL DEFAULT '[]',
    reply_to_id          INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    platform_message_id  TEXT UNIQUE,
    active_swipe         INTEGER NOT NULL DEFAULT 0,
    settled              INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    UNIQUE (turn_id, position)
);
CREATE INDEX messages_scene ON messages (scene_id, id);

-- Alternative replies to one NPC message; `kept` marks the one on screen when the story moved on.
CREATE TABLE swipes (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    kept        INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    UNIQUE (message_id, idx)
);

-- State changes as events with witnesses, in order, so that state can be explained and rebuilt.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    guild_id    TEXT NOT NULL,
    world_id    TEXT NOT NULL,
    scene_id    INTEGER REFERENCES scenes(id) ON DELETE CASCADE,
    turn_id     INTEGER REFERENCES turns(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    subject     TEXT,
    payload     TEXT NOT NULL DEFAULT '{}',
    witnesses   TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL
);
CREATE INDEX events_world ON events (guild_id, world_id, id);

CREATE TABLE model_usage (
    id                 INTEGER PRIMARY KEY,
    turn_id            INTEGER REFERENCES turns(id) ON DELETE SET NULL,
    purpose            TEXT NOT NULL,
    model              TEXT NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    latency_ms         REAL NOT NULL,
    created_at         TEXT NOT NULL
);
