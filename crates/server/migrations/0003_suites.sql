-- Suites run by the server: one row per suite run with its whole state
-- (the same state.json the store keeps), updated after every transition.
-- Their events are kept in run_events under the suite run's id.
CREATE TABLE suites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    ended_ms BIGINT
);
CREATE INDEX suites_by_created ON suites (created_ms);
