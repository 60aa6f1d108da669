-- 0009: labelled examples for the topic model (#7) and the trained model itself.
-- One row per distinct normalised text (text_hash = SHA-256 of it); a later label of the
-- same text replaces the earlier one. source: import (CLI), admin (/review), resident.
CREATE TABLE labelled_examples (
    id INTEGER PRIMARY KEY,
    text_hash TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('import', 'admin', 'resident')),
    weight REAL NOT NULL CHECK (weight >= 0),
    submission_id INTEGER REFERENCES submissions (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_labelled_examples_topic ON labelled_examples (topic_id);
-- The model: JSON parameters and numbers as little-endian arrays (never pickle).
CREATE TABLE topic_model (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    params TEXT NOT NULL,
    columns BLOB NOT NULL,
    weights BLOB NOT NULL,
    trained_at TEXT NOT NULL
);
