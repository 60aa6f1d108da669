"""End to end: the office's web desk served by the bot built with build_application, over
HTTP through aiohttp's test client: signing in (Mini App login data, one-time links),
every page, and everything refused (no session, non-admins, forged CSRF tokens, foreign
origins, used or expired login data and links)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.core.workflow import Status
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat, FrozenClock
from tests.databases import both_backends
from tests.full_storage import sqlite_full_error
from tests.processes import bot_env, start_bot
from tests.test_e2e_webhook import free_port, post, update
from tests.webdesk import (
    ALICE,
    BOB,
    OUTSIDER,
    PNG,
    Items,
    client_for,
    csrf_of,
    desk_of,
    desk_settings,
    login_data,
    sign_in,
    sql,
    started,
    submit,
)
from web.actions import ActionField, Outcome
from web.sessions import COOKIE
from web.viewer import Viewer

BIG = 21 * 1024 * 1024
START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


make_settings = both_backends()


def zh(key: str, **values: Any) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: FrozenClock
) -> AsyncIterator[BotRunner]:
    async with started(desk_settings(stub, make_settings), clock) as runner:
        yield runner


@pytest.fixture
async def items(stub: FakeBotApi, desk: BotRunner) -> Items:
    stub.files["PHOTO-9"] = PNG
    stub.files["DOC-1"] = b"%PDF-1.4 minutes of the meeting"
    stub.files["BIG-1"] = b"\0" * BIG

    extras = [
        lambda: stub.send_photo(ALICE, file_id="PHOTO-9"),
        lambda: stub.send_document(ALICE, file_id="DOC-1", file_name="会议纪要.pdf"),
        lambda: stub.send_document(
            ALICE, file_id="BIG-1", file_name="video.zip", mime_type="x/zip"
        ),
        lambda: stub.send_location(ALICE, 30.2741, 120.1551),
    ]

    named = await submit(stub, ALICE, "幸福路的路灯坏了\n第二行：晚上很黑", anonymous=False,
                         extras=extras)  # fmt: skip
    anonymous = await submit(
        stub, BOB, '<script>alert("x")</script> 路灯 & 井盖 都坏了', anonymous=True
    )
    return Items(named=named, anonymous=anonymous)


async def page(client: TestClient[Any, Any], path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text[:500]
    return text


# ---------------------------------------------------------------------------- signing in
async def test_the_entry_page_has_a_strict_policy_and_no_inline_script(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/desk/")
    html = await response.text()
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://telegram.org;" in policy
    assert "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'self' https://web.telegram.org" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Not no-referrer: a browser would then send "Origin: null" with the desk's own forms.
    assert response.headers["Referrer-Policy"] == "same-origin"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert 'data-telegram="/desk/auth/telegram"' in html


async def test_mini_app_login_data_opens_a_session(
    client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    assert (await client.get("/desk/queue")).status == 401
    response = await sign_in(client, desk)
    assert response.status == 200
    assert (await response.json()) == {"next": "/desk/queue"}
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/desk"
    assert cookie["samesite"] == "Lax"  # plain HTTP here; over HTTPS: Secure; SameSite=None
    html = await page(client, "/desk/queue")
    assert f"#{items.named}" in html and f"#{items.anonymous}" in html
    # The session is in the database as a hash, never the token itself.
    [(stored,)] = await sql(desk.settings, "SELECT token_hash FROM web_sessions")
    assert stored != cookie.value and len(stored) == 64


async def test_over_https_the_cookie_is_secure_and_cross_site(
    client: TestClient[Any, Any], desk: BotRunner
) -> None:
    response = await sign_in(client, desk, headers={"X-Forwarded-Proto": "https"})
    cookie = response.cookies[COOKIE]
    assert cookie["secure"] and cookie["samesite"] == "None"


async def test_a_non_admin_is_refused(client: TestClient[Any, Any], desk: BotRunner) -> None:
    response = await sign_in(client, desk, user=OUTSIDER)
    assert response.status == 403
    assert (await response.json())["error"] == t("en", "web.error.not_allowed")
    assert COOKIE not in response.cookies
    assert await sql(desk.settings, "SELECT COUNT(*) FROM web_sessions") == [(0,)]


async def test_a_full_disk_is_said_as_such_without_a_traceback(
    client: TestClient[Any, Any],
    desk: BotRunner,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """#15.8: the session cannot be written (SQLite's own error for a full database)."""
    repository = desk_of(desk).desk.repository

    async def full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite_full_error()

    monkeypatch.setattr(repository, "create_web_session", full)
    response = await sign_in(client, desk)
    assert response.status == 503
    assert zh("web.error.storage_full") in await response.text()
    assert COOKIE not in response.cookies
    assert repository.disk.full
    assert not [r for r in caplog.records if r.exc_info]


