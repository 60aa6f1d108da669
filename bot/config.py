"""Configuration: pydantic models for the TOML file plus ``JINDIANZI_<SECTION>__<KEY>`` overrides.

``load_settings`` reads a TOML file (pydantic-settings' own TOML source), lets environment
variables win over it, validates everything at start-up and raises :class:`ConfigError`
whose lines each name the bad key. Every check ``run`` makes of a value is made here, so
``check-config`` refuses what ``run`` would (bounds on names and rates, the anonymity keys'
form). Relative paths (the database, the key file) are taken from the configuration file's
folder, wherever the command is started from.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

Language = Literal["zh-Hans", "zh-Hant", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-Hans", "zh-Hant", "en")
DEFAULT_CONFIG_FILES = ("config.toml", "config.example.toml")
ENV_PREFIX = "JINDIANZI_"
if TYPE_CHECKING:
    from bot.places import PlaceIndex

# The longest configured names: they are shown on buttons and in every card's header.
MAX_NAME = 100
MAX_TOPIC_NAME = 64
MAX_KEYWORD = 64
MAX_KEYWORDS = 2000
HMAC_KEY_BYTES = 32  # the least key material for the owner hashes (HMAC-SHA256)
# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# What Telegram accepts as a deep link's start parameter (t.me/<bot>?start=<payload>): a
# place's id is its link's payload.
DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
KINDS = ("suggestion", "problem")
# Places directly under one parent (or at the top level): one keyboard's worth.
MAX_PLACES_PER_LEVEL = 90
# The TOML file that Settings() reads, chosen at run time by load_settings (None: no file).
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("config_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TelegramSettings(_Section):
    """How to reach the Bot API."""

    token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    poll_timeout: float = Field(default=30.0, ge=0, le=50)
    # Not used since the conversation's state is the draft's, read at every update (#24);
    # accepted so that older configuration files still load.
    persistence_interval: float = Field(default=2.0, ge=0.1, le=60)
    # Telegram's published limits: 30 messages/s overall, 1/s per private chat, 20/min per
    # group or channel (bot/transport/ratelimit.py). 0 turns the per-private-chat limit off. Below
    # the minimums the bot would take hours to send what the office does in a minute.
    overall_max_rate: float = Field(default=30.0, ge=1)
    group_max_rate: float = Field(default=20.0, ge=1)
    # The window of group_max_rate in seconds: Telegram's is a minute. A shorter one lets a
    # test watch the per-group limit over several windows in seconds.
    group_period: float = Field(default=60.0, ge=1, le=3600)
    private_max_rate: float = Field(default=1.0, ge=0)
    # Updates handled at once (different users); one user's updates are always handled
    # one after another, in order.
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    # Seconds between runs of the outbox delivery job (it also runs after every action).
    outbox_interval: float = Field(default=5.0, ge=0.1, le=300)
    # Webhook mode (``jindianzi run --webhook URL``): Telegram sends this token in the
    # X-Telegram-Bot-Api-Secret-Token header and updates without it are refused. Unset: a
    # random one is generated at each start. Required for several workers on PostgreSQL.
    webhook_secret: SecretStr | None = None
    # Several webhook workers on PostgreSQL: seconds a worker holds an update it claimed
    # from the inbox (renewed every third of it while the update is handled); a dead
    # worker's updates are claimed by another once it runs out.
    inbox_lease: float = Field(default=15.0, ge=2, le=300)

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            # The value itself is never echoed (it is a secret).
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s):// URL, e.g. https://api.telegram.org/bot")
        return value.strip()

    @field_validator("private_max_rate")
    @classmethod
    def _off_or_sane(cls, value: float) -> float:
        if 0 < value < 0.1:
            raise ValueError("must be 0 (no limit) or at least 0.1 messages a second")
        return value


SQLITE_URL = "sqlite:///"
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


class StorageSettings(_Section):
    """The database: SQLite's file (``path``, or ``url = "sqlite:///path"``, the same thing)
    or PostgreSQL (``url = "postgresql://user@host/db"``, the password from the environment:
    ``JINDIANZI_DB_PASSWORD`` or libpq's ``PGPASSWORD``)."""

    path: Path = Path("jindianzi.sqlite3")
    url: str | None = None

    @field_validator("path")
    @classmethod
    def _a_file(cls, value: Path) -> Path:
        if value.name in ("", ".", ".."):
            raise ValueError("must name a file, e.g. /var/lib/jindianzi/jindianzi.sqlite3")
        return value

    @field_validator("url")
    @classmethod
    def _a_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(SQLITE_URL):
            cls._a_file(Path(value.removeprefix(SQLITE_URL)))
            return value
        if not value.startswith(POSTGRESQL_SCHEMES):
            raise ValueError(
                "must be sqlite:///path (sqlite:////abs/path) or postgresql://user@host/db"
            )
        parts = urlsplit(value)
        if parts.password is not None:
            raise ValueError(
                "must not hold the password: set JINDIANZI_DB_PASSWORD (or PGPASSWORD) instead"
            )
        if not parts.path.strip("/"):
            raise ValueError(
                "must name the database, e.g. postgresql://jindianzi@localhost/jindianzi"
            )
        return value

    @model_validator(mode="after")
    def _sqlite_url_is_the_path(self) -> StorageSettings:
        """``url = "sqlite:///x"`` is ``path = "x"`` (one way down from here on)."""
        if self.url is not None and self.url.startswith(SQLITE_URL):
            path = Path(self.url.removeprefix(SQLITE_URL))
            self.__dict__.update(path=path, url=None)
        return self

    @property
    def postgresql(self) -> bool:
        return self.url is not None

    @property
    def stored(self) -> bool:
        """Whether the database exists: SQLite's file; PostgreSQL's is the server's to say
        (one that cannot be reached fails at the connection, with the server's reason)."""
        return self.postgresql or self.path.exists()

    @property
    def target(self) -> Path | str:
        """What :class:`storage.repository.Repository` opens: the file, or the URL."""
        return self.url if self.url is not None else self.path

    def describe(self) -> str:
        """The database for messages: the file, or the URL without a password."""
        return str(self.url) if self.url is not None else str(self.path)


class RolesSettings(_Section):
    """Who does what: Telegram user ids (positive) and chat ids (groups and channels are
    negative, e.g. -1001234567890; /whoami in the chat tells it)."""

    admin_ids: list[int] = Field(default_factory=list)
    office_chat_id: int = 0
    leading_group_chat_id: int = 0
    channel_id: int = Field(default=0, le=0)

    @field_validator("admin_ids")
    @classmethod
    def _user_ids(cls, value: list[int]) -> list[int]:
        if any(i <= 0 for i in value):
            raise ValueError(
                "user ids are positive numbers (a negative id is a group's; /whoami tells yours)"
            )
        return list(dict.fromkeys(value))


class OfficeSettings(_Section):
    """How the campaign office works with the bot."""

    # Post every new item as a card with review buttons in the office chat.
    announce_new: bool = True
    # Default time to handle an item once assigned (限时办结), in days, by kind.
    deadline_days_problem: int = Field(default=15, ge=1, le=365)
    deadline_days_suggestion: int = Field(default=30, ge=1, le=365)
    # Departments offered when assigning an owner (free text is always accepted too).
    owners: list[str] = Field(default_factory=list, max_length=100)
    # The daily digest to the office chat, local campaign time ("HH:MM"), and the weekly
    # summary for the office's weekly meeting (weekday 1 = Monday ... 7 = Sunday).
    scheduled_reports: bool = True
    digest_time: dt.time = dt.time(8, 30)
    weekly_weekday: int = Field(default=1, ge=1, le=7)
    weekly_time: dt.time = dt.time(8, 0)
    # How deadlines and the sign-for limit count (bot/core/deadlines.py): working days of
    # the official calendar (holidays skipped, make-up working days counted) or plain days.
    deadline_unit: Literal["workdays", "days"] = "workdays"
    # A unit must sign for (签收) a dispatched item within this many (working) days.
    sign_days: int = Field(default=1, ge=1, le=30)
    # An answer nobody rates within this many days closes as 未评价 (issue 18, step 7).
    rating_days: int = Field(default=7, ge=1, le=90)
    # Notices to the office chat about one item (ratings, senders' answers, instructions)
    # within this many seconds of each other are sent as one message (0: each alone).
    notice_window: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("owners")
    @classmethod
    def _owner_names(cls, value: list[str]) -> list[str]:
        cleaned = [o.strip() for o in value]
        if any(not o or len(o) > MAX_TOPIC_NAME for o in cleaned):
            raise ValueError(f"each owner must be 1-{MAX_TOPIC_NAME} characters")
        return cleaned


class EscalationSettings(_Section):
    """The chasing ladder (催办 / 督办, bot/core/escalation.py): each rung once per item and
    dispatch, only within working hours on working days, campaign time."""

    # A reminder to the unit this many (working) days before the deadline (0: none).
    remind_days_before: int = Field(default=2, ge=0, le=30)
    # Overdue: the office is told at once, then again every this many days.
    overdue_every_days: int = Field(default=3, ge=1, le=90)
    # 督办: to the leading group after this many days overdue, or at this reopening (重办).
    supervise_after_days: int = Field(default=5, ge=1, le=365)
    supervise_at_reopening: int = Field(default=2, ge=1, le=100)
    # Reminders go out only between these times on working days (a rung reached outside
    # them waits for the next working hour).
    work_start: dt.time = dt.time(8, 30)
    work_end: dt.time = dt.time(18, 0)
    # Seconds between runs of the reminder job.
    check_seconds: float = Field(default=300.0, ge=0.1, le=3600)

    @model_validator(mode="after")
    def _hours_in_order(self) -> EscalationSettings:
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be later than work_start")
        return self


class IndicesSettings(_Section):
    """The weekly 通报 (bot/core/indices.py): the composite score's weights, the line below
    which a unit is named, and the fewest items in the week for a unit to be ranked."""

    on_time: float = Field(default=0.4, ge=0, le=1)  # 按时办结率
    satisfied: float = Field(default=0.3, ge=0, le=1)  # 满意率
    sign: float = Field(default=0.2, ge=0, le=1)  # 签收及时率
    not_redone: float = Field(default=0.1, ge=0, le=1)  # 1 − 重办率
    line: float = Field(default=0.85, ge=0, le=1)
    min_items: int = Field(default=5, ge=1, le=10000)

    @model_validator(mode="after")
    def _some_weight(self) -> IndicesSettings:
        if self.on_time + self.satisfied + self.sign + self.not_redone <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


def _names_with_simplified(value: dict[Language, str]) -> dict[Language, str]:
    cleaned = {lang: name.strip() for lang, name in value.items()}
    if not cleaned.get("zh-Hans"):
        raise ValueError("needs at least its zh-Hans name")
    if any(not name for name in cleaned.values()):
        raise ValueError("names must not be empty")
    if any(len(name) > 64 for name in cleaned.values()):
        raise ValueError("names must be at most 64 characters")
    return cleaned


class PhaseConfig(_Section):
    """One dated phase of the campaign (动员部署, 学习调研, 查摆问题, 整改落实, 总结提高):
    from ``start`` to ``end``, both days included, in the campaign's time zone."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    names: dict[Language, str]
    start: dt.date
    end: dt.date
    # The kinds collected in this phase (e.g. only "problem" during 查摆问题); unset: all.
    kinds: list[Literal["suggestion", "problem"]] | None = None
    # Send the satisfaction survey (群众满意度测评, ``[survey]``) to this phase's senders by
    # itself once the phase has ended (the next check after its last day), once.
    survey: bool = False

    _names = field_validator("names")(_names_with_simplified)

    @field_validator("kinds")
    @classmethod
    def _some_kinds(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("a phase collects at least one kind (leave kinds out for all)")
        return None if value is None else sorted(set(value), key=KINDS.index)

    @model_validator(mode="after")
    def _ordered_days(self) -> PhaseConfig:
        if self.end < self.start:
            raise KeyProblems([("end", f"{self.end} is before the phase's start ({self.start})")])
        return self

    def name(self, language: str) -> str:
        name: str = self.names.get(language, self.names["zh-Hans"])  # type: ignore[call-overload]
        return name

    def collects(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


class CampaignSettings(_Section):
    name: str = Field(default="解放思想大讨论", min_length=1, max_length=MAX_NAME)
    timezone: str = "Asia/Shanghai"
    language: Language = "zh-Hans"
    # The campaign's phases, in order, without overlaps (gaps are allowed).
    phases: list[PhaseConfig] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _visible(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _check_phases(self) -> CampaignSettings:
        problems: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for i, phase in enumerate(self.phases):
            key = f"campaign.phases[{i}]"
            if phase.id in seen:
                problems.append((f"{key}.id", f"{phase.id!r} is also phases[{seen[phase.id]}]"))
            seen.setdefault(phase.id, i)
            if i == 0:
                continue
            before = self.phases[i - 1]
            if phase.start < before.start:
                problems.append(
                    (
                        f"{key}.start",
                        f"phases must be listed in order: {phase.start} is before the start of"
                        f" phases[{i - 1}] ({before.start})",
                    )
                )
            elif phase.start <= before.end:
                problems.append(
                    (
                        f"{key}.start",
                        f"overlaps phases[{i - 1}], which ends {before.end}"
                        f" (start this one on {before.end + dt.timedelta(days=1)} or later)",
                    )
                )
        if problems:
            raise KeyProblems(problems)
        return self

    def phase_on(self, day: dt.date) -> PhaseConfig | None:
        """The phase that day lies in (a local date), or None (before, between, after)."""
        return next((p for p in self.phases if p.start <= day <= p.end), None)

    def phase(self, phase_id: str) -> PhaseConfig | None:
        return next((p for p in self.phases if p.id == phase_id), None)


class AnonymitySettings(_Section):
    """Secrets that protect anonymous senders. Leave empty to have them generated into key_file."""

    key_file: Path = Path("jindianzi.keys")
    hmac_key: SecretStr | None = None
    encryption_key: SecretStr | None = None
    # Days after an anonymous item is closed (销号, rejected, merged) until its reply route
    # and ownership tag are deleted: from then on nobody, not even with the keys, can reach
    # its sender or tell who sent it, and it leaves the sender's /my.
    unlink_after_days: int = Field(default=30, ge=1, le=3650)
    # Seconds after something sensitive was deleted (a draft, a handled update's body, a
    # route) until the write-ahead log is checkpointed and truncated, so it keeps no copy.
    wal_scrub_seconds: float = Field(default=5.0, gt=0, le=3600)

    # The values themselves are never echoed in these messages (they are secrets).
    @field_validator("hmac_key")
    @classmethod
    def _enough_key_material(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < HMAC_KEY_BYTES:
            raise ValueError(
                f"must be at least {HMAC_KEY_BYTES} bytes of key material "
                "(e.g. the output of: openssl rand -base64 48)"
            )
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_fernet_key(value.get_secret_value()):
            raise ValueError(
                "not a valid Fernet key (32 url-safe base64 bytes, e.g. the output of: "
                "python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> AnonymitySettings:
        if (self.hmac_key is None) != (self.encryption_key is None):
            missing = "encryption_key" if self.encryption_key is None else "hmac_key"
            raise ValueError(
                f"set both hmac_key and encryption_key, or neither (to use key_file): "
                f"{missing} is missing"
            )
        return self

    @property
    def configured(self) -> bool:
        """The keys come from the configuration (file or environment), not the key file."""
        return self.hmac_key is not None


def is_fernet_key(key: str) -> bool:
    """Whether ``key`` is what Fernet accepts: 32 bytes in url-safe base64."""
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return False


class SurveyQuestion(_Section):
    """One question of the residents' satisfaction survey (群众满意度测评), answered with
    one tap: 满意 / 基本满意 / 不满意."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")
    names: dict[Language, str]

    _names = field_validator("names")(_names_with_simplified)

    def name(self, language: str) -> str:
        name: str = self.names.get(language, self.names["zh-Hans"])  # type: ignore[call-overload]
        return name


