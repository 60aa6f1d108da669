"""End to end: bulk actions on the web desk's queue (#23), through aiohttp's test client
against the desk the bot built with build_application serves, with the office chat on the
Bot API stand-in: tick rows, choose an action, confirm, and each item goes through the
same core function as a chat button, with a request key of its own; a confirmation sent
twice changes nothing twice; items the action does not fit are refused with the reason;
the senders are told and every copy of each card is edited, as after a chat button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.core.workflow import Status
from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi
from tests.conftest import ADMIN, BotRunner, FrozenClock
from tests.databases import both_backends, sqlite_only
from tests.webdesk import (
    ALICE,
    BOB,
    card_edit,
    csrf_of,
    desk_of,
    desk_settings,
    office_card,
    query,
    sign_in,
    sql,
    started,
    submit,
)
from web.actions import form_key
from web.bulk import MAX_ITEMS, chosen_ids, item_key

OFFICE = -1001234567
START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


# On SQLite and on PostgreSQL (#24): the desk's bulk actions; a refused action and the forms'
# checks store nothing: SQLite only.
make_settings = both_backends()


def zh(key: str, **values: Any) -> str:
    return t("zh-Hans", key, **values)


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = desk_settings(stub, make_settings, roles={"office_chat_id": OFFICE})
    async with started(settings, FrozenClock(START)) as runner:
        yield runner


async def html_of(client: TestClient[Any, Any], response: Any, status: int = 200) -> str:
    text: str = await response.text()
    assert response.status == status, text[:600]
    return text


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """The confirmation form's fields, as the browser sends them back."""
    form = html.split('id="bulk-confirm"', 1)[1].split("</form>", 1)[0]
    found = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form)
    return [(name, unescape(value)) for name, value in found]


def outcome(html: str) -> dict[int, str]:
    """Each item of the outcome: its class (ok / refused) and the message after it."""
    lines = re.findall(r'<li class="(ok|refused)" data-id="(\d+)">(.*?)</li>', html, re.S)
    return {int(n): f"{kind} {re.sub(r'<[^>]+>', ' ', body)}" for kind, n, body in lines}


def statuses(settings: Settings, *ids: int) -> list[str]:
    return [query(settings, "SELECT status FROM submissions WHERE id = ?", (n,))[0][0] for n in ids]


async def confirm_page(
    client: TestClient[Any, Any], csrf: str, action: str, ids: list[int], **values: str
) -> Any:
    data = [("csrf", csrf), ("action", action), ("from", "status=new")]
    data += [("item", str(n)) for n in ids] + list(values.items())
    return await client.post("/desk/bulk", data=data)


