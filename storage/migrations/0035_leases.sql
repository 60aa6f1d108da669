-- 0035 (#24): named leases for the workers that share one database (bot/leadership.py).
-- 'leader' is held by the worker that runs the scheduled jobs and sends the outbox;
-- 'worker:<id>' by every live worker (its heartbeat: the flood limits are shared by the
-- live workers). A lease is taken or renewed by one conditional upsert and is someone
-- else's to take once expires_at (seconds since the epoch) has passed.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;
