"""The desk's HTTP server: aiohttp.web in the bot's own event loop, started and stopped with
the application (``bot.app``), in polling and webhook mode alike.

Routes (under ``web.public_url``'s path, e.g. ``/desk``):

    GET  /                          entry: exchanges #tgWebAppData or #login=... (desk.js)
    POST /auth/telegram             {"init_data": ...} -> session cookie (JSON only)
    POST /auth/link                 {"token": ...}     -> session cookie (JSON only)
    GET  /queue                     the queue (filters, search, sorting, keyset pages)
    GET  /items/{n}                 one item
    GET  /items/{n}/files/{p}       an attachment, fetched from Telegram by the server
    POST /items/{n}/files/{p}/send  the attachment to the viewer's own chat with the bot
    POST /items/{n}/actions/{name}  an action on the item (web/actions.py)
    GET  /items/{n}/publish         公开's preview: the channel post (bot/core/publishing.py)
    POST /items/{n}/publish/confirm 确认发布 with the digest of the post previewed
    POST /items/{n}/publish/edit    编辑: the public summary; .../masking: the toggle
    POST /bulk                      the confirmation of a bulk action on ticked rows
    POST /bulk/apply                the bulk action, item by item (web/bulk.py)
    GET  /reports                   the /stats figures for a period, the ledger's form
    GET  /reports/chart.png         the period's chart
    GET  /reports/rates.png         the period's 通报 chart of the units' rates
    GET  /reports/ledger            the ledger (整改台账) as XLSX or CSV, period and filters
    POST /reports/ledger[/send]     the same from the reports page's form; or to one's chat
    POST /language, /logout         the viewer's language; end the session
    GET  /static/{name}, /healthz

Every request is authorised again from its session and the current configuration; every
POST needs the session's CSRF token (forms) or is JSON (login: no cross-site form can send
it), and a foreign Origin is refused. Every response carries a Content-Security-Policy
without inline script. The access log names the route, never a path with a token, a query
(search terms) or a user.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import web
from markupsafe import Markup
from telegram import Bot
from telegram.error import TelegramError

from bot import charts
from bot.anonymity import Secrets
from bot.config import LANGUAGES, Language, Settings
from bot.core import drafting, entering, indices, publishing, reporting, tasks
from bot.core.access import Action, Actor, Place, identify
from bot.core.env import Env
from bot.core.presenters import (
    kind_label,
    local_date,
    local_time,
    phase_label,
    status_label,
    topic_label,
)
from bot.core.records import Outgoing, Recipient
from bot.core.results import Result
from bot.core.workflow import Kind, Status, format_reference, office_targets
from bot.i18n import resolve_language, t, tn
from bot.tagging import Tagger, TopicMatch
from storage.desk import COUNT_CAP, SCAN_WINDOW, QueueFilter
from storage.repository import Clock, Repository, utc_now
from storage.web import Via
from web import bulk, initdata
from web import enter as enter_view
from web import item as item_view
from web import queue as queue_view
from web import reports as reports_view
from web.actions import ActionField, ActionRegistry, form_key, new_form_key, office_registry
from web.render import render, static_file
from web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    clear_cookie,
    cookie_token,
    csrf_ok,
    same_origin,
    set_cookie,
)
from web.tokens import new_csrf, new_token, token_hash
from web.viewer import Viewer, role_of

log = logging.getLogger(__name__)
access_log = logging.getLogger(f"{__name__}.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; script-src 'self'{script}; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'self' https://web.telegram.org"
)
# Files are never rendered as pages of the desk's origin.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
MAX_BODY = 64 * 1024
LEDGER_CHUNK = 256 * 1024
DOWNLOADS_AT_ONCE = 4


class DeskError(Exception):
    """An error page: HTTP status and the catalogue key of its explanation."""

    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


@dataclass
class Desk:
    """What the desk's handlers share."""

    settings: Settings
    repository: Repository
    secrets: Secrets
    bot: Bot
    clock: Clock = utc_now
    # After an action stored a new label (the topic model retrains), and after an action
    # queued messages (the outbox delivers them now rather than at its next run).
    learn: Callable[[], None] = field(default=lambda: None)
    deliver_soon: Callable[[], None] = field(default=lambda: None)
    # The topics to propose for a text (the bot's rules and model; None: the rules alone).
    propose: Callable[[str], Awaitable[list[TopicMatch]]] | None = None
    downloads: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(DOWNLOADS_AT_ONCE)
    )
    # One ledger at a time (each holds a thread and a file): the bot's own lock, so a
    # download and an /export take turns (on every worker: bot.services.SharedLock).
    exports: AbstractAsyncContextManager[None] = field(default_factory=asyncio.Lock)
    actions: ActionRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.actions = office_registry(self.core)

    @property
    def core(self) -> Env:
        """What the core functions run with, from the desk."""
        return Env(self.repository, self.settings, self.secrets, learn=self.learn)

    @property
    def prefix(self) -> str:
        return self.settings.web.path_prefix

    def url(self, path: str) -> str:
        return f"{self.prefix}{path}"

    def page(
        self,
        template: str,
        lang: Language,
        *,
        status: int = 200,
        session: Session | None = None,
        viewer: Viewer | None = None,
        **context: Any,
    ) -> web.Response:
        html = render(
            template,
            lang=lang,
            prefix=self.prefix,
            telegram_script=self.settings.web.telegram_script,
            csrf=session.stored.csrf if session else "",
            viewer=viewer,
            **context,
        )
        return web.Response(text=html, status=status, content_type="text/html")


