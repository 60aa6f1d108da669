"""Several workers (#24): only the leader trains the topic model at start-up. Workers that
start with labels and no stored model of their catalogue used to train once each; now the
leader trains, the others propose with the rules meanwhile and load the leader's model
when the refresh job finds it, and a worker that becomes the leader before any model was
stored trains then. On both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import Settings
from bot.learner import TopicLearner
from storage.labels import LabelledExample
from storage.repository import Repository
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner
from tests.databases import on_backend
from tests.test_learning import EXAMPLES, TOPICS, petitions

TEXT = "村口的路灯坏了三天，晚上孩子放学很危险"


@pytest.fixture
def make_settings(
    make_settings: Callable[..., Settings], storage_url: str | None
) -> Callable[..., Settings]:
    return on_backend(make_settings, storage_url)


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[TopicLearner]:
    """Every training run, by the learner that ran it."""
    runs: list[TopicLearner] = []
    retrain = TopicLearner.retrain

    async def counted(self: TopicLearner) -> object:
        runs.append(self)
        return await retrain(self)

    monkeypatch.setattr(TopicLearner, "retrain", counted)
    return runs


async def test_two_workers_start_with_labels_and_only_the_leader_trains(
    stub: FakeBotApi, make_settings: Callable[..., Settings], trainings: list[TopicLearner]
) -> None:
    settings = make_settings(stub)
    repository = Repository(settings.storage.url or settings.storage.path)
    await repository.connect()
    await repository.add_labels(
        LabelledExample(e.text, e.topic_id, "import", 1.0) for e in petitions(200)
    )
    await repository.close()
    first = BotRunner(settings, worker="hostA:1:first")
    second = BotRunner(settings, worker="hostB:2:second")
    await first.start()
    await second.start()
    try:
        assert first.app is not None and second.app is not None
        one, two = first.app.bot_data.services, second.app.bot_data.services
        assert one.leadership is not None and one.leadership.leading
        assert two.leadership is not None and not two.leadership.leading
        assert one.learner is not None and two.learner is not None
        await one.learner.idle()
        await two.learner.idle()
        assert trainings == [one.learner]  # one training run, the leader's
        assert one.learner.model is not None
        # The other worker proposes with the rules until it loads the leader's model.
        assert two.learner.model is None
        assert await two.propose_topics(TEXT) == two.tagger.tag(TEXT)
        assert await two.learner.refresh()  # the refresh job's call, every minute
        assert two.learner.model is not None
        assert await two.propose_topics(TEXT) == await one.propose_topics(TEXT)
        assert not await two.learner.refresh()
        assert trainings == [one.learner]
    finally:
        await second.stop()
        await first.stop()


@pytest.fixture
async def repository(storage_target: str) -> AsyncIterator[Repository]:
    repository = Repository(storage_target)
    await repository.connect()
    await repository.add_labels(
        LabelledExample(e.text, e.topic_id, "import", 1.0) for e in EXAMPLES
    )
    try:
        yield repository
    finally:
        await repository.close()


async def test_a_worker_that_waited_for_the_model_trains_once_it_leads(
    repository: Repository, trainings: list[TopicLearner]
) -> None:
    """The leader died (or stopped) before it trained: the worker that takes over trains at
    its next refresh, once, and not again at the refreshes after."""
    leading = False
    learner = TopicLearner(repository, TOPICS, leads=lambda: leading)
    await learner.load()
    await learner.idle()
    assert trainings == [] and learner.model is None
    assert not await learner.refresh()
    assert trainings == []
    leading = True
    await learner.refresh()
    await learner.idle()
    assert trainings == [learner] and learner.model is not None
    await learner.refresh()
    await learner.idle()
    assert trainings == [learner]


async def test_a_worker_that_waited_loads_the_leaders_model_and_trains_no_more(
    repository: Repository, trainings: list[TopicLearner]
) -> None:
    waiting = TopicLearner(repository, TOPICS, leads=lambda: False)
    await waiting.load()
    leader = TopicLearner(repository, TOPICS)
    await leader.load()  # a lone process, or the leader: it trains
    await leader.idle()
    assert trainings == [leader]
    assert await waiting.refresh()
    waiting.leads = lambda: True  # it leads later: the stored model is of its catalogue
    await waiting.refresh()
    await waiting.idle()
    assert trainings == [leader] and waiting.model is not None
