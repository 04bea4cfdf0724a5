-- Ensemble schema: per-server limits set by admins (/limits), and model usage attributed to a server.
-- (Numbered 0007 once merged after the 0005/0006 of other branches.)

-- NULL in a column: the operator's default (USER_LINES_PER_MINUTE, SERVER_TOKENS_PER_DAY); 0: no limit.
CREATE TABLE guild_limits (
    guild_id          TEXT PRIMARY KEY,
    lines_per_minute  INTEGER,
    tokens_per_day    INTEGER,
    updated_at        TEXT NOT NULL
);

-- Calls outside a turn (narrator, director, summaries) name their server directly; rows written with a
-- turn get it from the turn's scene, so the daily budget survives a /rewind that deletes the turn.
ALTER TABLE model_usage ADD COLUMN guild_id TEXT;

UPDATE model_usage SET guild_id = (
    SELECT s.guild_id FROM turns t JOIN scenes s ON s.id = t.scene_id WHERE t.id = model_usage.turn_id
) WHERE guild_id IS NULL AND turn_id IS NOT NULL;

CREATE TRIGGER model_usage_guild AFTER INSERT ON model_usage
WHEN NEW.guild_id IS NULL AND NEW.turn_id IS NOT NULL
BEGIN
    UPDATE model_usage SET guild_id = (
        SELECT s.guild_id FROM turns t JOIN scenes s ON s.id = t.scene_id WHERE t.id = NEW.turn_id
    ) WHERE id = NEW.id;
END;

CREATE INDEX model_usage_guild_time ON model_usage (guild_id, created_at);
