"""The worker's name: stable within a process, different in another one."""

from __future__ import annotations

import subprocess
import sys

from bot.worker import worker_id


def test_the_name_is_stable_in_a_process_and_new_in_another() -> None:
    assert worker_id() == worker_id()
    other = subprocess.run(
        [sys.executable, "-c", "from bot.worker import worker_id; print(worker_id())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert other and other != worker_id()
    host, pid, suffix = worker_id().split(":")
    assert host and pid.isdigit() and len(suffix) == 8
