-- PostgreSQL twin of migrations/0006_limits.sql: per-server limits, model usage attributed to a server.
-- SQLite's AFTER INSERT trigger updates the new row; here a BEFORE INSERT trigger fills NEW.guild_id,
-- which is the same rule without a second write.

CREATE TABLE guild_limits (
    guild_id          TEXT PRIMARY KEY,
    lines_per_minute  BIGINT,
    tokens_per_day    BIGINT,
    updated_at        TEXT NOT NULL
);

ALTER TABLE model_usage ADD COLUMN guild_id TEXT;

UPDATE model_usage SET guild_id = (
    SELECT s.guild_id FROM turns t JOIN scenes s ON s.id = t.scene_id WHERE t.id = model_usage.turn_id
) WHERE guild_id IS NULL AND turn_id IS NOT NULL;

CREATE FUNCTION model_usage_guild() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.guild_id IS NULL AND NEW.turn_id IS NOT NULL THEN
        NEW.guild_id := (SELECT s.guild_id FROM turns t JOIN scenes s ON s.id = t.scene_id WHERE t.id = NEW.turn_id);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER model_usage_guild BEFORE INSERT ON model_usage
    FOR EACH ROW EXECUTE FUNCTION model_usage_guild();

CREATE INDEX model_usage_guild_time ON model_usage (guild_id, created_at);
