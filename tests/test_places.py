"""Places and phases without Telegram: their configuration checked key by key, the place
tree's lookups and labels, the place keyboards' limits, the phases' sentences, the flow's
place step, and the counters behind /stats, the digest and the weekly comparison."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.core.drafting import Step, needed_step, with_place
from bot.core.phases import collected_again, collected_kinds, not_collected, phase_line, phase_now
from bot.core.records import Draft, NewSubmission
from bot.core.workflow import Kind
from bot.i18n import t
from bot.places import PlaceIndex, button_key, deep_link, valid_payload
from handlers import keyboards
from storage.repository import Repository
from tests.processes import EXAMPLE_CONFIG

TOWN = {"id": "chengguan", "names": {"zh-Hans": "城关镇", "zh-Hant": "城關鎮", "en": "Chengguan"}}
EAST = {"id": "dongcun", "names": {"zh-Hans": "东村", "en": "East Village"}, "parent": "chengguan"}
WEST = {"id": "xicun", "names": {"zh-Hans": "西村"}, "parent": "chengguan"}
RIVER = {"id": "hexi", "names": {"zh-Hans": "河西镇"}}
SOUTH = {"id": "nancun", "names": {"zh-Hans": "南村"}, "parent": "hexi"}


def settings(**overrides: Any) -> Settings:
    return load_settings(EXAMPLE_CONFIG, overrides=overrides)


def problems(**overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings(**overrides)
    return caught.value.problems


def phase(pid: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "names": {"zh-Hans": pid}, "start": start, "end": end, **extra}


# ---------------------------------------------------------------- configuration
def test_places_are_checked_key_by_key() -> None:
    found = problems(
        places=[
            TOWN,
            {**EAST, "parent": "nowhere"},
            {**WEST, "id": "chengguan"},
            {"id": "a", "names": {"zh-Hans": "甲"}, "parent": "b"},
            {"id": "b", "names": {"zh-Hans": "乙"}, "parent": "a"},
            {"id": "self", "names": {"zh-Hans": "丙"}, "parent": "self"},
        ]
    )
    assert found == [
        "places[2].id: 'chengguan' is also places[0]",
        "places[1].parent: no place has the id 'nowhere'",
        "places[3].parent: a cycle: a → b → a",
        "places[4].parent: a cycle: b → a → b",
        "places[5].parent: a cycle: self → self",
    ]


@pytest.mark.parametrize("bad", ["东村", "dong cun", "dong/cun", "x" * 65, ""])
def test_a_place_id_must_be_a_deep_link_payload(bad: str) -> None:
    [problem] = problems(places=[{"id": bad, "names": {"zh-Hans": "东村"}}])
    assert problem.startswith("places[0].id: ") and "deep link" in problem


def test_one_level_of_places_fits_one_keyboard() -> None:
    many = [{"id": f"v{i}", "names": {"zh-Hans": f"{i}村"}} for i in range(91)]
    assert problems(places=many) == [
        "places[90].parent: 91 places at the top level: at most 90 fit on one level of"
        " buttons (group them under parents)"
    ]
    settings(places=many[:90])  # 90 do


def test_a_place_needs_its_simplified_name() -> None:
    [problem] = problems(places=[{"id": "x", "names": {"en": "X"}}])
    assert problem.startswith("places[0].names: ") and "zh-Hans" in problem


def test_phases_are_checked_for_order_and_overlaps() -> None:
    found = problems(
        campaign={
            "phases": [
                phase("a", "2026-03-01", "2026-03-12"),
                phase("b", "2026-03-10", "2026-04-01"),
                phase("b", "2026-04-20", "2026-05-01"),
                phase("c", "2026-01-01", "2026-01-02"),
            ]
        }
    )
    assert found == [
        "campaign.phases[1].start: overlaps phases[0], which ends 2026-03-12"
        " (start this one on 2026-03-13 or later)",
        "campaign.phases[2].id: 'b' is also phases[1]",
        "campaign.phases[3].start: phases must be listed in order: 2026-01-01 is before the"
        " start of phases[2] (2026-04-20)",
    ]
    assert problems(campaign={"phases": [phase("a", "2026-03-02", "2026-03-01")]}) == [
        "campaign.phases[0].end: 2026-03-01 is before the phase's start (2026-03-02)"
    ]
    [empty] = problems(campaign={"phases": [phase("a", "2026-03-01", "2026-03-02", kinds=[])]})
    assert empty.startswith("campaign.phases[0].kinds: ")


def test_check_config_names_a_bad_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8")
        + '\n[[places]]\nid = "dongcun"\nnames = { "zh-Hans" = "东村" }\nparent = "nowhere"\n',
        encoding="utf-8",
    )
    assert main(["check-config", "--config", str(config)]) == 2
    assert "places[0].parent: no place has the id 'nowhere'" in capsys.readouterr().err


# ---------------------------------------------------------------- the place tree
def test_labels_lookups_and_subtrees() -> None:
    index = settings(places=[TOWN, EAST, WEST, RIVER, SOUTH]).place_index
    assert index.label("zh-Hans", "dongcun") == "城关镇 / 东村"
    assert index.label("en", "dongcun") == "Chengguan / East Village"
    assert index.label("zh-Hans", "gone") == "gone"  # no longer configured: shown as stored
    assert index.subtree("chengguan") == ["chengguan", "dongcun", "xicun"]
    assert index.subtree("xicun") == ["xicun"]
    for query in ("dongcun", "东村", "East Village", "east  village", "ＥＡＳＴ VILLAGE"):
        found = index.find(query)
        assert found is not None and found.id == "dongcun", query
    found = index.find("城關鎮")
    assert found is not None and found.id == "chengguan"
    assert index.find("北村") is None and index.find("") is None


def test_silent_places_count_the_places_under_them() -> None:
    index = settings(places=[TOWN, EAST, WEST, RIVER, SOUTH]).place_index
    silent = index.silent({"xicun"})
    assert {parent: [p.id for p in group] for parent, group in silent.items()} == {
        "chengguan": ["dongcun"],
        None: ["hexi"],
        "hexi": ["nancun"],
    }
    assert index.silent({"dongcun", "xicun", "nancun"}) == {}


def test_deep_links_and_payloads() -> None:
    assert (
        deep_link("@jindianzi_bot", "dong-cun_1") == "https://t.me/jindianzi_bot?start=dong-cun_1"
    )
    assert valid_payload("dong-cun_1") and valid_payload("x" * 64)
    assert not valid_payload("x" * 65) and not valid_payload("东村") and not valid_payload("")
    assert len(button_key("x" * 64)) == 8 and button_key("a") == button_key("a")


@pytest.mark.parametrize("count", [1, 24, 25, 90])
def test_place_keyboards_fit_telegrams_limits(count: int) -> None:
    towns = [{"id": f"t{i}", "names": {"zh-Hans": f"{i}镇"}} for i in range(max(1, count // 10))]
    town_ids = [str(town["id"]) for town in towns]
    villages = [
        {"id": f"{'v' * 50}{i}", "names": {"zh-Hans": f"{i}村"}, "parent": town_ids[i % len(towns)]}
        for i in range(count - len(towns))
    ]
    index = settings(places=towns + villages).place_index
    levels: list[str | None] = [None, *town_ids]
    for parent in levels:
        markup = keyboards.places("zh-Hans", index, parent)
        buttons = [b for row in markup.inline_keyboard for b in row]
        assert len(buttons) <= 100
        assert all(len(str(b.callback_data).encode()) <= 64 for b in buttons)
        assert buttons[-2].callback_data == "place:skip"
    flat = keyboards.places("zh-Hans", index)
    shown = sum(
        1 for row in flat.inline_keyboard for b in row if "place:set:" in str(b.callback_data)
    )
    assert shown == (count if count <= keyboards.FLAT_PLACES else 0)


def test_same_names_under_different_parents_are_told_apart() -> None:
    same = {"zh-Hans": "新村"}
    index = PlaceIndex(
        settings(places=[TOWN, RIVER, {**EAST, "names": same}, {**SOUTH, "names": same}]).places
    )
    labels = [b.text for row in keyboards.places("zh-Hans", index).inline_keyboard for b in row]
    assert "城关镇 / 新村" in labels and "河西镇 / 新村" in labels


# ---------------------------------------------------------------- the flow's place step
def test_the_place_is_asked_once_after_the_topic_when_places_exist() -> None:
    limits = settings().limits
    draft = Draft(kind=Kind.PROBLEM, parts=["路灯坏了好几天"], topic_id="construction")
    assert needed_step(draft, limits) is Step.IDENTITY  # no places configured
    assert needed_step(draft, limits, {"dongcun"}) is Step.PLACE
    assert needed_step(with_place(draft, None), limits, {"dongcun"}) is Step.IDENTITY
    chosen = with_place(draft, "dongcun")
    assert needed_step(chosen, limits, {"dongcun"}) is Step.IDENTITY
    assert needed_step(chosen, limits, {"xicun"}) is Step.PLACE  # no longer configured


# ---------------------------------------------------------------- phases
PHASES = [
    phase("mobilise", "2026-11-01", "2026-11-15"),
    phase("checking", "2026-11-16", "2026-11-30", kinds=["problem"]),
    phase("again", "2026-12-01", "2026-12-10", kinds=["problem"]),
    phase("rectify", "2026-12-20", "2026-12-31"),
]


def at(day: str, hour: int = 10) -> datetime:
    """``hour`` o'clock local (Shanghai) on that day."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").astimezone(UTC)


