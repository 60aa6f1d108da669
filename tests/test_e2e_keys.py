"""The anonymity keys and the files they protect, with ``jindianzi run`` as its own process
(#15, point 9). A configuration with relative paths used to mean "relative to wherever the
bot was started": started from another directory, it made a new database and new keys
there, and a resident's anonymous item vanished from /my. Now relative paths are taken from
the configuration file's folder and the log names the files in use; a key file that is
missing beside a database that needs it stops the start (exit 2, one line, no new keys
made), unless ``run --new-keys`` says to start over, which the log says loudly."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.conftest import Chat
from tests.processes import EXAMPLE_CONFIG, polls_since, start_bot
from tests.test_e2e_office import submit

ALICE = FakeUser(id=987654321, first_name="李", last_name="秀英")


class Deployment:
    """A configuration file with relative paths in ``deploy/``, the bot started from any
    directory with the token and the stand-in's address in its environment."""

    def __init__(self, stub: FakeBotApi, root: Path) -> None:
        self.stub = stub
        self.folder = root / "deploy"
        self.folder.mkdir()
        self.config = self.folder / "config.toml"
        example = EXAMPLE_CONFIG.read_text(encoding="utf-8")
        relative = example.replace('path = "jindianzi.sqlite3"', 'path = "data/bot.sqlite3"')
        relative = relative.replace('key_file = "jindianzi.keys"', 'key_file = "keys.json"')
        assert relative.count("data/bot.sqlite3") == relative.count("keys.json") == 1
        self.config.write_text(relative, encoding="utf-8")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("JINDIANZI_")},
            "JINDIANZI_TELEGRAM__TOKEN": stub.token,
            "JINDIANZI_TELEGRAM__BASE_URL": stub.base_url,
            "JINDIANZI_TELEGRAM__BASE_FILE_URL": stub.base_file_url,
            "JINDIANZI_TELEGRAM__POLL_TIMEOUT": "1",
            "JINDIANZI_OFFICE__SCHEDULED_REPORTS": "false",
        }

    async def serve(self, cwd: Path, *args: str) -> tuple[asyncio.subprocess.Process, int]:
        """Start the bot from ``cwd`` and wait until it polls; the calls made before."""
        calls = len(self.stub.calls)
        process = await start_bot(self.env, *args, config=self.config, cwd=cwd)
        await self.stub.wait_until(lambda: polls_since(self.stub, calls), timeout=60)
        return process, calls

    @staticmethod
    async def stop(process: asyncio.subprocess.Process) -> str:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()
        return stderr.decode()


async def test_relative_paths_follow_the_configuration_file_and_lost_keys_stop_the_start(
    stub: FakeBotApi, tmp_path: Path
) -> None:
    deployment = Deployment(stub, tmp_path)
    database = deployment.folder / "data" / "bot.sqlite3"
    keys = deployment.folder / "keys.json"
    alice = Chat(stub, ALICE)

    process, _ = await deployment.serve(deployment.folder)
    try:
        number = await submit(alice, "小区门口的井盖丢了好几天", anonymous=True)
    finally:
        await deployment.stop(process)
    assert database.exists() and keys.exists()

    # Started from another directory: the same database and keys, named in the log.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process, _ = await deployment.serve(elsewhere)
    try:
        mine = await alice.send("/my")
    finally:
        log = await deployment.stop(process)
    assert f"#{number}" in mine.plain
    assert f"database: {database} (" in log
    assert f"anonymity keys: the key file {keys}" in log
    assert list(elsewhere.iterdir()) == []

    # The key file lost: the start ends at once, one line, and no new keys are made.
    keys.rename(tmp_path / "keys-put-aside.json")
    calls = len(stub.calls)
    refused = await start_bot(deployment.env, config=deployment.config, cwd=elsewhere)
    _, stderr = await asyncio.wait_for(refused.communicate(), timeout=30)
    log = stderr.decode()
    assert refused.returncode == 2, log
    [line] = [x for x in log.splitlines() if " ERROR " in x or " CRITICAL " in x]
    assert f"cannot start: anonymity keys: no key file at {keys}, but the database" in line
    assert f"{database} holds 1 anonymous submissions" in line and "--new-keys" in line
    assert "Traceback" not in log
    assert not keys.exists()
    # Stopped before it reached Telegram (a long poll of the run before may end meanwhile).
    assert [c.method for c in stub.calls[calls:] if c.method != "getUpdates"] == []

    # Starting over is possible, and loud; the anonymous item can no longer be found.
    process, _ = await deployment.serve(elsewhere, "--new-keys")
    try:
        mine = await alice.send("/my")
    finally:
        log = await deployment.stop(process)
    [loud] = [x for x in log.splitlines() if "STARTING OVER" in x]
    assert " WARNING " in loud and "1 anonymous submissions" in loud
    assert mine.plain.startswith(t("zh-Hans", "my.empty"))  # and the line on unlinking
    assert keys.exists()
