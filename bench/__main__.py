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

from bench import (
    desk,
    export,
    indices,
    ingest,
    memory,
    search,
    store,
    sustained,
    tagger_model,
    workers,
)


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

    # The whole path, sustained (#24): residents walking the guided flow through polling
    # with the inbox and through webhook POSTs, persistence on.
    walk_seconds = 3.0 if quick else 60.0
    walked = await sustained.sustained(walk_seconds)
    print(
        f"sustained: {walk_seconds:.0f} s of {sustained.CONCURRENT} residents at a time walking the"
        f" {len(sustained.STEPS)}-step guided flow (steps answered per second)"
    )
    for path, walk in walked.items():
        print(
            f"  {path:8} echo {walk['echo']:8.0f}   jindianzi {walk['bot']:8.0f}"
            f"   ({walk['flows']:.0f} flows, {walk['stored']:.0f} stored, {walk['lost']:.0f} lost)"
        )
        _line(f"sustained_{path}", walk["bot"] / walk["echo"])

    # The same walk through webhook worker processes: 1 on SQLite, 1-3 on PostgreSQL (#24).
    scaled = await workers.scaling(walk_seconds)
    workers.print_table(walk_seconds, scaled)
    for name, (rate, _) in scaled.items():
        if name != "echo":
            _line(f"webhook_workers_{name}", rate / scaled["echo"][0])

    messages = 2000 if quick else 50_000
    tag = store.tagging(messages, repeats)
    print(f"tagging: {messages} labelled messages, one core")
    print(f"  OpenCC alone {tag['opencc']:10.0f} msg/s")
    print(f"  tagger       {tag['tagger']:10.0f} msg/s (normalise + keyword rules)")
    _line("tagging", tag["tagger"] / tag["opencc"])

    figures = tagger_model.speed(messages, repeats)
    print(f"topic model: {messages} messages a size, one core, batches of 1,000 (msg/s)")
    print("                      rules alone  rules + model")
    for kind, label in (("short", "chat-length (<= 60)"), ("200", "200 characters")):
        rules, combined = figures[f"rules_{kind}"], figures[f"combined_{kind}"]
        print(f"  {label:20} {rules:11.0f}  {combined:13.0f}")
    train = figures["train"]
    print(f"  training on 5,000 examples (cross-validation included) {train:.2f} s")
    _line("tagging_model", figures["combined_short"] / figures["rules_short"])
    _line("tagging_model_200", figures["combined_200"] / figures["rules_200"])
    _line("tagging_model_short_vs_20000", figures["combined_short"] / 20_000)
    _line("tagging_model_200_vs_3000", figures["combined_200"] / 3_000)
    _line("train_5000_vs_30s", 30.0 / figures["train"])
    if not quick:
        results, curve = tagger_model.all_quality()
        print("topic model quality: macro-F1 over the test rows' labels (fallback rate)")
        print("  data      rules          model          combined       baseline       tuned")
        for name, q in results.items():
            cells = "".join(
                f" {q.macro[k]:.3f} ({q.fallback[k]:4.1%})"
                for k in ("rules", "model", "combined", "baseline", "baseline_tuned")
            )
            print(f"  {name:9}{cells}   [{q.combination}]")
        for name, q in results.items():
            best_part = max(q.macro["rules"], q.macro["model"])
            _line(f"model_vs_baseline_{name}", q.macro["model"] / q.macro["baseline"])
            _line(f"model_vs_tuned_baseline_{name}", q.macro["model"] / q.macro["baseline_tuned"])
            _line(
                f"combined_vs_tuned_baseline_{name}",
                q.macro["combined"] / q.macro["baseline_tuned"],
            )
            _line(f"combined_vs_best_part_{name}", q.macro["combined"] / best_part)
        print("  learning curve on the petition test rows (train rows: model / combined / tuned)")
        for rows_used, point in curve.items():
            print(
                f"    {rows_used:4d}: {point['model']:.3f} / {point['combined']:.3f} /"
                f" {point['baseline_tuned']:.3f}"
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
    print("(my: a resident's first /my, checking the tag of every linked anonymous item;")
    print(" town20: /queue new <town>, a page of the items of a town and its 20 villages)")
    print(
        "  items      counts     page20     town20     search         my     naive"
        "     KB/1000  RSS  peak"
    )
    rows = await store.scale(sizes, repeats)
    for row in rows:
        print(
            f"  {int(row['size']):>8} {row['counts']:9.4f} {row['page']:9.4f}"
            f" {row['place_page']:9.4f}"
            f" {row['search']:9.4f} {row['my']:9.4f} {row['naive']:9.4f}"
            f" {row['kb_per_1000']:9.0f}"
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
        _line(f"store_town_page_{size}", row["naive"] / row["place_page"])
        _line(f"digest_{size}", row["naive_report"] / row["digest"])
        _line(f"stats_{size}", row["naive_report"] / row["stats"])
        _line(f"stats_all_{size}", row["naive_report"] / row["stats_all"])
        _line(f"memory_{size}", echo_rss / row["rss_mb"])

    index_sizes = [1000] if quick else [10_000, 100_000] + ([1_000_000] if full else [])
    print(f"indices: the units' rates, {indices.UNITS} units, over a week, 30 days and every")
    print("item (items over 120 days): per-day counts + what is not due yet + part days, vs")
    print("one SQL pass over the items (pass), vs every row read into Python (seconds)")
    print("  items        week   week pass    30days  30d pass       all  all pass     naive")
    index_rows = await indices.indices(index_sizes, repeats)
    for row in index_rows:
        print(
            f"  {int(row['size']):>8} {row['week']:9.4f} {row['week pass']:11.4f}"
            f" {row['30 days']:9.4f} {row['30 days pass']:9.4f} {row['all']:9.4f}"
            f" {row['all pass']:9.4f} {row['naive']:9.4f}"
        )
    for row in index_rows:
        size = int(row["size"])
        _line(f"indices_week_{size}", row["naive"] / row["week"])
        _line(f"indices_30d_{size}", row["naive"] / row["30 days"])
        _line(f"indices_all_{size}", row["naive"] / row["all"])
        _line(f"indices_week_vs_pass_{size}", row["week pass"] / row["week"])
        _line(f"indices_30d_vs_pass_{size}", row["30 days pass"] / row["30 days"])
        _line(f"indices_all_vs_pass_{size}", row["all pass"] / row["all"])
    write_items, write_steps = (1000, 50) if quick else (100_000, 500)
    cost = await indices.writes(write_items, write_steps, repeats)
    print(f"loop steps on {write_items} open items, with and without the per-day counts'")
    print(f"  triggers (ms per step): with {cost['with'] * 1000:.3f}, without"
          f" {cost['without'] * 1000:.3f}")  # fmt: skip
    _line(f"loop_step_triggers_{write_items}", cost["without"] / cost["with"])
    open_items = 1000 if quick else 100_000
    job = await indices.reminders(open_items)
    print(f"reminder job: {open_items} open items held by {indices.UNITS} units (seconds)")
    print(
        f"  first run {job['first']:.3f} ({int(job['sent'])} rungs sent,"
        f" {job['per_rung'] * 1000:.2f} ms each); steady run {job['steady']:.4f};"
        f" reading every open item {job['naive']:.4f}"
    )
    _line(f"reminder_job_steady_{open_items}", job["naive"] / job["steady"])

    export_sizes = [1000, 10_000] if quick else [10_000, 100_000]
    print("export: the ledger of every item, streamed from the store (seconds), vs a plain")
    print("csv write of the same rows read with sqlite3")
    print("  items        xlsx       csv     plain")
    exports = await export.export(export_sizes, repeats)
    for row in exports:
        print(f"  {int(row['size']):>8} {row['xlsx']:9.3f} {row['csv']:9.3f} {row['plain']:9.3f}")
    for row in exports:
        size = int(row["size"])
        _line(f"export_xlsx_{size}", row["plain"] / row["xlsx"])
        _line(f"export_csv_{size}", row["plain"] / row["csv"])
    small, large = exports[0], exports[-1]
    growth = large["xlsx"] / small["xlsx"]
    scale = large["size"] / small["size"]
    print(f"  xlsx: {int(large['size'])} rows take {growth:.1f}x the time of {int(small['size'])}")
    print(f"  (linear: {scale:.0f}x; the requirement: at most {scale * 1.2:.0f}x)")
    _line("export_linearity", scale * 1.2 / growth)

    # Chinese search on both backends (#24), beside a naive scan of every text.
    search_size = 2000 if quick else 100_000
    found = await search.measure(search_size, repeats)
    search.print_table(search_size, found)
    for row in found:
        name = str(row["case"]).replace(", ", "_").replace(" ", "_")
        _line(f"search_sqlite_{name}_{search_size}", row["naive"] / row["sqlite"])
        _line(f"search_postgresql_{name}_{search_size}", row["naive"] / row["postgresql"])


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