def test_which_phase_a_moment_falls_in_is_a_local_day() -> None:
    config = settings(campaign={"phases": PHASES})
    assert phase_now(config, at("2026-11-15", 23)).current.id == "mobilise"  # type: ignore[union-attr]
    assert phase_now(config, at("2026-11-16", 0)).current.id == "checking"  # type: ignore[union-attr]
    before = phase_now(config, at("2026-10-01"))
    assert before.current is None and before.upcoming is not None and before.previous is None
    between = phase_now(config, at("2026-12-15"))
    assert between.current is None and between.collects(Kind.SUGGESTION)
    assert phase_line("zh-Hans", between) == t(
        "zh-Hans", "phase.between", phase="rectify", start="2026-12-20"
    )
    assert phase_line("zh-Hans", phase_now(settings(), at("2026-11-20"))) is None
    checking = phase_now(config, at("2026-11-20"))
    assert collected_kinds(checking) == (Kind.PROBLEM,)
    assert collected_kinds(between) == (Kind.SUGGESTION, Kind.PROBLEM)


def test_a_refusal_says_from_when_the_kind_is_taken_again() -> None:
    config = settings(campaign={"phases": PHASES})
    now = phase_now(config, at("2026-11-20"))
    assert now.current is not None
    # Two phases without suggestions in a row: taken again on the first free day after them.
    assert collected_again(config, Kind.SUGGESTION, now.current) == (date(2026, 12, 11), None)
    text = not_collected("zh-Hans", config, now, Kind.SUGGESTION)
    assert t("zh-Hans", "phase.later_open", start="2026-12-11", kind="建议") in text
    joined = settings(campaign={"phases": [PHASES[1], {**PHASES[3], "start": "2026-12-01"}]})
    text = not_collected("en", joined, phase_now(joined, at("2026-11-20")), Kind.SUGGESTION)
    assert "from 2026-12-01" in text and "rectify" in text


