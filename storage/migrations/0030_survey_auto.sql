-- 0030 (#20): the satisfaction survey sent by itself at the end of a phase whose
-- [[campaign.phases]] entry says survey = true: each such round is recorded here in the
-- transaction that queues it, so it goes once however often the bot restarts.
CREATE TABLE survey_auto (
    round           TEXT PRIMARY KEY,   -- the phase's id
    sent_at         TEXT NOT NULL,
    recipients      INTEGER NOT NULL DEFAULT 0
);
