"""The owner units (承办单位) in the configuration: check-config names each bad key (#18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.test_config import TOPICS, write

UNITS = """
[roles]
office_chat_id = -100500

[[units]]
id = "cjb"
names = { "zh-Hans" = "城建办", en = "Construction office" }
chat_id = -100700
member_ids = [4001]

[[units]]
id = "hbs"
names = { "zh-Hans" = "环保所" }
member_ids = [4002, 4003]
tell_sender = false
"""


def problems(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, TOPICS + text))
    return info.value.problems


def test_units_are_read_with_their_members(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TOPICS + UNITS))
    assert [u.id for u in settings.units] == ["cjb", "hbs"]
    cjb = settings.unit("cjb")
    assert cjb is not None and cjb.name("en") == "Construction office"
    assert cjb.name("zh-Hant") == "城建办"  # falls back to Simplified
    assert settings.unit_of_chat(-100700) is cjb
    assert settings.unit_of_member(4003) is settings.unit("hbs")
    assert settings.unit_of_member(4001) is cjb and settings.unit_of_member(9) is None
    assert settings.unit("hbs") is not None and settings.unit("hbs").tell_sender is False  # type: ignore[union-attr]
    assert settings.office.deadline_unit == "workdays" and settings.office.sign_days == 1


def test_no_units_is_fine(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, TOPICS)).units == []


def test_each_bad_unit_key_is_named(tmp_path: Path) -> None:
    text = (
        UNITS
        + """
[[units]]
id = "cjb"
names = { "zh-Hans" = "又一个城建办" }
chat_id = -100700
member_ids = [4002, -5]

[[units]]
id = "nobody"
names = { "zh-Hans" = "没人" }

[[units]]
id = "office"
names = { "zh-Hans" = "办公室" }
chat_id = -100500
"""
    )
    found = problems(text, tmp_path)
    assert "units[2].id: duplicate unit id 'cjb' (also units[0])" in found
    assert "units[2].chat_id: also the chat of unit 'cjb'" in found
    assert "units[2].member_ids: 4002 is also a member of unit 'hbs'" in found
    assert "units[2].member_ids: -5 is not a user id" in found
    assert "units[3]: nobody to reach: give a chat_id or member_ids" in found
    assert "units[4].chat_id: is also roles.office_chat_id" in found
    assert len(found) == 6


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('id = "hbs"', 'id = "HB S"'), "units[1].id"),
        (('names = { "zh-Hans" = "环保所" }', 'names = { en = "Env" }'), "units[1].names"),
        (("tell_sender = false", "tell_sender = false\ncolour = 1"), "units[1].colour"),
        (("chat_id = -100700", "chat_id = 700"), "units[0].chat_id"),
    ],
)
def test_bad_values_name_their_key(change: tuple[str, str], key: str, tmp_path: Path) -> None:
    found = problems(UNITS.replace(*change), tmp_path)
    assert any(p.startswith(key) for p in found), found


def test_deadline_unit_is_checked(tmp_path: Path) -> None:
    found = problems('[office]\ndeadline_unit = "weeks"\n', tmp_path)
    assert any(p.startswith("office.deadline_unit") for p in found)
