-- Ensemble schema 11: several bot processes share one database, each running some gateway shards.

-- Who runs each shard: the holder keeps pushing expires_at forward (its heartbeat); token grows whenever
-- the shard changes hands, and writes made for a shard check it, so a process that lost its lease (paused,
-- partitioned) can no longer act for that shard. Times are Unix seconds of the holder's clock.
CREATE TABLE shard_leases (
    shard_id      INTEGER NOT NULL PRIMARY KEY,
    shard_count   INTEGER NOT NULL,
    holder        TEXT NOT NULL,
    token         INTEGER NOT NULL,
    expires_at    REAL NOT NULL,
    heartbeat_at  REAL NOT NULL
) WITHOUT ROWID;

-- Discord allows max_concurrency IDENTIFYs per 5 s, keyed by shard_id % max_concurrency, for the whole
-- bot: each bucket's next free slot, shared by every process.
CREATE TABLE identify_buckets (
    bucket        INTEGER NOT NULL PRIMARY KEY,
    next_free_at  REAL NOT NULL,
    holder        TEXT
) WITHOUT ROWID;
