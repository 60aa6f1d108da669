-- 0007: counts of items per UTC day of submission, kind, status, topic and anonymity, kept
-- up to date by triggers, so statistics over months read a few thousand counters instead
-- of every item.
CREATE TABLE daily_counts (
    day         TEXT NOT NULL,   -- UTC date of created_at
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    topic_id    TEXT NOT NULL,
    anonymous   INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (day, kind, status, topic_id, anonymous)
) WITHOUT ROWID;

INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
SELECT substr(created_at, 1, 10), kind, status, topic_id, anonymous, COUNT(*)
FROM submissions GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER daily_counts_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
    VALUES (substr(new.created_at, 1, 10), new.kind, new.status, new.topic_id, new.anonymous, 1)
    ON CONFLICT (day, kind, status, topic_id, anonymous) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER daily_counts_update AFTER UPDATE OF status, topic_id ON submissions
BEGIN
    UPDATE daily_counts SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND kind = old.kind AND status = old.status
        AND topic_id = old.topic_id AND anonymous = old.anonymous;
    INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
    VALUES (substr(new.created_at, 1, 10), new.kind, new.status, new.topic_id, new.anonymous, 1)
    ON CONFLICT (day, kind, status, topic_id, anonymous) DO UPDATE SET n = n + 1;
END;