def _default_questions() -> list[SurveyQuestion]:
    return [
        SurveyQuestion(
            id="overall",
            names={
                "zh-Hans": "您对这次活动处理群众意见的总体评价",
                "zh-Hant": "您對這次活動處理群眾意見的總體評價",
                "en": "Overall, how were residents' suggestions handled?",
            },
        ),
        SurveyQuestion(
            id="speed",
            names={
                "zh-Hans": "答复是否及时",
                "zh-Hant": "答覆是否及時",
                "en": "Were the responses timely?",
            },
        ),
        SurveyQuestion(
            id="result",
            names={
                "zh-Hans": "问题是否真正得到解决",
                "zh-Hant": "問題是否真正得到解決",
                "en": "Were the problems really solved?",
            },
        ),
    ]


class SurveySettings(_Section):
    """The satisfaction survey /survey sends to every resident who submitted."""

    questions: list[SurveyQuestion] = Field(
        default_factory=_default_questions, min_length=1, max_length=5
    )

    @field_validator("questions")
    @classmethod
    def _distinct(cls, value: list[SurveyQuestion]) -> list[SurveyQuestion]:
        ids = [q.id for q in value]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be distinct")
        return value


class LimitsSettings(_Section):
    """What a resident may send in one submission."""

    # Above Telegram's own limit of one message (4096): a message Telegram lets a resident
    # send is never refused whole for its length alone.
    max_text_chars: int = Field(default=10000, ge=100, le=20000)
    max_parts: int = Field(default=20, ge=1, le=100)
    max_attachments: int = Field(default=10, ge=0, le=50)
    min_text_chars: int = Field(default=4, ge=1, le=100)
    page_size: int = Field(default=10, ge=1, le=50)
    # Submissions one person may make per hour, named and anonymous together (0 = no limit).
    max_submissions_per_hour: int = Field(default=10, ge=0, le=1000)


