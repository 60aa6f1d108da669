"""End to end (#17, point 10): 公开 shows the clerk exactly what the channel will get, with
personal data masked by default, 编辑 (a public summary; the resident's text stays in the
ledger), the choice to publish unmasked, and 确认发布; nothing reaches the channel before
that, and a post that changed after its preview is not published unseen."""

from __future__ import annotations

from bot.i18n import t, tn
from tests.botapi_stub import FakeBotApi, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, rows, sqlite_only
from tests.test_e2e_lifecycle import CHANNEL, Office, campaign
from tests.test_e2e_office import submit
from tests.test_e2e_publishing import BOB

__all__ = ["campaign"]  # the fixture, used by name

# The public summary (编辑, 不遮盖, a post changed after its preview) on SQLite and on
# PostgreSQL (#24); the masked preview publishes as test_e2e_publishing does there: SQLite only.
make_settings = both_backends()

PRIVATE = ("13812345678", "330106199001011234", "浙A12345", "12号", "501室", "王小明")
TEXT = (
    "我叫王小明，幸福路12号3幢2单元501室门口的井盖丢了，"
    "电话13812345678，身份证330106199001011234，车牌浙A12345的车一直停在那里"
)


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def answered(stub: FakeBotApi, office: Office) -> int:
    number = await submit(Chat(stub, BOB), TEXT, anonymous=False)
    await office.press(number, "受理")
    mark = stub.mark()
    await office.answer(number, "答复", "已安排维修，本周内补上井盖。")
    await stub.wait_for_text(BOB.id, "has a response", after=mark)
    return number


async def next_note(stub: FakeBotApi, mark: int) -> SentMessage:
    """The first preview note (the one with 确认发布) after ``mark``."""
    return await stub.wait_for(
        ADMIN.id, after=mark, predicate=lambda m: any("adm:pok:" in d for _, d in m.buttons)
    )


async def preview(stub: FakeBotApi, pressed: SentMessage, label: str) -> tuple[str, SentMessage]:
    """Press ``label``: the post as previewed, and the note with its buttons."""
    mark = stub.mark()
    stub.press_button(ADMIN, pressed, label)
    note = await next_note(stub, mark)
    sent = [m for m in stub.messages_to(ADMIN.id) if mark < m.seq < note.seq]
    posts = [m for m in sent if m.method == "sendMessage" and m.text and "#" in m.plain]
    return posts[-1].text or "", note


def channel_posts(stub: FakeBotApi) -> list[SentMessage]:
    return stub.messages_to(CHANNEL)


@sqlite_only
async def test_the_preview_is_the_post_masked_and_nothing_goes_out_before_confirming(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    number = await answered(stub, office)
    post, note = await preview(stub, await office.card(number), "公开")
    await stub.wait_idle(quiet=0.5)
    assert channel_posts(stub) == []  # a preview publishes nothing
    assert zh("publish.preview", ref=f"#{number}") in note.plain
    assert tn("zh-Hans", "publish.masked", 6, n=6) in note.plain
    for piece in PRIVATE:
        assert piece not in post, piece
    assert "幸福路**号" in post and "井盖丢了" in post and "王**" in post
    assert "138******78" in post

    # 确认发布: the channel gets exactly the preview.
    mark = stub.mark()
    await Chat(stub, ADMIN).tap(note, "确认发布")
    [sent] = [m for m in channel_posts(stub) if m.seq > mark] or [
        await stub.wait_for_text(CHANNEL, f"#{number}", after=mark)
    ]
    assert sent.text == post
    await stub.wait_for_text(ADMIN.id, zh("admin.published", ref=f"#{number}"), after=mark)
    [(text,)] = rows(campaign.settings, "SELECT text FROM submissions WHERE id = ?", (number,))
    assert text == TEXT  # the ledger keeps what the resident sent


async def test_edit_unmask_and_a_post_changed_after_its_preview(
    stub: FakeBotApi, campaign: BotRunner
) -> None:
    office = Office(stub)
    number = await answered(stub, office)
    _, first = await preview(stub, await office.card(number), "公开")

    # 编辑: the clerk writes the public summary; the new preview shows it (masked too).
    mark = stub.mark()
    prompt = await Chat(stub, ADMIN).tap(first, "编辑")
    assert "force_reply" in str(prompt.params.get("reply_markup"))
    summary = "幸福路一处井盖缺失，请过往行人注意安全。联系电话13900001111"
    stub.send_reply(ADMIN, prompt, summary)
    note = await next_note(stub, mark)
    assert zh("publish.summary_used") in note.plain
    sent = [
        m
        for m in stub.messages_to(ADMIN.id)
        if mark < m.seq < note.seq and m.method == "sendMessage"
    ]
    assert "井盖缺失" in sent[-1].plain and "139******11" in sent[-1].plain  # the post
    assert "王小明" not in sent[-1].plain

    # The first preview's 确认发布 is stale now: nothing is published, a new preview comes.
    mark = stub.mark()
    stub.press_button(ADMIN, first, "确认发布")
    await stub.wait_for_text(ADMIN.id, zh("publish.changed", ref=f"#{number}"), after=mark)
    await stub.wait_idle(quiet=0.5)
    assert channel_posts(stub) == []

    # 不遮盖: the clerk chooses to publish the summary as written; then confirms.
    post, unmasked = await preview(stub, note, "不遮盖")
    assert "13900001111" in post and zh("publish.unmasked") in unmasked.plain
    mark = stub.mark()
    await Chat(stub, ADMIN).tap(unmasked, "确认发布")
    out = await stub.wait_for_text(CHANNEL, f"#{number}", after=mark)
    assert out.text == post and "井盖缺失" in out.plain and "王小明" not in out.plain

    settings = campaign.settings
    [row] = rows(settings, "SELECT text, public_text FROM submissions WHERE id = ?", (number,))
    kinds = [r[0] for r in rows(settings, "SELECT body FROM events WHERE kind = 'public_text'")]
    assert row == (TEXT, summary) and kinds == [summary]
