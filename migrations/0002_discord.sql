-- Ensemble schema 2: what the Discord adapter remembers between restarts. Every row carries guild_id and
-- every query filters on it, so one server never reads another's webhooks, notices or posts.

-- The one webhook per channel that characters speak through (the id only: the token is fetched from
-- Discord with the channel's webhooks when the bot restarts, so no credential is stored here).
CREATE TABLE discord_webhooks (
    guild_id    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    webhook_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

-- Problems an admin has been told about (kind: missing_permissions, too_many_webhooks), so each is said once.
CREATE TABLE discord_notices (
    guild_id    TEXT NOT NULL,
    channel_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, channel_id, kind)
);

-- The Discord messages a character line was posted as. A long line is split over several messages;
-- main_message_id is the last one (it carries the swipe buttons and is the id the engine stores).
-- webhook_id NULL means the bot posted it itself (the fallback without webhooks).
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
