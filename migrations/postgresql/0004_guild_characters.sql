-- PostgreSQL twin of migrations/0004_guild_characters.sql: characters a server imported.

CREATE TABLE guild_characters (
    guild_id      TEXT NOT NULL,
    world_id      TEXT NOT NULL,
    character_id  TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, character_id)
);
