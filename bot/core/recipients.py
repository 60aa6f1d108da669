"""Whom an outbox message was for, named for the office: in the warning about a message
that could not be delivered and in /failed ("the channel post of #13", not "the message to
the sender of #13" when it was the channel post).

Each message is queued with its :class:`~bot.core.records.Recipient` (a role, never a person).
Rows queued before migration 0016 carry none: their role is told from the chat they were
for (the configured channel, leading group, office chat, an administrator), else the
sender, whom every other notice went to.
"""

from __future__ import annotations

from bot.config import Language, RolesSettings
from bot.core.records import OutboxEntry, Recipient
from bot.i18n import t


def recipient_of(entry: OutboxEntry, chat_id: int | None, roles: RolesSettings) -> Recipient:
    """The role the message was for (``chat_id``: its chat, decrypted, if it can be)."""
    if entry.recipient is not None:
        return entry.recipient
    if entry.purpose == "channel_post" or (roles.channel_id and chat_id == roles.channel_id):
        return Recipient.CHANNEL
    if entry.purpose == "group_card" or (
        roles.leading_group_chat_id and chat_id == roles.leading_group_chat_id
    ):
        return Recipient.GROUP
    if roles.office_chat_id and chat_id == roles.office_chat_id:
        return Recipient.OFFICE
    if chat_id is not None and chat_id in roles.admin_ids:
        return Recipient.ADMIN
    return Recipient.SENDER


def recipient_label(lang: Language, recipient: Recipient) -> str:
    """The role as the office reads it: 提交人, 频道, 领导小组 ..."""
    return t(lang, f"recipient.{recipient.value}")
