"""``jindianzi setup`` end to end against the Bot API stand-in (#21): as an operator runs it
in a terminal (a pseudo-terminal, driven by pexpect) and as a script runs it with flags.
The token is checked with getMe (a wrong one is said so and asked again, or ends a scripted
run with exit 2), the first administrator is whoever sends /start with the code, a group is
linked by /link@bot with its code (in privacy mode the bot sees commands only), the channel
by a post with its code; the file written passes check-config, and the bot never sees the
codes again."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pexpect

from bot.config import load_settings
from bot.i18n import t
from tests.botapi_stub import FakeBotApi, FakeUser
from tests.processes import ROOT

OPERATOR = FakeUser(id=700100, first_name="王", last_name="主任", username="wang_zr")
STRANGER = FakeUser(id=700200, first_name="路人")
OFFICE, LEADING, CHANNEL = -1001000000001, -1001000000002, -1001000000003
BOT = "jindianzi_test_bot"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JINDIANZI_")}
    return {**env, **extra}


def zh(key: str, **values: str) -> str:
    return t("zh-Hans", key, **values)


async def test_setup_in_a_terminal(stub: FakeBotApi, tmp_path: Path) -> None:
    target = tmp_path / "srv" / "config.toml"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "setup", "--config", str(target), "--base-url", stub.base_url],
        cwd=str(ROOT),
        env=environment(),
        encoding="utf-8",
        timeout=30,
    )
    transcript: list[str] = []

    async def expect(pattern: str) -> re.Match[str]:
        """Wait for ``pattern`` in the terminal; what it matched."""
        await child.expect(pattern, async_=True)
        transcript.append(str(child.before) + str(child.after))
        match = child.match
        assert isinstance(match, re.Match)
        return match

    try:
        await expect(r"Bot token from @BotFather \(input hidden\): ")
        child.sendline("999:NOT-A-TOKEN")
        await expect(r"rejected the bot token \(401 Unauthorized from getMe\)")
        await expect(r"Bot token from @BotFather \(input hidden\): ")
        child.sendline(stub.token)
        await expect(rf"Token OK: @{BOT}")
        await expect(r"Write the token into config.toml \(mode 0600\)\?.*\(Y/n\): ")
        child.sendline("")
        await expect(r"Campaign name \[解放思想大讨论\]: ")
        child.sendline("东湖街道解放思想大讨论")
        await expect(r"Default language .*\[zh-Hans\]: ")
        child.sendline("")
        await expect(r"Time zone \[Asia/Shanghai\]: ")
        child.sendline("")
        await expect(r"Database file .*\[jindianzi.sqlite3\]: ")
        child.sendline("")
        await expect(r"Anonymity key file .*\[jindianzi.keys\]: ")
        child.sendline("")

        # 1. The administrator: a wrong code is told so; the right one makes its sender it.
        code = (await expect(rf"https://t.me/{BOT}\?start=(\w+)"))[1]
        await expect(rf"/start {code}\s")
        await expect(r"press Enter to skip")
        mark = stub.mark()
        stub.send_text(STRANGER, "/start abcdefgh")
        assert (await stub.wait_for(STRANGER.id, after=mark)).plain == zh("setup.wrong_code")
        stub.send_text(OPERATOR, f"/start {code}")
        await expect(r"Administrator: 王 主任 \(id 700100, @wang_zr\)")
        done = await stub.wait_for(OPERATOR.id, after=mark)
        assert done.plain == zh("setup.admin_done", campaign="东湖街道解放思想大讨论")

        # 2. The office group: only a command reaches the bot there, only the admin's counts.
        code = (await expect(rf"/link@{BOT} (\w+)"))[1]
        await expect(r"press Enter to skip")
        assert stub.send_group_text(OPERATOR, OFFICE, code) is None  # withheld: not a command
        mark = stub.mark()
        stub.send_text(OPERATOR, f"/link@{BOT} {code}")  # in the private chat: wrong place
        assert (await stub.wait_for(OPERATOR.id, after=mark)).plain == zh("setup.link_in_group")
        stub.send_group_text(STRANGER, OFFICE, f"/link@{BOT} {code}")
        assert (await stub.wait_for(OFFICE, after=mark)).plain == zh("setup.not_admin")
        mark = stub.mark()
        stub.send_group_text(OPERATOR, OFFICE, f"/link@{BOT} {code}")
        await expect(rf"The office group \(办公室\): chat {OFFICE} \(id {OFFICE}, supergroup\)")
        linked = await stub.wait_for(OFFICE, after=mark)
        assert linked.plain == zh(
            "setup.chat_linked", campaign="东湖街道解放思想大讨论", role=zh("setup.role.office")
        )

        # 3. The leading group: skipped with Enter.
        await expect(rf"/link@{BOT} (\w+)")
        await expect(r"press Enter to skip")
        child.sendline("")
        await expect(r"Skipped\.")

        # 4. The channel: a post with the code, which the bot deletes.
        code = (await expect(r"post this in the channel:\s+(\w+)"))[1]
        await expect(r"press Enter to skip")
        post = stub.post_in_channel(CHANNEL, code)
        await expect(rf"public channel: chat {CHANNEL} \(id {CHANNEL}, channel\)")

        await expect(rf"Wrote {re.escape(str(target))} \(mode 0600\)")
        await expect(r"The token is in the file")
        await expect(rf"{re.escape(str(target))}: OK")
        await expect(r"warning: no leading group")
        await expect(rf"Start the bot with: jindianzi run --config {re.escape(str(target))}")
        await child.expect(pexpect.EOF, async_=True)
        transcript.append(str(child.before))
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, "".join(transcript)
    output = "".join(transcript)
    assert stub.token not in output and "NOT-A-TOKEN" not in output  # typed, never shown

    assert target.stat().st_mode & 0o777 == 0o600
    settings = load_settings(target)
    assert settings.telegram.token.get_secret_value() == stub.token
    assert settings.roles.admin_ids == [OPERATOR.id]
    assert settings.roles.office_chat_id == OFFICE
    assert settings.roles.leading_group_chat_id == 0
    assert settings.roles.channel_id == CHANNEL
    assert settings.campaign.name == "东湖街道解放思想大讨论"
    assert settings.storage.path == target.parent / "jindianzi.sqlite3"
    assert "# Telegram user ids of the campaign office" in target.read_text()  # the comments
    deleted = [c for c in stub.calls if c.method == "deleteMessage"]
    assert [c.params["chat_id"] for c in deleted] == [CHANNEL]
    # Everything setup read is confirmed: the bot will not see the codes.
    assert stub._highest_offset > post


async def read_until(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> re.Match[str]:
    while True:
        line = (await asyncio.wait_for(stream.readline(), 30)).decode()
        assert line, "".join(seen)
        seen.append(line)
        if (match := re.search(pattern, line)) is not None:
            return match


async def test_setup_by_flags(stub: FakeBotApi, tmp_path: Path) -> None:
    """A scripted deployment: the token from the environment (and left there), the leading
    group and the channel by flags, the administrator and the office group by their codes,
    read from the output."""
    target = tmp_path / "config.toml"
    flags = ["--non-interactive", "--base-url", stub.base_url, "--campaign", "西城区金点子"]
    flags += ["--leading-group", str(LEADING), "--channel", "0", "--wait", "60"]
    flags += ["--database", str(tmp_path / "jindianzi" / "jindianzi.sqlite3")]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "setup",
        "--config",
        str(target),
        *flags,
        cwd=ROOT,
        env=environment(JINDIANZI_TELEGRAM__TOKEN=stub.token),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        code = (await read_until(process.stdout, r"^\s+/start (\w+)$", seen))[1]
        stub.send_text(OPERATOR, f"/start {code}")
        code = (await read_until(process.stdout, rf"^\s+/link@{BOT} (\w+)$", seen))[1]
        stub.send_group_text(OPERATOR, OFFICE, f"/link {code}")  # without @bot works too
        rest, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
    output = "".join(seen) + rest.decode()
    assert process.returncode == 0, output + err.decode()
    assert "The token is NOT in the file: set JINDIANZI_TELEGRAM__TOKEN" in output
    assert f"{target}: OK" in output
    assert "warning: no channel (roles.channel_id)" in output
    assert stub.token not in target.read_text()
    settings = load_settings(target)
    assert settings.roles.admin_ids == [OPERATOR.id]
    assert settings.roles.office_chat_id == OFFICE
    assert settings.roles.leading_group_chat_id == LEADING
    assert settings.roles.channel_id == 0
    assert settings.storage.path == tmp_path / "jindianzi" / "jindianzi.sqlite3"


async def setup_by_flags(target: Path, *flags: str) -> tuple[int, str]:
    """``jindianzi setup --non-interactive`` with ``flags``; its exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot.cli", "setup", "--config", str(target), "--non-interactive", *flags),
        cwd=ROOT,
        env=environment(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_setup_by_flags_with_a_rejected_token(stub: FakeBotApi, tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    code, err = await setup_by_flags(
        target, "--token", "999:NOT-A-TOKEN", "--base-url", stub.base_url
    )
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith(f"setup: the Bot API at {stub.base_url} rejected the bot token (401")
    assert "NOT-A-TOKEN" not in line
    assert not target.exists()


async def test_setup_never_overwrites_a_file_unasked(stub: FakeBotApi, tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("# mine\n", encoding="utf-8")
    code, err = await setup_by_flags(target, "--token", stub.token, "--base-url", stub.base_url)
    assert code == 2
    assert f"{target} exists: nothing written (--force overwrites it)" in err
    assert target.read_text(encoding="utf-8") == "# mine\n"
    assert stub.calls == []  # refused before anything else
