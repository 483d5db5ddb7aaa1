"""`make bench`, run short: so the bench can't rot unnoticed between the times it is run.

The whole path runs (the fake Slack, licensebot and the bare app in their processes, every
scenario against both), only for a fraction of a second per run and with two clients.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.perf import bench

SCENARIOS = ("licenses", "quote", "order")
SERVERS = ("licensebot", "bare bolt")


def test_a_short_bench_gets_every_scenario_acked_by_both_servers(
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
                rf"^{scenario} +{server} +\d+\.\d req/s +p50 +[\d.]+ ms +p99 +[\d.]+ ms +errors 0$"
            )
            assert re.search(line, printed, re.MULTILINE), printed
    assert re.search(r"^ratio licenses=\d+\.\d\d quote=\d+\.\d\d order=\d+\.\d\d$", printed, re.M)

    # Acks alone would hide a bot failing after them (the quote, the order): its log is clean.
    assert f"bot log: {tmp_path / 'bot.log'}" in printed
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log, log
