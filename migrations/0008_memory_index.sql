-- Ensemble schema 8: every heard line is searchable memory for exactly those who heard it.
--
-- message_hearers: who heard (or said) each line, one row per (line, character), filled at commit from
-- heard_by. Keyed character-first so that "the lines Bram heard in scene 3" is a range read, and
-- indexed line-first so that deleting a line finds its rows.
-- memory_text: full-text index (FTS5, BM25) over lines and model-written facts. The indexed text is
-- written by the store, not by SQL: CJK runs are indexed as overlapping character bigrams next to the
-- original text, because unicode61 does not segment Chinese and the trigram tokenizer cannot match the
-- two-character words most Chinese is made of. rowid: message id for lines, minus the note id for notes.
-- memory_vectors: one embedding per line or note (float32 BLOB), written by the background embedder.
-- memory_notes: short standalone facts the summary job wrote for one character, deduplicated.

CREATE TABLE message_hearers (
    character_id  TEXT NOT NULL,
    scene_id      INTEGER NOT NULL,  -- the line's scene (no foreign key: the line's own cascade removes the row)
    message_id    INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    PRIMARY KEY (character_id, scene_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_hearers_message ON message_hearers (message_id);

INSERT OR IGNORE INTO message_hearers (character_id, scene_id, message_id)
    SELECT h.value, m.scene_id, m.id FROM messages m, json_each(m.heard_by) h WHERE m.kind != 'ooc';
INSERT OR IGNORE INTO message_hearers (character_id, scene_id, message_id)
    SELECT m.character_id, m.scene_id, m.id FROM messages m WHERE m.character_id IS NOT NULL AND m.kind != 'ooc';

CREATE TABLE memory_notes (
    id            INTEGER PRIMARY KEY,
    scene_id      INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    character_id  TEXT NOT NULL,
    upto_message  INTEGER NOT NULL,
    text          TEXT NOT NULL,
    norm          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (scene_id, character_id, norm)
);

CREATE VIRTUAL TABLE memory_text USING fts5 (body, tokenize = 'porter unicode61 remove_diacritics 2');

CREATE TABLE memory_vectors (
    item_id  INTEGER PRIMARY KEY,   -- message id, or minus the note id
    model    TEXT NOT NULL,
    vector   BLOB NOT NULL
);

-- Keep the index in step with deletions (rewind, reset) without the store having to remember.
CREATE TRIGGER messages_forget AFTER DELETE ON messages BEGIN
    DELETE FROM memory_text WHERE rowid = old.id;
    DELETE FROM memory_vectors WHERE item_id = old.id;
END;
CREATE TRIGGER notes_forget AFTER DELETE ON memory_notes BEGIN
    DELETE FROM memory_text WHERE rowid = -old.id;
    DELETE FROM memory_vectors WHERE item_id = -old.id;
END;
