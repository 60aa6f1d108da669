"""Running ``jindianzi run`` as its own process against the Bot API stand-in: its
environment (the caller's without any ``JINDIANZI_*`` setting of its own, plus the
stand-in's token and URLs, the database and key file, and any further settings) and the
process itself, from the repository root with the example configuration."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.botapi_stub import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"


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


async def start_bot(
    env: dict[str, str], *args: str, stderr: int = asyncio.subprocess.PIPE
) -> asyncio.subprocess.Process:
    """``jindianzi run --config config.example.toml [args]`` with ``env``."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(EXAMPLE_CONFIG),
        *args,
        cwd=ROOT,
        env=env,
        stderr=stderr,
    )
