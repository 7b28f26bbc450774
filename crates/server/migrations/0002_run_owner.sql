-- Which server runs a run: a server closes only its own runs at start, so
-- two servers can share one PostgreSQL database. Runs from before this
-- migration have no owner and are closed by whichever server starts.
ALTER TABLE runs ADD COLUMN owner TEXT;
