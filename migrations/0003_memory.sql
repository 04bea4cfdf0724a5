-- Ensemble schema 3: memory. Facts extracted from lines (with who knows them) and rolling summaries
-- per scene and character. Both hang off turns, so rewinding a turn removes what it taught.

CREATE TABLE facts (
    id          INTEGER PRIMARY KEY,
    scene_id    INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    turn_id     INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    importance  INTEGER NOT NULL CHECK (importance BETWEEN 1 AND 10),
    known_by    TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL
);
CREATE INDEX facts_scene ON facts (scene_id, id);

-- What a character remembers of a scene, summarised off the hot path up to a message id.
CREATE TABLE summaries (
    id            INTEGER PRIMARY KEY,
    scene_id      INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    character_id  TEXT NOT NULL,
    upto_message  INTEGER NOT NULL,
    text          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX summaries_scene ON summaries (scene_id, character_id, id);

-- Quality guard counters: what the detectors found in replies and what the guards did about it.
CREATE TABLE quality_counts (
    guild_id   TEXT NOT NULL,
    detector   TEXT NOT NULL,
    counter    TEXT NOT NULL,
    n          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, detector, counter)
);
