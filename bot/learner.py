"""The topic model at run time: loaded from the database at start-up, retrained when labels
arrive (coalesced: one training at a time, one more if labels came meanwhile) in a separate
process (:mod:`bot.train_model`), which saves it in the database so a restart does not lose
it; the bot then loads the saved model. Several workers share the database (#24): before
proposing topics a worker checks when the stored model was saved and loads it again when
another worker trained a newer one."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Sequence

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

    def __init__(self, repository: LabelQueries, catalogue: Sequence[TopicConfig]) -> None:
        self.repository = repository
        self.catalogue = tuple(catalogue)
        self.topics = tuple(t.id for t in catalogue)
        self.tagger = Tagger(catalogue)
        self.model: TopicModel | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._process: asyncio.subprocess.Process | None = None  # a training under way
        self._trained_at: str | None = None  # when the model in use was saved

    async def load(self) -> None:
        """The stored model, if any and readable; else a training if there are labels. A
        model of an older format is ignored and one trained with another catalogue is kept
        until a training with this one (started here) replaces it."""
        stored = await self.repository.load_model()
        if stored is not None:
            try:
                await self._use(stored)
                assert self.model is not None
                log.info("topic model loaded: %d topics", len(self.model.classes))
                if self.model.combination.catalogue == self.tagger.fingerprint:
                    return
                log.info("the topic catalogue changed since the model was trained: retraining")
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("stored topic model ignored: %s", exc)
        if await self.repository.label_counts():
            self.schedule_retrain()

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
            self.model, self._trained_at = trained, await self.repository.model_trained_at()
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
        stored = await self.repository.load_model()
        if stored is None:
            return None
        model = await self._use(stored)
        log.info("topic model trained on %d examples", model.examples)
        return model

    async def _use(self, stored: StoredModel) -> TopicModel:
        """Load a stored model (off the event loop) and use it from now on."""
        model = await asyncio.to_thread(
            TopicModel.from_blobs, stored.params, stored.columns, stored.weights
        )
        self.model, self._trained_at = model, stored.trained_at
        return model

    async def _refresh(self) -> None:
        """Use the stored model if another worker saved a newer one since this one was
        loaded (not while a training of this worker's own is under way: it loads its
        result when done)."""
        if self._task is not None and not self._task.done():
            return
        if await self.repository.model_trained_at() in (None, self._trained_at):
            return
        stored = await self.repository.load_model()
        if stored is None:
            return
        try:
            await self._use(stored)
        except (ValueError, KeyError, TypeError) as exc:
            self._trained_at = stored.trained_at  # not tried again until a newer one
            log.warning("stored topic model ignored: %s", exc)

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
        await self._refresh()
        model = self.model
        [matches] = await asyncio.to_thread(propose, tagger, model, [text], topics=self.topics)
        return matches
