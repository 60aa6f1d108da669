"""The units' loop (#18) on the web desk (#23), over HTTP against the bot built with
build_application: the office's 派单 form, a unit member's 签收, 办理进展, 延期申请, 退单 and
办结 forms on their unit's items (each through the same core function as the task card's
buttons, the unit checked there), the office's 审核 on the desk, and the queue's unit and
未签收 columns and filters. Another unit's member reaches nothing of it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import BotRunner, FrozenClock
from tests.databases import both_backends
from tests.webdesk import ALICE, BOB, client_for, csrf_of, query, sign_in, sql, started, submit

OFFICE = -100777
CLERK = FakeUser(id=4101, first_name="城建", last_name="小张")
OTHER_UNIT = FakeUser(id=4102, first_name="环保", last_name="小刘")


# On SQLite and on PostgreSQL (#24): the desk's dispatch, bounce, urge and unit filters.
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
        limits={"max_submissions_per_hour": 0},
        units=[
            {"id": "cjb", "names": {"zh-Hans": "城建办"}, "member_ids": [CLERK.id]},
            {"id": "hbs", "names": {"zh-Hans": "环保所"}, "member_ids": [OTHER_UNIT.id]},
        ],
    )
    async with started(settings, FrozenClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))) as runner:
        yield runner


def status(runner: BotRunner, number: int) -> str:
    return str(
        query(runner.settings, "SELECT status FROM submissions WHERE id = ?", (number,))[0][0]
    )


async def item_page(client: TestClient[Any, Any], number: int) -> tuple[str, dict[str, str]]:
    """The item page, and the hidden inputs every form on it sends (CSRF token, key)."""
    response = await client.get(f"/desk/items/{number}")
    html = await response.text()
    assert response.status == 200, html[:300]
    key = re.search(r'name="key" value="(-\d+)"', html)
    return html, {"csrf": csrf_of(html), "key": key[1] if key else "-1"}


def actions_on(html: str, number: int) -> list[str]:
    return re.findall(rf"/desk/items/{number}/actions/([a-z_]+)", html)


async def act(
    client: TestClient[Any, Any], number: int, name: str, **fields: str
) -> tuple[int, str]:
    _, hidden = await item_page(client, number)
    response = await client.post(
        f"/desk/items/{number}/actions/{name}",
        data={**hidden, **fields},
        allow_redirects=False,
    )
    return response.status, response.headers.get("Location", "")


async def test_the_office_dispatches_and_the_unit_works_the_item_on_the_desk(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    number = await submit(stub, ALICE, "幸福路的路灯坏了三盏", anonymous=False)
    async with client_for(desk) as office:
        await sign_in(office, desk)
        assert (await act(office, number, "accept"))[1].endswith("?done=1")
        html, _ = await item_page(office, number)
        assert "dispatch" in actions_on(html, number)
        assert 'name="unit"' in html and "城建办" in html and "环保所" in html
        mark = stub.mark()
        done = await act(office, number, "dispatch", unit="cjb", deadline="5", instruction="尽快")
        assert done == (303, f"/desk/items/{number}?done=1")
        assert status(desk, number) == "dispatched"
        task = await stub.wait_for(
            CLERK.id, after=mark, predicate=lambda m: f"#{number}" in m.plain
        )
        assert "尽快" in task.plain and task.buttons  # the task card, with its buttons
        told = await stub.wait_for(ALICE.id, after=mark, predicate=lambda m: "城建办" in m.plain)
        assert f"#{number}" in told.plain
    async with client_for(desk) as other:
        await sign_in(other, desk, OTHER_UNIT)
        assert (await other.get(f"/desk/items/{number}")).status == 404
        queue = await (await other.get("/desk/queue")).text()
        assert f'data-id="{number}"' not in queue
    async with client_for(desk) as unit:
        await sign_in(unit, desk, CLERK)
        html, hidden = await item_page(unit, number)
        assert '<dd class="unit">城建办' in html
        assert actions_on(html, number) == ["sign", "bounce"]  # as the task card offers
        assert "dispatch" not in actions_on(html, number)
        # An office action, asked for by hand, is not there for a unit.
        forged = await unit.post(f"/desk/items/{number}/actions/dispatch", data=hidden)
        assert forged.status == 404
        mark = stub.mark()
        assert (await act(unit, number, "sign"))[1].endswith("?done=1")
        assert status(desk, number) == "signed"
        edit = await stub.wait_for(
            CLERK.id,
            after=mark,
            predicate=lambda m: m.method == "editMessageText" and m.message_id == task.message_id,
        )
        assert zh("unit.action.sign") not in str(edit.buttons) and zh("unit.action.note") in str(
            edit.buttons
        )
        html, _ = await item_page(unit, number)
        assert actions_on(html, number) == ["note", "request_extension", "finish", "bounce"]
        mark = stub.mark()
        assert (await act(unit, number, "note", note="已联系供电所"))[1].endswith("?done=1")
        await stub.wait_for_text(OFFICE, "已联系供电所", after=mark)
        refused = await act(unit, number, "request_extension", wanted="1", reason="材料未到")
        assert refused[1].endswith("?failed=1")  # not later than the deadline: the core's refusal
        assert status(desk, number) == "signed"
        mark = stub.mark()
        answer = "三盏路灯已全部修复"
        assert (await act(unit, number, "finish", answer=answer))[1].endswith("?done=1")
        assert status(desk, number) == "done_pending"
        check = await stub.wait_for_text(OFFICE, answer, after=mark)
        assert check.buttons  # the office's one-tap 审核 in the chat
        html, _ = await item_page(unit, number)
        assert actions_on(html, number) == []
        assert (
            await unit.post(f"/desk/items/{number}/actions/approve_done", data=hidden)
        ).status == 404
    async with client_for(desk) as office:
        clock = desk.clock
        assert isinstance(clock, FrozenClock)
        clock.advance(seconds=1)  # (new login data: a used one is refused)
        await sign_in(office, desk)
        html, _ = await item_page(office, number)
        assert {"approve_done", "return_done"} <= set(actions_on(html, number))
        mark = stub.mark()
        assert (await act(office, number, "approve_done"))[1].endswith("?done=1")
        assert status(desk, number) == "answered"
        await stub.wait_for_text(ALICE.id, answer, after=mark)
    history = await sql(
        desk.settings,
        "SELECT step, actor FROM history WHERE submission_id = ? ORDER BY id",
        (number,),
    )
    steps = [(step, actor.split(":")[0]) for step, actor in history if step]
    assert steps[-5:] == [
        ("dispatch", "admin"),
        ("sign", "unit"),
        ("note", "unit"),
        ("finish", "unit"),
        ("approve_done", "admin"),
    ]


async def test_a_unit_member_bounces_with_a_reason_and_cannot_act_on_another_units_item(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    ours = await submit(stub, ALICE, "东村桥头的垃圾无人清运", anonymous=False)
    theirs = await submit(stub, BOB, "河道里有人倒垃圾", anonymous=True)
    for number, unit in ((ours, "cjb"), (theirs, "hbs")):
        await sql(
            desk.settings,
            "UPDATE submissions SET unit_id = ?, status = 'dispatched' WHERE id = ?",
            (unit, number),
        )
    async with client_for(desk) as client:
        await sign_in(client, desk, CLERK)
        _, hidden = await item_page(client, ours)
        # Another unit's item: not there, for a page and for a form alike.
        sent = await client.post(f"/desk/items/{theirs}/actions/sign", data=hidden)
        assert sent.status == 404
        assert status(desk, theirs) == "dispatched"
        mark = stub.mark()
        bounced = await act(client, ours, "bounce", reason="不属于本单位职责")
        assert bounced[1].endswith("?done=1")
        assert status(desk, ours) == "returned"
        line = await stub.wait_for_text(OFFICE, "不属于本单位职责", after=mark)
        assert line.buttons  # re-dispatch or take back, in the office's chat
        html, _ = await item_page(client, ours)
        assert actions_on(html, ours) == []


async def test_the_queue_shows_and_filters_units_and_unsigned_items(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    late = await submit(stub, ALICE, "学校门口的红绿灯坏了", anonymous=False)
    signed = await submit(stub, BOB, "菜市场的排水沟堵了", anonymous=True)
    other = await submit(stub, ALICE, "河边的护栏松了", anonymous=False)
    none = await submit(stub, BOB, "建议增加公交班次", anonymous=True)
    rows = (
        (late, "cjb", "dispatched", "2026-11-20T00:00:00+00:00"),  # sign-for limit passed
        (signed, "cjb", "signed", "2026-11-20T00:00:00+00:00"),
        (other, "hbs", "dispatched", "2026-11-30T00:00:00+00:00"),  # still within it
    )
    for number, unit, state, due in rows:
        await sql(
            desk.settings,
            "UPDATE submissions SET unit_id = ?, status = ?, sign_due = ? WHERE id = ?",
            (unit, state, due, number),
        )

    def shown(html: str) -> list[int]:
        return sorted(map(int, re.findall(r'<tr class="row[^"]*" data-id="(\d+)"', html)))

    async with client_for(desk) as client:
        await sign_in(client, desk)
        html = await (await client.get("/desk/queue")).text()
        assert shown(html) == sorted((late, signed, other, none))
        assert f"<th>{zh('web.field.unit')}</th>" in html
        row = html.split(f'data-id="{late}"', 1)[1].split("</tr>", 1)[0]
        assert "城建办" in row and zh("web.unsigned") in row
        row = html.split(f'data-id="{other}"', 1)[1].split("</tr>", 1)[0]
        assert "环保所" in row and zh("web.unsigned") not in row
        by_unit = await (await client.get("/desk/queue?unit=cjb")).text()
        assert shown(by_unit) == sorted((late, signed))
        unsigned = await (await client.get("/desk/queue?unsigned=1")).text()
        assert shown(unsigned) == [late]
        both = await (await client.get("/desk/queue?unit=hbs&unsigned=1")).text()
        assert shown(both) == []
        bad = await (await client.get("/desk/queue?unit=nowhere")).text()
        assert zh("web.queue.ignored", field=zh("web.field.unit")) in bad
    async with client_for(desk) as client:
        await sign_in(client, desk, CLERK)
        html = await (await client.get("/desk/queue?unsigned=1")).text()
        assert shown(html) == [late]
        # A unit member cannot widen their queue with the office's unit filter.
        html = await (await client.get("/desk/queue?unit=hbs")).text()
        assert shown(html) == sorted((late, signed))
        assert 'name="unit"' not in html.split("</form>", 1)[0]


async def test_the_office_dispatches_ticked_items_to_a_unit_in_bulk_once(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    """派单 from the queue: the unit and the deadline are chosen on the confirmation page;
    each item goes through bot/core/loop.py's dispatch with a key of its own (bot.core.bulk),
    its task card reaches the unit's member, and the same confirmation sent again changes
    nothing twice."""
    first = await submit(stub, ALICE, "幸福路的路灯坏了三盏", anonymous=False)
    second = await submit(stub, BOB, "菜市场门口的井盖松动了", anonymous=True)
    fresh = await submit(stub, ALICE, "建议公交站加装遮雨棚", anonymous=False)
    async with client_for(desk) as office:
        await sign_in(office, desk)
        for number in (first, second):
            assert (await act(office, number, "accept"))[1].endswith("?done=1")
        queue = await (await office.get("/desk/queue")).text()
        offered = re.findall(r'<option value="([a-z_]+)">', queue.split('id="bulk-action"')[1])
        assert "dispatch" in offered
        # The unit is not chosen on the queue's form, but next to the items.
        assert 'data-bulk-fields="dispatch"' not in queue
        csrf = csrf_of(queue)
        ticked = [("item", str(n)) for n in (first, second, fresh)]
        confirm = await office.post(
            "/desk/bulk", data=[("csrf", csrf), ("action", "dispatch"), *ticked]
        )
        page = await confirm.text()
        assert confirm.status == 200, page[:400]
        form = page.split('id="bulk-confirm"', 1)[1].split("</form>", 1)[0]
        assert 'id="bulk-choose"' in form and "城建办" in form and "环保所" in form
        assert 'name="deadline"' in form
        assert zh("web.bulk.not_now", ref=f"#{fresh}", status=zh("status.new")) in page
        hidden = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form)
        chosen = [*hidden, ("unit", "hbs"), ("deadline", "5")]
        mark = stub.mark()
        applied = await office.post("/desk/bulk/apply", data=chosen)
        result = await applied.text()
        assert applied.status == 200, result[:400]
        done = re.findall(r'<li class="(ok|refused)" data-id="(\d+)">', result)
        assert done == [("ok", str(first)), ("ok", str(second)), ("refused", str(fresh))]
        assert [status(desk, n) for n in (first, second, fresh)] == ["dispatched"] * 2 + ["new"]
        units = await sql(
            desk.settings, "SELECT unit_id FROM submissions WHERE id IN (?, ?)", (first, second)
        )
        assert [u for (u,) in units] == ["hbs", "hbs"]
        for ref in (f"#{first}", f"#{second}"):
            task = await stub.wait_for_text(OTHER_UNIT.id, ref, after=mark)
            assert task.buttons  # the unit's task card, with its buttons
        rows = "SELECT COUNT(*) FROM history WHERE submission_id IN (?, ?)"
        before = await sql(desk.settings, rows, (first, second))
        outbox = await sql(desk.settings, "SELECT MAX(id) FROM outbox")
        # The same confirmation again (a reload): nothing twice, and it says so.
        again = await (await office.post("/desk/bulk/apply", data=chosen)).text()
        assert again.count(zh("web.bulk.again")) == 2
        assert await sql(desk.settings, rows, (first, second)) == before
        assert await sql(desk.settings, "SELECT MAX(id) FROM outbox") == outbox


async def test_the_office_urges_the_unit_from_the_item_page_once_an_hour(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    """催办 (#19) on the desk's item page, as on the chat card: the unit is reminded through
    bot.core.escalation.urge, the item's history records it, and a second 催办 within the
    hour is refused by the core; a unit member is not offered it."""
    number = await submit(stub, ALICE, "幸福路的路灯坏了三盏", anonymous=False)
    async with client_for(desk) as office:
        await sign_in(office, desk)
        assert (await act(office, number, "accept"))[1].endswith("?done=1")
        html, _ = await item_page(office, number)
        assert "urge" not in actions_on(html, number)  # not with a unit yet
        assert (await act(office, number, "dispatch", unit="cjb"))[1].endswith("?done=1")
        html, _ = await item_page(office, number)
        assert "urge" in actions_on(html, number) and zh("admin.action.urge") in html
        mark = stub.mark()
        assert (await act(office, number, "urge"))[1].endswith("?done=1")
        urged = await stub.wait_for(
            CLERK.id, after=mark, predicate=lambda m: "催办" in m.plain and f"#{number}" in m.plain
        )
        assert urged.method == "sendMessage"
        steps = "SELECT step FROM history WHERE submission_id = ? AND step = 'urge'"
        assert len(await sql(desk.settings, steps, (number,))) == 1
        assert (await act(office, number, "urge"))[1].endswith("?failed=1")  # within the hour
        assert len(await sql(desk.settings, steps, (number,))) == 1
    async with client_for(desk) as unit:
        await sign_in(unit, desk, CLERK)
        html, hidden = await item_page(unit, number)
        assert "urge" not in actions_on(html, number)
        forged = await unit.post(f"/desk/items/{number}/actions/urge", data=hidden)
        assert forged.status == 404
