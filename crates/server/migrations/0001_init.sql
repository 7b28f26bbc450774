-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Ids are made by
-- the server (no autoincrement, whose syntax differs); times are Unix
-- milliseconds; JSON is stored as text.

CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- One row per version. `document` is what `squall run` reads; the MiSArch
-- parts are kept exactly as they were PUT.
CREATE TABLE versions (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    misarch_config TEXT,
    chaos_toolkit_config TEXT,
    misarch_failures TEXT,
    gatling_config TEXT,
    PRIMARY KEY (experiment_id, version)
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT,
    exit_code BIGINT,
    error TEXT,
    dir TEXT,
    created_ms BIGINT NOT NULL,
    ended_ms BIGINT
);

CREATE INDEX runs_by_version ON runs (experiment_id, version);

-- Everything a run said, in order: the SSE stream replays from here
-- (`Last-Event-ID`), and the per-second figures survive a crash.
CREATE TABLE run_events (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
