-- PostgreSQL twin of migrations/0011_shards.sql: shard leases with fencing tokens, IDENTIFY buckets.

CREATE TABLE shard_leases (
    shard_id      INTEGER NOT NULL PRIMARY KEY,
    shard_count   INTEGER NOT NULL,
    holder        TEXT NOT NULL,
    token         BIGINT NOT NULL,
    expires_at    DOUBLE PRECISION NOT NULL,
    heartbeat_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE identify_buckets (
    bucket        INTEGER NOT NULL PRIMARY KEY,
    next_free_at  DOUBLE PRECISION NOT NULL,
    holder        TEXT
);