async def test_tampered_login_data_and_another_bots_are_refused(
    client: TestClient[Any, Any], desk: BotRunner
) -> None:
    token = desk.settings.telegram.token.get_secret_value()
    good = login_data(ADMIN, token, desk.clock())
    tampered = good.replace(str(ADMIN.id), str(OUTSIDER.id))
    foreign = login_data(ADMIN, "999:ANOTHER-BOT", desk.clock())
    for data in (tampered, foreign):
        response = await client.post("/desk/auth/telegram", json={"init_data": data})
        assert response.status == 403
        assert (await response.json())["error"] == zh("web.error.initdata_invalid")


async def test_login_data_is_exchanged_once_and_not_after_its_age(
    client: TestClient[Any, Any], desk: BotRunner, clock: FrozenClock
) -> None:
    token = desk.settings.telegram.token.get_secret_value()
    data = login_data(ADMIN, token, clock())
    assert (await client.post("/desk/auth/telegram", json={"init_data": data})).status == 200
    # The same data again with the session it opened: nothing to exchange, still signed in.
    again = await client.post("/desk/auth/telegram", json={"init_data": data})
    assert again.status == 200 and COOKIE not in again.cookies
    # Without that session (another browser, a thief): refused, even within its age.
    client.session.cookie_jar.clear()
    replay = await client.post("/desk/auth/telegram", json={"init_data": data})
    assert replay.status == 403
    assert (await replay.json())["error"] == zh("web.error.initdata_used")
    # Presented again after its age: refused as too old.
    clock.advance(seconds=desk.settings.web.initdata_max_age + 1)
    late = await client.post("/desk/auth/telegram", json={"init_data": data})
    assert late.status == 403
    assert (await late.json())["error"] == zh("web.error.initdata_expired")
    fresh = login_data(ADMIN, token, clock())
    assert (await client.post("/desk/auth/telegram", json={"init_data": fresh})).status == 200
    # Opened again from Telegram while signed in: new login data, the same session; that
    # login data is used up too (nobody else can exchange it).
    reopened = login_data(ADMIN, token, clock(), query_id="AAHdF6IQAAAAAN0Y")
    again = await client.post("/desk/auth/telegram", json={"init_data": reopened})
    assert again.status == 200 and COOKIE not in again.cookies
    client.session.cookie_jar.clear()
    stolen = await client.post("/desk/auth/telegram", json={"init_data": reopened})
    assert stolen.status == 403


async def test_login_must_be_json_from_the_desks_origin(
    client: TestClient[Any, Any], desk: BotRunner
) -> None:
    data = login_data(ADMIN, desk.settings.telegram.token.get_secret_value(), desk.clock())
    as_form = await client.post("/desk/auth/telegram", data={"init_data": data})
    assert as_form.status == 400  # what a cross-site <form> can send
    foreign = await client.post(
        "/desk/auth/telegram", json={"init_data": data}, headers={"Origin": "https://evil.test"}
    )
    assert foreign.status == 400
    assert await sql(desk.settings, "SELECT COUNT(*) FROM web_sessions") == [(0,)]