# ---------------------------------------------------------------- the core's submit
async def test_submit_refuses_a_kind_out_of_phase_and_stores_place_and_phase(
    make_settings: Callable[..., Settings],
) -> None:
    """bot.core.submitting decides it, whoever calls: a kind the phase does not collect is
    refused (the draft stays); an item stores its configured place and its phase, and a
    place no longer configured is not stored."""
    from bot.anonymity import Secrets
    from bot.core import submitting
    from bot.core.access import Place, identify
    from bot.core.env import Env
    from bot.core.results import Refusal
    from tests.conftest import FrozenClock

    config = make_settings(places=[TOWN, EAST], campaign={"phases": PHASES})
    clock = FrozenClock(at("2026-11-20"))  # checking: problems only
    secrets = Secrets.generate()
    repo = Repository(config.storage.path, clock=clock, secrets=secrets)
    await repo.connect()
    try:
        env = Env(repo, config, secrets)
        who = identify(config, 4242, Place.PRIVATE, language="zh-Hans", name="李 秀英")
        idea = Draft(kind=Kind.SUGGESTION, parts=["修一座桥"], anonymous=False, place_id="dongcun")
        await repo.save_draft(4242, idea)
        refused = await submitting.submit(env, who, idea, chat_id=4242, key=None)
        assert refused.refusal is Refusal.PHASE and not refused.ok
        checking = phase_now(config, clock())
        assert refused.message == not_collected("zh-Hans", config, checking, Kind.SUGGESTION)
        assert submitting.out_of_phase(env, who, Kind.PROBLEM) is None
        assert await repo.get_draft(4242) == idea  # kept
        problem = idea.model_copy(update={"kind": Kind.PROBLEM})
        await repo.save_draft(4242, problem)
        stored = await submitting.submit(env, who, problem, chat_id=4242, key=None)
        assert stored.ok and stored.item is not None
        assert (stored.item.place_id, stored.item.phase_id) == ("dongcun", "checking")
        clock.now = at("2026-12-15")  # between phases: everything, no phase
        gone = problem.model_copy(update={"place_id": "removed"})
        await repo.save_draft(4242, gone)
        later = await submitting.submit(env, who, gone, chat_id=4242, key=None)
        assert later.ok and later.item is not None
        assert (later.item.place_id, later.item.phase_id) == (None, None)
    finally:
        await repo.close()