class TopicConfig(_Section):
    """One topic of the campaign's catalogue."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    names: dict[Language, str]
    keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    fallback: bool = False

    @field_validator("names")
    @classmethod
    def _has_simplified(cls, value: dict[Language, str]) -> dict[Language, str]:
        if "zh-Hans" not in value:
            raise ValueError("a topic needs at least its zh-Hans name")
        cleaned = {lang: name.strip() for lang, name in value.items()}
        if any(not name or len(name) > MAX_TOPIC_NAME for name in cleaned.values()):
            raise ValueError(f"each name must be 1-{MAX_TOPIC_NAME} characters")
        return cleaned

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value]
        if any(not k for k in cleaned):
            raise ValueError("keywords must not be empty strings")
        if any(len(k) > MAX_KEYWORD for k in cleaned):
            raise ValueError(f"each keyword must be at most {MAX_KEYWORD} characters")
        return cleaned

    def name(self, language: str) -> str:
        name: str = self.names.get(language, self.names["zh-Hans"])  # type: ignore[call-overload]
        return name


class UnitConfig(_Section):
    """An owner unit (承办单位): who works its items, in a Telegram group and/or in their
    private chats with the bot."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    names: dict[Language, str]
    chat_id: int = 0
    member_ids: list[int] = Field(default_factory=list)
    # Whether the sender is told "your item is being handled by <unit>" at the unit's first
    # progress note (the unit's name, never a person's).
    tell_sender: bool = True

    @field_validator("names")
    @classmethod
    def _has_simplified(cls, value: dict[Language, str]) -> dict[Language, str]:
        if "zh-Hans" not in value or not value["zh-Hans"].strip():
            raise ValueError("a unit needs at least its zh-Hans name")
        return value

    def name(self, language: str) -> str:
        name: str = self.names.get(language, self.names["zh-Hans"])  # type: ignore[call-overload]
        return name