async def test_a_clerk_accepts_items_in_bulk_once_and_the_chat_sees_it(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner
) -> None:
    first = await submit(stub, ALICE, "幸福路的路灯坏了，晚上很黑", anonymous=False)
    second = await submit(stub, BOB, "菜市场门口的井盖松动了", anonymous=True)
    third = await submit(stub, ALICE, "建议公交站加装遮雨棚", anonymous=False)
    taken = await submit(stub, BOB, "小区垃圾清运不及时", anonymous=True)
    cards = {number: await office_card(stub, OFFICE, number) for number in (first, second, third)}
    await sign_in(client, desk)
    # Someone accepted one of them from the chat meanwhile.
    repo = desk_of(desk).desk.repository
    await repo.change_status(taken, Status.ACCEPTED, actor=f"admin:{ADMIN.id}")

    queue = await html_of(client, await client.get("/desk/queue"))
    assert 'form class="bulk" id="bulk"' in queue
    for number in (first, second, third, taken):
        assert f'name="item" value="{number}" form="bulk"' in queue
    offered = re.findall(r'<option value="([a-z_]+)">', queue.split('id="bulk-action"')[1])
    assert offered[:4] == ["accept", "reject", "set_topic", "assign"]
    assert "dispatch" not in offered  # no units configured: nothing to dispatch to
    csrf = csrf_of(queue)

    # The confirmation lists the items, and says which the action does not fit.
    ids = [first, second, third, taken]
    confirm = await html_of(client, await confirm_page(client, csrf, "accept", ids))
    assert tn("zh-Hans", "web.bulk.confirm_intro", 4, n=4, action=zh("admin.action.accept")) in (
        confirm.replace("&#34;", '"')
    )
    assert zh("web.bulk.not_now", ref=f"#{taken}", status=zh("status.accepted")) in confirm
    assert statuses(desk.settings, first, second, third) == ["new"] * 3  # nothing yet
    fields = hidden_fields(confirm)
    assert [v for k, v in fields if k == "item"] == [str(n) for n in ids]
    assert dict(fields)["from"] == "status=new"

    mark = stub.mark()
    done = await html_of(client, await client.post("/desk/bulk/apply", data=fields))
    lines = outcome(done)
    for number in (first, second, third):
        assert lines[number].startswith("ok"), lines
        assert zh("status.accepted") in lines[number]
    # The core's own reason for the item whose status does not allow it.
    illegal = zh(
        "admin.illegal",
        ref=f"#{taken}",
        current=zh("status.accepted"),
        target=zh("status.accepted"),
    )
    assert lines[taken].startswith("refused") and illegal in lines[taken]
    assert zh("web.bulk.summary", done=3, refused=1) in done
    for identity in (str(BOB.id), "王", "小明", "wang_xm"):  # Bob's item is anonymous
        assert identity not in confirm and identity not in done
    assert statuses(desk.settings, first, second, third) == ["accepted"] * 3
    # The senders are told as after a chat button (Bob through his anonymous route), and
    # every office card of the three is edited to the new status.
    await stub.wait_for_text(BOB.id, f"#{second}", after=mark)
    for number in (first, third):
        await stub.wait_for_text(ALICE.id, f"#{number}", after=mark)
    for number, card in cards.items():
        edited = await card_edit(stub, card, after=mark)
        assert zh("status.accepted") in edited.plain, number

    # The same confirmation again (a double click, a reload): nothing changes twice.
    await stub.wait_idle(quiet=0.5)
    before = len(stub.sent)
    history = await sql(desk.settings, "SELECT COUNT(*) FROM history WHERE to_status = 'accepted'")
    again = await html_of(client, await client.post("/desk/bulk/apply", data=fields))
    lines = outcome(again)
    for number in (first, second, third):
        assert lines[number].startswith("ok") and zh("web.bulk.again") in lines[number]
    assert lines[taken].startswith("refused")
    await stub.wait_idle(quiet=0.5)
    assert len(stub.sent) == before
    assert await sql(
        desk.settings, "SELECT COUNT(*) FROM history WHERE to_status = 'accepted'"
    ) == (history)


async def test_one_reason_rejects_several_and_inputs_are_checked_first(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner
) -> None:
    named = await submit(stub, ALICE, "建议在广场上开一家网吧", anonymous=False)
    anonymous = await submit(stub, BOB, "广告广告广告，加微信", anonymous=True)
    await sign_in(client, desk)
    csrf = csrf_of(await html_of(client, await client.get("/desk/queue")))
    missing = await html_of(client, await confirm_page(client, csrf, "reject", [named]), 400)
    assert zh("web.bulk.missing", field=zh("web.form.reason")) in missing.replace("&#34;", '"')
    assert 'id="bulk-confirm"' not in missing
    reason = "与本次活动无关 <广告>"
    confirm = await html_of(
        client, await confirm_page(client, csrf, "reject", [named, anonymous], reason=reason)
    )
    assert "与本次活动无关 &lt;广告&gt;" in confirm  # escaped, shown as typed
    mark = stub.mark()
    done = await html_of(client, await client.post("/desk/bulk/apply", data=hidden_fields(confirm)))
    assert all(line.startswith("ok") for line in outcome(done).values())
    assert statuses(desk.settings, named, anonymous) == ["rejected", "rejected"]
    for user in (ALICE, BOB):
        notice = await stub.wait_for_text(user.id, "与本次活动无关", after=mark)
        assert "<广告>" in notice.plain
    notes = await sql(desk.settings, "SELECT note FROM history WHERE to_status = 'rejected'")
    assert notes == [(reason,), (reason,)]