# ---------------------------------------------------------------- the counters
async def test_place_and_phase_counters_match_the_items(tmp_path: Path) -> None:
    """The counters (0015's triggers) over whole days plus the items at both ends give the
    same figures as counting the items, for any window."""
    from bot.anonymity import Secrets

    clock_now = [datetime(2026, 11, 1, 1, 0, tzinfo=UTC)]
    repo = Repository(
        tmp_path / "db.sqlite3", clock=lambda: clock_now[0], secrets=Secrets.generate()
    )
    await repo.connect()
    try:
        created = []
        places = ["dongcun", "xicun", None]
        phases = ["mobilise", None, "checking"]
        for i in range(30):
            clock_now[0] += timedelta(hours=7)
            await repo.save_draft(1, Draft(kind=Kind.PROBLEM, parts=["x"]))
            new = NewSubmission(
                kind=Kind.PROBLEM if i % 2 else Kind.SUGGESTION,
                text=f"第{i}条",
                topic_id="other",
                suggested_topic_id="other",
                evidence=(),
                language="zh-Hans",
                reply_route="r",
                place_id=places[i % 3],
                phase_id=phases[i % 3],
            )
            item = await repo.create_submission(new, owner_id=1)
            created.append(item)
        start = datetime(2026, 11, 2, 5, 30, tzinfo=UTC)
        end = datetime(2026, 11, 8, 17, 0, tzinfo=UTC)
        counted = {
            (c.place_id, c.phase_id, c.kind): c.n
            for c in await repo.place_counts(start=start, end=end)
        }
        naive: dict[tuple[str | None, str | None, Kind], int] = {}
        for item in created:
            if start <= item.created_at < end:
                key = (item.place_id, item.phase_id, item.kind)
                naive[key] = naive.get(key, 0) + 1
        assert counted == naive and sum(counted.values()) > 10
        stats = await repo.stats(start=start, end=end)
        assert stats.by_place == {
            (p or ""): sum(n for (pl, _, _), n in naive.items() if pl == p) for p in places
        }
    finally:
        await repo.close()
