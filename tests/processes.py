"""The environment for running ``jindianzi`` as its own process against the Bot API
stand-in: the caller's environment without any ``JINDIANZI_*`` setting of its own, plus the
stand-in's token and URLs, the database and key file, and any further settings."""

from __future__ import annotations

import os
from pathlib import Path

from tests.botapi_stub import FakeBotApi


def bot_env(stub: FakeBotApi, database: Path, keys: Path, **settings: str) -> dict[str, str]:
    """``settings`` are environment names without the prefix, e.g.
    ``TELEGRAM__POLL_TIMEOUT="1"`` for ``JINDIANZI_TELEGRAM__POLL_TIMEOUT``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("JINDIANZI_")},
        "JINDIANZI_TELEGRAM__TOKEN": stub.token,
        "JINDIANZI_TELEGRAM__BASE_URL": stub.base_url,
        "JINDIANZI_TELEGRAM__BASE_FILE_URL": stub.base_file_url,
        "JINDIANZI_STORAGE__PATH": str(database),
        "JINDIANZI_ANONYMITY__KEY_FILE": str(keys),
        **{f"JINDIANZI_{name}": value for name, value in settings.items()},
    }
