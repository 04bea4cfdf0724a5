-- Ensemble schema 12 (PostgreSQL twin): the full-text index knows each item's scene.
--
-- Before, a lexical recall matched the words in every scene (the GIN index has no scene) and only then
-- kept this character's lines of this scene: ~7 ms per recall with 50 busy scenes, growing with
-- everything ever said on the bot. memory_text gains `scope` ('s' || scene_id), indexed in the same
-- tsvector as a lexeme of weight A (body lexemes have the default weight D, so a body word can never
-- pass for a scope); a search is `search @@ ('sN':A & (words))` and the GIN index intersects both.
-- ts_rank is computed against the words only. The generated column cannot change its expression in
-- place before PostgreSQL 17, so it is dropped (with its index) and added again.

ALTER TABLE memory_text ADD COLUMN scope TEXT NOT NULL DEFAULT '';
UPDATE memory_text t SET scope = 's' || m.scene_id FROM messages m WHERE m.id = t.rowid;
UPDATE memory_text t SET scope = 's' || n.scene_id FROM memory_notes n WHERE n.id = -t.rowid;
ALTER TABLE memory_text ALTER COLUMN scope DROP DEFAULT;
ALTER TABLE memory_text DROP COLUMN search;
ALTER TABLE memory_text ADD COLUMN search tsvector GENERATED ALWAYS AS
    (setweight(to_tsvector('simple', scope), 'A') || to_tsvector('english', body)) STORED;
CREATE INDEX memory_text_search ON memory_text USING GIN (search);
