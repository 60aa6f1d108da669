"""Printable posters for the places (``jindianzi posters``): one A4 PDF per place, with the
campaign's name, the place (under its parents), a QR code of the place's deep link, short
instructions and the privacy promise; and a sheet of all the places' codes (as many A4
pages as it takes), for the office's wall or to hand to the villages.

Drawn with matplotlib's PDF backend, already in the stack for the charts: it embeds the
CJK font (only the glyphs used), lays text out with real font metrics and writes vector
graphics. The QR code (segno) is one filled vector path of its dark modules, so it prints
sharp at any size and a scanner sees no seams between modules. Blocking: call it off the
event loop.
"""

from __future__ import annotations

import threading
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import segno
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, PathPatch
from matplotlib.path import Path as MplPath

from bot.charts import cjk_font
from bot.config import Language, Settings
from bot.i18n import t
from bot.places import deep_link

A4 = (8.27, 11.69)  # inches, portrait
QUIET_ZONE = 4  # modules of white around a QR code, as the standard asks
RED = "#b3261e"
INK = "#1f1f1f"
GREY = "#555555"
OVERVIEW_COLUMNS, OVERVIEW_ROWS = 3, 4
OVERVIEW_FILE = "all-places.pdf"
MOVE, LINE, CLOSE = int(MplPath.MOVETO), int(MplPath.LINETO), int(MplPath.CLOSEPOLY)
_ONE_AT_A_TIME = threading.Lock()  # matplotlib's style settings are process-wide


class PosterError(Exception):
    """The posters cannot be drawn (no font with Chinese glyphs, no places)."""


@dataclass(frozen=True)
class Poster:
    """What one place's poster says, in display form."""

    place_id: str
    campaign: str
    parents: str  # the place's parents ("城关镇"), "" for a top-level place
    place: str
    link: str
    scan: str
    steps: list[str]
    privacy: str
    link_line: str

    @property
    def filename(self) -> str:
        return f"poster-{self.place_id}.pdf"


def posters_for(settings: Settings, username: str, lang: Language) -> list[Poster]:
    """One poster per configured place, in configuration order (parents first)."""
    index = settings.place_index
    out = []
    for place, _ in index.walk():
        link = deep_link(username, place.id)
        path = index.path(place.id)
        out.append(
            Poster(
                place_id=place.id,
                campaign=settings.campaign.name,
                parents=" · ".join(p.name(lang) for p in path[:-1]),
                place=place.name(lang),
                link=link,
                scan=t(lang, "poster.scan"),
                steps=t(lang, "poster.steps", bot=username.lstrip("@")).split("\n"),
                privacy=t(lang, "poster.privacy"),
                link_line=t(lang, "poster.link", link=link),
            )
        )
    return out


def qr_path(link: str) -> tuple[MplPath, int]:
    """The dark modules of the link's QR code as one path (module units, y down), and the
    symbol's size in modules without the quiet zone. Runs of dark modules in a row are one
    rectangle each."""
    code = segno.make(link, error="m", micro=False)
    vertices: list[tuple[float, float]] = []
    codes: list[int] = []
    rows = [list(row) for row in code.matrix_iter(scale=1, border=0)]
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            vertices += [(start, y), (x, y), (x, y + 1), (start, y + 1), (start, y)]
            codes += [MOVE, LINE, LINE, LINE, CLOSE]
    return MplPath(vertices, codes), len(rows)


def draw_qr(axes: Axes, link: str) -> None:
    """The link's QR code filling ``axes`` (square), with its quiet zone."""
    path, size = qr_path(link)
    axes.add_patch(PathPatch(path, facecolor="black", edgecolor="none", linewidth=0))
    axes.set_xlim(-QUIET_ZONE, size + QUIET_ZONE)
    axes.set_ylim(size + QUIET_ZONE, -QUIET_ZONE)  # row 0 at the top
    axes.set_aspect("equal")
    axes.axis("off")