@sqlite_only
async def test_an_action_a_status_does_not_offer_is_refused_with_the_reason(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner
) -> None:
    open_item = await submit(stub, ALICE, "路口红绿灯时间太短", anonymous=False)
    closed = await submit(stub, BOB, "建议增加夜班公交", anonymous=True)
    await sql(desk.settings, "UPDATE submissions SET status = 'rejected' WHERE id = ?", (closed,))
    await sign_in(client, desk)
    csrf = csrf_of(await html_of(client, await client.get("/desk/queue")))
    [(was,)] = await sql(desk.settings, "SELECT topic_id FROM submissions WHERE id = ?", (closed,))
    topic = next(tp.id for tp in desk.settings.topics if tp.id != was)
    confirm = await html_of(
        client, await confirm_page(client, csrf, "set_topic", [open_item, closed], topic=topic)
    )
    done = await html_of(client, await client.post("/desk/bulk/apply", data=hidden_fields(confirm)))
    lines = outcome(done)
    assert lines[open_item].startswith("ok")
    refusal = zh("web.bulk.not_now", ref=f"#{closed}", status=zh("status.rejected"))
    assert lines[closed].startswith("refused") and refusal in lines[closed]
    topics = dict(await sql(desk.settings, "SELECT id, topic_id FROM submissions"))
    assert topics == {open_item: topic, closed: was}


@sqlite_only
async def test_bulk_forms_need_a_session_the_csrf_token_and_the_desks_origin(
    stub: FakeBotApi, client: TestClient[Any, Any], desk: BotRunner
) -> None:
    number = await submit(stub, ALICE, "老旧小区加装电梯进度慢", anonymous=False)
    for path in ("/desk/bulk", "/desk/bulk/apply"):
        assert (await client.post(path, data={"csrf": "x", "item": str(number)})).status == 401
    await sign_in(client, desk)
    csrf = csrf_of(await html_of(client, await client.get("/desk/queue")))
    confirm = await html_of(client, await confirm_page(client, csrf, "accept", [number]))
    fields = hidden_fields(confirm)
    forged = [(k, "forged" if k == "csrf" else v) for k, v in fields]
    assert (await client.post("/desk/bulk/apply", data=forged)).status == 403
    foreign = await client.post(
        "/desk/bulk/apply", data=fields, headers={"Origin": "https://evil.test"}
    )
    assert foreign.status == 403
    no_key = [(k, v) for k, v in fields if k != "key"]
    assert (await client.post("/desk/bulk/apply", data=no_key)).status == 400
    unknown = [(k, "delete_all" if k == "action" else v) for k, v in fields]
    assert (await client.post("/desk/bulk/apply", data=unknown)).status == 400
    # "respond" is one item's action, not offered in bulk.
    single = await confirm_page(client, csrf, "respond", [number], response="好")
    assert zh("web.bulk.choose") in await html_of(client, single, 400)
    nothing = await confirm_page(client, csrf, "accept", [])
    assert zh("web.bulk.none") in await html_of(client, nothing, 400)
    many = await confirm_page(client, csrf, "accept", list(range(1, MAX_ITEMS + 2)))
    assert tn("zh-Hans", "web.bulk.too_many", MAX_ITEMS, n=MAX_ITEMS) in await html_of(
        client, many, 400
    )
    await stub.wait_idle(quiet=0.3)
    assert statuses(desk.settings, number) == ["new"]  # none of these did anything
    # An item the clerk may not see (or that is not there) is refused, the others done.
    confirm = await html_of(client, await confirm_page(client, csrf, "accept", [number, 999]))
    done = await html_of(client, await client.post("/desk/bulk/apply", data=hidden_fields(confirm)))
    lines = outcome(done)
    assert lines[number].startswith("ok")
    assert lines[999].startswith("refused") and zh("admin.not_found", ref="#999") in lines[999]


def test_each_item_of_a_bulk_form_has_its_own_stable_key() -> None:
    key = -123456789
    keys = [item_key(key, n) for n in range(1, 2001)]
    assert len(set(keys)) == len(keys)  # no two items share one
    assert keys == [item_key(key, n) for n in range(1, 2001)]  # the same form: the same keys
    assert item_key(key - 1, 1) != keys[0]  # another form: another key
    # Negative (never a Telegram update id) and read back by the actions' key parser.
    assert all(k < 0 and form_key({"key": str(k)}) == k for k in keys)


def test_the_ticked_items_are_read_once_each_in_order() -> None:
    assert chosen_ids(["3", "1", "3", " 2 ", "x", "-4", "0", "1e3", "٣", "9" * 19]) == [3, 1, 2]
