"""Run every benchmark and print a table: ``python -m bench [--quick | --full]``.

Machines here are shared and noisy, so each figure is the median of several runs and is
printed next to a baseline measured in the same run. Every comparison ends with a line
``<benchmark> ratio <value>`` for scripts; a ratio above 1 means better than the baseline
(for throughput: bot/baseline; for times: baseline/bot).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import warnings

from telegram.warnings import PTBUserWarning

from bench import desk, ingest, memory, store, tagger_model


def _line(name: str, ratio: float) -> None:
    print(f"{name} ratio {ratio:.3f}", flush=True)


async def main(quick: bool, full: bool) -> None:
    repeats = 1 if quick else 3
    print(f"# python {platform.python_version()}, nproc {os.cpu_count()}, {platform.machine()}")

    n = 20 if quick else 2000
    rates = await ingest.ingest(n, repeats)
    print(f"ingest: {n} one-line /suggest updates, concurrent_updates={ingest.INGEST_CONCURRENCY}")
    print(f"  echo baseline {rates['echo']:10.0f} updates/s")
    print(f"  jindianzi     {rates['bot']:10.0f} updates/s (each answer after a commit)")
    _line("ingest", rates["bot"] / rates["echo"])

    users = 20 if quick else 200
    lat = await ingest.latency(users, repeats)
    print(f"latency: {users} residents at once, concurrent_updates=256 (seconds)")
    for kind in ("echo", "bot"):
        p50, p99 = lat[kind]
        print(f"  {kind:5} p50 {p50:.4f}  p99 {p99:.4f}")
    _line("latency_p50", lat["echo"][0] / lat["bot"][0])
    _line("latency_p99", lat["echo"][1] / lat["bot"][1])

    start = await ingest.startup(repeats)
    print("start-up to first update answered (seconds)")
    print(f"  echo {start['echo']:.3f}   jindianzi {start['bot']:.3f}")
    _line("startup", start["echo"] / start["bot"])

    messages = 2000 if quick else 50_000
    tag = store.tagging(messages, repeats)
    print(f"tagging: {messages} labelled messages, one core")
    print(f"  OpenCC alone {tag['opencc']:10.0f} msg/s")
    print(f"  tagger       {tag['tagger']:10.0f} msg/s (normalise + keyword rules)")
    _line("tagging", tag["tagger"] / tag["opencc"])

    figures = tagger_model.speed(messages, repeats)
    print(f"topic model: {messages} labelled messages, one core, batches of 1,000")
    print(f"  rules alone    {figures['rules']:10.0f} msg/s")
    print(f"  rules + model  {figures['combined']:10.0f} msg/s (n-grams shown where it proposes)")
    print(f"  training on 5,000 examples {figures['train_5000']:.2f} s")
    _line("tagging_model", figures["combined"] / figures["rules"])
    _line("train_5000_vs_10s", 10.0 / figures["train_5000"])
    if not quick:
        macro = tagger_model.quality()
        print("topic model quality: macro-F1 on the labelled set's test split and the holdout")
        for name in ("test", "holdout"):
            print(
                f"  {name:8} rules {macro[f'{name}_rules']:.3f}  model {macro[f'{name}_model']:.3f}"
                f"  combined {macro[f'{name}_combined']:.3f}   learning curve (model/combined):"
                f" 100 {macro[f'{name}_model_100']:.3f}/{macro[f'{name}_combined_100']:.3f}"
                f" 300 {macro[f'{name}_model_300']:.3f}/{macro[f'{name}_combined_300']:.3f}"
            )
        print("residents' own topic changes as labels (simulation; macro-F1 test/holdout)")
        for (right, weight), (test, holdout, n) in tagger_model.resident_weight().items():
            print(
                f"  right {right:.0%} weight {weight:.1f}: {test:.3f}/{holdout:.3f}"
                f" ({n} labels from residents)"
            )

    sizes = [1000] if quick else [10_000, 100_000] + ([1_000_000] if full else [])
    print("store: queries through the repository vs a naive full scan in Python (seconds);")
    print("RSS of `jindianzi run` over that store after /start /my /queue /stats /digest (MB)")
    print("  items      counts     page20     search     naive     KB/1000  RSS  peak")
    rows = await store.scale(sizes, repeats)
    for row in rows:
        print(
            f"  {int(row['size']):>8} {row['counts']:9.4f} {row['page']:9.4f}"
            f" {row['search']:9.4f} {row['naive']:9.4f} {row['kb_per_1000']:9.0f}"
            f" {row['rss_mb']:5.0f} {row['peak_mb']:5.0f}"
        )
    echo_rss, echo_peak = await memory.echo_rss()
    print(f"  bare python-telegram-bot echo bot process: RSS {echo_rss:.0f}  peak {echo_peak:.0f}")
    print("reports: digest, /stats (30 days, its default) and /stats over every item,")
    print("vs reading every row into Python (seconds)")
    print("  items      digest   stats30  stats_all     naive")
    for row in rows:
        print(
            f"  {int(row['size']):>8} {row['digest']:9.4f} {row['stats']:9.4f}"
            f" {row['stats_all']:9.4f} {row['naive_report']:9.4f}"
        )
    desk_ratios = {}
    for row in rows:
        desk_ratios[int(row["size"])] = desk.print_table(int(row["size"]), row["desk"])
    for row in rows:
        size = int(row["size"])
        _line(f"desk_queue_{size}", desk_ratios[size])
        _line(f"store_counts_{size}", row["naive"] / row["counts"])
        _line(f"digest_{size}", row["naive_report"] / row["digest"])
        _line(f"stats_{size}", row["naive_report"] / row["stats"])
        _line(f"stats_all_{size}", row["naive_report"] / row["stats_all"])
        _line(f"memory_{size}", echo_rss / row["rss_mb"])


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    size.add_argument("--full", action="store_true", help="include 1,000,000 stored items")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Every run makes fresh keys in a temporary directory: the warning is not news here.
    logging.getLogger("bot.anonymity").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    asyncio.run(main(args.quick, args.full))


if __name__ == "__main__":
    run()