def _width(text: str) -> float:
    """A text's width in ems: full-width characters 1, others about half."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55 for ch in text)


def wrap(text: str, ems: float) -> list[str]:
    """Lines of at most ``ems`` wide; breaks at spaces where there are some (Latin text),
    anywhere between CJK characters."""
    lines: list[str] = []
    current = ""
    for word in _tokens(text):
        if current and _width(current + word) > ems:
            lines.append(current.rstrip())
            current = word.lstrip()
        else:
            current += word
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""]


def _tokens(text: str) -> list[str]:
    """Words (with the space before them) and single CJK characters."""
    out: list[str] = []
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in "WF"
        if wide or not out or ch == " " or unicodedata.east_asian_width(out[-1][-1]) in "WF":
            out.append(ch)
        else:
            out[-1] += ch
    return out


def fitted(
    text: str, width_in: float, size: float, *, smallest: float, lines: int = 2
) -> tuple[list[str], float]:
    """The text's lines and font size (points) to fill ``width_in`` inches: ``size`` if it
    fits on one line, else smaller down to ``smallest``, then wrapped onto up to ``lines``
    lines (more if it must)."""
    ems = _width(text) or 1.0
    one_line = width_in * 72 / ems
    if one_line >= size:
        return [text], size
    if one_line >= smallest:
        return [text], one_line
    for count in range(2, lines + 1):
        candidate = wrap(text, ems / count + 1)
        widest = max(_width(line) for line in candidate) or 1.0
        if width_in * 72 / widest >= smallest:
            return candidate, min(size, width_in * 72 / widest)
    return wrap(text, width_in * 72 / smallest), smallest


def _text(
    figure: Figure,
    y: float,
    lines: Sequence[str],
    size: float,
    *,
    x: float = 0.5,
    color: str = INK,
) -> float:
    """Lines centred on ``x`` from ``y`` (figure fractions, top) down; returns the y below."""
    step = size * 1.35 / 72 / A4[1]
    for line in lines:
        figure.text(x, y, line, ha="center", va="top", fontsize=size, color=color)
        y -= step
    return y


def draw_poster(figure: Figure, poster: Poster) -> None:
    """One A4 page: campaign, call to action, place, QR code, link, steps, privacy."""
    usable = A4[0] - 1.4  # inches between the margins
    figure.patches.append(
        FancyBboxPatch(
            (0.04, 0.03),
            0.92,
            0.94,
            boxstyle="round,pad=0,rounding_size=0.02",
            transform=figure.transFigure,
            facecolor="none",
            edgecolor=RED,
            linewidth=3,
        )
    )
    lines, size = fitted(poster.campaign, usable, 30, smallest=18)
    y = _text(figure, 0.94, lines, size, color=RED)
    lines, size = fitted(poster.scan, usable, 22, smallest=14)
    y = _text(figure, y - 0.01, lines, size, color=INK)
    if poster.parents:
        lines, size = fitted(poster.parents, usable, 18, smallest=12)
        y = _text(figure, y - 0.015, lines, size, color=GREY)
    lines, size = fitted(poster.place, usable, 40, smallest=20)
    y = _text(figure, y - 0.005, lines, size, color=INK)
    side = 0.56  # of the page's width
    height = side * A4[0] / A4[1]
    top = y - 0.01
    axes = figure.add_axes((0.5 - side / 2, top - height, side, height))
    draw_qr(axes, poster.link)
    y = top - height - 0.005
    lines, size = fitted(poster.link_line, usable, 11, smallest=8)
    y = _text(figure, y, lines, size, color=GREY)
    y -= 0.02
    step_size = 15.0
    for step in poster.steps:
        for number, line in enumerate(wrap(step, usable * 72 / step_size - 1)):
            indent = "\u3000" if number else ""  # continuation lines under the text
            figure.text(0.1, y, indent + line, ha="left", va="top", fontsize=step_size, color=INK)
            y -= step_size * 1.45 / 72 / A4[1]
    lines, size = fitted(poster.privacy, usable, 14, smallest=10, lines=3)
    _text(figure, max(y - 0.02, 0.1), lines, size, color=RED)


def draw_overview_page(
    figure: Figure, title: str, posters: Sequence[Poster], page: int, pages: int
) -> None:
    """One A4 page of the sheet of all places: a grid of place names and QR codes."""
    figure.text(0.5, 0.965, title, ha="center", va="top", fontsize=16, color=RED)
    if pages > 1:
        figure.text(0.5, 0.02, f"{page} / {pages}", ha="center", fontsize=9, color=GREY)
    cell_w = 0.9 / OVERVIEW_COLUMNS
    cell_h = 0.88 / OVERVIEW_ROWS
    for i, poster in enumerate(posters):
        column, row = i % OVERVIEW_COLUMNS, i // OVERVIEW_COLUMNS
        left = 0.05 + column * cell_w
        top = 0.92 - row * cell_h
        label = f"{poster.parents} · {poster.place}" if poster.parents else poster.place
        middle = left + cell_w / 2
        lines, size = fitted(label, cell_w * A4[0] - 0.2, 12, smallest=7)
        y = _text(figure, top, lines, size, x=middle)
        side = min(cell_w * 0.8, (y - (top - cell_h) - 0.03) * A4[1] / A4[0])
        height = side * A4[0] / A4[1]
        axes = figure.add_axes((left + (cell_w - side) / 2, y - height - 0.003, side, height))
        draw_qr(axes, poster.link)
        link_lines, link_size = fitted(poster.link, cell_w * A4[0] - 0.1, 6, smallest=4)
        _text(figure, y - height - 0.006, link_lines, link_size, x=middle, color=GREY)


def _font_family() -> str:
    path = cjk_font()
    if path is None:
        raise PosterError(
            "no font with Chinese glyphs is installed (Debian: apt-get install fonts-wqy-microhei)"
        )
    font_manager.fontManager.addfont(path)
    return str(font_manager.FontProperties(fname=path).get_name())


def write_posters(posters: Sequence[Poster], out: Path, overview_title: str) -> list[Path]:
    """Each poster as ``poster-<place id>.pdf`` and the sheet of all as ``all-places.pdf``
    in ``out`` (created if needed). Each file is written beside its name and renamed when
    complete, so an interrupted run leaves no half file. Returns the files written."""
    if not posters:
        raise PosterError("no places are configured ([[places]] in the configuration)")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with _ONE_AT_A_TIME:
        family = _font_family()
        with (
            matplotlib.rc_context({"font.family": family, "pdf.compression": 6}),
            warnings.catch_warnings(),
        ):
            # A glyph the font lacks is an error, not a box on a printed poster.
            warnings.filterwarnings("error", message="Glyph", category=UserWarning)
            for poster in posters:
                figure = Figure(figsize=A4)
                draw_poster(figure, poster)
                written.append(_save(out / poster.filename, [figure]))
            per_page = OVERVIEW_COLUMNS * OVERVIEW_ROWS
            chunks = [posters[i : i + per_page] for i in range(0, len(posters), per_page)]
            pages = []
            for number, chunk in enumerate(chunks, start=1):
                figure = Figure(figsize=A4)
                draw_overview_page(figure, overview_title, chunk, number, len(chunks))
                pages.append(figure)
            written.append(_save(out / OVERVIEW_FILE, pages))
    return written


def _save(target: Path, figures: Sequence[Figure]) -> Path:
    partial = target.with_name(target.name + ".part")
    try:
        with PdfPages(partial, metadata={"Title": target.stem, "Creator": "jindianzi"}) as pdf:
            for figure in figures:
                pdf.savefig(figure)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def place_posters(settings: Settings, username: str, out: Path, lang: Language) -> list[Path]:
    """Draw and write every place's poster and the sheet of all of them."""
    title = t(lang, "poster.overview", campaign=settings.campaign.name)
    return write_posters(posters_for(settings, username, lang), out, title)


__all__ = ["Poster", "PosterError", "place_posters", "posters_for", "qr_path"]
