"""A Telegram Bot API stand-in for end-to-end tests: an aiohttp server on 127.0.0.1.

The real python-telegram-bot ``Application`` is built with ``base_url=stub.base_url`` and
``base_file_url=stub.base_file_url`` and long-polls the stand-in. The test pushes updates
(messages, button presses, edits), the stand-in records every call and every message the bot
sends or edits, and it answers like the real API, including the validation that catches bugs
before Telegram does: HTML Telegram would refuse (the stand-in is stricter about a bare ``&``),
texts over 4096 UTF-16 code units, captions over 1024, callback data over 64 bytes, malformed
inline keyboards, edits that change nothing, edits of messages that do not exist. Faults
(errors, 429 flood control, slow or dropped answers, blocked users) can be injected, and
Telegram's flood limits can be enforced (:meth:`FakeBotApi.enforce_flood_limits`).

Groups are seen as a bot in privacy mode sees them (Telegram's default): a group message
reaches the bot only if it is a command (``/cmd``, or ``/cmd@this_bot``; not one addressed
to another bot), a reply to one of the bot's messages, or mentions the bot's username;
anything else is kept in :attr:`FakeBotApi.withheld` and never delivered. A test of a bot
that is an administrator of its groups (which sees everything) turns
:attr:`FakeBotApi.privacy_mode` off. Channel posts (:meth:`FakeBotApi.post_in_channel`) reach
the bot as ``channel_post`` updates (it must be an administrator of the channel). A token
other than the stand-in's is answered 401 Unauthorized, ``getMe`` included.

How python-telegram-bot v22 sends requests (``telegram/request/_requestdata.py``): a POST whose
form fields are strings. String parameters are sent as they are; every other value (numbers,
booleans, lists, objects such as ``reply_markup``) is JSON-encoded. A text "123" and a chat id
123 therefore look the same on the wire, so parameters are decoded by name, not by shape
(:data:`STRING_PARAMS`). Uploads make the request ``multipart/form-data``: a single file is a
part named after its parameter (``photo``) with no form field of that name; files inside
``media`` are referenced as ``attach://<random name>``. Both are given to the test as
:class:`Upload`. JSON bodies are accepted too (string values decoded by the same rules).

Everything runs on the test's event loop: the recorded lists may be read at any time and the
waiting helpers wake as soon as the bot's request has been answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

JsonDict = dict[str, Any]

MAX_TEXT = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
MAX_CALLBACK_ANSWER = 200
# Telegram's answer to a second answerCallbackQuery for one query (or one that is too old).
STALE_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MAX_BUTTONS = 100
GETFILE_LIMIT = 20 * 1024 * 1024  # bots download files up to 20 MB

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

# Parameters whose values are strings in the Bot API. They are never JSON-decoded, even when
# they look like numbers or booleans; every other form value is decoded when it is valid JSON.
STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id",
        "business_connection_id", "url", "title", "description", "short_description", "name",
        "emoji", "action", "photo", "document", "voice", "audio", "video", "video_note",
        "animation", "sticker", "thumbnail", "cover", "phone_number", "first_name", "last_name",
        "vcard", "address", "foursquare_id", "foursquare_type", "google_place_id",
        "google_place_type", "question", "explanation", "custom_emoji_id", "language_code",
        "message_effect_id", "secret_token", "ip_address", "performer", "file_id", "query",
        "inline_query_id", "payload", "provider_token", "currency", "start_parameter",
        "certificate", "invite_link", "sticker_set_name", "format", "emoji_list",
        "shipping_query_id", "pre_checkout_query_id", "error_message", "web_app_query_id",
    }
)  # fmt: skip

# Update types Telegram sends when allowed_updates was never given (or given empty).
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_MEDIA_OF = {
    "sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice",
    "sendAudio": "audio", "sendVideo": "video", "sendVideoNote": "video_note",
    "sendAnimation": "animation", "sendSticker": "sticker",
}  # fmt: skip
_SEND_METHODS = frozenset(
    {*_MEDIA_OF, "sendMessage", "sendLocation", "sendVenue", "sendContact", "sendMediaGroup",
     "copyMessage", "forwardMessage"}
)  # fmt: skip
_EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
_TRUE_METHODS = frozenset(
    {
        "deleteWebhook", "setMyCommands", "deleteMyCommands", "setChatMenuButton", "close",
        "logOut", "setMyDescription", "setMyShortDescription", "setMyName",
        "setMessageReaction", "setMyDefaultAdministratorRights",
    }
)  # fmt: skip
_BUTTON_ACTIONS = (
    "callback_data", "url", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
    "pay", "web_app", "copy_text",
)  # fmt: skip
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_ALBUM_TYPES = frozenset({"photo", "video", "document", "audio"})
_CONTENT_KEYS = (
    "text", "entities", "photo", "document", "voice", "audio", "video", "video_note",
    "animation", "sticker", "location", "venue", "contact", "caption", "caption_entities",
)  # fmt: skip


# ---------------------------------------------------------------------------------------- text
class ApiError(Exception):
    """An answer with ``ok: false``."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote",
}  # fmt: skip
_TAGS = frozenset({*_SIMPLE_TAGS, "a", "span", "tg-emoji"})
_CHAR_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n\f"


