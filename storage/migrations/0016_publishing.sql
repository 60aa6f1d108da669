-- 0016 (#15.2): an item is published only once its channel post went out, and the office's
-- warnings name whom an undelivered message was for.

-- A message held until another one (of the same change) is delivered: what follows a
-- channel post ("your item is public", the admin's confirmation) waits for the post, and
-- is deleted unsent if the post fails for good.
ALTER TABLE outbox ADD COLUMN after_id INTEGER REFERENCES outbox (id);
CREATE INDEX ix_outbox_after ON outbox (after_id) WHERE after_id IS NOT NULL;
-- Whom the message is for, as a role ('sender', 'follower', 'office', 'admin', 'group',
-- 'channel'; never who): the warning about a failure names it. NULL for rows queued
-- before this migration (the role is then told from the chat: bot.core.recipients).
ALTER TABLE outbox ADD COLUMN recipient TEXT;
-- An item's channel posts, to settle a publication whose post's outcome is recorded
-- (bot.core.handling.settle_publishing).
CREATE INDEX ix_outbox_channel_post ON outbox (submission_id, id) WHERE purpose = 'channel_post';
