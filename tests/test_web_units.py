"""The web desk for a unit's member (#18), over HTTP against the bot built with
build_application: they sign in like the office, see in the queue only the items
dispatched to their unit, open only those (any other item is not there: 404), see a named
sender's name without the username, no similar items of other units, and no office action
(their unit's steps only: tests/test_web_loop.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.core import indices
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import ADMIN, BotRunner, FrozenClock
from tests.databases import both_backends, sqlite_only
from tests.webdesk import ALICE, BOB, client_for, sign_in, sql, started, submit

CLERK = FakeUser(id=4001, first_name="城建", last_name="小张")
OTHER_UNIT = FakeUser(id=4002, first_name="环保", last_name="小刘")


# On SQLite and on PostgreSQL (#24): a unit's scope on the desk; the indices and the league
# chart read what test_indices and test_figures compare there: SQLite only.
make_settings = both_backends()


@pytest.fixture
async def desk(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> AsyncIterator[BotRunner]:
    settings = make_settings(
        stub,
        web={"enabled": True, "port": 0, "public_url": "https://desk.example.org/desk"},
        limits={"max_submissions_per_hour": 0},
        units=[
            {"id": "cjb", "names": {"zh-Hans": "城建办"}, "member_ids": [CLERK.id]},
            {"id": "hbs", "names": {"zh-Hans": "环保所"}, "member_ids": [OTHER_UNIT.id]},
        ],
    )
    async with started(settings, FrozenClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))) as runner:
        yield runner


async def test_a_units_member_sees_and_opens_their_units_items_only(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    ours = await submit(stub, ALICE, "幸福路的路灯坏了", anonymous=False)
    theirs = await submit(stub, BOB, "幸福路的路灯也不亮", anonymous=True)
    waiting = await submit(stub, BOB, "幸福路路灯第三盏坏了", anonymous=False)
    await sql(
        desk.settings,
        "UPDATE submissions SET unit_id = 'cjb', status = 'dispatched' WHERE id = ?",
        (ours,),
    )
    await sql(
        desk.settings,
        "UPDATE submissions SET unit_id = 'hbs', status = 'dispatched' WHERE id = ?",
        (theirs,),
    )
    async with client_for(desk) as client:
        assert (await sign_in(client, desk, CLERK)).status == 200
        queue = await (await client.get("/desk/queue")).text()
        shown = set(map(int, re.findall(r'data-id="(\d+)"', queue)))
        assert shown == {ours}  # not the other unit's, not the office's queue
        item = await client.get(f"/desk/items/{ours}")
        html = await item.text()
        assert item.status == 200 and "幸福路的路灯坏了" in html
        assert "李 秀英" in html and "li_xiuying" not in html and str(ALICE.id) not in html
        assert f"#{theirs}" not in html and f"#{waiting}" not in html  # no similar items
        # Only the unit's own steps (#23: as its task card's buttons), no office action.
        assert re.findall(rf"/desk/items/{ours}/actions/([a-z_]+)", html) == ["sign", "bounce"]
        for other in (theirs, waiting):
            assert (await client.get(f"/desk/items/{other}")).status == 404
    async with client_for(desk) as client:
        await sign_in(client, desk, OTHER_UNIT)
        queue = await (await client.get("/desk/queue")).text()
        assert set(map(int, re.findall(r'data-id="(\d+)"', queue))) == {theirs}
        assert (await client.get(f"/desk/items/{ours}")).status == 404


@sqlite_only
async def test_the_reports_page_shows_the_units_indices_to_the_office_only(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    done = await submit(stub, ALICE, "幸福路的路灯坏了", anonymous=False)
    late = await submit(stub, BOB, "幸福路的路灯也不亮", anonymous=True)
    await sql(
        desk.settings,
        "UPDATE submissions SET unit_id = 'cjb', status = 'answered',"
        " dispatched_at = '2026-11-20T01:00:00.000000+00:00',"
        " sign_due = '2026-11-21T01:00:00.000000+00:00',"
        " signed_at = '2026-11-20T02:00:00.000000+00:00',"
        " deadline = '2026-11-23T15:59:59.000000+00:00',"
        " judged_deadline = '2026-11-23T15:59:59.000000+00:00',"
        " done_at = '2026-11-22T01:00:00.000000+00:00' WHERE id = ?",
        (done,),
    )
    await sql(
        desk.settings,
        "UPDATE submissions SET unit_id = 'cjb', status = 'signed',"
        " dispatched_at = '2026-11-20T01:00:00.000000+00:00',"
        " sign_due = '2026-11-21T01:00:00.000000+00:00',"
        " signed_at = '2026-11-21T02:00:00.000000+00:00',"
        " deadline = '2026-11-23T15:59:59.000000+00:00',"
        " judged_deadline = '2026-11-23T15:59:59.000000+00:00' WHERE id = ?",
        (late,),
    )
    async with client_for(desk) as client:
        await sign_in(client, desk, ADMIN)
        html = await (await client.get("/desk/reports")).text()
        table = html[html.index('class="rates"') :]
        cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", table[: table.index("</table>")])
        header = indices.header("zh-Hans")
        assert cells[: len(header)] == header
        # 城建办: 2 items, one signed in time, one done on time of two due, no rating,
        # two days on average for the one done, one overdue now.
        row = ["城建办", "2", "50.0%", "50.0%", "100.0%", "—", "0.0%", "2.0", "1"]
        assert cells[len(header) : 2 * len(header)] == row
        assert cells[2 * len(header) : 3 * len(header)] == ["环保所", "0", *["—"] * 6, "0"]
        # Two items: nobody is ranked (indices.min_items is 5), so no 通报 chart.
        assert "/reports/rates.png" not in html
        assert (await client.get("/desk/reports/rates.png")).status == 404
    async with client_for(desk) as client:
        await sign_in(client, desk, CLERK)
        assert (await client.get("/desk/reports")).status == 404


@sqlite_only
async def test_the_reports_page_draws_the_league_chart_once_a_unit_is_ranked(
    stub: FakeBotApi, desk: BotRunner
) -> None:
    """The weekly summary's 通报 chart on the desk: a unit with enough items (5) in the
    period is ranked, its rates drawn; a unit's member does not reach it."""
    assert desk.settings.indices.min_items == 5
    for n in range(5):
        number = await submit(stub, ALICE, f"幸福路第{n + 1}盏路灯坏了", anonymous=False)
        await sql(
            desk.settings,
            "UPDATE submissions SET unit_id = 'cjb', status = 'answered',"
            " dispatched_at = '2026-11-20T01:00:00.000000+00:00',"
            " sign_due = '2026-11-21T01:00:00.000000+00:00',"
            " signed_at = '2026-11-20T02:00:00.000000+00:00',"
            " deadline = '2026-11-23T15:59:59.000000+00:00',"
            " judged_deadline = '2026-11-23T15:59:59.000000+00:00',"
            " done_at = '2026-11-22T01:00:00.000000+00:00' WHERE id = ?",
            (number,),
        )
    async with client_for(desk) as client:
        await sign_in(client, desk, ADMIN)
        html = await (await client.get("/desk/reports")).text()
        src = re.search(r'<img src="([^"]*/reports/rates\.png\?[^"]*)"', html)
        assert src is not None
        chart = await client.get(src.group(1).replace("&amp;", "&"))
        assert chart.status == 200 and chart.content_type == "image/png"
        assert (await chart.read()).startswith(b"\x89PNG")
    async with client_for(desk) as client:
        await sign_in(client, desk, CLERK)
        assert (await client.get("/desk/reports/rates.png")).status == 404