def _entity_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _char_entity(source: str, i: int) -> tuple[str, int] | None:
    """The character ``&...;`` at ``i`` stands for, and the index after it."""
    match = _CHAR_ENTITY.match(source, i)
    if match is None:
        return None
    if match[1]:
        return _NAMED[match[1]], match.end()
    code = int(match[2], 10) if match[2] else int(match[3], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the plain text
    entity: JsonDict | None


def parse_html_entities(source: str) -> tuple[str, list[JsonDict]]:
    """Plain text and message entities for ``source`` sent with ``parse_mode=HTML``, following
    Telegram's parser (tdlib ``parse_html``), or :class:`ApiError` where it would refuse.

    Stricter than Telegram on one point: an ``&`` that does not start ``&lt;``, ``&gt;``,
    ``&amp;``, ``&quot;`` or a numeric reference (with its ``;``) is refused, where Telegram
    would show it as it is. That catches text inserted without escaping.
    """
    out: list[str] = []
    units = 0  # UTF-16 length of "".join(out)
    entities: list[JsonDict] = []
    stack: list[_OpenTag] = []
    size = len(source)

    def byte_offset(index: int) -> int:
        return len(source[:index].encode())

    def emit(text: str) -> None:
        nonlocal units
        out.append(text)
        units += utf16_len(text)

    i = 0
    while i < size:
        ch = source[i]
        if ch == "&":
            decoded = _char_entity(source, i)
            if decoded is None:
                raise _entity_error(
                    f"Character '&' at byte offset {byte_offset(i)} does not begin a valid "
                    "entity (write &amp;)"
                )
            emit(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            emit(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < size and source[i] == "/":  # an end tag
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            j = i + 1
            while j < size and source[j] not in _SPACE and source[j] != ">":
                j += 1
            end_name = source[i + 1 : j]
            while j < size and source[j] in _SPACE:
                j += 1
            if j >= size or source[j] != ">":
                raise _entity_error(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            top = stack[-1]
            if end_name and end_name != top.name:
                raise _entity_error(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, expected "
                    f'"</{top.name}>", found "</{end_name}>"'
                )
            stack.pop()
            if top.entity is not None and units > top.start:
                closed = {**top.entity, "offset": top.start, "length": units - top.start}
                if closed["type"] == "pre" and entities and _is_code_inside(entities[-1], closed):
                    language = entities.pop().get("language")
                    if language:
                        closed["language"] = language
                entities.append(closed)
            i = j + 1
            continue
        # a start tag
        j = i
        while j < size and source[j] not in _SPACE and source[j] != ">":
            j += 1
        if j >= size:
            raise _entity_error(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = source[i:j].lower()
        if name not in _TAGS:
            raise _entity_error(
                f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}'
            )
        attributes: dict[str, str] = {}
        while True:
            while j < size and source[j] in _SPACE:
                j += 1
            if j >= size:
                raise _entity_error(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if source[j] == ">":
                break
            k = j
            while k < size and source[k] not in _SPACE and source[k] not in "=>":
                k += 1
            attribute = source[j:k].lower()
            if not attribute:
                raise _entity_error(
                    f'Empty attribute name in the tag "{name}" at byte offset {byte_offset(begin)}'
                )
            while k < size and source[k] in _SPACE:
                k += 1
            if k >= size or source[k] != "=":
                if name == "blockquote" and attribute == "expandable":
                    attributes[attribute] = ""
                    j = k
                    continue
                raise _entity_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {byte_offset(begin)}"
                )
            k += 1
            while k < size and source[k] in _SPACE:
                k += 1
            if k >= size:
                raise _entity_error(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if source[k] in "\"'":
                quote = source[k]
                end = source.find(quote, k + 1)
                if end < 0:
                    raise _entity_error(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                value = html.unescape(source[k + 1 : end])
                j = end + 1
            else:
                m = k
                while m < size and (source[m].isalnum() or source[m] in ".-"):
                    m += 1
                if m < size and source[m] not in _SPACE and source[m] != ">":
                    raise _entity_error(f"Unexpected end of name token at byte offset {m}")
                value = source[k:m].lower()
                j = m
            attributes[attribute] = value
        entity: JsonDict | None
        if name in _SIMPLE_TAGS:
            entity = {"type": _SIMPLE_TAGS[name]}
            if name == "blockquote" and "expandable" in attributes:
                entity["type"] = "expandable_blockquote"
            if name == "code" and attributes.get("class", "").startswith("language-"):
                entity["language"] = attributes["class"].removeprefix("language-")
        elif name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise _entity_error(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            entity = {"type": "spoiler"}
        elif name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise _entity_error(
                    f'Tag "tg-emoji" must have a numeric attribute "emoji-id" at byte offset '
                    f"{byte_offset(begin)}"
                )
            entity = {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        else:  # a
            href = attributes.get("href")
            entity = {"type": "text_link", "url": href} if href else None
        stack.append(_OpenTag(name, units, entity))
        i = j + 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _is_code_inside(code: JsonDict, pre: JsonDict) -> bool:
    """``<pre><code class="language-x">`` is one pre entity with a language."""
    return bool(
        code["type"] == "code"
        and code["offset"] == pre["offset"]
        and code["length"] == pre["length"]
    )


def parse_html(source: str) -> str:
    """The plain text Telegram would show for ``source``; :class:`ApiError` where it refuses."""
    return parse_html_entities(source)[0]


# ------------------------------------------------------------------------------- the records
@dataclass(frozen=True)
class FakeUser:
    """A Telegram user talking to the bot."""

    id: int
    first_name: str = "测试"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"

    def as_json(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass
class SentMessage:
    """A message the bot sent or edited, as the stand-in recorded it: one per call (one per
    album item for ``sendMediaGroup``), appended to :attr:`FakeBotApi.sent`.

    ``text`` is the text or caption as sent (the HTML source; after an edit of the keyboard
    alone, the message's current text). ``reply_markup`` is the markup as sent (inline
    keyboard, ForceReply, ...), else the message's current keyboard. ``params`` holds every
    decoded parameter of the call; ``seq`` orders all records.
    """

    method: str
    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: JsonDict | None
    params: JsonDict
    seq: int

    @property
    def plain(self) -> str:
        """What the user sees: HTML tags removed and character references decoded."""
        if self.text is None:
            return ""
        if (self.parse_mode or "").upper() == "HTML":
            return parse_html(self.text)
        return self.text

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """``(text, callback_data)`` of each inline button, row by row (``url`` for links)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            (str(b.get("text", "")), str(b.get("callback_data") or b.get("url") or ""))
            for row in rows
            for b in row
        ]

    def button_data(self, label_contains: str) -> str:
        """callback_data of the first button whose text contains ``label_contains``."""
        for label, data in self.buttons:
            if label_contains in label:
                return data
        raise AssertionError(
            f"no button containing {label_contains!r} on message {self.message_id} "
            f"({self.plain[:60]!r}); buttons: {self.buttons}"
        )


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (multipart), as received."""

    filename: str
    content: bytes
    content_type: str | None = None


@dataclass
class ApiCall:
    """One request and the stand-in's answer (``status`` 0: the connection was dropped)."""

    method: str
    params: JsonDict
    status: int
    response: JsonDict


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    delay: float = 0.0
    drop: bool = False
    chat_id: int | None = None  # only calls addressed to this chat
    raw: bytes | None = None  # answered with these bytes as they are (status 200)


@dataclass
class _Stored:
    message: JsonDict  # the Message object as Telegram would return it
    source: str | None  # text or caption as sent (HTML source)
    parse_mode: str | None


@dataclass
class _Chat:
    next_id: int = 1
    messages: dict[int, _Stored] = field(default_factory=dict)


@dataclass
class _Pending:
    update: JsonDict
    again: bool = False  # a repeat of a confirmed update: delivered once whatever the offset
    forced: bool = False  # delivered whatever allowed_updates says (future update types)


@dataclass
class FloodControl:
    """Telegram's flood limits as sliding windows over the sends that were let through."""

    overall_per_second: int
    private_per_second: int
    group_per_minute: int
    group_period: float = 60.0  # (Telegram's minute; shorter in a test of several windows)
    accepted: list[tuple[float, int]] = field(default_factory=list)  # (arrival, chat id)
    refused: list[tuple[float, str, int, str]] = field(default_factory=list)  # + method, why

    def check(self, method: str, raw_chat: Any, now: float) -> ApiError | None:
        """None if the send may go through (it is then counted), else the 429 to answer."""
        chat = _int(raw_chat, 0)
        limits = [("overall", self.overall_per_second, 1.0, self.accepted)]
        if chat > 0:
            same = [a for a in self.accepted if a[1] == chat]
            limits.append(("private chat", self.private_per_second, 1.0, same))
        elif chat < 0:
            same = [a for a in self.accepted if a[1] == chat]
            limits.append(("group", self.group_per_minute, self.group_period, same))
        for why, limit, period, seen in limits:
            inside = [t for t, _ in seen if now - t < period]
            if len(inside) >= limit:
                retry_after = max(1, int(inside[-limit] + period - now + 0.999))
                self.refused.append((now, method, chat, why))
                return ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        self.accepted.append((now, chat))
        return None

    def max_in_window(self, period: float, chat: int | None = None) -> int:
        """The most accepted sends (to ``chat``, or all) inside any window of ``period``."""
        times = [t for t, c in self.accepted if chat is None or c == chat]
        best = 0
        start = 0
        for end, t in enumerate(times):
            while t - times[start] >= period:
                start += 1
            best = max(best, end - start + 1)
        return best


# Lasting misbehaviours of the answers to one chat's sends and edits (or to getUpdates):
# "garbled": delivered, but the answer's Message has a field of the wrong type (python-
#   telegram-bot cannot build it: a TypeError, as after an API change it does not know);
# "not_json": delivered, answered 200 with an HTML page (a proxy's), which the library
#   reports as TelegramError("Invalid server response");
# "hang": delivered, the answer never comes (the client's read timeout ends the request);
# "close": delivered, then the connection is closed without an answer;
# "error_500": not delivered, answered 500 Internal Server Error.
Misbehaviour = Literal["garbled", "not_json", "hang", "close", "error_500"]
NOT_JSON_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _gone(request: web.Request) -> bool:
    """Whether the client closed the connection."""
    return request.transport is None or request.transport.is_closing()


def _garbled(item: Any) -> Any:
    """A message (or the message of an update) whose ``date`` is not a number."""
    if not isinstance(item, dict):
        return item
    inner = next((k for k in ("message", "edited_message") if isinstance(item.get(k), dict)), "")
    if inner:
        return {**item, inner: _garbled(item[inner])}
    return {**item, "date": "now"}


def _update_type(update: JsonDict) -> str:
    return next((key for key in update if key != "update_id"), "")


# --------------------------------------------------------------------------------- the server
class FakeBotApi:
    """The stand-in. ``async with FakeBotApi() as api:`` starts and stops it."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        username: str = "jindianzi_test_bot",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "金点子",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.port = port  # 0: any free port, chosen at start()
        self.calls: list[ApiCall] = []  # every request, in the order they were answered
        self.sent: list[SentMessage] = []
        self.errors: list[ApiCall] = []
        self.answered_callbacks: list[JsonDict] = []
        self._answered_queries: set[str] = set()
        self.channels: set[int] = set()  # chat ids to present as channels, not supergroups
        self.files: dict[str, bytes] = {}  # file_id -> content served by getFile/downloads
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}  # (scope, language) -> list
        self.menu_buttons: dict[int | None, JsonDict] = {}  # chat id (None: default) -> button
        self._pending: list[_Pending] = []
        self._delivered: dict[int, JsonDict] = {}
        self._fetched: set[int] = set()
        self._highest_offset = 0
        self._allowed_updates: frozenset[str] | None = None
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._chats: dict[int, _Chat] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._misbehaviours: dict[int | str, Misbehaviour] = {}
        self._hung = asyncio.Event()  # set at stop: releases the answers that "hang"
        self._blocked: set[int] = set()
        self._users: dict[int, FakeUser] = {}
        self._known_files: set[str] = set()
        # Replaced (after being set) whenever something happens, so waiters never miss a wake-up.
        self._updates_event = asyncio.Event()
        self._activity_event = asyncio.Event()
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.flood: FloodControl | None = None
        self.webhook: JsonDict | None = None  # the parameters of the last setWebhook
        self.webhook_calls: list[JsonDict] = []
        self.privacy_mode = True  # see the module's docstring
        self.withheld: list[JsonDict] = []  # group messages a bot in privacy mode never sees

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._closing = False
        self._hung = asyncio.Event()

    async def stop(self) -> None:
        self._closing = True
        self._hung.set()
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --------------------------------------------------------------------------- updates in
    def push(self, update_body: JsonDict) -> int:
        """Queue an update (``update_body`` without ``update_id``, e.g. ``{"message": {...}}``)
        and wake the bot's long poll. Returns the update_id given to it."""
        assert "update_id" not in update_body, "push() assigns the update_id"
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **update_body}
        self._pending.append(_Pending(update))
        self._delivered[update_id] = update
        self._wake_pollers()
        return update_id

    def delivered(self, update_id: int) -> JsonDict:
        """The JSON of an update given out before (e.g. to plant it in the bot's inbox)."""
        return dict(self._delivered[update_id])

    def push_unfiltered(self, update_body: JsonDict) -> int:
        """Like :meth:`push`, but delivered even if its type is not in the bot's
        ``allowed_updates``: an update type a newer Bot API might send that the bot's
        library does not know yet."""
        update_id = self.push(update_body)
        for pending in self._pending:
            if pending.update["update_id"] == update_id:
                pending.forced = True
        return update_id

    def take_pending(self) -> list[JsonDict]:
        """The updates queued and not yet delivered, taken out of the queue in order: for a
        test that delivers them itself, as Telegram does to a webhook."""
        taken, self._pending = [pending.update for pending in self._pending], []
        return taken

    def deliver_again(self, update_id: int) -> None:
        """Queue an update that was already delivered once more, with the same id (as Telegram
        does when it did not see the confirmation); it comes once, after what is queued."""
        self._pending.append(_Pending(self._delivered[update_id], again=True))
        self._wake_pollers()

    def next_message_id(self, chat_id: int) -> int:
        """Take the next message id of ``chat_id`` (ids increase per chat, shared by the
        messages of the bot and of the users)."""
        chat = self._chat(chat_id)
        message_id = chat.next_id
        chat.next_id += 1
        return message_id

    def send_text(self, user: FakeUser, text: str) -> int:
        """A private-chat text from ``user`` (a ``bot_command`` entity for ``/command``)."""
        return self._push_message(user, user.id, self._text_content(text), source=text)

    def send_garbled_text(self, user: FakeUser, text: str) -> int:
        """Like :meth:`send_text`, but the update's message has a ``date`` that is not a
        number: python-telegram-bot cannot build the update."""
        update_id = self.send_text(user, text)
        pending = next(p for p in self._pending if p.update["update_id"] == update_id)
        pending.update = self._delivered[update_id] = _garbled(pending.update)
        return update_id

    def send_group_text(
        self, user: FakeUser, chat_id: int, text: str, *, reply_to: SentMessage | None = None
    ) -> int | None:
        """A text from ``user`` in the group ``chat_id`` (a supergroup), maybe a reply; its
        update id, or None when a bot in privacy mode would not see it (:attr:`withheld`).
        A mention of the bot (``@its_name``) carries its ``mention`` entity."""
        content = self._text_content(text)
        if reply_to is not None:
            content["reply_to_message"] = self._reply_target(chat_id, reply_to.message_id)
        mention = "@" + str(self.bot_user["username"])
        at = text.find(mention)
        if at >= 0:
            entity = {"type": "mention", "offset": utf16_len(text[:at]), "length": len(mention)}
            content["entities"] = [*content.get("entities", []), entity]
        update_id = self._push_message(user, chat_id, content, source=text)
        return update_id or None

    def send_chat_photo(
        self,
        user: FakeUser,
        chat_id: int,
        *,
        caption: str | None = None,
        file_id: str = "PHOTO1",
        reply_to: SentMessage | None = None,
    ) -> int:
        """A photo from ``user`` in the chat ``chat_id`` (a group, or their private chat), maybe
        a reply."""
        self._known_files.update({file_id, f"{file_id}-small"})
        content: JsonDict = {"photo": _photo_sizes(file_id)}
        if caption is not None:
            content["caption"] = caption
        if reply_to is not None:
            content["reply_to_message"] = self._reply_target(chat_id, reply_to.message_id)
        return self._push_message(user, chat_id, content, source=caption)

    def _addressed(self, text: str, content: JsonDict) -> bool:
        """Whether a bot in privacy mode receives this group message."""
        username = str(self.bot_user["username"]).lower()
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            _, at, addressee = command.partition("@")
            return not at or addressee.lower() == username
        replied = content.get("reply_to_message")
        if isinstance(replied, dict) and replied.get("from", {}).get("id") == self.bot_user["id"]:
            return True
        return f"@{username}" in text.lower()

    def post_in_channel(self, chat_id: int, text: str) -> int:
        """A post in the channel ``chat_id`` (made a channel here) by one of its
        administrators: a ``channel_post`` update, as the bot gets it when it is an
        administrator of the channel."""
        self.channels.add(chat_id)
        chat = self._chat_json(chat_id)
        post: JsonDict = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": chat,
            **self._text_content(text),
        }
        self._chat(chat_id).messages[post["message_id"]] = _Stored(post, text, None)
        return self.push({"channel_post": post})

    def send_reply(self, user: FakeUser, to: SentMessage, text: str) -> int:
        """``user`` replies with ``text`` to the bot's message ``to``, in that message's chat."""
        content = self._text_content(text)
        content["reply_to_message"] = self._reply_target(to.chat_id, to.message_id)
        return self._push_message(user, to.chat_id, content, source=text)

    def send_photo(
        self,
        user: FakeUser,
        *,
        caption: str | None = None,
        file_id: str = "PHOTO1",
        reply_to: SentMessage | None = None,
    ) -> int:
        """A photo (two sizes, the larger last, as Telegram sends them); with ``reply_to``,
        a reply to that bot message, in its chat."""
        self._known_files.update({file_id, f"{file_id}-small"})
        content: JsonDict = {"photo": _photo_sizes(file_id)}
        if caption is not None:
            content["caption"] = caption
        return self._push_media(user, content, reply_to, source=caption)

    def _push_media(
        self, user: FakeUser, content: JsonDict, reply_to: SentMessage | None, source: str | None
    ) -> int:
        """A message with a file, in the private chat, or replying to ``reply_to`` in its
        chat (a reply to the bot: privacy mode lets it through)."""
        if reply_to is None:
            return self._push_message(user, user.id, content, source=source)
        content["reply_to_message"] = self._reply_target(reply_to.chat_id, reply_to.message_id)
        return self._push_message(user, reply_to.chat_id, content, source=source)

    def send_document(
        self,
        user: FakeUser,
        *,
        file_name: str = "a.pdf",
        mime_type: str = "application/pdf",
        file_id: str = "DOC1",
        caption: str | None = None,
    ) -> int:
        self._known_files.add(file_id)
        content: JsonDict = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(self.files.get(file_id, b"")) or 12345,
            }
        }
        if caption is not None:
            content["caption"] = caption
        return self._push_message(user, user.id, content, source=caption)

    def send_voice(
        self,
        user: FakeUser,
        *,
        file_id: str = "VOICE1",
        duration: int = 3,
        reply_to: SentMessage | None = None,
    ) -> int:
        self._known_files.add(file_id)
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._push_media(user, {"voice": voice}, reply_to, source=None)

    def send_location(self, user: FakeUser, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self._push_message(user, user.id, {"location": location})

    def send_sticker(self, user: FakeUser, *, file_id: str = "STICKER1") -> int:
        self._known_files.add(file_id)
        sticker = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._push_message(user, user.id, {"sticker": sticker})

    def send_contact(self, user: FakeUser) -> int:
        """``user`` shares their own contact."""
        contact = {
            "phone_number": "+8613800000000",
            "first_name": user.first_name,
            "user_id": user.id,
        }
        if user.last_name is not None:
            contact["last_name"] = user.last_name
        return self._push_message(user, user.id, {"contact": contact})

    def edit_text(self, user: FakeUser, message_id: int, text: str) -> int:
        """``user`` edits their private-chat message ``message_id`` to ``text``."""
        now = int(time.time())
        stored = self._chat(user.id).messages.get(message_id)
        base: JsonDict = (
            dict(stored.message)
            if stored is not None
            else {
                "message_id": message_id,
                "date": now,
                "chat": self._chat_json(user.id, user),
                "from": user.as_json(),
            }
        )
        for key in ("text", "entities", "caption", "caption_entities"):
            base.pop(key, None)
        message = {**base, **self._text_content(text), "edit_date": now}
        self._chat(user.id).messages[message_id] = _Stored(message, text, None)
        return self.push({"edited_message": message})

    def press(self, user: FakeUser, message: SentMessage, data: str) -> int:
        """``user`` presses an inline button with ``data`` under the bot's ``message``; the
        update carries that message as it is now (last text and keyboard)."""
        stored = self._chat(message.chat_id).messages.get(message.message_id)
        current: JsonDict
        if stored is not None:
            current = dict(stored.message)
        else:  # not known here (never sent through the stand-in): rebuilt from the record
            current = {
                "message_id": message.message_id,
                "date": int(time.time()),
                "chat": self._chat_json(message.chat_id),
                "from": self._bot_from(),
                "text": message.plain,
            }
        query: JsonDict = {
            "id": str(next(self._callback_ids)),
            "from": user.as_json(),
            "chat_instance": f"ci-{message.chat_id}",
            "message": current,
            "data": data,
        }
        return self.push({"callback_query": query})

    def press_button(self, user: FakeUser, message: SentMessage, label_contains: str) -> int:
        return self.press(user, message, message.button_data(label_contains))

    def _chat(self, chat_id: int) -> _Chat:
        return self._chats.setdefault(chat_id, _Chat())

    def _chat_json(self, chat_id: int, user: FakeUser | None = None) -> JsonDict:
        if chat_id > 0:
            if user is None or user.id != chat_id:
                user = self._users.get(chat_id, FakeUser(chat_id, first_name="user"))
            data: JsonDict = {"id": chat_id, "type": "private", "first_name": user.first_name}
            if user.last_name is not None:
                data["last_name"] = user.last_name
            if user.username is not None:
                data["username"] = user.username
            return data
        kind = "channel" if chat_id in self.channels else "supergroup"
        return {"id": chat_id, "type": kind, "title": f"chat {chat_id}"}

    def _bot_from(self) -> JsonDict:
        return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}

    def _push_message(
        self, user: FakeUser, chat_id: int, content: JsonDict, *, source: str | None = None
    ) -> int:
        self._users[user.id] = user
        message: JsonDict = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat_json(chat_id, user),
            "from": user.as_json(),
            **content,
        }
        self._chat(chat_id).messages[message["message_id"]] = _Stored(message, source, None)
        if chat_id < 0 and chat_id not in self.channels and not self._bot_sees(message):
            # Kept (another member may reply to it), never delivered.
            self.withheld.append({"chat_id": chat_id, **message})
            return 0  # no update: the bot never learns of it
        return self.push({"message": message})

    def _bot_sees(self, message: JsonDict) -> bool:
        """Privacy mode: whether the bot gets this group message (see :meth:`_addressed`);
        a photo's caption counts as its text."""
        if not self.privacy_mode:
            return True
        return self._addressed(message.get("text") or message.get("caption") or "", message)

    def _reply_target(self, chat_id: int, message_id: int) -> JsonDict:
        stored = self._chat(chat_id).messages.get(message_id)
        assert stored is not None, f"no message {message_id} in chat {chat_id} to reply to"
        target = dict(stored.message)
        target.pop("reply_to_message", None)  # Telegram nests one level only
        return target

    @staticmethod
    def _text_content(text: str) -> JsonDict:
        content: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return content

    # ------------------------------------------------------------------------------ waiting
    def mark(self) -> int:
        """The seq of the last recorded message (0 if none): pass it as ``after=``."""
        return self.sent[-1].seq if self.sent else 0

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything sent to or edited in ``chat_id``, in order."""
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for(
        self,
        chat_id: int,
        *,
        after: int = 0,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> SentMessage:
        """The first message to ``chat_id`` recorded after seq ``after`` that matches
        ``predicate``, waiting for it up to ``timeout`` seconds (AssertionError then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in self.sent:
                if (
                    message.seq > after
                    and message.chat_id == chat_id
                    and (predicate is None or predicate(message))
                ):
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [
                    (m.seq, m.method, m.plain[:80])
                    for m in self.sent
                    if m.seq > after and m.chat_id == chat_id
                ]
                errors = [(e.method, e.response.get("description")) for e in self.errors]
                raise AssertionError(
                    f"no matching message to {chat_id} after seq {after} within {timeout}s; "
                    f"sent there since: {seen}; errors: {errors}"
                )
            await self._wait_activity(remaining)

    async def wait_for_text(
        self,
        chat_id: int,
        contains: str,
        *,
        after: int = 0,
        timeout: float = 5.0,
        new: bool = False,
    ) -> SentMessage:
        """Like :meth:`wait_for`, for a message whose :attr:`SentMessage.plain` contains
        ``contains`` (``new``: a message sent, not an edit of one, such as the refresh of
        a card that mentions the same item)."""
        return await self.wait_for(
            chat_id,
            after=after,
            predicate=lambda m: contains in m.plain and not (new and m.method.startswith("edit")),
            timeout=timeout,
        )

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
        """Until ``condition()`` holds (checked after every answered call and every 10 ms,
        since it may look at state outside the stand-in), or AssertionError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            await self._wait_activity(min(remaining, 0.01))

    async def wait_processed(self, update_id: int, timeout: float = 5.0) -> None:
        """Until the bot has fetched ``update_id`` with getUpdates and then asked for updates
        with an offset past it (confirming it), or AssertionError.

        What that proves is limited: python-telegram-bot's updater confirms a batch as soon as
        it has put the updates on the application's queue, before any handler has finished
        (with ``concurrent_updates``, or while a handler awaits I/O, it may still be running).
        It is right for "the bot has taken the update" (e.g. before :meth:`deliver_again`);
        to wait for a handler's effect, wait for its message (:meth:`wait_for`), for a
        condition (:meth:`wait_until`), or for the bot to go quiet (:meth:`wait_idle`).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (update_id in self._fetched and self._highest_offset > update_id):
            remaining = deadline - loop.time()
            if remaining <= 0:
                state = "fetched, not confirmed" if update_id in self._fetched else "not fetched"
                raise AssertionError(
                    f"update {update_id} not processed within {timeout}s ({state})"
                )
            await self._wait_activity(remaining)

    async def wait_idle(self, *, quiet: float = 0.1, timeout: float = 5.0) -> None:
        """Until no request other than getUpdates is being answered and none came for
        ``quiet`` seconds (a heuristic for "the handlers are done"), or AssertionError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle_for = time.monotonic() - self._last_activity
            if self._in_flight == 0 and idle_for >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"the bot did not go quiet for {quiet}s within {timeout}s")
            await asyncio.sleep(min(remaining, max(quiet - idle_for, 0.005)))

    async def _wait_activity(self, timeout: float) -> None:
        event = self._activity_event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def _notify_activity(self) -> None:
        event, self._activity_event = self._activity_event, asyncio.Event()
        event.set()

    def _wake_pollers(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------------------- faults
    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (those to ``chat_id`` only, if given)
        with that error. Status 429 answers "Too Many Requests: retry after N" with
        ``parameters.retry_after`` N (``retry_after``, default 1)."""
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = f"Too Many Requests: retry after {retry_after}"
        for _ in range(times):
            self._faults.setdefault(method, []).append(
                _Fault(status, description, retry_after, chat_id=chat_id)
            )

    def answer_next_raw(self, method: str, body: bytes | str) -> None:
        """Answer the next call of ``method`` with ``body`` as it is (status 200, JSON content
        type), whatever it holds: an answer that is not JSON at all (a proxy's error page,
        a cut-off transfer), or updates the bot's library cannot parse."""
        raw = body.encode() if isinstance(body, str) else body
        self._faults.setdefault(method, []).append(_Fault(200, "", None, raw=raw))

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next calls of ``method`` only after ``seconds`` (client timeouts)."""
        for _ in range(times):
            self._faults.setdefault(method, []).append(_Fault(200, "", None, delay=seconds))

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Close the connection of the next calls of ``method`` without an answer."""
        for _ in range(times):
            self._faults.setdefault(method, []).append(_Fault(0, "", None, drop=True))

    def misbehave(self, target: int | Literal["getUpdates"], fault: Misbehaviour) -> None:
        """From now on, answer every send and edit addressed to chat ``target`` (or every
        getUpdates call) with ``fault`` (see :data:`Misbehaviour`); :meth:`behave` ends it.
        Each such call is recorded in :attr:`calls` with status 0 (no usable answer), or
        500; what was delivered is in :attr:`sent` as usual."""
        self._misbehaviours[target] = fault

    def behave(self, target: int | Literal["getUpdates"]) -> None:
        self._misbehaviours.pop(target, None)

    def enforce_flood_limits(
        self,
        *,
        overall_per_second: int = 30,
        private_per_second: int = 1,
        group_per_minute: int = 20,
        group_period: float = 60.0,
    ) -> FloodControl:
        """From now on, answer the send* calls (and copy/forward) beyond Telegram's limits with
        429 ``retry_after``: more than ``overall_per_second`` in any one second, more than
        ``private_per_second`` to one private chat in any one second, or more than
        ``group_per_minute`` to one group or channel (chat id < 0) in any ``group_period``
        seconds (60: Telegram's minute). Every such answer is kept in
        :attr:`FloodControl.refused`; the accepted sends are kept with their arrival times to
        measure the rates afterwards."""
        self.flood = FloodControl(
            overall_per_second, private_per_second, group_per_minute, group_period
        )
        return self.flood

    def block_user(self, chat_id: int) -> None:
        """From now on, sends and edits to ``chat_id`` get 403 "bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # --------------------------------------------------------------------------------- HTTP
    async def _params(self, request: web.Request) -> JsonDict:
        raw: JsonDict = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json() if request.body_exists else {}
            if isinstance(body, dict):
                raw.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = Upload(value.filename, value.file.read(), value.content_type)
                elif isinstance(value, str):
                    raw[key] = value
                else:  # a part without a file name but with bytes
                    raw[key] = Upload(key, bytes(value))
        params = {key: _decode(key, value) for key, value in raw.items()}
        # Files sent as "attach://<name>" are given where they are referenced.
        uploads = {key: value for key, value in params.items() if isinstance(value, Upload)}
        referenced = {key for key in uploads if _is_attach_name(key, params)}
        return {
            key: _resolve_attachments(value, uploads)
            for key, value in params.items()
            if key not in referenced
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        method = request.match_info["method"]
        polling = method.lower() == "getupdates"
        if not polling:
            self._in_flight += 1
            self._last_activity = time.monotonic()
        try:
            try:
                params = await self._params(request)
            except ValueError:
                return self._reply(method, {}, ApiError(400, "Bad Request: can't parse JSON"))
            if request.match_info["token"] != self.token:
                return self._reply(method, params, ApiError(401, "Unauthorized"))
            if self.flood is not None and method in _SEND_METHODS:
                flooded = self.flood.check(method, params.get("chat_id"), arrived)
                if flooded is not None:
                    return self._reply(method, params, flooded)
            fault = self._take_fault(method, params)
            if fault is not None:
                if fault.raw is not None:
                    self.calls.append(ApiCall(method, params, 200, {}))
                    return web.Response(body=fault.raw, content_type="application/json")
                if fault.drop:
                    if request.transport is not None:
                        request.transport.close()
                    self.calls.append(ApiCall(method, params, 0, {}))
                    return web.Response()
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                else:
                    extra = {"retry_after": fault.retry_after} if fault.retry_after else None
                    error = ApiError(fault.status, fault.description, extra)
                    return self._reply(method, params, error)
            misbehaviour = self._misbehaviour(method, params)
            if misbehaviour == "error_500":
                return self._reply(method, params, ApiError(500, "Internal Server Error"))
            try:
                if polling:
                    result: Any = await self._get_updates(params, request)
                else:
                    result = self._dispatch(method, params)
            except ApiError as exc:
                if misbehaviour is None:
                    return self._reply(method, params, exc)
                result = exc
            if misbehaviour is not None:
                return await self._misbehave(misbehaviour, method, params, result, request)
            return self._reply(method, params, result)
        finally:
            if not polling:
                self._in_flight -= 1
                self._last_activity = time.monotonic()
            self._notify_activity()

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.files and file_id not in self._known_files:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self._file_content(file_id))

    def _file_content(self, file_id: str) -> bytes:
        return self.files.get(file_id, f"stub file {file_id}".encode())

    def _take_fault(self, method: str, params: JsonDict) -> _Fault | None:
        faults = self._faults.get(method, [])
        for index, fault in enumerate(faults):
            if fault.chat_id is None or str(fault.chat_id) == str(params.get("chat_id")):
                return faults.pop(index)
        return None

    def _misbehaviour(self, method: str, params: JsonDict) -> Misbehaviour | None:
        if not self._misbehaviours:
            return None
        if method.lower() == "getupdates":
            return self._misbehaviours.get("getUpdates")
        if method not in _SEND_METHODS and method not in _EDIT_METHODS:
            return None
        return self._misbehaviours.get(_int(params.get("chat_id"), 0))

    async def _misbehave(
        self,
        fault: Misbehaviour,
        method: str,
        params: JsonDict,
        result: Any,
        request: web.Request,
    ) -> web.StreamResponse:
        """The answer to a request that was carried out (``result``) when ``fault`` holds."""
        self.calls.append(ApiCall(method, params, 0, {"fault": fault}))
        if fault == "hang":  # until the client gives up (or the stand-in stops)
            self._notify_activity()
            while not self._hung.is_set() and not _gone(request):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hung.wait(), 0.05)
            return web.Response(status=504)
        if fault == "close":
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if fault == "not_json":
            return web.Response(text=NOT_JSON_BODY, content_type="text/html")
        if isinstance(result, ApiError):
            return self._reply(method, params, result)
        body = [_garbled(i) for i in result] if isinstance(result, list) else _garbled(result)
        return web.json_response({"ok": True, "result": body})

    def _reply(self, method: str, params: JsonDict, result: Any) -> web.Response:
        if isinstance(result, ApiError):
            body: JsonDict = {
                "ok": False,
                "error_code": result.status,
                "description": result.description,
            }
            if result.parameters:
                body["parameters"] = result.parameters
            call = ApiCall(method, params, result.status, body)
            self.calls.append(call)
            self.errors.append(call)
            return web.json_response(body, status=result.status)
        body = {"ok": True, "result": result}
        self.calls.append(ApiCall(method, params, 200, body))
        return web.json_response(body)

    async def _get_updates(self, params: JsonDict, request: web.Request) -> list[JsonDict]:
        offset = _int(params.get("offset"), 0)
        if offset > 0:
            self._highest_offset = max(self._highest_offset, offset)
            self._pending = [p for p in self._pending if p.again or p.update["update_id"] >= offset]
            self._notify_activity()
        elif offset < 0:  # the last -offset updates; everything before them is forgotten
            fresh = [p for p in self._pending if not p.again]
            keep = {id(p) for p in fresh[offset:]}
            self._pending = [p for p in self._pending if p.again or id(p) in keep]
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = max(_float(params.get("timeout"), 0.0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(map(str, allowed)) or None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._drop_unwanted()
            remaining = deadline - loop.time()
            if self._pending or self._closing or remaining <= 0:
                break
            event = self._updates_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        if request.transport is None or request.transport.is_closing():
            return []  # the bot gave up on this poll: keep the updates for the next one
        batch = self._pending[:limit]
        delivered = {id(p) for p in batch}
        # Repeats are given once; the rest stays until a later offset confirms it.
        self._pending = [p for p in self._pending if not (p.again and id(p) in delivered)]
        self._fetched.update(p.update["update_id"] for p in batch)
        self._notify_activity()
        return [p.update for p in batch]

    def _drop_unwanted(self) -> None:
        """Telegram never delivers update types the bot did not ask for."""
        allowed = self._allowed_updates

        def wanted(pending: _Pending) -> bool:
            kind = _update_type(pending.update)
            if pending.forced:
                return True
            return kind in allowed if allowed is not None else kind not in _NOT_BY_DEFAULT

        self._pending = [p for p in self._pending if wanted(p)]

    def _dispatch(self, method: str, params: JsonDict) -> Any:
        if method == "getMe":
            return self.bot_user
        if method == "setWebhook":
            url = str(params.get("url") or "")
            secret = params.get("secret_token")
            if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
                raise ApiError(400, "Bad Request: secret token contains unallowed characters")
            self.webhook_calls.append(params)
            self.webhook = params if url else None
            return True
        if method == "deleteWebhook":
            self.webhook = None
            return True
        if method in _TRUE_METHODS:
            if method == "setMyCommands":
                self._set_commands(params)
            elif method == "deleteMyCommands":
                self.commands.pop(_commands_key(params), None)
            elif method == "setChatMenuButton":
                self._set_menu_button(params)
            return True
        if method == "getMyCommands":
            return self.commands.get(_commands_key(params), [])
        if method == "getWebhookInfo":
            url = str(self.webhook.get("url", "")) if self.webhook else ""
            return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}
        if method == "answerCallbackQuery":
            text = params.get("text")
            if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
                raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            query_id = str(params.get("callback_query_id"))
            if query_id in self._answered_queries:  # a query takes one answer
                raise ApiError(400, STALE_QUERY)
            self._answered_queries.add(query_id)
            self.answered_callbacks.append(params)
            return True
        if method == "sendChatAction":
            self._check_reachable(self._chat_id(params))
            return True
        if method == "getFile":
            return self._get_file(params)
        if method == "getChat":
            chat_id = self._chat_id(params)
            return {**self._chat_json(chat_id), "accent_color_id": 0, "max_reaction_count": 11}
        if method == "deleteMessage":
            chat_id = self._chat_id(params)
            if self._chat(chat_id).messages.pop(_int(params.get("message_id"), 0), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
            return True
        if method == "sendMediaGroup":
            return self._send_media_group(params)
        if method in _SEND_METHODS:
            return self._send(method, params)
        if method in _EDIT_METHODS:
            return self._edit(method, params)
        raise ApiError(404, "Not Found")

    # ---------------------------------------------------------------------------- checking
    @staticmethod
    def _check_markup(markup: Any) -> JsonDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup  # ForceReply, ReplyKeyboardMarkup, ReplyKeyboardRemove
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard: field "inline_keyboard" must '
                "be an Array of Arrays of InlineKeyboardButton",
            )
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise ApiError(400, "Bad Request: reply markup is too long")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise ApiError(
                        400,
                        'Bad Request: can\'t parse inline keyboard button: Field "text" must '
                        "be of type String",
                    )
                if not button["text"]:
                    raise ApiError(400, "Bad Request: inline keyboard button text is empty")
                actions = [key for key in _BUTTON_ACTIONS if key in button]
                if not actions:
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard",
                    )
                if len(actions) > 1:
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: exactly one of the "
                        f"optional fields must be used, got {actions}",
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(data.encode()) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_BYTES:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "web_app" in button:
                    FakeBotApi._check_web_app(button["web_app"])
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(r"(?i)(https?|tg)://\S", url):
                        raise ApiError(
                            400, f"Bad Request: inline keyboard button URL '{url}' is invalid"
                        )
        return markup

    @staticmethod
    def _check_web_app(web_app: Any) -> None:
        url = web_app.get("url") if isinstance(web_app, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ApiError(
                400,
                f"Bad Request: inline keyboard button Web App URL '{url}' is invalid: "
                "Only HTTPS links are allowed",
            )

    def _set_menu_button(self, params: JsonDict) -> None:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise ApiError(400, "Bad Request: can't parse menu button")
        if button["type"] == "web_app":
            self._check_web_app(button.get("web_app"))
        chat = params.get("chat_id")
        if chat is not None and self._chat_id(params) < 0:
            raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
        self.menu_buttons[None if chat is None else self._chat_id(params)] = button

    @staticmethod
    def _format(
        text: Any, parse_mode: Any, entities: Any, *, caption: bool
    ) -> tuple[str, list[JsonDict]]:
        """Plain text and entities of a text (``caption=False``) or caption, checked."""
        source = "" if text is None else str(text)
        mode = str(parse_mode or "").upper()
        if mode not in ("", "HTML", "MARKDOWN", "MARKDOWNV2"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
        if mode == "HTML":
            plain, found = parse_html_entities(source)
        else:  # Markdown is not checked by the stand-in
            plain = source
            found = list(entities) if isinstance(entities, list) else []
        if not caption and not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > (MAX_CAPTION if caption else MAX_TEXT):
            what = "message caption is too long" if caption else "message is too long"
            raise ApiError(400, f"Bad Request: {what}")
        return plain, found

    def _check_reachable(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    @staticmethod
    def _chat_id(params: JsonDict, key: str = "chat_id") -> int:
        value = params.get(key)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ApiError(400, "Bad Request: chat not found")
        try:
            return int(value)
        except ValueError:  # "@username": the stand-in knows no public usernames
            raise ApiError(400, "Bad Request: chat not found") from None

    # ----------------------------------------------------------------------------- sending
    def _new_bot_message(self, chat_id: int) -> JsonDict:
        message: JsonDict = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat_json(chat_id),
        }
        if chat_id in self.channels:
            message["sender_chat"] = message["chat"]
        else:
            message["from"] = self._bot_from()
        return message

    def _reply_to(self, chat_id: int, params: JsonDict) -> JsonDict | None:
        """The message being replied to, per reply_parameters / reply_to_message_id."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target_id = _int(reply.get("message_id"), 0)
            target_chat = self._chat_id(reply) if "chat_id" in reply else chat_id
            lenient = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target_id = _int(params.get("reply_to_message_id"), 0)
            target_chat = chat_id
            lenient = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        stored = self._chat(target_chat).messages.get(target_id)
        if stored is None:
            if lenient:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        target = dict(stored.message)
        target.pop("reply_to_message", None)
        return target

    def _store(
        self,
        method: str,
        chat_id: int,
        message: JsonDict,
        params: JsonDict,
        *,
        source: str | None,
        parse_mode: str | None,
        markup: JsonDict | None,
    ) -> None:
        if markup is not None and "inline_keyboard" in markup:
            # Only inline keyboards come back in a Message; ForceReply and reply keyboards are
            # instructions to the client.
            message["reply_markup"] = markup
        self._chat(chat_id).messages[message["message_id"]] = _Stored(message, source, parse_mode)
        self._record(method, chat_id, message["message_id"], params, markup)

    def _record(
        self,
        method: str,
        chat_id: int,
        message_id: int,
        params: JsonDict,
        markup: JsonDict | None,
    ) -> None:
        stored = self._chat(chat_id).messages[message_id]
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=chat_id,
                message_id=message_id,
                text=stored.source,
                parse_mode=stored.parse_mode,
                reply_markup=markup if markup is not None else stored.message.get("reply_markup"),
                params=params,
                seq=next(self._seq),
            )
        )

    def _send(self, method: str, params: JsonDict) -> Any:
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        markup = self._check_markup(params.get("reply_markup"))
        rows = (markup or {}).get("inline_keyboard") or []
        if chat_id < 0 and any("web_app" in button for row in rows for button in row):
            raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")  # private chats only
        if method in ("copyMessage", "forwardMessage"):
            return self._copy(method, chat_id, params, markup)
        parse_mode = params.get("parse_mode")
        content: JsonDict = {}
        source: str | None = None
        if method == "sendMessage":
            source = "" if params.get("text") is None else str(params["text"])
            plain, entities = self._format(
                source, parse_mode, params.get("entities"), caption=False
            )
            content["text"] = plain
            if entities:
                content["entities"] = entities
        elif method in ("sendLocation", "sendVenue"):
            location = {
                "latitude": _float(params.get("latitude"), 0.0),
                "longitude": _float(params.get("longitude"), 0.0),
            }
            content["location"] = location
            if method == "sendVenue":
                content["venue"] = {
                    "location": location,
                    "title": str(params.get("title", "")),
                    "address": str(params.get("address", "")),
                }
        elif method == "sendContact":
            content["contact"] = {
                "phone_number": str(params.get("phone_number", "")),
                "first_name": str(params.get("first_name", "")),
            }
        else:
            kind = _MEDIA_OF[method]
            if params.get(kind) is None:
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            if params.get("caption") is not None and kind != "sticker":
                source = str(params["caption"])
                content.update(
                    self._caption_fields(source, parse_mode, params.get("caption_entities"))
                )
            content.update(self._media(kind, params[kind], params))
        reply_to = self._reply_to(chat_id, params)
        message = {**self._new_bot_message(chat_id), **content}
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self._store(
            method, chat_id, message, params, source=source, parse_mode=parse_mode, markup=markup
        )
        return message

    def _caption_fields(self, source: str, parse_mode: Any, entities: Any) -> JsonDict:
        """``caption`` and ``caption_entities`` of a message (none for an empty caption)."""
        plain, found = self._format(source, parse_mode, entities, caption=True)
        fields: JsonDict = {}
        if plain:
            fields["caption"] = plain
            if found:
                fields["caption_entities"] = found
        return fields

    def _copy(
        self, method: str, chat_id: int, params: JsonDict, markup: JsonDict | None
    ) -> JsonDict:
        from_chat = self._chat_id(params, "from_chat_id")
        original = self._chat(from_chat).messages.get(_int(params.get("message_id"), 0))
        if original is None:
            what = "copy" if method == "copyMessage" else "forward"
            raise ApiError(400, f"Bad Request: message to {what} not found")
        source, parse_mode = original.source, original.parse_mode
        content = {k: original.message[k] for k in _CONTENT_KEYS if k in original.message}
        reply_to: JsonDict | None = None
        if method == "forwardMessage":
            sender = original.message.get("from")
            origin: JsonDict = {"date": original.message.get("date", int(time.time()))}
            if isinstance(sender, dict):
                origin.update(type="user", sender_user=sender)
            else:
                origin.update(type="chat", sender_chat=original.message["chat"])
            content["forward_origin"] = origin
            markup = None
        else:
            if "caption" in params:
                if "text" in content:
                    raise ApiError(400, "Bad Request: can't use caption for a text message")
                source, parse_mode = str(params["caption"]), params.get("parse_mode")
                content.pop("caption", None)
                content.pop("caption_entities", None)
                content.update(
                    self._caption_fields(source, parse_mode, params.get("caption_entities"))
                )
            reply_to = self._reply_to(chat_id, params)
        message = {**self._new_bot_message(chat_id), **content}
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self._store(
            method, chat_id, message, params, source=source, parse_mode=parse_mode, markup=markup
        )
        if method == "copyMessage":
            return {"message_id": message["message_id"]}
        return message

    def _send_media_group(self, params: JsonDict) -> list[JsonDict]:
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media items (2-10)")
        checked: list[tuple[JsonDict, str | None, Any]] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in _ALBUM_TYPES:
                raise ApiError(400, "Bad Request: can't parse InputMedia: unsupported type")
            if item.get("media") is None:
                raise ApiError(400, "Bad Request: there is no media in the request")
            source = None if item.get("caption") is None else str(item["caption"])
            fields = (
                {}
                if source is None
                else self._caption_fields(
                    source, item.get("parse_mode"), item.get("caption_entities")
                )
            )
            checked.append((item, source, fields))
        reply_to = self._reply_to(chat_id, params)
        group_id = f"album-{next(self._file_ids)}"
        messages: list[JsonDict] = []
        for item, source, fields in checked:
            message = {
                **self._new_bot_message(chat_id),
                "media_group_id": group_id,
                **fields,
                **self._media(item["type"], item["media"], item),
            }
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            self._store(
                "sendMediaGroup", chat_id, message, params,
                source=source, parse_mode=item.get("parse_mode"), markup=None,
            )  # fmt: skip
            messages.append(message)
        return messages

    def _media(self, kind: str, value: Any, params: JsonDict) -> JsonDict:
        """The Message field for a file sent as an upload or by file_id/URL."""
        if isinstance(value, Upload):
            file_id = f"uploaded-{next(self._file_ids)}"
            self.files[file_id] = value.content
            size = len(value.content)
        else:
            file_id = str(value)
            size = len(self.files.get(file_id, b"")) or 1000
        self._known_files.add(file_id)
        ids = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size}
        duration = _int(params.get("duration"), 1)
        if kind == "photo":
            return {"photo": _photo_sizes(file_id)}
        if kind == "document":
            name = value.filename if isinstance(value, Upload) else "file"
            body = {**ids, "file_name": name}
            if isinstance(value, Upload) and value.content_type:
                body["mime_type"] = value.content_type
            return {"document": body}
        if kind in ("voice", "audio"):
            return {kind: {**ids, "duration": duration}}
        if kind == "video_note":
            return {kind: {**ids, "length": _int(params.get("length"), 240), "duration": duration}}
        if kind in ("video", "animation"):
            size_fields = {
                "width": _int(params.get("width"), 640),
                "height": _int(params.get("height"), 480),
            }
            return {kind: {**ids, **size_fields, "duration": duration}}
        return {  # sticker
            "sticker": {
                **ids, "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False,
            }
        }  # fmt: skip

    def _get_file(self, params: JsonDict) -> JsonDict:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files and file_id not in self._known_files:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(self._file_content(file_id)) > GETFILE_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self._file_content(file_id)),
            "file_path": f"files/{file_id}",
        }

    # ----------------------------------------------------------------------------- editing
    def _edit(self, method: str, params: JsonDict) -> Any:
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if params.get("inline_message_id") is not None:
            if method == "editMessageText":
                self._format(params.get("text"), params.get("parse_mode"), None, caption=False)
            elif method == "editMessageCaption":
                self._format(params.get("caption"), params.get("parse_mode"), None, caption=True)
            return True
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        message_id = _int(params.get("message_id"), 0)
        stored = self._chat(chat_id).messages.get(message_id)
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if stored.message.get("from", {}).get("id") != self.bot_user["id"] and (
            "sender_chat" not in stored.message
        ):
            raise ApiError(400, "Bad Request: message can't be edited")
        updated = dict(stored.message)
        source, parse_mode = stored.source, stored.parse_mode
        if method == "editMessageText":
            if "text" not in updated:
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            source = "" if params.get("text") is None else str(params["text"])
            parse_mode = params.get("parse_mode")
            plain, entities = self._format(
                source, parse_mode, params.get("entities"), caption=False
            )
            updated["text"] = plain
            updated.pop("entities", None)
            if entities:
                updated["entities"] = entities
        elif method == "editMessageCaption":
            if "text" in updated:
                raise ApiError(400, "Bad Request: there is no caption in the message to edit")
            source = "" if params.get("caption") is None else str(params["caption"])
            parse_mode = params.get("parse_mode")
            fields = self._caption_fields(source, parse_mode, params.get("caption_entities"))
            updated.pop("caption", None)
            updated.pop("caption_entities", None)
            updated.update(fields)
        # Without reply_markup an edit removes the inline keyboard, as Telegram does.
        updated.pop("reply_markup", None)
        if markup is not None and markup.get("inline_keyboard"):
            updated["reply_markup"] = markup
        if _content(updated) == _content(stored.message):
            raise ApiError(400, NOT_MODIFIED)
        updated["edit_date"] = int(time.time())
        self._chat(chat_id).messages[message_id] = _Stored(updated, source, parse_mode)
        self._record(method, chat_id, message_id, params, updated.get("reply_markup"))
        return updated

    def _set_commands(self, params: JsonDict) -> None:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands: expected an Array (<= 100)")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_commands_key(params)] = commands


