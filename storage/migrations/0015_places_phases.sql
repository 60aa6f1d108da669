-- 0015 (#20): the place an item came from (the village or community whose poster's deep
-- link the resident arrived through, or the one chosen in the flow; NULL: not said) and
-- the campaign phase it arrived in (NULL: outside every phase, or none configured). Both
-- are content the office sees, like the kind or the topic: nothing per person.
ALTER TABLE submissions ADD COLUMN place_id TEXT;
ALTER TABLE submissions ADD COLUMN phase_id TEXT;
-- The queue filtered by a place (and its places under it), newest first.
CREATE INDEX ix_submissions_place_created ON submissions (place_id, created_at)
    WHERE place_id IS NOT NULL;

-- Items per UTC day of submission, place, phase and kind ('' for none), kept by triggers
-- like daily_counts (0007): /stats by place and phase, the digest's silent places and the
-- weekly comparison of phases read these counters, not the items.
-- The key starts with the groups, not the day: a period's counts are then one pass over
-- the table in the order of its groups, where a day-first key needs a sort of every
-- counter of the period (with 200 places nearly one counter per two items): /stats over
-- a year of 100,000 items ran 3 times as long (README, "Benchmarks").
CREATE TABLE daily_place_counts (
    day         TEXT NOT NULL,   -- UTC date of created_at
    place_id    TEXT NOT NULL,
    phase_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (place_id, phase_id, kind, day)
) WITHOUT ROWID;

INSERT INTO daily_place_counts (day, place_id, phase_id, kind, n)
SELECT substr(created_at, 1, 10), '', '', kind, COUNT(*) FROM submissions GROUP BY 1, 4;

CREATE TRIGGER daily_place_counts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO daily_place_counts (day, place_id, phase_id, kind, n)
    VALUES (substr(new.created_at, 1, 10), COALESCE(new.place_id, ''),
        COALESCE(new.phase_id, ''), new.kind, 1)
    ON CONFLICT (place_id, phase_id, kind, day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER daily_place_counts_update AFTER UPDATE OF place_id, phase_id, kind ON submissions
BEGIN
    UPDATE daily_place_counts SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND place_id = COALESCE(old.place_id, '')
        AND phase_id = COALESCE(old.phase_id, '') AND kind = old.kind;
    INSERT INTO daily_place_counts (day, place_id, phase_id, kind, n)
    VALUES (substr(new.created_at, 1, 10), COALESCE(new.place_id, ''),
        COALESCE(new.phase_id, ''), new.kind, 1)
    ON CONFLICT (place_id, phase_id, kind, day) DO UPDATE SET n = n + 1;
END;
