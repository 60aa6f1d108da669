"""A Telegram Bot API stand-in for end-to-end tests: an aiohttp server on 127.0.0.1.

The real application is built with ``base_url=stub.base_url`` and long-polls it. The stub
feeds updates the test pushes (messages, button presses, edits), records every call and
every message the bot sends or edits, and answers like the real API, including its
validation: HTML that Telegram would refuse, texts over 4096 UTF-16 units, callback data
over 64 bytes, edits that change nothing. Faults can be injected per method.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64

# Parameters PTB sends JSON-encoded in form data (strings are sent as they are).
_JSON_PARAMS = {
    "reply_markup", "allowed_updates", "commands", "entities", "caption_entities", "media",
    "reply_parameters", "link_preview_options", "scope", "menu_button",
    "chat_id", "message_id", "from_chat_id", "offset", "limit", "timeout", "cache_time",
    "show_alert", "disable_web_page_preview", "disable_notification", "protect_content",
    "latitude", "longitude", "reply_to_message_id", "drop_pending_updates",
    "allow_sending_without_reply", "message_thread_id",
}  # fmt: skip

_SEND_METHODS = {
    "sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo",
    "sendVideoNote", "sendAnimation", "sendLocation", "sendVenue", "sendContact",
    "sendSticker", "sendMediaGroup", "copyMessage", "forwardMessage",
}  # fmt: skip
_EDIT_METHODS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}
_OK_METHODS = {
    "deleteWebhook", "setMyCommands", "deleteMyCommands", "setChatMenuButton", "close",
    "logOut", "sendChatAction", "setMyDescription", "setMyShortDescription", "deleteMessage",
}  # fmt: skip

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> str:
    """The plain text Telegram would show for ``source``; ApiError where it would refuse it."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "<":
            match = _TAG.match(source, i)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: unexpected '<' at {i}")
            closing, name = match[1] == "/", match[2].lower()
            if name not in _ALLOWED_TAGS:
                raise ApiError(
                    400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}"'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise ApiError(
                        400, f'Bad Request: can\'t parse entities: unmatched end tag "{name}"'
                    )
                stack.pop()
            else:
                stack.append(name)
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(source, i)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: bare '&' at {i}")
            out.append(html.unescape(match[0]))
            i = match.end()
        elif ch == ">":
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected '>' at {i}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ApiError(
            400, f"Bad Request: can't parse entities: can't find end tag for \"{stack[-1]}\""
        )
    return "".join(out)


def _public(message: JsonDict) -> JsonDict:
    """A stored message without the stub's own bookkeeping keys."""
    return {k: v for k, v in message.items() if not k.startswith("_")}


