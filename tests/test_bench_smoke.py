"""The benchmarks still run (tiny sizes, no timing assertions: figures come from bench/)."""

from __future__ import annotations

from bench import desk, export, indices, ingest, search, store, sustained, tagger_model, workers


async def test_ingest_latency_and_startup_run_for_bot_and_baseline() -> None:
    for kind in ("echo", "bot"):
        run = await ingest._drive(kind, 3, concurrency=1)
        assert len(run.latencies) == 3 and run.elapsed > 0
    figures = await ingest.startup(1)
    assert set(figures) == {"bot", "echo"}


async def test_sustained_walks_store_every_finished_flow_on_both_paths() -> None:
    for path in ("polling", "webhook"):
        _, echo = await sustained.walk("echo", path, 0.5, concurrent=10)
        rate, bot = await sustained.walk("bot", path, 0.5, concurrent=10)
        assert echo.flows > 0 and echo.lost == 0
        # Every resident who saw the acknowledgement has exactly one stored item.
        assert bot.flows > 0 and bot.lost == 0 and bot.stored == bot.flows
        assert bot.steps == bot.flows * len(sustained.STEPS) and rate > 0


async def test_webhook_worker_processes_walk_and_store_every_finished_flow() -> None:
    echo_rate, echo = await workers.measure("echo", 1, 0.5, {}, concurrent=5)
    rate, bot = await workers.measure("bot", 1, 0.5, {}, concurrent=5)
    assert echo.flows > 0 and echo.lost == 0 and echo_rate > 0
    assert bot.flows > 0 and bot.lost == 0 and bot.stored == bot.flows and rate > 0


def test_tagging_benchmark_runs() -> None:
    assert set(store.tagging(50, 1)) == {"tagger", "opencc"}


def test_topic_model_benchmark_runs() -> None:
    # A small training set: the figure is measured by ./scripts/bench; here it must only run.
    figures = tagger_model.speed(200, 1, train_examples=600)
    assert set(figures) == {
        "rules_short",
        "combined_short",
        "rules_200",
        "combined_200",
        "train",
    }
    assert all(v > 0 for v in figures.values())
    sizes = tagger_model.samples(50)
    assert max(map(len, sizes["short"])) <= 60 and set(map(len, sizes["200"])) == {200}


async def test_store_benchmark_fills_and_queries() -> None:
    [row] = await store.scale([200], 1)
    assert row["size"] == 200 and row["kb_per_1000"] > 0
    # The web desk's queue page over the same store, each case beside its naive baseline.
    assert [r["case"] for r in row["desk"]] == [case[0] for case in desk.CASES]
    assert all(r["page"] > 0 and r["naive"] > 0 for r in row["desk"])


async def test_export_benchmark_runs() -> None:
    [row] = await export.export([200], 1)
    assert row["size"] == 200 and min(row["xlsx"], row["csv"], row["plain"]) > 0


async def test_indices_and_reminder_benchmarks_run() -> None:
    [row] = await indices.indices([300], 1)
    assert row["size"] == 300 and min(row["week"], row["30 days"], row["all"], row["naive"]) > 0
    assert min(row["week pass"], row["30 days pass"], row["all pass"]) > 0
    job = await indices.reminders(300)
    assert job["sent"] > 0 and job["steady"] > 0
    cost = await indices.writes(300, 5, 1)
    assert cost["with"] > 0 and cost["without"] > 0


async def test_search_benchmark_runs_on_both_backends() -> None:
    rows = await search.measure(300, 1)
    assert [r["case"] for r in rows] == [
        "3 chars, common",
        "3 chars, rare",
        "3 chars, absent",
        "2 chars, common",
    ]
    # The same newest 20 (or fewer) on SQLite and PostgreSQL, and the absent word nowhere.
    assert all(r["same"] for r in rows) and rows[2]["hits"] == 0 and rows[0]["hits"] > 0
    assert all(min(r["sqlite"], r["postgresql"], r["naive"]) > 0 for r in rows)
