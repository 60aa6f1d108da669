"""Charts draw Chinese with a real CJK font (never boxes) and come out as PNG."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from matplotlib.ft2font import FT2Font

from bot import charts

PNG = b"\x89PNG\r\n\x1a\n"


def sample() -> charts.ChartData:
    days = list(charts.days_between(date(2026, 11, 16), date(2026, 11, 22)))
    topics = [
        "交通出行",
        "城乡建设与住房",
        "教育",
        "医疗卫生",
        "文化体育",
        "党的建设",
        "其他",
        "安全生产",
    ]
    return charts.ChartData(
        title="金点子 2026-11-16 至 2026-11-22",
        days=days,
        per_topic={name: [(i + j) % 4 for j in range(len(days))] for i, name in enumerate(topics)},
        funnel=[("待审核", 40), ("已受理", 30), ("已转领导小组", 12), ("已销号", 5)],
        others_label="其他类别",
        per_day_title="每日提交（按类别）",
        funnel_title="办理进度",
    )


def test_a_font_with_chinese_glyphs_is_installed_and_chosen() -> None:
    path = charts.cjk_font()
    assert path is not None, "install fonts-wqy-microhei (scripts/test does)"
    charmap = FT2Font(path).get_charmap()
    data = sample()
    texts = [data.title, data.per_day_title, data.funnel_title, data.others_label]
    texts += list(data.per_topic) + [name for name, _ in data.funnel]
    missing = {ch for text in texts for ch in text if not ch.isascii() and ord(ch) not in charmap}
    assert missing == set()


def test_render_produces_a_png_without_missing_glyphs() -> None:
    # render() turns matplotlib's "Glyph ... missing from font" warning into an error.
    png = charts.render(sample())
    assert png is not None and png.startswith(PNG)
    assert len(png) > 10_000


def test_more_topics_than_colours_are_grouped() -> None:
    stacked = charts._stack(sample())
    assert len(stacked) == charts.OTHERS + 1
    assert stacked[-1][0] == "其他类别"
    total = sum(sum(v) for v in sample().per_topic.values())
    assert sum(sum(v) for _, v in stacked) == total


def test_a_font_without_chinese_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    latin = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    monkeypatch.setattr(charts, "cjk_font", lambda: latin)
    with pytest.raises(UserWarning, match=r"(?i)glyph"):
        charts.render(sample())


def test_charts_are_drawn_without_pyplot() -> None:
    """matplotlib's object API: no pyplot (its global figure list and backend switching)."""
    code = (
        "import sys\n"
        "from tests.test_charts import sample\n"
        "from bot import charts\n"
        "assert charts.render(sample()).startswith(b'\\x89PNG')\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_charts_drawn_in_several_threads_at_once_are_the_same_picture() -> None:
    expected = charts.render(sample())
    with ThreadPoolExecutor(max_workers=2) as pool:
        pictures = list(pool.map(lambda _: charts.render(sample()), range(2)))
    assert pictures == [expected] * 2
