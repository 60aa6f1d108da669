-- 0018 (#15.11): an item's creation time may be set back to now when the clock ran ahead
-- (storage/clamps.py); its count per day moves with it. 0007's trigger, which moves an
-- item's count from its old (day, status, topic) to its new one, now fires on a change
-- of its creation time too (one trigger: an update of both counts once).
DROP TRIGGER daily_counts_update;
CREATE TRIGGER daily_counts_update AFTER UPDATE OF status, topic_id, created_at ON submissions
BEGIN
    UPDATE daily_counts SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND kind = old.kind AND status = old.status
        AND topic_id = old.topic_id AND anonymous = old.anonymous;
    INSERT INTO daily_counts (day, kind, status, topic_id, anonymous, n)
    VALUES (substr(new.created_at, 1, 10), new.kind, new.status, new.topic_id, new.anonymous, 1)
    ON CONFLICT (day, kind, status, topic_id, anonymous) DO UPDATE SET n = n + 1;
END;