async def test_a_session_survives_a_restart_and_expires(
    client: TestClient[Any, Any], desk: BotRunner, clock: FrozenClock
) -> None:
    await sign_in(client, desk)
    await desk.restart()
    async with client_for(desk) as second:
        second.session.cookie_jar.update_cookies(
            {c.key: c.value for c in client.session.cookie_jar}
        )
        await page(second, "/desk/queue")
        clock.advance(seconds=desk.settings.web.session_max_age + 1)
        html = await page(second, "/desk/queue", 401)
        assert zh("web.error.signin") in html and zh("web.signin.how") in html


async def test_an_admin_removed_from_the_configuration_is_locked_out(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    web = {"enabled": True, "port": 0}
    runner = BotRunner(make_settings(stub, web=web), clock=clock)
    await runner.start()
    try:
        # Without a public address there is no Mini App: the menu button is Telegram's own.
        assert stub.menu_buttons[ADMIN.id] == {"type": "default"}
        async with client_for(runner) as http:
            assert (await sign_in(http, runner)).status == 200
            await page(http, "/queue")
            cookies = {c.key: c.value for c in http.session.cookie_jar}
        await runner.stop()
        runner.settings = make_settings(stub, web=web, roles={"admin_ids": [OUTSIDER.id]})
        await runner.start()
        async with client_for(runner) as http:
            http.session.cookie_jar.update_cookies(cookies)
            assert zh("web.error.not_allowed") in await page(http, "/queue", 403)
    finally:
        await runner.stop()


# ------------------------------------------------------------------------- login links
async def web_link(stub: FakeBotApi) -> tuple[SentMessage, str]:
    reply = await Chat(stub, ADMIN).send("/web", expect="#login=")
    match = re.search(r"#login=([A-Za-z0-9_-]+)", reply.plain)
    assert match is not None
    return reply, match[1]


async def test_web_sends_a_one_time_link_and_the_mini_app_button(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner, clock: FrozenClock
) -> None:
    reply, token = await web_link(stub)
    assert "https://desk.example.org/desk/#login=" in reply.plain
    assert reply.reply_markup is not None
    [button] = reply.reply_markup["inline_keyboard"][0]
    assert button["web_app"] == {"url": "https://desk.example.org/desk/"}
    # The token is stored hashed only.
    assert await sql(desk.settings, "SELECT COUNT(*) FROM web_login_links WHERE token_hash = ?",
               (token,)) == [(0,)]  # fmt: skip
    first = await client.post("/desk/auth/link", json={"token": token})
    assert first.status == 200 and COOKIE in first.cookies
    await page(client, "/desk/queue")
    client.session.cookie_jar.clear()
    reused = await client.post("/desk/auth/link", json={"token": token})
    assert reused.status == 403
    assert (await reused.json())["error"] == zh("web.error.link_invalid")
    assert (await client.get("/desk/queue")).status == 401


async def test_an_expired_login_link_is_refused(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner, clock: FrozenClock
) -> None:
    _, token = await web_link(stub)
    clock.advance(seconds=desk.settings.web.login_link_max_age + 1)
    expired = await client.post("/desk/auth/link", json={"token": token})
    assert expired.status == 403
    assert (await client.post("/desk/auth/link", json={"token": "made-up"})).status == 403


async def test_web_is_refused_in_groups_and_ignored_from_others(
    stub: FakeBotApi, make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    """/web is an office command: in a group other than the office's it is not answered at
    all (#13); in the office group it says to ask in private; never a link there."""
    office = -100555
    settings = make_settings(
        stub,
        roles={"office_chat_id": office},
        web={"enabled": True, "port": 0, "public_url": "https://desk.example.org/desk"},
    )
    async with started(settings, clock):
        mark = stub.mark()
        stub.send_group_text(ADMIN, -100777, "/web")
        stub.send_group_text(ADMIN, office, "/web")
        refused = await stub.wait_for(office, after=mark)
        assert refused.plain == zh("web.command.private")
        assert "#login=" not in refused.plain
        answer = await Chat(stub, OUTSIDER).send("/web")
        assert "#login=" not in answer.plain
        await stub.wait_idle(quiet=0.3)
        assert [m for m in stub.sent if m.seq > mark and m.chat_id == -100777] == []
        assert await sql(settings, "SELECT COUNT(*) FROM web_login_links") == [(0,)]


async def test_web_says_when_the_desk_is_off(stub: FakeBotApi, runner: BotRunner) -> None:
    reply = await Chat(stub, ADMIN).send("/web")
    assert reply.plain == zh("web.command.disabled")
    assert ADMIN.id not in stub.menu_buttons


async def test_static_files_are_served_and_nothing_else(
    client: TestClient[Any, Any], desk: BotRunner
) -> None:
    css = await client.get("/desk/static/desk.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert "--tg-theme-bg-color" in await css.text()
    script = await client.get("/desk/static/desk.js")
    assert script.content_type == "text/javascript" and "tgWebAppData" in await script.text()
    for name in ("base.html", "..%2Fserver.py", "desk.cs"):
        assert (await client.get(f"/desk/static/{name}")).status == 404


async def test_admins_get_the_menu_button_at_start_up(stub: FakeBotApi, desk: BotRunner) -> None:
    button = stub.menu_buttons[ADMIN.id]
    assert button["type"] == "web_app"
    assert button["web_app"] == {"url": "https://desk.example.org/desk/"}
    scope = json.dumps({"chat_id": ADMIN.id, "type": "chat"}, sort_keys=True)
    commands = [c["command"] for c in stub.commands[(scope, "")]]
    assert "web" in commands


# --------------------------------------------------------------------------------- pages
async def test_the_queue_shows_the_columns_and_hides_who_sent_anonymously(
    client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    await sign_in(client, desk)
    html = await page(client, "/desk/queue")
    row = html.split(f'data-id="{items.anonymous}"', 1)[1].split("</tr>", 1)[0]
    for column in ("问题反映", zh("status.new"), zh("summary.anonymous"), "路灯"):
        assert column in row
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in row  # escaped, not run
    assert "<script>alert" not in html
    named_row = html.split(f'data-id="{items.named}"', 1)[1].split("</tr>", 1)[0]
    assert "幸福路的路灯坏了" in named_row and "第二行" not in named_row  # first line only
    for identity in (str(BOB.id), "王", "小明", "wang_xm"):
        assert identity not in html
    assert tn("zh-Hans", "web.queue.count", 2, n=2) in html


async def test_every_page_refuses_without_a_session(
    client: TestClient[Any, Any], items: Items
) -> None:
    for path in (
        "/desk/queue",
        f"/desk/items/{items.named}",
        f"/desk/items/{items.named}/files/0",
    ):
        html = await page(client, path, 401)
        assert zh("web.error.signin") in html
    for path in (
        "/desk/logout",
        "/desk/language",
        f"/desk/items/{items.named}/files/0/send",
        f"/desk/items/{items.named}/actions/accept",
    ):
        assert (await client.post(path, data={"csrf": "x"})).status == 401


async def test_posts_need_the_sessions_csrf_token_and_the_desks_origin(
    client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    await sign_in(client, desk)
    csrf = csrf_of(await page(client, "/desk/queue"))
    forged = await client.post("/desk/language", data={"csrf": "forged", "lang": "en"})
    assert forged.status == 403
    assert zh("web.error.forged") in await forged.text()
    missing = await client.post("/desk/logout", data={})
    assert missing.status == 403
    foreign = await client.post(
        "/desk/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.test"}
    )
    assert foreign.status == 403
    await page(client, "/desk/queue")  # still signed in
    moved = await client.post(
        "/desk/language",
        data={"csrf": csrf, "lang": "en", "next": "/desk/queue?kind=problem"},
        allow_redirects=False,
    )
    assert moved.status == 303 and moved.headers["Location"] == "/desk/queue?kind=problem"
    assert t("en", "web.queue.title") in await page(client, "/desk/queue")
    elsewhere = await client.post(
        "/desk/language",
        data={"csrf": csrf, "lang": "en", "next": "https://evil.test/"},
        allow_redirects=False,
    )
    assert elsewhere.headers["Location"] == "/desk/queue"
    out = await client.post("/desk/logout", data={"csrf": csrf})
    assert out.status == 200
    assert (await client.get("/desk/queue")).status == 401
    assert await sql(desk.settings, "SELECT COUNT(*) FROM web_sessions") == [(0,)]


async def test_the_queue_filters_searches_and_sorts(
    client: TestClient[Any, Any], desk: BotRunner, items: Items, clock: FrozenClock
) -> None:
    await sign_in(client, desk)
    await sql(
        desk.settings,
        "UPDATE submissions SET status = 'accepted', deadline = ? WHERE id = ?",
        ((START - timedelta(days=2)).isoformat(), items.named),
    )

    def shown(html: str) -> set[int]:
        return {int(n) for n in re.findall(r'<tr class="row[^"]*" data-id="(\d+)"', html)}

    both = {items.named, items.anonymous}
    assert shown(await page(client, "/desk/queue")) == both
    assert shown(await page(client, "/desk/queue?who=anonymous")) == {items.anonymous}
    assert shown(await page(client, "/desk/queue?who=named")) == {items.named}
    assert shown(await page(client, "/desk/queue?status=new")) == {items.anonymous}
    assert shown(await page(client, "/desk/queue?status=open")) == both
    assert shown(await page(client, "/desk/queue?overdue=1")) == {items.named}
    overdue = await page(client, "/desk/queue?overdue=1")
    assert tn("zh-Hans", "web.overdue", 2, days=2) in overdue
    assert tn("zh-Hans", "web.overdue", 2, days=2) in await page(
        client, f"/desk/items/{items.named}"
    )
    assert shown(await page(client, "/desk/queue?q=幸福路")) == {items.named}  # trigram FTS
    assert shown(await page(client, "/desk/queue?q=井盖")) == {items.anonymous}  # 2 chars: LIKE
    assert shown(await page(client, "/desk/queue?q=路灯+坏了")) == both
    assert shown(await page(client, "/desk/queue?q=没有这个词")) == set()
    today = START.astimezone(desk.settings.campaign.tz).date()
    assert shown(await page(client, f"/desk/queue?from={today}&to={today}")) == both
    tomorrow = today + timedelta(days=1)
    assert shown(await page(client, f"/desk/queue?from={tomorrow}")) == set()
    assert shown(await page(client, "/desk/queue?sort=deadline")) == {items.named}
    newest = await page(client, "/desk/queue?sort=new")
    assert newest.index(f'data-id="{items.anonymous}"') < newest.index(f'data-id="{items.named}"')
    oldest = await page(client, "/desk/queue?sort=old")
    assert oldest.index(f'data-id="{items.named}"') < oldest.index(f'data-id="{items.anonymous}"')
    bad = await page(client, "/desk/queue?status=nonsense&from=yesterday&kind=x")
    assert shown(bad) == both
    assert zh("web.queue.ignored", field=zh("web.field.status")) in bad.replace("&#34;", '"')


async def test_the_item_page_shows_everything_but_who_sent_anonymously(
    client: TestClient[Any, Any], desk: BotRunner, items: Items, clock: FrozenClock
) -> None:
    await sign_in(client, desk)
    assert desk.app is not None
    repo = desk_of(desk).desk.repository
    await repo.change_status(items.anonymous, Status.ACCEPTED, actor=f"admin:{ADMIN.id}")
    clock.advance(minutes=5)
    await repo.add_event(
        items.anonymous, actor="group:-100", kind="instruction", body="张书记|<b>尽快</b>修好"
    )
    html = await page(client, f"/desk/items/{items.anonymous}")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 路灯 &amp; 井盖 都坏了" in html
    assert "<b>尽快</b>" not in html and "&lt;b&gt;尽快&lt;/b&gt;修好" in html
    assert zh("summary.anonymous") in html
    for identity in (str(BOB.id), "王", "小明", "wang_xm"):
        assert identity not in html
    history = html.split('class="timeline"', 1)[1]
    assert history.index(zh("status.new")) < history.index(zh("status.accepted"))
    assert history.index(zh("status.accepted")) < history.index("张书记")
    assert zh("web.item.instructions") in html
    assert f"#{items.named}" in html  # similar: the other item about 路灯
    # The actions the core allows the office on an accepted item, each a form (#16).
    actions = set(re.findall(rf"/desk/items/{items.anonymous}/actions/([a-z_]+)", html))
    assert actions == {"start", "respond", "assign", "ask", "set_topic"}  # no group, channel


async def test_an_action_on_the_desk_runs_the_core_function_once(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    await sign_in(client, desk)
    path = f"/desk/items/{items.named}"
    html = await page(client, path)
    csrf = csrf_of(html)
    key = re.search(r'name="key" value="(-\d+)"', html)
    assert key is not None
    assert "/actions/close" not in html  # not from 待审核
    mark = stub.mark()
    form = {"csrf": csrf, "key": key[1]}
    accepted = await client.post(f"{path}/actions/accept", data=form, allow_redirects=False)
    assert accepted.status == 303 and accepted.headers["Location"].endswith("?done=1")
    notice = await stub.wait_for_text(ALICE.id, zh("status.accepted"), after=mark)
    assert f"#{items.named}" in notice.plain  # the sender is told, as from a chat button
    assert stub.messages_to(ALICE.id)[-1].seq == notice.seq
    # The same form sent again (a double click, a reload): acknowledged, nothing twice.
    again = await client.post(f"{path}/actions/accept", data=form, allow_redirects=False)
    assert again.status == 303 and again.headers["Location"].endswith("?done=1")
    await stub.wait_idle(quiet=0.3)
    assert [m for m in stub.messages_to(ALICE.id) if m.seq > mark] == [notice]
    # A move the state machine no longer offers is not there (another form's key); a
    # forged token is refused.
    form["key"] = "-1"
    assert (await client.post(f"{path}/actions/accept", data=form)).status == 404
    forged = await client.post(
        f"{path}/actions/start", data={"csrf": "forged", "key": key[1]}, allow_redirects=False
    )
    assert forged.status == 403
    rejected = await client.post(
        f"{path}/actions/reject", data={"csrf": csrf, "reason": "x"}, allow_redirects=False
    )
    assert rejected.status == 404  # 已受理 cannot be rejected
    asked = await client.post(
        f"{path}/actions/ask",
        data={"csrf": csrf, "key": "-5", "question": "是哪一段路？"},
        allow_redirects=False,
    )
    assert asked.status == 303
    await stub.wait_for_text(ALICE.id, "是哪一段路", after=mark)


async def test_the_item_page_serves_attachments_without_telegram_urls(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    await sign_in(client, desk)
    html = await page(client, f"/desk/items/{items.named}")
    assert "李 秀英" in html  # a named sender's name, as on the chat card
    token = desk.settings.telegram.token.get_secret_value()
    assert token not in html and "api.telegram.org" not in html and "/file/bot" not in html
    assert f'<img src="/desk/items/{items.named}/files/0"' in html
    assert "会议纪要.pdf" in html and "30.27410, 120.15510" in html
    assert "https://uri.amap.com/marker?position=120.155100,30.274100&amp;coordinate=wgs84" in html
    assert zh("web.file.too_big") in html
    photo = await client.get(f"/desk/items/{items.named}/files/0")
    assert photo.status == 200 and await photo.read() == PNG
    assert photo.content_type == "image/jpeg"
    assert photo.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in photo.headers["Content-Security-Policy"]
    document = await client.get(f"/desk/items/{items.named}/files/1")
    assert await document.read() == stub.files["DOC-1"]
    assert document.content_type == "application/octet-stream"
    assert document.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81.pdf"
    )
    big = await client.get(f"/desk/items/{items.named}/files/2")
    assert big.status == 409 and zh("web.file.too_big") in await big.text()
    assert not any(c.method == "getFile" and c.params.get("file_id") == "BIG-1" for c in stub.calls)
    for missing in ("3", "9"):  # the location, and nothing
        assert (await client.get(f"/desk/items/{items.named}/files/{missing}")).status == 404


async def test_a_file_too_big_for_getfile_opens_in_telegram(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    await sign_in(client, desk)
    # An item stored before sizes were kept: getFile itself says it is too big.
    await sql(desk.settings, "UPDATE attachments SET file_size = NULL")
    big = await client.get(f"/desk/items/{items.named}/files/2")
    assert big.status == 409 and zh("web.file.too_big") in await big.text()
    html = await page(client, f"/desk/items/{items.named}")
    csrf = csrf_of(html)
    keys = re.findall(
        r'/files/2/send">\s*<input[^>]*>\s*<input type="hidden" name="key" value="(-\d+)"', html
    )
    assert len(keys) == 1
    mark = stub.mark()
    form = {"csrf": csrf, "key": keys[0]}
    path = f"/desk/items/{items.named}/files/2/send"
    sent = await client.post(path, data=form, allow_redirects=False)
    assert sent.status == 303 and sent.headers["Location"].endswith("?queued=1")
    # Through the outbox, as every message the bot sends (#23): queued with the item, for
    # an administrator's chat (the chat id encrypted), delivered by the outbox's run.
    queued = await sql(
        desk.settings,
        "SELECT recipient, chat_enc FROM outbox WHERE submission_id = ? AND body LIKE '%BIG-1%'",
        (items.named,),
    )
    assert len(queued) == 1 and queued[0][0] == "admin" and str(ADMIN.id) not in queued[0][1]
    copy = await stub.wait_for(ADMIN.id, after=mark, predicate=lambda m: m.method == "sendDocument")
    assert copy.params["document"] == "BIG-1"
    assert zh("web.file.queued") in await page(client, sent.headers["Location"])
    # The same form sent again (a double tap): queued once.
    again = await client.post(path, data=form, allow_redirects=False)
    assert again.status == 303
    await stub.wait_idle(quiet=0.3)
    assert (
        len([m for m in stub.messages_to(ADMIN.id) if m.method == "sendDocument" and m.seq > mark])
        == 1
    )
    forged = await client.post(f"/desk/items/{items.named}/files/2/send", data={"csrf": "no"})
    assert forged.status == 403


async def test_unknown_items_and_paths_are_not_found(
    client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    await sign_in(client, desk)
    for path in ("/desk/items/999", "/desk/items/0", "/desk/items/abc", "/desk/nothing"):
        assert zh("web.error.not_found") in await page(client, path, 404)


class ProbeAction:
    """An action registered by the test, to check the desk's side of web/actions.py."""

    name = "probe"
    label_key = "web.action.done"
    fields: Sequence[ActionField] = (
        ActionField("note", "web.item.text", "textarea", required=True),
    )

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def available(self, viewer: Viewer, item: Any) -> bool:
        return viewer.is_admin and item.status is Status.NEW

    async def run(self, viewer: Viewer, item: Any, form: Any) -> Outcome:
        self.calls.append((viewer.user_id, item.id, form["note"]))
        return Outcome(ok=True, message="")


async def test_actions_run_through_the_registry_with_csrf_and_scope_checked(
    client: TestClient[Any, Any], desk: BotRunner, items: Items
) -> None:
    probe = ProbeAction()
    desk_of(desk).desk.actions.register(probe)
    await sign_in(client, desk)
    html = await page(client, f"/desk/items/{items.anonymous}")
    assert f'action="/desk/items/{items.anonymous}/actions/probe"' in html
    csrf = csrf_of(html)
    forged = await client.post(
        f"/desk/items/{items.anonymous}/actions/probe", data={"csrf": "x", "note": "n"}
    )
    assert forged.status == 403 and probe.calls == []
    unknown = await client.post(
        f"/desk/items/{items.anonymous}/actions/nothing", data={"csrf": csrf}
    )
    assert unknown.status == 404
    done = await client.post(
        f"/desk/items/{items.anonymous}/actions/probe", data={"csrf": csrf, "note": "好"}
    )
    assert done.status == 200 and zh("web.action.done") in await done.text()
    assert probe.calls == [(ADMIN.id, items.anonymous, "好")]
    await sql(desk.settings, "UPDATE submissions SET status = 'accepted' WHERE id = ?",
        (items.anonymous,))  # fmt: skip
    not_now = await client.post(
        f"/desk/items/{items.anonymous}/actions/probe", data={"csrf": csrf, "note": "n"}
    )
    assert not_now.status == 404 and len(probe.calls) == 1


async def test_the_logs_carry_no_token_login_data_or_user(
    client: TestClient[Any, Any],
    desk: BotRunner,
    items: Items,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="web")
    token = desk.settings.telegram.token.get_secret_value()
    data = login_data(ADMIN, token, desk.clock())
    response = await client.post("/desk/auth/telegram", json={"init_data": data})
    session = response.cookies[COOKIE].value
    await page(client, "/desk/queue?q=路灯&who=anonymous")
    await page(client, f"/desk/items/{items.anonymous}")
    await client.post("/desk/auth/telegram", json={"init_data": data + "x"})
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("web")]
    assert any("GET /desk/items/{id} 200" in line for line in lines), lines
    for line in lines:
        for secret in (session, token, data[:40], str(ADMIN.id), "路灯", "anonymous"):
            assert secret not in line, line


# ------------------------------------------------------------------- running with the bot
async def test_jindianzi_run_serves_the_desk_in_webhook_mode_and_stops_it_cleanly(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    """``jindianzi run --webhook`` as a process: the desk listens beside the webhook server
    in the same process, answers, and is gone after SIGTERM (exit 0, no traceback)."""
    webhook_port, desk_port = free_port(), free_port()
    env = bot_env(
        stub,
        tmp_path / "bot.sqlite3",
        tmp_path / "keys.json",
        WEB__ENABLED="true",
        WEB__PORT=str(desk_port),
        ROLES__ADMIN_IDS=f"[{ADMIN.id}]",
    )
    url = "https://bot.example.org/jindianzi/updates"
    process = await start_bot(env, "--webhook", url, "--listen", f"127.0.0.1:{webhook_port}")
    try:
        await stub.wait_until(lambda: stub.webhook is not None, timeout=30)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{desk_port}/healthz") as answer:
                        assert answer.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "the desk never listened"
                    await asyncio.sleep(0.1)
            async with session.get(f"http://127.0.0.1:{desk_port}/queue") as answer:
                assert answer.status == 401
        body = update(9, "/web")
        body["message"]["chat"]["id"] = ADMIN.id
        body["message"]["from"] = ADMIN.as_json()
        mark = stub.mark()
        secret = str((stub.webhook or {})["secret_token"])
        assert await post(webhook_port, body, secret) == 200
        link = await stub.wait_for(ADMIN.id, after=mark, timeout=30)
        assert f"http://127.0.0.1:{desk_port}/#login=" in link.plain
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log and stub.token not in log
    assert f"web desk listening on 127.0.0.1:{desk_port}" in log
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", desk_port), timeout=2):
        pass


async def test_the_desk_port_is_free_again_after_the_bot_stops(desk: BotRunner) -> None:
    port = desk_of(desk).port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    await desk.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
