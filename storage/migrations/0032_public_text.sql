-- 0032 (#17, point 10): what the channel post shows of the resident's text. public_text is
-- the summary a clerk wrote for publication (NULL: the text itself); the text stays as the
-- resident sent it, in the ledger. Personal data found in what is published is masked
-- unless a clerk chose, on the preview, to publish it as written (public_unmasked = 1).
ALTER TABLE submissions ADD COLUMN public_text TEXT;
ALTER TABLE submissions ADD COLUMN public_unmasked INTEGER NOT NULL DEFAULT 0;
