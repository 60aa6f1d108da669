"""What a resident's message carries besides text: files by Telegram file id, or a
location; and sending one of them again to a chat (the office's /show, the web desk)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Bot, InputMediaPhoto, InputMediaVideo, Message

from bot.core.records import Attachment


def attachment_from_message(message: Message) -> Attachment | None:
    """The photo (largest size), document, voice note, audio, video or location, if any."""
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return Attachment(
            type="photo",
            file_id=best.file_id,
            file_unique_id=best.file_unique_id,
            file_size=best.file_size,
        )
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
                file_size=media.file_size,
            )
    return None


async def send_attachment(
    bot: Bot, chat_id: int, attachment: Attachment, *, caption: str
) -> Message | None:
    """Send a stored attachment to a chat by its file id (any size: unlike getFile,
    sending by file id has no 20 MB limit), or the location; the message sent (None: there
    was nothing to send)."""
    a = attachment
    if a.type == "location":
        if a.latitude is not None and a.longitude is not None:
            return await bot.send_location(chat_id, latitude=a.latitude, longitude=a.longitude)
        return None
    if a.file_id is None:
        return None
    if a.type == "photo":
        return await bot.send_photo(chat_id, a.file_id, caption=caption)
    if a.type == "document":
        return await bot.send_document(chat_id, a.file_id, caption=caption)
    if a.type == "voice":
        return await bot.send_voice(chat_id, a.file_id, caption=caption)
    if a.type == "audio":
        return await bot.send_audio(chat_id, a.file_id, caption=caption)
    if a.type == "video":
        return await bot.send_video(chat_id, a.file_id, caption=caption)
    if a.type == "video_note":
        return await bot.send_video_note(chat_id, a.file_id)
    return None


async def send_album(
    bot: Bot, chat_id: int, album: Sequence[Attachment], *, caption: str
) -> Message | None:
    """Send stored photos and videos again as one media group (Telegram: 2 to 10 of them),
    ``caption`` on the first; the group's first message (None: nothing to send)."""
    kept = [a for a in album if a.file_id is not None and a.type in ("photo", "video")]
    if len(kept) < 2:  # no group of one
        return await send_attachment(bot, chat_id, kept[0], caption=caption) if kept else None
    media: list[InputMediaPhoto | InputMediaVideo] = []
    for a in kept:
        assert a.file_id is not None
        first = caption if not media else None
        kind = InputMediaPhoto if a.type == "photo" else InputMediaVideo
        media.append(kind(a.file_id, caption=first))
    sent = await bot.send_media_group(chat_id, media)
    return sent[0]
