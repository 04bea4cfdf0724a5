-- PostgreSQL twin of migrations/0007_preferences.sql: the prompt of each alternative, opt-outs, pinned pacing.

ALTER TABLE swipes ADD COLUMN prompt TEXT;

CREATE TABLE privacy_optouts (
    guild_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE scene_pacing (
    scene_id    BIGINT PRIMARY KEY REFERENCES scenes(id) ON DELETE CASCADE,
    pinned      TEXT NOT NULL CHECK (pinned IN ('slow', 'steady', 'fast')),
    updated_at  TEXT NOT NULL
);
