"""Charts for the weekly summary and /stats: items per day by topic, and the status funnel;
the units' rates of the weekly 通报 (#19).

Rendered to PNG with matplotlib's object API (a :class:`~matplotlib.figure.Figure` of its
own, no ``pyplot`` and its global figure list) in a font that has Chinese glyphs; blocking and
CPU-bound, so callers run :func:`render` in a worker thread. matplotlib's style settings and
Python's warning filters are process-wide, so one chart is drawn at a time. Without such a
font no chart is drawn (boxes instead of characters would be worse than no chart).
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

# Fonts with CJK glyphs found on Debian/Ubuntu (fonts-wqy-microhei, fonts-noto-cjk) and macOS.
CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "PingFang SC",
    "Microsoft YaHei",
)
# Where Debian's packages put them, for when matplotlib's font cache predates the install.
CJK_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
SAMPLE = "金点子问题反映建议类别状态"
OTHERS = 6  # topics drawn separately; the rest are summed
_ONE_AT_A_TIME = threading.Lock()


class ChartData(BaseModel):
    """What the charts show, in display form (labels already translated)."""

    model_config = ConfigDict(frozen=True)

    title: str
    days: list[date]
    per_topic: dict[str, list[int]]  # topic label -> count per day
    funnel: list[tuple[str, int]]  # status label -> items that reached it
    others_label: str
    per_day_title: str
    funnel_title: str


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Path of an installed font that can draw Chinese, or None."""
    from matplotlib.ft2font import FT2Font

    candidates: list[str] = []
    for family in CJK_FONTS:
        try:
            candidates.append(
                font_manager.findfont(
                    font_manager.FontProperties(family=family), fallback_to_default=False
                )
            )
        except ValueError:
            continue
    candidates += [path for path in CJK_FILES if Path(path).is_file()]
    for path in candidates:
        charmap = FT2Font(path).get_charmap()
        if all(ord(ch) in charmap for ch in SAMPLE):
            return str(path)
    return None


class RatesData(BaseModel):
    """The 通报's chart: for each ranked unit (best first), each rate in percent."""

    model_config = ConfigDict(frozen=True)

    title: str
    units: list[str]
    rates: dict[str, list[float]]  # rate label -> percent per unit (0 when not counted)
    line: float  # the line, in percent


def render(data: ChartData) -> bytes | None:
    """The PNG, or None when no font with Chinese glyphs is installed."""
    return _png(lambda figure: _draw(figure, data), (10, 7.5))


def render_rates(data: RatesData) -> bytes | None:
    """The 通报's PNG (None without a font with Chinese glyphs)."""
    return _png(lambda figure: _draw_rates(figure, data), (10, 2.5 + 0.45 * len(data.units)))


def _png(draw: Callable[[Figure], None], size: tuple[float, float]) -> bytes | None:
    path = cjk_font()
    if path is None:
        log.warning("no font with Chinese glyphs installed (e.g. fonts-wqy-microhei): no chart")
        return None
    with _ONE_AT_A_TIME:
        font_manager.fontManager.addfont(path)
        family = font_manager.FontProperties(fname=path).get_name()
        buffer = io.BytesIO()
        with (
            matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}),
            warnings.catch_warnings(),
        ):
            # A missing glyph is an error, not a box in the picture.
            warnings.filterwarnings("error", message="Glyph", category=UserWarning)
            figure = Figure(figsize=size, dpi=100)
            draw(figure)
            figure.savefig(buffer, format="png")
        return buffer.getvalue()


def _stack(data: ChartData) -> list[tuple[str, list[int]]]:
    ranked = sorted(data.per_topic.items(), key=lambda kv: -sum(kv[1]))
    shown = ranked[:OTHERS]
    rest = ranked[OTHERS:]
    if rest:
        shown.append((data.others_label, [sum(v) for v in zip(*(r[1] for r in rest), strict=True)]))
    return shown


def _draw(figure: Figure, data: ChartData) -> None:
    figure.suptitle(data.title, fontsize=14)
    per_day, funnel = figure.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    labels = [d.strftime("%m-%d") for d in data.days]
    bottom = [0] * len(labels)
    for name, counts in _stack(data):
        per_day.bar(labels, counts, bottom=bottom, label=name)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    per_day.set_title(data.per_day_title)
    if data.per_topic:
        per_day.legend(fontsize=8, ncols=2)
    per_day.tick_params(axis="x", labelrotation=45, labelsize=8)
    names = [name for name, _ in data.funnel][::-1]
    values = [n for _, n in data.funnel][::-1]
    funnel.barh(names, values, color="#c0392b")
    for y, value in enumerate(values):
        funnel.text(value, y, f" {value}", va="center", fontsize=9)
    funnel.set_title(data.funnel_title)
    figure.tight_layout()


def _draw_rates(figure: Figure, data: RatesData) -> None:
    axes = figure.subplots()
    axes.set_title(data.title, fontsize=13)
    count = len(data.rates) or 1
    height = 0.8 / count
    positions = list(range(len(data.units)))[::-1]  # the best at the top
    for i, (label, values) in enumerate(data.rates.items()):
        axes.barh(
            [p + (count / 2 - i - 0.5) * height for p in positions], values, height, label=label
        )
    axes.set_yticks(positions, data.units)
    axes.axvline(data.line, color="#c0392b", linestyle="--", linewidth=1)
    axes.set_xlim(0, 100)
    axes.legend(fontsize=8, ncols=min(count, 4), loc="lower right")
    figure.tight_layout()


def days_between(first: date, last: date) -> Sequence[date]:
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
