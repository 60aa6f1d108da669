"""``jindianzi migrate --to postgresql://...`` (#24): a campaign filled through the real bot
on SQLite, copied into an empty PostgreSQL database, then the bot run on PostgreSQL finds
everything (items, history, attachments, drafts, conversations, languages, the outbox)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import ADMIN, BotRunner, Chat, drafts_of
from tests.databases import rows
from tests.pg_cluster import Cluster
from tests.processes import EXAMPLE_CONFIG
from tests.test_e2e_resident import chat_text, submit

ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英", username="li_xiuying")
BOB = FakeUser(id=555000111, first_name="Bob", language_code="en")
CAROL = FakeUser(id=444000222, first_name="王", last_name="芳")

# Every table the bot writes; each must arrive with the same rows.
COPIED = (
    "submissions", "history", "events", "attachments", "outbox", "card_copies", "drafts",
    "conversations", "languages", "inbox", "daily_counts", "daily_place_counts", "key_check",
)  # fmt: skip


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    return code, out.getvalue(), err.getvalue()


def snapshot(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: sorted((tuple(r) for r in rows(settings, f"SELECT * FROM {table}")), key=repr)
        for table in COPIED
    }


async def test_a_campaign_moves_to_postgresql_and_the_bot_finds_everything_there(
    stub: FakeBotApi,
    make_settings: Callable[..., Settings],
    pg_cluster: Cluster,
    tmp_path: Path,
) -> None:
    # 1. The campaign on SQLite, through the real bot: a named and an anonymous item, one
    #    accepted by the office, one with a photo, a draft half written, a language chosen.
    on_sqlite = make_settings(stub, roles={"office_chat_id": -1001234567890})
    bot = BotRunner(on_sqlite)
    await bot.start()
    try:
        alice, bob, carol = Chat(stub, ALICE), Chat(stub, BOB), Chat(stub, CAROL)
        named = await submit(alice, "建议在东村路口增设红绿灯，方便学生过马路", anonymous=False)
        anonymous = await submit(bob, "Street lamps on the east road are dark", anonymous=True)
        # An item with a photo and a location (attachments), from the report command.
        await alice.send("/report")
        mark = stub.mark()
        stub.send_photo(ALICE, caption="幸福路和建设路口的井盖丢了", file_id="PHOTO-42")
        await stub.wait_for(ALICE.id, after=mark)
        mark = stub.mark()
        stub.send_location(ALICE, 30.2741, 120.1551)
        received = await stub.wait_for(ALICE.id, after=mark)
        proposal = await alice.tap(received, "下一步")
        who = await alice.tap(proposal, chat_text(alice, "topic.accept"))
        summary = await alice.tap(who, chat_text(alice, "identity.named"))
        ack = await alice.tap(summary, "确认提交", expect="#")
        with_files = int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))
        # Carol's report stays a draft (the draft and its conversation state).
        await carol.send("/report")
        mark = stub.mark()
        stub.send_text(CAROL, "菜市场门口的垃圾好几天没人清运了")
        await stub.wait_for(CAROL.id, after=mark)
        stub.send_text(ADMIN, f"/show {named}")
        card = await stub.wait_for(ADMIN.id, predicate=lambda m: f"#{named}" in m.plain)
        assert card.buttons
    finally:
        await bot.stop()
    before = snapshot(on_sqlite)
    assert before["submissions"] and before["history"] and before["drafts"]
    assert before["outbox"] and before["card_copies"] and before["attachments"]
    drafts_before = drafts_of(on_sqlite)

    # 2. A target that is not empty is refused, and nothing is copied into it.
    env = {
        "JINDIANZI_STORAGE__PATH": str(on_sqlite.storage.path),
        "JINDIANZI_ANONYMITY__KEY_FILE": str(on_sqlite.anonymity.key_file),
    }
    argv = ["migrate", "--config", str(EXAMPLE_CONFIG), "--to"]
    busy = pg_cluster.database()
    busy_settings = make_settings(stub, storage={"url": busy})
    rows(busy_settings, "INSERT INTO languages (key, language) VALUES ('k', 'en')")
    code, _, err = await asyncio.to_thread(run_cli, [*argv, busy], env)
    assert code == 1 and "is not empty: languages (1 rows)" in err
    assert rows(busy_settings, "SELECT COUNT(*) FROM submissions")[0][0] == 0

    # 3. An empty database: every table copied, counted and checksummed.
    target = pg_cluster.empty_database()
    code, out, err = await asyncio.to_thread(run_cli, [*argv, target], env)
    assert (code, err) == (0, "")
    for table in COPIED:
        assert f"  {table}: {len(before[table])} rows, sha256 " in out
    on_postgresql = make_settings(stub, storage={"url": target})
    assert snapshot(on_postgresql) == before
    assert drafts_of(on_postgresql) == drafts_before

    # 4. The bot on PostgreSQL: the items, the senders' lists, the draft, new numbers.
    bot = BotRunner(on_postgresql)
    await bot.start()
    try:
        mine = await alice.send("/my", expect=f"#{named}")
        assert "红绿灯" in mine.plain
        theirs = await bob.send("/my", expect=f"#{anonymous}")  # the anonymous owner tag
        assert t("en", "kind.suggestion") in theirs.plain
        stub.send_text(ADMIN, f"/show {anonymous}")
        await stub.wait_for(ADMIN.id, predicate=lambda m: "Street lamps" in m.plain)
        stub.send_text(ADMIN, f"/show {with_files}")
        await stub.wait_for(ADMIN.id, predicate=lambda m: "井盖" in m.plain)
        # Carol's draft goes on where she left it: her text is still in it.
        received = await carol.send("还有臭味")
        assert "2" in received.plain and received.buttons  # two messages in the draft
        # New items get the next number (the identity sequences moved past the copies).
        fourth = await submit(alice, "希望社区图书馆周末延长开放时间", anonymous=False)
        assert fourth == with_files + 1
    finally:
        await bot.stop()
