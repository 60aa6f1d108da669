"""公开 on the web desk (#23 with #17 point 10), over HTTP against the bot built with
build_application and the channel on the Bot API stand-in: the item page's 公开 opens a
preview of exactly the channel post (bot.core.publishing, the chat's functions), personal
data masked by default, with the masking toggle, the public summary editable and 确认发布
carrying the digest of the post shown; nothing reaches the channel before that, and a post
that changed after its preview is shown again, not published unseen."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import BotRunner, FrozenClock
from tests.databases import both_backends, sqlite_only
from tests.webdesk import (
    ALICE,
    client_for,
    csrf_of,
    desk_settings,
    query,
    sign_in,
    started,
    submit,
)

OFFICE = -100888
CHANNEL = -100999
CLERK = FakeUser(id=4201, first_name="城建", last_name="小王")
TEXT = "我叫王小明，幸福路12号501室门口的井盖丢了，电话13812345678，请尽快处理"
PRIVATE = ("13812345678", "12号", "501室", "王小明")


# On SQLite and on PostgreSQL (#24): publishing from the desk; the forms' checks store nothing:
# SQLite only.
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = desk_settings(
        stub,
        make_settings,
        roles={"office_chat_id": OFFICE, "channel_id": CHANNEL},
        units=[{"id": "cjb", "names": {"zh-Hans": "城建办"}, "member_ids": [CLERK.id]}],
    )
    async with started(settings, FrozenClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))) as runner:
        yield runner


async def page(client: TestClient[Any, Any], path: str, status: int = 200) -> str:
    response = await client.get(path)
    html: str = await response.text()
    assert response.status == status, html[:400]
    return html


def hidden(html: str, form_id: str) -> dict[str, str]:
    form = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))


def post_of(html: str) -> str:
    return html.split('id="publish-post">', 1)[1].split("</blockquote>", 1)[0]


async def act(client: TestClient[Any, Any], number: int, name: str, **fields: str) -> str:
    html = await page(client, f"/desk/items/{number}")
    key = re.search(r'name="key" value="(-\d+)"', html)
    data = {"csrf": csrf_of(html), "key": key[1] if key else "-1", **fields}
    response = await client.post(
        f"/desk/items/{number}/actions/{name}", data=data, allow_redirects=False
    )
    return response.headers.get("Location", "")


async def send(
    client: TestClient[Any, Any], path: str, data: dict[str, str], status: int = 303
) -> Any:
    response = await client.post(path, data=data, allow_redirects=False)
    assert response.status == status, (await response.text())[:400]
    return response


async def test_publishing_from_the_desk_goes_through_the_preview(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    number = await submit(stub, ALICE, TEXT, anonymous=False)
    ref = f"#{number}"
    async with client_for(desk) as office:
        await sign_in(office, desk)
        assert (await act(office, number, "accept")).endswith("?done=1")
        answer = "已安排维修，本周内补上井盖。"
        assert (await act(office, number, "respond", response=answer)).endswith("?done=1")
        item = await page(office, f"/desk/items/{number}")
        assert 'id="publish-preview"' in item  # a link to the preview, no form that publishes
        assert f"/desk/items/{number}/actions/publish" not in item
        # A form posted to the old action publishes nothing: it leads to the preview.
        data = {"csrf": csrf_of(item), "key": "-5"}
        old = await send(office, f"/desk/items/{number}/actions/publish", data)
        assert old.headers["Location"] == f"/desk/items/{number}/publish"

        # The preview: the post, masked; nothing in the channel yet.
        first = await page(office, f"/desk/items/{number}/publish")
        post = post_of(first)
        for piece in PRIVATE:
            assert piece not in post, piece
        assert "138******78" in post and answer in post and ref in post
        note = first.split('id="publish-note">', 1)[1].split("</div>", 1)[0]
        assert zh("publish.preview", ref=ref) in note
        assert tn("zh-Hans", "publish.masked", 4, n=4) in note
        await stub.wait_idle(quiet=0.3)
        assert stub.messages_to(CHANNEL) == []
        stale = hidden(first, "publish-confirm")

        # 不遮盖, then 遮盖 again: the toggle, through the core.
        await send(
            office, f"/desk/items/{number}/publish/masking", hidden(first, "publish-masking")
        )
        unmasked = await page(office, f"/desk/items/{number}/publish")
        assert "13812345678" in post_of(unmasked) and zh("publish.unmasked") in unmasked
        assert zh("publish.action.mask") in unmasked
        back = hidden(unmasked, "publish-masking")
        assert back["unmasked"] == "0"
        await send(office, f"/desk/items/{number}/publish/masking", back)
        assert "13812345678" not in post_of(await page(office, f"/desk/items/{number}/publish"))

        # 编辑: the public summary replaces the text in the post (masked too); the ledger
        # keeps the resident's text.
        edited = await page(office, f"/desk/items/{number}/publish")
        summary = "幸福路一处井盖缺失，已安排补上。联系电话13900001111"
        form = {**hidden(edited, "publish-edit"), "summary": summary}
        await send(office, f"/desk/items/{number}/publish/edit", form)
        shown = await page(office, f"/desk/items/{number}/publish")
        assert "井盖缺失" in post_of(shown) and "139******11" in post_of(shown)
        assert "井盖丢了" not in post_of(shown) and zh("publish.summary_used") in shown
        assert f">{summary}</textarea>" in shown

        # The first preview's 确认发布 is stale now: not published, the new preview shown.
        changed = await send(office, f"/desk/items/{number}/publish/confirm", stale, 409)
        assert zh("publish.changed", ref=ref) in await changed.text()
        await stub.wait_idle(quiet=0.3)
        assert stub.messages_to(CHANNEL) == []

        # 确认发布 with the digest of the post shown: the channel gets exactly it.
        mark = stub.mark()
        confirm = hidden(shown, "publish-confirm")
        done = await send(office, f"/desk/items/{number}/publish/confirm", confirm)
        assert done.headers["Location"] == f"/desk/items/{number}?done=1"
        sent = await stub.wait_for_text(CHANNEL, ref, after=mark, timeout=10)
        assert sent.text == post_of(shown)
        # The same confirmation again (a reload): nothing twice.
        again = await send(office, f"/desk/items/{number}/publish/confirm", confirm)
        assert again.headers["Location"] == f"/desk/items/{number}?done=1"
        await stub.wait_idle(quiet=0.3)
        assert len([m for m in stub.messages_to(CHANNEL) if m.method == "sendMessage"]) == 1
        (text,) = query(desk.settings, "SELECT text FROM submissions WHERE id = ?", (number,))[0]
        assert text == TEXT
        # Published: no preview to confirm any more (the core's refusal).
        after = await page(office, f"/desk/items/{number}/publish", 409)
        assert 'id="publish-confirm"' not in after


@sqlite_only
async def test_the_preview_forms_need_the_csrf_token_and_the_office(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    number = await submit(stub, ALICE, TEXT, anonymous=False)
    async with client_for(desk) as office:
        await sign_in(office, desk)
        assert (await act(office, number, "accept")).endswith("?done=1")
        assert (await act(office, number, "respond", response="已处理。")).endswith("?done=1")
        shown = await page(office, f"/desk/items/{number}/publish")
        forged = {**hidden(shown, "publish-confirm"), "csrf": "forged"}
        await send(office, f"/desk/items/{number}/publish/confirm", forged, 403)
        edit = {**hidden(shown, "publish-edit"), "csrf": "forged", "summary": "x"}
        await send(office, f"/desk/items/{number}/publish/edit", edit, 403)
        assert stub.messages_to(CHANNEL) == []
        assert 'id="publish-confirm"' in await page(office, f"/desk/items/{number}/publish")
    async with client_for(desk) as unit:
        await sign_in(unit, desk, CLERK)
        # Not the unit's item: not there.
        await page(unit, f"/desk/items/{number}/publish", 404)
    async with client_for(desk) as nobody:
        assert (await nobody.get(f"/desk/items/{number}/publish")).status == 401
