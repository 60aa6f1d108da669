"""Several workers on one database (#24): two Applications built by ``build_application`` on
the same database (a SQLite file, and PostgreSQL), each with its own webhook server on
127.0.0.1, and one resident's updates POSTed to them in turn, as a load balancer in front
of several workers may spread them. Nothing a handler needs between updates may live only
in one process's memory: the draft and the conversation's state, the language chosen, the
office's prompts all come from the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from telegram.ext import ConversationHandler

from bot.app import AnyApplication, Webhook, build_application
from bot.config import Settings
from bot.i18n import t
from bot.lifecycle import running
from handlers import resident
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, drafts_of
from tests.databases import both_backends, rows
from tests.test_e2e_webhook import free_port, post, post_when_listening

pytestmark = pytest.mark.e2e

RESIDENT = FakeUser(id=27182818, first_name="赵", last_name="敏", language_code="zh-hans")
SECRET = "several-workers_shared-secret"
URL = "https://bot.example.org/jindianzi/updates"
TEXT = "Please repair the street lamps on Heping Road: dark for a week, children walk there"


make_settings = both_backends()


@dataclass
class Worker:
    name: str
    app: AnyApplication
    port: int


class Workers:
    """The workers behind one webhook URL; each update goes to the worker the test names."""

    def __init__(self, stub: FakeBotApi, workers: list[Worker]) -> None:
        self.stub = stub
        self.workers = workers

    async def deliver(self, update_id: int, to: int) -> None:
        """POST the update (as the stand-in made it) to worker ``to``, as Telegram would."""
        status = await post(self.workers[to].port, self.stub.delivered(update_id), SECRET)
        assert status == 200

    async def send(
        self, user: FakeUser, text: str, *, to: int, expect: str | None = None
    ) -> SentMessage:
        mark = self.stub.mark()
        await self.deliver(self.stub.send_text(user, text), to)
        return await self._next(user, mark, expect, to)

    async def tap(
        self,
        user: FakeUser,
        message: SentMessage,
        label: str,
        *,
        to: int,
        expect: str | None = None,
    ) -> SentMessage:
        mark = self.stub.mark()
        await self.deliver(self.stub.press_button(user, message, label), to)
        return await self._next(user, mark, expect, to)

    async def _next(self, user: FakeUser, mark: int, expect: str | None, to: int) -> SentMessage:
        def sent(m: SentMessage) -> bool:
            return m.method.startswith("send") and (expect is None or expect in m.plain)

        answer = await self.stub.wait_for(user.id, after=mark, predicate=sent)
        # A sender's next update goes to a worker only once the earlier one is done (the
        # order the inbox's claims keep across workers): a handler may still be writing
        # after its reply went out (e.g. the office's prompt is stored after it is sent).
        processor = self.workers[to].app.update_processor
        deadline = time.monotonic() + 10
        while processor.current_concurrent_updates and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert not processor.current_concurrent_updates
        return answer


@pytest.fixture
async def workers(
    stub: FakeBotApi, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Workers]:
    monkeypatch.setenv("JINDIANZI_TELEGRAM__WEBHOOK_SECRET", SECRET)  # shared by all workers
    settings = make_settings(stub, limits={"max_submissions_per_hour": 0})
    async with AsyncExitStack() as stack:
        started = []
        for name in ("A", "B"):
            # one database, one key file; two workers of one process need two names
            app = build_application(settings, worker=f"host{name}:1:{name}")
            port = free_port()
            await stack.enter_async_context(
                running(app, webhook=Webhook(URL, "127.0.0.1", port, SECRET))
            )
            started.append(Worker(name, app, port))
        for worker in started:  # both servers listen (a POST without the secret: 403)
            assert await post_when_listening(worker.port, {}, "wrong-secret") == 403
        yield Workers(stub, started)


def en(key: str, **values: object) -> str:
    return t("en", key, **values)


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


def label(text: str) -> str:
    """A button's label without its leading emoji (the part the stand-in matches)."""
    return text.split(" ", 1)[-1]