DESK: web.AppKey[Desk] = web.AppKey("desk", Desk)
VIEWER: web.RequestKey[Viewer] = web.RequestKey("viewer", Viewer)


# ------------------------------------------------------------------------------ requests
def desk_of(request: web.Request) -> Desk:
    return request.app[DESK]


def guess_language(request: web.Request, desk: Desk) -> Language:
    """Before a session: the browser's first language, else the campaign's."""
    header = request.headers.get("Accept-Language", "")
    first = header.split(",", 1)[0].split(";", 1)[0].strip()
    return resolve_language(first or None, desk.settings.campaign.language)


async def session_of(request: web.Request) -> tuple[Session, Viewer]:
    """The request's session and viewer, or a 401 (no or expired session) / 403 (no longer
    allowed) error page."""
    desk = desk_of(request)
    token = cookie_token(request)
    if token is None:
        raise DeskError(401, "web.error.signin")
    hashed = token_hash(token)
    stored = await desk.repository.web_session(hashed)
    if stored is None:
        raise DeskError(401, "web.error.signin")
    role = role_of(desk.settings, stored.user_id)
    if role is None:
        raise DeskError(403, "web.error.not_allowed")
    viewer = Viewer(
        user_id=stored.user_id,
        role=role[0],
        unit_id=role[1],
        language=resolve_language(stored.language, desk.settings.campaign.language),
    )
    session = Session(hashed, stored)
    request[VIEWER] = viewer
    return session, viewer


