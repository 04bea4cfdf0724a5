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
