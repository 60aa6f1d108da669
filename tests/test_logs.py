"""Logging: secrets redacted from messages, arguments and tracebacks; noisy libraries quiet."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import (
    CURRENT_UPDATE,
    QUIET_LIBRARIES,
    REDACTED,
    WITHHELD,
    RedactSecrets,
    configure_logging,
    withhold_identities,
)

TOKEN = "123456789:AAE-very-secret-bot-token"
KEY = "hmac-key-material-0123456789"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactSecrets([TOKEN, KEY, "short"]))
    logger = logging.getLogger("tests.logs.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.handlers.clear()


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def test_secret_in_the_message(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info(f"GET https://api.telegram.org/bot{TOKEN}/getMe")
    assert stream.getvalue() == f"INFO GET https://api.telegram.org/bot{REDACTED}/getMe\n"


def test_secret_in_the_arguments(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("keys %s and %r loaded for %d users", KEY, TOKEN, 3)
    out = stream.getvalue()
    assert TOKEN not in out and KEY not in out
    assert out == f"WARNING keys {REDACTED} and '{REDACTED}' loaded for 3 users\n"


def test_secret_in_a_traceback(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError as inner:
            raise RuntimeError(f"while using {KEY}") from inner
    except RuntimeError:
        logger.exception("request failed")
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out and "ValueError" in out
    assert TOKEN not in out and KEY not in out
    assert out.count(REDACTED) == 2


def test_messages_without_secrets_are_untouched(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info("%s submitted #%d", "someone", 42)
    assert stream.getvalue() == "INFO someone submitted #42\n"


def test_short_secrets_are_ignored(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("a short word stays")
    assert stream.getvalue() == "INFO a short word stays\n"
    assert RedactSecrets(["1234567", "", "12345678"]).secrets == ["12345678"]


def test_longer_secrets_are_replaced_first() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "abcdefgh-XYZ", None, None)
    RedactSecrets(["abcdefgh", "abcdefgh-XYZ"]).filter(record)
    assert record.getMessage() == REDACTED


def test_without_secrets_the_filter_changes_nothing() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", ("v",), None)
    assert RedactSecrets([]).filter(record) is True
    assert record.msg == "%s" and record.args == ("v",)


def test_a_malformed_log_call_does_not_raise(
    captured: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, _ = captured
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production
    logger.warning("%d items", "not a number")  # must not raise, as without the filter


@pytest.mark.usefixtures("restore_root")
def test_configure_logging_installs_one_redacting_handler() -> None:
    stream = io.StringIO()
    handler = configure_logging("debug", secrets=[TOKEN], stream=stream)
    root = logging.getLogger()
    assert root.handlers == [handler] and root.level == logging.DEBUG
    logging.getLogger("jindianzi.test").debug("token=%s", TOKEN)
    assert TOKEN not in stream.getvalue() and f"token={REDACTED}" in stream.getvalue()
    # Even at DEBUG, libraries that log URLs (with the token) or whole updates stay quiet.
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("telegram").level == logging.INFO
    assert logging.getLogger("aiosqlite").level == logging.INFO


@pytest.mark.usefixtures("restore_root")
def test_configure_logging_never_lowers_below_the_chosen_level() -> None:
    configure_logging("ERROR", stream=io.StringIO())
    assert logging.getLogger("httpx").level == logging.ERROR
    assert logging.getLogger("telegram").level == logging.ERROR


def test_library_debug_output_stays_quiet() -> None:
    """Libraries that log user ids (aiosqlite, telegram) or the token (httpx) at DEBUG."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", stream=io.StringIO())
        for name in ("telegram", "aiosqlite", "httpx"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert logging.getLogger("handlers.resident").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


BODY = {
    "update_id": 7,
    "message": {"from": {"id": 987654321, "first_name": "秀英", "username": "li_xiuying"}},
}
IDENTITY = ("987654321", "秀英", "li_xiuying")


@pytest.mark.usefixtures("restore_root")
@pytest.mark.parametrize(
    ("logger", "level", "template", "data", "kept"),
    [
        (  # polling: a batch of updates the library cannot parse (PTB's words)
            "telegram.ext.ExtBot",
            logging.CRITICAL,
            "Error while parsing updates! Received data was %r",
            [BODY],
            "Error while parsing updates! Received data was",
        ),
        (  # the webhook server: an update it cannot parse
            "telegram.ext.Updater",
            logging.CRITICAL,
            "Something went wrong processing the data received from Telegram. "
            "Received data was *not* processed! Received data was: %r",
            BODY,
            "Received data was *not* processed!",
        ),
        (  # an answer that is not JSON (e.g. cut off by a proxy)
            "telegram.request.BaseRequest",
            logging.ERROR,
            'Can not load invalid JSON data: "%s"',
            '<html>502</html>{"ok":true,"result":[{"update_id":7,"message":{"from":'
            '{"id":987654321,"first_name":"秀英","username":"li_xiuying"',
            "Can not load invalid JSON data",
        ),
    ],
)
def test_data_the_library_cannot_parse_is_logged_without_it(
    logger: str, level: int, template: str, data: object, kept: str
) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        raise ValueError("bad update")
    except ValueError as exc:
        logging.getLogger(logger).log(level, template, data, exc_info=exc)
    out = stream.getvalue()
    assert kept in out and WITHHELD in out
    assert "ValueError: bad update" in out
    for token in IDENTITY:
        assert token not in out


@pytest.mark.usefixtures("restore_root")
def test_anything_that_looks_like_a_telegram_user_is_withheld_from_any_logger() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    log = logging.getLogger("some.library")
    log.warning("state of %s is %s", "chat", {"from": {"id": 987654321, "first_name": "秀英"}})
    log.info("User(first_name='秀英', id=987654321, username='li_xiuying') joined")
    try:
        raise KeyError(str(BODY))
    except KeyError:
        log.exception("handler failed")
    out = stream.getvalue()
    assert "state of chat is" in out and "joined" not in out and "handler failed" in out
    assert out.count(WITHHELD) >= 3
    for token in IDENTITY:
        assert token not in out
    assert withhold_identities("ref=#7 stored") == "ref=#7 stored"  # ordinary lines stay


@pytest.mark.usefixtures("restore_root")
def test_a_library_logger_turned_up_later_still_cannot_reach_the_output() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    application = logging.getLogger("telegram.ext.Application")
    try:
        for logger in (application, logging.getLogger("aiosqlite")):
            logger.setLevel(logging.DEBUG)  # e.g. someone debugging, after configure_logging
            logger.debug("executing INSERT ... (987654321, '李 秀英', 'li_xiuying')")
    finally:
        application.setLevel(logging.NOTSET)
    assert stream.getvalue() == ""


@pytest.mark.usefixtures("restore_root")
def test_every_line_names_the_update_being_handled() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("tests.logs.update")
    log.info("outside any update")
    token = CURRENT_UPDATE.set(4242)
    try:
        log.info("stored ref=%s", "#7")
    finally:
        CURRENT_UPDATE.reset(token)
    first, second = stream.getvalue().splitlines()
    assert " update=- outside any update" in first
    assert " update=4242 stored ref=#7" in second
