-- 0036 (#19), PostgreSQL: the deadline 按时办结率 judges an item's round by (see SQLite's
-- 0036 for the rule): filled from history the same way, and read by the indices' index.
ALTER TABLE submissions ADD COLUMN judged_deadline TEXT;

UPDATE submissions SET judged_deadline = deadline
WHERE deadline IS NOT NULL AND dispatched_at IS NOT NULL;

WITH approvals AS (
    SELECT h.submission_id AS item, h.id AS step_id, h.at, substr(h.note, 1, 10) AS day,
        s.deadline, s.dispatched_at
    FROM history h JOIN submissions s ON s.id = h.submission_id
    WHERE h.step = 'approve_extension' AND s.deadline IS NOT NULL
        AND s.dispatched_at IS NOT NULL AND h.at >= s.dispatched_at
),
judged AS (
    SELECT a.item, a.step_id, a.at, a.deadline,
        COALESCE(
            (SELECT b.day FROM approvals b WHERE b.item = a.item AND b.step_id < a.step_id
             ORDER BY b.step_id DESC LIMIT 1),
            (SELECT CASE WHEN h.step = 'dispatch' AND strpos(h.note, ' → ') > 0
                THEN substr(h.note, strpos(h.note, ' → ') + 3, 10) END
             FROM history h
             WHERE h.submission_id = a.item AND h.step IN ('dispatch', 'redo')
                AND h.at >= a.dispatched_at
             ORDER BY h.id LIMIT 1)) AS before,
        (SELECT b.day FROM approvals b WHERE b.item = a.item
         ORDER BY b.step_id DESC LIMIT 1) AS last_day
    FROM approvals a
),
late AS (
    SELECT item, step_id,
        deadline::timestamptz + (before::date - last_day::date) * interval '1 day' AS judged,
        row_number() OVER (PARTITION BY item ORDER BY step_id) AS n
    FROM judged
    WHERE before IS NOT NULL
        AND at::timestamptz
            > deadline::timestamptz + (before::date - last_day::date) * interval '1 day'
)
UPDATE submissions s
SET judged_deadline = to_char(late.judged AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    || '+00:00'
FROM late WHERE late.item = s.id AND late.n = 1;

DROP INDEX ix_submissions_unit_indices;
CREATE INDEX ix_submissions_unit_indices ON submissions
    (dispatched_at, unit_id, sign_due, signed_at, judged_deadline, done_at, reopen_count,
     rating, rating_round)
    WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;

-- submissions.rating is the latest rated round's rating (see SQLite's 0036).
UPDATE submissions SET rating = (
    SELECT r.rating FROM ratings r WHERE r.submission_id = submissions.id
        AND r.rating <> 'unrated' ORDER BY r.round DESC LIMIT 1)
WHERE rating IS NULL AND EXISTS (
    SELECT 1 FROM ratings r WHERE r.submission_id = submissions.id AND r.rating <> 'unrated');
CREATE FUNCTION ratings_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rating <> 'unrated' AND NOT EXISTS (
            SELECT 1 FROM ratings r WHERE r.submission_id = NEW.submission_id
                AND r.round > NEW.round AND r.rating <> 'unrated') THEN
        UPDATE submissions SET rating = NEW.rating
        WHERE id = NEW.submission_id AND rating IS DISTINCT FROM NEW.rating;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ratings_latest AFTER INSERT ON ratings
    FOR EACH ROW EXECUTE FUNCTION ratings_latest();

