"""The domain core: the item records, the state machine, cards and notices, and one plain
async function for each action on an item (submitting, reviewing, handling, answering,
reporting), called the same way from a chat button, a typed reply, the web desk and a
scheduled job. Nothing here knows Telegram, the handlers or the web desk (the import
contract in pyproject.toml, checked by ./scripts/test)."""
