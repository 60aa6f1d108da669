"""The anonymity keys against the database (#15, point 9), through ``prepare`` (what ``run``
does before the bot starts) and ``check-config``: a missing key file beside a database that
needs its keys, or keys that cannot read it, stop the start with one line naming the files
(exit 2) and no key file is made, unless ``--new-keys`` says to start over; a database from
before the key check row is judged by its newest encrypted values."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.anonymity import Secrets
from bot.cli import main
from bot.config import Settings
from bot.core.records import Draft, NewSubmission
from bot.core.workflow import Kind
from bot.startup import EXIT_CONFIG, StartupError, prepare
from storage.keycheck import read_key_evidence
from storage.repository import Repository
from tests.databases import both_backends, database

RESIDENT = 555000777

# On SQLite and on PostgreSQL (#24): the evidence is read by SQL of each (the newest rows by
# rowid, by ctid).
make_settings = both_backends()


async def _anonymous_item(settings: Settings, secrets: Secrets) -> None:
    repository = Repository(settings.storage.target, secrets=secrets)
    await repository.connect()
    try:
        await repository.save_draft(RESIDENT, Draft(parts=["x"]))
        await repository.create_submission(
            NewSubmission(
                kind=Kind.PROBLEM,
                text="井盖丢了",
                topic_id="construction",
                suggested_topic_id="construction",
                evidence=(),
                language="zh-Hans",
                reply_route=secrets.encrypt_int(RESIDENT),
            ),
            owner_id=RESIDENT,
        )
    finally:
        await repository.close()


def deployed(settings: Settings) -> Secrets:
    """A database that ran with the key file: its check row and an anonymous item."""
    prepared = prepare(settings)
    asyncio.run(_anonymous_item(settings, prepared.secrets))
    return prepared.secrets


def other_keys(path: Path, *, hmac_from: Secrets | None = None) -> Secrets:
    other = Secrets.generate()
    hmac_key = (hmac_from or other).hmac_key
    path.write_text(
        json.dumps({"hmac_key": hmac_key.decode(), "encryption_key": other.encryption_key.decode()})
    )
    path.chmod(0o600)
    return other


def check_config(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{settings.storage.path}"\n'
        + (f'url = "{settings.storage.url}"\n' if settings.storage.url else "")
        + f'[anonymity]\nkey_file = "{settings.anonymity.key_file}"\n'
        '[[topics]]\nid = "other"\nnames = { "zh-Hans" = "其他" }\nfallback = true\n',
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["check-config", "--config", str(config)]) == EXIT_CONFIG
    return capsys.readouterr().err


def test_a_new_deployment_gets_keys_and_its_check_row(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    assert not settings.anonymity.key_file.exists()
    prepared = prepare(settings)
    assert settings.anonymity.key_file.stat().st_mode & 0o777 == 0o600
    assert prepared.keys.source == f"new keys in {settings.anonymity.key_file}"
    evidence = read_key_evidence(settings.storage.target)
    assert evidence.check is not None
    assert prepared.secrets.decrypt(evidence.check[0]) == "jindianzi key check"
    assert prepare(settings).keys.source == f"the key file {settings.anonymity.key_file}"


def test_a_missing_key_file_beside_anonymous_data_stops_the_start(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings()
    deployed(settings)
    settings.anonymity.key_file.rename(tmp_path / "elsewhere.keys")
    with pytest.raises(StartupError) as info:
        prepare(settings)
    line = str(info.value)
    assert info.value.status == EXIT_CONFIG and "\n" not in line
    assert f"no key file at {settings.anonymity.key_file}" in line
    assert f"the database {settings.storage.describe()} holds 1 anonymous submissions" in line
    assert "--new-keys" in line
    assert not settings.anonymity.key_file.exists()  # no new keys made beside it
    err = check_config(settings, tmp_path, capsys)
    assert f"no key file at {settings.anonymity.key_file}" in err
    assert not settings.anonymity.key_file.exists()


def test_new_keys_start_over_loudly_and_only_once(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    old = deployed(settings)
    settings.anonymity.key_file.unlink()
    prepared = prepare(settings, new_keys=True)
    assert prepared.secrets.encryption_key != old.encryption_key
    [note] = prepared.keys.notes
    assert note.startswith("--new-keys: STARTING OVER") and "1 anonymous submissions" in note
    assert any(
        "STARTING OVER" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records
    )
    # The check row now belongs to the new keys: the next start needs no flag.
    assert prepare(settings).secrets.encryption_key == prepared.secrets.encryption_key


def test_a_key_file_from_elsewhere_is_refused(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings()
    deployed(settings)
    other_keys(settings.anonymity.key_file)
    with pytest.raises(StartupError) as info:
        prepare(settings)
    assert "cannot read the database" in str(info.value)
    assert "they are not the keys it was written with" in str(info.value)
    assert "cannot read the database" in check_config(settings, tmp_path, capsys)


def test_an_hmac_key_from_elsewhere_is_refused(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    keys = deployed(settings)
    other = Secrets.generate()
    settings.anonymity.key_file.write_text(
        json.dumps(
            {"hmac_key": other.hmac_key.decode(), "encryption_key": keys.encryption_key.decode()}
        )
    )
    with pytest.raises(StartupError, match="their HMAC key is not the one it was written with"):
        prepare(settings)


def test_keys_in_the_configuration_are_checked_the_same_way(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    deployed(settings)
    other = Secrets.generate()
    configured = make_settings(
        anonymity={
            "hmac_key": other.hmac_key.decode(),
            "encryption_key": other.encryption_key.decode(),
        }
    )
    with pytest.raises(StartupError) as info:
        prepare(configured)
    assert "anonymity keys from the configuration (anonymity.hmac_key" in str(info.value)


def test_a_database_from_before_the_check_row_is_judged_by_its_encrypted_values(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    keys = deployed(settings)
    with database(settings) as db:
        db.execute("DELETE FROM key_check")  # as written before migration 0012
    evidence = read_key_evidence(settings.storage.target)
    assert evidence.check is None and evidence.samples and evidence.anonymous_items == 1

    other_keys(settings.anonymity.key_file)
    with pytest.raises(StartupError, match=r"none of its \d+ newest encrypted values"):
        prepare(settings)

    settings.anonymity.key_file.write_text(
        json.dumps(
            {"hmac_key": keys.hmac_key.decode(), "encryption_key": keys.encryption_key.decode()}
        )
    )
    prepare(settings)  # the right keys: accepted, and the check row is written now
    assert read_key_evidence(settings.storage.target).check is not None


def test_a_supporters_route_is_sampled_with_the_other_encrypted_values(
    make_settings: Callable[..., Settings],
) -> None:
    """A 附议 supporter's chat (#20: the route a supporter follows the item by) is one of
    the encrypted values the keys are checked against."""
    settings = make_settings()
    keys = deployed(settings)
    route = keys.encrypt_int(RESIDENT + 1)
    with database(settings) as db:
        db.execute(
            "INSERT INTO supporters (submission_id, tag, chat_enc, language)"
            " VALUES (1, 'tag', ?, 'zh-Hans')",
            (route,),
        )
    assert route in read_key_evidence(settings.storage.target).samples
