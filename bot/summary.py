"""The start-up summary (#21): what the bot runs with, and who is missing.

The same lines go to the log when ``run`` starts and to ``check-config``'s output: the
campaign, the files in use (absolute paths), the roles found (how many administrators,
which chats), the places and phases configured, and a warning for each missing role that
leaves a part of the workflow with nobody to do it. A bot started with no administrators
used to say nothing about it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from storage.health import DatabaseReport


def role_warnings(settings: Settings) -> list[str]:
    """One line per part of the workflow that nobody can do with these roles."""
    roles = settings.roles
    warnings = []
    if not roles.admin_ids:
        warnings.append(
            "no administrators (roles.admin_ids): nobody can review, answer, assign or publish "
            "the items residents send. Run `jindianzi setup`, or send /whoami to the bot and "
            "add your id"
        )
    if not roles.office_chat_id:
        warnings.append(
            "no office chat (roles.office_chat_id): new items are not announced, failed "
            "notices are not reported and the daily digest and weekly summary are not sent; "
            "administrators must ask with /review"
        )
    if not roles.leading_group_chat_id:
        warnings.append(
            "no leading group (roles.leading_group_chat_id): items cannot be passed to the "
            "leading group (领导小组) for instructions"
        )
    if not roles.channel_id:
        warnings.append(
            "no channel (roles.channel_id): responses cannot be published (公开), so residents "
            "never see other people's items answered"
        )
    if roles.office_chat_id and roles.office_chat_id == roles.leading_group_chat_id:
        warnings.append(
            "the office chat and the leading group are the same chat: every reply to an item's "
            "card there is recorded as the leading group's instruction"
        )
    for check in UNIT_CHECKS:
        warnings += check(settings)
    return warnings


# Checks of the units (承办单位) that add a warning. A unit with nobody to reach (no member,
# no chat) is refused by the configuration itself (bot.config, key by key), so none is
# needed today; the summary lists the units.
UNIT_CHECKS: list[Callable[[Settings], list[str]]] = []


def summary_lines(
    settings: Settings,
    *,
    config: Path | None,
    database: DatabaseReport | None = None,
    keys: str | None = None,
) -> list[str]:
    """What the bot runs with, one fact a line (no warnings: :func:`role_warnings`)."""
    roles = settings.roles
    has_token = bool(settings.telegram.token.get_secret_value())
    campaign = settings.campaign
    where = f"{config}" if config is not None and config.is_file() else "none (defaults)"
    lines = [
        f"campaign: {campaign.name} ({campaign.timezone}, {campaign.language})",
        f"configuration: {where}",
        f"database: {database.describe() if database else settings.storage.describe()}",
        f"anonymity keys: {keys or _keys(settings)}",
        f"token: {'set' if has_token else 'NOT SET (run needs it: JINDIANZI_TELEGRAM__TOKEN)'}",
        f"Bot API: {settings.telegram.base_url}",
        f"administrators: {len(roles.admin_ids)}"
        + (f" ({', '.join(map(str, roles.admin_ids))})" if roles.admin_ids else ""),
        f"office chat: {roles.office_chat_id or 'not configured'}",
        f"leading group: {roles.leading_group_chat_id or 'not configured'}",
        f"channel: {roles.channel_id or 'not configured'}",
        f"topics: {len(settings.topics)} (fallback: {settings.fallback_topic.id})",
        f"places: {_places(settings)}",
        f"phases: {_phases(settings)}",
        f"web desk: {_web(settings)}",
        f"units: {len(settings.units)}"
        + "".join(
            f"\n    {u.id}: {u.name('zh-Hans')}, chat {u.chat_id or '-'},"
            f" {len(u.member_ids)} member(s)"
            for u in settings.units
        ),
        f"deadlines: {settings.office.deadline_unit}, sign for within"
        f" {settings.office.sign_days}, rated within {settings.office.rating_days} days",
    ]
    return lines


def _places(settings: Settings) -> str:
    if not settings.places:
        return "none (no place is asked; posters need [[places]])"
    top = len(settings.place_index.children.get(None, []))
    return f"{len(settings.places)} ({top} at the top level)"


def _phases(settings: Settings) -> str:
    phases = settings.campaign.phases
    if not phases:
        return "none"
    today = dt.datetime.now(settings.campaign.tz).date()
    current = settings.campaign.phase_on(today)
    now = f"now {current.id}" if current is not None else "today is in none"
    return f"{len(phases)}, {phases[0].start} to {phases[-1].end}, {now}"


def _keys(settings: Settings) -> str:
    cfg = settings.anonymity
    if cfg.configured:
        return "the configuration (anonymity.hmac_key and anonymity.encryption_key)"
    return f"the key file {cfg.key_file}"


def _web(settings: Settings) -> str:
    web = settings.web
    if not web.enabled:
        return "off"
    public = web.public_url or "no public_url: no Mini App buttons, /web links to listen:port"
    return f"on, listening on {web.listen}:{web.port}, {public}"
