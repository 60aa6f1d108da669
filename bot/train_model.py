"""The topic model's training as a process of its own: ``python -m bot.train_model DB``
reads the topic catalogue (JSON, :func:`bot.learner.catalogue_json`) from its standard input
and every label from the database, trains, saves the model and exits.

The bot starts it after new labels arrive, so scikit-learn (about 75 MB once imported) is
never loaded into the long-running bot, and training never holds its event loop or GIL.
Exit codes: 0 trained and saved, 3 not enough labelled topics, 1 failure.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot import faults
from bot.learner import EXIT_TOO_FEW, EXIT_TRAINED, catalogue_from_json, train_examples
from bot.learning import Example
from bot.tagging import Tagger
from storage.labels import LabelledExample, StoredModel, labels_and_save_sync


def main(argv: Sequence[str], catalogue: str | None = None) -> int:
    path = Path(argv[0])
    faults.arm_from_environment()
    faults.point("train.start")
    tagger = Tagger(catalogue_from_json(sys.stdin.read() if catalogue is None else catalogue))

    def train(rows: list[LabelledExample]) -> StoredModel | None:
        model = train_examples([Example(r.text, r.topic_id, r.weight) for r in rows], tagger)
        return None if model is None else StoredModel(*model.to_blobs())

    stored = labels_and_save_sync(path, train, datetime.now(UTC).isoformat())
    return EXIT_TRAINED if stored is not None else EXIT_TOO_FEW


if __name__ == "__main__":  # pragma: no cover - run by bot.learner
    sys.exit(main(sys.argv[1:]))
