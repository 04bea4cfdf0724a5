-- Ensemble schema 4: characters a server imported (/character import), part of that server's cast only.

CREATE TABLE guild_characters (
    guild_id      TEXT NOT NULL,
    world_id      TEXT NOT NULL,
    character_id  TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, character_id)
);
