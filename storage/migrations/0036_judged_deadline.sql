-- 0036 (#19): the deadline 按时办结率 judges an item's round by. An extension approved
-- before the deadline moves it with the unit's deadline; one approved after moves only
-- the unit's deadline (the round was already late). Set by every 派单 and 重办
-- (bot.core.loop.handover) and by a timely approval (bot.core.loop.in_time).
ALTER TABLE submissions ADD COLUMN judged_deadline TEXT;  -- ISO date-time (UTC)

-- Existing rounds from their history: the round's approvals (steps after its dispatch)
-- in order; each one's previous deadline is the date of the approval before it, or the
-- date the note of the round's first step gives ("单位 → date" of its 派单; a 重办's
-- note has none: its first approval is taken as timely). The first approval made after
-- its previous deadline fixes the judged deadline there; without one it is the deadline.
-- Dates in notes are the campaign's local dates and deadlines the end of a local day, so a
-- date's instant is the current deadline shifted by whole days from the last approval's
-- date.
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
            (SELECT CASE WHEN h.step = 'dispatch' AND instr(h.note, ' → ') > 0
                THEN substr(h.note, instr(h.note, ' → ') + 3, 10) END
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
        strftime('%Y-%m-%dT%H:%M:%f', deadline,
            (julianday(before) - julianday(last_day)) || ' days') || '000+00:00' AS judged
    FROM judged
    WHERE before IS NOT NULL
        AND julianday(at) > julianday(deadline) + julianday(before) - julianday(last_day)
)
UPDATE submissions SET judged_deadline = (
    SELECT judged FROM late WHERE late.item = submissions.id ORDER BY step_id LIMIT 1)
WHERE id IN (SELECT item FROM late);

-- The indices' covering index reads the judged deadline instead of the unit's.
DROP INDEX ix_submissions_unit_indices;
CREATE INDEX ix_submissions_unit_indices ON submissions
    (dispatched_at, unit_id, sign_due, signed_at, judged_deadline, done_at, reopen_count,
     rating, rating_round)
    WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;

-- submissions.rating is the latest rated round's rating (未评价 apart): a rating stores it in
-- the same transaction; kept here by the database too, and set for earlier rows where only
-- the ratings table had it, so the indices read it from the item's row alone.
UPDATE submissions SET rating = (
    SELECT r.rating FROM ratings r WHERE r.submission_id = submissions.id
        AND r.rating != 'unrated' ORDER BY r.round DESC LIMIT 1)
WHERE rating IS NULL AND EXISTS (
    SELECT 1 FROM ratings r WHERE r.submission_id = submissions.id AND r.rating != 'unrated');
CREATE TRIGGER ratings_latest AFTER INSERT ON ratings
WHEN new.rating != 'unrated' AND NOT EXISTS (
    SELECT 1 FROM ratings r WHERE r.submission_id = new.submission_id
        AND r.round > new.round AND r.rating != 'unrated')
BEGIN
    UPDATE submissions SET rating = new.rating
    WHERE id = new.submission_id AND rating IS NOT new.rating;
END;

-- Per unit and UTC day of dispatch, the counts of the indices that do not depend on when
-- they are read (storage/indices.py sums a period's days and subtracts, from the few items
-- whose sign-for limit or deadline is still ahead, what depends on now), kept by triggers
-- as daily_counts (0007) is. unit_day_rows is one item's part: the triggers subtract it
-- before an update or delete (the row still old) and add it after an insert or update.
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
    CASE WHEN done_at >= dispatched_at
        THEN CAST(round((julianday(done_at) - julianday(dispatched_at)) * 86400000) AS INTEGER)
        ELSE 0 END AS done_ms,
    CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END AS rated,
    CASE WHEN rating IN ('satisfied', 'basically') THEN 1 ELSE 0 END AS satisfied
FROM submissions WHERE unit_id IS NOT NULL AND dispatched_at IS NOT NULL;

CREATE TABLE unit_days (
    day             TEXT NOT NULL,      -- UTC date of dispatched_at
    unit_id         TEXT NOT NULL,
    items           INTEGER NOT NULL,
    sign_all        INTEGER NOT NULL,   -- with a sign-for limit
    signed_in_time  INTEGER NOT NULL,
    done            INTEGER NOT NULL,   -- the office approved the unit's 办结 in this round
    due_all         INTEGER NOT NULL,   -- with a (judged) deadline
    done_in_time    INTEGER NOT NULL,
    solved          INTEGER NOT NULL,
    redone          INTEGER NOT NULL,
    done_ms         INTEGER NOT NULL,   -- milliseconds from dispatch to approval, done items
    rated           INTEGER NOT NULL,
    satisfied       INTEGER NOT NULL,
    PRIMARY KEY (day, unit_id)
) WITHOUT ROWID;

INSERT INTO unit_days
SELECT day, unit_id, COUNT(*), SUM(sign_all), SUM(signed_in_time), SUM(done), SUM(due_all),
    SUM(done_in_time), SUM(solved), SUM(redone), SUM(done_ms), SUM(rated), SUM(satisfied)