async def posted(request: web.Request) -> tuple[Session, Viewer, dict[str, str]]:
    """A form POST of a signed-in viewer with the right CSRF token from the desk's origin."""
    desk = desk_of(request)
    if not same_origin(request, desk.settings.web):
        raise DeskError(403, "web.error.forged")
    session, viewer = await session_of(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not csrf_ok(session, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
        raise DeskError(403, "web.error.forged")
    return session, viewer, form


def local_path(desk: Desk, candidate: str | None) -> str:
    """A path of the desk to go back to (never another site)."""
    if candidate and candidate.startswith(desk.url("/")) and not candidate.startswith("//"):
        return candidate
    return desk.url("/queue")


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


# ------------------------------------------------------------------------------- sign-in
async def entry(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    return desk.page("entry.html", guess_language(request, desk))


async def _login_request(request: web.Request) -> tuple[Desk, Language, dict[str, Any] | None]:
    """A login's desk, language (the browser's, until the user is known) and JSON body;
    the body is None unless the request is JSON from the desk's own origin (no cross-site
    form can send JSON)."""
    desk = desk_of(request)
    lang = guess_language(request, desk)
    if request.content_type != "application/json" or not same_origin(request, desk.settings.web):
        return desk, lang, None
    try:
        body = await request.json()
    except ValueError:
        return desk, lang, None
    return desk, lang, body if isinstance(body, dict) else None


def _refused(lang: Language, status: int, key: str) -> web.Response:
    return web.json_response({"error": t(lang, key)}, status=status)


async def _open_session(
    request: web.Request,
    *,
    user_id: int,
    language: Language,
    via: Via,
    login: initdata.InitData | None = None,
) -> web.Response | None:
    """A new session and its cookie; None when ``login`` (Mini App login data) was already
    exchanged for one."""
    desk = desk_of(request)
    settings = desk.settings.web
    token = new_token()
    used_until = None
    if login is not None:
        used_until = login.auth_date + timedelta(seconds=settings.initdata_max_age)
    created = await desk.repository.create_web_session(
        token_hash(token),
        user_id=user_id,
        language=language,
        csrf=new_csrf(),
        via=via,
        expires_at=desk.clock() + timedelta(seconds=settings.session_max_age),
        initdata_hash=token_hash(login.hash) if login is not None else None,
        initdata_expires_at=used_until,
    )
    if not created:
        return None
    response = web.json_response({"next": desk.url("/queue")})
    set_cookie(response, request, token, settings)
    return response


async def _language_of(desk: Desk, user_id: int, telegram_code: str | None) -> Language:
    """The user's /lang choice, else their Telegram app's language, else the campaign's."""
    stored = await desk.repository.get_language(user_id)
    return resolve_language(stored or telegram_code, desk.settings.campaign.language)


async def auth_telegram(request: web.Request) -> web.StreamResponse:
    """Exchange Mini App login data (validated as Telegram documents it) for a session."""
    desk, lang, body = await _login_request(request)
    if body is None:
        return _refused(lang, 400, "web.error.bad_request")
    max_age = timedelta(seconds=desk.settings.web.initdata_max_age)
    try:
        data = initdata.validate(
            str(body.get("init_data") or ""),
            desk.settings.telegram.token.get_secret_value(),
            max_age=max_age,
            now=desk.clock(),
        )
    except initdata.ExpiredInitData:
        return _refused(lang, 403, "web.error.initdata_expired")
    except initdata.InvalidInitData as exc:
        log.info("desk sign-in refused: login data invalid (%s)", exc)
        return _refused(lang, 403, "web.error.initdata_invalid")
    lang = await _language_of(desk, data.user_id, data.language_code)
    if role_of(desk.settings, data.user_id) is None:
        return _refused(lang, 403, "web.error.not_allowed")
    # Opened again (new login data) while this browser still holds the user's session:
    # the session goes on, and the login data is used up all the same.
    token = cookie_token(request)
    if token is not None:
        stored = await desk.repository.web_session(token_hash(token))
        if stored is not None and stored.user_id == data.user_id:
            await desk.repository.use_initdata(
                token_hash(data.hash), expires_at=data.auth_date + max_age
            )
            return web.json_response({"next": desk.url("/queue")})
    response = await _open_session(
        request, user_id=data.user_id, language=lang, via="telegram", login=data
    )
    if response is None:
        return _refused(lang, 403, "web.error.initdata_used")
    return response


async def auth_link(request: web.Request) -> web.StreamResponse:
    """Exchange a one-time login link (sent by /web) for a session."""
    desk, lang, body = await _login_request(request)
    if body is None:
        return _refused(lang, 400, "web.error.bad_request")
    token = str(body.get("token") or "")
    found = await desk.repository.use_login_link(token_hash(token)) if token else None
    if found is None:
        return _refused(lang, 403, "web.error.link_invalid")
    user_id, language = found
    lang = resolve_language(language, desk.settings.campaign.language)
    if role_of(desk.settings, user_id) is None:
        return _refused(lang, 403, "web.error.not_allowed")
    response = await _open_session(request, user_id=user_id, language=lang, via="link")
    assert response is not None  # only login data can have been used before
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    session, viewer, _ = await posted(request)
    await desk.repository.end_web_session(session.token_hash)
    response = desk.page("signed_out.html", viewer.language)
    clear_cookie(response, desk.settings.web)
    return response


async def set_language(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    session, _, form = await posted(request)
    choice = form.get("lang", "")
    if choice in LANGUAGES:
        await desk.repository.set_web_session_language(session.token_hash, choice)
    return see_other(local_path(desk, form.get("next")))


# ---------------------------------------------------------------------------------- pages
async def queue(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    session, viewer = await session_of(request)
    lang = viewer.language
    settings = desk.settings
    asked = queue_view.parse(request.query, settings, lang, unit_id=viewer.queue_unit)
    now = desk.clock()
    page = await desk.repository.queue_page(
        asked.filter, cursor=asked.cursor, limit=queue_view.PAGE_SIZE, now=now
    )
    return desk.page(
        "queue.html",
        lang,
        session=session,
        viewer=viewer,
        path=request.path_qs,
        asked=asked,
        form=asked.form,
        rows=queue_view.rows(lang, settings, page, now),
        count=page.count,
        capped=page.count_capped,
        scanned_to=local_date(page.scanned_to, settings.campaign.tz) if page.scanned_to else "",
        cap=COUNT_CAP,
        scan_window=SCAN_WINDOW,
        next_link=asked.link(page.next) if page.next else None,
        previous_link=asked.link(page.previous) if page.previous else None,
        first_link=asked.link(None) if asked.cursor else None,
        statuses=[(s.value, status_label(lang, s)) for s in Status],
        kinds=[(k.value, kind_label(lang, k)) for k in Kind],
        topics=[(tp.id, tp.name(lang)) for tp in settings.topics],
        places=queue_view.place_options(lang, settings),
        units=bool(settings.units),
        unit_choices=queue_view.unit_options(lang, settings) if viewer.is_admin else [],
        bulk_actions=bulk.offered(desk.actions, viewer),
        chosen_on_confirm=bulk.CHOSEN_ON_CONFIRM,
        back_query=request.query_string,
        # The ledger of what the filter shows (the page's cursor aside).
        ledger_query=asked.link(None),
        reports=viewer.is_admin,
    )


# After a redirect: what the last form did (a file or a ledger sent to the viewer's chat,
# an action done or not), by the mark in the query.
NOTICES = (
    ("queued", "web.file.queued"),
    ("entered", "web.enter.done"),
    ("sent", "web.file.sent"),
    ("unsent", "web.file.not_sent"),
    ("done", "web.action.done"),
    ("failed", "web.action.failed"),
)


def _notice(lang: Language, query: Mapping[str, str]) -> str:
    return next((t(lang, key) for mark, key in NOTICES if mark in query), "")


async def _item_in_scope(request: web.Request, viewer: Viewer) -> Any:
    desk = desk_of(request)
    number = int(request.match_info["id"])
    found = await desk.repository.get_submission(number)
    # Out of the viewer's scope looks exactly like not there.
    if found is None or not viewer.may_see(found):
        raise DeskError(404, "web.error.not_found")
    return found


async def item(request: web.Request) -> web.StreamResponse:
    desk = desk_of(request)
    session, viewer = await session_of(request)
    lang = viewer.language
    settings = desk.settings
    found = await _item_in_scope(request, viewer)
    repo = desk.repository
    history = await repo.history(found.id)
    events = await repo.events(found.id)
    # Similar items may be any unit's: the office's view only.
    similar = await repo.similar(found, limit=5) if viewer.is_admin else []
    now = desk.clock()
    tz = settings.campaign.tz
    days = found.overdue_days(now)
    notice = _notice(lang, request.query)
    came_from = request.query.get("from", "")
    back = desk.url("/queue") + (f"?{came_from}" if came_from else "")
    return desk.page(
        "item.html",
        lang,
        session=session,
        viewer=viewer,
        path=request.path,
        back=back,
        item=found,
        reference=format_reference(found.id),
        kind=kind_label(lang, found.kind),
        topic=topic_label(lang, settings, found.topic_id),
        place=settings.place_index.label(lang, found.place_id),
        phase=phase_label(lang, settings, found.phase_id) if found.phase_id else "",
        status_text=status_label(lang, found.status),
        sender=item_view.sender(lang, found, office=viewer.is_admin),
        unit=tasks.unit_name(settings, lang, found.unit_id),
        unsigned=found.unsigned(now),
        created=local_time(found.created_at, tz),
        deadline=local_date(found.deadline, tz) if found.deadline else "",
        overdue=tn(lang, "web.overdue", days, days=days) if days else "",
        rating=t(lang, f"rating.{found.rating}") if found.rating else "",
        files=item_view.files(lang, found),
        places=item_view.places(found),
        instructions=item_view.instructions(lang, settings, events),
        timeline=item_view.timeline(lang, settings, history, events),
        similar=item_view.similar(lang, settings, similar),
        next_statuses=(", " if lang == "en" else "、").join(
            status_label(lang, s) for s in sorted(office_targets(found.status))
        ),
        actions=desk.actions.available(viewer, found),
        form_key=new_form_key(),
        notice=notice,
    )


def _attachment(found: Any, position: int) -> Any:
    if position >= len(found.attachments):
        raise DeskError(404, "web.error.not_found")
    attachment = found.attachments[position]
    if attachment.type == "location" or attachment.file_id is None:
        raise DeskError(404, "web.error.not_found")
    return attachment


async def item_file(request: web.Request) -> web.StreamResponse:
    """An attachment, fetched from Telegram through getFile by the server: the browser
    never sees a Telegram URL (they contain the bot token)."""
    desk = desk_of(request)
    _, viewer = await session_of(request)
    found = await _item_in_scope(request, viewer)
    attachment = _attachment(found, int(request.match_info["pos"]))
    if item_view.is_too_big(attachment):
        raise DeskError(409, "web.file.too_big")
    try:
        async with desk.downloads:
            remote = await desk.bot.get_file(attachment.file_id)
            data = bytes(await remote.download_as_bytearray())
    except TelegramError as exc:
        if "too big" in str(exc).lower():
            raise DeskError(409, "web.file.too_big") from None
        log.warning("desk: file of an item not fetched from Telegram: %s", exc)
        raise DeskError(502, "web.file.unavailable") from None
    mime = attachment.mime_type or ("image/jpeg" if attachment.type == "photo" else "")
    inline = mime in INLINE_TYPES
    name = attachment.file_name or f"{format_reference(found.id).lstrip('#')}-{attachment.type}"
    response = web.Response(body=data, content_type=mime if inline else "application/octet-stream")
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''" + _quote(name)
    response.headers["Content-Security-Policy"] = FILE_CSP
    return response


def _quote(name: str) -> str:
    return quote(name.replace("/", "_").replace("\\", "_"), safe="")


async def send_file(request: web.Request) -> web.StreamResponse:
    """Send an attachment to the viewer's own chat with the bot: the way to open a file
    too big for getFile (over 20 MB), and any file on a phone. Through the outbox, as every
    message the bot sends (retried, flood-limited, the office told if it cannot go); the
    form's key queues it once however often the form is sent."""
    desk = desk_of(request)
    _, viewer, form = await posted(request)
    found = await _item_in_scope(request, viewer)
    attachment = _attachment(found, int(request.match_info["pos"]))
    copy = Outgoing(
        chat_enc=desk.secrets.encrypt_int(viewer.user_id),
        text=format_reference(found.id),
        attachment=attachment,
        recipient=Recipient.ADMIN if viewer.is_admin else Recipient.UNIT,
    )
    await desk.repository.queue_messages([copy], submission_id=found.id, key=form_key(form))
    desk.deliver_soon()
    return see_other(desk.url(f"/items/{found.id}?queued=1"))


async def run_action(request: web.Request) -> web.StreamResponse:
    """An action on the item, through its core function (:mod:`web.actions`)."""
    desk = desk_of(request)
    _, viewer, form = await posted(request)
    found = await _item_in_scope(request, viewer)
    action = desk.actions.get(request.match_info["name"])
    where = desk.url(f"/items/{found.id}")
    if action is None:
        raise DeskError(404, "web.error.not_found")
    if action.name == Action.PUBLISH.value:  # never at once: the preview first
        return see_other(f"{where}/publish")
    if not action.available(viewer, found):
        key = form_key(form)
        if key is not None and await desk.repository.update_applied(key):
            return see_other(f"{where}?done=1")  # this very form, sent again: it was done
        raise DeskError(404, "web.error.not_found")
    outcome = await action.run(viewer, found, form)
    desk.deliver_soon()
    return see_other(f"{where}?{'done' if outcome.ok else 'failed'}=1")


# ------------------------------------------------------------------ publishing (preview)
SUMMARY = ActionField("summary", "web.form.summary", "textarea", required=True)


def _publisher(desk: Desk, viewer: Viewer) -> Actor:
    return identify(desk.settings, viewer.user_id, Place.WEB, language=viewer.language)


async def _publish_page(
    request: web.Request,
    session: Session,
    viewer: Viewer,
    shown: publishing.Preview | Result,
    *,
    status: int = 200,
) -> web.Response:
    """The channel post as the core previews it (or the core's refusal), with 确认发布
    carrying its digest, the masking toggle and the public summary's form."""
    desk = desk_of(request)
    found = await _item_in_scope(request, viewer)
    preview = shown if isinstance(shown, publishing.Preview) else None
    refusal = Markup(shown.message) if isinstance(shown, Result) else ""  # noqa: S704
    return desk.page(
        "publish_preview.html",
        viewer.language,
        status=status if preview else 409,
        session=session,
        viewer=viewer,
        path=request.path,
        item=found,
        reference=format_reference(found.id),
        # The core's post and note are Telegram's HTML subset, every user value escaped.
        post=Markup(preview.post) if preview else "",  # noqa: S704
        note=[Markup(line) for line in preview.note.split("\n")] if preview else [],  # noqa: S704
        digest=publishing.digest(preview.post) if preview else "",
        refusal=refusal,
        summary_field=SUMMARY,
        keys=(new_form_key(), new_form_key(), new_form_key()),
    )


async def publish_page(request: web.Request) -> web.StreamResponse:
    """公开's preview: exactly the post the channel will get (bot.core.publishing)."""
    desk = desk_of(request)
    session, viewer = await session_of(request)
    found = await _item_in_scope(request, viewer)
    shown = await publishing.preview(desk.core, _publisher(desk, viewer), found.id)
    return await _publish_page(request, session, viewer, shown)


async def publish_confirm(request: web.Request) -> web.StreamResponse:
    """确认发布: published if the post is still the one previewed (its digest), else the
    new preview with the core's note that it changed."""
    desk = desk_of(request)
    session, viewer, form = await posted(request)
    found = await _item_in_scope(request, viewer)
    where = desk.url(f"/items/{found.id}")
    key = form_key(form)
    if key is not None and await desk.repository.update_applied(key):
        return see_other(f"{where}?done=1")  # this very form, sent again: it was done
    actor = _publisher(desk, viewer)
    done = await publishing.confirm(desk.core, actor, found.id, form.get("digest", ""), key=key)
    desk.deliver_soon()
    if isinstance(done, publishing.Preview):
        return await _publish_page(request, session, viewer, done, status=409)
    if done.ok:
        return see_other(f"{where}?done=1")
    return await _publish_page(request, session, viewer, done)


async def publish_change(request: web.Request) -> web.StreamResponse:
    """编辑 (the public summary) or the masking toggle, then the new preview."""
    desk = desk_of(request)
    session, viewer, form = await posted(request)
    found = await _item_in_scope(request, viewer)
    actor = _publisher(desk, viewer)
    key = form_key(form)
    if request.match_info["what"] == "edit":
        text = form.get("summary", "").strip()[:3000]
        done = await publishing.edit(desk.core, actor, found.id, text, key=key)
    else:
        unmasked = form.get("unmasked") == "1"
        done = await publishing.set_masking(desk.core, actor, found.id, unmasked=unmasked, key=key)
    desk.deliver_soon()  # the cards show the summary
    if not done.ok:
        return await _publish_page(request, session, viewer, done)
    return see_other(desk.url(f"/items/{found.id}/publish"))


# --------------------------------------------------------------------------- bulk actions
async def _bulk_request(
    request: web.Request,
) -> tuple[Desk, Session, Viewer, dict[str, str], bulk.BulkRequest]:
    desk = desk_of(request)
    session, viewer, form = await posted(request)
    ticked = (await request.post()).getall(bulk.ITEM_FIELD, [])
    asked = bulk.read(
        viewer.language,
        bulk.offered(desk.actions, viewer),
        form,
        [value for value in ticked if isinstance(value, str)],
    )
    return desk, session, viewer, form, asked


def _queue_back(desk: Desk, form: dict[str, str]) -> str:
    """The queue as the clerk left it (its filter, from the form)."""
    came_from = form.get("from", "")[:2000]
    return desk.url("/queue") + (f"?{came_from}" if came_from else "")


async def bulk_preview(request: web.Request) -> web.StreamResponse:
    """The confirmation: the ticked items, whether the action fits each, and one button
    (a form with a new request key) that applies it."""
    desk, session, viewer, form, asked = await _bulk_request(request)
    lines = []
    if asked.action is not None and not asked.problems:
        lines = await bulk.preview(desk.repository, viewer, asked.action, asked.ids)
    return desk.page(
        "bulk.html",
        viewer.language,
        chosen_on_confirm=bulk.CHOSEN_ON_CONFIRM,
        status=400 if asked.problems else 200,
        session=session,
        viewer=viewer,
        path=desk.url("/queue"),
        asked=asked,
        preview=lines,
        possible=sum(1 for line in lines if line.possible),
        outcome=None,
        form_key=new_form_key(),
        came_from=form.get("from", "")[:2000],
        back=_queue_back(desk, form),
    )


async def bulk_apply(request: web.Request) -> web.StreamResponse:
    """The bulk action, item by item through the core; the outcome of each."""
    desk, session, viewer, form, asked = await _bulk_request(request)
    key = form_key(form)
    if asked.action is None or asked.problems or key is None:
        raise DeskError(400, "web.error.bad_request")
    outcome = await bulk.apply(desk.repository, viewer, asked.action, asked.ids, asked.values, key)
    desk.deliver_soon()  # the senders' notices and the cards' edits, now
    done = sum(1 for line in outcome if line.ok)
    return desk.page(
        "bulk.html",
        viewer.language,
        chosen_on_confirm=bulk.CHOSEN_ON_CONFIRM,
        session=session,
        viewer=viewer,
        path=desk.url("/queue"),
        asked=asked,
        preview=[],
        possible=0,
        outcome=outcome,
        done=done,
        refused=len(outcome) - done,
        form_key=key,
        came_from=form.get("from", "")[:2000],
        back=_queue_back(desk, form),
    )


# ------------------------------------------------------------------------ entering items
def _enter_page(
    desk: Desk,
    session: Session,
    viewer: Viewer,
    path: str,
    form: Mapping[str, str],
    problem: Markup | str = "",
    status: int = 200,
) -> web.Response:
    lang = viewer.language
    return desk.page(
        "new_item.html",
        lang,
        status=status,
        session=session,
        viewer=viewer,
        path=path,
        form={name: form.get(name, "") for name in enter_view.FIELDS},
        places=queue_view.place_options(lang, desk.settings),
        form_key=new_form_key(),
        problem=problem,
        **enter_view.choices(lang),
    )


async def enter_form(request: web.Request) -> web.StreamResponse:
    """The office's form for an item heard at a meeting, on the phone ... (the chat's
    /enter as a form)."""
    desk = desk_of(request)
    session, viewer = await session_of(request)
    _office_only(viewer)
    return _enter_page(desk, session, viewer, request.path, {})


async def enter_item(request: web.Request) -> web.StreamResponse:
    """Enter it through the same core function as /enter; its page after. The form's key
    makes a form sent twice one item."""
    desk = desk_of(request)
    session, viewer, form = await posted(request)
    _office_only(viewer)
    lang = viewer.language
    entry = enter_view.read(desk.settings, form)
    if isinstance(entry, str):
        sources = "、".join(label for _, label in enter_view.choices(lang)["sources"])
        problem = t(lang, entry, sources=sources)
        return _enter_page(desk, session, viewer, request.path, form, problem, status=400)
    matches = (
        await desk.propose(entry.text)
        if desk.propose
        else Tagger(desk.settings.topics).tag(entry.text)
    )
    actor = identify(desk.settings, viewer.user_id, Place.WEB, language=lang)
    result = await entering.enter(
        desk.core,
        actor,
        entry,
        chat_id=viewer.user_id,  # a named item's 回访 tasks: the clerk's own chat
        topic_id=matches[0].topic_id if matches else None,
        evidence=tuple(drafting.evidence_of(matches)),
        key=form_key(form),
    )
    if not result.ok or result.item is None:
        # The core's answer is Telegram's HTML subset, its values escaped.
        problem = Markup(result.message)  # noqa: S704
        return _enter_page(desk, session, viewer, request.path, form, problem, status=400)
    desk.deliver_soon()
    return see_other(desk.url(f"/items/{result.item.id}?entered=1"))


# -------------------------------------------------------------------------------- reports
def _office_only(viewer: Viewer) -> None:
    if not viewer.is_admin:  # the whole campaign's figures are the office's
        raise DeskError(404, "web.error.not_found")


async def _reports_viewer(request: web.Request) -> tuple[Desk, Session, Viewer]:
    desk = desk_of(request)
    session, viewer = await session_of(request)
    _office_only(viewer)
    return desk, session, viewer


async def reports_page(request: web.Request) -> web.StreamResponse:
    desk, session, viewer = await _reports_viewer(request)
    lang, settings = viewer.language, desk.settings
    span = reports_view.period(
        desk.core, request.query, lang, default_days=reporting.DEFAULT_STATS_DAYS
    )
    stats = await desk.repository.stats(start=span.start, end=span.end)
    counts = await indices.by_unit(desk.core, span.start, span.end)
    asked = queue_view.parse(request.query, settings, lang, unit_id=viewer.queue_unit)
    return desk.page(
        "reports.html",
        lang,
        session=session,
        viewer=viewer,
        path=request.path_qs,
        span=span,
        stats=reports_view.stats_view(lang, settings, stats),
        rates=reports_view.indices_view(lang, settings, counts),
        # The 通报's chart when any unit has enough items to be ranked (as the weekly summary).
        league=bool(indices.league(settings, counts)),
        chart_query=urlencode({"from": span.first.isoformat(), "to": span.last.isoformat()}),
        form=asked.form,
        statuses=[(s.value, status_label(lang, s)) for s in Status],
        kinds=[(k.value, kind_label(lang, k)) for k in Kind],
        topics=[(tp.id, tp.name(lang)) for tp in settings.topics],
        notice=_notice(lang, request.query),
    )


async def reports_chart(request: web.Request) -> web.StreamResponse:
    """The period's chart (items per day by topic, the status funnel), as /stats sends it."""
    desk, _, viewer = await _reports_viewer(request)
    span = reports_view.period(
        desk.core, request.query, viewer.language, default_days=reporting.DEFAULT_STATS_DAYS
    )
    png = await reporting.chart_png(desk.core, viewer.language, span.start, span.end)
    if png is None:  # no font or nothing to draw: the page says the figures all the same
        raise DeskError(404, "web.error.not_found")
    return web.Response(body=png, content_type="image/png")


async def reports_rates_chart(request: web.Request) -> web.StreamResponse:
    """The period's 通报 chart (each ranked unit's rates and the line), as the weekly summary
    sends it."""
    desk, _, viewer = await _reports_viewer(request)
    span = reports_view.period(
        desk.core, request.query, viewer.language, default_days=reporting.DEFAULT_STATS_DAYS
    )
    counts = await indices.by_unit(desk.core, span.start, span.end)
    data = indices.league_chart(viewer.language, desk.settings, counts, span.start, span.end)
    png = await asyncio.to_thread(charts.render_rates, data) if data is not None else None
    if png is None:  # nobody ranked, or no font: the table says the figures all the same
        raise DeskError(404, "web.error.not_found")
    return web.Response(body=png, content_type="image/png")


@dataclass(frozen=True)
class LedgerAsked:
    """A ledger asked for: the period, the queue's filter, XLSX or CSV."""

    span: reports_view.Period
    only: QueueFilter
    kind: str

    @property
    def name(self) -> str:
        return reports_view.ledger_name(self.span, self.kind)


async def _ledger_asked(desk: Desk, viewer: Viewer, params: Mapping[str, str]) -> LedgerAsked:
    lang = viewer.language
    kind = reports_view.CSV if params.get("format") == reports_view.CSV else reports_view.XLSX
    since = await reporting.first_day(desk.core)  # "everything": from the first item's day
    span = reports_view.period(desk.core, params, lang, default_days=None, since=since)
    asked = queue_view.parse(params, desk.settings, lang, unit_id=viewer.queue_unit)
    return LedgerAsked(span, replace(asked.filter, created_from=None, created_until=None), kind)


async def _write_ledger(desk: Desk, lang: Language, asked: LedgerAsked, target: BinaryIO) -> int:
    """The core's ledger file (anonymous senders as 匿名) into ``target``, off the event
    loop; one at a time with /export. Returns its row count."""
    async with desk.exports:
        return await reporting.ledger_file(
            desk.repository,
            desk.settings,
            lang,
            asked.span.start,
            asked.span.end,
            target,
            as_csv=asked.kind == reports_view.CSV,
            only=asked.only,
        )


async def reports_ledger(request: web.Request) -> web.StreamResponse:
    """The ledger of the items submitted in the period that match the queue's filters
    (a link of the queue: GET; the reports page's form: POST), written into a temporary
    file, then streamed to the browser."""
    if request.method == "POST":
        desk = desk_of(request)
        _, viewer, params = await posted(request)
        _office_only(viewer)
    else:
        desk, _, viewer = await _reports_viewer(request)
        params = dict(request.query)
    asked = await _ledger_asked(desk, viewer, params)
    with tempfile.TemporaryFile() as spool:
        await _write_ledger(desk, viewer.language, asked, spool)
        size = spool.tell()
        spool.seek(0)
        response = web.StreamResponse(
            headers={
                "Content-Type": reports_view.MEDIA_TYPES[asked.kind],
                "Content-Disposition": f"attachment; filename={asked.name}",
            }
        )
        response.content_length = size
        _secure(response, desk)
        await response.prepare(request)
        while chunk := await asyncio.to_thread(spool.read, LEDGER_CHUNK):
            await response.write(chunk)
        await response.write_eof()
    return response


async def send_ledger(request: web.Request) -> web.StreamResponse:
    """The same ledger sent to the viewer's own chat with the bot, as /export sends it:
    the way to get it on a phone, where a Mini App cannot always save a download."""
    desk = desk_of(request)
    _, viewer, params = await posted(request)
    _office_only(viewer)
    lang = viewer.language
    asked = await _ledger_asked(desk, viewer, params)
    back = desk.url("/reports?") + urlencode(
        {"from": asked.span.first.isoformat(), "to": asked.span.last.isoformat()}
    )
    with tempfile.TemporaryFile() as spool:
        count = await _write_ledger(desk, lang, asked, spool)
        spool.seek(0)
        caption = tn(
            lang, "export.caption", count, start=asked.span.first, end=asked.span.last, n=count
        )
        try:
            await desk.bot.send_document(
                viewer.user_id, spool, filename=asked.name, caption=caption
            )
        except TelegramError as exc:
            log.info("desk: ledger not sent to the viewer's chat: %s", exc)
            return see_other(f"{back}&unsent=1")
    return see_other(f"{back}&sent=1")


async def static(request: web.Request) -> web.StreamResponse:
    try:
        data, _ = static_file(request.match_info["name"])
    except KeyError:
        raise DeskError(404, "web.error.not_found") from None
    kind = "text/css" if request.match_info["name"].endswith(".css") else "text/javascript"
    response = web.Response(body=data, content_type=kind, charset="utf-8")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


# ---------------------------------------------------------------------------- middleware
@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Error pages, security headers and the access log, for every response."""
    desk = desk_of(request)
    started = time.perf_counter()
    response: web.StreamResponse
    try:
        response = await handler(request)
    except DeskError as exc:
        response = _error_page(request, desk, exc.status, exc.key)
    except web.HTTPException as exc:  # unknown path, wrong method, body too large ...
        key = {404: "web.error.not_found", 405: "web.error.not_found"}.get(
            exc.status, "web.error.bad_request"
        )
        response = _error_page(request, desk, exc.status, key)
    except Exception as exc:
        if desk.repository.disk.noticed(exc):  # a full disk: said once, waited out (#15.8)
            response = _error_page(request, desk, 503, "web.error.storage_full")
        else:
            log.exception("desk: %s %s failed", request.method, _route(request))
            response = _error_page(request, desk, 500, "web.error.internal")
    _secure(response, desk)
    access_log.info(
        "%s %s %s %.0fms",
        request.method,
        _route(request),
        response.status,
        (time.perf_counter() - started) * 1000,
    )
    return response


def _route(request: web.Request) -> str:
    """The route's pattern (``/items/{id}``), never the path itself (tokens, queries)."""
    info = request.match_info
    route = info.route if info is not None else None
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "-"


def _error_page(request: web.Request, desk: Desk, status: int, key: str) -> web.Response:
    viewer = request.get(VIEWER)
    lang = viewer.language if viewer is not None else guess_language(request, desk)
    return desk.page("error_page.html", lang, status=status, message_key=key)


def _secure(response: web.StreamResponse, desk: Desk) -> None:
    headers = response.headers
    script = desk.settings.web.telegram_script
    origin = ""
    if script:
        parts = urlsplit(script)
        origin = f" {parts.scheme}://{parts.netloc}"
    headers.setdefault("Content-Security-Policy", CSP.format(script=origin))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with
    # every POST, its own forms' too (the Fetch standard), which the Origin check refuses.
    # Other sites still get no referrer (item numbers, search words stay here).
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "no-store")


# ---------------------------------------------------------------------------- the server
def create_app(desk: Desk) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app[DESK] = desk
    p = desk.prefix
    app.router.add_get(f"{p}/", entry)
    app.router.add_post(f"{p}/auth/telegram", auth_telegram)
    app.router.add_post(f"{p}/auth/link", auth_link)
    app.router.add_get(f"{p}/queue", queue)
    app.router.add_get(f"{p}/enter", enter_form)
    app.router.add_post(f"{p}/enter", enter_item)
    app.router.add_get(p + r"/items/{id:[1-9][0-9]{0,17}}", item)
    app.router.add_get(p + r"/items/{id:[1-9][0-9]{0,17}}/files/{pos:[0-9]{1,3}}", item_file)
    app.router.add_post(p + r"/items/{id:[1-9][0-9]{0,17}}/files/{pos:[0-9]{1,3}}/send", send_file)
    app.router.add_post(p + r"/items/{id:[1-9][0-9]{0,17}}/actions/{name:[a-z_]{1,32}}", run_action)
    one = p + r"/items/{id:[1-9][0-9]{0,17}}"
    app.router.add_get(f"{one}/publish", publish_page)
    app.router.add_post(f"{one}/publish/confirm", publish_confirm)
    app.router.add_post(one + "/publish/{what:edit|masking}", publish_change)
    app.router.add_post(f"{p}/bulk", bulk_preview)
    app.router.add_post(f"{p}/bulk/apply", bulk_apply)
    app.router.add_get(f"{p}/reports", reports_page)
    app.router.add_get(f"{p}/reports/chart.png", reports_chart)
    app.router.add_get(f"{p}/reports/rates.png", reports_rates_chart)
    app.router.add_get(f"{p}/reports/ledger", reports_ledger)
    app.router.add_post(f"{p}/reports/ledger", reports_ledger)
    app.router.add_post(f"{p}/reports/ledger/send", send_ledger)
    app.router.add_post(f"{p}/language", set_language)
    app.router.add_post(f"{p}/logout", logout)
    app.router.add_get(p + r"/static/{name:[a-z.]{1,32}}", static)
    app.router.add_get(f"{p}/healthz", healthz)
    return app


class DeskServer:
    """The desk, listening on ``web.listen:web.port`` until :meth:`stop`."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.app = create_app(desk)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        settings = self.desk.settings.web
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=5)
        await runner.setup()
        site = web.TCPSite(runner, settings.listen, settings.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        log.info("web desk listening on %s:%s (%s)", settings.listen, self.port, self.base_url)

    @property
    def base_url(self) -> str:
        """Where users reach the desk: public_url, else the address it listens on."""
        web_settings = self.desk.settings.web
        if web_settings.public_url:
            return web_settings.public_url
        host = web_settings.listen
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
