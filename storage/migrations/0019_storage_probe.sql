-- 0019 (#15.8): one row the bot rewrites while the disk is full, to see that a write can
-- commit again (storage/space.py).
CREATE TABLE storage_probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  TEXT NOT NULL
);
