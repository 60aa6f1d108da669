-- 0017 (#15.11): an item's creation time may be set back to now when the clock ran ahead
-- (storage/clamps.py); its count per day moves with it.
CREATE TRIGGER daily_counts_created AFTER UPDATE OF created_at ON submissions
WHEN substr(old.created_at, 1, 10) <> substr(new.created_at, 1, 10)
    AND old.status = new.status AND old.topic_id = new.topic_id
BEGIN
    UPDATE daily_counts SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND kind = old.kind AND status = old.status
        AND topic_id = old.topic_id AND anonymous = old.anonymous;
    INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
    VALUES (substr(new.created_at, 1, 10), new.kind, new.status, new.topic_id, new.anonymous, 1)
    ON CONFLICT (day, kind, status, topic_id, anonymous) DO UPDATE SET n = n + 1;
END;
