-- Preference data from swipes: the messages the model saw for each alternative (JSON list of
-- {"role", "content", "name"?}; NULL for alternatives written before this migration), and the
-- players who opted out of preference exports, per server.

ALTER TABLE swipes ADD COLUMN prompt TEXT;

CREATE TABLE privacy_optouts (
    guild_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Pacing an admin pinned for a scene ('slow', 'steady' or 'fast'); no row: inferred from behaviour.
CREATE TABLE scene_pacing (
    scene_id    INTEGER PRIMARY KEY REFERENCES scenes(id) ON DELETE CASCADE,
    pinned      TEXT NOT NULL CHECK (pinned IN ('slow', 'steady', 'fast')),
    updated_at  TEXT NOT NULL
);