class PlaceConfig(_Section):
    """A place residents come from (a town, a village, a community, a unit): its id is the
    payload of its deep link ``https://t.me/<bot>?start=<id>`` and of its poster's QR code."""

    id: str
    names: dict[Language, str]
    # The id of the place it belongs to (a village's town), or none for a top-level place.
    parent: str | None = None

    _names = field_validator("names")(_names_with_simplified)

    @field_validator("id")
    @classmethod
    def _payload(cls, value: str) -> str:
        if not DEEP_LINK_PAYLOAD.fullmatch(value):
            raise ValueError(
                "must be 1-64 characters of A-Z, a-z, 0-9, _ and - (it is the payload of the"
                " place's Telegram deep link)"
            )
        return value

    def name(self, language: str) -> str:
        name: str = self.names.get(language, self.names["zh-Hans"])  # type: ignore[call-overload]
        return name


class KeyProblems(ValueError):
    """Problems found across several keys (each a (key, message) pair), reported one line
    per key by :func:`format_validation_error` like pydantic's own."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


def place_problems(places: list[PlaceConfig]) -> list[tuple[str, str]]:
    """Duplicate ids, unknown parents and cycles among the places, key by key."""
    from bot.places import button_key

    problems: list[tuple[str, str]] = []
    index: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, place in enumerate(places):
        if place.id in index:
            problems.append((f"places[{i}].id", f"{place.id!r} is also places[{index[place.id]}]"))
            continue
        index[place.id] = i
        key = button_key(place.id)
        if key in keys:  # two ids with the same short button key: practically never
            clash = f"places[{keys[key]}]"
            problems.append((f"places[{i}].id", f"its button key clashes with {clash}: rename one"))
        keys.setdefault(key, i)
    for i, place in enumerate(places):
        if place.parent is None or index.get(place.id) != i:
            continue
        if place.parent not in index:
            problems.append((f"places[{i}].parent", f"no place has the id {place.parent!r}"))
            continue
        # Walk up: a parent chain that comes back to this place is a cycle.
        chain = [place.id]
        current: str | None = place.parent
        while current is not None and current in index and current not in chain:
            chain.append(current)
            current = places[index[current]].parent
        if current == place.id:
            cycle = " → ".join([*chain, place.id])
            problems.append((f"places[{i}].parent", f"a cycle: {cycle}"))
    # One level's places are one keyboard (Telegram: at most 100 buttons, some are taken).
    levels: dict[str | None, list[int]] = {}
    for i, place in enumerate(places):
        levels.setdefault(place.parent, []).append(i)
    for parent, members in levels.items():
        if len(members) > MAX_PLACES_PER_LEVEL:
            where = f"under {parent!r}" if parent else "at the top level"
            problems.append(
                (
                    f"places[{members[MAX_PLACES_PER_LEVEL]}].parent",
                    f"{len(members)} places {where}: at most {MAX_PLACES_PER_LEVEL} fit on one"
                    " level of buttons (group them under parents)",
                )
            )
    return problems


class WebSettings(_Section):
    """The office's web desk (``web/``): served by the bot's own process on ``listen:port``,
    usually behind a reverse proxy that terminates TLS at ``public_url``."""

    enabled: bool = False
    listen: str = "127.0.0.1"
    # 0: any free port (tests); the desk says which one it got.
    port: int = Field(default=8080, ge=0, le=65535)
    # Where users reach the desk (HTTPS, as Telegram requires for Mini Apps), e.g.
    # "https://bot.example.org/desk". Unset: no Mini App buttons; /web links to listen:port.
    public_url: str | None = None
    # Seconds a desk session lasts after it was opened (from Telegram or a login link).
    session_max_age: int = Field(default=8 * 3600, ge=300, le=7 * 24 * 3600)
    # Oldest Mini App initData accepted (its auth_date), seconds (Telegram's advice: short).
    initdata_max_age: int = Field(default=3600, ge=60, le=24 * 3600)
    # How long a one-time login link sent by /web stays valid, seconds.
    login_link_max_age: int = Field(default=600, ge=60, le=3600)
    # Telegram's Mini App script (theme changes, back button) when the page runs inside
    # Telegram; "" leaves it out. The desk works without it.
    telegram_script: str = "https://telegram.org/js/telegram-web-app.js"

    @field_validator("listen")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip().strip("[]")
        if not value or any(c in value for c in " /?#@"):
            raise ValueError("must be a host name or an IP address, e.g. 127.0.0.1")
        return value

    @field_validator("public_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https:// URL (Telegram opens Mini Apps over HTTPS only)")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be a plain https://host[/path] URL, without ?query or #part")
        return f"https://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("telegram_script")
    @classmethod
    def _script(cls, value: str) -> str:
        if value and urlsplit(value).scheme != "https":
            raise ValueError('must be an https:// URL, or "" to leave the script out')
        return value

    @property
    def path_prefix(self) -> str:
        """The path the desk lives under ("" or e.g. "/desk"), taken from public_url."""
        return urlsplit(self.public_url).path if self.public_url else ""


class Settings(BaseSettings):
    """The whole configuration. Environment variables override the file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    roles: RolesSettings = Field(default_factory=RolesSettings)
    office: OfficeSettings = Field(default_factory=OfficeSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    indices: IndicesSettings = Field(default_factory=IndicesSettings)
    campaign: CampaignSettings = Field(default_factory=CampaignSettings)
    anonymity: AnonymitySettings = Field(default_factory=AnonymitySettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    topics: list[TopicConfig] = Field(min_length=1)
    units: list[UnitConfig] = Field(default_factory=list)
    # Villages, communities, units (README, "Places and posters"); none: no place is asked.
    places: list[PlaceConfig] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: values passed in (tests), the environment, the file.
        toml_file = TomlConfigSettingsSource(settings_cls, toml_file=_CONFIG_FILE.get())
        return init_settings, env_settings, toml_file

    @model_validator(mode="after")
    def _check_topics(self) -> Settings:
        ids = [t.id for t in self.topics]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"topics: duplicate id(s) {', '.join(dupes)}")
        fallbacks = [t.id for t in self.topics if t.fallback]
        if len(fallbacks) != 1:
            raise ValueError(
                f"topics: exactly one topic must have fallback = true (found {len(fallbacks)})"
            )
        return self

    @model_validator(mode="after")
    def _check_places(self) -> Settings:
        problems = place_problems(self.places)
        if problems:
            raise KeyProblems(problems)
        return self

    @property
    def fallback_topic(self) -> TopicConfig:
        return next(t for t in self.topics if t.fallback)

    def topic(self, topic_id: str) -> TopicConfig | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    @cached_property
    def place_index(self) -> PlaceIndex:
        """The places as a tree with its lookups (built at the first use)."""
        from bot.places import PlaceIndex

        return PlaceIndex(self.places)

    def unit(self, unit_id: str | None) -> UnitConfig | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def unit_of_chat(self, chat_id: int) -> UnitConfig | None:
        """The unit whose group this chat is."""
        return next((u for u in self.units if u.chat_id and u.chat_id == chat_id), None)

    def unit_of_member(self, user_id: int | None) -> UnitConfig | None:
        """The unit this user works for (check-config makes it at most one)."""
        if user_id is None:
            return None
        return next((u for u in self.units if user_id in u.member_ids), None)


def unit_problems(settings: Settings) -> list[str]:
    """What is wrong with the ``[[units]]``, one line per bad key: duplicate ids, a chat or
    a member given to two units (or a unit chat that is the office's or the leading
    group's), a unit with nobody to reach."""
    problems: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_chats: dict[int, str] = {}
    seen_members: dict[int, str] = {}
    roles = settings.roles
    special = {
        roles.office_chat_id: "roles.office_chat_id",
        roles.leading_group_chat_id: "roles.leading_group_chat_id",
        roles.channel_id: "roles.channel_id",
    }
    for i, unit in enumerate(settings.units):
        where = f"units[{i}]"
        if unit.id in seen_ids:
            problems.append(
                f"{where}.id: duplicate unit id {unit.id!r} (also units[{seen_ids[unit.id]}])"
            )
        seen_ids.setdefault(unit.id, i)
        if not unit.chat_id and not unit.member_ids:
            problems.append(f"{where}: nobody to reach: give a chat_id or member_ids")
        if unit.chat_id:
            if unit.chat_id > 0:
                problems.append(f"{where}.chat_id: must be a group's id (negative)")
            elif unit.chat_id in special and unit.chat_id:
                problems.append(f"{where}.chat_id: is also {special[unit.chat_id]}")
            elif unit.chat_id in seen_chats:
                problems.append(
                    f"{where}.chat_id: also the chat of unit {seen_chats[unit.chat_id]!r}"
                )
            seen_chats.setdefault(unit.chat_id, unit.id)
        for member in unit.member_ids:
            if member <= 0:
                problems.append(f"{where}.member_ids: {member} is not a user id")
            elif member in seen_members and seen_members[member] != unit.id:
                other = seen_members[member]
                problems.append(f"{where}.member_ids: {member} is also a member of unit {other!r}")
            seen_members.setdefault(member, unit.id)
    return problems


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` holds one line per bad key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))

    def report(self) -> str:
        lines = [f"Configuration error in {self.source}:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def resolve_config_path(path: Path | None) -> Path:
    """The file to read: the one given, else config.toml, else config.example.toml."""
    if path is not None:
        return path
    for candidate in DEFAULT_CONFIG_FILES:
        if Path(candidate).is_file():
            return Path(candidate)
    return Path(DEFAULT_CONFIG_FILES[0])


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def format_validation_error(
    exc: ValidationError, data: Mapping[str, Any] | None = None
) -> list[str]:
    """One human line per error, naming the key (``topics[3].names``, ``campaign.timezone``)."""
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, KeyProblems):
            # The keys are absolute ("places[3].parent") or relative to where the error was
            # raised ("end" of "campaign.phases[1]").
            where = _location(tuple(err["loc"])) if err["loc"] else ""
            for key, message in cause.problems:
                full = key if not where or key.startswith(where) else f"{where}.{key}"
                problems.append(f"{full}: {message}")
            continue
        loc = _location(tuple(err["loc"]))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling and section)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        # Only the key and pydantic's message: the input (possibly a secret) is never echoed.
        problems.append(f"{loc}: {msg}")
    return problems


def load_settings(
    path: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    require_token: bool = False,
) -> Settings:
    """Read, merge with the environment and validate. Raises ConfigError naming bad keys.

    ``overrides`` (nested like the file) win over the environment and the file."""
    config_path = resolve_config_path(path)
    source = str(config_path)
    exists = config_path.is_file()
    if path is not None and not exists:
        raise ConfigError(source, ["file not found"])
    chosen = _CONFIG_FILE.set(config_path if exists else None)
    try:
        settings = Settings(**(overrides or {}))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [f"cannot read file: {exc}"]) from None
    except ValidationError as exc:
        raise ConfigError(source, format_validation_error(exc)) from None
    except SettingsError as exc:  # an environment value that is not valid JSON for its key
        raise ConfigError(source, [_environment_problem(exc)]) from None
    finally:
        _CONFIG_FILE.reset(chosen)
    if problems := unit_problems(settings):
        raise ConfigError(source, problems)
    if require_token and not settings.telegram.token.get_secret_value():
        raise ConfigError(
            source,
            ["telegram.token: no bot token; set it in the file or in JINDIANZI_TELEGRAM__TOKEN"],
        )
    return with_paths_from(settings, config_path.parent if exists else Path.cwd())


def with_paths_from(settings: Settings, folder: Path) -> Settings:
    """``settings`` with its relative paths (database, key file) taken from ``folder`` (the
    configuration file's), made absolute: the same files whatever directory the bot is
    started from. A bot started elsewhere used to create an empty database and new keys
    there, silently."""

    def absolute(path: Path) -> Path:
        return path if path.is_absolute() else Path(os.path.abspath(folder / path))

    storage = settings.storage
    if str(storage.path) != ":memory:":
        storage = storage.model_copy(update={"path": absolute(storage.path)})
    keys = settings.anonymity.model_copy(update={"key_file": absolute(settings.anonymity.key_file)})
    return settings.model_copy(update={"storage": storage, "anonymity": keys})


def _environment_problem(exc: SettingsError) -> str:
    """Name the JINDIANZI_* variable whose value could not be parsed: list and table
    settings must be written as JSON (``[1, 2]``)."""
    message = str(exc)
    section = message.split('"')[1] if message.count('"') >= 2 else ""
    field = Settings.model_fields.get(section)
    model = field.annotation if field is not None else None
    prefix = f"{ENV_PREFIX}{section.upper()}__"
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, value in sorted(os.environ.items()):
            key = name[len(prefix) :].lower() if name.startswith(prefix) else None
            sub = model.model_fields.get(key) if key else None
            if sub is None or get_origin(sub.annotation) not in (list, dict):
                continue
            try:
                json.loads(value)
            except ValueError:
                return f"{section}.{key} (from {name}): not valid JSON; write e.g. [1, 2]"
    return f"{section or 'environment'}: a {ENV_PREFIX}* value could not be parsed ({message})"


__all__ = [
    "LANGUAGES",
    "AnonymitySettings",
    "CampaignSettings",
    "ConfigError",
    "Language",
    "LimitsSettings",
    "OfficeSettings",
    "PhaseConfig",
    "PlaceConfig",
    "RolesSettings",
    "Settings",
    "StorageSettings",
    "TelegramSettings",
    "TopicConfig",
    "UnitConfig",
    "WebSettings",
    "is_fernet_key",
    "load_settings",
    "resolve_config_path",
    "with_paths_from",
]
