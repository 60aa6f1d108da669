"""End to end: the topic model learns from a correction in /review, the next near-identical
message gets the corrected topic (marked as the model's), and a restart keeps the model."""

from __future__ import annotations

import csv
from collections.abc import Callable

from bot.config import Settings
from bot.i18n import t
from storage.labels import LabelledExample
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi, FakeUser, SentMessage
from tests.conftest import ADMIN, BotRunner, Chat
from tests.databases import both_backends, rows, sqlite_only
from tests.processes import ROOT

ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英")
BOB = FakeUser(id=555000222, first_name="张", last_name="伟")
# No keyword of the catalogue occurs here: the rules give the fallback topic, and the model
# trained on the labelled set is not sure enough (below FLOOR) to propose anything else.
TEXT = "隔壁王大爷家的狗天天晚上叫个不停"
NEAR = "隔壁王大爷家的狗每天晚上叫个不停！"
TARGET = "livelihood"

# On SQLite (#24: the labels' upsert and the stored model run on PostgreSQL in test_learning.py;
# this walk passes there too, in 12 s, and is left out for the suite's time).
make_settings = both_backends()


def zh(key: str, **values: object) -> str:
    return t("zh-Hans", key, **values)


async def import_train_split(settings: Settings) -> None:
    with (ROOT / "tests" / "data" / "labelled_messages.csv").open(encoding="utf-8") as fh:
        labelled = [(r["label"], r["text"]) for r in csv.DictReader(fh)]
    repository = Repository(settings.storage.target)
    await repository.connect()
    await repository.add_labels(
        LabelledExample(text, label, "import", 1.0)
        for i, (label, text) in enumerate(labelled)
        if i % 5
    )
    await repository.close()


async def trained(runner: BotRunner) -> None:
    assert runner.app is not None
    learner = runner.app.bot_data.services.learner
    assert learner is not None
    await learner.idle()
    assert learner.model is not None


async def propose(chat: Chat, text: str) -> SentMessage:
    received = await chat.send("/suggest " + text)
    return await chat.tap(received, zh("button.next").split()[0])


@sqlite_only
async def test_a_review_correction_changes_the_next_suggestion_and_survives_restart(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(stub, limits={"max_submissions_per_hour": 0})
    await import_train_split(settings)
    target = settings.topic(TARGET)
    assert target is not None
    runner = BotRunner(settings)
    await runner.start()
    try:
        await trained(runner)  # labels but no model yet: trained at start-up
        alice, admin = Chat(stub, ALICE), Chat(stub, ADMIN)
        before = await propose(alice, TEXT)
        assert before.plain.startswith(zh("topic.proposal.fallback", topic="其他")[:10])
        who = await alice.tap(before, zh("topic.accept"))
        summary = await alice.tap(who, zh("identity.anonymous").split(" ", 1)[-1])
        ack = await alice.tap(summary, zh("button.confirm"), expect="#")
        number = int(ack.plain.split("#", 1)[1].split()[0].rstrip("。.,，"))

        card = await admin.send(f"/show {number}", expect=f"#{number}")
        mark = stub.mark()
        stub.press_button(ADMIN, card, "改类别")
        topics = await stub.wait_for(
            ADMIN.id,
            after=mark,
            predicate=lambda m: m.method.startswith("edit") and "adm:tps" in str(m.reply_markup),
        )
        choice = next(d for label, d in topics.buttons if target.name("zh-Hans") in label)
        done = zh("admin.topic.set", ref=f"#{number}", topic=target.name("zh-Hans"))
        await admin.tap_data(topics, choice, expect=done)
        await trained(runner)
        label = rows(
            settings,
            "SELECT topic_id, source, weight FROM labelled_examples WHERE submission_id = ?",
            (number,),
        )
        assert label == [(TARGET, "admin", 3.0)]

        after = (await propose(Chat(stub, BOB), NEAR)).plain
        assert target.name("zh-Hans") in after
        assert "学习模型" in after  # marked as the model's suggestion, with its n-grams
        assert "“" in after

        await runner.restart()  # the model is loaded, not retrained
        assert runner.app is not None
        learner = runner.app.bot_data.services.learner
        assert learner is not None and learner.model is not None
        again = (await propose(Chat(stub, FakeUser(id=555000333, first_name="赵")), NEAR)).plain
        assert target.name("zh-Hans") in again and "学习模型" in again
    finally:
        await runner.stop()
