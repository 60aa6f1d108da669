-- 0036 (#19): the deadline 按时办结率 judges an item's round by. An extension approved
-- before the deadline moves it with the unit's deadline; one approved after moves only
-- the unit's deadline (the round was already late). Set by every 派单 and 重办
-- (bot.core.loop.handover) and by a timely approval (bot.core.loop.in_time).
ALTER TABLE submissions ADD COLUMN judged_deadline TEXT;  -- ISO date-time (UTC)

-- Existing rounds from their history: the round's approvals (steps after its dispatch)
-- in order; each one's previous deadline is the date of the approval before it, or the
-- date the note of the round's first step gives ("单位 → date" of its 派单; a 重办's
-- note has none: its first approval is taken as timely). The first approval made after its previous deadline fixes the judged deadline
-- there; without one it is the deadline. Dates in notes are the campaign's local dates and
-- deadlines the end of a local day, so a date's instant is the current deadline shifted
-- by whole days from the last approval's date.
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
