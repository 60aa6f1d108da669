"""Getting updates in and messages out: the durable inbox, per-user ordering, the flood
limiter, the outbox's delivery with its typed outcomes, the HTTP client, conversation
persistence and attachments. Talks to Telegram; decides nothing about items."""
