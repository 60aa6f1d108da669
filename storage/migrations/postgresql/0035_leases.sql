-- 0035 (#24), PostgreSQL: named leases for the workers that share one database.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