@dataclass(frozen=True)
class FakeUser:
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
    """A message the bot sent or edited, as the stub recorded it."""

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
        if self.text is None:
            return ""
        if (self.parse_mode or "").upper() == "HTML":
            return parse_html(self.text)
        return self.text

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            (b["text"], b.get("callback_data") or b.get("url") or "") for row in rows for b in row
        ]

    def button_data(self, label_contains: str) -> str:
        for label, data in self.buttons:
            if label_contains in label:
                return data
        raise AssertionError(f"no button containing {label_contains!r} in {self.buttons}")


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (multipart), as received."""

    filename: str
    content: bytes


@dataclass
class ApiCall:
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


@dataclass
class _Chat:
    next_id: int = 1
    messages: dict[int, JsonDict] = field(default_factory=dict)


class FakeBotApi:
    """The stand-in. ``async with FakeBotApi() as api:`` starts and stops it."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        username: str = "jindianzi_test_bot",
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
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.errors: list[ApiCall] = []
        self.answered_callbacks: list[JsonDict] = []
        self.port = 0
        self.channels: set[int] = set()  # chat ids to present as channels, not supergroups
        self._updates: list[JsonDict] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._chats: dict[int, _Chat] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._blocked: set[int] = set()
        self._new_update = asyncio.Event()
        self._fetched: set[int] = set()
        self._delivered: dict[int, JsonDict] = {}
        self._highest_offset = 0
        self._closing = False
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ updates in
    def deliver_again(self, update_id: int) -> None:
        """Queue an update that was already delivered once more, with the same id (as
        Telegram does when it did not see the confirmation)."""
        self._updates.append({**self._delivered[update_id], "_again": True})
        self._new_update.set()

    def push(self, update_body: JsonDict) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **update_body}
        self._updates.append(update)
        self._delivered[update_id] = update
        self._new_update.set()
        return update_id

    def _chat(self, chat_id: int) -> _Chat:
        return self._chats.setdefault(chat_id, _Chat())

    def _new_message_id(self, chat_id: int) -> int:
        chat = self._chat(chat_id)
        message_id = chat.next_id
        chat.next_id += 1
        return message_id

    def _chat_json(self, chat_id: int, user: FakeUser | None = None) -> JsonDict:
        if chat_id > 0:
            data: JsonDict = {"id": chat_id, "type": "private"}
            if user is not None:
                data["first_name"] = user.first_name
            return data
        kind = "channel" if chat_id in self.channels else "supergroup"
        return {"id": chat_id, "type": kind, "title": f"chat {chat_id}"}

    def _user_message(self, user: FakeUser, chat_id: int | None = None, **content: Any) -> JsonDict:
        chat_id = user.id if chat_id is None else chat_id
        message: JsonDict = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat_json(chat_id, user),
            "from": user.as_json(),
            **content,
        }
        self._chat(chat_id).messages[message["message_id"]] = message
        return message

    @staticmethod
    def _text_content(text: str) -> JsonDict:
        content: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return content

    def send_text(self, user: FakeUser, text: str) -> int:
        return self.push({"message": self._user_message(user, **self._text_content(text))})

    def send_group_text(
        self, user: FakeUser, chat_id: int, text: str, *, reply_to: SentMessage | None = None
    ) -> int:
        content = self._text_content(text)
        if reply_to is not None:
            content["reply_to_message"] = _public(self._chat(chat_id).messages[reply_to.message_id])
        return self.push({"message": self._user_message(user, chat_id, **content)})

    def send_reply(self, user: FakeUser, to: SentMessage, text: str) -> int:
        """``user`` replies with ``text`` to the bot's message ``to``, in that message's chat."""
        content = self._text_content(text)
        content["reply_to_message"] = _public(self._chat(to.chat_id).messages[to.message_id])
        return self.push({"message": self._user_message(user, to.chat_id, **content)})

    def send_photo(
        self, user: FakeUser, *, caption: str | None = None, file_id: str = "PHOTO1"
    ) -> int:
        sizes = [
            {"file_id": f"{file_id}-small", "file_unique_id": f"u-{file_id}-s",
             "width": 90, "height": 68, "file_size": 1200},
            {"file_id": file_id, "file_unique_id": f"u-{file_id}",
             "width": 1280, "height": 960, "file_size": 98000},
        ]  # fmt: skip
        content: JsonDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self.push({"message": self._user_message(user, **content)})

    def send_document(
        self,
        user: FakeUser,
        *,
        file_name: str = "a.pdf",
        mime_type: str = "application/pdf",
        file_id: str = "DOC1",
        caption: str | None = None,
    ) -> int:
        content: JsonDict = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_name": file_name,
                "mime_type": mime_type,
            }
        }
        if caption is not None:
            content["caption"] = caption
        return self.push({"message": self._user_message(user, **content)})

    def send_voice(self, user: FakeUser, *, file_id: str = "VOICE1", duration: int = 3) -> int:
        voice = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": duration}
        return self.push({"message": self._user_message(user, voice=voice)})

    def send_location(self, user: FakeUser, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self.push({"message": self._user_message(user, location=location)})

    def send_sticker(self, user: FakeUser, *, file_id: str = "STICKER1") -> int:
        sticker = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push({"message": self._user_message(user, sticker=sticker)})

    def send_contact(self, user: FakeUser) -> int:
        contact = {"phone_number": "+8613800000000", "first_name": user.first_name}
        return self.push({"message": self._user_message(user, contact=contact)})

    def edit_text(self, user: FakeUser, message_id: int, text: str) -> int:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": self._chat_json(user.id, user),
            "from": user.as_json(),
            "text": text,
        }
        return self.push({"edited_message": message})

    def press(self, user: FakeUser, message: SentMessage, data: str) -> int:
        current = self._chat(message.chat_id).messages.get(message.message_id)
        query: JsonDict = {
            "id": str(next(self._callback_ids)),
            "from": user.as_json(),
            "chat_instance": f"ci-{message.chat_id}",
            "data": data,
        }
        if current is not None:
            query["message"] = _public(current)
        return self.push({"callback_query": query})

    def press_button(self, user: FakeUser, message: SentMessage, label_contains: str) -> int:
        return self.press(user, message, message.button_data(label_contains))

    # ------------------------------------------------------------------ waiting
    def mark(self) -> int:
        return self.sent[-1].seq if self.sent else 0

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for(
        self,
        chat_id: int,
        *,
        after: int = 0,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> SentMessage:
        """The first message to ``chat_id`` recorded after ``after`` that matches."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.sent:
                if (
                    message.seq > after
                    and message.chat_id == chat_id
                    and (predicate is None or predicate(message))
                ):
                    return message
            if time.monotonic() > deadline:
                seen = [
                    (m.method, m.plain[:80])
                    for m in self.sent
                    if m.seq > after and m.chat_id == chat_id
                ]
                raise AssertionError(
                    f"no matching message to {chat_id} within {timeout}s; sent since: {seen}; "
                    f"errors: {[(e.method, e.response.get('description')) for e in self.errors]}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_text(
        self, chat_id: int, contains: str, *, after: int = 0, timeout: float = 5.0
    ) -> SentMessage:
        return await self.wait_for(
            chat_id, after=after, predicate=lambda m: contains in m.plain, timeout=timeout
        )

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
        """Until ``condition()`` holds (checked as calls come in), or AssertionError."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_processed(self, update_id: int, timeout: float = 5.0) -> None:
        """Until the bot has fetched ``update_id`` and asked for updates after it: PTB does
        so once the update was handed to the application (with ``concurrent_updates`` the
        handler may still be running)."""
        deadline = time.monotonic() + timeout
        while not (update_id in self._fetched and self._highest_offset > update_id):
            if time.monotonic() > deadline:
                raise AssertionError(f"update {update_id} not processed within {timeout}s")
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ faults
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
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` only, if given)
        with that error."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if status == 429:
            description = f"Too Many Requests: retry after {retry_after}"
        for _ in range(times):
            self._faults.setdefault(method, []).append(
                _Fault(status, description, retry_after, chat_id=chat_id)
            )

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next calls only after ``seconds`` (for client-side timeouts)."""
        for _ in range(times):
            self._faults.setdefault(method, []).append(_Fault(200, "", None, delay=seconds))

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Close the connection without an answer."""
        for _ in range(times):
            self._faults.setdefault(method, []).append(_Fault(0, "", None, drop=True))

    def block_user(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    # ------------------------------------------------------------------ HTTP
    async def _params(self, request: web.Request) -> JsonDict:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: JsonDict = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):  # an upload: kept for the test to read
                params[key] = Upload(value.filename, value.file.read())
            elif not isinstance(value, str):
                params[key] = Upload(key, bytes(value))
            elif key in _JSON_PARAMS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request) if request.body_exists else {}
        if request.match_info["token"] != self.token:
            return self._reply(method, params, ApiError(401, "Unauthorized"))
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                self.calls.append(ApiCall(method, params, 0, {}))
                return web.Response()
            if fault.delay:
                await asyncio.sleep(fault.delay)
            elif fault.status != 200:
                extra = {"retry_after": fault.retry_after} if fault.retry_after else None
                return self._reply(method, params, ApiError(fault.status, fault.description, extra))
        try:
            if method == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                result = self._dispatch(method, params)
        except ApiError as exc:
            return self._reply(method, params, exc)
        return self._reply(method, params, result)

    def _take_fault(self, method: str, params: JsonDict) -> _Fault | None:
        faults = self._faults.get(method, [])
        for index, fault in enumerate(faults):
            if fault.chat_id is None or str(fault.chat_id) == str(params.get("chat_id")):
                return faults.pop(index)
        return None

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
        if method != "getUpdates":
            self.calls.append(ApiCall(method, params, 200, body))
        return web.json_response(body)

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._highest_offset = max(self._highest_offset, offset)
            self._updates = [
                u for u in self._updates if u["update_id"] >= offset or u.get("_again")
            ]
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while not self._updates and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                break
        batch = self._updates[:limit]
        self._updates = [u for u in self._updates if not u.get("_again")]  # given once more
        self._fetched.update(u["update_id"] for u in batch)
        return [_public(u) for u in batch]

    def _dispatch(self, method: str, params: JsonDict) -> Any:
        if method == "getMe":
            return self.bot_user
        if method in _OK_METHODS:
            return True
        if method == "getMyCommands":
            return []
        if method == "answerCallbackQuery":
            self.answered_callbacks.append(params)
            return True
        if method in _SEND_METHODS:
            return self._send(method, params)
        if method in _EDIT_METHODS:
            return self._edit(method, params)
        raise ApiError(404, "Not Found")

    def _check_markup(self, markup: Any) -> JsonDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            if not isinstance(row, list):
                raise ApiError(400, "Bad Request: inline keyboard rows must be arrays")
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: inline keyboard button text is empty")
                actions = [k for k in ("callback_data", "url") if k in button]
                if len(actions) != 1:
                    raise ApiError(400, 'Bad Request: can\'t find field "callback_data"')
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _check_text(text: Any, parse_mode: Any, *, caption: bool) -> str:
        if text is None or str(text) == "":
            if caption:
                return ""
            raise ApiError(400, "Bad Request: message text is empty")
        source = str(text)
        plain = parse_html(source) if str(parse_mode or "").upper() == "HTML" else source
        if not caption and not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > (MAX_CAPTION if caption else MAX_TEXT):
            what = "message caption is too long" if caption else "message is too long"
            raise ApiError(400, f"Bad Request: {what}")
        return plain

    def _record(self, method: str, chat_id: int, message_id: int, params: JsonDict) -> None:
        stored = self._chat(chat_id).messages.get(message_id, {})
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=chat_id,
                message_id=message_id,
                text=stored.get("_source"),
                parse_mode=stored.get("_parse_mode"),
                reply_markup=stored.get("reply_markup"),
                params=params,
                seq=next(self._seq),
            )
        )

    def _chat_id(self, params: JsonDict) -> int:
        try:
            return int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None

    def _send(self, method: str, params: JsonDict) -> Any:
        chat_id = self._chat_id(params)
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        markup = self._check_markup(params.get("reply_markup"))
        message: JsonDict = {
            "date": int(time.time()),
            "chat": self._chat_json(chat_id),
            "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
        }
        parse_mode = params.get("parse_mode")
        source: str | None = None
        if method == "sendMessage":
            source = str(params.get("text") or "")
            message["text"] = self._check_text(params.get("text"), parse_mode, caption=False)
        elif method in ("copyMessage", "forwardMessage"):
            original = self._chat(int(params["from_chat_id"])).messages.get(
                int(params["message_id"])
            )
            if original is None:
                raise ApiError(400, "Bad Request: message to copy not found")
            if "caption" in params:
                source = str(params["caption"])
                message["caption"] = self._check_text(source, parse_mode, caption=True)
            else:
                source = original.get("_source") or original.get("text") or original.get("caption")
                parse_mode = original.get("_parse_mode")
            for key in ("text", "photo", "document", "voice", "location", "caption"):
                if key in original and key not in message:
                    message[key] = original[key]
        else:
            if params.get("caption") is not None:
                source = str(params["caption"])
                message["caption"] = self._check_text(source, parse_mode, caption=True)
            kind = method.removeprefix("send").lower()
            if kind == "location":
                message["location"] = {
                    "latitude": float(params["latitude"]),
                    "longitude": float(params["longitude"]),
                }
            elif kind == "photo":
                fid = str(params.get("photo"))
                message["photo"] = [
                    {"file_id": fid, "file_unique_id": f"u-{fid}", "width": 1, "height": 1}
                ]
            elif kind in ("document", "voice", "audio", "video"):
                upload = params.get(kind)
                fid = f"uploaded-{upload.filename}" if isinstance(upload, Upload) else str(upload)
                body: JsonDict = {"file_id": fid, "file_unique_id": f"u-{fid}"}
                if kind in ("voice", "audio", "video"):
                    body["duration"] = 1
                if kind == "video":
                    body.update(width=1, height=1)
                message[kind] = body
        message_id = self._new_message_id(chat_id)
        message["message_id"] = message_id
        if markup is not None and "inline_keyboard" in markup:
            # Messages carry inline keyboards only; ForceReply and reply keyboards are
            # instructions to the client and never come back in a Message.
            message["reply_markup"] = markup
        stored = {**message, "_source": source, "_parse_mode": parse_mode}
        self._chat(chat_id).messages[message_id] = stored
        self._record(method, chat_id, message_id, params)
        if method == "copyMessage":
            return {"message_id": message_id}
        return message

    def _edit(self, method: str, params: JsonDict) -> Any:
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        stored = self._chat(chat_id).messages.get(message_id)
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = self._check_markup(params.get("reply_markup"))
        updated = dict(stored)
        if method == "editMessageText":
            updated["text"] = self._check_text(
                params.get("text"), params.get("parse_mode"), caption=False
            )
            updated["_source"] = str(params.get("text"))
            updated["_parse_mode"] = params.get("parse_mode")
        elif method == "editMessageCaption":
            updated["caption"] = self._check_text(
                params.get("caption"), params.get("parse_mode"), caption=True
            )
            updated["_source"] = str(params.get("caption") or "")
            updated["_parse_mode"] = params.get("parse_mode")
        if markup is not None and markup.get("inline_keyboard"):
            updated["reply_markup"] = markup
        else:
            updated.pop("reply_markup", None)
        same = {k: v for k, v in updated.items() if k != "edit_date"} == {
            k: v for k, v in stored.items() if k != "edit_date"
        }
        if same:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        updated["edit_date"] = int(time.time())
        self._chat(chat_id).messages[message_id] = updated
        self._record(method, chat_id, message_id, params)
        return _public(updated)
