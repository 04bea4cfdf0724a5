-- Control of the table, per scene (one scene per channel): the answer mode and the hushed characters.

CREATE TABLE scene_answer_mode (
    scene_id    INTEGER PRIMARY KEY REFERENCES scenes(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('lively', 'mentioned', 'manual')),
    updated_at  TEXT NOT NULL
);

CREATE TABLE scene_hushed (
    scene_id      INTEGER NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    character_id  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (scene_id, character_id)
);
