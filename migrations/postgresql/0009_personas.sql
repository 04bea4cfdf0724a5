-- PostgreSQL twin of migrations/0009_personas.sql: players' personas per server, and whether a server
-- re-posts players' lines under their persona.

CREATE TABLE personas (
    guild_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    avatar_url   TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE persona_options (
    guild_id    TEXT PRIMARY KEY,
    repost      INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL
);
