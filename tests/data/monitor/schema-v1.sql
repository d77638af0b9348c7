-- The monitor's schema as its first release made it, with no schema_version table.
-- {serial} is INTEGER (SQLite) or SERIAL (PostgreSQL). Kept to show such a database opens.
CREATE TABLE IF NOT EXISTS projects (
  id {serial} PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
  id {serial} PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  added_at TEXT NOT NULL,
  UNIQUE (project_id, path)
);
CREATE TABLE IF NOT EXISTS source_names (
  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  display TEXT NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  index_url TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS source_names_name ON source_names (name);
CREATE INDEX IF NOT EXISTS source_names_source ON source_names (source_id);
CREATE TABLE IF NOT EXISTS names (
  name TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  record TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  last_checked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
  id {serial} PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  record TEXT NOT NULL,
  observed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_name ON observations (name);
CREATE TABLE IF NOT EXISTS transitions (
  id {serial} PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  old_status TEXT NOT NULL,
  new_status TEXT NOT NULL,
  version TEXT,
  reason TEXT,
  seen_at TEXT NOT NULL,
  notice TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_name ON transitions (name);
CREATE TABLE IF NOT EXISTS outbox (
  id {serial} PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES transitions(event_id),
  target TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at DOUBLE PRECISION NOT NULL,
  claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,
  delivered_at TEXT,
  last_error TEXT,
  UNIQUE (event_id, target)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_attempt_at);
CREATE TABLE IF NOT EXISTS passes (
  id {serial} PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  names INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  transitions INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  not_modified INTEGER NOT NULL,
  bytes_downloaded BIGINT NOT NULL
);
