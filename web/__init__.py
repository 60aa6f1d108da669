"""The office's web desk: a dashboard served by the bot's own process (aiohttp.web), opened
inside Telegram as a Mini App or in a desktop browser through a one-time login link."""
