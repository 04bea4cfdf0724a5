-- PostgreSQL twin of migrations/0002_discord.sql: what the Discord adapter remembers between restarts.

CREATE TABLE discord_webhooks (
    guild_id    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    webhook_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE discord_notices (
    guild_id    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, channel_id, kind)
);

CREATE TABLE discord_posts (
    platform_message_id  TEXT PRIMARY KEY,
    guild_id             TEXT NOT NULL,
    channel_id           TEXT NOT NULL,
    main_message_id      TEXT NOT NULL,
    position             INTEGER NOT NULL,
    webhook_id           TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX discord_posts_main ON discord_posts (guild_id, main_message_id, position);
