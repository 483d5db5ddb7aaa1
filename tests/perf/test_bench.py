"""`make bench`, run short: so the bench can't rot unnoticed between the times it is run.

Both modes run whole (the fake Slack and the servers in their processes), for a fraction of
a second per run: the closed loop against licensebot and both baselines, the open loop
against one instance on SQLite and, with PostgreSQL, two instances.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import postgres_base_url
from tests.perf import bench

SCENARIOS = bench.PATHS
SERVERS = bench.LABELS
FIGURE = r"(\d+\.\d\d)"


def assert_clean(*logs: Path) -> None:
    """Acks alone would hide a server failing after them (the quote, the order)."""
    for log in logs:
        written = log.read_text()
        assert "Traceback" not in written and "ERROR" not in written, f"{log}:\n{written}"


def test_a_short_closed_loop_gets_every_scenario_acked_by_the_three_servers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = bench.run(seconds=0.2, concurrency=2, quiet=0.1, workdir=tmp_path)
    printed = capsys.readouterr().out

    for scenario in SCENARIOS:
        for server in SERVERS:
            result = report[scenario][server]
            assert result.requests > 0, f"{scenario} on {server}: no requests\n{printed}"
            assert result.errors == 0, f"{scenario} on {server}: errors\n{printed}"
            assert result.percentile(0.99) > 0
            # The line `make bench` prints for it.
            line = (
                rf"^{scenario} +{server} +\d+\.\d req/s +p50 +[\d.]+ ms +p99 +[\d.]+ ms "
                rf"+cpu/req +[\d.]+ ms +errors 0$"
            )
            assert re.search(line, printed, re.MULTILINE), printed
    # The reference made each of the path's calls once per request, and Slack took them.
    for method in ("views.update", "conversations.open", "chat.postMessage", "views.publish"):
        ok, refused = report["order"]["reference"].calls[method]
        assert (ok, refused) == (report["order"]["reference"].requests, 0), printed

    assert re.search(rf"^ratio licenses={FIGURE} quote={FIGURE} order={FIGURE}$", printed, re.M)
    last = printed.splitlines()[-1]
    limits = re.fullmatch(rf"vs_limit licenses={FIGURE} quote={FIGURE} order={FIGURE}", last)
    assert limits, printed
    assert all(float(figure) > 0 for figure in limits.groups()), printed
    assert_clean(tmp_path / "bot.log", tmp_path / "reference.log")


def assert_open_loop(
    printed: str, results: list[bench.OpenLoopResult], instances: int, db: str
) -> None:
    # The last lines, one per path: every request acked in time and answered in Slack.
    for path, line in zip(SCENARIOS, printed.splitlines()[-3:], strict=True):
        expected = (
            rf"open_loop path={path} rate=5 instances={instances} db={db} acks_missed=0 "
            r"ack_p99_ms=\d+ result_p99_ms=\d+ results_missing=0"
        )
        assert re.fullmatch(expected, line), printed
    for result in results:
        assert len(result.shots) == 5
        assert all(shot.ack is not None and shot.ack > 0 for shot in result.shots)
        assert all(shot.result is not None and shot.result > 0 for shot in result.shots)


def test_a_short_open_loop_gets_every_path_acked_and_answered(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    results = bench.run_open(rate=5, seconds=1, quiet=0.1, workdir=tmp_path)

    assert_open_loop(capsys.readouterr().out, results, 1, "sqlite")
    assert_clean(tmp_path / "bot.log")


def test_a_short_open_loop_on_two_instances_sharing_postgresql(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    postgres_base_url()  # skips without TEST_DATABASE_URL (fails under CI); the bench reads it
    results = bench.run_open(rate=5, seconds=1, instances=2, quiet=0.1, workdir=tmp_path)

    assert_open_loop(capsys.readouterr().out, results, 2, "postgres")
    assert_clean(tmp_path / "bot-1.log", tmp_path / "bot-2.log")


async def test_an_ack_counts_only_as_a_200_within_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["wait"]))
        return web.Response(status=int(request.query["status"]))

    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    monkeypatch.setattr(bench, "ACK_LIMIT", 0.2)
    try:
        shots = [
            bench.Shot(f"{url}?wait={wait}&status={status}", "body", "key", time.monotonic())
            for wait, status in ((0, 200), (0.4, 200), (0, 500))
        ]
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(bench.fire(http, shot) for shot in shots))
    finally:
        await runner.cleanup()

    on_time, late, refused = shots
    assert on_time.ack is not None and 0 < on_time.ack < 0.2
    assert late.ack is None and refused.ack is None


def call(method: str, at: float, ok: bool = True, **params: object) -> bench.SlackCall:
    return bench.SlackCall(method, at, ok, dict(params))


def test_results_are_matched_by_what_names_their_request_not_by_their_order() -> None:
    opened, twice = bench.results_of(
        "licenses",
        [
            call("views.open", 2.0, trigger_id="T2"),
            call("views.open", 1.5, ok=False, trigger_id="T3"),  # refused: no result
            call("views.open", 3.0, trigger_id="T1"),
        ],
    )
    assert (opened, twice) == ({"T2": 2.0, "T1": 3.0}, 0)

    receipt = {"blocks": [{"type": "section", "text": {"text": "Order reference `ORD-00AB12CD`"}}]}
    other = {"blocks": [{"type": "section", "text": {"text": "Order reference `ORD-99999999`"}}]}
    ordered, twice = bench.results_of(
        "order",
        [
            call("chat.postMessage", 4.0, text="You added 3 licenses. Order ORD-99999999."),
            call("views.update", 1.0, external_id="E1", view=receipt),
            call("views.update", 2.0, external_id="E2", view=other),
            call("chat.postMessage", 5.0, text="You added 3 licenses. Order ORD-00AB12CD."),
            call("chat.postMessage", 6.0, text="You added 3 licenses. Order ORD-00AB12CD."),
        ],
    )
    assert (ordered, twice) == ({"E1": 5.0, "E2": 4.0}, 1)
