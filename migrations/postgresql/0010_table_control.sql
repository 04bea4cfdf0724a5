-- PostgreSQL twin of migrations/0010_table_control.sql: each scene's answer mode and hushed characters.

CREATE TABLE scene_answer_mode (
    scene_id    BIGINT PRIMARY KEY REFERENCES scenes(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('lively', 'mentioned', 'manual')),
    updated_at  TEXT NOT NULL
);

CREATE TABLE scene_hushed (
    scene_id      BIGINT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    character_id  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (scene_id, character_id)
);
