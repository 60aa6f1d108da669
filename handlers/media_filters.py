"""Which messages carry what a resident may attach (the kinds
:func:`bot.transport.media.attachment_from_message` keeps): one filter for the resident
conversation (:mod:`handlers.resident`) and the answers to the office's questions
(:mod:`handlers.replies`), so that both accept the same."""

from __future__ import annotations

from telegram.ext import filters

MEDIA = (
    filters.PHOTO
    | filters.Document.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.LOCATION
)