# ------------------------------------------------------------------------------------ helpers
def _decode(key: str, value: Any) -> Any:
    """A parameter's value as the Bot API means it (see the module docstring)."""
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value  # e.g. chat_id "@channel"
    return value if isinstance(decoded, str) else decoded


def _is_attach_name(key: str, params: JsonDict) -> bool:
    """Whether ``key`` is the name of a file part referenced as ``attach://key``."""
    needle = f"attach://{key}"

    def refers(value: Any) -> bool:
        if isinstance(value, str):
            return value == needle
        if isinstance(value, dict):
            return any(refers(v) for v in value.values())
        if isinstance(value, list):
            return any(refers(v) for v in value)
        return False

    return any(refers(value) for name, value in params.items() if name != key)


def _resolve_attachments(value: Any, files: dict[str, Upload]) -> Any:
    if isinstance(value, str) and value.startswith("attach://"):
        return files.get(value.removeprefix("attach://"), value)
    if isinstance(value, dict):
        return {k: _resolve_attachments(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_attachments(v, files) for v in value]
    return value


def _content(message: JsonDict) -> JsonDict:
    """What "message is not modified" compares: the content and the keyboard."""
    keys: Iterable[str] = ("text", "entities", "caption", "caption_entities", "reply_markup")
    return {key: message.get(key) for key in keys}


def _commands_key(params: JsonDict) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def _photo_sizes(file_id: str) -> list[JsonDict]:
    return [
        {"file_id": f"{file_id}-small", "file_unique_id": f"u-{file_id}-s",
         "width": 90, "height": 68, "file_size": 1200},
        {"file_id": file_id, "file_unique_id": f"u-{file_id}",
         "width": 1280, "height": 960, "file_size": 98000},
    ]  # fmt: skip


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
