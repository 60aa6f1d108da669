"""The echo baseline as a webhook process of its own (for :mod:`bench.workers`): a bare
python-telegram-bot application answering each message and button press with one message
and a button, as :mod:`bench.sustained`'s echo does in process.

Usage: ``python -m bench.echo_worker PORT BASE_URL TOKEN SECRET``.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

from bench.sustained import echo


def main() -> None:
    port, base_url, token, secret = sys.argv[1:5]
    app = ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(64).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(echo))
    app.run_webhook(
        listen="127.0.0.1",
        port=int(port),
        url_path="hook",
        webhook_url="https://bench.example/hook",
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
    )


if __name__ == "__main__":
    main()
