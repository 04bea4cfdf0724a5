-- Ensemble schema 12: the full-text index knows each item's scene, so a search reads one scene's matches.
--
-- Before, a lexical recall matched the words in every scene of every server (the FTS5 index has no scene)
-- and only then kept the lines this character heard in this scene: its cost grew with everything ever
-- said on the bot (PostgreSQL spent ~7 ms per recall with 50 busy scenes). memory_text gains a `scope`
-- column holding 's' || scene_id, and a search is `scope : "sN" AND body : (...)`: the index intersects
-- the scene's rows with the words' rows. bm25 weighs the scope column 0, so ranking is by the body alone.
-- FTS5 tables cannot gain columns: the index is copied out, rebuilt with both columns, copied back.

CREATE TABLE memory_text_scoped AS
    SELECT t.rowid AS item_id, t.body AS body, COALESCE(m.scene_id, n.scene_id, 0) AS scene_id
    FROM memory_text t
    LEFT JOIN messages m ON m.id = t.rowid
    LEFT JOIN memory_notes n ON n.id = -t.rowid;

DROP TRIGGER messages_forget;
DROP TRIGGER notes_forget;
DROP TABLE memory_text;

CREATE VIRTUAL TABLE memory_text USING fts5 (body, scope, tokenize = 'porter unicode61 remove_diacritics 2');
INSERT INTO memory_text (rowid, body, scope) SELECT item_id, body, 's' || scene_id FROM memory_text_scoped;
DROP TABLE memory_text_scoped;

CREATE TRIGGER messages_forget AFTER DELETE ON messages BEGIN
    DELETE FROM memory_text WHERE rowid = old.id;
    DELETE FROM memory_vectors WHERE item_id = old.id;
END;
CREATE TRIGGER notes_forget AFTER DELETE ON memory_notes BEGIN
    DELETE FROM memory_text WHERE rowid = -old.id;
    DELETE FROM memory_vectors WHERE item_id = -old.id;
END;
