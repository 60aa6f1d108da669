"""What a resident's message carries besides text: files by Telegram file id, or a location."""

from __future__ import annotations

from telegram import Message

from bot.records import Attachment


def attachment_from_message(message: Message) -> Attachment | None:
    """The photo (largest size), document, voice note, audio, video or location, if any."""
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return Attachment(type="photo", file_id=best.file_id, file_unique_id=best.file_unique_id)
    if message.location is not None:
        return Attachment(
            type="location",
            latitude=message.location.latitude,
            longitude=message.location.longitude,
        )
    for kind in ("document", "voice", "audio", "video", "video_note"):
        media = getattr(message, kind)
        if media is not None:
            return Attachment(
                type=kind,
                file_id=media.file_id,
                file_unique_id=media.file_unique_id,
                file_name=getattr(media, "file_name", None),
                mime_type=getattr(media, "mime_type", None),
            )
    return None