-- Per unit and UTC day of dispatch, the counts of the indices that do not depend on when
-- they are read (see SQLite's 0036): one item's part in unit_day_rows, subtracted before an
-- update or delete and added after an insert or update by unit_days_count().
CREATE VIEW unit_day_rows AS
SELECT id, substr(dispatched_at, 1, 10) AS day, unit_id,
    CASE WHEN sign_due IS NOT NULL THEN 1 ELSE 0 END AS sign_all,
    CASE WHEN signed_at <= sign_due THEN 1 ELSE 0 END AS signed_in_time,
    CASE WHEN done_at >= dispatched_at THEN 1 ELSE 0 END AS done,
    CASE WHEN judged_deadline IS NOT NULL THEN 1 ELSE 0 END AS due_all,
    CASE WHEN done_at >= dispatched_at AND done_at <= judged_deadline THEN 1 ELSE 0 END
        AS done_in_time,
    CASE WHEN done_at >= dispatched_at AND reopen_count = 0 THEN 1 ELSE 0 END AS solved,
    CASE WHEN done_at >= dispatched_at AND reopen_count > 0 THEN 1 ELSE 0 END AS redone,
    CASE WHEN done_at >= dispatched_at THEN round(extract(epoch FROM done_at::timestamptz
        - dispatched_at::timestamptz) * 1000)::bigint ELSE 0 END AS done_ms,
    CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END AS rated,
    CASE WHEN rating IN ('satisfied', 'basically') THEN 1 ELSE 0 END AS satisfied
FROM submissions WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;

CREATE TABLE unit_days (
    day             TEXT NOT NULL,      -- UTC date of dispatched_at
    unit_id         TEXT NOT NULL,
    items           BIGINT NOT NULL,
    sign_all        BIGINT NOT NULL,   -- with a sign-for limit
    signed_in_time  BIGINT NOT NULL,
    done            BIGINT NOT NULL,   -- the office approved the unit's 办结 in this round
    due_all         BIGINT NOT NULL,   -- with a (judged) deadline
    done_in_time    BIGINT NOT NULL,
    solved          BIGINT NOT NULL,
    redone          BIGINT NOT NULL,
    done_ms         BIGINT NOT NULL,   -- milliseconds from dispatch to approval, done items
    rated           BIGINT NOT NULL,
    satisfied       BIGINT NOT NULL,
    PRIMARY KEY (day, unit_id)
);

INSERT INTO unit_days
SELECT day, unit_id, COUNT(*), SUM(sign_all), SUM(signed_in_time), SUM(done), SUM(due_all),
    SUM(done_in_time), SUM(solved), SUM(redone), SUM(done_ms), SUM(rated), SUM(satisfied)
FROM unit_day_rows GROUP BY day, unit_id;

CREATE FUNCTION unit_days_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    item submissions;   -- the row whose part is counted: the old one before, the new after
    factor integer;     -- -1: subtracted, 1: added
BEGIN
    IF TG_WHEN = 'BEFORE' THEN
        item := OLD;
        factor := -1;
    ELSE
        item := NEW;
        factor := 1;
    END IF;
    IF item.unit_id IS NOT NULL AND item.dispatched_at IS NOT NULL THEN
        INSERT INTO unit_days
        SELECT day, unit_id, factor, factor * sign_all, factor * signed_in_time, factor * done,
            factor * due_all, factor * done_in_time, factor * solved, factor * redone,
            factor * done_ms, factor * rated, factor * satisfied
        FROM unit_day_rows WHERE id = item.id
        ON CONFLICT (day, unit_id) DO UPDATE SET
            items = unit_days.items + excluded.items,
            sign_all = unit_days.sign_all + excluded.sign_all,
            signed_in_time = unit_days.signed_in_time + excluded.signed_in_time,
            done = unit_days.done + excluded.done,
            due_all = unit_days.due_all + excluded.due_all,
            done_in_time = unit_days.done_in_time + excluded.done_in_time,
            solved = unit_days.solved + excluded.solved,
            redone = unit_days.redone + excluded.redone,
            done_ms = unit_days.done_ms + excluded.done_ms,
            rated = unit_days.rated + excluded.rated,
            satisfied = unit_days.satisfied + excluded.satisfied;
    END IF;
    IF TG_WHEN = 'AFTER' THEN
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER unit_days_insert AFTER INSERT ON submissions
    FOR EACH ROW EXECUTE FUNCTION unit_days_count();
CREATE TRIGGER unit_days_before_update BEFORE UPDATE OF unit_id, dispatched_at, sign_due,
    signed_at, judged_deadline, done_at, reopen_count, rating ON submissions
    FOR EACH ROW EXECUTE FUNCTION unit_days_count();
CREATE TRIGGER unit_days_update AFTER UPDATE OF unit_id, dispatched_at, sign_due,
    signed_at, judged_deadline, done_at, reopen_count, rating ON submissions
    FOR EACH ROW EXECUTE FUNCTION unit_days_count();
CREATE TRIGGER unit_days_delete BEFORE DELETE ON submissions
    FOR EACH ROW EXECUTE FUNCTION unit_days_count();

-- What depends on now is read from the items whose sign-for limit or (judged) deadline is
-- still ahead (see SQLite's 0036): unsigned ones by their limit, undone ones by their deadline.
CREATE INDEX ix_submissions_unsigned_due ON submissions (sign_due, dispatched_at, unit_id)
    WHERE signed_at IS NULL AND sign_due IS NOT NULL AND unit_id IS NOT NULL
        AND dispatched_at IS NOT NULL;
CREATE INDEX ix_submissions_undone_due ON submissions (judged_deadline, dispatched_at, unit_id)
    WHERE (done_at IS NULL OR done_at < dispatched_at) AND judged_deadline IS NOT NULL
        AND unit_id IS NOT NULL AND dispatched_at IS NOT NULL;
