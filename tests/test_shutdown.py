"""A clean stop: what the outbox holds is sent before the process ends, and nothing is
sent a second time after the restart."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.core.records import Outgoing
from tests.botapi_stub import FakeBotApi
from tests.conftest import BotRunner

OFFICE = -100777


async def test_a_clean_stop_flushes_the_outbox_once(
    stub: FakeBotApi, make_settings: Callable[..., Settings]
) -> None:
    # The delivery job would not come round for minutes: only the stop can send these.
    settings = make_settings(stub, telegram={"outbox_interval": 300})
    runner = BotRunner(settings)
    app = await runner.start()
    svc = app.bot_data.services
    await stub.wait_idle(quiet=0.8)  # the job's first run (0.5 s after start) is over
    notices = [
        Outgoing(chat_enc=svc.secrets.encrypt_int(OFFICE), text=f"第{i}条通知") for i in range(3)
    ]
    await svc.repository.queue_messages(notices)
    assert stub.messages_to(OFFICE) == []
    await runner.stop()
    assert [m.plain for m in stub.messages_to(OFFICE)] == ["第0条通知", "第1条通知", "第2条通知"]

    await runner.start()
    await stub.wait_idle(quiet=1.0)  # the delivery job has run once after the restart
    await runner.stop()
    assert len(stub.messages_to(OFFICE)) == 3
