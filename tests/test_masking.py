"""The detector of personal data in a text about to be published (#17, point 10)."""

from __future__ import annotations

import pytest

from bot.core.masking import find, masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "电话138******78"),
        ("手机 138 1234 5678 找我", "手机 138 **** **78 找我"),
        ("+86 13812345678", "+86 1********78"),  # (the first three digits: 8, 6, 1)
        ("座机0571-87654321", "座机057*-******21"),
        ("身份证330106199001011234", "身份证330*************34"),
        ("证号33010619900101123X", "证号330*************3X"),
        ("车牌浙A12345", "车牌浙A*****"),
        ("邮箱 wang.x@example.com", "邮箱 w***@example.com"),
        ("幸福路12号门口", "幸福路**号门口"),
        ("3幢2单元501室", "*幢*单元***室"),
        ("小区12号楼门口", "小区**号楼门口"),
        ("我叫王小明，住这里", "我叫王**，住这里"),
        ("联系人：赵六 手机：15900001111", "联系人：赵* 手机：159******11"),
    ],
)
def test_masks_what_identifies_a_person_or_a_home(text: str, expected: str) -> None:
    assert masked(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "地铁3号线旁边的路灯坏了",
        "2024年投入了1500000元",
        "第3号文件要求公开",
        "张先生说路灯坏了",
        "希望增设20个停车位",
    ],
)
def test_leaves_what_identifies_nobody(text: str) -> None:
    assert masked(text) == (text, 0)


def test_known_names_are_masked_wherever_they_appear() -> None:
    text, count = masked("李秀英反映：李秀英家门口积水", names=["李秀英", "x"])
    assert (text, count) == ("李**反映：李**家门口积水", 2)


def test_pieces_never_overlap_and_keep_their_order() -> None:
    found = find("13812345678 330106199001011234")
    assert [f.kind for f in found] == ["phone", "id_card"]
    assert found[0].end <= found[1].start
