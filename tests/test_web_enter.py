"""/enter from the web desk (#20 with #23), over HTTP against the bot built with
build_application: the office enters an item heard on the phone through a form that calls
the same core function as the chat's /enter; it is announced, follows the same workflow
(a named item's notices become 回访 tasks in the clerk's chat); a form sent twice is one
item; an anonymous item keeps no phone; nobody but the office reaches the form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import ADMIN, BotRunner
from tests.databases import both_backends
from tests.webdesk import client_for, csrf_of, sign_in, sql, started

OFFICE = -100888
MEMBER = FakeUser(id=4301, first_name="城建", last_name="小张")


# On SQLite and on PostgreSQL (#24): an item entered on the desk.
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        web={"enabled": True, "port": 0, "public_url": "https://desk.example.org/desk"},
        roles={"office_chat_id": OFFICE},
        places=[{"id": "dongcun", "names": {"zh-Hans": "东村"}}],
        units=[{"id": "cjb", "names": {"zh-Hans": "城建办"}, "member_ids": [MEMBER.id]}],
    )
    async with started(settings) as runner:
        yield runner


async def test_the_office_enters_an_item_heard_on_the_phone_on_the_desk(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    async with client_for(desk) as client:
        await sign_in(client, desk)
        queue = await (await client.get("/desk/queue")).text()
        assert 'href="/desk/enter"' in queue
        page = await client.get("/desk/enter")
        html = await page.text()
        assert page.status == 200
        assert zh("source.phone") in html and "东村" in html
        key = re.search(r'name="key" value="(-\d+)"', html)
        assert key is not None
        form = {
            "csrf": csrf_of(html),
            "key": key[1],
            "source": "phone",
            "kind": "problem",
            "place": "dongcun",
            "name": "张三",
            "phone": "13800001111",
            "text": "村口的路灯坏了一个星期，晚上很黑",
        }
        mark = stub.mark()
        entered = await client.post("/desk/enter", data=form, allow_redirects=False)
        assert entered.status == 303
        number = int(entered.headers["Location"].split("/items/", 1)[1].split("?", 1)[0])
        stored = await sql(
            desk.settings,
            "SELECT source, kind, place_id, contact_name, contact_phone, anonymous, status"
            " FROM submissions WHERE id = ?",
            (number,),
        )
        assert stored == [("phone", "problem", "dongcun", "张三", "13800001111", 0, "new")]
        item = await (await client.get(entered.headers["Location"])).text()
        assert zh("web.enter.done") in item and "村口的路灯坏了一个星期" in item
        # Announced to the office like any item; the same form again is the same item.
        card = await stub.wait_for(
            OFFICE, after=mark, predicate=lambda m: f"#{number} " in m.plain and bool(m.buttons)
        )
        assert "张三" in card.plain
        again = await client.post("/desk/enter", data=form, allow_redirects=False)
        assert again.headers["Location"] == entered.headers["Location"]
        assert await sql(desk.settings, "SELECT COUNT(*) FROM submissions") == [(1,)]
        # The same workflow: accepted on the desk, the person is told by a 回访 task in
        # the clerk's own chat (nobody to message on Telegram).
        page_html = await (await client.get(f"/desk/items/{number}")).text()
        action_key = re.search(r'name="key" value="(-\d+)"', page_html)
        assert action_key is not None
        mark = stub.mark()
        accepted = await client.post(
            f"/desk/items/{number}/actions/accept",
            data={"csrf": csrf_of(page_html), "key": action_key[1]},
            allow_redirects=False,
        )
        assert accepted.headers["Location"].endswith("?done=1")
        task = await stub.wait_for_text(ADMIN.id, "回访任务", after=mark)
        assert f"#{number}" in task.plain and "13800001111" in task.plain


async def test_an_anonymous_entry_keeps_no_phone_and_only_the_office_reaches_the_form(
    desk: BotRunner,
) -> None:
    async with client_for(desk) as client:
        await sign_in(client, desk)
        html = await (await client.get("/desk/enter")).text()
        form = {
            "csrf": csrf_of(html),
            "key": "-77",
            "source": "box",
            "kind": "suggestion",
            "name": "",
            "phone": "13800001111",
            "text": "建议多设几个垃圾桶",
        }
        refused = await client.post("/desk/enter", data=form)
        assert refused.status == 400
        body = await refused.text()
        assert zh("enter.anonymous_contact") in body and "建议多设几个垃圾桶" in body  # kept
        assert await sql(desk.settings, "SELECT COUNT(*) FROM submissions") == [(0,)]
        form["phone"] = ""
        done = await client.post("/desk/enter", data=form, allow_redirects=False)
        assert done.status == 303
        assert await sql(
            desk.settings, "SELECT anonymous, contact_name, contact_phone, source FROM submissions"
        ) == [(1, None, None, "box")]
        forged = await client.post("/desk/enter", data={**form, "csrf": "forged", "key": "-78"})
        assert forged.status == 403
    async with client_for(desk) as client:
        await sign_in(client, desk, MEMBER)
        assert (await client.get("/desk/enter")).status == 404
        html = await (await client.get("/desk/queue")).text()
        assert 'href="/desk/enter"' not in html
        member_form = {**form, "csrf": csrf_of(html), "key": "-79"}
        assert (await client.post("/desk/enter", data=member_form)).status == 404
    assert await sql(desk.settings, "SELECT COUNT(*) FROM submissions") == [(1,)]