async def test_one_residents_flow_spread_over_two_workers_is_one_submission(
    stub: FakeBotApi, workers: Workers
) -> None:
    settings = workers.workers[0].app.bot_data.services.settings
    # The language chosen through A is the one B answers in.
    menu = await workers.send(RESIDENT, "/lang", to=0)
    await workers.tap(RESIDENT, menu, en("lang.name"), to=0, expect=en("lang.set"))
    # The guided flow, each update to the other worker than the one before.
    asked = await workers.send(RESIDENT, "/suggest", to=1)
    assert asked.plain[:30] == en("compose.ask.suggestion")[:30]  # in English
    received = await workers.send(RESIDENT, TEXT, to=0)
    assert received.button_data(en("button.next").split()[0]) == "draft:next"  # added
    proposal = await workers.tap(RESIDENT, received, en("button.next").split()[0], to=1)
    who = await workers.tap(RESIDENT, proposal, label(en("topic.accept")), to=0)
    assert who.button_data(label(en("identity.anonymous"))) == "who:anon"
    summary = await workers.tap(RESIDENT, who, label(en("identity.anonymous")), to=1)
    assert TEXT in summary.plain
    ack = await workers.tap(RESIDENT, summary, label(en("button.confirm")), to=0, expect="#")
    number = int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))

    # Stored once, with the text typed, anonymous, and no draft left behind.
    stored = rows(settings, "SELECT id, text, anonymous, sender_user_id FROM submissions")
    assert [tuple(r) for r in stored] == [(number, TEXT, 1, None)]
    assert drafts_of(settings) == []
    # The resident's own list, asked of the other worker, finds the anonymous item.
    mine = await workers.send(RESIDENT, "/my", to=1, expect=f"#{number}")
    assert en("kind.suggestion") in mine.plain

    # The office's typed reply: the prompt asked through one worker, the reason typed to
    # the other, and confirmed through the first.
    card = await workers.send(ADMIN, f"/show {number}", to=1, expect=f"#{number}")
    prompt = await workers.tap(ADMIN, card, zh("admin.action.reject"), to=0)
    assert f"#{number}" in prompt.plain
    echo = await workers.send(ADMIN, "路灯已列入本月维修计划", to=1, expect="路灯已列入")
    assert zh("admin.prompt.what.rej") in echo.plain
    await workers.tap(ADMIN, echo, zh("admin.prompt.send"), to=0)
    await stub.wait_for_text(RESIDENT.id, "路灯已列入本月维修计划", timeout=10)
    [(status,)] = rows(settings, "SELECT status FROM submissions")
    assert status == "rejected"
    notes = rows(settings, "SELECT note FROM history WHERE to_status = 'rejected'")
    assert [r[0] for r in notes] == ["路灯已列入本月维修计划"]
    assert drafts_of(settings) == []  # none of the clerk's answers became a draft


async def test_a_draft_submitted_through_one_worker_is_gone_for_the_other(
    stub: FakeBotApi, workers: Workers
) -> None:
    """A worker that saw a resident's draft does not resume it after another worker
    submitted it: the next message starts a new draft, as on one worker."""
    settings = workers.workers[0].app.bot_data.services.settings
    received = await workers.send(RESIDENT, "/suggest 建议在和平路口增设一处公交站台方便老人", to=0)
    proposal = await workers.tap(RESIDENT, received, zh("button.next").split()[0], to=0)
    who = await workers.tap(RESIDENT, proposal, label(zh("topic.accept")), to=0)
    summary = await workers.tap(RESIDENT, who, label(zh("identity.named")), to=0)
    await workers.tap(RESIDENT, summary, label(zh("button.confirm")), to=1, expect="#")
    # A saw the draft at every step but the last; B submitted it. A new text through A:
    # not added to the old draft, a new one asking for its kind.
    asked = await workers.send(RESIDENT, "另外，和平路的路灯也坏了好几天", to=0)
    assert asked.plain == zh("kind.ask")
    [draft] = drafts_of(settings)
    assert "路灯" in draft and "公交" not in draft
    # B, who never saw this draft, continues it.
    chosen = await workers.tap(RESIDENT, asked, label(zh("kind.problem")), to=1)
    assert chosen.buttons
    [draft] = drafts_of(settings)
    assert '"kind":"problem"' in draft.replace(" ", "")
    assert len(rows(settings, "SELECT id FROM submissions")) == 1


def conversation_state(worker: Worker, user: FakeUser) -> object:
    """The resident conversation's state for ``user`` in ``worker``'s memory."""
    [conversation] = [h for h in worker.app.handlers[0] if isinstance(h, ConversationHandler)]
    return conversation._conversations.get((user.id, user.id))


async def settled(worker: Worker, state: object) -> None:
    """Wait until the update just answered has finished (its state stored after the reply
    was sent) and check the state ``worker`` holds for the resident."""
    deadline = time.monotonic() + 5
    # (no event to wait on: the state is python-telegram-bot's, set after the reply)
    while conversation_state(worker, RESIDENT) != state and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert conversation_state(worker, RESIDENT) == state


async def test_each_update_takes_the_conversations_state_from_the_database(
    stub: FakeBotApi, workers: Workers
) -> None:
    """The state a worker's ConversationHandler holds for a resident is set from the draft
    when an update of theirs arrives, whatever another worker did since."""
    first, second = workers.workers
    await workers.send(RESIDENT, "/report 和平路的路灯坏了一个星期了，晚上很黑", to=1)
    await settled(second, resident.COMPOSE)
    assert conversation_state(first, RESIDENT) is None  # never saw the resident
    await workers.send(RESIDENT, "/privacy", to=0)  # any update of theirs
    # The state of the step the draft needs next (its text is long enough: the topic).
    # Every state of the flow takes the same updates; what counts is that one is open.
    await settled(first, resident.TOPIC)
    await workers.send(RESIDENT, "/cancel", to=1, expect=zh("cancel.done")[:6])
    await settled(second, None)
    assert conversation_state(first, RESIDENT) == resident.TOPIC  # (until an update)
    await workers.send(RESIDENT, "/privacy", to=0)
    await settled(first, None)
