-- 0023 (#20): the residents' satisfaction survey (群众满意度测评), sent by /survey at the end
-- of a phase or of the campaign to everyone who submitted, named or anonymous, once.
-- A round is a phase's id, or 'campaign'. ``tag`` is tag(survey, person, round)
-- (bot.anonymity.Secrets.survey_tag): it says "this person was sent it, and answered these
-- questions", nothing else; it matches none of their items' tags. The answers themselves
-- are only counts, apart from any tag: nobody's answer can be traced to them or their items.
CREATE TABLE survey_recipients (
    round       TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (round, tag)
) WITHOUT ROWID;

CREATE TABLE survey_answered (
    round       TEXT NOT NULL,
    tag         TEXT NOT NULL,
    question    TEXT NOT NULL,
    PRIMARY KEY (round, tag, question)
) WITHOUT ROWID;

CREATE TABLE survey_counts (
    round       TEXT NOT NULL,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL CHECK (answer IN ('satisfied', 'basically', 'unsatisfied')),
    n           INTEGER NOT NULL,
    PRIMARY KEY (round, question, answer)
) WITHOUT ROWID;
