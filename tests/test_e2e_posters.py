"""End to end: ``jindianzi posters`` writes a printable A4 PDF per place and a sheet of all
of them, and each QR code on them, read back from the rendered page, is that place's deep
link. The pages are rendered with Debian's poppler (pdftoppm) and the codes decoded with
zbar (zbarimg), both installed by ./scripts/test; their text is read with pdftotext."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import t
from bot.places import deep_link
from tests.botapi_stub import FakeBotApi
from tests.processes import EXAMPLE_CONFIG

PLACES = """
[[places]]
id = "chengguan"
names = { "zh-Hans" = "城关镇", en = "Chengguan" }

[[places]]
id = "dongcun"
names = { "zh-Hans" = "东村", en = "East Village" }
parent = "chengguan"

[[places]]
id = "xi-cun_2"
names = { "zh-Hans" = "西村社区居民委员会第二网格" }
parent = "chengguan"

[[places]]
id = "hexi"
names = { "zh-Hans" = "河西镇" }
"""
IDS = ("chengguan", "dongcun", "xi-cun_2", "hexi")
TOOLS = ("pdftoppm", "pdftotext", "zbarimg")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (poppler-utils, zbar-tools): run ./scripts/test")
    return found


def pages(pdf: Path, out: Path) -> list[Path]:
    """The PDF's pages as PNG files (150 dpi, as a phone's camera sees a printed page)."""
    prefix = out / pdf.stem
    subprocess.run([tool("pdftoppm"), "-r", "150", "-png", pdf, prefix], check=True)
    return sorted(out.glob(f"{pdf.stem}*.png"))


def decoded(png: Path) -> list[str]:
    """Every QR code zbar finds on the page, as text."""
    result = subprocess.run(
        [tool("zbarimg"), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 4), result.stderr  # 4: no code found
    return [line for line in result.stdout.splitlines() if line]


def text_of(pdf: Path) -> str:
    run = subprocess.run([tool("pdftotext"), pdf, "-"], capture_output=True, check=True)
    return "".join(run.stdout.decode().split())  # lines as laid out; spaces are not compared


def config_with_places(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8") + PLACES, encoding="utf-8")
    return config


def check_posters(out: Path, username: str, renders: Path) -> None:
    for place_id in IDS:
        pdf = out / f"poster-{place_id}.pdf"
        [page] = pages(pdf, renders)  # one A4 page
        assert decoded(page) == [deep_link(username, place_id)]
    sheet = pages(out / "all-places.pdf", renders)
    found = [link for page in sheet for link in decoded(page)]
    assert sorted(found) == sorted(deep_link(username, place_id) for place_id in IDS)


def test_posters_offline_carry_each_places_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in TOOLS:
        tool(name)
    out, renders = tmp_path / "posters", tmp_path / "renders"
    renders.mkdir()
    started = time.perf_counter()
    code = main(
        ["posters", "--config", str(config_with_places(tmp_path)), "--out", str(out),
         "--username", "@jindianzi_bot"]
    )  # fmt: skip
    drawn = time.perf_counter() - started
    assert code == 0
    printed = capsys.readouterr().out
    assert f"4 posters and the sheet of all places for @jindianzi_bot in {out}" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"poster-{i}.pdf" for i in IDS), "all-places.pdf"]
    )
    started = time.perf_counter()
    check_posters(out, "jindianzi_bot", renders)
    read = time.perf_counter() - started
    # What a poster says: the campaign, the place under its parent, how, the promise.
    words = text_of(out / "poster-dongcun.pdf")
    for expected in (
        "解放思想大讨论",
        "城关镇",
        "东村",
        t("zh-Hans", "poster.scan"),
        t("zh-Hans", "poster.privacy"),
        "https://t.me/jindianzi_bot?start=dongcun",
    ):
        assert "".join(expected.split()) in words, expected
    for step in t("zh-Hans", "poster.steps", bot="jindianzi_bot").split("\n"):
        assert "".join(step.split())[:12] in words
    # Shown with -rA (README: the time the poster tests add).
    print(f"posters: drawn in {drawn:.2f} s, rendered and decoded in {read:.2f} s")


async def test_posters_ask_telegram_for_the_bots_username(
    tmp_path: Path, stub: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --username the link's bot is the one the token belongs to (getMe)."""
    monkeypatch.setenv("JINDIANZI_TELEGRAM__TOKEN", stub.token)
    monkeypatch.setenv("JINDIANZI_TELEGRAM__BASE_URL", stub.base_url)
    out, renders = tmp_path / "posters", tmp_path / "renders"
    renders.mkdir()
    config = config_with_places(tmp_path)
    args = ["posters", "--config", str(config), "--out", str(out), "--language", "en"]
    assert await asyncio.to_thread(main, args) == 0
    assert any(call.method == "getMe" for call in stub.calls)
    check_posters(out, "jindianzi_test_bot", renders)
    words = text_of(out / "poster-dongcun.pdf")
    assert "EastVillage" in words and "Chengguan" in words


def test_posters_need_places_and_a_username(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "posters"
    assert main(["posters", "--config", str(EXAMPLE_CONFIG), "--out", str(out)]) == 2
    assert "No places are configured" in capsys.readouterr().err
    config = config_with_places(tmp_path)  # no token in the example
    assert main(["posters", "--config", str(config), "--out", str(out)]) == 2
    assert "--username" in capsys.readouterr().err
    bad = ["posters", "--config", str(config), "--out", str(out), "--username", "no such"]
    assert main(bad) == 2
    assert not out.exists()
