"""The anonymity keys against what the database holds (#15, point 9).

A bot started without its key file (from another directory, with the file left behind in
a move, restored without it) used to generate new keys silently: pending notices to
anonymous senders then failed ("destination cannot be decrypted"), pending updates were
skipped, and an anonymous sender's /my said they had never submitted. Now:

- the database keeps a check row written with its keys (``key_check``: a fixed text
  encrypted, and its keyed hash); a database from before it is judged by a sample of its
  newest encrypted values (if some decrypt, the keys are right);
- keys that cannot read it, or a missing key file when the database holds anonymous data or
  encrypted values, stop the start (exit 2, one line naming the files), unless ``run
  --new-keys`` says to start over, which is logged loudly and replaces the check row;
- no key file is ever generated beside a database that needs the old one.

``run`` settles the keys with :func:`settle_keys` (which may create the key file);
``check-config`` asks the same question without creating anything (``create=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.anonymity import Namespace, Secrets, SecretsError, load_or_create_secrets
from bot.config import Settings
from storage.keycheck import KeyEvidence

CHECK_TEXT = "jindianzi key check"


class KeysError(Exception):
    """The keys cannot be used with this database; one line that says why."""


@dataclass
class KeyPlan:
    secrets: Secrets | None  # None: check-config, key file not created yet
    source: str  # where the keys come from, for the log and check-config
    replace: bool = False  # rewrite the check row (new keys start over)
    notes: list[str] = field(default_factory=list)  # warnings to log


def check_value(secrets: Secrets) -> tuple[str, str]:
    """The key check row's values for these keys."""
    return secrets.encrypt(CHECK_TEXT), secrets.tag(Namespace.KEY_CHECK, CHECK_TEXT)


def mismatch(secrets: Secrets, evidence: KeyEvidence) -> str | None:
    """Why these keys cannot read what the database holds, or None if they can."""
    if evidence.check is not None:
        token, digest = evidence.check
        if secrets.decrypt(token) != CHECK_TEXT:
            return "they are not the keys it was written with (its check value does not decrypt)"
        if secrets.tag(Namespace.KEY_CHECK, CHECK_TEXT) != digest:
            return "their HMAC key is not the one it was written with"
        return None
    if evidence.samples and all(secrets.decrypt(s) is None for s in evidence.samples):
        return (
            f"none of its {len(evidence.samples)} newest encrypted values can be decrypted "
            "with them"
        )
    return None


def settle_keys(
    settings: Settings, evidence: KeyEvidence, *, new_keys: bool = False, create: bool = True
) -> KeyPlan:
    """The keys to run with; raises :class:`KeysError` when they cannot be used (see the
    module's docstring). With ``create`` a missing key file is generated when the database
    needs no earlier keys (or ``new_keys`` says to start over)."""
    cfg = settings.anonymity
    database = settings.storage.describe()
    if cfg.configured:
        source = "the configuration (anonymity.hmac_key and anonymity.encryption_key)"
    else:
        source = f"the key file {cfg.key_file}"
    try:
        if not cfg.configured and not cfg.key_file.exists():
            return _without_key_file(settings, evidence, new_keys=new_keys, create=create)
        secrets = load_or_create_secrets(cfg)
    except SecretsError as exc:
        raise KeysError(f"anonymity keys: {exc}") from None
    why = mismatch(secrets, evidence)
    if why is None:
        return KeyPlan(secrets, source)
    if not new_keys:
        raise KeysError(
            f"anonymity keys from {source} cannot read the database {database}: {why}. "
            f"It holds {evidence.describe()}. Use the keys it was written with, or start "
            "once with `run --new-keys` to start over with these (what the old keys protect "
            "stays unreadable)"
        )
    return KeyPlan(secrets, source, replace=True, notes=[_starting_over(database, evidence)])


def _without_key_file(
    settings: Settings, evidence: KeyEvidence, *, new_keys: bool, create: bool
) -> KeyPlan:
    key_file = settings.anonymity.key_file
    database = settings.storage.describe()
    needed = evidence.holds_protected_data
    if needed and not new_keys:
        raise KeysError(
            f"anonymity keys: no key file at {key_file}, but the database {database} holds "
            f"{evidence.describe()}: new keys could not read it (anonymous senders could no "
            "longer be answered or see their items). Point anonymity.key_file at the file "
            "(relative paths are taken from the configuration file's folder), or start once "
            "with `run --new-keys` to start over"
        )
    if not create:
        return KeyPlan(None, f"the key file {key_file} (generated at the first start)")
    secrets = load_or_create_secrets(settings.anonymity)
    source = f"new keys in {key_file}"
    if needed:
        return KeyPlan(secrets, source, replace=True, notes=[_starting_over(database, evidence)])
    return KeyPlan(secrets, source)


def _starting_over(database: object, evidence: KeyEvidence) -> str:
    return (
        f"--new-keys: STARTING OVER with anonymity keys that cannot read what {database} "
        f"holds ({evidence.describe()}). Anonymous senders of earlier items can no longer be "
        "answered or see them in /my; notices and updates written with the old keys will "
        "fail. Keep the old key file if you still have it"
    )
