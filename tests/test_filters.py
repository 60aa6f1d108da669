"""The words of /queue (bot.core.filters): statuses, views and topics by id or by name."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.core.filters import Filter, View, parse, words
from bot.core.workflow import Status


def test_names_in_every_language_and_ids(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert parse(settings, ["已受理"]) == Filter(status=Status.ACCEPTED)
    assert parse(settings, ["ＩＮ_PROGRESS"]) == Filter(status=Status.IN_PROGRESS)
    assert parse(settings, ["待審核", "城鄉建設與住房"]) == Filter(
        status=Status.NEW, topic_id="construction"
    )
    assert parse(settings, ["Transport", "and", "roads", "Overdue"]) == Filter(
        view=View.OVERDUE, topic_id="transport"
    )
    assert parse(settings, ["未簽收"]) == Filter(view=View.UNSIGNED)
    assert parse(settings, []) == Filter()


def test_unknown_word_and_suggestions(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert parse(settings, ["已受理", "胡说"]) == "胡说"
    assert "已受理" in words(settings).suggestions("已受")
    assert "overdue" in words(settings).suggestions("ovrdue")


def test_units_by_id_or_name_and_the_loops_views(make_settings: Callable[..., Settings]) -> None:
    """#18: a unit by its id or its name in any language, the 重办 view, and what lists."""
    settings = make_settings(
        units=[
            {
                "id": "cjb",
                "names": {"zh-Hans": "城建办", "zh-Hant": "城建辦", "en": "Construction office"},
                "chat_id": -1009,
            }
        ]
    )
    for said in (["cjb"], ["城建办"], ["城建辦"], ["construction", "office"]):
        assert parse(settings, said) == Filter(unit_id="cjb"), said
    assert parse(settings, ["城建办", "重辦", "已签收"]) == Filter(
        status=Status.SIGNED, view=View.REOPENED, unit_id="cjb"
    )
    assert parse(settings, ["redone"]) == Filter(view=View.REOPENED)
    assert parse(settings, ["reopened"]) == Filter(status=Status.REOPENED)  # the status
    assert "城建办" in words(settings).suggestions("城建")
    # A unit or a view lists items (the open ones); a topic or a place alone counts them.
    assert Filter(unit_id="cjb").lists and Filter(view=View.UNSIGNED).lists
    assert not Filter(topic_id="transport").lists and not Filter().lists


def test_support_sorts_beside_any_filter(make_settings: Callable[..., Settings]) -> None:
    """附议 (#20): /queue new 附议 lists the most supported first, in every spelling."""
    settings = make_settings()
    for word in ("附议", "附議", "SUPPORT", "ｓｕｐｐｏｒｔ"):
        assert parse(settings, ["待审核", word]) == Filter(status=Status.NEW, by_support=True)
    assert parse(settings, ["附议", "逾期"]) == Filter(view=View.OVERDUE, by_support=True)
    assert "support" in words(settings).suggestions("suport")
