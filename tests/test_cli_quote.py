"""`licensebot quote`: how long its price holds, the part of the period it charges for, and
moments before the account's billing starts; from the command run as a separate process."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.test_cli import ACCOUNTS, assert_one_line_error, licensebot, write_accounts

BIG: dict[str, Any] = {
    "id": "big",
    "name": "Big Co",
    "plan": "pro",
    "billing_interval": "monthly",
    "licenses": 1010,
    "price_per_license": "49.00",
    "period_start": "2026-01-01T00:00:00Z",
}

RUNS: dict[str, tuple[list[str], dict[str, str]]] = {
    "acme": (["quote", "acme", "--add", "3", "--at", "2026-11-16T00:00:00Z", "--json"], {}),
    "acme-hour": (
        ["quote", "acme", "--add", "3", "--at", "2026-11-16T00:00:00Z", "--json"],
        {"QUOTE_TTL_SECONDS": "3600"},
    ),
    "acme-noon": (["quote", "acme", "--add", "3", "--at", "2026-11-16T12:00:00Z", "--json"], {}),
    "month-end": (
        ["quote", "month-end", "--add", "1", "--at", "2025-03-15T00:00:00Z", "--json"],
        {},
    ),
    "yearly": (["quote", "yearly", "--add", "3", "--at", "2026-08-08T00:00:00Z", "--json"], {}),
    "acme-text": (["quote", "acme", "--add", "3", "--at", "2026-11-16T00:00:00Z"], {}),
    "big-text": (["quote", "big", "--add", "1000", "--at", "2026-11-16T00:00:00Z"], {}),
    "before-anchor": (["quote", "acme", "--add", "1", "--at", "2026-10-31T23:59:00Z"], {}),
    "before-anchor-json": (
        ["quote", "month-end", "--add", "1", "--at", "2025-01-30T00:00:00Z", "--json"],
        {},
    ),
    "at-anchor": (["quote", "acme", "--add", "1", "--at", "2026-11-01T00:00:00Z", "--json"], {}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("cli-quote")
    file = write_accounts(workdir / "a.yml", [*ACCOUNTS, BIG])
    imported = licensebot(workdir, "accounts", "import", str(file))
    assert imported.returncode == 0, imported.stderr
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(licensebot, workdir, *args, extra_env=env)
            for name, (args, env) in RUNS.items()
        }
        return {name: future.result() for name, future in futures.items()}


def quoted(runs: dict[str, subprocess.CompletedProcess[str]], name: str) -> dict[str, Any]:
    result = runs[name]
    assert result.returncode == 0, result.stderr
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_the_json_quote_says_until_when_its_price_holds(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert quoted(runs, "acme")["expires_at"] == "2026-11-16T00:15:00Z"  # 900 s by default
    assert quoted(runs, "acme-hour")["expires_at"] == "2026-11-16T01:00:00Z"


@pytest.mark.parametrize(
    ("name", "days_left", "days_in_period", "due_today"),
    [
        ("acme", 15, 30, "73.50"),  # Nov 16 of Nov 1 → Dec 1: 3 × 49.00 × 15/30
        ("month-end", 16, 31, "16.00"),  # Mar 15 of Feb 28 → Mar 31: 31.00 × 16/31
        ("yearly", 146, 365, "1440.00"),  # Aug 8 of 2026: 3 × 1200.00 × 146/365
    ],
)
def test_the_json_quote_says_what_part_of_the_period_it_charges_for(
    runs: dict[str, subprocess.CompletedProcess[str]],
    name: str,
    days_left: int,
    days_in_period: int,
    due_today: str,
) -> None:
    body = quoted(runs, name)
    assert (body["days_left"], body["days_in_period"]) == (days_left, days_in_period)
    assert body["due_today"] == due_today
    # The fraction the quote charged for, on a whole day.
    unit = Decimal(body["unit_price"])
    assert Decimal(body["due_today"]) == body["added"] * unit * days_left / days_in_period


def test_a_part_day_left_is_not_counted(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    body = quoted(runs, "acme-noon")
    assert (body["days_left"], body["days_in_period"]) == (14, 30)  # 14.5 days left
    assert body["due_today"] == "71.05"  # 3 × 49.00 × 14.5/30


def test_the_quote_for_people_says_the_days_left_and_until_when_the_price_holds(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["acme-text"]
    assert result.returncode == 0, result.stderr
    assert "15 of 30 days left in this period" in result.stdout
    assert "price valid until 00:15 UTC" in result.stdout
    assert result.stdout.startswith("acme: add 3 licenses\n")


def test_the_quote_for_people_separates_thousands(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["big-text"]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "big: add 1,000 licenses"
    assert lines[1] == "  Total licenses:  2,010 (now 1,010)"
    assert lines[2].startswith("  Total due today: $24,500.00 (")
    assert lines[3] == "  Price details:   $98,490.00 per month from 2026-12-01 (2,010 × $49.00)"


def test_a_moment_before_the_billing_anchor_is_refused_in_one_line(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    text = runs["before-anchor"]
    assert_one_line_error(text)
    assert "acme's billing starts on 2026-11-01" in text.stderr
    assert "2026-10-31T23:59:00Z" in text.stderr
    as_json = runs["before-anchor-json"]
    assert_one_line_error(as_json)
    assert as_json.stdout == ""
    assert "month-end's billing starts on 2025-01-31" in as_json.stderr
    # The anchor itself is the first moment of the first period.
    first = quoted(runs, "at-anchor")
    assert (first["period_start"], first["days_left"]) == ("2026-11-01T00:00:00Z", 30)
