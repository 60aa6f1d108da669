"""The topic model at run time: loaded from SQLite at start-up, retrained when labels arrive
(coalesced: one training at a time, one more if labels came meanwhile) in a separate
process (:mod:`bot.train_model`), which saves it in the database so a restart does not lose
it; the bot then loads the saved model.

Several workers (#24): only the leader trains (:mod:`bot.leadership`). A worker that starts
without a stored model of its catalogue while labels exist trains at once if it leads;
otherwise it proposes with what it has (the rules alone when nothing is stored) and loads
the leader's model when the refresh job (:func:`TopicLearner.refresh`, every minute) finds
it. If it becomes the leader before any model of its catalogue is stored, that same job
trains then."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence

from bot.config import TopicConfig
from bot.learning import Example, TopicModel, propose
from bot.tagging import Tagger, TopicMatch
from storage.labels import LabelQueries, StoredModel

# bot.train_model's exit codes (not imported from it: it imports this module).
EXIT_TRAINED = 0
EXIT_TOO_FEW = 3

log = logging.getLogger(__name__)


def train_examples(rows: Sequence[Example], tagger: Tagger) -> TopicModel | None:
    """Train on the examples of the catalogue's topics (its rules' weight and the floor
    chosen by cross-validation with them); None while fewer than two topics have any."""
    usable = [e for e in rows if e.topic_id in tagger.topic_ids and e.weight > 0]
    if len({e.topic_id for e in usable}) < 2:
        return None
    return TopicModel.train(usable, tagger)


def catalogue_json(topics: Sequence[TopicConfig]) -> str:
    """The catalogue as the training process reads it from its standard input."""
    return json.dumps([t.model_dump(mode="json") for t in topics], ensure_ascii=False)


def catalogue_from_json(text: str) -> list[TopicConfig]:
    return [TopicConfig.model_validate(t) for t in json.loads(text)]


class TopicLearner:
    """Holds the current model. Training runs in a child process; loading and predicting
    in a thread, so the event loop never waits for numpy."""

    def __init__(
        self,
        repository: LabelQueries,
        catalogue: Sequence[TopicConfig],
        *,
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        self.repository = repository
        # Whether this worker leads now: only the leader trains (a lone process always does).
        self.leads = leads
        # No stored model of this catalogue while labels exist: the leader is to train one.
        self.untrained = False
        self.catalogue = tuple(catalogue)
        self.topics = tuple(t.id for t in catalogue)
        self.tagger = Tagger(catalogue)
        self.model: TopicModel | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._process: asyncio.subprocess.Process | None = None  # a training under way
        self._version: str | None = None  # of the stored model this one is (refresh)

    async def load(self) -> None:
        """The stored model, if any and readable; else a training if there are labels (by
        the leader: :meth:`train_if_leading`). A model of an older format is ignored and
        one trained with another catalogue is kept until a training with this one replaces
        it."""
        self._version = await self.repository.model_version()
        stored = await self.repository.load_model()
        if stored is not None:
            try:
                self.model = await asyncio.to_thread(
                    TopicModel.from_blobs, stored.params, stored.columns, stored.weights
                )
                log.info("topic model loaded: %d topics", len(self.model.classes))
                if self._current():
                    return
                log.info("the topic catalogue changed since the model was trained")
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("stored topic model ignored: %s", exc)
        self.untrained = bool(await self.repository.label_counts())
        if self.untrained and not self.train_if_leading():
            log.info("the leader trains the topic model: the rules and the stored model meanwhile")

    def _current(self) -> bool:
        """Whether the model in use was trained with this catalogue."""
        return (
            self.model is not None and self.model.combination.catalogue == self.tagger.fingerprint
        )

    def train_if_leading(self) -> bool:
        """If labels wait for a model of this catalogue and this worker leads: train now.
        Returns whether a training was scheduled."""
        if not self.untrained or not self.leads():
            return False
        self.untrained = False  # (tried once: the next labels train again, as always)
        log.info("training the topic model on the stored labels")
        self.schedule_retrain()
        return True

    async def refresh(self) -> bool:
        """Load the stored model if another worker saved a new one since this one loaded
        or trained its own (the leader trains, the others follow). Returns whether it did.
        A worker that waited for a model of its catalogue and leads now trains one."""
        loaded = await self._load_newer()
        if loaded and self._current():
            self.untrained = False
        self.train_if_leading()
        return loaded

    async def _load_newer(self) -> bool:
        version = await self.repository.model_version()
        if version is None or version == self._version:
            return False
        stored = await self.repository.load_model()
        if stored is None:
            return False
        self.model = await asyncio.to_thread(
            TopicModel.from_blobs, stored.params, stored.columns, stored.weights
        )
        self._version = version
        log.info("topic model saved by another worker loaded")
        return True

    async def retrain(self) -> TopicModel | None:
        """Train on every stored label now (in a child process), save and use the result."""
        path = self.repository.path
        if str(path) == ":memory:":  # no file to share with a process: train here
            rows = await self.repository.labelled_examples()
            examples = [Example(r.text, r.topic_id, r.weight) for r in rows]
            trained = await asyncio.to_thread(train_examples, examples, self.tagger)
            if trained is None:
                return None
            await self.repository.save_model(StoredModel(*trained.to_blobs()))
            self.model = trained
            self._version = await self.repository.model_version()
            return trained
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.train_model",
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._process = process
        try:
            _, err = await process.communicate(catalogue_json(self.catalogue).encode("utf-8"))
        finally:
            self._process = None
        if process.returncode == EXIT_TOO_FEW:
            return None
        if process.returncode != EXIT_TRAINED:
            # Only the exception's type: a traceback could quote a labelled text.
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            log.error(
                "topic model training failed (exit %s): %s",
                process.returncode,
                last[0].split(":", 1)[0][:80],
            )
            return None
        self._version = await self.repository.model_version()
        stored = await self.repository.load_model()
        if stored is None:
            return None
        model = await asyncio.to_thread(
            TopicModel.from_blobs, stored.params, stored.columns, stored.weights
        )
        self.model = model
        log.info("topic model trained on %d examples", model.examples)
        return model

    def schedule_retrain(self) -> None:
        """Retrain soon, in the background; calls during a training add one more run."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.retrain()
            except Exception:
                log.exception("topic model training failed")
            if not self._again:
                return

    async def idle(self) -> None:
        """Wait for a scheduled training to finish (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self, within: float) -> None:
        """At shutdown: a training under way may finish (and save its model) within
        ``within`` seconds; after that its child process is killed (its half-written
        transaction is rolled back by SQLite) and the labels are trained on at the next
        start. No training starts after this."""
        self._again = False
        task = self._task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=within)
        if done:
            return
        process = self._process
        if process is not None and process.returncode is None:
            log.warning("topic model training not finished: its process is stopped")
            process.kill()
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)

    async def propose(self, tagger: Tagger, text: str) -> list[TopicMatch]:
        """Rules and model combined (:func:`bot.learning.combine`), off the event loop."""
        model = self.model
        [matches] = await asyncio.to_thread(propose, tagger, model, [text], topics=self.topics)
        return matches
