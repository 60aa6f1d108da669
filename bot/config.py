"""Configuration: pydantic models for the TOML file plus ``JINDIANZI_<SECTION>__<KEY>`` overrides.

``load_settings`` reads a TOML file (pydantic-settings' own TOML source), lets environment
variables win over it, validates everything at start-up and raises :class:`ConfigError`
whose lines each name the bad key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, get_origin
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
# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
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
    # How often PTB writes conversation states to SQLite (they are flushed on shutdown too).
    persistence_interval: float = Field(default=2.0, gt=0, le=60)
    # Telegram's published limits: 30 messages/s overall, 1/s per private chat, 20/min per
    # group or channel (bot/ratelimit.py). 0 turns the per-private-chat limit off.
    overall_max_rate: float = Field(default=30.0, gt=0)
    group_max_rate: float = Field(default=20.0, gt=0)
    private_max_rate: float = Field(default=1.0, ge=0)
    # Updates handled at once (different users); one user's updates are always handled
    # one after another, in order.
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    # Seconds between runs of the outbox delivery job (it also runs after every action).
    outbox_interval: float = Field(default=5.0, gt=0, le=300)
    # Webhook mode (``jindianzi run --webhook URL``): Telegram sends this token in the
    # X-Telegram-Bot-Api-Secret-Token header and updates without it are refused. Unset: a
    # random one is generated at each start.
    webhook_secret: SecretStr | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            # The value itself is never echoed (it is a secret).
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


class StorageSettings(_Section):
    path: Path = Path("jindianzi.sqlite3")


class RolesSettings(_Section):
    admin_ids: list[int] = Field(default_factory=list)
    office_chat_id: int = 0
    leading_group_chat_id: int = 0
    channel_id: int = 0


class OfficeSettings(_Section):
    """How the campaign office works with the bot."""

    # Post every new item as a card with review buttons in the office chat.
    announce_new: bool = True
    # Default time to handle an item once assigned (限时办结), in days, by kind.
    deadline_days_problem: int = Field(default=15, ge=1, le=365)
    deadline_days_suggestion: int = Field(default=30, ge=1, le=365)
    # Departments offered when assigning an owner (free text is always accepted too).
    owners: list[str] = Field(default_factory=list)
    # The daily digest to the office chat, local campaign time ("HH:MM"), and the weekly
    # summary for the office's weekly meeting (weekday 1 = Monday ... 7 = Sunday).
    scheduled_reports: bool = True
    digest_time: dt.time = dt.time(8, 30)
    weekly_weekday: int = Field(default=1, ge=1, le=7)
    weekly_time: dt.time = dt.time(8, 0)
    # Notices to the office chat about one item (ratings, senders' answers, instructions)
    # within this many seconds of each other are sent as one message (0: each alone).
    notice_window: float = Field(default=30.0, ge=0, le=3600)


class CampaignSettings(_Section):
    name: str = "解放思想大讨论"
    timezone: str = "Asia/Shanghai"
    language: Language = "zh-Hans"

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


class LimitsSettings(_Section):
    """What a resident may send in one submission."""

    max_text_chars: int = Field(default=3500, ge=100, le=20000)
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
    keywords: list[str] = Field(default_factory=list)
    fallback: bool = False

    @field_validator("names")
    @classmethod
    def _has_simplified(cls, value: dict[Language, str]) -> dict[Language, str]:
        if "zh-Hans" not in value:
            raise ValueError("a topic needs at least its zh-Hans name")
        return value

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value]
        if any(not k for k in cleaned):
            raise ValueError("keywords must not be empty strings")
        return cleaned

    def name(self, language: str) -> str:
        name: str = self.names.get(language, self.names["zh-Hans"])  # type: ignore[call-overload]
        return name


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
    campaign: CampaignSettings = Field(default_factory=CampaignSettings)
    anonymity: AnonymitySettings = Field(default_factory=AnonymitySettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    topics: list[TopicConfig] = Field(min_length=1)

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

    @property
    def fallback_topic(self) -> TopicConfig:
        return next(t for t in self.topics if t.fallback)

    def topic(self, topic_id: str) -> TopicConfig | None:
        return next((t for t in self.topics if t.id == topic_id), None)


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
    if require_token and not settings.telegram.token.get_secret_value():
        raise ConfigError(
            source,
            ["telegram.token: no bot token; set it in the file or in JINDIANZI_TELEGRAM__TOKEN"],
        )
    return settings


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
    "RolesSettings",
    "Settings",
    "StorageSettings",
    "TelegramSettings",
    "TopicConfig",
    "WebSettings",
    "load_settings",
    "resolve_config_path",
]