FROM unit_day_rows GROUP BY day, unit_id;

CREATE TRIGGER unit_days_insert AFTER INSERT ON submissions
WHEN new.unit_id IS NOT NULL AND new.dispatched_at IS NOT NULL
BEGIN
    INSERT INTO unit_days
    SELECT day, unit_id, 1, sign_all, signed_in_time, done, due_all, done_in_time, solved,
        redone, done_ms, rated, satisfied
    FROM unit_day_rows WHERE id = new.id
    ON CONFLICT (day, unit_id) DO UPDATE SET
        items = items + excluded.items,
        sign_all = sign_all + excluded.sign_all,
        signed_in_time = signed_in_time + excluded.signed_in_time,
        done = done + excluded.done,
        due_all = due_all + excluded.due_all,
        done_in_time = done_in_time + excluded.done_in_time,
        solved = solved + excluded.solved,
        redone = redone + excluded.redone,
        done_ms = done_ms + excluded.done_ms,
        rated = rated + excluded.rated,
        satisfied = satisfied + excluded.satisfied;
END;
CREATE TRIGGER unit_days_before_update BEFORE UPDATE OF unit_id, dispatched_at, sign_due,
    signed_at, judged_deadline, done_at, reopen_count, rating ON submissions
WHEN old.unit_id IS NOT NULL AND old.dispatched_at IS NOT NULL
BEGIN
    INSERT INTO unit_days
    SELECT day, unit_id, -1, -sign_all, -signed_in_time, -done, -due_all, -done_in_time,
        -solved, -redone, -done_ms, -rated, -satisfied
    FROM unit_day_rows WHERE id = old.id
    ON CONFLICT (day, unit_id) DO UPDATE SET
        items = items + excluded.items,
        sign_all = sign_all + excluded.sign_all,
        signed_in_time = signed_in_time + excluded.signed_in_time,
        done = done + excluded.done,
        due_all = due_all + excluded.due_all,
        done_in_time = done_in_time + excluded.done_in_time,
        solved = solved + excluded.solved,
        redone = redone + excluded.redone,
        done_ms = done_ms + excluded.done_ms,
        rated = rated + excluded.rated,
        satisfied = satisfied + excluded.satisfied;
END;
CREATE TRIGGER unit_days_update AFTER UPDATE OF unit_id, dispatched_at, sign_due,
    signed_at, judged_deadline, done_at, reopen_count, rating ON submissions
WHEN new.unit_id IS NOT NULL AND new.dispatched_at IS NOT NULL
BEGIN
    INSERT INTO unit_days
    SELECT day, unit_id, 1, sign_all, signed_in_time, done, due_all, done_in_time, solved,
        redone, done_ms, rated, satisfied
    FROM unit_day_rows WHERE id = new.id
    ON CONFLICT (day, unit_id) DO UPDATE SET
        items = items + excluded.items,
        sign_all = sign_all + excluded.sign_all,
        signed_in_time = signed_in_time + excluded.signed_in_time,
        done = done + excluded.done,
        due_all = due_all + excluded.due_all,
        done_in_time = done_in_time + excluded.done_in_time,
        solved = solved + excluded.solved,
        redone = redone + excluded.redone,
        done_ms = done_ms + excluded.done_ms,
        rated = rated + excluded.rated,
        satisfied = satisfied + excluded.satisfied;
END;
CREATE TRIGGER unit_days_delete BEFORE DELETE ON submissions
WHEN old.unit_id IS NOT NULL AND old.dispatched_at IS NOT NULL
BEGIN
    INSERT INTO unit_days
    SELECT day, unit_id, -1, -sign_all, -signed_in_time, -done, -due_all, -done_in_time,
        -solved, -redone, -done_ms, -rated, -satisfied
    FROM unit_day_rows WHERE id = old.id
    ON CONFLICT (day, unit_id) DO UPDATE SET
        items = items + excluded.items,
        sign_all = sign_all + excluded.sign_all,
        signed_in_time = signed_in_time + excluded.signed_in_time,
        done = done + excluded.done,
        due_all = due_all + excluded.due_all,
        done_in_time = done_in_time + excluded.done_in_time,
        solved = solved + excluded.solved,
        redone = redone + excluded.redone,
        done_ms = done_ms + excluded.done_ms,
        rated = rated + excluded.rated,
        satisfied = satisfied + excluded.satisfied;
END;

-- What depends on now is read from the items whose sign-for limit or (judged) deadline is
-- still ahead: unsigned ones by their limit, undone ones by their deadline.
CREATE INDEX ix_submissions_unsigned_due ON submissions (sign_due, dispatched_at, unit_id)
    WHERE signed_at IS NULL AND sign_due IS NOT NULL AND unit_id IS NOT NULL
        AND dispatched_at IS NOT NULL;
CREATE INDEX ix_submissions_undone_due ON submissions (judged_deadline, dispatched_at, unit_id)
    WHERE (done_at IS NULL OR done_at < dispatched_at) AND judged_deadline IS NOT NULL
        AND unit_id IS NOT NULL AND dispatched_at IS NOT NULL;
